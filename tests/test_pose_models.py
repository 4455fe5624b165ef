"""Pose models by name: the shipped lite and full bundles are the files the build script makes, lite
finds the same person as full on real frames, and a model that is not there says how to build it."""
from __future__ import annotations

import hashlib

import numpy as np
import pytest

from focovil.realtime.paths import DEMO_CLIP, WEIGHTS, pose_model_path
from focovil.realtime.pose import PoseEstimator
from focovil.realtime.source import open_source
from focovil.training.build_pose_bundle import EXPECTED_SHA256


@pytest.mark.parametrize("name", ["lite", "full"])
def test_shipped_bundles_are_the_ones_the_build_script_makes(name):
    path = pose_model_path(name)
    assert path == WEIGHTS / f"pose_landmarker_{name}.task"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == EXPECTED_SHA256[name]


def test_a_missing_named_model_says_how_to_build_it(tmp_path, monkeypatch):
    import focovil.realtime.paths as paths
    monkeypatch.setattr(paths, "WEIGHTS", tmp_path)
    with pytest.raises(FileNotFoundError, match="build_pose_bundle --variant heavy"):
        paths.pose_model_path("heavy")
    assert paths.pose_model_path("my.task").name == "my.task"       # anything else is a path


def test_lite_finds_the_person_full_finds_within_a_few_centimetres():
    skeletons = {}
    for name in ("lite", "full"):
        with open_source(DEMO_CLIP) as src, PoseEstimator(name) as pose:
            skeletons[name] = np.stack([pose.detect_all(f.image, int(f.t * 1000))[0].skeleton
                                        for f, _ in zip(src, range(30))])
    gap = np.linalg.norm(skeletons["lite"] - skeletons["full"], axis=-1)
    assert np.median(gap) < 0.05 and gap.mean() > 0.0005, (np.median(gap), gap.mean())   # close, yet another model
