"""Export a trained encoder as one TorchScript file (contract 2): ``python -m focovil.training.export``.

The file holds alignment + encoder (no projection head): raw canonical windows ``[B, T, J, 3]`` in,
L2-normalised embeddings ``[B, D]`` out, plus a scripted ``align`` method so the app can show the
skeleton exactly as the encoder sees it. Metadata travels in ``_extra_files['metadata.json']``.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

from focovil.realtime.encoder import FORMAT, METADATA_FILE, EncoderMeta  # noqa: F401  (FORMAT: the file format)
from focovil.realtime.files import atomic_write
from focovil.realtime.skeleton import NUM_JOINTS
from focovil.training.exported import Exported, hybrid_of, parts_of
from focovil.training.model import Encoder
from focovil.training.open_set import calibrate
from focovil.training.protocols import module_embed


def code_version() -> str:
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        # only code counts: a changed weights/ or docs/ file does not make the code that writes one dirty
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ":(top)*.py",
                                ":(top)training/recipes"], capture_output=True, text=True, timeout=5,
                               cwd=Path(__file__).resolve().parent)
        return (rev.stdout.strip() or "unknown") + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def load_trained(path: str | Path) -> tuple[Encoder, dict]:
    """The encoder and config of a ``training.train`` output (``model.pt``)."""
    from focovil.training.config import config_from
    from focovil.training.train import build_model
    state = torch.load(path, map_location="cpu", weights_only=False)
    enc = build_model(config_from(state["config"])).encoder    # one place maps settings to a model
    enc.load_state_dict({k[len("encoder."):]: v for k, v in state["model"].items() if k.startswith("encoder.")})
    return enc.eval(), state


def metadata(cfg: dict, train: dict, metrics: dict | None = None) -> EncoderMeta:
    """The metadata of an encoder trained with settings ``cfg`` (``train``: its ``train.json``)."""
    views = [1, 2, 3] if cfg["protocol"] == "all" else [1, 2]
    data = ["NW-UCLA v01 + v02 of subjects 1-5" if cfg["protocol"] == "val" else f"NW-UCLA views {views}"]
    if cfg.get("totalcapture"):
        seqs = "all four sequences" if cfg.get("totalcapture_final") else "acting3, freestyle1, freestyle2"
        data.append(f"TotalCapture MediaPipe skeletons, 8 cameras, {seqs} (same-instant camera pairs, labels unused)")
    if cfg.get("kinder_gator"):
        data.append("Kinder-Gator (all 1159 clips, labels unused)" if not cfg.get("exclude_motions")
                    else f"Kinder-Gator without motions {cfg['exclude_motions']}")
    return EncoderMeta(
        window=cfg["window"], fps=cfg["fps"], embedding_dim=cfg["dim"], arch=cfg["arch"],
        training_data=data, protocol=cfg["protocol"], train_views=views,
        excluded_labels=cfg.get("exclude_labels", ""), config=cfg,
        train_seconds=round(train.get("train_seconds", 0.0), 1), train_device=train.get("device", "cpu"),
        metrics=metrics or {}, code_version=code_version(), exported_at=now())


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def save_encoder(module: nn.Module, meta: EncoderMeta, out: str | Path) -> Path:
    """Scripts ``module``, checks the scripted encoder embeds as the eager one does, and writes it
    with ``meta`` as one TorchScript file, atomically (the one writer of encoder files)."""
    module.eval()
    scripted = torch.jit.script(module)
    x = torch.randn(2, int(meta.window), NUM_JOINTS, 3)
    with torch.no_grad():
        ref, got = module(x), scripted(x)
    if not torch.allclose(ref, got, atol=1e-5):
        raise RuntimeError("scripted encoder disagrees with the trained one")
    text = meta.to_json()
    return atomic_write(out, lambda tmp: torch.jit.save(scripted, str(tmp), _extra_files={METADATA_FILE: text}))


def fit_pca(enc: Encoder, cfg: dict, dims: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Principal axes of the aligned joints of the run's own training windows (no labels used)."""
    from focovil.training.config import config_from
    from focovil.training.data import ClipBank
    from focovil.training.train import load_training_clips
    windows = ClipBank(load_training_clips(config_from(cfg))).full(cfg["window"])
    with torch.no_grad():
        a = enc.align(windows).flatten(1)
    mean = a.mean(0)
    _, _, v = torch.linalg.svd(a - mean, full_matrices=False)
    return mean, v[:dims].T.contiguous()


def calibrate_threshold(module: nn.Module, cfg: dict) -> dict:
    """Strictness's table and the single "unknown" threshold (``training.open_set.calibrate``):
    the app reads them from the metadata."""
    return calibrate(module_embed(module), cfg["nwucla"], cfg["window"], cfg.get("protocol", "cross-view"),
                     saw_validation=bool(cfg.get("totalcapture_final")))


