"""Offline retraining on the user's own prototypes: ``python -m training.retrain --library LIB``.

Fine-tunes the library's encoder (or ``--base FILE``) with the FoCoViL objective on NW-UCLA views 1+2
(``--data``; never view 3, which the cross-view check tests on) plus the raw skeleton windows stored in
the library, then checks the candidate against the encoder it would replace and promotes it only if it
is not worse, by more than a stated margin, on either check:

* **user**: kNN-1 of held-out recordings of the user's labels (about ``--holdout`` of each label's
  recordings, whole recordings so overlapping windows never straddle the split) against the rest;
* **cross-view**: NW-UCLA kNN-1, gallery v01+v02, queries v03.

Promote iff ``after >= before - margin`` on both. Promotion writes ``<library>.encoders/focovil-v{N}.pt``
(the previous encoder stays in that folder, the base is copied there first) and then, in ONE SQLite
transaction, embeds every prototype with it and points the library at it
(``Library.activate_encoder``); the app then uses it whenever ``--encoder`` is not given. ``--rollback``
points the library back at the previous version the same way. ``report.json`` and ``report.png`` (per
label before/after) say what changed and why it was or was not promoted.

User labels as extra positives (``--labels``, on by default): each step draws about ``--user-share`` of
the batch from the user's recordings, labels drawn uniformly, and every batch item of the same user
label is a positive of the anchor, besides its own second view:
``Pos_i = {partner(i)} u {j != i : y_j = y_i >= 0}`` (NW-UCLA items are unlabelled, ``y = -1``); see
``training.loss``. ``--no-labels`` draws the same batches but keeps only the instance positives.
Under ``torchrun`` it trains with DDP like ``training.train``; rank 0 validates and promotes.
"""
from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import logging
import os
import re
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from realtime.encoder import EncoderFileError, load_encoder
from realtime.library import Library, LibraryError, file_sha256
from training.config import TrainConfig, to_dict
from training.data import ClipBank, load_nwucla
from training.data.clips import Clip
from training.data.nwucla import CLASS_NAMES, DatasetError
from training.export import Exported, code_version
from training.protocols import gallery_query
from training.train import _setup_distributed, build_model, contrastive_step, sample_batch
from training.model import FoCoViL

log = logging.getLogger("training.retrain")


class RetrainError(RuntimeError):
    """A problem to show the user in one line; nothing was changed when it is raised."""


@dataclass
class Settings:
    steps: int = 300
    lr: float = 2e-4                # encoder; the fresh projection head learns at lr * head_lr_mult
    head_lr_mult: float = 10.0
    batch: int = 0                  # performances per step; 0 = the base encoder's training batch
    user_share: float = 0.25        # share of each batch drawn from the user's recordings
    labels: bool = True             # user labels as extra positives
    holdout: float = 0.3            # share of each label's recordings held out for the user check
    margin_user: float = 0.01       # promote iff after >= before - margin (kNN-1, 0..1), on both checks
    margin_cv: float = 0.01
    nwucla_subjects: str = ""       # comma list: restrict NW-UCLA (training and check) to these subjects
    seed: int = 0
    ckpt_every: int = 50
    threads: int = 0


@dataclass
class Base:
    path: Path
    sha256: str
    meta: dict
    cfg: TrainConfig
    model: FoCoViL
    pca_mean: torch.Tensor
    pca_axes: torch.Tensor
    hybrid_weight: float


@dataclass
class UserData:
    label_names: list[str]
    train: list[Clip]               # training split (also the gallery of the user check)
    heldout: list[Clip]
    split: dict                     # {"train": [uids], "heldout": [uids]}
    warnings: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------ inputs

