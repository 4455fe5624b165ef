"""Open set on real data: a clip of an action the library does not hold is "unknown", a person
standing still is "idle" (unless a still pose was recorded), and strictness is what the app uses."""
from __future__ import annotations

import dataclasses
from collections import Counter

import numpy as np
import pytest

from focovil.realtime.classify import IDLE, UNKNOWN
from focovil.realtime.encoder import file_metadata
from focovil.realtime.motion import motion_energy
from focovil.realtime.paths import DEFAULT_ENCODER
from focovil.realtime.session import Session
from focovil.realtime.settings import Settings
from focovil.realtime.strictness import threshold_at

NTU = "data/videos/ntu_multiview"


def labels_of(session: Session, clip) -> list:
    return [w.prediction for fr in session.frames(clip) for w in fr.windows]


def test_real_library_rejects_a_real_clip_of_an_action_it_does_not_hold(shared_dir, tmp_path):
    """A library of "falling" and "pick up" recorded from real NTU clips: the real "drink water"
    clip is "unknown" in every window, while the same fall seen by another camera is still named."""
    with Session(tmp_path / "lib.sqlite3", device="cpu") as s:
        s.save("falling", s.capture(shared_dir / NTU / "S001C001P006R001A043_rgb.avi"))
        s.save("pick up", s.capture(shared_dir / NTU / "S001C001P004R001A006_rgb.avi"))
        other = labels_of(s, shared_dir / "data/videos/ntu_S001C001P001R001A001_drink_water.avi")
        assert other and all(p.label == UNKNOWN and p.state == UNKNOWN for p in other), Counter(p.label for p in other)
        assert all(p.similarity < s.recognizer.threshold for p in other)
        fall = labels_of(s, shared_dir / NTU / "S001C002P006R001A043_rgb.avi")
        assert fall and all(p.label == "falling" for p in fall)


def test_a_real_person_standing_still_is_idle_until_a_still_pose_is_recorded(shared_dir, tmp_path):
    """The first half second of a real NTU clip, before the fall starts, is "idle" (windows of 0.5 s
    so that the still stretch fills one); the fall after it is not. Recorded as "standing", the
    same stretch is named "standing", and the fall still is not."""
    clip = shared_dir / NTU / "S001C001P007R001A043_rgb.avi"
    short = dataclasses.replace(Settings(), window_s=0.5, stride_s=0.25)
    with Session(tmp_path / "lib.sqlite3", settings=short, device="cpu") as s:
        s.save("falling", s.capture(shared_dir / NTU / "S001C001P006R001A043_rgb.avi"))
        preds = labels_of(s, clip)
        assert preds[0].label == IDLE and preds[0].state == IDLE and preds[0].motion < short.idle_motion_m
        assert IDLE not in {p.label for p in preds[-3:]} and max(p.motion for p in preds) > 0.1
        s.save("standing", s.capture(clip, 0.0, 0.5))
        again = labels_of(s, clip)
        assert again[0].label == "standing" and "standing" not in {p.label for p in again[-3:]}


def test_headless_json_says_which_state(shared_dir, tmp_path):
    """The same clip against the shipped library (its "pick up" was recorded from it) and an empty
    one: every line's state follows from its label, and the two runs differ as they must."""
    import shutil

    from focovil.realtime.paths import SHIPPED_LIBRARY
    from conftest import run_main
    from tests.test_cli import lines
    shutil.copyfile(SHIPPED_LIBRARY, tmp_path / "shipped.sqlite3")
    runs = {}
    for name in ("shipped", "empty"):
        out = tmp_path / f"{name}.jsonl"
        r = run_main("--headless", "--video", str(shared_dir / NTU / "S001C001P004R001A006_rgb.avi"), "--out", str(out),
                     "--library", str(tmp_path / f"{name}.sqlite3"), "--strictness", "30")
        assert r.returncode == 0, r.stderr[-2000:]
        runs[name] = lines(out)[:-1]
        assert runs[name] and all(row["state"] == ("action" if row["label"] not in (UNKNOWN, IDLE, "no person")
                                                   else row["label"]) for row in runs[name])
        assert all(row["motion"] > Settings().idle_motion_m for row in runs[name])      # the person moves throughout
    assert {(row["state"], row["label"]) for row in runs["shipped"]} == {("action", "pick up")}
    assert {(row["state"], row["label"], row["similarity"]) for row in runs["empty"]} == {(UNKNOWN, UNKNOWN, None)}


def test_shipped_encoders_carry_a_strictness_table_that_tightens_with_the_level():
    for f in (DEFAULT_ENCODER, DEFAULT_ENCODER.with_name("focovil_protocol.pt")):
        meta = file_metadata(f)
        t = meta.metrics["strictness"]
        assert np.all(np.diff(t["thresholds"]) >= 0), f
        # the app's reader gives the table's own threshold at each measured level (and between two, a value between)
        assert [threshold_at(meta, lv) for lv in t["levels"]] == pytest.approx(t["thresholds"], abs=1e-6), f
        assert t["thresholds"][21] <= threshold_at(meta, 27.5) <= t["thresholds"][22], f
        assert np.all(np.diff(t["named_right"]) <= 1e-9) and np.all(np.diff(t["rejected"]) >= -1e-9)
        assert threshold_at(meta, 0) < threshold_at(meta, Settings().strictness) < threshold_at(meta, 50)


def test_motion_energy_counts_one_moving_arm_but_not_one_jittery_joint():
    rng = np.random.default_rng(0)
    still = np.zeros((32, 20, 3)) + rng.normal(scale=0.005, size=(32, 20, 3))
    jitter = still.copy()
    jitter[:, 7] += rng.normal(scale=0.2, size=(32, 3))            # one hand joint jumps about
    wave = still.copy()
    wave[:, [5, 6, 7], 0] += 0.2 * np.sin(np.linspace(0, 6, 32))[:, None]   # elbow, wrist, hand move
    assert motion_energy(still) < 0.03 and motion_energy(jitter) < 0.03 < motion_energy(wave)
    assert motion_energy(np.full((32, 20, 3), np.nan)) == 0.0       # nobody: no motion, not an error
