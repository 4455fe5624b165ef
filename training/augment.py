"""Augmentations that keep view invariance honest.

Rotation about the vertical is undone exactly by the alignment, so what the encoder must learn to
ignore comes from the rest: camera pitch/roll (small tilts the yaw-only alignment cannot remove),
body proportions (per-axis scale), sensor noise (jitter), and timing (temporal crop = speed change).
Nothing mirrors: a left-hand action must stay a left-hand action.
"""
from __future__ import annotations

import math

import torch


def random_rotation(b: int, max_yaw: float = math.pi, max_tilt: float = math.radians(15),
                    generator: torch.Generator | None = None) -> torch.Tensor:
    """``[B, 3, 3]`` rotations: any yaw about y, and pitch/roll up to ``max_tilt``."""
    def u(lo: float, hi: float) -> torch.Tensor:
        return torch.rand(b, generator=generator) * (hi - lo) + lo
    yaw, pitch, roll = u(-max_yaw, max_yaw), u(-max_tilt, max_tilt), u(-max_tilt, max_tilt)
    cy, sy, cp, sp, cr, sr = yaw.cos(), yaw.sin(), pitch.cos(), pitch.sin(), roll.cos(), roll.sin()
    o, z = torch.ones(b), torch.zeros(b)
    ry = torch.stack([cy, z, sy, z, o, z, -sy, z, cy], 1).view(b, 3, 3)
    rx = torch.stack([o, z, z, z, cp, -sp, z, sp, cp], 1).view(b, 3, 3)
    rz = torch.stack([cr, -sr, z, sr, cr, z, z, z, o], 1).view(b, 3, 3)
    return ry @ rx @ rz


def spatial(x: torch.Tensor, max_tilt: float = math.radians(15), scale: tuple[float, float] = (0.85, 1.15),
            jitter: float = 0.01, shear: float = 0.0, depth_scale: float = 0.0,
            generator: torch.Generator | None = None) -> torch.Tensor:
    """Rotate, shear, scale per axis and jitter a batch of canonical windows ``[B, T, J, 3]``.

    Shear (off-diagonal terms uniform in +-``shear``) mimics other body proportions and the
    perspective errors of depth sensors, the standard skeleton augmentation of CrosSCLR/AimCLR.
    ``depth_scale`` then stretches the (virtual) camera's z axis alone by up to +-that fraction:
    a Kinect's depth, and its guess of limbs hidden along it, errs more than x and y.
    """
    b = x.shape[0]
    rot = random_rotation(b, max_tilt=max_tilt, generator=generator)
    if shear > 0:
        sh = (torch.rand(b, 3, 3, generator=generator) * 2 - 1) * shear
        rot = rot @ (torch.eye(3) + sh * (1 - torch.eye(3)))
    s = torch.rand(b, 1, 1, 3, generator=generator) * (scale[1] - scale[0]) + scale[0]
    if depth_scale > 0:
        dz = 1 + (torch.rand(b, generator=generator) * 2 - 1) * depth_scale
        s = s * torch.stack([torch.ones(b), torch.ones(b), dz], 1).view(b, 1, 1, 3)
    centre = x[:, :1, :1, :]
    out = torch.einsum("bij,btkj->btki", rot, x - centre) * s + centre
    if jitter > 0:
        out = out + torch.randn(out.shape, generator=generator) * jitter
    return out


def random_span(b: int, min_frac: float, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Fractional (start, end) of a temporal crop keeping at least ``min_frac`` of the clip."""
    frac = torch.rand(b, generator=generator) * (1 - min_frac) + min_frac
    start = torch.rand(b, generator=generator) * (1 - frac)
    return start, start + frac


LIMBS = ((5, 6, 7), (9, 10, 11), (13, 14, 15), (17, 18, 19))   # elbow/knee and below, canonical order


def limb_drift(x: torch.Tensor, p: float, size: float = 0.08,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """With probability ``p`` per window, one limb drifts: its joints move by an offset that ramps
    linearly from ``a`` to ``b`` over the window (``a, b ~ N(0, size^2)`` per axis, metres).

    A Kinect that cannot see a limb (the far arm in a side view) guesses it, and the guess wanders;
    this teaches the encoder that a wandering limb is still the same action.
    """
    b, t = x.shape[0], x.shape[1]
    hit = torch.rand(b, generator=generator) < p
    limb = torch.randint(len(LIMBS), (b,), generator=generator)
    mask = torch.zeros(b, x.shape[2])
    for k, joints in enumerate(LIMBS):
        mask[:, list(joints)] += ((limb == k) & hit).float()[:, None]
    ends = torch.randn(b, 2, 3, generator=generator) * size
    ramp = torch.linspace(0, 1, t)[None, :, None]
    offset = ends[:, :1] * (1 - ramp) + ends[:, 1:] * ramp                    # [B, T, 3]
    return x + offset[:, :, None, :] * mask[:, None, :, None]


LIMB_ROOTS = ((4, 5, 6, 7), (8, 9, 10, 11), (12, 13, 14, 15), (16, 17, 18, 19))   # shoulder/hip first


def limb_depth(x: torch.Tensor, p: float, stretch: float = 0.5,
               generator: torch.Generator | None = None) -> torch.Tensor:
    """With probability ``p`` per window, one limb's depth is wrong as a monocular pose model gets it
    wrong: along the camera axis (z, before alignment) the limb below its shoulder or hip is mirrored
    (half the hits: pointing towards the camera instead of away) and stretched by up to +-``stretch``.
    """
    b = x.shape[0]
    hit = torch.rand(b, generator=generator) < p
    limb = torch.randint(len(LIMB_ROOTS), (b,), generator=generator)
    flip = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
    factor = flip * (1 + (torch.rand(b, generator=generator) * 2 - 1) * stretch)          # [B]
    out = x.clone()
    for k, (root, *below) in enumerate(LIMB_ROOTS):
        sel = hit & (limb == k)
        if not bool(sel.any()):
            continue
        z0 = x[sel][:, :, root:root + 1, 2]
        out[sel, :, below[0]:below[-1] + 1, 2] = z0 + (x[sel][:, :, below[0]:below[-1] + 1, 2] - z0) * factor[sel, None, None]
    return out
