"""Export a trained encoder as one TorchScript file (contract 2): ``python -m training.export``.

The file holds alignment + encoder (no projection head): raw canonical windows ``[B, T, J, 3]`` in,
L2-normalised embeddings ``[B, D]`` out, plus a scripted ``align`` method so the app can show the
skeleton exactly as the encoder sees it. Metadata travels in ``_extra_files['metadata.json']``.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from realtime.encoder import FORMAT, METADATA_FILE, EncoderMeta  # noqa: F401  (FORMAT: the file format)
from realtime.files import atomic_write
from realtime.skeleton import NUM_JOINTS
from training.model import Encoder
from training.open_set import calibrate
from training.protocols import module_embed


def motion_features(aligned: torch.Tensor, step: int = 4, every: int = 4) -> torch.Tensor:
    """``[B, T, J, 3]`` aligned windows -> ``[B, D]``: each joint's displacement over ``step`` frames,
    every ``every`` frames (the hybrid's motion part, before normalising)."""
    return (aligned[:, step:] - aligned[:, :-step])[:, ::every].flatten(1)


HEAD_BLOCKS = ("encoder", "motion", "positions")   # the camera head's possible inputs, in this order


class Exported(nn.Module):
    """Encoder embedding, optionally joined with hand-made features of the aligned window (a *hybrid*).

    ``e = [sqrt(1 - w_p - w_m) f(x), sqrt(w_p) normalize(P^T (vec(align(x)) - mu)), sqrt(w_m) normalize(m(x))]``
    with ``f`` the encoder's unit embedding, ``P`` the top principal axes of the training windows'
    aligned joints, and ``m`` the motion of the aligned joints: each joint's displacement over
    ``motion_step`` frames, every ``motion_every`` frames. Every part is a unit vector, so ``e`` is
    one and cosine similarity is the weighted sum of the parts' cosines.

    A *camera head* (``head_axes``, fitted by ``training.camera_head``) replaces that sum with a learned
    linear map: ``e = normalize(W^T (h(x) - mu))``, ``h`` the chosen blocks of :data:`HEAD_BLOCKS`
    (encoder embedding, normalised joint motion, normalised aligned joint positions every
    ``motion_every`` frames), ``W`` fitted so the 8 MediaPipe cameras of one instant land together.

    Why motion: on real MediaPipe video of one person filmed by two cameras 110 degrees apart, these
    displacements alone find the same instant in the other camera for 68 % of windows, against 2 %
    for the aligned joints' positions and 42 % for the app's learned encoder
    (``training.evaluate_mediapipe``): a monocular pose model's view-dependent errors are mostly
    static (a limb's depth misjudged for a while), and motion is what two cameras agree on.
    """

    def __init__(self, encoder: Encoder, pca_mean: torch.Tensor | None = None,
                 pca_axes: torch.Tensor | None = None, hybrid_weight: float = 0.0,
                 motion_weight: float = 0.0, motion_step: int = 4, motion_every: int = 4,
                 head_mean: torch.Tensor | None = None, head_axes: torch.Tensor | None = None,
                 head_blocks: tuple[str, ...] = ()):
        super().__init__()
        self.encoder = encoder
        self.hybrid_weight = float(hybrid_weight)
        self.motion_weight = float(motion_weight)
        self.motion_step, self.motion_every = int(motion_step), int(motion_every)
        if not 0.0 <= self.hybrid_weight + self.motion_weight < 1.0:
            raise ValueError(f"the hybrid weights must leave the encoder a share: {hybrid_weight} + {motion_weight}")
        self.register_buffer("pca_mean", pca_mean if pca_mean is not None else torch.zeros(0))
        self.register_buffer("pca_axes", pca_axes if pca_axes is not None else torch.zeros(0, 0))
        unknown = set(head_blocks) - set(HEAD_BLOCKS)
        if unknown:
            raise ValueError(f"unknown camera-head inputs {sorted(unknown)}; known: {HEAD_BLOCKS}")
        if head_axes is not None and head_axes.numel() and (self.hybrid_weight or self.motion_weight or not head_blocks):
            raise ValueError("a camera head takes the whole embedding: no hybrid weights beside it, and at least one input")
        self.head_blocks = [b for b in HEAD_BLOCKS if b in head_blocks]
        self.register_buffer("head_mean", head_mean if head_mean is not None else torch.zeros(0))
        self.register_buffer("head_axes", head_axes if head_axes is not None else torch.zeros(0, 0))

    @torch.jit.export
    def head_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """The camera head's input: the chosen blocks, each a unit vector (see :data:`HEAD_BLOCKS`)."""
        a = self.encoder.align(x)
        parts: list[torch.Tensor] = []
        for b in self.head_blocks:
            if b == "encoder":
                parts.append(self.encoder(x))
            elif b == "motion":
                parts.append(F.normalize(motion_features(a, self.motion_step, self.motion_every), dim=1))
            else:
                parts.append(F.normalize(a[:, ::self.motion_every].flatten(1), dim=1))
        return torch.cat(parts, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.head_axes.numel() > 0:
            return F.normalize((self.head_inputs(x) - self.head_mean) @ self.head_axes, dim=1)
        e = self.encoder(x)
        if self.hybrid_weight <= 0.0 and self.motion_weight <= 0.0:
            return e
        a = self.encoder.align(x)
        parts = [e * math.sqrt(1.0 - self.hybrid_weight - self.motion_weight)]
        if self.hybrid_weight > 0.0:
            p = F.normalize((a.flatten(1) - self.pca_mean) @ self.pca_axes, dim=1)
            parts.append(p * math.sqrt(self.hybrid_weight))
        if self.motion_weight > 0.0:
            m = motion_features(a, self.motion_step, self.motion_every)
            parts.append(F.normalize(m, dim=1) * math.sqrt(self.motion_weight))
        return torch.cat(parts, dim=1)

    @torch.jit.export
    def align(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder.align(x)

    def motion_dims(self, window: int) -> int:
        return len(range(0, window - self.motion_step, self.motion_every)) * NUM_JOINTS * 3 if self.motion_weight > 0 else 0


def exported(encoder: Encoder, hybrid: dict | None, pca_mean: torch.Tensor | None = None,
             pca_axes: torch.Tensor | None = None, head_mean: torch.Tensor | None = None,
             head_axes: torch.Tensor | None = None) -> Exported:
    """The exported module an encoder file's ``hybrid`` metadata describes (None: the encoder alone)."""
    h = hybrid or {}
    return Exported(encoder, pca_mean, pca_axes, hybrid_weight=float(h.get("weight", 0.0)),
                    motion_weight=float(h.get("motion_weight", 0.0)), motion_step=int(h.get("motion_step", 4)),
                    motion_every=int(h.get("motion_every", 4)), head_mean=head_mean, head_axes=head_axes,
                    head_blocks=tuple(h.get("head", {}).get("blocks", ()))).eval()


def hybrid_of(module: Exported, window: int) -> tuple[dict | None, int]:
    """``(hybrid metadata, embedding size)`` of an exported module."""
    h: dict = {}
    dim = int(module.encoder.backbone.out.out_features)
    if module.head_axes.numel() > 0:
        return {"head": {"blocks": list(module.head_blocks), "dims": int(module.head_axes.shape[1])},
                "motion_step": module.motion_step, "motion_every": module.motion_every}, int(module.head_axes.shape[1])
    if module.hybrid_weight > 0:
        h.update(weight=module.hybrid_weight, pca_dims=int(module.pca_axes.shape[1]))
        dim += int(module.pca_axes.shape[1])
    if module.motion_weight > 0:
        h.update(motion_weight=module.motion_weight, motion_step=module.motion_step, motion_every=module.motion_every)
        dim += module.motion_dims(window)
    return h or None, dim


def parts_of(module: Exported, window: int, chosen_on: str = "") -> list[dict]:
    """The embedding's parts, first-class in the metadata: each one's share of the cosine similarity,
    size, whether it was learned, and what its weight was chosen on (``chosen_on``)."""
    w_p, w_m = module.hybrid_weight, module.motion_weight
    if module.head_axes.numel() > 0:
        return [{"part": "camera head", "kind": "learned linear map (training.camera_head: the 8 MediaPipe cameras of "
                 "one TotalCapture instant pulled together) of " + ", ".join(module.head_blocks)
                 + " (encoder: learned, FoCoViL; motion and positions: hand-made)", "weight": 1.0,
                 "dims": int(module.head_axes.shape[1]), "inputs": list(module.head_blocks),
                 "chosen_on": chosen_on or "not recorded"}]
    parts = [{"part": "encoder", "kind": "learned (FoCoViL, training_data)", "weight": round(1.0 - w_p - w_m, 6),
              "dims": int(module.encoder.backbone.out.out_features), "chosen_on": "what the hand-made parts leave"}]
    if w_p > 0:
        parts.append({"part": "aligned-joint PCA", "kind": "hand-made (PCA of the training windows)", "weight": w_p,
                      "dims": int(module.pca_axes.shape[1]), "chosen_on": chosen_on or "not recorded"})
    if w_m > 0:
        parts.append({"part": "joint motion", "kind": "hand-made, no training (each aligned joint's displacement "
                      f"over {module.motion_step} frames, every {module.motion_every})", "weight": w_m,
                      "dims": module.motion_dims(window), "chosen_on": chosen_on or "not recorded"})
    return parts


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
    from training.config import TrainConfig
    from training.train import build_model
    state = torch.load(path, map_location="cpu", weights_only=False)
    enc = build_model(TrainConfig(**state["config"])).encoder    # one place maps settings to a model
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
    from training.config import TrainConfig
    from training.data import ClipBank
    from training.train import load_training_clips
    windows = ClipBank(load_training_clips(TrainConfig(**cfg))).full(cfg["window"])
    with torch.no_grad():
        a = enc.align(windows).flatten(1)
    mean = a.mean(0)
    _, _, v = torch.linalg.svd(a - mean, full_matrices=False)
    return mean, v[:dims].T.contiguous()


def calibrate_threshold(module: nn.Module, cfg: dict) -> dict:
    """Strictness's table and the single "unknown" threshold (``training.open_set.calibrate``):
    the app reads them from the metadata."""
    return calibrate(module_embed(module), cfg["nwucla"], cfg["window"], cfg.get("protocol", "cross-view"))


def export(model_pt: str | Path, out: str | Path, metrics: dict | None = None,
           hybrid_weight: float = 0.0, hybrid_dims: int = 64, calibrate: bool = False,
           motion_weight: float = 0.0, chosen_on: str = "", head: dict | None = None) -> EncoderMeta:
    """``head``: a camera head's setting (``training.camera_head``'s ``chosen_setting``), fitted here on
    every TotalCapture sequence (the settings are chosen; this is the final fit)."""
    enc, state = load_trained(model_pt)
    cfg = state["config"]
    if head:
        from training.camera_head import fit, instant_windows
        from training.data.totalcapture import SEQUENCES
        module = fit(enc, tuple(head["inputs"]), int(head["dims"]), float(head["shrink"]),
                     *instant_windows(SEQUENCES, cfg.get("totalcapture") or None, cfg["window"], for_training=False))
    else:
        pca = fit_pca(enc, cfg, hybrid_dims) if hybrid_weight > 0 else (None, None)
        module = Exported(enc, *pca, hybrid_weight=hybrid_weight, motion_weight=motion_weight).eval()
    return _write(module, metadata(cfg, state.get("train", {}), metrics), cfg, out, calibrate, chosen_on)


def rehybrid(encoder_file: str | Path, out: str | Path, motion_weight: float, calibrate: bool = True,
             chosen_on: str = "") -> EncoderMeta:
    """An encoder file's learned encoder again, with a new hand-made part: the motion features at
    ``motion_weight`` (no PCA part). The training metadata is kept (the learned encoder's), the
    parts are described anew (``parts_of``); the measured numbers, which belonged to the old file,
    are measured again (``calibrate``) or dropped. Re-exporting a file with its own weight gives the
    same file again (only ``exported_at`` and ``code_version`` differ)."""
    from training.retrain_inputs import load_base
    base = load_base(encoder_file)
    module = Exported(base.model.encoder.eval(), motion_weight=motion_weight).eval()
    meta = base.meta.replace(metrics={}, code_version=code_version(), exported_at=now(), extra=_model_origin(base.meta),
                             training_data=[d for d in base.meta.training_data if not d.startswith("re-exported from")])
    return _write(module, meta, dict(base.meta.config), out, calibrate, chosen_on)


def recalibrate(encoder_file: str | Path, out: str | Path) -> EncoderMeta:
    """The same encoder file (model and metadata), with its strictness table and "unknown"
    threshold measured again by today's ``calibrate``."""
    from realtime.encoder import load_encoder
    rt = load_encoder(encoder_file, device="cpu")
    cfg = rt.meta.config
    metrics = {k: v for k, v in rt.meta.metrics.items() if not k.startswith("unknown_threshold")}
    metrics.update(calibrate(rt.embed, cfg["nwucla"], rt.window, cfg.get("protocol", "cross-view")))
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
    ap.add_argument("--hybrid-weight", type=float, default=0.0,
                    help="share of cosine similarity given to PCA'd aligned joints (0 = encoder only)")
    ap.add_argument("--hybrid-dims", type=int, default=64)
    ap.add_argument("--motion-weight", type=float, default=0.0,
                    help="share of cosine similarity given to the aligned joints' motion (Exported)")
    ap.add_argument("--motion-weight-from", metavar="JSON",
                    help="take --motion-weight from a search's JSON (python -m training.choose motion-weight), "
                         "recording what chose it in the metadata")
    ap.add_argument("--camera-head-from", metavar="JSON",
                    help="with --run: a camera head with the setting a search chose (python -m training.camera_head), "
                         "fitted on every TotalCapture sequence")
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
        chosen_on = f"{search['chosen_on']} ({Path(a.motion_weight_from).name}: python -m training.choose motion-weight)"
    head = None
    if a.camera_head_from:
        search = json.loads(Path(a.camera_head_from).read_text())
        head = search["chosen_setting"]
        chosen_on = (f"{search['chosen_on']} ({Path(a.camera_head_from).name}: python -m training.camera_head); "
                     f"fitted on all four TotalCapture sequences")
    if a.from_encoder and a.recalibrate:
        meta = recalibrate(a.from_encoder, a.out)
        print(json.dumps({"out": a.out, "strictness": meta.metrics["strictness"]["thresholds"][:12]}))
        return 0
    if a.from_encoder:
        meta = rehybrid(a.from_encoder, a.out, a.motion_weight, calibrate=a.calibrate, chosen_on=chosen_on)
        print(json.dumps({"out": a.out, "embedding_dim": meta.embedding_dim, "hybrid": meta.hybrid, "metrics": meta.metrics}))
        return 0
    src = Path(a.run) / "model.pt" if Path(a.run).is_dir() else Path(a.run)
    if not src.exists():
        print(f"error: {src} not found (train first: python -m training.train --out ...)", file=sys.stderr)
        return 2
    metrics = json.loads(Path(a.metrics).read_text()) if a.metrics else None
    if a.evaluate and head:
        print("error: --evaluate measures NW-UCLA's cross-view protocol; a camera head is fitted on MediaPipe "
              "skeletons for the app, so measure it with training.evaluate_mediapipe", file=sys.stderr)
        return 2
    meta = export(src, a.out, metrics, a.hybrid_weight, a.hybrid_dims, a.calibrate, a.motion_weight, chosen_on, head)
    if a.evaluate:
        from training.evaluate import evaluate, summary
        measured = summary(evaluate(a.out, "cross-view", data=meta.config["nwucla"], device="cpu"))
        meta = export(src, a.out, {**meta.metrics, "cross-view": measured}, a.hybrid_weight, a.hybrid_dims,
                      motion_weight=a.motion_weight, chosen_on=chosen_on)
    print(json.dumps({"out": a.out, "embedding_dim": meta.embedding_dim, "window": meta.window,
                      "training_data": meta.training_data, "metrics": meta.metrics}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
