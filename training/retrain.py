"""Offline retraining on the user's own prototypes: ``python -m focovil.training.retrain --library LIB``.

Fine-tunes the library's encoder (or ``--base FILE``) with the FoCoViL objective on NW-UCLA (``--data``)
under the ``val`` protocol of ``training.data.splits`` (v01, and v02 of subjects 1-5; view 3 is never
opened) plus the raw skeleton windows stored in the library, then checks the candidate against the
encoder it would replace and promotes it only if it is not worse, by more than a stated margin, on
either check:

* **user**: kNN-1 of held-out recordings of the user's labels (about ``--holdout`` of each label's
  recordings, whole recordings so overlapping windows never straddle the split) against the rest;
* **NW-UCLA validation**: kNN-1, gallery v01, queries v02 of subjects 6-10 (clips retraining never
  trains on; a base trained on protocol ``all`` or ``cross-view`` did, and then this check is only a
  no-regression check, which the report's warnings say).

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
Under ``torchrun`` it trains with DDP like ``training.train`` (the same loop, ``training.loop``);
rank 0 validates and promotes, and the report's ``train.param_sha256_per_rank`` shows every rank
ended with the same weights.

This module is the driver and the command line; the parts are ``training.retrain_inputs`` (settings,
base, the user-data split), ``training.retrain_checks`` (the two checks, the decision),
``training.retrain_promote`` (promotion, rollback) and ``training.retrain_report``. One run (or
rollback) per library at a time: ``training.retrain_lock``; a second one says so and stops.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import errno
import json
import logging
import os
import sys
from pathlib import Path

import torch

from focovil.realtime.encoder import EncoderFileError, load_encoder
from focovil.realtime.library import LibraryError
from focovil.realtime.paths import shared_path
from focovil.realtime.session import AppError, Session
from focovil.training import loop
from focovil.training.data import ClipBank
from focovil.training.data.clips import Clip
from focovil.training.data.nwucla import DatasetError
from focovil.training.export import code_version, now, save_encoder
from focovil.training.exported import Exported, exported
from focovil.training.protocols import module_embed
from focovil.training.retrain_checks import decide, measure_checks
from focovil.training.retrain_inputs import (NWUCLA_FILE, Base, RetrainError, RetrainSettings, UserData, base_saw_validation,
                                     check_library_encoder, load_base, nwucla, resumable_state, split_library)
from focovil.training.retrain_lock import retrain_lock
from focovil.training.retrain_promote import promote, rollback
from focovil.training.retrain_report import write_report
from focovil.training.train import sample_batch

__all__ = ["RetrainError", "RetrainSettings", "Base", "UserData", "load_base", "split_library", "train_candidate",
           "candidate_module", "module_embed", "measure_checks", "decide", "export_candidate", "promote", "rollback",
           "retrain", "main"]

log = logging.getLogger("focovil.training.retrain")


def train_candidate(base: Base, user: UserData, nw_train: list[Clip], settings: RetrainSettings, out: Path,
                    resume: bool) -> dict:
    """Fine-tunes ``base.model`` in place; checkpoints to ``out/checkpoint.pt``; returns the history."""
    d = loop.start(settings.seed, settings.threads)
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
    resumable_state(out, settings, base, resume)          # refuses a checkpoint it must not continue
    model = base.model.to(d.device)

    def next_batch(step: int, gen: torch.Generator) -> loop.Batch:
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
        return loop.Batch(torch.cat(xs1), torch.cat(xs2), mined=cfg.mined,
                          labels=torch.cat(ys) if settings.labels else None)

    groups = [{"params": list(model.encoder.parameters()), "lr": settings.lr},
              {"params": list(model.head.parameters()), "lr": settings.lr * settings.head_lr_mult}]
    r = loop.run(model, groups, d, cfg=cfg, steps=settings.steps, pct_start=0.1, seed=settings.seed,
                 next_batch=next_batch, ckpt=out / "checkpoint.pt", ckpt_every=settings.ckpt_every,
                 extra_state={"settings": dataclasses.asdict(settings), "base_sha256": base.sha256, "split": user.split},
                 resume=resume, hook=lambda step, loss, _s: {"step": step, "loss": round(loss, 4)}, desc="retrain")
    model.to("cpu").eval()
    loop.finish(d)
    return {"history": r.history, "train_seconds": round(r.seconds, 1), "world_size": d.world, "device": d.device,
            "rank": d.rank, "batch": batch, "user_per_batch": n_user, "resumed_from_step": r.resumed_from,
            "param_sha256_per_rank": r.param_sha256}


def candidate_module(base: Base) -> Exported:
    return exported(base.model.encoder, base.meta.hybrid, base.pca_mean, base.pca_axes, base.head_mean, base.head_axes)


def export_candidate(base: Base, module: Exported, out: Path, extra_meta: dict) -> Path:
    """The fine-tuned encoder as a TorchScript file with the base's metadata, updated."""
    return save_encoder(module, base.meta.replace(**extra_meta, code_version=code_version(), exported_at=now()), out)