def load_base(path: str | Path) -> Base:
    """Rebuilds the trainable model of an exported encoder file from its metadata and weights.

    The file's ``config`` metadata gives the architecture (``training.train.build_model``); its
    ``encoder.*`` weights load into the encoder; the projection head is not exported, so it starts
    fresh. A hybrid file's PCA part is kept fixed and carried over to the new file.
    """
    path = Path(path)
    try:
        load_encoder(path, device="cpu")                 # the app's own checks, same messages
    except EncoderFileError as e:
        raise RetrainError(str(e)) from e
    extra = {"metadata.json": ""}
    scripted = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    meta = json.loads(extra["metadata.json"])
    if not isinstance(meta.get("config"), dict):
        raise RetrainError(f"{path} has no training config in its metadata; only files written by "
                           f"training.export can be retrained")
    known = {f.name for f in dataclasses.fields(TrainConfig)}
    cfg = TrainConfig(**{k: v for k, v in meta["config"].items() if k in known})
    model = build_model(cfg)
    state = scripted.state_dict()
    enc_state = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    want = model.encoder.state_dict()
    missing = [k for k in want if k not in enc_state]
    if missing or any(enc_state[k].shape != want[k].shape for k in want):
        raise RetrainError(f"{path}: its weights do not fit the model its config describes (missing {missing[:5]})")
    model.encoder.load_state_dict({k: enc_state[k] for k in want})
    return Base(path=path, sha256=file_sha256(path), meta=meta, cfg=cfg, model=model,
                pca_mean=state.get("pca_mean", torch.zeros(0)), pca_axes=state.get("pca_axes", torch.zeros(0, 0)),
                hybrid_weight=float(meta.get("hybrid", {}).get("weight", 0.0)))


_V03 = re.compile(r"a\d+_s\d+_e\d+_v03")
_NWUCLA_FILE = re.compile(r"a\d+_s\d+_e\d+_v\d+")


def split_library(lib: Library, holdout: float, seed: int, fixed: dict | None = None) -> UserData:
    """The library's prototypes as clips, split by whole recordings (same label, source, start, end).

    Per label with 2+ recordings, ``round(holdout * n)`` of them (at least 1, at most n - 1) are held
    out; a label with one recording only trains. ``fixed`` (a resumed run's split) is reused as is.
    """
    protos = lib.prototypes(with_windows=True)
    if not protos:
        raise RetrainError(f"library {lib.path} is empty: record some prototypes first (python main.py record ...)")
    names = sorted({p.label for p in protos})
    warnings, recs = [], {}
    for p in protos:
        if p.window is None or len(p.window) < 2:
            warnings.append(f"prototype {p.id} ({p.label}) has no usable window; skipped")
            continue
        if _V03.search(p.source or ""):
            warnings.append(f"prototype {p.id} ({p.label}) comes from NW-UCLA view 3, the cross-view test view; skipped")
            continue
        recs.setdefault(p.label, {}).setdefault((p.source, p.start_s, p.end_s), []).append(p)
    rng = np.random.default_rng(seed)
    train_uids, held_uids = set(), set()
    if fixed is not None:
        train_uids, held_uids = set(fixed["train"]), set(fixed["heldout"])
        have = {p.uid for p in protos}
        gone = (train_uids | held_uids) - have
        if gone:
            raise RetrainError(f"{len(gone)} prototype(s) of the interrupted run were deleted from {lib.path} since; "
                               f"start again without --resume")
    else:
        for label, groups in sorted(recs.items()):
            keys = list(groups)
            if len(keys) < 2:
                warnings.append(f"label {label!r} has a single recording ({len(groups[keys[0]])} window(s)): it trains "
                                f"but cannot be checked; record it again to have it validated")
                k = 0
            else:
                k = min(len(keys) - 1, max(1, int(round(holdout * len(keys)))))
            order = rng.permutation(len(keys))
            for i, j in enumerate(order):
                (held_uids if i < k else train_uids).update(p.uid for p in groups[keys[j]])
    train, held = [], []
    for label, groups in recs.items():
        for r, (key, ps) in enumerate(groups.items()):
            for p in ps:
                clip = Clip(name=f"lib{p.id} {p.source}", skeleton=p.window.astype(np.float32), label=names.index(label),
                            label_name=label, view=0, subject=0, instance=f"lib:{label}:{r}", source="library")
                if p.uid in train_uids:
                    train.append(clip)
                elif p.uid in held_uids:
                    held.append(clip)
    if not held:
        raise RetrainError(f"no label in {lib.path} has two or more recordings, so the new encoder could not be "
                           f"checked on your data; record at least one label twice (at another time) and retry")
    return UserData(label_names=names, train=train, heldout=held,
                    split={"train": sorted(train_uids), "heldout": sorted(held_uids)}, warnings=warnings)


