"""Strictness measured on camera skeletons: TotalCapture's 8 synchronised MediaPipe cameras.

Every user is seen through a camera and MediaPipe, so the "unknown" threshold is calibrated there.

* **Correct matches** (the thresholds): for every window of one camera, its best similarity to the
  windows of another camera that show the same instant (within ``TOLERANCE_S``): what a recording
  made from one angle scores when the same motion is seen from another. Strictness ``s`` is the
  ``s``-th percentile of these over every directed pair of the *training* sequences
  (:data:`training.data.totalcapture.TRAINING`).
* **What each level does** (the named / rejected shares the Settings tab shows, and the data the
  default level is chosen on): measured on the *validation* sequence only, an open-set stand-in:
  the sequence is cut into ``SEGMENT_S`` segments, each one "action"; half the segments are
  enrolled from one camera, every other camera's windows are queries. Named right: the best
  prototype is the query's own segment and reaches the threshold; rejected: a query of a segment
  nobody enrolled stays below it. Mean over gallery cameras, 20 random enrolments each.

:func:`choose_default` picks the level with the best balance of the two on that sequence.
"""
from __future__ import annotations

import numpy as np

from training.data import totalcapture as tc
from training.metrics import l2n
from training.open_set import LEVELS, open_set

TOLERANCE_S = 0.4        # same instant, as the 8-camera retrieval metric counts it
SEGMENT_S = 4.0          # length of one stand-in "action" on the validation sequence


def _embedded(embed_fn, sequence: str, root, window: int) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    out = {}
    for cam, stream in tc.load_sequence(sequence, root).items():
        w = tc.camera_windows(stream, window)
        if len(w.windows):
            out[cam] = (w.start, l2n(embed_fn(w.windows)))
    return out


def genuine_similarities(emb: dict[int, tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Each window's best similarity to another camera's windows of the same instant, every pair."""
    out = []
    for a, (sa, ea) in emb.items():
        for b, (sb, eb) in emb.items():
            if a == b:
                continue
            near = np.abs(sb[None, :] - sa[:, None]) <= TOLERANCE_S + 1e-6
            rows = near.any(axis=1)
            out.append(np.where(near, ea @ eb.T, -np.inf)[rows].max(axis=1))
    return np.concatenate(out)


def validation_open_set(emb: dict[int, tuple[np.ndarray, np.ndarray]], thresholds, seed: int = 0) -> dict:
    """Named-right and rejected shares at each threshold, segments of the validation sequence as actions."""
    named, rejected, auroc = [], [], []
    for a, (sa, ea) in emb.items():
        others = [b for b in emb if b != a]
        q = np.concatenate([emb[b][1] for b in others])
        yq = np.concatenate([np.floor((emb[b][0] + tc.WINDOW_S / 2) / SEGMENT_S) for b in others]).astype(int)
        yg = np.floor((sa + tc.WINDOW_S / 2) / SEGMENT_S).astype(int)
        n_seg = len(set(yg.tolist()))
        if n_seg < 4:
            continue                                   # a camera that hardly saw the actor enrols nothing useful
        r = open_set(ea, yg, q, yq, thresholds, n_enrolled=n_seg // 2, n_splits=20, seed=seed + a)
        named.append(r["named_right"]); rejected.append(r["rejected"]); auroc.append(r["auroc"])
    return {"named_right": np.mean(named, 0).round(4).tolist(), "rejected": np.mean(rejected, 0).round(4).tolist(),
            "auroc": round(float(np.mean(auroc)), 4), "gallery_cameras": len(named)}


def camera_table(embed_fn, window: int = 32, root=None, levels=LEVELS) -> dict:
    """The strictness table (``metrics["strictness"]``) measured on camera skeletons."""
    genuine = np.concatenate([genuine_similarities(_embedded(embed_fn, s, root, window)) for s in tc.TRAINING])
    thr = [round(float(np.percentile(genuine, lv)), 4) for lv in levels]
    val = validation_open_set(_embedded(embed_fn, tc.VALIDATION, root, window), thr)
    data = (f"MediaPipe skeletons, TotalCapture's 8 cameras: thresholds from {len(genuine)} same-instant matches "
            f"across cameras of {', '.join(tc.TRAINING)}; named / rejected measured on {tc.VALIDATION} "
            f"({SEGMENT_S:g}-s segments as actions, half enrolled from one camera, queried from the others)")
    return {"levels": list(levels), "thresholds": thr, "named_right": val["named_right"], "rejected": val["rejected"],
            "auroc": val["auroc"], "data": data, "source": "cameras",
            "summary": f"camera skeletons: MediaPipe, 8 synchronised cameras, held-out sequence {tc.VALIDATION}"}


def choose_default(table: dict) -> dict:
    """The level with the best mean of named-right and rejected (measured on the validation sequence)."""
    bal = (np.asarray(table["named_right"]) + np.asarray(table["rejected"])) / 2
    i = int(np.argmax(bal))
    return {"strictness": table["levels"][i], "threshold": table["thresholds"][i], "named_right": table["named_right"][i],
            "rejected": table["rejected"][i], "balance": round(float(bal[i]), 4),
            "balance_by_level": dict(zip(map(str, table["levels"]), bal.round(4).tolist()))}