def export(model_pt: str | Path, out: str | Path, metrics: dict | None = None,
           pca_weight: float = 0.0, pca_dims: int = 64, calibrate: bool = False,
           motion_weight: float = 0.0, chosen_on: str = "", head: dict | None = None) -> EncoderMeta:
    """``head``: a camera head's setting (``training.camera_head``'s ``chosen_setting``), fitted here on
    the TotalCapture sequences the run trained on: all four for a final run (``totalcapture_final``),
    else the training ones, so a file that never saw the validation sequence stays that way."""
    enc, state = load_trained(model_pt)
    cfg = state["config"]
    meta = metadata(cfg, state.get("train", {}), metrics)
    if head:
        module, chosen_on = with_head(enc, cfg, head, chosen_on)
        meta = meta.replace(extra=_model_origin(meta))   # rebuilt from itself later: the weights keep their origin
    else:
        pca = fit_pca(enc, cfg, pca_dims) if pca_weight > 0 else (None, None)
        module = Exported(enc, *pca, pca_weight=pca_weight, motion_weight=motion_weight).eval()
    return _write(module, meta, cfg, out, calibrate, chosen_on)


def with_head(enc: Encoder, cfg: dict, head: dict, chosen_on: str) -> tuple[Exported, str]:
    """``enc`` with a camera head of setting ``head`` fitted on the TotalCapture sequences the run
    trained on, and ``chosen_on`` saying which."""
    from focovil.training.camera_head import fit, instant_windows, rendered_windows, with_bodies
    from focovil.training.data import totalcapture as tc
    seqs = tc.SEQUENCES if cfg.get("totalcapture_final") else tc.TRAINING
    root = cfg.get("totalcapture") or None
    real = instant_windows(seqs, root, cfg["window"], for_training=seqs == tc.TRAINING)
    more = bool(head.get("more_bodies"))
    module = fit(enc, tuple(head["inputs"]), int(head["dims"]), float(head["shrink"]),
                 *with_bodies(real, rendered_windows(root, cfg["window"]) if more else None))
    return module, (f"{chosen_on}; fitted on TotalCapture {', '.join(seqs)}"
                    + (" and Vicon motion of four actors seen with MediaPipe's errors" if more else ""))


def rehybrid(encoder_file: str | Path, out: str | Path, motion_weight: float, calibrate: bool = True,
             chosen_on: str = "", head: dict | None = None) -> EncoderMeta:
    """An encoder file's learned encoder again, with a new hand-made part: the motion features at
    ``motion_weight`` (no PCA part), or a camera head of setting ``head`` fitted anew (:func:`with_head`).
    The training metadata is kept (the learned encoder's), the parts are described anew
    (``parts_of``); the measured numbers, which belonged to the old file,
    are measured again (``calibrate``) or dropped. Re-exporting a file with its own weight gives the
    same file again (only ``exported_at`` and ``code_version`` differ)."""
    from focovil.training.retrain_inputs import load_base
    base = load_base(encoder_file)
    if head:
        module, chosen_on = with_head(base.model.encoder.eval(), dict(base.meta.config), head, chosen_on)
    else:
        module = Exported(base.model.encoder.eval(), motion_weight=motion_weight).eval()
    meta = base.meta.replace(metrics={}, code_version=code_version(), exported_at=now(), extra=_model_origin(base.meta),
                             training_data=[d for d in base.meta.training_data if not d.startswith("re-exported from")])
    return _write(module, meta, dict(base.meta.config), out, calibrate, chosen_on)


def recalibrate(encoder_file: str | Path, out: str | Path) -> EncoderMeta:
    """The same encoder file (model and metadata), with its strictness table and "unknown"
    threshold measured again by today's ``calibrate``."""
    from focovil.realtime.encoder import load_encoder
    rt = load_encoder(encoder_file, device="cpu")
    cfg = rt.meta.config
    metrics = {k: v for k, v in rt.meta.metrics.items() if not k.startswith("unknown_threshold")}
    metrics.update(calibrate(rt.embed, cfg["nwucla"], rt.window_frames, cfg.get("protocol", "cross-view"),
                             saw_validation=bool(cfg.get("totalcapture_final"))))
    parts = rt.meta.parts
    if parts is None and not rt.meta.hybrid:          # an encoder-only file from before parts were recorded
        parts = [{"part": "encoder", "kind": "learned (FoCoViL, training_data)", "weight": 1.0,
                  "dims": rt.dim, "chosen_on": "no hand-made parts"}]
    meta = rt.meta.replace(metrics=metrics, parts=parts, code_version=code_version(), exported_at=now(),
                           extra=_model_origin(rt.meta))
    save_encoder(rt.module, meta, out)
    return meta


