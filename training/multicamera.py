"""Cross-view instance retrieval on TotalCapture's 8 synchronised MediaPipe cameras.

The metric (issue 18): windows of 1.8 s every 0.2 s from each camera, a window needing a person in
80 % of its frames, on a time grid shared by the cameras
(``training.data.totalcapture.camera_windows``). For every directed camera pair
A -> B and every window of A whose instant B also saw (B has a window starting within
``tolerance`` seconds of it), is B's nearest window (cosine) within ``tolerance`` of it? Top-1 and
top-5 per pair; a sequence's number is the mean over its 56 directed pairs (pairs where B has no
window at all are left out and counted). Reported per sequence, per pair, per angle between the two
cameras (bins of 45 degrees), and again without the camera views that MediaPipe sees from the wrong
side in more than a third of their frames (found by body heading against the Vicon and the
calibration, ``totalcapture.flipped_share``; named in the output).

One run scores every method on the same windows, so methods compare within a run.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from tqdm import tqdm

from focovil.training.data import totalcapture as tc
from focovil.training.data.video_skeletons import VideoWindows
from focovil.training.metrics import l2n
from focovil.training.protocols import EmbedFn

ANGLE_BINS = (0, 45, 90, 135, 180)


def in_bin(angle, lo: float, hi: float):
    """Half-open angle bins, the last one closed (a pair 180 degrees apart counts in 135-180)."""
    return (angle >= lo) & ((angle < hi) | (hi == ANGLE_BINS[-1]))


@dataclass
class SequenceViews:
    """One sequence's windows per camera (live: every 0.2 s; ``recorded``: every 0.9 s, as a recording
    is cut), with the angles between cameras and the flipped views."""
    name: str
    windows: dict[int, VideoWindows]
    angles: dict[tuple[int, int], float]
    flipped: dict[int, float]                # camera -> share of its frames seen from the wrong side
    recorded: dict[int, VideoWindows]

    @property
    def flipped_cameras(self) -> list[int]:
        return sorted(c for c, s in self.flipped.items() if s > tc.FLIPPED_SHARE)


@lru_cache(maxsize=8)
def load_views(sequence: str, root: str | None = None, length: int = 32) -> SequenceViews:
    """One sequence's windows from every camera, the cameras' angles and how often each sees the actor
    from the wrong side. Kept per process (every strictness calibration reads the same four): read
    it, never change it."""
    streams = tc.load_sequence(sequence, root)
    cams = tc.load_cameras(root)
    vicon = tc.load_vicon(sequence, root)
    windows = {c: tc.camera_windows(s, length) for c, s in streams.items()}
    recorded = {c: tc.camera_windows(s, length, stride_s=tc.RECORD_STRIDE_S) for c, s in streams.items()}
    angles = {(a, b): tc.angle_between(cams[a], cams[b]) for a in streams for b in streams if a != b}
    flipped = {c: round(tc.flipped_share(s, cams[c], vicon), 4) for c, s in streams.items()}
    return SequenceViews(sequence, windows, angles, flipped, recorded)


def pair_retrieval(ea: np.ndarray, start_a: np.ndarray, eb: np.ndarray, start_b: np.ndarray,
                   tolerance: float) -> dict | None:
    """Top-1 / top-5 of A's windows (those B also saw) retrieving B's same instant; None if none."""
    near = np.abs(start_b[None, :] - start_a[:, None]) <= tolerance + 1e-6
    seen = near.any(axis=1)
    if not seen.any():
        return None
    sim = ea[seen] @ eb.T
    order = np.argsort(-sim, axis=1)[:, :5]
    hit = near[seen][np.arange(seen.sum())[:, None], order]
    return {"top1": float(hit[:, 0].mean()), "top5": float(hit.any(axis=1).mean()), "queries": int(seen.sum())}


def score(embed: EmbedFn, views: SequenceViews, tolerance: float = 0.4) -> dict:
    """Every directed pair of one sequence, and their means overall, per angle bin, without flips."""
    emb = {c: l2n(embed(w.windows)) if len(w.windows) else None for c, w in views.windows.items()}
    pairs = {}
    for (a, b), angle in views.angles.items():
        if emb[a] is None or emb[b] is None:
            continue
        r = pair_retrieval(emb[a], views.windows[a].start, emb[b], views.windows[b].start, tolerance)
        if r is not None:
            pairs[f"{a}->{b}"] = {**r, "angle_deg": round(angle, 1)}
    return {"pairs": pairs, **summarise(pairs, views.flipped_cameras),
            "missing_pairs": len(views.angles) - len(pairs)}


def _mean(pairs: dict, key: str) -> float | None:
    return float(np.mean([p[key] for p in pairs.values()])) if pairs else None


def summarise(pairs: dict, flipped: list[int]) -> dict:
    def cams(name: str) -> tuple[int, int]:
        a, b = name.split("->")
        return int(a), int(b)
    clean = {k: p for k, p in pairs.items() if not set(cams(k)) & set(flipped)}
    by_angle = {}
    for lo, hi in zip(ANGLE_BINS[:-1], ANGLE_BINS[1:]):
        sel = {k: p for k, p in pairs.items() if in_bin(p["angle_deg"], lo, hi)}
        by_angle[f"{lo}-{hi}"] = {"top1": _mean(sel, "top1"), "top5": _mean(sel, "top5"), "pairs": len(sel)}
    return {"top1": _mean(pairs, "top1"), "top5": _mean(pairs, "top5"), "n_pairs": len(pairs),
            "without_flipped": {"cameras_left_out": flipped, "top1": _mean(clean, "top1"),
                                "top5": _mean(clean, "top5"), "n_pairs": len(clean)},
            "by_angle": by_angle}


def score_sequences(methods: dict[str, EmbedFn], sequences=tc.SEQUENCES, root: str | None = None,
             tolerance: float = 0.4, length: int = 32, views: dict[str, SequenceViews] | None = None) -> dict:
    """Every method on every sequence (the same windows), plus the mean over sequences. ``views``:
    sequences already loaded (:func:`load_views`), so a caller scoring them otherwise loads them once."""
    out: dict = {"sequences": list(sequences), "tolerance_s": tolerance, "window_s": 1.8, "stride_s": 0.2,
                 "min_present": tc.MIN_PRESENT, "validation_sequence": tc.VALIDATION,
                 "views": {}, "results": {m: {} for m in methods}}
    for seq in tqdm(sequences, desc="8-camera retrieval", unit="sequence"):
        v = views[seq] if views else load_views(seq, root, length)
        out["views"][seq] = {"windows": {c: len(w.windows) for c, w in v.windows.items()},
                             "flipped_share": v.flipped, "flipped_cameras": v.flipped_cameras}
        for name, fn in methods.items():
            out["results"][name][seq] = score(fn, v, tolerance)
    for name, per_seq in out["results"].items():
        per_seq["mean"] = {"top1": float(np.mean([r["top1"] for r in per_seq.values()])),
                           "top5": float(np.mean([r["top5"] for r in per_seq.values()]))}
    return out


def table(results: dict) -> dict:
    """Method -> sequence -> top-1 % (and without flipped views), from ``{method: per-sequence results}``."""
    out = {}
    for m, per_seq in results.items():
        row = {}
        for seq, r in per_seq.items():
            row[seq] = round(100 * r["top1"], 1)
            if seq != "mean" and r["without_flipped"]["cameras_left_out"]:
                row[f"{seq} without flipped"] = round(100 * r["without_flipped"]["top1"], 1)
        out[m] = row
    return out


def plot(results: dict, ax) -> None:
    """Top-1 against the angle between the two cameras, one line per method (all sequences pooled),
    from ``{method: per-sequence results}``."""
    centres = [(lo + hi) / 2 for lo, hi in zip(ANGLE_BINS[:-1], ANGLE_BINS[1:])]
    for m, per_seq in results.items():
        pairs = [p for seq, r in per_seq.items() if seq != "mean" for p in r["pairs"].values()]
        ang = np.array([p["angle_deg"] for p in pairs])
        top1 = np.array([p["top1"] for p in pairs])
        means = [100 * top1[in_bin(ang, lo, hi)].mean() for lo, hi in zip(ANGLE_BINS[:-1], ANGLE_BINS[1:])]
        line, = ax.plot(centres, means, marker="o", lw=2, label=f"{m} (mean {100 * per_seq['mean']['top1']:.1f} %)")
        ax.scatter(ang, 100 * top1, s=5, alpha=0.2, color=line.get_color())
    ax.set_xlabel("angle between the two cameras around the actor (degrees)")
    ax.set_ylabel("top-1: same instant found in the other camera (%)")
    ax.set_xlim(0, 180)
    ax.set_ylim(0, 100)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
