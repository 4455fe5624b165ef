"""A second look for people the pose model merged: re-detection beside the people already found.

With ``num_poses > 1`` MediaPipe's pose landmarker keeps one person where two stand close or
overlap (its detector's non-max suppression blends nearby detections, and its tracker drops a
person whose region overlaps another's), so two people who touch come out as one. Measured by
``benchmarks/overlap.py`` on two real people composited together (``training/data/overlap.py``).

:class:`Redetector` looks again, with the same shipped model in IMAGE mode, only when fewer people
are found than ``num_poses``: where a person seen within the last :data:`RECENT_S` was last seen (a
square around them), else once every :data:`PROBE_S` on the whole frame (someone who came into view
already beside another was never found, so never lost). The people found are painted out of the
copy it looks at: their whole body first (else the detector finds them again), and if that finds
nobody, only their head (the detector keys on heads; painting the body also hides the parts of the
other person it covers). A pose it finds is kept only if it is a whole person (:data:`WHOLE`), its
head is not on paint, it is nobody found, and it is nearer the lost person than anyone found.
Image landmarks are mapped back to the full frame; world landmarks are hip-centred (no mapping).

Off by default (``--redetect``, ``Settings.redetect``): it finds both people far more often (NTU pair:
11 % -> 64 % of overlapping frames, apart 78 % -> 100 %; the lightstage pair: apart 34 % -> 82 %,
overlapping 0 % -> 8 %) but costs 32-42 ms a look on a 2-core CPU, and on the cut-off arm wrestlers it
makes 5 ids instead of 4 (tests/test_tracking.py holds that clip to 4). Never used with one person.
"""
from __future__ import annotations

import weakref
from pathlib import Path

import cv2
import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision
from scipy.optimize import linear_sum_assignment

from focovil.realtime.skeleton import from_mediapipe_world
from focovil.realtime.tracking import GATE, association_cost, visible_xy

RECENT_S = 2.0        # "found a moment ago": as long as realtime.tracking keeps a lost track (MAX_MISSING_S)
PROBE_S = 1.0         # nobody lost, fewer found than looked for: one look at the whole frame this often
CONFIDENCE = 0.3      # the second look's detection / presence threshold (the first look's is 0.5):
#                       someone was there a moment ago, and a ghost is dropped if it lands on a found person
SAME_PERSON = 0.3     # a re-found pose this close (mean landmark distance / height) to a found one is that one
GROW = 0.5            # the square searched reaches this share of the lost person's size beyond them
WHOLE = 0.75          # a re-found person's shoulders and hips must be this visible (mean): a whole person,
#                       not a part of someone fitted as one (the cut-off arm wrestlers' fits: 0.3-0.6)
VISIBLE = 0.5         # landmarks at least this visible are painted over
HEAD = list(range(11))  # MediaPipe landmarks 0-10: nose, eyes, ears, mouth
TRUNK = [11, 12, 24, 23]
BONES = [(11, 13), (13, 15), (12, 14), (14, 16), (15, 19), (16, 20), (23, 25), (25, 27), (27, 31),
         (24, 26), (26, 28), (28, 32), (27, 29), (28, 30)]


def image_landmarker(model_path: str | Path, num_poses: int = 1, min_confidence: float = 0.5,
                     segmentation: bool = False, gpu: bool = False) -> vision.PoseLandmarker:
    """An IMAGE-mode landmarker on ``model_path`` (every call detects afresh: no state between frames)."""
    options = vision.PoseLandmarkerOptions(
        base_options=BaseOptions(model_asset_path=str(model_path),
                                 delegate=BaseOptions.Delegate.GPU if gpu else BaseOptions.Delegate.CPU),
        running_mode=vision.RunningMode.IMAGE, num_poses=num_poses, min_pose_detection_confidence=min_confidence,
        min_pose_presence_confidence=min_confidence, output_segmentation_masks=segmentation)
    return vision.PoseLandmarker.create_from_options(options)