def nwucla(dirs: list[str], subjects: str) -> tuple[list[Clip], list[Clip]]:
    """NW-UCLA clips of views 1+2 (train + gallery) and view 3 (queries only) from ``dirs``."""
    subj = tuple(int(s) for s in subjects.split(",") if s.strip()) or None
    v12, v3 = [], []
    for d in dirs:
        v12 += load_nwucla(d, views=(1, 2), subjects=subj)
        v3 += load_nwucla(d, views=(3,), subjects=subj)
    if not v12 or not v3:
        raise RetrainError(f"no NW-UCLA clips of views 1+2 and 3 in {dirs} (subjects {subjects or 'all'})")
    return v12, v3


def check_library_encoder(lib: Library, base: Base, force: bool) -> None:
    """Refuses a base the library does not run on (its active encoder, or the one that embedded it)."""
    if force:
        return
    active = lib.active_encoder()
    if active is not None and active.get("sha256") != base.sha256:
        raise RetrainError(f"library {lib.path} runs on {active['file']} (version {active.get('version')}), not on "
                           f"{base.path}; omit --base to retrain the library's own encoder, or pass --force-base")
    used = [e for e in lib.encoders()]
    if active is None and used and base.sha256 not in {e.sha256 for e in used}:
        raise RetrainError(f"library {lib.path} was embedded by {', '.join(sorted({e.name for e in used}))}, not by "
                           f"{base.path.name}; retrain from the encoder the library was used with (--base FILE), or "
                           f"pass --force-base")


# ---------------------------------------------------------------------------------- training

def _state_ok(saved: dict, settings: Settings, base: Base) -> str | None:
    mine = {k: v for k, v in dataclasses.asdict(settings).items() if k not in ("threads", "ckpt_every")}
    theirs = {k: v for k, v in saved["settings"].items() if k not in ("threads", "ckpt_every")}
    if saved["base_sha256"] != base.sha256:
        return "it started from another base encoder"
    if mine != theirs:
        diff = sorted(k for k in mine if mine[k] != theirs.get(k))
        return f"its settings differ ({', '.join(diff)})"
    return None


def train_candidate(base: Base, user: UserData, nw_train: list[Clip], settings: Settings, out: Path,
                    resume: bool) -> dict:
    """Fine-tunes ``base.model`` in place; checkpoints to ``out/checkpoint.pt``; returns the history."""
    rank, world, device = _setup_distributed()
    if settings.threads:
        torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    cfg = base.cfg
    batch = settings.batch or cfg.batch
    n_user = min(batch - 1, max(1, round(batch * settings.user_share))) if user.train else 0
    nw_cfg = dataclasses.replace(cfg, batch=batch - n_user)
    nw_bank = ClipBank(nw_train) if nw_train else None
    if nw_bank is None:
        nw_cfg, n_user = dataclasses.replace(cfg, batch=0), batch
    by_label = {}
    for c in user.train:
        by_label.setdefault(c.label, []).append(c)
    label_ids = sorted(by_label)
    banks = {k: ClipBank(v) for k, v in by_label.items()}
    model = base.model.to(device)
    head = list(model.head.parameters())
    opt = torch.optim.AdamW([{"params": list(model.encoder.parameters()), "lr": settings.lr},
                             {"params": head, "lr": settings.lr * settings.head_lr_mult}],
                            weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[settings.lr, settings.lr * settings.head_lr_mult],
                                                total_steps=settings.steps, pct_start=0.1)
    gen = torch.Generator().manual_seed(settings.seed * 1000 + rank)
    step, history = 0, []
    ckpt = out / "checkpoint.pt"
    if ckpt.exists():
        state = torch.load(ckpt, map_location=device, weights_only=False)
        why = _state_ok(state, settings, base)
        if not resume:
            raise RetrainError(f"{out} holds an interrupted retraining (step {state['step']} of "
                               f"{state['settings']['steps']}); continue it with --resume, or delete {out} to start again")
        if why:
            raise RetrainError(f"cannot resume the run in {out}: {why}; delete {out} to start again")
        model.load_state_dict(state["model"]); opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"]); gen.set_state(state["gen"])
        step, history = state["step"], state["history"]
        log.info("resumed from %s at step %d", ckpt, step)
    resumed_from = step
    net = DistributedDataParallel(model) if world > 1 else model
    model.train()
    bar = tqdm(total=settings.steps, initial=step, desc="retrain", disable=rank != 0, dynamic_ncols=True)
    t0 = time.time()
    while step < settings.steps:
        xs1, xs2, ys = [], [], []
        if nw_bank is not None and nw_cfg.batch > 0:
            a, b = sample_batch(nw_bank, nw_cfg, gen)
            xs1.append(a); xs2.append(b); ys.append(torch.full((len(a),), -1))
        if n_user:
            counts = torch.bincount(torch.randint(len(label_ids), (n_user,), generator=gen), minlength=len(label_ids))
            for k, cnt in zip(label_ids, counts.tolist()):
                if cnt:
                    a, b = sample_batch(banks[k], dataclasses.replace(cfg, batch=cnt), gen)
                    xs1.append(a); xs2.append(b); ys.append(torch.full((cnt,), k))
        x1, x2, y = torch.cat(xs1), torch.cat(xs2), torch.cat(ys)
        loss = contrastive_step(net, opt, sched, x1, x2, cfg, device, mined=cfg.mined,
                                labels=y if settings.labels else None)
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}")
        history.append({"step": step, "loss": round(loss, 4)})
        if rank == 0 and (step % settings.ckpt_every == 0 or step == settings.steps):
            _atomic_torch_save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                                "gen": gen.get_state(), "step": step, "history": history,
                                "settings": dataclasses.asdict(settings), "base_sha256": base.sha256,
                                "split": user.split}, ckpt)
    bar.close()
    model.to("cpu").eval()
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return {"history": history, "train_seconds": round(time.time() - t0, 1), "world_size": world, "device": device,
            "rank": rank, "batch": batch, "user_per_batch": n_user, "resumed_from_step": resumed_from}


