"""Sliding windows over a stream of timestamped skeletons, resampled by time to the encoder's rate.

Why by time: cameras deliver anything from 6 to 60 fps, with jitter, while the encoder was trained
on windows of a fixed ``length`` at a fixed ``fps`` (its metadata). Each window covers
``duration = (length - 1) / fps`` seconds and is linearly interpolated onto ``length`` evenly spaced
timestamps, so a 6 fps and a 60 fps source give windows of the same shape and the same speed.

Gap policy:

* A sample with nobody in it (``None``, or a skeleton containing NaN/inf) is a gap.
* A gap of at most ``max_gap_s`` (time between the present samples on either side) is bridged by
  interpolation; the window's ``coverage`` says how much of it had a person (each moment counts as
  present or not according to the nearest sample in time).
* A longer gap resets the buffer, so no window spans it. ``push`` reports it (``PushResult.reset``
  on the push that detected it, ``PushResult.no_person`` while nobody has been seen for longer than
  ``max_gap_s``) so the caller can show "no person".
* Windows are emitted every ``stride_s`` seconds once a full duration of data is present: after a
  reset (and at the start) the first window begins at the first present sample; a window is emitted
  by the first present sample at or after its end, so it never extrapolates.
* A sample whose timestamp is not greater than the previous accepted one (jittery clock, replayed
  frame) is dropped and counted (``PushResult.dropped``, ``SlidingWindow.dropped``); the stream goes on.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from focovil.realtime.skeleton import NUM_JOINTS

_EPS_S = 1e-6  # timestamp tolerance: a sample this close to a window's end completes it


@dataclass(frozen=True)
class Window:
    start: float           # source time of the first resampled frame, seconds
    end: float             # source time of the last resampled frame (start + duration)
    skeleton: np.ndarray   # [length, 20, 3] float32 canonical skeletons at the encoder's fps
    coverage: float        # fraction of [start, end] with a person present (1.0: no gap bridged)


class PushResult(list[Window]):
    """The windows completed by one :meth:`SlidingWindow.push` (a plain ``list`` of :class:`Window`,
    usually empty or one), plus what the push did to the stream."""

    def __init__(self, windows: list[Window] | tuple = (), *, reset: bool = False,
                 no_person: bool = False, dropped: bool = False) -> None:
        super().__init__(windows)
        self.reset = reset          # the buffer was discarded here: a gap longer than max_gap_s
        self.no_person = no_person  # nobody seen for longer than max_gap_s (or since the start)
        self.dropped = dropped      # this sample was ignored (timestamp not increasing, or not finite)


def resample_by_time(times: np.ndarray, skeletons: np.ndarray, length: int,
                     start: float, end: float) -> np.ndarray:
    """Linearly interpolate samples ``skeletons[i]`` taken at ``times[i]`` (strictly increasing) onto
    ``length`` evenly spaced times from ``start`` to ``end`` inclusive: ``[length, ...]`` float32.

    Targets outside ``[times[0], times[-1]]`` take the nearest end's value (no extrapolation), so a
    window end a rounding error past the last sample is harmless.
    """
    times = np.asarray(times, dtype=np.float64)
    x = np.asarray(skeletons)
    if times.ndim != 1 or len(times) == 0 or x.shape[:1] != times.shape:
        raise ValueError(f"need times [T] and skeletons [T, ...] with T >= 1, got {times.shape} and {x.shape}")
    if length < 1:
        raise ValueError(f"length must be >= 1, got {length}")
    if len(times) > 1 and not np.all(np.diff(times) > 0):
        raise ValueError("times must be strictly increasing")
    targets = np.linspace(start, end, length)
    flat = x.reshape(len(times), -1).astype(np.float64)
    if len(times) == 1:
        out = np.repeat(flat, length, axis=0)
    else:
        i0 = np.clip(np.searchsorted(times, targets, side="right") - 1, 0, len(times) - 2)
        w = np.clip((targets - times[i0]) / (times[i0 + 1] - times[i0]), 0.0, 1.0)[:, None]
        out = flat[i0] * (1.0 - w) + flat[i0 + 1] * w
    return out.reshape((length,) + x.shape[1:]).astype(np.float32)


def resample_frames(sequence: np.ndarray, length: int) -> np.ndarray:
    """``[T, ...]`` evenly spaced frames -> ``[length, ...]`` (first and last frame kept): the
    :func:`resample_by_time` of a sequence whose frames are one time unit apart."""
    x = np.asarray(sequence)
    return resample_by_time(np.arange(len(x), dtype=np.float64), x, length, 0.0, float(max(len(x) - 1, 0)))


def _coverage(times: np.ndarray, present: np.ndarray, start: float, end: float) -> float:
    """Fraction of [start, end] whose nearest sample has a person (each sample owns the time up to
    the midpoints with its neighbours), so one missing frame at 30 fps costs 1/30 s, whatever the rate."""
    if end <= start:
        return 1.0 if present.any() else 0.0
    mids = 0.5 * (times[1:] + times[:-1])
    lo = np.clip(np.concatenate(([-np.inf], mids)), start, end)
    hi = np.clip(np.concatenate((mids, [np.inf])), start, end)
    return float(np.clip(((hi - lo) * present).sum() / (end - start), 0.0, 1.0))


class SlidingWindow:
    """Turns ``push(t, skeleton_or_None)`` calls into :class:`Window` s of ``length`` frames at ``fps``,
    one every ``stride_s`` seconds (see the module docstring for the gap policy)."""

    def __init__(self, length: int, fps: float, stride_s: float, max_gap_s: float = 0.5) -> None:
        if length < 2:
            raise ValueError(f"length must be >= 2 frames, got {length}")
        if not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"fps must be positive, got {fps}")
        if not (stride_s > 0 and math.isfinite(stride_s)):
            raise ValueError(f"stride_s must be positive, got {stride_s}")
        if not max_gap_s >= 0:
            raise ValueError(f"max_gap_s must be >= 0, got {max_gap_s}")
        self.length = int(length)
        self.fps = float(fps)
        self.stride_s = float(stride_s)
        self.max_gap_s = float(max_gap_s)
        self.dropped = 0  # samples ignored for non-increasing / non-finite timestamps
        self.resets = 0   # buffers discarded because of a long gap
        self.reset()

    @property
    def duration(self) -> float:
        """Seconds from a window's first to last frame: (length - 1) / fps."""
        return (self.length - 1) / self.fps

    @property
    def no_person(self) -> bool:
        """True while nobody has been seen for longer than max_gap_s (and before anyone was seen)."""
        return self._no_person

    def reset(self) -> None:
        """Start over, e.g. when the source changes: forget the buffer and the last timestamp (a new
        source's clock may restart at 0, which would otherwise be dropped as going backwards)."""
        self._last_t: float | None = None  # last accepted sample of any kind: kept across gap resets
        self._no_person = True
        self._clear_buffer()

    def _clear_buffer(self) -> None:
        self._times: list[float] = []
        self._skels: list[np.ndarray | None] = []  # the buffer always starts with a present sample
        self._last_present_t: float | None = None
        self._first_start = 0.0
        self._emitted = 0  # windows emitted since the buffer started: next start = first + k * stride

    def _next_start(self) -> float:
        return self._first_start + self._emitted * self.stride_s

    def push(self, t: float, skeleton: np.ndarray | None) -> PushResult:
        """Add one sample; return the windows it completes (a list, usually empty or one)."""
        t = float(t)
        if not math.isfinite(t) or (self._last_t is not None and t <= self._last_t):
            self.dropped += 1
            return PushResult(no_person=self._no_person, dropped=True)
        skel = self._clean(skeleton)
        self._last_t = t
        long_gap = self._last_present_t is not None and t - self._last_present_t > self.max_gap_s
        reset = False
        if long_gap:
            self._clear_buffer()
            self.resets += 1
            reset = True
        if skel is None:
            if self._times:  # a short gap so far: keep the sample for coverage
                self._times.append(t)
                self._skels.append(None)
            else:
                self._no_person = True
            return PushResult(reset=reset, no_person=self._no_person)

        self._no_person = False
        if not self._times:
            self._first_start = t
            self._emitted = 0
        self._times.append(t)
        self._skels.append(skel)
        self._last_present_t = t
        windows = []
        while self._next_start() + self.duration <= t + _EPS_S:
            start = self._next_start()
            windows.append(self._make(start, start + self.duration))
            self._emitted += 1
        self._trim(self._next_start())
        return PushResult(windows, reset=reset)

    def _clean(self, skeleton: np.ndarray | None) -> np.ndarray | None:
        if skeleton is None:
            return None
        skel = np.asarray(skeleton, dtype=np.float32)
        if skel.shape != (NUM_JOINTS, 3):
            raise ValueError(f"expected a canonical skeleton [{NUM_JOINTS}, 3], got {skel.shape}")
        return skel if np.isfinite(skel).all() else None

    def _make(self, start: float, end: float) -> Window:
        times = np.asarray(self._times)
        present = np.array([s is not None for s in self._skels])
        skels = np.stack([s for s in self._skels if s is not None])
        skeleton = resample_by_time(times[present], skels, self.length, start, end)
        return Window(start, end, skeleton, _coverage(times, present, start, end))

    def _trim(self, next_start: float) -> None:
        """Drop samples the next window cannot use, keeping the last present one at or before its start
        (needed to interpolate there), so the buffer stays about one duration long."""
        keep = 0
        for i, (ti, s) in enumerate(zip(self._times, self._skels)):
            if ti > next_start:
                break
            if s is not None:
                keep = i
        del self._times[:keep]
        del self._skels[:keep]
