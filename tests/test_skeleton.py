"""The canonical skeleton contract (realtime/skeleton.py) checked on REAL data from both sources.

Kinect v1 (NW-UCLA) and MediaPipe (real NTU RGB+D video through realtime/pose.py) must pass the very
same checks: if one mapping had an axis or the left/right labels wrong, an encoder trained on one
source would silently see a mirrored or upside-down person from the other.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from focovil.realtime.pose import PoseEstimator, PoseModelError
from focovil.realtime.skeleton import J, MIRROR, NUM_JOINTS, facing_direction, from_kinect_v1, toe_direction

def skeletons_of(camera_skeletons, clip: str):
    """Timestamps, canonical skeletons and who-was-seen of a video, through the app's own frame path,
    pose on every frame (the mapping is checked frame by frame, not the pose rate)."""
    times, skels = camera_skeletons(clip)
    return times, skels, np.isfinite(skels).all(axis=(1, 2))


NWUCLA_CLIP = "data/nw-ucla/all_sqe/a01_s01_e00_v01.json"
NTU_DRINK = "data/videos/ntu_S001C001P001R001A001_drink_water.avi"
NTU_FALLS = ("data/videos/ntu_multiview/S001C001P006R001A043_rgb.avi",
             "data/videos/ntu_multiview/S001C002P006R001A043_rgb.avi")

# Median bone lengths over a clip, metres, adults. Measured (left / right):
#   NW-UCLA a01_s01_e00_v01 (Kinect): upper arm .24/.26, forearm .21/.23, thigh .46/.46, shank .37/.35,
#                                     shoulder width .31
#   NTU drink water (MediaPipe):      upper arm .24/.29, forearm .21/.26, thigh .41/.41, shank .35/.38,
#                                     shoulder width .30
#   All 1474 NW-UCLA clips of >= 10 frames, 1st..99th percentile: upper arm .20-.32, thigh .35-.60,
#   shank .26-.45 (Kinect places its hip joints low, so thighs run long and shanks short).
# Ranges are anatomical plausibility with that spread, not fitted to one clip. Hip width is not
# checked: Kinect's hip joints sit closer together (median .14 m) than MediaPipe's (.21 m).
BONE_RANGES = {  # name: (joint suffix a, joint suffix b, min, max)
    "upper_arm": ("shoulder", "elbow", 0.18, 0.40),
    "forearm": ("elbow", "wrist", 0.15, 0.35),
    "thigh": ("hip", "knee", 0.30, 0.65),
    "shank": ("knee", "ankle", 0.25, 0.55),
}
SHOULDER_WIDTH = (0.22, 0.50)
SYMMETRY = (0.75, 1.33)  # left / right length ratio
# facing . toe > 0.5 means chest and toes within 60 degrees. Measured 0.97 (NW-UCLA clip) and
# 1.00 (NTU clip); Kinect v1's foot joints are noisy, so a tighter threshold would be fragile.
FACING_MIN_DOT = 0.5


def _median_dist(seq: np.ndarray, a: str, b: str) -> float:
    return float(np.median(np.linalg.norm(seq[:, J[a]] - seq[:, J[b]], axis=-1)))


def left_right_measures(seq: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(facing . toe, median x of left minus right shoulder, toe direction)."""
    toe = toe_direction(seq)
    dot = float(facing_direction(seq) @ toe)
    side = float(np.median(seq[:, J["left_shoulder"], 0] - seq[:, J["right_shoulder"], 0]))
    return dot, side, toe


def check_left_right(seq: np.ndarray) -> dict[str, float]:
    dot, side, toe = left_right_measures(seq)
    assert dot > FACING_MIN_DOT, f"left/right: chest (from L/R labels) and toes disagree, dot {dot:.2f}"
    # The toes do not depend on left/right labels: they tell that the person faces the camera (-z).
    assert toe[2] < -0.5, f"test clip should show the person facing the camera, toes point {toe}"
    # Facing the camera, the person's left is the camera's right, i.e. -x in the canonical frame.
    assert side < 0, f"left/right: left shoulder is at +x ({side:+.3f} m) on a person facing the camera"
    return {"facing_dot_toe": dot, "left_minus_right_shoulder_x": side}


