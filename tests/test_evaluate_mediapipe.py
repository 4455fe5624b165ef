"""The MediaPipe-domain evaluation on the real two-camera capture (real MediaPipe, the app's frame path)."""
import numpy as np
import pytest

from focovil.realtime.encoder import load_encoder
from focovil.realtime.settings import Settings
from focovil.training.data.video_skeletons import LIGHTSTAGE, video_windows
from focovil.training.evaluate_mediapipe import LENGTH, multiview
from focovil.training.protocols import aligned_joints


@pytest.fixture(scope="module")
def cams(shared_dir):
    """Both cameras' windows at the app's own pose rate for one person (what a user's app sees;
    ``benchmarks/pipeline_cost.py`` measures the same retrieval there within a point of every frame)."""
    videos = shared_dir / "data/videos"
    return [video_windows(videos, rel, LENGTH, pose_fps=Settings().pose_rate()) for rel in LIGHTSTAGE]


def test_same_instant_from_two_cameras_is_found_by_the_encoder_far_more_than_by_aligned_joints(cams):
    offsets = np.round(np.arange(-2.0, 2.0 + 1e-9, 0.2), 2)
    enc = load_encoder("weights/focovil_protocol.pt", device="cpu")
    got, base = (multiview(fn, *cams, 0.4, offsets) for fn in (enc.embed, aligned_joints))
    a, b = cams
    assert len(a.windows) == len(b.windows) > 140                     # 32 s at 0.2 s, both cameras
    chance = got["cam5->cam21"]["chance_top1"]
    assert 0.02 < chance < 0.05                                        # 5 of ~150 windows lie within 0.4 s
    assert got["top1_mean"] > 2 * base["top1_mean"] and got["top1_mean"] > 5 * chance
    assert got["top5_mean"] >= got["top1_mean"]
    curve = np.array(got["similarity_by_offset"])
    assert abs(offsets[np.argmax(curve)]) <= 0.2                       # most similar at the same instant
