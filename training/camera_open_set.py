"""Strictness measured on camera skeletons: TotalCapture's 8 synchronised MediaPipe cameras.

Every user is seen through a camera and MediaPipe, so the "unknown" threshold is calibrated there.

Each sequence is cut into ``SEGMENT_S`` stretches, each a stand-in "action". A stretch is
*recorded* from one camera as the app records (windows every half window, ``tc.RECORD_STRIDE_S``) and
*seen live* by every other camera (a window every 0.2 s), so a correct match is made across views
and out of phase with the recording, as a user's live windows never line up with their recording.

* **Correct matches** (the thresholds): each live window's best similarity to another camera's
  recording of its own stretch. Strictness ``s`` is the ``s``-th percentile of these over every
  pair of cameras of the *training* sequences (:data:`training.data.totalcapture.TRAINING`).
* **What each level does** (the named / rejected shares the Settings tab shows, and the data the
  default level is chosen on): measured on the *validation* sequence only. Half its stretches are
  recorded from one camera; every other camera's live windows are queries. Named right: the best
  prototype is the query's own stretch and reaches the threshold; rejected: a query of a stretch
  nobody recorded stays below it. Mean over recording cameras, 20 random enrolments each.

:func:`choose_default` picks the level with the best balance of the two on that sequence.
"""
from __future__ import annotations

import numpy as np

from focovil.training.data import totalcapture as tc
from focovil.training.metrics import l2n
from focovil.training.multicamera import SequenceViews, load_views
from focovil.training.open_set import LEVELS, open_set

SEGMENT_S = 4.0          # one stand-in "action": a stretch of the sequence this long
Embedded = dict[int, tuple[np.ndarray, np.ndarray]]      # camera -> (stretch of each window, unit embeddings)


def _embedded(embed_fn, windows: dict) -> Embedded:
    return {c: (np.floor((w.start + tc.WINDOW_S / 2) / SEGMENT_S).astype(int), l2n(embed_fn(w.windows)))
            for c, w in windows.items() if len(w.windows)}


def embedded(embed_fn, views: SequenceViews) -> tuple[Embedded, Embedded]:
    """``(live, recorded)``: every camera's live windows and its recording, by stretch."""
    return _embedded(embed_fn, views.windows), _embedded(embed_fn, views.recorded)


def genuine_similarities(live: Embedded, recorded: Embedded) -> np.ndarray:
    """Each live window's best similarity to another camera's recording of its own segment, every pair
    of cameras: what a correct match scores (another angle, and out of phase with the recording)."""
    out = []
    for a, (ya, ea) in recorded.items():
        for b, (yb, eb) in live.items():
            if a == b:
                continue
            same = yb[:, None] == ya[None, :]
            rows = same.any(axis=1)
            out.append(np.where(same, eb @ ea.T, -np.inf)[rows].max(axis=1))
    return np.concatenate(out)


def _per_recording(live: Embedded, recorded: Embedded):
    """For each recording camera that saw at least 4 stretches (fewer enrol nothing useful):
    ``(camera, stretches, recorded embeddings, live queries of the other cameras, their stretches)``."""
    for a, (yg, g) in recorded.items():
        if len(set(yg.tolist())) < 4:
            continue
        others = [b for b in live if b != a]
        yield a, yg, g, np.concatenate([live[b][1] for b in others]), np.concatenate([live[b][0] for b in others])


def validation_open_set(live: Embedded, recorded: Embedded, thresholds, seed: int = 0) -> dict:
    """Named-right and rejected shares at each threshold: half the segments recorded from one camera,
    every other camera's live windows queried; mean over recording cameras, 20 enrolments each."""
    named, rejected, auroc = [], [], []
    for a, yg, g, q, yq in _per_recording(live, recorded):
        r = open_set(g, yg, q, yq, thresholds, n_enrolled=len(set(yg.tolist())) // 2, n_splits=20, seed=seed + a)
        named.append(r["named_right"]); rejected.append(r["rejected"]); auroc.append(r["auroc"])
    return {"named_right": np.mean(named, 0).round(4).tolist(), "rejected": np.mean(rejected, 0).round(4).tolist(),
            "auroc": round(float(np.mean(auroc)), 4), "recording_cameras": len(named)}


def camera_table(embed_fn, window: int = 32, root=None, levels=LEVELS, saw_validation: bool = False) -> dict:
    """The strictness table (``metrics["strictness"]``) measured on camera skeletons. ``saw_validation``:
    the file trained on the validation sequence too (a final fit), so the table says its numbers
    there are optimistic."""
    genuine = np.concatenate([genuine_similarities(*embedded(embed_fn, load_views(s, root, window)))
                              for s in tc.TRAINING])
    thr = [round(float(np.percentile(genuine, lv)), 4) for lv in levels]
    val = validation_open_set(*embedded(embed_fn, load_views(tc.VALIDATION, root, window)), thr)
    data = (f"MediaPipe skeletons, TotalCapture's 8 cameras, {SEGMENT_S:g}-s stretches as actions, recorded from one "
            f"camera (windows every {tc.RECORD_STRIDE_S:g} s) and seen live by the others (every {tc.STRIDE_S:g} s): "
            f"thresholds from {len(genuine)} correct matches in {', '.join(tc.TRAINING)}; named / rejected "
            f"measured on {tc.VALIDATION} (half the stretches recorded)"
            + ("; this file trained on every sequence, so these numbers are optimistic" if saw_validation else ""))
    return {"levels": list(levels), "thresholds": thr, "named_right": val["named_right"], "rejected": val["rejected"],
            "auroc": val["auroc"], "data": data, "source": "cameras",
            "summary": f"camera skeletons: one person's free motion cut into {SEGMENT_S:g}-s stretches, recorded by one "
                       f"of 8 cameras and recognised by the others, "
                       + (f"sequence {tc.VALIDATION} (this file trained on it: optimistic)" if saw_validation
                          else f"held-out sequence {tc.VALIDATION}") + "; distinct actions are easier to tell apart"}


def choose_default(table: dict) -> dict:
    """The level with the best mean of named-right and rejected (measured on the validation sequence)."""
    bal = (np.asarray(table["named_right"]) + np.asarray(table["rejected"])) / 2
    i = int(np.argmax(bal))
    return {"strictness": table["levels"][i], "threshold": table["thresholds"][i], "named_right": table["named_right"][i],
            "rejected": table["rejected"][i], "balance": round(float(bal[i]), 4),
            "balance_by_level": dict(zip(map(str, table["levels"]), bal.round(4).tolist()))}


def recognition(embed_fn, views: SequenceViews) -> dict:
    """Record once from one camera, recognise live from the others, on one sequence: the share of
    live windows whose nearest recorded window is from their own stretch (every stretch recorded,
    no threshold; mean over recording cameras), and the AUROC of recorded against never-recorded
    stretches (half recorded)."""
    live, recorded = embedded(embed_fn, views)
    accs = []
    for _a, yg, g, q, yq in _per_recording(live, recorded):
        known = np.isin(yq, yg)
        accs.append(float((yg[(q[known] @ g.T).argmax(axis=1)] == yq[known]).mean()))
    return {"top1": round(float(np.mean(accs)), 4), "auroc": validation_open_set(live, recorded, [-2.0])["auroc"]}