def check_up(seq: np.ndarray) -> dict[str, float]:
    head, pelvis = seq[:, J["head"], 1], seq[:, J["pelvis"], 1]
    ankles = seq[:, [J["left_ankle"], J["right_ankle"]], 1].mean(axis=1)
    ok = float(np.mean((head > pelvis) & (pelvis > ankles)))
    assert ok >= 0.95, f"up: head > pelvis > ankles (y) in only {ok:.0%} of frames"
    return {"head_y": float(np.median(head)), "pelvis_y": float(np.median(pelvis)),
            "ankle_y": float(np.median(ankles))}


def check_bones(seq: np.ndarray) -> dict[str, float]:
    out: dict[str, float] = {}
    for name, (a, b, lo, hi) in BONE_RANGES.items():
        left = _median_dist(seq, f"left_{a}", f"left_{b}")
        right = _median_dist(seq, f"right_{a}", f"right_{b}")
        out[f"left_{name}"], out[f"right_{name}"] = left, right
        assert lo < left < hi and lo < right < hi, f"bones: {name} {left:.3f}/{right:.3f} m not in {lo}-{hi}"
        assert SYMMETRY[0] < left / right < SYMMETRY[1], f"bones: {name} left/right {left / right:.2f}"
    width = _median_dist(seq, "left_shoulder", "right_shoulder")
    out["shoulder_width"] = width
    assert SHOULDER_WIDTH[0] < width < SHOULDER_WIDTH[1], f"bones: shoulder width {width:.3f} m"
    return out


def check_canonical(seq: np.ndarray) -> dict[str, float]:
    """All contract checks for one standing person facing the camera; returns the measurements."""
    assert seq.ndim == 3 and seq.shape[1:] == (NUM_JOINTS, 3) and seq.dtype == np.float32
    seq = seq[np.isfinite(seq).all(axis=(1, 2))]
    assert len(seq) > 0, "no frame with a skeleton"
    return {**check_left_right(seq), **check_up(seq), **check_bones(seq)}


def mirror_x(seq: np.ndarray) -> np.ndarray:
    """x -> -x, labels kept: the mirror image of a person, still labelled as the original person."""
    return seq * np.array([-1.0, 1.0, 1.0], dtype=np.float32)


# --------------------------------------------------------------------------- sources

@pytest.fixture(scope="module")
def nwucla(shared_dir: Path) -> np.ndarray:
    data = json.loads((shared_dir / NWUCLA_CLIP).read_text())
    return from_kinect_v1(np.asarray(data["skeletons"], dtype=np.float32))


@pytest.fixture(scope="module")
def ntu_mediapipe(camera_skeletons) -> np.ndarray:
    _, seq, present = skeletons_of(camera_skeletons, NTU_DRINK)  # 103 frames, about 8 s
    assert present.all(), f"person found in {present.sum()}/{len(present)} frames (README: all)"
    return seq


SOURCES = ["nwucla", "ntu_mediapipe"]


@pytest.mark.parametrize("source", SOURCES)
def test_canonical_checks(source: str, request: pytest.FixtureRequest) -> None:
    m = check_canonical(request.getfixturevalue(source))
    print(source, {k: round(v, 3) for k, v in m.items()})


@pytest.mark.parametrize("source", SOURCES)
def test_mirrored_sequence_fails_left_right(source: str, request: pytest.FixtureRequest) -> None:
    seq = request.getfixturevalue(source)
    mirrored = mirror_x(seq)
    dot, side, _ = left_right_measures(seq)
    mdot, mside, _ = left_right_measures(mirrored)
    # a cosine and a distance in metres: the mirror itself is exact, the measures after it float32 (~1e-7)
    assert mdot == pytest.approx(-dot, abs=1e-5) and mside == pytest.approx(-side, abs=1e-5)
    with pytest.raises(AssertionError, match="left/right"):
        check_left_right(mirrored)
    # Swapping the labels as well turns the mirror image back into a valid person: the check is
    # about handedness, not about the sign of x.
    check_canonical(mirrored[:, list(MIRROR)])


def test_nwucla_left_right_over_all_front_view_clips(shared_dir: Path) -> None:
    """One clip can be lucky; the Kinect mapping must hold over the whole camera-1 view."""
    dots, sides = [], []
    for path in sorted((shared_dir / "data/nw-ucla/all_sqe").glob("*_v01.json")):
        seq = from_kinect_v1(np.asarray(json.loads(path.read_text())["skeletons"], dtype=np.float32))
        if len(seq) < 10:
            continue
        dot, side, toe = left_right_measures(seq)
        dots.append(dot)
        if toe[2] < -0.8:  # clearly facing the camera
            sides.append(side)
    dots_a, sides_a = np.array(dots), np.array(sides)
    # Measured: 513 clips, median dot 0.87, 99.4% > 0; 182 facing the camera, all with side < 0.
    assert len(dots_a) > 400 and np.median(dots_a) > 0.7 and np.mean(dots_a > 0) > 0.97
    assert len(sides_a) > 100 and np.mean(sides_a < 0) > 0.98


