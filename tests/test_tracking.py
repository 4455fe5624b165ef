"""Several people: each detected person keeps a track id, and gets their own window and label."""
from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pytest

from conftest import run_main
from focovil.realtime.classify import NO_PERSON
from focovil.realtime.paths import SHIPPED_LIBRARY
from focovil.realtime.pose import PoseResult
from focovil.realtime.session import Session
from focovil.realtime.settings import Settings
from focovil.realtime.tracking import MAX_MISSING_S, Tracker
from focovil.training.data.side_by_side import FALL_AND_DRINK, LIGHTSTAGE, LIGHTSTAGE_GAPS, side_of, two_person_clip

TWO = dataclasses.replace(Settings(), persons=2)


def person(x: float, y: float = 0.5, h: float = 0.4) -> PoseResult:
    """Image landmarks of a standing figure centred at (x, y), ``h`` tall (all visible)."""
    rng = np.random.default_rng(int(x * 1000))
    lm = np.column_stack([x + rng.uniform(-0.05, 0.05, 33), y + np.linspace(-h / 2, h / 2, 33), np.ones(33)])
    return PoseResult(np.zeros((20, 3), np.float32), lm.astype(np.float32), np.zeros((33, 3), np.float32))


def test_tracker_keeps_ids_through_a_short_gap_and_gives_a_newcomer_a_new_one():
    tr = Tracker()
    ids = [p.track for p in tr.update(0.0, [person(0.2), person(0.7)])[0]]
    assert ids == [1, 2]
    assert [p.track for p in tr.update(0.1, [person(0.71), person(0.21)])[0]] == [2, 1]   # order does not matter
    tr.update(0.2, [person(0.72)])                                # person 1 hidden for a while
    people, ended = tr.update(0.2 + MAX_MISSING_S * 0.9, [person(0.22), person(0.73)])
    assert [p.track for p in people] == [1, 2] and not ended
    people, ended = tr.update(5.0, [person(0.45, h=0.8)])          # both gone long ago; someone new
    assert ended == [1, 2] and [p.track for p in people] == [3]


@pytest.fixture(scope="module")
def two_people(shared_dir, tmp_path_factory):
    lib = tmp_path_factory.mktemp("lib") / "lib.sqlite3"
    shutil.copyfile(SHIPPED_LIBRARY, lib)
    with Session(lib, settings=TWO, device="cpu") as s:
        return [(fr.t, [p.track for p in fr.people], fr.windows) for fr in
                s.frames(shared_dir / "data/videos/arm_wrestling_partial_bodies.mp4")]


def test_two_people_get_two_stable_tracks_each_with_its_own_windows(two_people):
    """The real two-person clip (both cut off by the frame; MediaPipe finds someone in about half
    the frames): both people are tracked, ids stay few (4 made for 2 people in 10 s, measured by
    benchmarks/tracking.py), and every window names whose it is."""
    tracks = {k for _t, ids, _w in two_people for k in ids}
    both = [ids for _t, ids, _w in two_people if len(ids) == 2]
    assert both and all(len(set(ids)) == 2 for ids in both)
    assert 2 <= len(tracks) <= 4 and 0 not in tracks, tracks               # 0 is nobody's id
    windows = [w for _t, _ids, ws in two_people for w in ws]
    assert {w.track for w in windows if w.track} <= tracks
    assert any(w.prediction.label != NO_PERSON for w in windows if w.track)   # a tracked person is labelled
    nobody = [w for w in windows if w.track == 0]                           # track 0: nobody tracked at all
    assert nobody and all(w.prediction.label == NO_PERSON for w in nobody)


def test_a_single_person_clip_keeps_one_track_from_start_to_end(shared_dir, tmp_path):
    lib = tmp_path / "lib.sqlite3"
    shutil.copyfile(SHIPPED_LIBRARY, lib)
    with Session(lib, settings=TWO, device="cpu") as s:
        frames = list(s.frames(shared_dir / "data/videos/ntu_S001C001P001R001A001_drink_water.avi"))
    ids = [p.track for fr in frames for p in fr.people]
    assert len(ids) == len(frames) >= 34 and set(ids) == {1}          # 103 frames at 30 fps, pose at 10
    labels = [w.prediction.label for fr in frames for w in fr.windows]
    assert labels and all(w.track == 1 for fr in frames for w in fr.windows)
    assert max(set(labels), key=labels.count) == "drink water"


