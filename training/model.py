"""FoCoViL encoder: view alignment -> sequence encoder -> embedding; plus a projection head for the loss.

Input features per frame are the aligned joint positions and their frame-to-frame velocities
(``2 * J * 3`` channels). Two encoder families, chosen by measurement (see the model card):

* ``tcn``: 1-D temporal convolutions with BatchNorm, mean+max pooled over time;
* ``gru``: a 2-layer bidirectional GRU as in P&C (Su et al. 2020), mean-pooled over time.

The embedding the app stores and searches is the L2-normalised encoder output (before the
projection head, which only serves the contrastive loss, as in SimCLR/MoCo v2).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from realtime.skeleton import BONES, NUM_JOINTS
from training.align import ViewAlign


def _features(x: torch.Tensor, bones: bool = False, parents: torch.Tensor | None = None,
              children: torch.Tensor | None = None) -> torch.Tensor:
    """``[B, T, J, 3]`` aligned -> ``[B, T, C]``: positions, velocities (and bone vectors)."""
    b, t = x.shape[0], x.shape[1]
    pos = x.reshape(b, t, -1)
    vel = torch.cat([pos[:, 1:] - pos[:, :-1], torch.zeros_like(pos[:, :1])], dim=1)
    if bones and parents is not None and children is not None:
        bone = (x.index_select(2, children) - x.index_select(2, parents)).reshape(b, t, -1)
        return torch.cat([pos, vel, bone], dim=-1)
    return torch.cat([pos, vel], dim=-1)


class TCN(nn.Module):
    def __init__(self, in_ch: int, width: int = 64, dim: int = 256, dropout: float = 0.1):
        super().__init__()

        def block(i: int, o: int, k: int, s: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv1d(i, o, k, stride=s, padding=k // 2), nn.BatchNorm1d(o), nn.ReLU(inplace=True))
        self.net = nn.Sequential(block(in_ch, width, 5, 1), block(width, 2 * width, 5, 2), nn.Dropout(dropout),
                                 block(2 * width, 4 * width, 3, 2))
        self.out = nn.Linear(8 * width, dim)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        h = self.net(f.transpose(1, 2))                       # [B, C, T']
        return self.out(torch.cat([h.mean(dim=2), h.amax(dim=2)], dim=1))


class BiGRU(nn.Module):
    def __init__(self, in_ch: int, width: int = 64, dim: int = 256, dropout: float = 0.1):
        super().__init__()
        self.inp = nn.Sequential(nn.Linear(in_ch, width), nn.ReLU(inplace=True))
        self.gru = nn.GRU(width, width, num_layers=2, batch_first=True, bidirectional=True, dropout=dropout)
        self.out = nn.Linear(2 * width, dim)

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        h, _ = self.gru(self.inp(f))
        return self.out(h.mean(dim=1))


class Encoder(nn.Module):
    """Raw canonical windows ``[B, T, J, 3]`` -> L2-normalised embeddings ``[B, dim]``."""

    def __init__(self, arch: str = "tcn", width: int = 64, dim: int = 256, align: bool = True,
                 align_frames: int = 0, dropout: float = 0.1, align_level: bool = False, yaw_jitter: float = 0.0,
                 bones: bool = False):
        super().__init__()
        self.align = ViewAlign(ref_frames=align_frames, enabled=align, level=align_level, yaw_jitter=yaw_jitter)
        self.bones = bones
        self.register_buffer("bone_parents", torch.tensor([p for p, _ in BONES]), persistent=False)
        self.register_buffer("bone_children", torch.tensor([c for _, c in BONES]), persistent=False)
        in_ch = 2 * NUM_JOINTS * 3 + (len(BONES) * 3 if bones else 0)
        if arch == "tcn":
            self.backbone: nn.Module = TCN(in_ch, width, dim, dropout)
        elif arch == "gru":
            self.backbone = BiGRU(in_ch, width, dim, dropout)
        else:
            raise ValueError(f"unknown encoder family {arch!r} (tcn or gru)")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(_features(self.align(x), self.bones, self.bone_parents, self.bone_children))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.features(x), dim=1)


class FoCoViL(nn.Module):
    """Encoder + projection head (the head is dropped at export)."""

    def __init__(self, proj_dim: int = 128, **encoder_kw):
        super().__init__()
        self.encoder = Encoder(**encoder_kw)
        dim = self.encoder.backbone.out.out_features
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.BatchNorm1d(dim), nn.ReLU(inplace=True), nn.Linear(dim, proj_dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.head(self.encoder.features(x)), dim=1)