@pytest.mark.parametrize("clip", NTU_FALLS, ids=["camera1", "camera2"])
def test_ntu_fall_clip_maps(clip: str, camera_skeletons) -> None:
    times, seq, present = skeletons_of(camera_skeletons, clip)  # 62 frames, about 5 s
    assert len(times) == len(seq) == len(present) == 62 and np.all(np.diff(times) > 0)
    assert present.mean() >= 0.9, f"person found in only {present.sum()}/{len(present)} frames"
    assert np.isfinite(seq[present]).all() and np.isnan(seq[~present]).all()
    seq = seq[present]
    standing, lying = seq[:15], seq[-10:]
    assert left_right_measures(standing)[0] > FACING_MIN_DOT
    check_up(standing)
    check_bones(standing)
    torso = seq[:, J["neck"]] - seq[:, J["pelvis"]]
    upright = torso[:, 1] / np.linalg.norm(torso, axis=1)  # 1 = torso along +y
    # Measured: about 0.97-0.99 before the fall, -0.2..0.1 on the floor.
    assert upright[:15].min() > 0.9 and np.median(upright[-10:]) < 0.5


# --------------------------------------------------------------------------- PoseEstimator

def test_missing_model_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "no_such_model.task"
    with pytest.raises(FileNotFoundError, match="no_such_model.task"):
        PoseEstimator(missing)


def test_non_model_file_is_named(tmp_path: Path) -> None:
    bogus = tmp_path / "not_a_model.task"
    bogus.write_text("this is not a pose model\n")
    with pytest.raises(PoseModelError, match="not_a_model.task"):
        PoseEstimator(bogus)


def test_nobody_in_view_gives_none_and_timestamps_may_repeat() -> None:
    black = np.zeros((480, 640, 3), dtype=np.uint8)
    with PoseEstimator() as est:
        assert est.detect_all(black, 100) == []
        assert est.detect_all(black, 100) == []  # equal timestamp: bumped, not a crash
        assert est.detect_all(black, 50) == []   # decreasing as well


def test_real_frame_without_person_gives_none(shared_dir: Path) -> None:
    import cv2

    cap = cv2.VideoCapture(str(shared_dir / NTU_DRINK))
    ok, frame = cap.read()
    cap.release()
    assert ok
    with PoseEstimator() as est:
        found = est.detect_all(frame, 0)
        assert len(found) == 1 and found[0].skeleton.shape == (NUM_JOINTS, 3)
        assert found[0].image_landmarks.shape == (33, 3)
        # The person stands at x = 0.52..0.58 of the image; the left third of the room is empty.
        assert est.detect_all(np.ascontiguousarray(frame[:, :700]), 40) == []


def test_follows_the_largest_then_keeps_them_and_a_selection_wins(tmp_path: Path) -> None:
    from focovil.realtime.pose import PoseResult
    from focovil.realtime.session import Session
    from focovil.realtime.tracking import Person

    def person(track: int, cx: float, size: float) -> Person:
        lm = np.ones((33, 3), dtype=np.float32)
        lm[:, 0] = cx + np.linspace(-size, size, 33)
        lm[:, 1] = 0.5 + np.linspace(-size, size, 33)
        return Person(track, PoseResult(np.zeros((NUM_JOINTS, 3), np.float32), lm, np.zeros((33, 3), np.float32)))

    s = Session(tmp_path / "lib.sqlite3")
    small, big = person(1, 0.2, 0.05), person(2, 0.7, 0.3)
    assert s.follow.pick([small, big]).track == 2                       # nobody followed yet: the largest
    assert s.follow.pick([person(1, 0.2, 0.4), person(2, 0.7, 0.1)]).track == 2   # then the same person
    s.follow.selected = 1
    assert s.follow.pick([small, big]).track == 1                       # a click picks someone else
    assert s.follow.pick([big]).track == 2                              # out of view: the one in view
    assert s.follow.pick([big, small]).track == 1                       # back in view: the selection again