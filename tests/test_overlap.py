"""Two people who overlap: re-detection finds the one the pose model merged away (realtime/redetect.py).

Real frames throughout: two NTU performers filmed by the same camera in the same room, composited
so that they walk into each other and part again (training/data/overlap.py), run through the app's
own loop with --persons 2; numbers as measured by benchmarks/overlap.py, with a margin.
"""
from __future__ import annotations

import argparse

import cv2
import numpy as np
import pytest

from benchmarks.overlap import id_switches, run, summarise
from focovil.realtime.pose import PoseEstimator
from focovil.realtime.redetect import paint_out
from focovil.training.data.overlap import NTU_PAIR, overlap_case


@pytest.fixture(scope="module")
def composite(shared_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("overlap") / "ntu_pair.avi"
    return out, overlap_case(shared_dir / "data/videos", NTU_PAIR, out)


def test_the_composite_goes_from_apart_to_overlapping_and_back(composite):
    clip, truth = composite
    assert cv2.VideoCapture(str(clip)).get(cv2.CAP_PROP_FRAME_COUNT) == len(truth.overlap) == 103
    assert not np.isnan(truth.landmarks).any()                       # both people found in their own clips
    ov = truth.overlap
    assert ov[0] < -1 and ov[-1] < -1 and ov.max() > 0.5              # well apart, overlapping, apart again
    assert (ov >= 0).sum() >= 25 and truth.hidden.max() > 0.2         # about a second of overlap, one half-hidden
    left, right = truth.landmarks[:, 0, :, 0].mean(axis=1), truth.landmarks[:, 1, :, 0].mean(axis=1)
    assert (left < right).all()                                       # nobody crosses: identity = side


def test_redetection_finds_both_people_where_they_overlap(composite, tmp_path):
    """Measured (benchmarks/overlap.py, every frame): both found in 11 % of the overlapping frames
    without re-detection, 64 % with it (15 % -> 77 % where the bodies overlap by up to half a body
    width); apart (bodies up to 3 widths apart) 78 % -> 100 %; id switches 3 -> 1."""
    clip, truth = composite
    off, on = (summarise(run(clip, mode, tmp_path, truth, pose_fps=0), truth) for mode in (False, True))
    assert off["frames"] == on["frames"] == 103
    assert off["both_found_overlapping"] <= 0.25 and off["found_as_one_overlapping"] >= 0.7
    assert on["both_found_overlapping"] >= 0.45 and on["both_found_overlap_0_50"] >= 0.6
    assert on["both_found_apart"] >= 0.95 > off["both_found_apart"]
    assert on["id_switches"] <= off["id_switches"]
    assert 0 < on["redetect_calls"] <= 2 * on["frames"] and off["redetect_calls"] == 0


def test_one_person_costs_no_second_look(shared_dir):
    """With one person looked for there is no second landmarker at all (even if asked for); with two
    and one person in view it looks once a second (someone may have come in beside them), adds
    nobody, and by default (off) there is none either."""
    clip = cv2.VideoCapture(str(shared_dir / "data/videos/ntu_S001C001P001R001A001_drink_water.avi"))
    frames = [cv2.resize(f, (640, 360)) for ok, f in iter(clip.read, (False, None))]
    with PoseEstimator(num_poses=1, redetect=True) as one, PoseEstimator(num_poses=2, redetect=True) as two:
        assert one.redetector is None and two.redetector is not None
        found = [(len(one.detect_all(f, k * 33)), len(two.detect_all(f, k * 33))) for k, f in enumerate(frames)]
        calls = two.redetector.calls
    assert len(found) == 103 and all(n == (1, 1) for n in found)
    assert calls <= 4                                                 # 3.4 s: one look per second
    with PoseEstimator(num_poses=2) as default:
        assert default.redetector is None


def test_the_command_line_turns_redetection_on(tmp_path):
    """``--redetect`` reaches the session's pose estimator, and only with more than one person."""
    from focovil.realtime.options import add_session_options, session_from
    for argv, expect in ((["--persons", "2", "--redetect"], True), (["--persons", "2"], False),
                         (["--redetect"], False)):
        ap = argparse.ArgumentParser()
        add_session_options(ap)
        a = ap.parse_args(argv + ["--library", str(tmp_path / "lib.sqlite3")])
        with session_from(a) as s, s.pose() as est:
            assert (est.redetector is not None) == expect, argv


def test_painting_out_a_person_leaves_the_rest_of_the_frame(composite):
    """What the second look sees: the found person's body painted over, nothing else touched."""
    clip, truth = composite
    ok, frame = cv2.VideoCapture(str(clip)).read()
    rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
    painted = paint_out(rgb, [truth.landmarks[0, 0]])
    changed = (painted != rgb).any(axis=2)
    h, w = changed.shape
    x = truth.landmarks[0, :, :, 0] * w
    assert changed[:, round(x[0].min()):round(x[0].max())].any()                        # the left person
    assert not changed[:, round(x[1].min()):].any()                                     # the right one kept
    assert 0.002 < changed.mean() < 0.2


def test_id_switches_count_changes_and_shared_ids():
    rows = [{"t": 0.0, "who": {0: 1, 1: 2}}, {"t": 0.1, "who": {0: 2, 1: 1}}, {"t": 9.0, "who": {0: 3}}]
    assert id_switches(rows) == 4                     # two changes, two ids on both people; 3: after 8.9 s away
