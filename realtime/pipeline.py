"""Timestamped skeletons -> window -> encoder -> index -> label, one frame at a time.

``Recognizer`` is everything after pose (it takes timestamped canonical skeletons, so it is also
what the tests and benchmarks drive with recorded data); ``realtime.session.Session.frames`` adds
the frame source and the pose estimator. Timing of every stage is kept per frame/window so the GUI
and benchmarks can show it. It only reads the library: the embeddings it searches are made before
(``Session``), or in memory for an encoder that is not the library's own.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterable, Iterator

import numpy as np

from focovil.realtime.classify import Classifier, Prediction, threshold_for
from focovil.realtime.encoder import EncoderRuntime
from focovil.realtime.index import PrototypeIndex, build_index
from focovil.realtime.library import Library, LibraryError
from focovil.realtime.motion import motion_energy
from focovil.realtime.results import WindowResult
from focovil.realtime.settings import Settings
from focovil.realtime.tracking import Person
from focovil.realtime.window import SlidingWindow, Window, resample_by_time


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


@dataclass
class Stream:
    """One person's own sliding window and vote (track 0: the single-person stream)."""
    sliding: SlidingWindow
    classifier: Classifier
    next_no_person_t: float = -np.inf


class Recognizer:
    """Skeleton streams -> labels, with the prototype indexes kept in sync with the library.

    One :class:`Stream` per tracked person (``track``): each has its own window, smoothing,
    "no person" / "unknown" / "idle"; the prototype indexes are shared. Prototypes are split by
    motion (:mod:`realtime.motion`): a still window (the person stands still) is only matched
    against the still prototypes of still-pose labels (most of whose windows are still), and is
    "idle" when none matches; a moving window only against moving ones, so a recorded still pose
    never names a motion."""

    def __init__(self, encoder: EncoderRuntime, library: Library, settings: Settings | None = None):
        self.encoder, self.library = encoder, library
        self.settings = settings or Settings()
        self.streams: dict[int, Stream] = {}
        self.moving = self.still = Gallery(None, [])
        self._energy: dict[int, float] = {}      # prototype id -> motion energy of its raw window
        self.refresh()

    def stream(self, track: int = 0) -> Stream:
        if track not in self.streams:
            s = self.settings
            self.streams[track] = Stream(sliding_window(self.encoder.window_frames, s), Classifier(
                k=s.k, threshold=self.threshold, smoothing=s.smoothing, hysteresis=s.hysteresis))
        return self.streams[track]

    @property
    def classifier(self) -> Classifier:
        """The single-person stream's classifier."""
        return self.stream(0).classifier

    @property
    def threshold(self) -> float:
        return threshold_for(self.encoder.meta, self.settings)

    def end(self, track: int) -> None:
        """That person is gone: forget their window and vote."""
        self.streams.pop(track, None)

    def apply(self, settings: Settings) -> None:
        """New settings take effect from the next sample (every window restarts)."""
        idle_changed = settings.idle_motion_m != self.settings.idle_motion_m
        self.settings = settings
        self.streams.clear()
        if idle_changed:
            self.refresh()

    def refresh(self) -> None:
        """Rebuild the indexes from the library (prototypes the library holds no embedding of for this
        encoder are embedded here, in memory, and never stored: this is the read path)."""
        ids, labels, vectors = self.library.embeddings_for(self.encoder, embed_missing=True)
        for i in (int(i) for i in ids if int(i) not in self._energy):   # each window is read once
            try:
                self._energy[i] = motion_energy(self.library.raw_window(i))
            except LibraryError:        # a damaged raw window: the prototype counts as moving
                self._energy[i] = np.inf
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
        for st in self.streams.values():
            st.classifier.reset()

    @property
    def labels(self) -> list[str]:
        return self.moving.labels + self.still.labels

    def classify(self, window: np.ndarray, track: int = 0) -> tuple[Prediction, float, float]:
        clf = self.stream(track).classifier
        energy = motion_energy(window)
        idle = energy < self.settings.idle_motion_m
        t0 = time.perf_counter()
        emb = self.encoder.embed(window[None])
        t1 = time.perf_counter()
        g = self.still if idle else self.moving
        if g.index is None:
            return clf.update(np.zeros(0), [], idle, energy), (t1 - t0) * 1e3, 0.0
        scores, idx = g.index.search(emb, min(self.settings.k, len(g.index)))
        t2 = time.perf_counter()
        labels = [g.labels[i] if i >= 0 else None for i in idx[0]]
        return clf.update(scores[0], labels, idle, energy), (t1 - t0) * 1e3, (t2 - t1) * 1e3

    def push(self, t: float, skeleton: np.ndarray | None, track: int = 0) -> list[WindowResult]:
        """One timestamped skeleton of ``track`` (or None: not in view) -> results of the windows it completes."""
        st = self.stream(track)
        pushed = st.sliding.push(t, skeleton)
        out = []
        for w in pushed:
            if w.coverage < self.settings.min_coverage:
                continue
            pred, enc_ms, search_ms = self.classify(w.skeleton, track)
            out.append(WindowResult(w.start, w.end, pred, enc_ms, search_ms, w.skeleton, track))
        if pushed.no_person and not out and t >= st.next_no_person_t:
            # Nobody in view: say so every stride (never a stale label), from a fresh classifier state.
            w0 = max(t - self.settings.window_s, 0.0)
            out.append(WindowResult(w0, t, st.classifier.update(None, None), track=track))
            st.next_no_person_t = t + self.settings.stride_s
        elif out:
            st.next_no_person_t = -np.inf
        return out

    def push_people(self, t: float, people: list[Person], ended: list[int], anyone_tracked: bool) -> list[WindowResult]:
        """One frame of everyone: each person's skeleton to their own stream; a tracked person missing
        from this frame pushes a gap; ``ended`` tracks are forgotten; nobody tracked at all
        (``anyone_tracked`` False): the single-person stream (track 0) says "no person"."""
        out: list[WindowResult] = []
        for k in ended:
            self.end(k)
        present = {p.track for p in people}
        for p in people:
            out += self.push(t, p.pose.skeleton, track=p.track)
        for k in [k for k in self.streams if k and k not in present]:
            out += self.push(t, None, track=k)
        if anyone_tracked:
            self.end(0)
        else:
            out += self.push(t, None, track=0)
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