def run_sides(clip: Path, lib: Path) -> list[tuple[int, dict[str, int], list]]:
    """Per frame: index, {side of the frame: track id} and the windows that frame finished."""
    shutil.copyfile(SHIPPED_LIBRARY, lib)
    with Session(lib, settings=TWO, device="cpu") as s:
        return [(k, {side_of(p.pose.image_landmarks): p.track for p in fr.people}, fr.windows)
                for k, fr in enumerate(s.frames(clip))]


def test_two_people_side_by_side_each_keep_one_id_and_get_their_own_label_at_once(shared_dir, tmp_path):
    """Two real NTU performers in one frame (a fall filmed by camera 2 on the left, "drink water" on
    the right): one id each from start to end, and each person's windows are labelled from their
    own skeletons, at the same moments: the fall (recorded once, from camera 1) and "drink water"."""
    clip = two_person_clip(shared_dir / "data/videos", FALL_AND_DRINK, tmp_path / "two.avi")
    frames = run_sides(clip, tmp_path / "lib.sqlite3")
    ids = {side: {f[side] for _k, f, _w in frames if side in f} for side in ("left", "right")}
    assert all(len(v) == 1 for v in ids.values()) and ids["left"] != ids["right"], ids
    assert sum(len(f) == 2 for _k, f, _w in frames) >= 0.9 * len(frames)
    left, right = ids["left"].pop(), ids["right"].pop()
    labels = {k: [w.prediction.label for _k, _f, ws in frames for w in ws if w.track == k] for k in (left, right)}
    assert labels[left][0] == "falling" and "drink water" not in labels[left]
    assert labels[right].count("drink water") == len(labels[right]) > 0
    assert any({w.track for w in ws} == {left, right} for _k, _f, ws in frames)      # both named at once


def test_a_short_occlusion_keeps_the_id_and_a_long_absence_ends_it(shared_dir, tmp_path):
    """The two synchronised cameras' clips side by side (one person each), the right one blacked out
    for 1 s and the left for 3 s: the right keeps its id, the left comes back with a new one, and no
    id ever moves from one person to the other."""
    clip = two_person_clip(shared_dir / "data/videos", LIGHTSTAGE, tmp_path / "gaps.avi", max_frames=250,
                           blank=LIGHTSTAGE_GAPS)
    frames = run_sides(clip, tmp_path / "lib.sqlite3")
    seen = {side: [(k, f[side]) for k, f, _w in frames if side in f] for side in ("left", "right")}
    assert len({t for _k, t in seen["right"]}) == 1
    left_ids = [t for _k, t in seen["left"]]
    assert len(set(left_ids)) == 2 and left_ids == sorted(left_ids)
    first_new = next(k for k, t in seen["left"] if t == left_ids[-1])
    assert first_new >= LIGHTSTAGE_GAPS["left"][0][1]
    assert not {t for _k, t in seen["right"]} & set(left_ids)


def test_record_one_person_of_two(shared_dir, tmp_path):
    lib = tmp_path / "lib.sqlite3"
    clip = str(shared_dir / "data/videos/arm_wrestling_partial_bodies.mp4")
    r = run_main("record", "--label", "arm wrestling", "--video", clip, "--end", "5", "--persons", "2", "--person",
                 "largest", "--library", str(lib))      # the first 5 s: both people are in it
    assert r.returncode == 0, r.stderr[-2000:]
    bad = run_main("record", "--label", "x", "--video", clip, "--end", "3", "--persons", "2", "--person", "99",
                   "--library", str(lib))
    assert bad.returncode != 0 and "person 99 was not seen" in bad.stderr and "Traceback" not in bad.stderr
    listed = run_main("library", "list", "--library", str(lib))
    assert '"arm wrestling"' in listed.stdout and '"x"' not in listed.stdout


def test_headless_lines_name_their_track_and_the_summary_counts_tracks(shared_dir, tmp_path):
    from tests.test_cli import lines
    out = tmp_path / "labels.jsonl"
    r = run_main("--headless", "--video", str(shared_dir / "data/videos/arm_wrestling_partial_bodies.mp4"),
                "--persons", "2", "--out", str(out), "--library", str(tmp_path / "lib.sqlite3"))
    assert r.returncode == 0, r.stderr[-2000:]
    rows = lines(out)
    summary, windows = rows[-1], rows[:-1]
    assert 2 <= summary["tracks"] <= 4 and set(summary["labels_by_track"]) == {str(w["track"]) for w in windows if w["track"]}
    assert all(isinstance(w["track"], int) for w in windows)
