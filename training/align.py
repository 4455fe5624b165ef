"""Coarse view alignment, in TorchScript-able torch so it ships inside the exported encoder.

For a window ``x`` of canonical skeletons ``[B, T, J, 3]`` (y up):

1. translate: ``x <- x - p``, ``p`` = mean pelvis over the first ``k`` frames (``k = 0``: all frames);
2. rotate about the vertical: with ``a = mean_t[(l_sho - r_sho) + (l_hip - r_hip)]`` over the same
   frames, ``(a_x, a_z) / ||(a_x, a_z)||``, apply ``R_y`` with ``cos = -a_x, sin = -a_z`` so the
   body's left-to-right axis points along ``-x``: everyone faces the camera (``-z``);
3. scale: ``x <- x / mean_t ||neck - pelvis||`` (torso length = 1), which removes body size
   (adults and children) and sensor distance errors.

The facing estimate is coarse: on NW-UCLA the same performance seen by two Kinects gives body yaws
that disagree by a median 18-48 degrees from the cameras' true offset (Kinect v1 fits a
near-frontal skeleton whatever the view). Training therefore adds a random yaw of up to
``yaw_jitter`` after alignment (training mode only), so the encoder learns to absorb that error.

``retarget=True`` then rebuilds every skeleton from its unit bone directions with one template of
bone lengths (:data:`TEMPLATE`, torso = 1), so every sensor and every body, a child's or an adult's,
a Kinect's waist-high hips or MediaPipe's anatomical ones, has the same proportions: only the
directions of the bones, i.e. the motion, are left to tell actions apart.

Only proper rotations are used, so a mirror image stays a mirror image (left-hand actions do not
become right-hand actions). The result is exactly invariant to any rotation about the vertical and
any translation of the input, which is what lets a prototype recorded from one camera match the
same action seen from another.
"""
from __future__ import annotations

import torch
from torch import nn

from focovil.realtime.skeleton import BONES, NUM_JOINTS, J

# Bone lengths of the canonical body in torso lengths (pelvis -> neck = 1), one per bone of BONES:
# the mean of Kinect v1 (NW-UCLA, median over all clips) and MediaPipe (the real NTU clips in
# ../shared), left and right averaged. Measured 2026-12-01 (Kinect / MediaPipe): head 0.75 / 0.35,
# shoulder 0.43 / 0.33, upper arm 0.67 / 0.51, forearm 0.62 / 0.48, hand 0.21 / 0.17, hip 0.18 /
# 0.23, thigh 1.25 / 0.77, shin 0.97 / 0.75, foot 0.24 / 0.19: Kinect's hips sit near the waist, so
# its torso is short and its legs long.
_SEGMENT = {"spine": 0.5, "neck": 0.5, "head": 0.55, "shoulder": 0.38, "elbow": 0.59, "wrist": 0.55, "hand": 0.19,
            "hip": 0.20, "knee": 1.01, "ankle": 0.86, "foot": 0.21}
TEMPLATE: tuple[float, ...] = tuple(_SEGMENT[next(k for k in _SEGMENT if name.endswith(k))]
                                    for name in (list(J)[c] for _, c in BONES))


