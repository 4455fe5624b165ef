"""Coarse view alignment: invariant to turning about the vertical, not fooled by a mirror."""
import math

import numpy as np
import pytest
import torch

from focovil.realtime.skeleton import MIRROR
from focovil.training.align import ViewAlign
from focovil.training.data.nwucla import read_file


# Aligned skeletons are in torso lengths (~0.5 m): float32 alignment of one real clip and of it turned, moved, scaled
# or tilted agree to ~3e-6 (seen); a rotation or scale off by 0.1 % moves them by ~1e-3. Hence 1e-4 (50 um) below.
ALIGNED_ATOL = 1e-4
BONE_ATOL = 1e-5          # retargeted bone lengths (~0.1-0.5 torso) and their agreement: ~2e-7 seen


@pytest.fixture(scope="module")
def real_seq(shared_dir):
    clip = read_file(shared_dir / "data/nw-ucla/all_sqe/a01_s01_e00_v02.json")
    return torch.from_numpy(clip.skeleton).unsqueeze(0)


def yaw(x: torch.Tensor, angle: float) -> torch.Tensor:
    c, s = math.cos(angle), math.sin(angle)
    r = torch.tensor([[c, 0, s], [0, 1, 0], [-s, 0, c]], dtype=x.dtype)
    return x @ r.T


@pytest.mark.parametrize("ref_frames", [0, 8])
@pytest.mark.parametrize("angle", [0.3, 1.7, -2.9, math.pi])
def test_any_rotation_about_vertical_gives_same_aligned_output(real_seq, angle, ref_frames):
    align = ViewAlign(ref_frames=ref_frames)
    moved = yaw(real_seq, angle) + torch.tensor([1.5, -0.2, 2.0])
    assert torch.allclose(align(real_seq), align(moved), atol=ALIGNED_ATOL)


def test_aligned_person_faces_the_camera(real_seq):
    out = ViewAlign()(yaw(real_seq, 2.0))[0].numpy()
    from focovil.realtime.skeleton import facing_direction
    assert facing_direction(out) @ np.array([0, 0, -1.0]) > 0.99


def test_mirrored_sequence_does_not_pass_as_the_same(real_seq):
    align = ViewAlign()
    mirrored = real_seq * torch.tensor([-1.0, 1.0, 1.0])          # a mirror image, labels kept
    a, m = align(real_seq), align(mirrored)
    assert (a - m).abs().max() > 0.1
    # Re-labelling left<->right after mirroring gives a plausible body again; still not the original.
    relabelled = align(mirrored[:, :, list(MIRROR)])
    assert (a - relabelled).abs().mean() > 0.01


def test_scale_is_normalised(real_seq):
    align = ViewAlign()
    assert torch.allclose(align(real_seq), align(real_seq * 0.6), atol=ALIGNED_ATOL)


def test_levelling_also_removes_camera_pitch_and_roll(real_seq):
    from focovil.training.augment import random_rotation
    align = ViewAlign(level=True)
    rot = random_rotation(1, max_tilt=math.radians(30), generator=torch.Generator().manual_seed(0))[0]
    assert torch.allclose(align(real_seq), align(real_seq @ rot.T), atol=ALIGNED_ATOL)
    assert not torch.allclose(ViewAlign()(real_seq), ViewAlign()(real_seq @ rot.T), atol=1e-2)


def test_training_yaw_jitter_is_off_in_eval_mode(real_seq):
    align = ViewAlign(yaw_jitter=1.0)
    assert not torch.allclose(align(real_seq), align(real_seq))
    align.eval()
    assert torch.equal(align(real_seq), align(real_seq))


def test_retargeting_gives_every_body_the_template_and_keeps_the_motion(real_seq, camera_skeletons):
    """One canonical body: a Kinect adult, the same skeleton with a child's limbs, and a real
    MediaPipe person all come out with the template's bone lengths; bone directions are kept."""
    from focovil.training.align import TEMPLATE
    align = ViewAlign(retarget=True)
    out = align(real_seq)
    lengths = torch.linalg.vector_norm(out[:, :, align.bone_to] - out[:, :, align.bone_from], dim=-1)
    assert torch.allclose(lengths, torch.tensor(TEMPLATE).expand_as(lengths), atol=BONE_ATOL)
    plain = ViewAlign()(real_seq)
    def directions(x):
        b = x[:, :, align.bone_to] - x[:, :, align.bone_from]
        return b / torch.linalg.vector_norm(b, dim=-1, keepdim=True)
    assert torch.allclose(directions(out), directions(plain), atol=ALIGNED_ATOL)      # unit bone directions
    child = real_seq.clone()                      # forearms and shins 30 % shorter, directions kept
    for parent, joint in ((5, 6), (9, 10), (13, 14), (17, 18)):
        below = [joint] + [j for j in (7, 11, 15, 19) if j == joint + 1]
        child[:, :, below] -= 0.3 * (real_seq[:, :, joint:joint + 1] - real_seq[:, :, parent:parent + 1])
    assert torch.allclose(align(child), out, atol=ALIGNED_ATOL)
    _, mp = camera_skeletons("data/videos/ntu_S001C001P001R001A001_drink_water.avi")
    m = align(torch.from_numpy(mp[:30]).unsqueeze(0))
    mlen = torch.linalg.vector_norm(m[:, :, align.bone_to] - m[:, :, align.bone_from], dim=-1)
    assert torch.allclose(mlen, lengths[:, :1].expand_as(mlen), atol=BONE_ATOL)
    assert torch.allclose(torch.jit.script(align)(real_seq), out, rtol=0, atol=BONE_ATOL)   # 0 seen: the same ops
