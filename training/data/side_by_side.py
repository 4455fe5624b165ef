"""Two real clips side by side in one video: two real people in view whose identity is known.

The one real multi-person clip in ``../shared`` (arm wrestling, both people cut off and overlapping)
cannot tell a tracker's id switch from the pose model's misses. Putting two real single-person clips
next to each other gives two people in one frame whose true identity is their side of the frame, so
id switches and per-person labels can be counted exactly. Blanking one side for a stretch of frames
makes a real occlusion (the person vanishes, then returns). Derived at run time from the clips in
``../shared``; never committed (their terms).
"""
from __future__ import annotations

import itertools
from pathlib import Path

import cv2
import numpy as np

from focovil.realtime.paths import shared_path
from focovil.realtime.source import open_source
from focovil.realtime.tracking import visible_xy


def side_by_side(left: str | Path, right: str | Path, out: str | Path, height: int = 360,
                 max_frames: int | None = None, blank: dict[str, list[tuple[int, int]]] | None = None,
                 crop: dict[str, tuple[float, float, float, float]] | None = None) -> Path:
    """Write ``out`` (MJPG ``.avi``, the left clip's fps): ``left`` and ``right`` scaled to ``height``
    and placed next to each other. The shorter clip holds its last frame. ``blank`` =
    ``{"left"|"right": [(first, end), ...]}`` paints that side black on frames ``first <= k < end``;
    ``crop`` = ``{"left"|"right": (x0, y0, x1, y1)}`` (fractions of the frame) keeps only that box of
    a clip, so that a person far from the camera stays as large as in the clip alone (the pose model
    sees the whole frame at 640 px). Frames are read through the app's own source, one at a time."""
    blank, crop = blank or {}, crop or {}

    def fit(frame: np.ndarray, side: str) -> np.ndarray:
        if side in crop:
            x0, y0, x1, y1 = crop[side]
            h, w = frame.shape[:2]
            frame = frame[round(y0 * h):round(y1 * h), round(x0 * w):round(x1 * w)]
        h, w = frame.shape[:2]
        return cv2.resize(frame, (round(w * height / h) // 2 * 2, height), interpolation=cv2.INTER_AREA)

    out = Path(out)
    writer = None
    last: dict[str, np.ndarray] = {}
    with open_source(Path(left)) as a, open_source(Path(right)) as b:
        try:
            for k, (fa, fb) in enumerate(itertools.zip_longest(a, b)):
                if max_frames is not None and k >= max_frames:
                    break
                for side, f in (("left", fa), ("right", fb)):
                    if f is not None:           # the shorter clip holds its last frame
                        last[side] = fit(f.image, side)
                sides = {side: img.copy() for side, img in last.items()}
                for side, spans in blank.items():
                    if any(s <= k < e for s, e in spans):
                        sides[side][:] = 0
                frame = np.hstack([sides["left"], sides["right"]])
                if writer is None:
                    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), a.fps,
                                             (frame.shape[1], frame.shape[0]))
                    if not writer.isOpened():
                        raise OSError(f"{out}: cannot write an MJPG video here")
                writer.write(frame)
        finally:
            if writer is not None:
                writer.release()
    return out


def side_of(landmarks: np.ndarray) -> str:
    """Which half of a side-by-side frame a person's visible image landmarks are in: their identity."""
    return "left" if float(np.median(visible_xy(landmarks)[:, 0])) < 0.5 else "right"


# The two-person cases the tests and benchmarks/tracking.py measure (paths under ../shared/data/videos).
# Each NTU clip is cropped to the part of the room its performer uses.
FALL_AND_DRINK = {"left": ("ntu_multiview/S001C002P006R001A043_rgb.avi", (0.18, 0.2, 0.6, 0.95)),    # falling, camera 2
                  "right": ("ntu_S001C001P001R001A001_drink_water.avi", (0.33, 0.15, 0.75, 0.9))}   # drink water
LIGHTSTAGE = {"left": ("multiview_lightstage/cam5.mp4", (0.2, 0.0, 0.8, 1.0)),
              "right": ("multiview_lightstage/cam21.mp4", (0.2, 0.0, 0.8, 1.0))}
# At 25 fps: the right person hidden for 1 s (an occlusion: keeps the id), the left for 3 s (longer
# than realtime.tracking.MAX_MISSING_S: leaves, and comes back as a new id at frame 225).
LIGHTSTAGE_GAPS = {"right": [(75, 100)], "left": [(150, 225)]}


def two_person_clip(videos: str | Path, case: dict, out: str | Path, max_frames: int | None = None,
                    blank: dict[str, list[tuple[int, int]]] | None = None) -> Path:
    """One of the cases above, written to ``out``."""
    videos = shared_path(videos)
    return side_by_side(videos / case["left"][0], videos / case["right"][0], out, max_frames=max_frames, blank=blank,
                        crop={side: case[side][1] for side in ("left", "right")})
