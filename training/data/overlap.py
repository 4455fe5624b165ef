"""Two real people who come together until they overlap, then part: a video with known truth.

Why: with several people looked for, MediaPipe's pose landmarker keeps one person where two stand
close or overlap, so people who touch become one. No real clip in ``../shared`` has two whole people
overlapping with known identities, so this builds one at run time from two real single-person clips
of the same size: each person is cut out with MediaPipe's own segmentation mask (IMAGE mode, the
shipped model), both are pasted over a person-free background of the first clip's camera (the
per-pixel median of the pixels no person covers; the rest inpainted) and slid sideways so that
their bodies go from a gap of ``-min_overlap`` body widths to overlapping by ``max_overlap`` of the
narrower body's width (head, trunk and legs) and back, once per ``cycle_s``. The person from the
left clip stays on the left, so identity is known; which one is in front alternates by cycle.
Truth per frame: each person's shift, body extent and landmarks, and how much they overlap.
Derived at run time from the clips in ``../shared``; never committed (their terms).
"""
from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np
from tqdm import tqdm

from focovil.realtime.paths import DEFAULT_POSE_MODEL, pose_model_path, shared_path
from focovil.realtime.pose import quiet_stderr
from focovil.realtime.redetect import image_landmarker
from focovil.realtime.source import open_source
from focovil.realtime.tracking import association_cost

BODY = list(range(0, 13)) + list(range(23, 33))   # MediaPipe landmarks without elbows, wrists, hands


@dataclass
class Solo:
    """One clip's frames (cropped, resized) with its person's soft mask and image landmarks."""
    frames: list[np.ndarray]          # [H, W, 3] uint8 BGR
    masks: list[np.ndarray]           # [H, W] uint8 0..255 (0 everywhere when nobody was found)
    landmarks: np.ndarray             # [T, 33, 3] x, y (normalised to the frame), visibility; NaN: not found
    fps: float

    def body(self, k: int) -> tuple[float, float] | None:
        """Horizontal extent ``(x0, x1)`` in pixels of frame ``k``'s body (head, trunk and legs: arms
        held out are not the body another person bumps into), None when nobody was found."""
        xs = self.landmarks[k, BODY, 0] * self.frames[k].shape[1]
        return None if np.isnan(xs).any() else (float(xs.min()), float(xs.max()))


@dataclass
class OverlapTruth:
    """Per frame of the composite: each person's (left clip, right clip) truth."""
    shift: np.ndarray          # [T, 2] horizontal shift of each person, pixels of the composite
    body: np.ndarray           # [T, 2, 2] each body's x0, x1 (pixels; NaN: not found), see Solo.body
    overlap: np.ndarray        # [T] the bodies' overlap / the narrower body's width (< 0: the gap between them)
    hidden: np.ndarray         # [T] share of the back person's mask pixels the front person covers
    front: np.ndarray          # [T] 0 / 1: which person is in front
    landmarks: np.ndarray      # [T, 2, 33, 3] image landmarks in the composite (normalised); NaN: not found
    width: int
    height: int
    fps: float

    def match(self, k: int, image_landmarks: list[np.ndarray], gate: float = 0.5) -> list[int | None]:
        """For each detected person of frame ``k``: 0 (left clip's person), 1 (right) or None (neither:
        further than ``gate`` track heights from both, or the other detection is nearer the same one)."""
        from scipy.optimize import linear_sum_assignment
        aspect = self.width / self.height
        truth = [j for j in (0, 1) if not np.isnan(self.landmarks[k, j, 0, 0])]
        out: list[int | None] = [None] * len(image_landmarks)
        if not truth or not image_landmarks:
            return out
        cost = np.array([[association_cost(self.landmarks[k, j], d, aspect) for j in truth] for d in image_landmarks])
        for r, c in zip(*linear_sum_assignment(cost)):
            if cost[r, c] <= gate:
                out[r] = truth[c]
        return out