def paint_out(rgb: np.ndarray, people: list[np.ndarray], body: bool = True) -> np.ndarray:
    """A copy of ``rgb`` with each person painted over in the frame's median colour, drawn from the
    image landmarks MediaPipe sees (visibility >= :data:`VISIBLE`): a head disc, and with ``body``
    the trunk and limbs, as thick as a limb. Parts it does not see are often someone else's."""
    out = rgb.copy()
    h, w = out.shape[:2]
    fill = tuple(int(v) for v in np.median(rgb.reshape(-1, 3)[::97], axis=0))
    for lm in people:
        xy, vis = np.asarray(lm)[:, :2] * (w, h), np.asarray(lm)[:, 2] >= VISIBLE
        shoulders = float(np.linalg.norm(xy[11] - xy[12]))
        if vis[HEAD].sum() >= 3:
            centre = xy[HEAD][vis[HEAD]].mean(axis=0)
            radius = max(0.8 * float(np.linalg.norm(xy[7] - xy[8])), 0.35 * shoulders, 3.0)
            cv2.circle(out, (round(centre[0]), round(centre[1])), round(radius), fill, -1)
        if not body:
            continue
        if vis[TRUNK].all():
            cv2.fillConvexPoly(out, np.round(xy[TRUNK]).astype(np.int32), fill)
        for a, b in BONES + list(zip(TRUNK, TRUNK[1:] + TRUNK[:1])):
            if vis[a] and vis[b]:
                cv2.line(out, (round(xy[a, 0]), round(xy[a, 1])), (round(xy[b, 0]), round(xy[b, 1])), fill,
                         max(round(0.45 * shoulders), 3))
    return out


def _closest(last: np.ndarray, new: np.ndarray, found: list[np.ndarray], aspect: float) -> bool:
    """Is ``new`` within the tracker's gate of ``last``, and nearer to it than to every one of ``found``?"""
    d = association_cost(last, new, aspect)
    return d <= GATE and all(d < association_cost(f, new, aspect) for f in found)


def region(image_lm: np.ndarray, aspect: float, grow: float = GROW) -> tuple[float, float, float, float]:
    """Where to look for a lost person: a square (in pixels) around their last landmarks, its side
    ``1 + 2 * grow`` times their height or width (the larger), clipped to the frame (normalised
    ``x0, y0, x1, y1``; ``aspect``: the frame's width / height)."""
    xy = visible_xy(image_lm)
    (cx, cy) = (xy.min(axis=0) + xy.max(axis=0)) / 2
    half_y = max(float(np.ptp(xy[:, 1])), float(np.ptp(xy[:, 0])) * aspect, 0.1) * (0.5 + grow)
    half_x = half_y / aspect
    return (float(np.clip(cx - half_x, 0, 1)), float(np.clip(cy - half_y, 0, 1)),
            float(np.clip(cx + half_x, 0, 1)), float(np.clip(cy + half_y, 0, 1)))


