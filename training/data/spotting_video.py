"""A long video of known action spans, built from real clips: ground truth for action spotting.

No real long video in ``../shared`` says where its actions are. Joining real clips end to end does:
stretches of motion that was never recorded, with real action clips between them, whose spans in
the joined video are known to the frame. Every piece is scaled to fit one frame size (black bars,
aspect kept) and shown at one frame rate by time (each output frame shows the piece's frame of that
moment), so each keeps its real speed. Derived at run time from the clips in ``../shared``; never
committed (their terms).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from focovil.realtime.paths import shared_path
from focovil.realtime.source import open_source
from focovil.realtime.spotting import match, temporal_iou


@dataclass(frozen=True)
class Piece:
    """``path`` (under the videos folder) from ``start_s`` to ``end_s`` (None: its end); ``label``:
    the action it shows (its span is a truth), None: motion that must not be named."""
    path: str
    start_s: float = 0.0
    end_s: float | None = None
    label: str | None = None


@dataclass(frozen=True)
class Span:
    """Where a piece landed in the built video, seconds (``end`` exclusive: frames start*fps..end*fps-1)."""
    path: str
    label: str | None
    start: float
    end: float


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` scaled to fit ``size`` (width, height), aspect kept, centred on black."""
    w, h = size
    ih, iw = image.shape[:2]
    s = min(w / iw, h / ih)
    nw, nh = max(1, round(iw * s)), max(1, round(ih * s))
    out = np.zeros((h, w, 3), np.uint8)
    x, y = (w - nw) // 2, (h - nh) // 2
    out[y:y + nh, x:x + nw] = cv2.resize(image, (nw, nh), interpolation=cv2.INTER_AREA)
    return out


def _piece_frames(path: Path, piece: Piece, fps: float, size: tuple[int, int]):
    """The piece's frames at ``fps``: output frame k shows the source frame on screen at
    ``start_s + k / fps`` (source frame i is on screen from i / fps to (i + 1) / fps of the file)."""
    end = math.inf if piece.end_s is None else piece.end_s
    k, shown, until = 0, None, 0.0
    with open_source(path) as src:
        dt = 1.0 / src.fps
        for f in src:
            t = f.index * dt
            while shown is not None and piece.start_s + k / fps < min(t, end) - 1e-9:
                yield shown
                k += 1
            if t >= end:
                break
            if t + dt > piece.start_s + 1e-9:
                shown, until = letterbox(f.image, size), t + dt
    while shown is not None and piece.start_s + k / fps < min(until, end) - 1e-9:
        yield shown
        k += 1


def build_video(videos: str | Path, pieces: list[Piece] | tuple[Piece, ...], out: str | Path,
                size: tuple[int, int] = (960, 540), fps: float = 30.0) -> list[Span]:
    """Write ``out`` (MJPG ``.avi``) of ``pieces`` one after another; returns each piece's span."""
    videos, out = shared_path(videos), Path(out)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    if not writer.isOpened():
        raise OSError(f"{out}: cannot write an MJPG video here")
    spans, n = [], 0
    try:
        for p in pieces:
            first = n
            for frame in _piece_frames(videos / p.path, p, fps, size):
                writer.write(frame)
                n += 1
            if n == first:
                raise ValueError(f"{p.path}: no frames between {p.start_s} s and {p.end_s} s")
            spans.append(Span(p.path, p.label, round(first / fps, 4), round(n / fps, 4)))
    finally:
        writer.release()
    return spans


# The spotting case the tests and benchmarks/spotting.py measure (paths under ../shared/data/videos):
# the two-camera capture's unscripted arm-and-step motion (never recorded), with two real falls
# between its stretches: performer 6 seen by NTU camera 2 (the library holds the same fall from
# camera 1, RECORD_FALL) and performer 7 seen by camera 1. A fall's truth is its whole NTU clip
# (NTU's annotators trimmed each clip to the action: standing, falling, lying).
FALLS_IN_CAPTURE = (Piece("multiview_lightstage/cam5.mp4", 0.0, 4.0),
                    Piece("ntu_multiview/S001C002P006R001A043_rgb.avi", label="falling"),
                    Piece("multiview_lightstage/cam5.mp4", 10.0, 14.0),
                    Piece("ntu_multiview/S001C001P007R001A043_rgb.avi", label="falling"),
                    Piece("multiview_lightstage/cam5.mp4", 20.0, 24.0))
RECORD_FALL = "ntu_multiview/S001C001P006R001A043_rgb.avi"


def truth(spans: list[Span]) -> list[tuple[str, float, float]]:
    """The labelled spans as ``(label, start, end)`` (``realtime.spotting.match``'s truth)."""
    return [(s.label, s.start, s.end) for s in spans if s.label]


def score(spans: list[Span], occurrences, windows, min_iou: float = 0.5, tolerance_s: float = 0.5) -> dict:
    """Spotting on a built video: precision and recall at temporal IoU >= ``min_iou`` (any track),
    each true span's most overlapping occurrence of its label (IoU, start and end errors, even when
    too little to count; None: none overlaps), and the action windows that lie wholly inside an
    unlabelled piece (named motion that was never recorded). ``target_met``: P = R = 1 and every
    matched boundary within ``tolerance_s``."""
    true = truth(spans)
    m = match(occurrences, true, min_iou)
    nearest = []
    for lab, s, e in true:
        cands = [o for o in occurrences if o.label == lab and temporal_iou((o.start, o.end), (s, e)) > 0]
        best = max(cands, key=lambda o: temporal_iou((o.start, o.end), (s, e)), default=None)
        nearest.append({"label": lab, "true": [s, e], "found": None if best is None else [best.start, best.end],
                        "iou": None if best is None else round(temporal_iou((best.start, best.end), (s, e)), 3),
                        "start_error_s": None if best is None else round(best.start - s, 3),
                        "end_error_s": None if best is None else round(best.end - e, 3)})
    named = [{"track": r.track, "label": r.label, "window": [r.start, r.time]} for r in windows if r.state == "action"
             and any(sp.label is None and sp.start - 1e-6 <= r.start and r.time <= sp.end + 1e-6 for sp in spans)]
    errors = [abs(p[k]) for p in m["pairs"] for k in ("start_error_s", "end_error_s")]
    return {**m, "nearest": nearest, "named_in_unlabelled": named,
            "target_met": m["precision"] == 1.0 and m["recall"] == 1.0 and all(x <= tolerance_s for x in errors)}
