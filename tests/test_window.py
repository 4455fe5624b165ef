"""realtime/window.py: sliding windows resampled by timestamp, and the gap policy.

Synthetic streams where the truth is known (a smooth motion sampled at different rates), plus one
real clip through MediaPipe to check the shapes and coverage the app will actually see.
"""
from __future__ import annotations


import numpy as np
import pytest

from focovil.realtime.skeleton import NUM_JOINTS
from focovil.realtime.window import SlidingWindow, Window, resample_by_time

LENGTH, FPS = 32, 15.0          # the shipped encoder's window (duration 31/15 = 2.067 s)
TIME_TOL = 1e-6                 # seconds: window times are float64 sums of sample times and strides (error ~1e-15 s);
                                # a wrong stride or a frame off is >= 17 ms (60 fps)
COVERAGE_TOL = 1e-9             # coverage is a float64 sum of each sample's share of the window; a frame missing
                                # costs 1/62 of it (30 fps) or more
FALL = "data/videos/ntu_multiview/S001C001P006R001A043_rgb.avi"  # 62 frames at 30 fps = 2.033 s

_rng = np.random.default_rng(0)
_BASE = _rng.normal(0.0, 0.3, (NUM_JOINTS, 3)).astype(np.float32)
_PHASE = _rng.uniform(0, 2 * np.pi, (NUM_JOINTS, 3))


def wave(t: float) -> np.ndarray:
    """A smooth motion: every coordinate swings 10 cm at 0.5 Hz with its own phase."""
    return (_BASE + 0.1 * np.sin(np.pi * t + _PHASE)).astype(np.float32)


def ramp(t: float) -> np.ndarray:
    """Motion linear in time, which linear interpolation reproduces exactly (for bridged gaps)."""
    return (_BASE + 0.2 * t).astype(np.float32)


def run(sw: SlidingWindow, samples) -> list[Window]:
    out: list[Window] = []
    for t, skel in samples:
        out.extend(sw.push(t, skel))
    return out


def stream(rate: float, seconds: float, motion=wave):
    n = int(round(seconds * rate))
    return [(k / rate, motion(k / rate)) for k in range(n + 1)]


def test_6fps_and_60fps_sources_give_the_same_windows() -> None:
    slow = run(SlidingWindow(LENGTH, FPS, stride_s=0.5), stream(6.0, 4.0))
    fast = run(SlidingWindow(LENGTH, FPS, stride_s=0.5), stream(60.0, 4.0))
    assert len(slow) == len(fast) == 4  # ends at 2.07, 2.57, 3.07, 3.57 s
    for a, b in zip(slow, fast):
        assert a.skeleton.shape == b.skeleton.shape == (LENGTH, NUM_JOINTS, 3)
        assert a.skeleton.dtype == np.float32
        assert (a.start, a.end) == pytest.approx((b.start, b.end), abs=TIME_TOL)
        assert a.end - a.start == pytest.approx((LENGTH - 1) / FPS, abs=TIME_TOL)
        assert a.coverage == pytest.approx(1.0, abs=COVERAGE_TOL) and b.coverage == pytest.approx(1.0, abs=COVERAGE_TOL)
        truth = np.stack([wave(t) for t in np.linspace(a.start, a.end, LENGTH)])
        # Linear interpolation of a 0.5 Hz, 10 cm swing sampled at 6 fps is off by at most ~3.5 mm.
        assert np.abs(a.skeleton - truth).max() < 0.005
        assert np.abs(b.skeleton - truth).max() < 0.0001
        assert np.abs(a.skeleton - b.skeleton).max() < 0.005


def test_resample_by_time_interpolates_linearly_and_holds_the_ends() -> None:
    times = np.array([0.0, 1.0, 3.0])
    skels = np.stack([np.full((NUM_JOINTS, 3), v, np.float32) for v in (0.0, 1.0, 5.0)])
    out = resample_by_time(times, skels, 5, -1.0, 3.0)  # targets -1, 0, 1, 2, 3
    assert out.shape == (5, NUM_JOINTS, 3) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, 0, 0], [0.0, 0.0, 1.0, 3.0, 5.0], rtol=0, atol=1e-6)   # metres, float32 out
    with pytest.raises(ValueError, match="strictly increasing"):
        resample_by_time(np.array([0.0, 0.0]), skels[:2], 3, 0.0, 1.0)