def _disk_full(e: OSError) -> bool:
    return e.errno in (errno.ENOSPC, errno.EDQUOT)


def retrain(library: str | Path, base_path: str | Path | None, data: list[str] | None, settings: RetrainSettings,
            out: str | Path | None = None, resume: bool = False, dry_run: bool = False,
            force_base: bool = False) -> dict:
    """Train, check, promote (or not), report. Returns the report (rank 0) or {} (other ranks).

    Rank 0 holds the library's retraining lock for the whole run (``training/retrain_lock.py``)."""
    lib_path = Path(library)
    if not lib_path.is_file():
        raise RetrainError(f"no library file {lib_path}")
    with retrain_lock(lib_path, out) if int(os.environ.get("RANK", "0")) == 0 else contextlib.nullcontext():
        return _retrain(lib_path, base_path, data, settings, out, resume, dry_run, force_base)


def _retrain(lib_path: Path, base_path: str | Path | None, data: list[str] | None, settings: RetrainSettings,
             out: str | Path | None, resume: bool, dry_run: bool, force_base: bool) -> dict:
    with Session(lib_path, base_path) as session:      # the app's own resolution of the library's encoder
        lib = session.library
        base = load_base(session.encoder_path)
        check_library_encoder(lib, base, force_base)
        work = Path(out) if out else lib.encoders_dir() / "work"
        state = resumable_state(work, settings, base, resume)
        user = split_library(lib, settings.holdout, settings.seed, fixed=state.get("split") if state else None)
    if not data:
        default = shared_path(base.cfg.nwucla)
        if not default.is_dir():
            raise RetrainError("no NW-UCLA data: pass --data DIR (the folder of aAA_sSS_eEE_vVV.json files); it is needed "
                               "to check the new encoder is not worse on NW-UCLA validation")
        data = [str(default)]
    nw = nwucla(data, settings.nwucla_subjects)
    # a held-out user recording taken from an NW-UCLA file must not train through NW-UCLA either
    held_files = {m.group(0) for c in user.heldout for m in [NWUCLA_FILE.search(c.name)] if m}
    nw_train = [c for c in nw.train if c.name not in held_files]
    # nor may a validation query train through the user's library: such queries leave the check
    user_files = {m.group(0) for c in user.train for m in [NWUCLA_FILE.search(c.name)] if m}
    val_query = [c for c in nw.queries if c.name not in user_files]
    if len(val_query) < len(nw.queries):
        user.warnings.append(f"{len(nw.queries) - len(val_query)} NW-UCLA validation queries are prototypes your "
                             f"library trains on; left out of the validation check")
    if not val_query:
        raise RetrainError("every NW-UCLA validation query is a prototype of your library; nothing is left to check on")
    saw = base_saw_validation(base.meta)
    if saw:
        user.warnings.append(f"{base.path.name} {saw}: its NW-UCLA validation check (queries v02 of subjects 6-10) is "
                             f"a no-regression check on clips it trained on, not a held-out number (retraining "
                             f"itself never trains on them)")
    val_words = f"{nw.words} ({len(val_query)} queries); " + (
        "held out: neither the base encoder nor retraining trained on them" if saw is None else
        f"a no-regression check, not a held-out number: the base {saw}")
    work.mkdir(parents=True, exist_ok=True)
    rank = int(os.environ.get("RANK", "0"))
    window = base.cfg.window
    calibrated = "strictness" in base.meta.metrics or "unknown_threshold" in base.meta.metrics
    if rank == 0:
        before = measure_checks(load_encoder(base.path, device="cpu").embed, window, user, nw.gallery, val_query)
    trained = train_candidate(base, user, nw_train, settings, work, resume)
    if trained["rank"] != 0:
        return {}
    module = candidate_module(base)
    after = measure_checks(module_embed(module), window, user, nw.gallery, val_query, data[0] if calibrated else None)
    promoted, reasons = decide(before, after, settings)
    n_labels = len({c.label for c in user.train})
    metrics = dict(base.meta.metrics)
    metrics.pop("cross-view", None)   # the base's numbers are not this file's
    metrics.pop("val", None)
    metrics["retrain_check"] = {"user_knn1": after["user"]["knn1"], "nwucla_val_knn1": after["nwucla_val"]["knn1"],
                                "nwucla_val_data": val_words, "nwucla_val_held_out": saw is None}
    metrics.update(after.get("calibration", {}))     # strictness measured again for the new file
    candidate = export_candidate(base, module, work / "candidate.pt", {
        "training_data": list(base.meta.training_data) + [
            f"fine-tuned: NW-UCLA protocol val, v01 + v02 of subjects 1-5 ({len(nw_train)} clips) + user library {lib_path.name} "
            f"({len(user.train)} windows, {n_labels} labels{', labels as positives' if settings.labels else ''})"],
        "retrained_from": {"file": base.path.name, "sha256": base.sha256},
        "retrain": dataclasses.asdict(settings), "metrics": metrics, "train_seconds": trained["train_seconds"]})
    report = {
        "library": str(lib_path), "base": {"file": str(base.path), "sha256": base.sha256},
        "candidate": str(candidate), "settings": dataclasses.asdict(settings),
        "data": {"nwucla_dirs": data, "nwucla_train_clips": len(nw_train),
                 "nwucla_val_gallery_clips": len(nw.gallery), "nwucla_val_query_clips": len(val_query), "nwucla_val": val_words,
                 "user_train_windows": len(user.train), "user_heldout_windows": len(user.heldout),
                 "labels": user.label_names},
        "warnings": user.warnings,
        "train": {k: v for k, v in trained.items() if k not in ("history", "rank")},
        "loss_first_last": [trained["history"][0]["loss"], trained["history"][-1]["loss"]] if trained["history"] else None,
        "before": before, "after": after,
        "delta": {"user_knn1": after["user"]["knn1"] - before["user"]["knn1"],
                  "nwucla_val_knn1": after["nwucla_val"]["knn1"] - before["nwucla_val"]["knn1"]},
        "rule": "promote iff after >= before - margin on both checks",
        "margins": {"user": settings.margin_user, "nwucla_val": settings.margin_val},
        "promoted": False, "reasons": reasons, "dry_run": dry_run,
    }
    if promoted and not dry_run:
        with Session(lib_path) as session:
            rec = promote(session.library, base, candidate, {"report": str(work / "report.json")})
        report.update(promoted=True, active_encoder=str(rec["file"]), version=rec["version"])
    report["summary"] = ("promoted to version %s" % report.get("version") if report["promoted"] else
                         "not promoted (dry run)" if promoted and dry_run else "not promoted") + ": " + "; ".join(reasons)
    write_report(report, work)
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
    for f in dataclasses.fields(RetrainSettings):
        if f.name != "labels":
            ap.add_argument("--" + f.name.replace("_", "-"), type=type(f.default), default=f.default)
    a = ap.parse_args(argv)
    settings = RetrainSettings(**{f.name: getattr(a, f.name) for f in dataclasses.fields(RetrainSettings) if f.name != "labels"},
                        labels=not a.no_labels)
    try:
        if a.rollback:
            if not Path(a.library).is_file():
                raise RetrainError(f"no library file {a.library}")
            with retrain_lock(Path(a.library)), Session(a.library) as session:
                rec = rollback(session.library)
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
    except (RetrainError, AppError, LibraryError, EncoderFileError, DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if report:
        print(json.dumps({k: report[k] for k in ("promoted", "summary", "delta")} |
                         {"report": str(Path(report["candidate"]).with_name("report.json")),
                          "active_encoder": report.get("active_encoder")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