# -------------------------------------------------------------------------------- evaluation

def module_embed(module: torch.nn.Module):
    """Embedding function of an (exportable) module, in eval mode, batched."""
    @torch.no_grad()
    def fn(windows: np.ndarray) -> np.ndarray:
        module.eval()
        x = torch.as_tensor(np.asarray(windows, dtype=np.float32))
        return torch.cat([module(x[i:i + 512]) for i in range(0, len(x), 512)]).numpy()
    return fn


def evaluate(embed_fn, window: int, user: UserData, cv_gallery: list[Clip], cv_query: list[Clip],
             keep: float | None = None) -> dict:
    """Both checks (kNN-1, per label) for one encoder; ``keep``: also calibrate the 'unknown' threshold."""
    u = gallery_query(embed_fn, user.train, user.heldout, window, user.label_names, linear=False)
    cv = gallery_query(embed_fn, cv_gallery, cv_query, window, CLASS_NAMES, linear=False)
    out = {"user": u, "cross_view": cv}
    if keep is not None:
        from training.protocols import labels_of, windows_of
        eg, eq = embed_fn(windows_of(cv_gallery, window)), embed_fn(windows_of(cv_query, window))
        same = labels_of(cv_query)[:, None] == labels_of(cv_gallery)[None, :]
        best = np.where(same, eq @ eg.T, -np.inf).max(axis=1)
        out["unknown_threshold"] = round(float(np.quantile(best, 1 - keep)), 4)
    return out


def decide(before: dict, after: dict, settings: Settings) -> tuple[bool, list[str]]:
    """Promote iff neither check drops by more than its margin; the reasons, in words."""
    reasons, ok = [], True
    for key, name, margin in (("user", "your held-out recordings", settings.margin_user),
                              ("cross_view", "NW-UCLA cross-view (v01+v02 -> v03)", settings.margin_cv)):
        b, a = before[key]["knn1"], after[key]["knn1"]
        good = a >= b - margin - 1e-9
        ok &= good
        reasons.append(f"{name}: kNN-1 {100 * b:.1f} -> {100 * a:.1f} % ({100 * (a - b):+.1f}); "
                       f"{'within' if good else 'worse than'} the allowed drop of {100 * margin:.1f} points")
    return ok, reasons


# ------------------------------------------------------------------------------- export, files

def _disk_full(e: OSError) -> bool:
    return e.errno in (errno.ENOSPC, errno.EDQUOT)