def test_short_gap_is_bridged_by_interpolation_and_lowers_coverage() -> None:
    nan = np.full((NUM_JOINTS, 3), np.nan, np.float32)
    samples = []
    for t, skel in stream(30.0, 3.0, ramp):
        if 1.0 <= t < 1.3:            # 9 frames with nobody, i.e. 0.3 s < max_gap_s
            skel = nan if t < 1.1 else None  # a NaN skeleton counts as nobody, like None
        samples.append((t, skel))
    sw = SlidingWindow(LENGTH, FPS, stride_s=0.25, max_gap_s=0.5)
    results = [sw.push(t, s) for t, s in samples]
    assert not any(r.reset or r.no_person for r in results) and sw.resets == 0
    windows = [w for r in results for w in r]
    assert len(windows) == 4  # ends 2.07, 2.32, 2.57, 2.82 s: the gap did not interrupt the stream
    for w in windows:
        truth = np.stack([ramp(t) for t in np.linspace(w.start, w.end, LENGTH)])
        np.testing.assert_allclose(w.skeleton, truth, atol=1e-5)  # the gap is filled in exactly
    spanning = [w for w in windows if w.start < 1.0 and w.end > 1.3]
    assert spanning and all(w.coverage == pytest.approx(1 - 0.3 / (w.end - w.start), abs=0.01) for w in spanning)


def test_long_gap_resets_and_no_window_spans_it() -> None:
    sw = SlidingWindow(LENGTH, FPS, stride_s=0.25, max_gap_s=0.5)
    windows, resets, no_person_at = [], [], []
    for t, skel in stream(30.0, 6.0):
        if 2.5 <= t < 3.5:  # nobody for 1 s
            skel = None
        r = sw.push(t, skel)
        windows.extend(r)
        if r.reset:
            resets.append(t)
        if r.no_person:
            no_person_at.append(t)
    assert len(resets) == 1 and resets[0] == pytest.approx(3.0, abs=0.04)  # 0.5 s after the last frame with someone
    assert min(no_person_at) == resets[0] and max(no_person_at) < 3.5  # "no person" until they return
    assert not any(w.start < 3.5 and w.end > 2.5 - 1 / 30 for w in windows)
    before = [w for w in windows if w.end < 2.5]
    after = [w for w in windows if w.start >= 3.5]
    assert len(before) + len(after) == len(windows) and before and after
    assert after[0].start == 3.5  # a fresh window starts at the person's return (a sample's time, copied: exact)
    assert all(w.coverage == pytest.approx(1.0, abs=COVERAGE_TOL) for w in windows)


def test_windows_are_emitted_every_stride_even_when_samples_are_sparser() -> None:
    for rate, stride in ((30.0, 0.4), (6.0, 0.05)):  # the 6 fps case completes several per push
        sw = SlidingWindow(LENGTH, FPS, stride_s=stride)
        results = [sw.push(t, s) for t, s in stream(rate, 4.0)]
        per_push = [len(r) for r in results]
        ends = np.array([w.end for r in results for w in r])
        np.testing.assert_allclose(np.diff(ends), stride, atol=1e-9)
        assert ends[0] == pytest.approx(31 / 15, abs=TIME_TOL) and ends[-1] <= 4.0 + 1e-9 and ends[-1] > 4.0 - stride
        assert max(per_push) == 1 if rate == 30.0 else max(per_push) >= 3


def test_non_increasing_timestamps_are_dropped_and_the_stream_goes_on() -> None:
    samples = stream(30.0, 3.0)
    jittery = samples[:10] + [samples[9], samples[5], (float("nan"), samples[10][1])] + samples[10:]
    sw = SlidingWindow(LENGTH, FPS, stride_s=0.5)
    results = [sw.push(t, s) for t, s in jittery]
    assert [r.dropped for r in results[10:13]] == [True, True, True] and sw.dropped == 3
    clean = run(SlidingWindow(LENGTH, FPS, stride_s=0.5), samples)
    got = [w for r in results for w in r]
    assert len(got) == len(clean) == 2
    for a, b in zip(got, clean):
        np.testing.assert_array_equal(a.skeleton, b.skeleton)
    sw.reset()  # a new source whose clock restarts at 0 is accepted after an explicit reset
    assert not sw.push(0.0, samples[0][1]).dropped


@pytest.fixture(scope="module")
def fall_landmarks(camera_skeletons):
    # the app's own frame path, pose on every frame (the windows of the clip's own 30 fps are checked)
    times, skels = camera_skeletons(FALL)
    return times, skels, np.isfinite(skels).all(axis=(1, 2))


def test_real_clip_becomes_full_coverage_windows(fall_landmarks) -> None:
    times, skels, present = fall_landmarks
    assert len(times) == 62 and present.all()
    # At the clip's own 30 fps, a 32-frame window fits (1.03 s) and lands exactly on the frames.
    sw = SlidingWindow(LENGTH, 30.0, stride_s=0.5)
    windows = run(sw, zip(times, skels))
    assert len(windows) == 3  # ends 1.03, 1.53, 2.03 s
    for w in windows:
        assert w.skeleton.shape == (LENGTH, NUM_JOINTS, 3) and w.coverage == pytest.approx(1.0, abs=COVERAGE_TOL)
        assert np.isfinite(w.skeleton).all()
    np.testing.assert_allclose(windows[0].skeleton, skels[:LENGTH], atol=1e-6)
    # At the encoder's 15 fps a window spans 2.067 s: longer than this 2.033 s clip, so none yet.
    assert run(SlidingWindow(LENGTH, FPS, stride_s=0.5), zip(times, skels)) == []
