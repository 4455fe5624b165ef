"""FoCoViL encoder: view alignment -> sequence encoder -> embedding; plus a projection head for the loss.

Input features per frame are, by default, the aligned joint positions and their frame-to-frame
velocities (``2 * J * 3`` channels; other streams below). Three encoder families, compared by
measurement (the shipped files use ``tcn``; see the model card):

* ``tcn``: 1-D temporal convolutions with BatchNorm, mean+max pooled over time;
* ``gru``: a 2-layer bidirectional GRU as in P&C (Su et al. 2020), mean-pooled over time;
* ``stgcn``: a small spatial-temporal graph network (ST-GCN, Yan et al. 2018, with the learnable
  adjacency offset of 2s-AGCN): each joint keeps its own channels, so a limb's motion is not mixed
  into one flat vector at the first layer. Per layer ``h <- ReLU(BN(TConv(ReLU(BN(sum_k A_k h W_k)))) + h)``
  with ``A_0 = I``, ``A_1`` the normalised bone adjacency (both directions) and a learned ``B`` added.

``stream``: ``joint`` feeds positions + velocities; ``bone`` feeds bone vectors (child - parent) +
their velocities, the second stream of the two-stream models (2s-AGCN, 3s-CrosSCLR);
``invariant`` (flat families only) feeds only quantities that no rotation about the vertical
changes, so the coarse facing estimate's error cannot reach the encoder: per frame, every joint's
height ``y_j``, its horizontal distance from the pelvis' vertical axis
``r_j = ||(x_j - x_pelvis, z_j - z_pelvis)||``, and the distances ``||p_a - p_b||`` between every
pair of the nine end points (head, hands, elbows, knees, feet); plus their velocities.
``direction`` feeds unit bone vectors ``(p_c - p_p) / ||p_c - p_p||`` (+ velocities): body
proportions and the Kinect's view-dependent bone-length errors drop out, only limb orientation stays.

The embedding the app stores and searches is the L2-normalised encoder output (before the
projection head, which only serves the contrastive loss, as in SimCLR/MoCo v2).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from focovil.realtime.skeleton import BONES, NUM_JOINTS, J
from focovil.training.align import ViewAlign


def _bone_vectors(x: torch.Tensor, parents: torch.Tensor) -> torch.Tensor:
    """``[B, T, J, 3]`` -> child minus parent for every joint (the root's own bone is zero)."""
    return x - x.index_select(2, parents)


def _joint_features(x: torch.Tensor, stream: str, bones: bool, parents: torch.Tensor) -> torch.Tensor:
    """``[B, T, J, 3]`` aligned -> ``[B, T, J, C]``: the stream's vectors and their velocities."""
    base = _bone_vectors(x, parents) if stream in ("bone", "direction") else x
    if stream == "motion":
        # No static pose at all: where each joint goes over 4 frames (about 0.27 s at 15 fps). A
        # monocular pose model's view-dependent errors are mostly static (a limb's depth guessed
        # wrong for a while), so motion is what two cameras agree on.
        pad = torch.cat([x[:, :1].expand(-1, 2, -1, -1), x, x[:, -1:].expand(-1, 2, -1, -1)], dim=1)
        base = pad[:, 4:] - pad[:, :-4]
    if stream == "trajectory":
        # The window's path of each joint about its own mean: any error held over the window cancels.
        base = x - x.mean(dim=1, keepdim=True)
    if stream == "direction":
        base = base / torch.linalg.vector_norm(base, dim=-1, keepdim=True).clamp_min(1e-3)
    vel = torch.cat([base[:, 1:] - base[:, :-1], torch.zeros_like(base[:, :1])], dim=1)
    if bones and stream == "joint":
        return torch.cat([base, vel, _bone_vectors(x, parents)], dim=-1)
    return torch.cat([base, vel], dim=-1)


KEY_JOINTS = ("head", "left_hand", "right_hand", "left_elbow", "right_elbow", "left_knee", "right_knee",
              "left_foot", "right_foot")


def key_pairs() -> tuple[torch.Tensor, torch.Tensor]:
    """Joint indices ``(a, b)`` of every pair of :data:`KEY_JOINTS`."""
    pairs = [(J[a], J[b]) for i, a in enumerate(KEY_JOINTS) for b in KEY_JOINTS[i + 1:]]
    return torch.tensor([a for a, _ in pairs]), torch.tensor([b for _, b in pairs])


def invariant_features(x: torch.Tensor, pairs_a: torch.Tensor, pairs_b: torch.Tensor) -> torch.Tensor:
    """``[B, T, J, 3]`` aligned -> ``[B, T, C]`` yaw-invariant: heights, radii, end-point distances (+ velocities)."""
    pelvis = x[:, :, :1]
    height = x[..., 1]
    rel = x - pelvis
    radius = torch.sqrt(rel[..., 0] ** 2 + rel[..., 2] ** 2 + 1e-8)
    dist = torch.linalg.vector_norm(x.index_select(2, pairs_a) - x.index_select(2, pairs_b), dim=-1)
    f = torch.cat([height, radius, dist], dim=-1)
    return torch.cat([f, torch.cat([f[:, 1:] - f[:, :-1], torch.zeros_like(f[:, :1])], dim=1)], dim=-1)


def _adjacency() -> torch.Tensor:
    """``[2, J, J]``: identity and the symmetric-normalised bone graph."""
    a = torch.zeros(NUM_JOINTS, NUM_JOINTS)
    for p, c in BONES:
        a[p, c] = a[c, p] = 1.0
    d = a.sum(1).clamp_min(1).rsqrt()
    return torch.stack([torch.eye(NUM_JOINTS), d[:, None] * a * d[None, :]])


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


class GraphBlock(nn.Module):
    def __init__(self, i: int, o: int, stride: int, adjacency: torch.Tensor, dropout: float):
        super().__init__()
        self.register_buffer("a", adjacency)
        self.b = nn.Parameter(torch.zeros_like(adjacency))
        self.spatial = nn.Conv2d(i, o * adjacency.shape[0], 1)
        self.bn1 = nn.BatchNorm2d(o)
        self.temporal = nn.Sequential(nn.Conv2d(o, o, (5, 1), (stride, 1), (2, 0)), nn.BatchNorm2d(o), nn.Dropout(dropout))
        self.res = nn.Identity() if i == o and stride == 1 else nn.Sequential(nn.Conv2d(i, o, 1, (stride, 1)), nn.BatchNorm2d(o))
        self.k, self.o = adjacency.shape[0], o

    def forward(self, h: torch.Tensor) -> torch.Tensor:          # [B, C, T, J]
        b, _, t, v = h.shape
        y = self.spatial(h).view(b, self.k, self.o, t, v)
        y = torch.einsum("bkctv,kvw->bctw", y, self.a + self.b)
        y = self.temporal(torch.relu(self.bn1(y)))
        return torch.relu(y + self.res(h))


class STGCN(nn.Module):
    def __init__(self, in_ch: int, width: int = 64, dim: int = 256, dropout: float = 0.1):
        super().__init__()
        a = _adjacency()
        self.bn = nn.BatchNorm1d(in_ch * NUM_JOINTS)
        self.blocks = nn.Sequential(GraphBlock(in_ch, width, 1, a, dropout), GraphBlock(width, width, 1, a, dropout),
                                    GraphBlock(width, 2 * width, 2, a, dropout), GraphBlock(2 * width, 2 * width, 2, a, dropout))
        self.out = nn.Linear(4 * width, dim)

    def forward(self, f: torch.Tensor) -> torch.Tensor:          # [B, T, J, C]
        b, t, v, c = f.shape
        f = self.bn(f.reshape(b, t, v * c).transpose(1, 2)).view(b, v, c, t).permute(0, 2, 3, 1)
        h = self.blocks(f)                                       # [B, C', T', J]
        return self.out(torch.cat([h.mean(dim=(2, 3)), h.amax(dim=(2, 3))], dim=1))


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
                 bones: bool = False, stream: str = "joint", retarget: bool = False):
        super().__init__()
        if stream not in ("joint", "bone", "direction", "invariant", "motion", "trajectory"):
            raise ValueError(f"unknown input stream {stream!r} (joint, bone, direction, invariant, motion or trajectory)")
        if stream == "invariant" and arch == "stgcn":
            raise ValueError("the invariant stream has no per-joint layout: use it with tcn or gru")
        self.align = ViewAlign(ref_frames=align_frames, enabled=align, level=align_level, yaw_jitter=yaw_jitter,
                               retarget=retarget)
        self.bones, self.stream, self.graph = bones, stream, arch == "stgcn"
        parents = [0] * NUM_JOINTS
        for p, c in BONES:
            parents[c] = p
        self.register_buffer("bone_parents", torch.tensor(parents), persistent=False)
        pairs_a, pairs_b = key_pairs()
        self.register_buffer("pairs_a", pairs_a, persistent=False)
        self.register_buffer("pairs_b", pairs_b, persistent=False)
        per_joint = 3 * (3 if bones and stream == "joint" else 2)
        flat = 2 * (2 * NUM_JOINTS + len(pairs_a)) if stream == "invariant" else per_joint * NUM_JOINTS
        if arch == "tcn":
            self.backbone: nn.Module = TCN(flat, width, dim, dropout)
        elif arch == "gru":
            self.backbone = BiGRU(flat, width, dim, dropout)
        elif arch == "stgcn":
            self.backbone = STGCN(per_joint, width, dim, dropout)
        else:
            raise ValueError(f"unknown encoder family {arch!r} (tcn, gru or stgcn)")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if self.stream == "invariant":
            return self.backbone(invariant_features(self.align(x), self.pairs_a, self.pairs_b))
        f = _joint_features(self.align(x), self.stream, self.bones, self.bone_parents)
        if not self.graph:   # flat families: [all positions, all velocities, ...] per frame
            b, t, v, c = f.shape
            f = f.view(b, t, v, c // 3, 3).transpose(2, 3).flatten(2)
        return self.backbone(f)

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