def solo(path: str | Path, height: int, crop: tuple[float, float, float, float] | None = None,
         max_frames: int | None = None, model: str | Path | None = DEFAULT_POSE_MODEL) -> Solo:
    """Read a single-person clip through the app's source, crop and scale it, and cut its person out."""
    frames, masks, lms = [], [], []
    with quiet_stderr(True):
        marker = image_landmarker(pose_model_path(model), 1, segmentation=True)
    try:
        with open_source(Path(path)) as src:
            fps = src.fps
            for f in tqdm(itertools.islice(src, max_frames), desc=f"cut out {Path(path).name}", leave=False):
                img = f.image
                if crop:
                    h, w = img.shape[:2]
                    x0, y0, x1, y1 = crop
                    img = img[round(y0 * h):round(y1 * h), round(x0 * w):round(x1 * w)]
                h, w = img.shape[:2]
                img = cv2.resize(img, (round(w * height / h) // 2 * 2, height), interpolation=cv2.INTER_AREA)
                res = marker.detect(mp.Image(image_format=mp.ImageFormat.SRGB,
                                             data=np.ascontiguousarray(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))))
                frames.append(img)
                if res.pose_landmarks and res.segmentation_masks:
                    masks.append((res.segmentation_masks[0].numpy_view()[..., 0] * 255).astype(np.uint8))
                    lms.append([[p.x, p.y, p.visibility or 0.0] for p in res.pose_landmarks[0]])
                else:
                    masks.append(np.zeros(img.shape[:2], np.uint8))
                    lms.append(np.full((33, 3), np.nan))
    finally:
        with quiet_stderr(True):
            marker.close()
    return Solo(frames, masks, np.array(lms, np.float32), fps)


def clean_plate(clip: Solo, samples: int = 20) -> np.ndarray:
    """The clip's background with its person removed: per-pixel median of the frames where no
    person (mask grown by 15 px) covers the pixel; pixels always covered are inpainted."""
    idx = np.linspace(0, len(clip.frames) - 1, min(samples, len(clip.frames))).round().astype(int)
    grow = np.ones((31, 31), np.uint8)
    stack = np.stack([clip.frames[k] for k in idx]).astype(np.float32)
    covered = np.stack([cv2.dilate((clip.masks[k] >= 64).astype(np.uint8), grow) > 0 for k in idx])
    stack[covered] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # "All-NaN slice": the pixels always covered
        plate = np.nanmedian(stack, axis=0)
    hole = np.isnan(plate).any(axis=2)
    plate = np.nan_to_num(plate).astype(np.uint8)
    return cv2.inpaint(plate, hole.astype(np.uint8), 7, cv2.INPAINT_TELEA) if hole.any() else plate


def schedule(n: int, fps: float, cycle_s: float, min_overlap: float, max_overlap: float) -> np.ndarray:
    """Target overlap per frame: a triangle from ``min_overlap`` (apart) up to ``max_overlap`` and back."""
    phase = (np.arange(n) / fps / cycle_s) % 1.0
    return min_overlap + (max_overlap - min_overlap) * (1 - np.abs(2 * phase - 1))


def _paste(canvas: np.ndarray, img: np.ndarray, mask: np.ndarray, dx: int) -> np.ndarray:
    """Alpha-blend ``img`` (its ``mask``) into ``canvas`` shifted right by ``dx`` pixels; returns the
    shifted mask (uint8, canvas size)."""
    h, w = canvas.shape[:2]
    m = cv2.warpAffine(mask, np.float32([[1, 0, dx], [0, 1, 0]]), (w, h))
    src = cv2.warpAffine(img, np.float32([[1, 0, dx], [0, 1, 0]]), (w, h))
    a = m[..., None].astype(np.float32) / 255
    canvas[:] = (canvas * (1 - a) + src * a).round().astype(np.uint8)
    return m


def overlap_clip(left: str | Path, right: str | Path, out: str | Path, height: int = 480,
                 crop: dict[str, tuple[float, float, float, float]] | None = None, width_factor: float = 1.0,
                 cycle_s: float = 8.0, min_overlap: float = -2.0, max_overlap: float = 0.6,
                 max_frames: int | None = None) -> OverlapTruth:
    """Write ``out`` (MJPG ``.avi``, the left clip's fps; see the module doc) and return its truth.
    ``width_factor``: the composite is this many times as wide as the left clip (the background
    mirrored outwards), room for two people apart. The shorter clip holds its last frame."""
    crop = crop or {}
    a, b = (solo(p, height, crop.get(side), max_frames) for p, side in ((left, "left"), (right, "right")))
    plate = clean_plate(a)
    pad = max(round(plate.shape[1] * (width_factor - 1) / 2), 0)
    plate = cv2.copyMakeBorder(plate, 0, 0, pad, pad, cv2.BORDER_REFLECT)
    wc = plate.shape[1]
    n = max(len(a.frames), len(b.frames))
    spans = [[s.body(k) for k in range(len(s.frames))] for s in (a, b)]
    centre = [float(np.median([(x0 + x1) / 2 for x0, x1 in filter(None, sp)])) for sp in spans]
    width = [float(np.median([x1 - x0 for x0, x1 in filter(None, sp)])) for sp in spans]
    target = schedule(n, a.fps, cycle_s, min_overlap, max_overlap)
    dist = (width[0] + width[1]) / 2 - target * min(width)     # the centres' distance that gives the target
    shift = np.round(np.stack([wc / 2 - dist / 2 - centre[0], wc / 2 + dist / 2 - centre[1]], axis=1)).astype(int)
    front = ((np.arange(n) / a.fps // cycle_s) % 2 == 0).astype(int)          # the right person first
    body = np.full((n, 2, 2), np.nan)
    overlap, hidden = np.full(n, np.nan), np.full(n, np.nan)
    lms = np.full((n, 2, 33, 3), np.nan, np.float32)
    writer = cv2.VideoWriter(str(out), cv2.VideoWriter_fourcc(*"MJPG"), a.fps, (wc, height))
    if not writer.isOpened():
        raise OSError(f"{out}: cannot write an MJPG video here")
    try:
        for k in range(n):
            canvas = plate.copy()
            ks = [min(k, len(s.frames) - 1) for s in (a, b)]
            order = (0, 1) if front[k] == 1 else (1, 0)               # the back person is pasted first
            pasted = {}
            for j in order:
                s = (a, b)[j]
                pasted[j] = _paste(canvas, s.frames[ks[j]], s.masks[ks[j]], int(shift[k, j]))
                sp = spans[j][ks[j]]
                if sp is not None:
                    body[k, j] = np.array(sp) + shift[k, j]
                lm = s.landmarks[ks[j]].copy()
                lm[:, 0] = (lm[:, 0] * s.frames[0].shape[1] + shift[k, j]) / wc
                lms[k, j] = lm
            if not np.isnan(body[k]).any():
                (a0, a1), (b0, b1) = body[k]
                overlap[k] = (min(a1, b1) - max(a0, b0)) / min(a1 - a0, b1 - b0)
                back = pasted[order[0]] >= 128
                hidden[k] = float((back & (pasted[order[1]] >= 128)).sum() / max(back.sum(), 1))
            writer.write(canvas)
    finally:
        writer.release()
    return OverlapTruth(shift, body, overlap, hidden, front, lms, wc, height, a.fps)


# The cases benchmarks/overlap.py and tests/test_overlap.py use (paths under ../shared/data/videos).
# Two NTU performers filmed by the same camera in the same room (one background for both): "drink
# water" (P001) and "pick up" (P004), 103 frames, one approach: 3.4 s.
NTU_PAIR = {"left": "ntu_S001C001P001R001A001_drink_water.avi", "right": "ntu_multiview/S001C001P004R001A006_rgb.avi",
            "crop": (0.2, 0.05, 0.9, 0.8), "width_factor": 1.0, "cycle_s": 103 / 30}
# The two synchronised lightstage cameras (one man, two views), 32 s: four approaches of 8 s.
LIGHTSTAGE_PAIR = {"left": "multiview_lightstage/cam5.mp4", "right": "multiview_lightstage/cam21.mp4",
                   "crop": None, "width_factor": 1.5, "cycle_s": 8.0}


def overlap_case(videos: str | Path, case: dict, out: str | Path, max_frames: int | None = None) -> OverlapTruth:
    """One of the cases above, written to ``out``."""
    videos = shared_path(videos)
    c = case["crop"]
    return overlap_clip(videos / case["left"], videos / case["right"], out, crop={"left": c, "right": c} if c else None,
                        width_factor=case["width_factor"], cycle_s=case["cycle_s"], max_frames=max_frames)
