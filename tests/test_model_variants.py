"""The encoder families and augmentations the validation sweep chose between."""
import math

import pytest
import torch

from focovil.training import augment
from focovil.training.augment import LIMBS, limb_drift
from focovil.training.model import Encoder

# Tolerances in each quantity's own units (float32 throughout; noise measured on 2026-12's machines, issue 30):
COORD_ATOL = 1e-6        # skeleton coordinates (randn, |x| < ~4): the same float32 operations on them give the same
                         # bits (0 seen); a depth scale leaking 1e-4 of itself into x or y moves them by ~1e-5
EMBED_ATOL = 1e-5        # unit embeddings (32 components, ~0.2 each), eager against TorchScript: 0 seen, ~1e-7
                         # where a build fuses differently
YAW_EMBED_ATOL = 1e-4    # unit embeddings of a window and of it turned 70 degrees: the alignment's float32 rotation
                         # leaves ~1e-7 (seen); a rotation off by 0.1 % moves them by more than 1e-4
FEATURE_ATOL = 1e-5      # invariant features (heights, radii, distances; ~1) of a turned window: ~7e-7 seen; a radius
                         # off by 1e-4 of itself moves them by more


def test_limb_drift_moves_exactly_one_limb_of_each_hit_window():
    x = torch.randn(64, 16, 20, 3)
    out = limb_drift(x, p=1.0, generator=torch.Generator().manual_seed(0))
    moved = (out - x).abs().amax(dim=(1, 3)) > 0                      # [B, J]
    limb_joints = [set(j) for j in LIMBS]
    for row in moved:
        joints = set(torch.nonzero(row).flatten().tolist())
        assert joints in limb_joints


def test_limb_drift_off_leaves_windows_untouched():
    x = torch.randn(8, 16, 20, 3)
    assert torch.equal(limb_drift(x, p=0.0), x)


def test_depth_scale_changes_depth_but_never_height():
    x = torch.randn(32, 8, 20, 3)
    kw = dict(max_tilt=0.0, scale=(1.0, 1.0), jitter=0.0)
    plain = augment.spatial(x, **kw, generator=torch.Generator().manual_seed(1))
    deep = augment.spatial(x, **kw, depth_scale=0.3, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(plain[..., 1], deep[..., 1], atol=COORD_ATOL)
    assert not torch.allclose(plain[..., 2], deep[..., 2], atol=1e-3)          # depth moves by up to 30 %: ~1
    assert torch.allclose(plain[..., 0], deep[..., 0], atol=COORD_ATOL)


@pytest.mark.parametrize("arch,stream", [("tcn", "bone"), ("tcn", "direction"), ("tcn", "invariant"), ("tcn", "motion"), ("tcn", "trajectory"),
                                         ("stgcn", "joint"), ("stgcn", "bone")])
def test_every_family_scripts_and_keeps_rotation_invariance(arch, stream):
    enc = Encoder(arch=arch, stream=stream, width=16, dim=32).eval()
    scripted = torch.jit.script(enc)
    x = torch.randn(3, 32, 20, 3) * 0.3
    a = math.radians(70)
    rot = torch.tensor([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    with torch.no_grad():
        e, e_rot, e_script = enc(x), enc(x @ rot.T), scripted(x)
    assert e.shape == (3, 32)
    assert torch.allclose(e, e_script, atol=EMBED_ATOL)
    assert torch.allclose(e, e_rot, atol=YAW_EMBED_ATOL)


def test_unknown_stream_is_refused_by_name():
    with pytest.raises(ValueError, match="stream"):
        Encoder(stream="angles")
    with pytest.raises(ValueError, match="invariant"):
        Encoder(arch="stgcn", stream="invariant")


def test_invariant_features_ignore_yaw_even_without_alignment():
    from focovil.training.model import invariant_features, key_pairs
    x = torch.randn(2, 8, 20, 3)
    a = math.radians(130)
    rot = torch.tensor([[math.cos(a), 0, math.sin(a)], [0, 1, 0], [-math.sin(a), 0, math.cos(a)]])
    f, f_rot = invariant_features(x, *key_pairs()), invariant_features(x @ rot.T, *key_pairs())
    assert f.shape == (2, 8, 2 * (20 + 20 + 36))
    assert torch.allclose(f, f_rot, atol=FEATURE_ATOL)


def test_limb_depth_mirrors_or_stretches_one_limb_along_the_camera_axis_only():
    from focovil.training.augment import LIMB_ROOTS, limb_depth
    x = torch.randn(64, 8, 20, 3)
    y = limb_depth(x, 1.0, generator=torch.Generator().manual_seed(0))
    assert torch.equal(y[..., :2], x[..., :2])                         # x and y never change
    moved = (y - x).abs().amax(dim=(1, 3)) > 0                         # [B, J]
    for row in moved:
        hit = [k for k, (_, *below) in enumerate(LIMB_ROOTS) if row[below].any()]
        assert len(hit) == 1 and not row[[r for r, *_ in LIMB_ROOTS]].any()   # one limb; its root stays
    assert torch.equal(limb_depth(x, 0.0), x)


@pytest.mark.parametrize("stream", ["motion", "trajectory"])
def test_motion_streams_ignore_the_static_pose(stream):
    """A pose held wrong for the whole window (a limb's depth misjudged) changes nothing the
    motion stream sees; the same error arriving mid-window does."""
    enc = Encoder(stream=stream, width=16, dim=32, align=False).eval()
    x = torch.randn(2, 32, 20, 3) * 0.3
    held = x.clone()
    held[:, :, 5:8, 2] += 0.2                       # left arm 20 cm deeper, all window long
    late = x.clone()
    late[:, 16:, 5:8, 2] += 0.2
    with torch.no_grad():
        assert torch.allclose(enc(x), enc(held), atol=EMBED_ATOL)      # ~5e-8 seen; a 1 % leak of the pose: ~4e-5
        assert not torch.allclose(enc(x), enc(late), atol=1e-3)         # 4e-3 seen: 40 000 times the noise