def _model_origin(meta: EncoderMeta) -> dict:
    """``extra`` with ``model_code_version``: the code that trained the learned weights, kept when a
    file is re-exported (``code_version`` then names the code that wrote the file)."""
    return {**meta.extra, "model_code_version": meta.extra.get("model_code_version", meta.code_version)}


def _write(module: Exported, meta: EncoderMeta, cfg: dict, out: str | Path, calibrate: bool,
           chosen_on: str = "") -> EncoderMeta:
    hybrid, dim = hybrid_of(module, int(meta.window))
    meta = meta.replace(embedding_dim=dim, hybrid=hybrid, parts=parts_of(module, int(meta.window), chosen_on))
    if calibrate:
        meta.metrics.update(calibrate_threshold(module, cfg))
    save_encoder(module, meta, out)
    return meta


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--run", help="training output folder (with model.pt) or a model.pt file")
    src.add_argument("--from-encoder", help="an exported encoder file: its learned encoder again, with --motion-weight")
    ap.add_argument("--out", required=True, help="TorchScript file to write, e.g. weights/focovil_app.pt")
    ap.add_argument("--metrics", help="JSON file of measured metrics to embed in the metadata")
    ap.add_argument("--pca-weight", "--hybrid-weight", dest="pca_weight", type=float, default=0.0,
                    help="share of cosine similarity given to PCA'd aligned joints (0 = encoder only)")
    ap.add_argument("--pca-dims", "--hybrid-dims", dest="pca_dims", type=int, default=64)
    ap.add_argument("--motion-weight", type=float, default=0.0,
                    help="share of cosine similarity given to the aligned joints' motion (Exported)")
    ap.add_argument("--motion-weight-from", metavar="JSON",
                    help="take --motion-weight from a search's JSON (python -m focovil.training.choose motion-weight), "
                         "recording what chose it in the metadata")
    ap.add_argument("--camera-head-from", metavar="JSON",
                    help="a camera head with the setting a search chose (python -m focovil.training.camera_head), "
                         "fitted on the TotalCapture sequences the run trained on")
    ap.add_argument("--calibrate", action="store_true",
                    help="measure strictness's table (camera skeletons; NW-UCLA beside it) into the metadata")
    ap.add_argument("--recalibrate", action="store_true",
                    help="with --from-encoder: the same file, only its strictness table measured again")
    ap.add_argument("--evaluate", action="store_true",
                    help="measure the cross-view protocol (encoder and both baselines) into the metadata; "
                         "only for encoders that never saw view 3")
    a = ap.parse_args(argv)
    chosen_on = ""
    if a.motion_weight_from:
        search = json.loads(Path(a.motion_weight_from).read_text())
        a.motion_weight = float(search["chosen"])
        chosen_on = f"{search['chosen_on']} ({Path(a.motion_weight_from).name}: python -m focovil.training.choose motion-weight)"
    head = None
    if a.camera_head_from:
        search = json.loads(Path(a.camera_head_from).read_text())
        head = search["chosen_setting"]
        chosen_on = f"{search['chosen_on']} ({Path(a.camera_head_from).name}: python -m focovil.training.camera_head)"
    if a.from_encoder and a.recalibrate:
        meta = recalibrate(a.from_encoder, a.out)
        print(json.dumps({"out": a.out, "strictness": meta.metrics["strictness"]["thresholds"][:12]}))
        return 0
    if a.from_encoder:
        meta = rehybrid(a.from_encoder, a.out, a.motion_weight, calibrate=a.calibrate, chosen_on=chosen_on, head=head)
        print(json.dumps({"out": a.out, "embedding_dim": meta.embedding_dim, "hybrid": meta.hybrid, "metrics": meta.metrics}))
        return 0
    src = Path(a.run) / "model.pt" if Path(a.run).is_dir() else Path(a.run)
    if not src.exists():
        print(f"error: {src} not found (train first: python -m focovil.training.train --out ...)", file=sys.stderr)
        return 2
    metrics = json.loads(Path(a.metrics).read_text()) if a.metrics else None
    if a.evaluate and head:
        print("error: --evaluate measures NW-UCLA's cross-view protocol; a camera head is fitted on MediaPipe "
              "skeletons for the app, so measure it with training.evaluate_mediapipe", file=sys.stderr)
        return 2
    meta = export(src, a.out, metrics, a.pca_weight, a.pca_dims, a.calibrate, a.motion_weight, chosen_on, head)
    if a.evaluate:
        from focovil.training.evaluate import evaluate, summary
        measured = summary(evaluate(a.out, "cross-view", data=meta.config["nwucla"], device="cpu"))
        meta = export(src, a.out, {**meta.metrics, "cross-view": measured}, a.pca_weight, a.pca_dims,
                      motion_weight=a.motion_weight, chosen_on=chosen_on)
    print(json.dumps({"out": a.out, "embedding_dim": meta.embedding_dim, "window": meta.window,
                      "training_data": meta.training_data, "metrics": meta.metrics}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