class Redetector:
    """Finds people the first look missed (see the module doc). ``calls``: landmarker runs made."""

    def __init__(self, model_path: str | Path, num_poses: int, gpu: bool = False, verbose: bool = False,
                 recent_s: float | None = None, probe_s: float | None = None) -> None:
        self.num_poses, self.verbose = num_poses, verbose
        self.recent_s = RECENT_S if recent_s is None else recent_s
        self.probe_s = PROBE_S if probe_s is None else probe_s
        self.calls = 0
        self._probed = -np.inf
        self._recent: list[tuple[float, list[np.ndarray]]] = []   # (time s, image landmarks of everyone found)
        self._landmarker = image_landmarker(model_path, 1, CONFIDENCE, gpu=gpu)
        self._finalizer = weakref.finalize(self, self._landmarker.close)
        self._finalizer.atexit = False

    def find(self, t: float, rgb: np.ndarray, found: list, pose_result: type) -> list:
        """The people of ``rgb`` (RGB, at ``t`` s) missing from ``found`` (``PoseResult`` s), as
        ``pose_result`` s; every call, found or not, also records ``found`` + them as seen at ``t``."""
        h, w = rgb.shape[:2]
        aspect = w / max(h, 1)
        self._recent = [(s, lms) for s, lms in self._recent if t - s <= self.recent_s]
        lost = self._lost(found, aspect)[:self.num_poses - len(found)] if found else []
        if lost:          # (where to look, whom it must be: None = anyone)
            looks: list = [(region(lm, aspect), lm) for lm in lost]
        elif found and len(found) < self.num_poses and t - self._probed >= self.probe_s:
            looks, self._probed = [((0.0, 0.0, 1.0, 1.0), None)], t
        else:
            looks = []
        out: list = []
        if looks:
            seen = [p.image_landmarks for p in found]
            bodies = paint_out(rgb, seen, body=True)
            heads = paint_out(rgb, seen, body=False) if lost else None
            for (x0, y0, x1, y1), last in looks:
                box = (round(x0 * w), round(y0 * h), round(x1 * w), round(y1 * h))
                new = self._detect(bodies, rgb, box, found + out, pose_result)
                if not new and heads is not None:
                    new = self._detect(heads, rgb, box, found + out, pose_result)
                # A lost person is taken back only near where they were lost (within the tracker's gate,
                # so they keep their track) and nearer to them than to anyone found: else it is more
                # likely another fit of someone found, or a part of them (seen on the cut-off arm
                # wrestlers: a new id each time). A look at the whole frame takes anyone new.
                out += [p for p in new if last is None or _closest(last, p.image_landmarks, seen, aspect)]
            out = out[:self.num_poses - len(found)]
        self._recent.append((t, [p.image_landmarks for p in found + out]))
        return out

    def _lost(self, found: list, aspect: float) -> list[np.ndarray]:
        """The last landmarks of the people seen within ``recent_s`` whom ``found`` lacks; none while
        as many are found as were found lately. People seen lately: the latest pose of each (a pose
        within :data:`SAME_PERSON` of a later one is the same person); ``found`` takes one each,
        nearest first, within the tracker's gate (as ``realtime.tracking`` pairs them); latest first.
        A pose left within the gate of someone found is only lost if more people than are found now
        were seen with it: else it is likely that person's last pose before theirs jumped (a bad
        fit), and looking there finds them again beside themself."""
        if len(found) >= min(max((len(lms) for _s, lms in self._recent), default=0), self.num_poses):
            return []
        people: list[tuple[np.ndarray, int]] = []     # (latest pose, people seen in that frame)
        for _s, lms in reversed(self._recent):
            people += [(lm, len(lms)) for lm in lms
                       if all(association_cost(q, lm, aspect) >= SAME_PERSON for q, _n in people)]
        cost = np.array([[association_cost(lm, p.image_landmarks, aspect) for p in found] for lm, _n in people])
        taken = {r for r, c in zip(*linear_sum_assignment(cost)) if cost[r, c] <= GATE}
        return [lm for k, (lm, n) in enumerate(people) if k not in taken and (n > len(found) or cost[k].min() > GATE)]

    def _detect(self, rgb: np.ndarray, original: np.ndarray, box: tuple[int, int, int, int], known: list,
                pose_result: type) -> list:
        """The landmarker on ``rgb[box]`` (``original`` painted out): any whole person (:data:`WHOLE`) not
        among ``known`` whose head is on a pixel left as it was, in full-frame coordinates. (Someone found, their head or
        body painted over, is sometimes fitted again with the head where the paint is.)"""
        (h, w), (c0, r0, c1, r1) = rgb.shape[:2], box
        if c1 - c0 < 16 or r1 - r0 < 16:
            return []
        from focovil.realtime.pose import quiet_stderr     # its one-off C++ warnings on the first runs
        self.calls += 1
        with quiet_stderr(not self.verbose and self.calls <= 3):
            result = self._landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB,
                                                      data=np.ascontiguousarray(rgb[r0:r1, c0:c1])))
        out: list = []
        for lms, wlms in zip(result.pose_landmarks, result.pose_world_landmarks):
            image_lm = np.array([[(c0 + p.x * (c1 - c0)) / w, (r0 + p.y * (r1 - r0)) / h, p.visibility or 0.0]
                                 for p in lms], dtype=np.float32)
            hx, hy = np.clip(np.round(image_lm[HEAD, :2].mean(axis=0) * (w, h)).astype(int), 0, (w - 1, h - 1))
            if image_lm[TRUNK, 2].mean() < WHOLE or (rgb[hy, hx] != original[hy, hx]).any() or any(
                    association_cost(q.image_landmarks, image_lm, w / max(h, 1)) < SAME_PERSON for q in known + out):
                continue
            world = np.array([[p.x, p.y, p.z] for p in wlms], dtype=np.float32)
            out.append(pose_result(from_mediapipe_world(world), image_lm, world))
        return out

    def close(self) -> None:
        self._finalizer()
