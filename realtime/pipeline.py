"""Timestamped skeletons -> window -> encoder -> index -> label, one frame at a time.

``Recognizer`` is everything after pose (it takes timestamped canonical skeletons, so it is also
what the tests and benchmarks drive with recorded data); ``realtime.session.Session.frames`` adds
the frame source and the pose estimator. Timing of every stage is kept per frame/window so the GUI
and benchmarks can show it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterable, Iterator

import numpy as np

from realtime.classify import Classifier, Prediction, threshold_for
from realtime.encoder import EncoderRuntime
from realtime.index import PrototypeIndex, build_index
from realtime.library import Library
from realtime.motion import motion_energy
from realtime.settings import Settings
from realtime.window import SlidingWindow, Window, resample_by_time


@dataclass
class WindowResult:
    start: float
    end: float
    prediction: Prediction
    encode_ms: float = 0.0
    search_ms: float = 0.0
    aligned: np.ndarray | None = None     # the window as the encoder sees it (for the GUI), on request

    def to_json(self) -> dict:
        p = self.prediction
        return {"start": round(self.start, 3), "end": round(self.end, 3), "label": p.label,
                "score": round(p.score, 4), "similarity": None if not np.isfinite(p.similarity) else round(p.similarity, 4),
                "topk": [[lab, round(s, 4)] for lab, s in p.topk], "person": p.person, "state": p.state,
                "motion": None if not np.isfinite(p.motion) else round(p.motion, 4)}


@dataclass
class FrameResult:
    t: float
    index: int
    image: np.ndarray | None
    pose: object | None                     # realtime.pose.PoseResult or None (nobody in view)
    windows: list[WindowResult] = field(default_factory=list)
    pose_ms: float = 0.0
    overhead_ms: float = 0.0                # everything per frame that is not pose, encode or search


def sliding_window(length: int, settings: Settings) -> SlidingWindow:
    """The live windows: ``settings.window_s`` seconds resampled to the encoder's ``length`` frames,
    one every ``settings.stride_s``."""
    return SlidingWindow(length, (length - 1) / settings.window_s, settings.stride_s, settings.max_gap_s)


def live_windows(samples: Iterable[tuple[float, np.ndarray | None]], length: int,
                 settings: Settings) -> Iterator[Window]:
    """The windows of a stream of ``(t, skeleton or None)`` that the recognizer would classify (the
    live duration and stride, the same gap policy, at least ``settings.min_coverage`` of a person)."""
    sw = sliding_window(length, settings)
    for t, skeleton in samples:
        for w in sw.push(t, skeleton):
            if w.coverage >= settings.min_coverage:
                yield w


@dataclass
class Gallery:
    """The prototypes a window of one kind (moving or still) is matched against."""
    index: PrototypeIndex | None
    labels: list[str]


class Recognizer:
    """Skeleton stream -> labels, with the prototype indexes kept in sync with the library.

    Prototypes are split by motion (:mod:`realtime.motion`): a still window (the person stands
    still) is only matched against the still prototypes of still-pose labels (most of whose
    windows are still), and is "idle" when none matches; a moving window only against moving
    ones, so a recorded still pose never names a motion."""

    def __init__(self, encoder: EncoderRuntime, library: Library, settings: Settings | None = None):
        self.encoder, self.library = encoder, library
        self.settings = settings or Settings()
        self.window = self._make_window()
        self.classifier = self._make_classifier()
        self.moving = self.still = Gallery(None, [])
        self._energy: dict[int, float] = {}      # prototype id -> motion energy of its raw window
        self._next_no_person_t = -np.inf
        self.refresh()

    def _make_window(self) -> SlidingWindow:
        return sliding_window(self.encoder.window, self.settings)

    def _make_classifier(self) -> Classifier:
        s = self.settings
        return Classifier(k=s.k, threshold=threshold_for(self.encoder.meta, s), smoothing=s.smoothing,
                          hysteresis=s.hysteresis)

    @property
    def threshold(self) -> float:
        return self.classifier.threshold

    def apply(self, settings: Settings) -> None:
        """New settings take effect from the next sample (the window restarts)."""
        idle_changed = settings.idle_motion_m != self.settings.idle_motion_m
        self.settings = settings
        self.window = self._make_window()
        self.classifier = self._make_classifier()
        if idle_changed:
            self.refresh()

    def refresh(self) -> None:
        """Re-embed what the library lacks for this encoder and rebuild the indexes."""
        self.library.ensure_embedded(self.encoder)
        ids, labels, vectors = self.library.embeddings_for(self.encoder)
        if any(int(i) not in self._energy for i in ids):
            self._energy.update((p.id, motion_energy(p.window)) for p in self.library.prototypes(with_windows=True)
                                if p.window is not None)
        still = np.array([self._energy.get(int(i), np.inf) < self.settings.idle_motion_m for i in ids], dtype=bool)
        # A still pose is a label most of whose windows are still; the still lead-in of a recorded
        # motion (the person waiting for it to start) must not name standing still.
        lab = np.array(labels, dtype=object)
        still_label = {k: still[lab == k].mean() >= 0.5 for k in set(labels)}
        pose = still & np.array([still_label[k] for k in labels], dtype=bool)

        def gallery(mask: np.ndarray) -> Gallery:
            return Gallery(build_index(vectors[mask]) if mask.any() else None,
                           [lab for lab, m in zip(labels, mask) if m])
        self.moving, self.still = gallery(~still), gallery(pose)
        self.classifier.reset()

    @property
    def labels(self) -> list[str]:
        return self.moving.labels + self.still.labels

    def classify(self, window: np.ndarray) -> tuple[Prediction, float, float]:
        energy = motion_energy(window)
        idle = energy < self.settings.idle_motion_m
        t0 = time.perf_counter()
        emb = self.encoder.embed(window[None])
        t1 = time.perf_counter()
        g = self.still if idle else self.moving
        if g.index is None:
            return self.classifier.update(np.zeros(0), [], idle, energy), (t1 - t0) * 1e3, 0.0
        scores, idx = g.index.search(emb, min(self.settings.k, len(g.index)))
        t2 = time.perf_counter()
        labels = [g.labels[i] if i >= 0 else None for i in idx[0]]
        return self.classifier.update(scores[0], labels, idle, energy), (t1 - t0) * 1e3, (t2 - t1) * 1e3

    def push(self, t: float, skeleton: np.ndarray | None, want_aligned: bool = False) -> list[WindowResult]:
        """One timestamped skeleton (or None: nobody in view) -> results of the windows it completes."""
        pushed = self.window.push(t, skeleton)
        out = []
        for w in pushed:
            if w.coverage < self.settings.min_coverage:
                continue
            pred, enc_ms, search_ms = self.classify(w.skeleton)
            aligned = self.encoder.align(w.skeleton[None])[0] if want_aligned else None
            out.append(WindowResult(w.start, w.end, pred, enc_ms, search_ms, aligned))
        if pushed.no_person and not out and t >= self._next_no_person_t:
            # Nobody in view: say so every stride (never a stale label), from a fresh classifier state.
            w0 = max(t - self.settings.window_s, 0.0)
            out.append(WindowResult(w0, t, self.classifier.update(None, None)))
            self._next_no_person_t = t + self.settings.stride_s
        elif out:
            self._next_no_person_t = -np.inf
        return out


def segment_windows(times: np.ndarray, skeletons: np.ndarray, length: int, window_s: float) -> list[np.ndarray]:
    """Raw canonical windows of a recorded segment, as the live app would see it.

    Windows of the live duration every half window; a segment shorter than one window becomes one
    window of its own length (the encoder trained on whole clips of varied length, so it copes).
    Frames with nobody in view (NaN) are left out of the interpolation.
    """
    ok = np.isfinite(skeletons).all(axis=(1, 2))
    times, skeletons = np.asarray(times)[ok], np.asarray(skeletons)[ok]
    if len(times) < 2:
        raise ValueError(f"a recording needs a person in at least 2 frames, found {len(times)}")
    span = float(times[-1] - times[0])
    if span <= window_s:
        return [resample_by_time(times, skeletons, length, float(times[0]), float(times[-1]))]
    starts = np.arange(float(times[0]), float(times[-1]) - window_s + 1e-6, window_s / 2)
    return [resample_by_time(times, skeletons, length, s, s + window_s) for s in starts]
