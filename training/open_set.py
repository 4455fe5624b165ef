"""Open-set measurements on frozen embeddings: enrol some actions, query all, who is called "unknown"?

A query is *named right* when its best prototype's similarity reaches the threshold and that
prototype's label is the query's; a query of a never-enrolled action is *rejected* when its best
similarity stays below the threshold. The score is the best cosine similarity: on NW-UCLA's
validation split (``training/recipes/protocol.json`` trained on ``val``, 5 of 10 actions enrolled,
20 splits) it separated enrolled from never-enrolled queries best of what was tried (AUROC 0.91
after centring, 0.90 plain), ahead of a per-label z-score from the label's own prototypes (0.88),
the mean of a label's 3 / 10 best (0.91 / 0.91), the label mean (0.90), CSLS (0.74-0.83), a margin
to the second label (0.71), background prototypes of Kinder-Gator motion (0.78), and a logistic
probe's max softmax or energy (0.75-0.78). Nor did richer embeddings help: the concatenation of
three seeds' encoders (0.905, against 0.902 / 0.895 / 0.886 alone), or averaging four temporal
crops of each clip (0.901 / 0.896 for seeds 0 / 1, against 0.902 / 0.895).

:func:`strictness_table` turns this into the app's one setting: strictness ``s`` (0-100) is the
similarity below which ``s`` % of correct matches fall (on a calibration pair), stored with what
each level was measured to keep and reject; the app reads it from the encoder's metadata. The table
the app reads is measured on camera skeletons (``training.camera_open_set``); the NW-UCLA one
(:func:`nwucla_table`) is kept beside it.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score

from focovil.training.metrics import l2n

LEVELS = tuple(range(0, 20)) + tuple(range(20, 101, 5))   # strictness levels stored in an encoder file


def enrolment_splits(classes, n_enrolled: int, n_splits: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.sort(rng.choice(np.asarray(sorted(classes)), n_enrolled, replace=False)) for _ in range(n_splits)]


def genuine_similarities(g: np.ndarray, yg: np.ndarray, q: np.ndarray, yq: np.ndarray) -> np.ndarray:
    """Each query's best similarity to a gallery item of its own label (its correct match)."""
    same = np.asarray(yq)[:, None] == np.asarray(yg)[None, :]
    return np.where(same, l2n(q) @ l2n(g).T, -np.inf).max(axis=1)


def open_set(g: np.ndarray, yg: np.ndarray, q: np.ndarray, yq: np.ndarray, thresholds,
             n_enrolled: int = 5, n_splits: int = 20, seed: int = 0) -> dict:
    """Named-right and rejected shares at every threshold, and the AUROC of the best similarity
    (enrolled vs never-enrolled queries), as mean over ``n_splits`` random enrolments."""
    g, q, yg, yq = l2n(g), l2n(q), np.asarray(yg), np.asarray(yq)
    thr = np.asarray(thresholds, dtype=np.float64)
    named, rejected, auroc, closed = [], [], [], []
    for enrolled in enrolment_splits(set(yg.tolist()), n_enrolled, n_splits, seed):
        m = np.isin(yg, enrolled)
        s = q @ g[m].T
        best, pred = s.max(axis=1), yg[m][s.argmax(axis=1)]
        known = np.isin(yq, enrolled)
        right = (pred == yq) & known
        named.append([(right & (best >= t)).sum() / known.sum() for t in thr])
        rejected.append([((best < t) & ~known).sum() / (~known).sum() for t in thr])
        auroc.append(roc_auc_score(known, best))
        closed.append(right.sum() / known.sum())
    return {"thresholds": thr.round(4).tolist(), "named_right": np.mean(named, 0).round(4).tolist(),
            "rejected": np.mean(rejected, 0).round(4).tolist(), "auroc": round(float(np.mean(auroc)), 4),
            "auroc_std": round(float(np.std(auroc)), 4), "closed_set": round(float(np.mean(closed)), 4),
            "n_enrolled": n_enrolled, "n_splits": n_splits}


def strictness_table(g: np.ndarray, yg: np.ndarray, q: np.ndarray, yq: np.ndarray, data: str,
                     levels=LEVELS) -> dict:
    """Strictness level -> similarity threshold (the level's percentile of correct-match
    similarities), with the open-set shares measured at each on the same data."""
    genuine = genuine_similarities(g, yg, q, yq)
    thr = [float(np.percentile(genuine, lv)) for lv in levels]
    os_ = open_set(g, yg, q, yq, thr)
    return {"levels": list(levels), "thresholds": os_["thresholds"], "named_right": os_["named_right"],
            "rejected": os_["rejected"], "auroc": os_["auroc"], "data": data}


def calibration_clips(root, protocol: str) -> tuple[list, list]:
    """``(gallery, queries)`` for calibrating strictness: NW-UCLA v01 prototypes, v02 queries, both
    views the encoder trained on (never v03, on which cross-view numbers are reported; under the
    ``val`` protocol only v02 of the training subjects, its validation being the rest)."""
    from focovil.training.data.nwucla import load_nwucla
    from focovil.training.data.splits import TRAIN_SUBJECTS
    subjects = TRAIN_SUBJECTS if protocol == "val" else None
    return load_nwucla(root, views=(1,)), load_nwucla(root, views=(2,), subjects=subjects)


def nwucla_table(embed_fn, root, window: int, protocol: str = "cross-view") -> dict:
    """Strictness measured on Kinect: NW-UCLA v01 prototypes against v02 queries."""
    from focovil.training.protocols import labels_of, windows_of
    gallery, query = calibration_clips(root, protocol)
    data = f"NW-UCLA (Kinect), v01 prototypes against {len(query)} v02 queries, views the encoder trained on"
    g, q = embed_fn(windows_of(gallery, window)), embed_fn(windows_of(query, window))
    return strictness_table(g, labels_of(gallery), q, labels_of(query), data)


def calibrate(embed_fn, root, window: int, protocol: str = "cross-view", cameras: str | None = None,
              saw_validation: bool = False) -> dict:
    """The metadata an encoder file needs for strictness. ``metrics["strictness"]``, the table the
    app reads, comes from camera skeletons (:func:`training.camera_open_set.camera_table`: MediaPipe,
    TotalCapture's training sequences, measured on its validation sequence), because every user is
    seen through a camera; ``metrics["strictness_nwucla"]`` keeps the Kinect table beside it for
    reference. Also the single threshold older apps read (``unknown_threshold``: strictness 5 of
    the app's table)."""
    from focovil.training.camera_open_set import camera_table
    kinect = nwucla_table(embed_fn, root, window, protocol)
    try:
        table = camera_table(embed_fn, window, cameras, saw_validation=saw_validation)
    except FileNotFoundError as e:                 # no camera data here: the Kinect table, saying so
        table = {**kinect, "data": kinect["data"] + f" (camera data missing: {e})"}
    return {"strictness": table, "strictness_nwucla": kinect,
            "unknown_threshold": round(float(np.interp(5, table["levels"], table["thresholds"])), 4),
            "unknown_threshold_keeps": 0.95, "unknown_threshold_data": table["data"]}