def _atomic(path: Path, write: Callable[[Path], object]) -> None:
    """``write(tmp)`` then fsync + ``os.replace``: ``path`` is whole (old or new) or absent, never partial."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _atomic_torch_save(obj: dict, path: Path) -> None:
    _atomic(path, lambda tmp: torch.save(obj, tmp))


def _atomic_write(path: Path, data: bytes) -> None:
    _atomic(path, lambda tmp: tmp.write_bytes(data))


def _atomic_copy(src: Path, dst: Path) -> None:
    _atomic(dst, lambda tmp: shutil.copyfile(src, tmp))


def candidate_module(base: Base) -> Exported:
    return Exported(base.model.encoder, base.pca_mean, base.pca_axes, hybrid_weight=base.hybrid_weight).eval()


def export_candidate(base: Base, module: Exported, out: Path, extra_meta: dict) -> Path:
    """The fine-tuned encoder as a TorchScript file with the base's metadata, updated."""
    meta = json.loads(json.dumps(base.meta))
    meta.update(extra_meta, code_version=code_version(),
                exported_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    scripted = torch.jit.script(module)
    x = torch.randn(2, meta["window"], 20, 3)
    with torch.no_grad():
        if not torch.allclose(module(x), scripted(x), atol=1e-5):
            raise RuntimeError("scripted encoder disagrees with the trained one")
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        torch.jit.save(scripted, str(tmp), _extra_files={"metadata.json": json.dumps(meta, indent=1)})
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _versions(folder: Path) -> dict[int, Path]:
    out = {}
    for p in folder.glob("focovil-v*.pt"):
        m = re.fullmatch(r"focovil-v(\d+)\.pt", p.name)
        if m:
            out[int(m.group(1))] = p
    return out


def promote(lib: Library, base: Base, candidate: Path, note: dict) -> dict:
    """Versioned copy of the candidate, then re-embed + switch the pointer in one transaction.

    The base is copied into the versions folder first (if it is not there already), so the previous
    encoder is always kept next to the library. On any error the files written here are removed
    and the library is left exactly as it was.
    """
    folder = lib.encoders_dir()
    folder.mkdir(parents=True, exist_ok=True)
    active = lib.active_encoder()
    written = []
    try:
        vers = _versions(folder)
        prev_file = next((p for p in vers.values() if file_sha256(p) == base.sha256), None)
        if prev_file is None:
            prev_file = folder / f"focovil-v{max(vers, default=0) + 1}.pt"
            _atomic_copy(base.path, prev_file); written.append(prev_file)
            vers = _versions(folder)
        prev = dict(active) if active is not None else {
            "file": str(prev_file), "sha256": base.sha256, "version": int(prev_file.stem.split("-v")[1]),
            "history": [], "copied_from": str(base.path)}
        prev["file"] = os.path.relpath(Path(prev["file"]).resolve(), lib.path.parent.resolve())
        history = prev.pop("history", [])
        n = max(vers) + 1
        new_file = folder / f"focovil-v{n}.pt"
        _atomic_copy(candidate, new_file); written.append(new_file)
        enc = load_encoder(new_file, device="cpu")
        record = {"file": str(new_file), "version": n, "history": history + [prev],
                  "promoted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **note}
        lib.activate_encoder(enc, record)
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return lib.active_encoder()


def rollback(lib: Library) -> dict:
    """Points the library back at the encoder it had before the last promotion (re-embedded, one transaction)."""
    active = lib.active_encoder()
    if active is None or not active.get("history"):
        raise RetrainError(f"library {lib.path} has no earlier encoder to roll back to"
                           + ("" if active is None else f" (it is on version {active.get('version')})"))
    prev = dict(active["history"][-1])
    path = (lib.path.parent / prev["file"]).resolve()
    if not path.is_file() or file_sha256(path) != prev["sha256"]:
        raise RetrainError(f"the previous encoder {path} is missing or changed; nothing was changed")
    enc = load_encoder(path, device="cpu")
    prev.update(file=str(path), history=active["history"][:-1], rolled_back_from=active.get("version"),
                rolled_back_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    lib.activate_encoder(enc, prev)
    return lib.active_encoder()


def plot_report(report: dict, path: Path) -> None:
    """Before/after kNN-1 per label, one panel per check."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    for ax, key, title in ((axes[0], "user", "your held-out recordings"),
                           (axes[1], "cross_view", "NW-UCLA cross-view (v03 queries)")):
        b, a = report["before"][key]["knn1_per_class"], report["after"][key]["knn1_per_class"]
        names = list(b)
        x = np.arange(len(names))
        ax.bar(x - 0.2, [100 * b[n] for n in names], 0.4, label=f"before {100 * report['before'][key]['knn1']:.1f} %")
        ax.bar(x + 0.2, [100 * a[n] for n in names], 0.4, label=f"after {100 * report['after'][key]['knn1']:.1f} %")
        ax.set_xticks(x, names, rotation=40, ha="right", fontsize=8)
        ax.set_ylim(0, 105); ax.set_ylabel("kNN-1 accuracy (%)"); ax.set_title(title); ax.legend(loc="lower right")
    import textwrap
    fig.suptitle(textwrap.fill(("PROMOTED" if report["promoted"] else "NOT promoted") + " - " + report["summary"], 150),
                 fontsize=9)
    fig.tight_layout()
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)


# ------------------------------------------------------------------------------------- driver

def retrain(library: str | Path, base_path: str | Path | None, data: list[str] | None, settings: Settings,
            out: str | Path | None = None, resume: bool = False, dry_run: bool = False,
            force_base: bool = False) -> dict:
    """Train, check, promote (or not), report. Returns the report (rank 0) or {} (other ranks)."""
    lib_path = Path(library)
    if not lib_path.is_file():
        raise RetrainError(f"no library file {lib_path}")
    with Library(lib_path) as lib:
        if base_path is None:
            active = lib.active_encoder()
            from realtime.app import DEFAULT_ENCODER
            base_path = active["file"] if active else DEFAULT_ENCODER
        base = load_base(base_path)
        check_library_encoder(lib, base, force_base)
        work = Path(out) if out else lib.encoders_dir() / "work"
        saved_split = None
        if (work / "checkpoint.pt").exists():
            state = torch.load(work / "checkpoint.pt", map_location="cpu", weights_only=False)
            if not resume:
                raise RetrainError(f"{work} holds an interrupted retraining (step {state['step']} of "
                                   f"{state['settings']['steps']}); continue it with --resume, or delete {work} "
                                   f"to start again")
            why = _state_ok(state, settings, base)
            if why:
                raise RetrainError(f"cannot resume the run in {work}: {why}; delete {work} to start again")
            saved_split = state.get("split")
        user = split_library(lib, settings.holdout, settings.seed, fixed=saved_split)
    if not data:
        default = Path(base.cfg.nwucla)
        if not default.is_dir():
            raise RetrainError("no NW-UCLA data: pass --data DIR (the folder of aAA_sSS_eEE_vVV.json files); it is needed "
                               "to check the new encoder is not worse on the cross-view protocol")
        data = [str(default)]
    cv_gallery, cv_query = nwucla(data, settings.nwucla_subjects)
    # a held-out user recording taken from an NW-UCLA file must not train through NW-UCLA either
    held_files = {m.group(0) for c in user.heldout for m in [_NWUCLA_FILE.search(c.name)] if m}
    nw_train = [c for c in cv_gallery if c.name not in held_files]
    if base.meta.get("protocol") == "all" or 3 in base.meta.get("train_views", []):
        user.warnings.append(f"{base.path.name} was trained on NW-UCLA view 3, so its cross-view check is a "
                             f"no-regression check, not an honest cross-view number (retraining itself never uses view 3)")
    work.mkdir(parents=True, exist_ok=True)
    rank = int(os.environ.get("RANK", "0"))
    window = base.cfg.window
    keep = base.meta.get("metrics", {}).get("unknown_threshold_keeps")
    if rank == 0:
        before = evaluate(load_encoder(base.path, device="cpu").embed, window, user, cv_gallery, cv_query, keep)
    trained = train_candidate(base, user, nw_train, settings, work, resume)
    if trained["rank"] != 0:
        return {}
    module = candidate_module(base)
    after = evaluate(module_embed(module), window, user, cv_gallery, cv_query, keep)
    promoted, reasons = decide(before, after, settings)
    n_labels = len({c.label for c in user.train})
    metrics = dict(base.meta.get("metrics", {}))
    metrics.pop("cross-view", None)   # the base's numbers are not this file's
    metrics["retrain_check"] = {"user_knn1": after["user"]["knn1"], "cross_view_knn1": after["cross_view"]["knn1"]}
    if "unknown_threshold" in after:
        metrics["unknown_threshold"] = after["unknown_threshold"]
        metrics["unknown_threshold_data"] = f"NW-UCLA v01+v02 prototypes, v03 queries (subjects {settings.nwucla_subjects or 'all'})"
    candidate = export_candidate(base, module, work / "candidate.pt", {
        "training_data": list(base.meta.get("training_data", [])) + [
            f"fine-tuned: NW-UCLA views 1+2 ({len(nw_train)} clips) + user library {lib_path.name} "
            f"({len(user.train)} windows, {n_labels} labels{', labels as positives' if settings.labels else ''})"],
        "retrained_from": {"file": base.path.name, "sha256": base.sha256},
        "retrain": dataclasses.asdict(settings), "metrics": metrics, "train_seconds": trained["train_seconds"]})
    report = {
        "library": str(lib_path), "base": {"file": str(base.path), "sha256": base.sha256},
        "candidate": str(candidate), "settings": dataclasses.asdict(settings),
        "data": {"nwucla_dirs": data, "nwucla_train_clips": len(nw_train), "nwucla_gallery_clips": len(cv_gallery), "nwucla_query_clips": len(cv_query),
                 "user_train_windows": len(user.train), "user_heldout_windows": len(user.heldout),
                 "labels": user.label_names},
        "warnings": user.warnings,
        "train": {k: v for k, v in trained.items() if k not in ("history", "rank")},
        "loss_first_last": [trained["history"][0]["loss"], trained["history"][-1]["loss"]] if trained["history"] else None,
        "before": before, "after": after,
        "delta": {"user_knn1": after["user"]["knn1"] - before["user"]["knn1"],
                  "cross_view_knn1": after["cross_view"]["knn1"] - before["cross_view"]["knn1"]},
        "rule": "promote iff after >= before - margin on both checks",
        "margins": {"user": settings.margin_user, "cross_view": settings.margin_cv},
        "promoted": False, "reasons": reasons, "dry_run": dry_run,
    }
    if promoted and not dry_run:
        with Library(lib_path) as lib:
            rec = promote(lib, base, candidate, {"report": str(work / "report.json")})
        report.update(promoted=True, active_encoder=str(rec["file"]), version=rec["version"])
    report["summary"] = ("promoted to version %s" % report.get("version") if report["promoted"] else
                         "not promoted (dry run)" if promoted and dry_run else "not promoted") + ": " + "; ".join(reasons)
    _atomic_write(work / "report.json", json.dumps(report, indent=1).encode())
    plot_report(report, work / "report.png")
    (work / "checkpoint.pt").unlink(missing_ok=True)   # finished: a later run starts fresh
    return report


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--library", required=True, help="the prototype library (SQLite file) to learn from and promote")
    ap.add_argument("--base", help="encoder file to fine-tune (default: the library's active encoder, else the app's)")
    ap.add_argument("--data", nargs="+", help="NW-UCLA folder(s) (default: the base's training data path)")
    ap.add_argument("--out", help="work folder: checkpoint, candidate, report (default: <library>.encoders/work)")
    ap.add_argument("--resume", action="store_true", help="continue an interrupted run from its checkpoint")
    ap.add_argument("--rollback", action="store_true", help="point the library back at its previous encoder and exit")
    ap.add_argument("--dry-run", action="store_true", help="train, check and report, but never promote")
    ap.add_argument("--force-base", action="store_true", help="allow a base the library does not run on")
    ap.add_argument("--no-labels", action="store_true", help="do not use your labels as extra positives")
    for f in dataclasses.fields(Settings):
        if f.name != "labels":
            ap.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    a = ap.parse_args(argv)
    settings = Settings(**{f.name: getattr(a, f.name) for f in dataclasses.fields(Settings) if f.name != "labels"},
                        labels=not a.no_labels)
    try:
        if a.rollback:
            with Library(a.library) as lib:
                rec = rollback(lib)
            print(json.dumps({"rolled_back_to": str(rec["file"]), "version": rec.get("version")}))
            return 0
        report = retrain(a.library, a.base, a.data, settings, a.out, a.resume, a.dry_run, a.force_base)
    except KeyboardInterrupt:
        print("interrupted: nothing was promoted, the app stays on its encoder; continue with the same command "
              "plus --resume", file=sys.stderr)
        return 130
    except OSError as e:
        if _disk_full(e):
            print(f"error: the disk is full ({e.filename or e}); nothing was promoted, the library and its encoder "
                  f"are unchanged. Free some space and run again with --resume", file=sys.stderr)
            return 2
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (RetrainError, LibraryError, EncoderFileError, DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if report:
        print(json.dumps({k: report[k] for k in ("promoted", "summary", "delta")} |
                         {"report": str(Path(report["candidate"]).with_name("report.json")),
                          "active_encoder": report.get("active_encoder")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
