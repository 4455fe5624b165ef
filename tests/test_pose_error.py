"""focovil.training.pose_error on real TotalCapture data: one sequence, two cameras (camera 1: never flipped;
camera 5: MediaPipe sees the actor from the wrong side in most of freestyle3)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation


@pytest.fixture(scope="module")
def freestyle3(totalcapture_root):
    root = totalcapture_root
    from focovil.training.data.totalcapture import load_cameras, load_sequence, load_vicon
    from focovil.training.pose_error import best_offset, measure, summarise
    cams, vicon = load_cameras(root), load_vicon("freestyle3", root)
    streams = load_sequence("freestyle3", root, cameras=(1, 5))
    offset, corr = best_offset(streams, cams, vicon)
    ms = {c: measure(s, cams[c], vicon, offset) for c, s in streams.items()}
    return offset, corr, ms, {c: summarise(m) for c, m in ms.items()}


def test_kabsch_undoes_a_rotation_and_a_shift():
    from focovil.training.pose_error import kabsch
    rng = np.random.default_rng(0)
    q = rng.normal(size=(5, 12, 3))
    rot = Rotation.random(5, random_state=1)
    p = np.einsum("fij,fkj->fki", rot.inv().as_matrix(), q) + rng.normal(size=(5, 1, 3))
    aligned, r = kabsch(p, q)
    assert np.abs(aligned - q).max() < 1e-9              # float64 SVD of exact data: ~1e-15 off; a wrong sign or
    assert np.allclose(r, rot.as_matrix(), rtol=0, atol=1e-9)   # transpose is off by ~1


def test_vicon_through_the_calibration_lands_on_mediapipe(freestyle3):
    offset, corr, ms, s = freestyle3
    assert abs(offset) <= 2 and corr[offset] > corr[3] and corr[offset] > corr[-3]
    m = ms[1]
    assert np.median(m["total"][m["ok"]]) < 0.15                      # metres, hip-centred, camera 1
    assert s[1]["procrustes"] < s[1]["total"]


def test_depth_dominates_the_wrist_error(freestyle3):
    s = freestyle3[3][1]["per_joint"]
    for side in "LR":
        j = s[f"{side}_wrist"]
        assert j["depth"] > 1.5 * j["image"], j


def test_flipped_camera_is_found(freestyle3):
    s = freestyle3[3]
    assert s[5]["flip_share"] > 1 / 3 and s[1]["flip_share"] < 0.05
    assert s[5]["limb_swap_share"]["arms"] > 0.3 > 0.05 > s[1]["limb_swap_share"]["arms"]
