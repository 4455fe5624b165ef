"""Person ids across frames: each detected person is matched to a track, so each gets its own
window, classifier and label.

Association: the cost of giving detection *j* to track *k* is the mean distance between their
image landmarks (both visible), in units of the track's height in the image, so it weighs where
the person is and how they stand at once; detections and tracks are paired by the Hungarian
algorithm (``scipy.optimize.linear_sum_assignment``) and a pair costing more than :data:`GATE` is
refused (the detection starts a new track). A track not seen for :data:`MAX_MISSING_S` seconds
ends; until then an occlusion or missed detections keep its id.

Chosen on the real two-person clip (``arm_wrestling_partial_bodies.mp4``, 10 s, two people cut off
by the frame, MediaPipe finding someone in about half the frames; ``benchmarks/tracking.py`` counts
the tracks): tracks made with gate 0.5 / 1 / 2 (track heights) and 1 / 2 / 3 s until a track ends:
13 / 10 / 10, 6 / 4 / 4, 6 / 3 / 3. The same over landmark distance in image units (gates 0.2 /
0.3 / 0.5): 22-26, 8-12, 5-7; over the visible landmarks' centroid: 11-17, 6-9, 4-6. Gate 1 and
2 s: a gate of 2 track heights would also give one person's id to a neighbour who steps in.
Measured, and not used: body shape (MediaPipe's world landmarks come at one standard size: the
tracks' shoulder widths 0.25 ± 0.07 and 0.29 ± 0.02 m overlap) and appearance (hue-saturation
histograms of the two people's boxes differ by a Bhattacharyya distance of only 0.04-0.31 while
both are in view, their boxes overlapping at the clasped hands). A constant-velocity prediction
of each track's landmarks through the gaps made 3 tracks instead of 4 at this gate (16 instead
of 13 at gate 0.5): one id on one clip, too little to add a motion model for.
On two real people whose identity is known (two real clips side by side,
``training/data/side_by_side.py``; ``benchmarks/tracking.py``): 0 id switches in 3.4 s and in 32 s.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

GATE = 1.0              # landmark distance / track height above which a detection is someone else
MAX_MISSING_S = 2.0     # a track unseen this long ends (its person left, or was lost)
MIN_VISIBILITY = 0.3


@dataclass
class Person:
    """One tracked person in one frame: ``track`` (1, 2, ... never reused) and their pose."""
    track: int
    pose: object                        # realtime.pose.PoseResult

    @property
    def area(self) -> float:
        """Their bounding box in the image (normalised units): "the largest person"."""
        return box_area(self.pose.image_landmarks)


def box_area(landmarks: np.ndarray) -> float:
    xy = visible_xy(landmarks)
    return float(np.prod(xy.max(axis=0) - xy.min(axis=0)))


def visible_xy(landmarks: np.ndarray) -> np.ndarray:
    """Image x, y of the landmarks MediaPipe sees (all of them when fewer than 3 are visible)."""
    lm = np.asarray(landmarks)
    vis = lm[:, 2] >= MIN_VISIBILITY
    return lm[vis, :2] if vis.sum() >= 3 else lm[:, :2]


def association_cost(track_lm: np.ndarray, det_lm: np.ndarray, aspect: float = 1.0) -> float:
    """Mean distance of the landmarks visible in both, over the track's height (image units;
    ``aspect`` = width / height makes x and y the same unit)."""
    a, b = np.asarray(track_lm, np.float64), np.asarray(det_lm, np.float64)
    both = (a[:, 2] >= MIN_VISIBILITY) & (b[:, 2] >= MIN_VISIBILITY)
    if both.sum() < 3:
        both = np.ones(len(a), bool)
    scale = np.array([aspect, 1.0])
    ya = visible_xy(a)[:, 1]
    height = max(float(ya.max() - ya.min()), 0.05)
    return float(np.linalg.norm((a[both, :2] - b[both, :2]) * scale, axis=1).mean() / height)


@dataclass
class _Track:
    id: int
    landmarks: np.ndarray       # the last image landmarks seen
    last_t: float


@dataclass
class Tracker:
    """Call :meth:`update` once per frame with every person detected; it answers who is who."""
    gate: float = GATE
    max_missing_s: float = MAX_MISSING_S
    tracks: dict[int, _Track] = field(default_factory=dict)
    next_id: int = 1

    def update(self, t: float, poses: list, aspect: float = 1.0) -> tuple[list[Person], list[int]]:
        """``(people with their track ids, ids of tracks that ended now)``."""
        ended = [k for k, tr in self.tracks.items() if t - tr.last_t > self.max_missing_s]
        for k in ended:
            del self.tracks[k]
        ids = list(self.tracks)
        cost = np.array([[association_cost(self.tracks[k].landmarks, p.image_landmarks, aspect) for p in poses]
                         for k in ids]).reshape(len(ids), len(poses))
        pairs = {}
        if cost.size:
            for r, c in zip(*linear_sum_assignment(cost)):
                if cost[r, c] <= self.gate:
                    pairs[c] = ids[r]
        people = []
        for j, pose in enumerate(poses):
            if j in pairs:
                tr = self.tracks[pairs[j]]
                tr.landmarks, tr.last_t = pose.image_landmarks, t
            else:
                tr = _Track(self.next_id, pose.image_landmarks, t)
                self.tracks[tr.id] = tr
                self.next_id += 1
            people.append(Person(tr.id, pose))
        return people, ended

    def reset(self) -> None:
        """A new stream: every track ends (ids keep counting up, never reused)."""
        self.tracks.clear()


def largest(areas: dict[int, float]) -> int | None:
    """The one rule for "the largest person": the track with the largest box (``{track: area}``)."""
    return max(areas, key=areas.get, default=None)


@dataclass
class Follow:
    """Whom the app follows (the label card, the skeleton panel, a recording): the person the user
    ``selected`` while they are in view, else the one followed before, else the :func:`largest`."""
    selected: int | None = None
    followed: int | None = None

    def pick(self, people: list[Person]) -> Person | None:
        by_track = {p.track: p for p in people}
        for k in (self.selected, self.followed):
            if k is not None and k in by_track:
                self.followed = k
                return by_track[k]
        self.followed = largest({p.track: p.area for p in people})
        return by_track.get(self.followed)
