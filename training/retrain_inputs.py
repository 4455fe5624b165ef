"""Retraining's inputs: its settings, the base encoder rebuilt for training, the user's library split.

* :func:`load_base`: an exported encoder file back into a trainable model (``training.retrain``);
* :func:`split_library`: the library's prototypes as clips, split by whole recordings into a
  training part and a held-out part (the user check);
* :func:`nwucla`: NW-UCLA under the ``val`` protocol (``training.data.splits``): training clips, and the
  validation gallery (v01) and queries (v02 of the validation subjects); view 3 is never opened;
* :func:`base_saw_validation`: whether the base encoder trained on those validation queries;
* :func:`check_library_encoder`, :func:`resumable_state`: refusals before anything is trained.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from focovil.realtime.encoder import EncoderFileError, EncoderMeta, load_encoder
from focovil.realtime.library import Library, file_sha256
from focovil.training.config import TrainConfig, config_from
from focovil.training.data import load_nwucla
from focovil.training.data.clips import Clip
from focovil.training.data.splits import TRAIN_SUBJECTS, VAL_SUBJECTS
from focovil.training.model import FoCoViL
from focovil.training.train import build_model


class RetrainError(RuntimeError):
    """A problem to show the user in one line; nothing was changed when it is raised."""


@dataclass
class RetrainSettings:
    steps: int = 300
    lr: float = 2e-4                # encoder; the fresh projection head learns at lr * head_lr_mult
    head_lr_mult: float = 10.0
    batch: int = 0                  # performances per step; 0 = the base encoder's training batch
    user_share: float = 0.25        # share of each batch drawn from the user's recordings
    labels: bool = True             # user labels as extra positives
    holdout: float = 0.3            # share of each label's recordings held out for the user check
    margin_user: float = 0.01       # promote iff after >= before - margin (kNN-1, 0..1), on both checks
    margin_val: float = 0.01        # ... the NW-UCLA validation check
    nwucla_subjects: str = ""       # comma list: restrict NW-UCLA (training and validation) to these subjects
    seed: int = 0
    ckpt_every: int = 50
    threads: int = 0


@dataclass
class Base:
    path: Path
    sha256: str
    meta: EncoderMeta
    cfg: TrainConfig
    model: FoCoViL
    pca_mean: torch.Tensor          # a hybrid file's PCA part (empty when it has none), carried over
    pca_axes: torch.Tensor
    head_mean: torch.Tensor = field(default_factory=lambda: torch.zeros(0))   # a camera head, carried over
    head_axes: torch.Tensor = field(default_factory=lambda: torch.zeros(0, 0))


@dataclass
class UserData:
    label_names: list[str]
    train: list[Clip]               # training split (also the gallery of the user check)
    heldout: list[Clip]
    split: dict                     # {"train": [uids], "heldout": [uids]}
    warnings: list[str] = field(default_factory=list)


def load_base(path: str | Path) -> Base:
    """Rebuilds the trainable model of an exported encoder file from its metadata and weights.

    The file's ``config`` metadata gives the architecture (``training.train.build_model``); its
    ``encoder.*`` weights load into the encoder; the projection head is not exported, so it starts
    fresh. A hybrid file's hand-made parts (PCA, motion) are kept as they are in the new file.
    """
    path = Path(path)
    try:
        rt = load_encoder(path, device="cpu")            # the app's own checks, same messages
    except EncoderFileError as e:
        raise RetrainError(str(e)) from e
    meta = rt.meta
    if not isinstance(meta.config, dict) or not meta.config:
        raise RetrainError(f"{path} has no training config in its metadata; only files written by "
                           f"focovil.training.export can be retrained")
    cfg = config_from(meta.config, strict=False)
    model = build_model(cfg)
    state = rt.module.state_dict()
    enc_state = {k[len("encoder."):]: v for k, v in state.items() if k.startswith("encoder.")}
    want = model.encoder.state_dict()
    missing = [k for k in want if k not in enc_state]
    if missing or any(enc_state[k].shape != want[k].shape for k in want):
        raise RetrainError(f"{path}: its weights do not fit the model its config describes (missing {missing[:5]})")
    model.encoder.load_state_dict({k: enc_state[k] for k in want})
    return Base(path=path, sha256=file_sha256(path), meta=meta, cfg=cfg, model=model,
                pca_mean=state.get("pca_mean", torch.zeros(0)), pca_axes=state.get("pca_axes", torch.zeros(0, 0)),
                head_mean=state.get("head_mean", torch.zeros(0)), head_axes=state.get("head_axes", torch.zeros(0, 0)))


_V03 = re.compile(r"a\d+_s\d+_e\d+_v03")
NWUCLA_FILE = re.compile(r"a\d+_s\d+_e\d+_v\d+")


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


@dataclass
class Nwucla:
    """NW-UCLA as retraining uses it: the ``val`` protocol of ``training.data.splits``, view 3 never opened."""
    train: list[Clip]               # v01 + v02 of the training subjects
    gallery: list[Clip]             # validation gallery: v01
    queries: list[Clip]             # validation queries: v02 of the validation subjects (never trained on)
    words: str                      # what the validation check measures, for the report and the file


def nwucla(dirs: list[str], subjects: str) -> Nwucla:
    """NW-UCLA clips from ``dirs`` under the ``val`` protocol (``training.data.splits``): training on v01
    and on v02 of subjects 1-5; validation = gallery v01, queries v02 of subjects 6-10 (as
    ``training.evaluate --protocol val``). ``subjects`` (comma list) restricts all of them. Only
    ``load_nwucla(..., views=(1,)|(2,))``: a view-3 file is never opened, not even a corrupt one."""
    subj = tuple(int(s) for s in subjects.split(",") if s.strip()) or None
    train_s = tuple(s for s in TRAIN_SUBJECTS if subj is None or s in subj)
    val_s = tuple(s for s in VAL_SUBJECTS if subj is None or s in subj)
    v1, v2_train, v2_val = [], [], []
    for d in dirs:
        v1 += load_nwucla(d, views=(1,), subjects=subj)
        v2_train += load_nwucla(d, views=(2,), subjects=train_s)
        v2_val += load_nwucla(d, views=(2,), subjects=val_s)
    if not v1 or not v2_val:
        raise RetrainError(f"no NW-UCLA validation clips (gallery view 1, queries view 2 of subjects "
                           f"{VAL_SUBJECTS[0]}-{VAL_SUBJECTS[-1]}) in {dirs} (subjects {subjects or 'all'}); "
                           f"--nwucla-subjects must include one of {VAL_SUBJECTS[0]}-{VAL_SUBJECTS[-1]}")
    words = (f"NW-UCLA validation (protocol val): gallery v01, queries v02 of subjects "
             f"{','.join(map(str, sorted({c.subject for c in v2_val})))}")
    return Nwucla(train=v1 + v2_train, gallery=v1, queries=v2_val, words=words)


def base_saw_validation(meta: EncoderMeta) -> str | None:
    """Why the base encoder may have trained on the validation queries (v02 of subjects 6-10), or None
    when its metadata says it did not (protocol ``val``, and any retraining it came from was on ``val`` too)."""
    if meta.protocol != "val":
        return (f"was trained on protocol {meta.protocol!r}, which includes NW-UCLA view 2 of every subject"
                if meta.protocol in ("all", "cross-view") else
                f"does not record which NW-UCLA clips it trained on (protocol {meta.protocol or 'not given'!r}), "
                f"so it is taken to have trained on view 2 of every subject")
    check = meta.metrics.get("retrain_check") or {}
    if meta.retrained_from and check.get("nwucla_val_held_out") is not True:
        return "was retrained by an earlier training.retrain, which trained on NW-UCLA view 2 of every subject"
    return None


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


def resume_problem(saved: dict, settings: RetrainSettings, base: Base) -> str | None:
    """Why a saved checkpoint cannot be continued with these settings and base (None: it can)."""
    mine = {k: v for k, v in dataclasses.asdict(settings).items() if k not in ("threads", "ckpt_every")}
    theirs = {k: v for k, v in saved["settings"].items() if k not in ("threads", "ckpt_every")}
    if saved["base_sha256"] != base.sha256:
        return "it started from another base encoder"
    if mine != theirs:
        diff = sorted(k for k in mine if mine[k] != theirs.get(k))
        return f"its settings differ ({', '.join(diff)})"
    return None


def resumable_state(work: Path, settings: RetrainSettings, base: Base, resume: bool) -> dict | None:
    """The checkpoint of an interrupted run in ``work`` when it may be continued, None when there is none.

    A checkpoint without ``resume``, or one from another base or other settings, is refused.
    """
    ckpt = work / "checkpoint.pt"
    if not ckpt.exists():
        return None
    state = torch.load(ckpt, map_location="cpu", weights_only=False)
    if not resume:
        raise RetrainError(f"{work} holds an interrupted retraining (step {state['step']} of "
                           f"{state['settings']['steps']}); continue it with --resume, or delete {work} "
                           f"to start again")
    why = resume_problem(state, settings, base)
    if why:
        raise RetrainError(f"cannot resume the run in {work}: {why}; delete {work} to start again")
    return state