class ViewAlign(nn.Module):
    def __init__(self, ref_frames: int = 0, enabled: bool = True, level: bool = False, yaw_jitter: float = 0.0,
                 retarget: bool = False):
        super().__init__()
        self.retarget = retarget
        # Bone b joins bone_from[b] -> bone_to[b]; paths[j, b] = 1 when bone b lies between the pelvis and j.
        self.register_buffer("bone_from", torch.tensor([p for p, _ in BONES]), persistent=False)
        self.register_buffer("bone_to", torch.tensor([c for _, c in BONES]), persistent=False)
        self.register_buffer("lengths", torch.tensor(TEMPLATE), persistent=False)
        self.register_buffer("paths", _paths(), persistent=False)
        self.ref_frames = ref_frames
        self.enabled = enabled
        self.level = level
        self.yaw_jitter = yaw_jitter     # radians; training only: the facing estimate is noisy
        self.pelvis, self.neck = J["pelvis"], J["neck"]
        self.l_sho, self.r_sho = J["left_shoulder"], J["right_shoulder"]
        self.l_hip, self.r_hip = J["left_hip"], J["right_hip"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p, n = self.pelvis, self.neck
        if not self.enabled:
            return x - x[:, :1, p:p + 1, :]
        if self.level:
            x = self._level(x)
        ref = x[:, : self.ref_frames] if self.ref_frames > 0 else x
        origin = ref[:, :, p, :].mean(dim=1)                                       # [B, 3]
        across = ((ref[:, :, self.l_sho] - ref[:, :, self.r_sho]) + (ref[:, :, self.l_hip] - ref[:, :, self.r_hip])).mean(dim=1)
        ax, az = across[:, 0], across[:, 2]
        norm = torch.sqrt(ax * ax + az * az).clamp_min(1e-6)
        c, s = -ax / norm, -az / norm                                               # [B]
        if self.training and self.yaw_jitter > 0:
            d = (torch.rand_like(c) * 2 - 1) * self.yaw_jitter
            c, s = c * torch.cos(d) - s * torch.sin(d), s * torch.cos(d) + c * torch.sin(d)
        zero, one = torch.zeros_like(c), torch.ones_like(c)
        rot = torch.stack([torch.stack([c, zero, s], -1),
                           torch.stack([zero, one, zero], -1),
                           torch.stack([-s, zero, c], -1)], dim=1)                 # [B, 3, 3]
        centred = x - origin[:, None, None, :]
        out = torch.einsum("bij,btkj->btki", rot, centred)
        torso = torch.linalg.vector_norm(x[:, :, n] - x[:, :, p], dim=-1).mean(dim=1).clamp_min(1e-3)
        out = out / torso[:, None, None, None]
        return self._retarget(out) if self.retarget else out

    def _retarget(self, x: torch.Tensor) -> torch.Tensor:
        """Every bone's direction kept, its length the template's; the pelvis stays where it is."""
        bones = x[:, :, self.bone_to] - x[:, :, self.bone_from]                                  # [B, T, K bones, 3]
        unit = bones / torch.linalg.vector_norm(bones, dim=-1, keepdim=True).clamp_min(1e-6)
        offsets = torch.einsum("jk,btkc->btjc", self.paths, unit * self.lengths[:, None])
        return x[:, :, self.pelvis:self.pelvis + 1] + offsets

    def _level(self, x: torch.Tensor) -> torch.Tensor:
        """Turn the mean torso direction (pelvis -> neck) onto +y: removes camera pitch and roll."""
        u = (x[:, :, self.neck] - x[:, :, self.pelvis]).mean(dim=1)
        u = u / torch.linalg.vector_norm(u, dim=-1, keepdim=True).clamp_min(1e-6)            # [B, 3]
        ux, uy, uz = u[:, 0], u[:, 1], u[:, 2]
        # Rodrigues for the rotation taking u to y = (0, 1, 0): v = u x y = (-uz, 0, ux), c = uy.
        k = 1.0 / (1.0 + uy).clamp_min(1e-6)
        zero = torch.zeros_like(ux)
        rot = torch.stack([torch.stack([1 - ux * ux * k, -ux, -ux * uz * k], -1),
                           torch.stack([ux, uy, uz], -1),
                           torch.stack([-ux * uz * k, -uz, 1 - uz * uz * k], -1)], dim=1)
        p = x[:, :, self.pelvis].mean(dim=1)[:, None, None, :]
        return torch.einsum("bij,btkj->btki", rot, x - p) + p


def _paths() -> torch.Tensor:
    parent_bone = {c: b for b, (_, c) in enumerate(BONES)}
    paths = torch.zeros(NUM_JOINTS, len(BONES))
    for j in range(NUM_JOINTS):
        k = j
        while k in parent_bone:
            paths[j, parent_bone[k]] = 1.0
            k = BONES[parent_bone[k]][0]
    return paths
