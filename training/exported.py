"""The module an encoder file holds: the learned encoder, alone or with its hand-made parts or a
camera head (``Exported``), and how its metadata describes those parts (``hybrid_of``, ``parts_of``).
``training.export`` writes it."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from focovil.realtime.skeleton import NUM_JOINTS
from focovil.training.model import Encoder


def motion_features(aligned: torch.Tensor, step: int = 4, every: int = 4) -> torch.Tensor:
    """``[B, T, J, 3]`` aligned windows -> ``[B, D]``: each joint's displacement over ``step`` frames,
    every ``every`` frames (the hybrid's motion part, before normalising)."""
    return (aligned[:, step:] - aligned[:, :-step])[:, ::every].flatten(1)


HEAD_BLOCKS = ("encoder", "motion", "positions")   # the camera head's possible inputs, in this order


class Exported(nn.Module):
    """Encoder embedding, optionally joined with hand-made features of the aligned window (a *hybrid*).

    ``e = [sqrt(1 - w_p - w_m) f(x), sqrt(w_p) normalize(P^T (vec(align(x)) - mu)), sqrt(w_m) normalize(m(x))]``
    with ``f`` the encoder's unit embedding, ``P`` the top principal axes of the training windows'
    aligned joints, and ``m`` the motion of the aligned joints: each joint's displacement over
    ``motion_step`` frames, every ``motion_every`` frames. Every part is a unit vector, so ``e`` is
    one and cosine similarity is the weighted sum of the parts' cosines.

    A *camera head* (``head_axes``, fitted by ``training.camera_head``) replaces that sum with a learned
    linear map: ``e = normalize(W^T (h(x) - mu))``, ``h`` the chosen blocks of :data:`HEAD_BLOCKS`
    (encoder embedding, normalised joint motion, normalised aligned joint positions every
    ``motion_every`` frames), ``W`` fitted so the 8 MediaPipe cameras of one instant land together.

    Why motion: on real MediaPipe video of one person filmed by two cameras 110 degrees apart, these
    displacements alone find the same instant in the other camera for 68 % of windows, against 2 %
    for the aligned joints' positions and 42 % for the app's learned encoder
    (``training.evaluate_mediapipe``): a monocular pose model's view-dependent errors are mostly
    static (a limb's depth misjudged for a while), and motion is what two cameras agree on.
    """

    def __init__(self, encoder: Encoder, pca_mean: torch.Tensor | None = None,
                 pca_axes: torch.Tensor | None = None, pca_weight: float = 0.0,
                 motion_weight: float = 0.0, motion_step: int = 4, motion_every: int = 4,
                 head_mean: torch.Tensor | None = None, head_axes: torch.Tensor | None = None,
                 head_blocks: tuple[str, ...] = ()):
        super().__init__()
        self.encoder = encoder
        self.pca_weight = float(pca_weight)
        self.motion_weight = float(motion_weight)
        self.motion_step, self.motion_every = int(motion_step), int(motion_every)
        if not 0.0 <= self.pca_weight + self.motion_weight < 1.0:
            raise ValueError(f"the PCA and motion weights must leave the encoder a share: {pca_weight} + {motion_weight}")
        self.register_buffer("pca_mean", pca_mean if pca_mean is not None else torch.zeros(0))
        self.register_buffer("pca_axes", pca_axes if pca_axes is not None else torch.zeros(0, 0))
        unknown = set(head_blocks) - set(HEAD_BLOCKS)
        if unknown:
            raise ValueError(f"unknown camera-head inputs {sorted(unknown)}; known: {HEAD_BLOCKS}")
        if head_axes is not None and head_axes.numel() and (self.pca_weight or self.motion_weight or not head_blocks):
            raise ValueError("a camera head takes the whole embedding: no hybrid weights beside it, and at least one input")
        self.head_blocks = tuple(b for b in HEAD_BLOCKS if b in head_blocks)     # for the metadata
        self.head_encoder, self.head_motion = "encoder" in head_blocks, "motion" in head_blocks
        self.head_positions = "positions" in head_blocks
        self.register_buffer("head_mean", head_mean if head_mean is not None else torch.zeros(0))
        self.register_buffer("head_axes", head_axes if head_axes is not None else torch.zeros(0, 0))

    @torch.jit.export
    def head_inputs(self, x: torch.Tensor) -> torch.Tensor:
        """The camera head's input: the chosen blocks, each a unit vector (see :data:`HEAD_BLOCKS`)."""
        parts: list[torch.Tensor] = []
        if self.head_encoder:
            parts.append(self.encoder(x))
        if self.head_motion or self.head_positions:      # the encoder aligns inside itself; these need it here
            a = self.encoder.align(x)
            if self.head_motion:
                parts.append(F.normalize(motion_features(a, self.motion_step, self.motion_every), dim=1))
            if self.head_positions:
                parts.append(F.normalize(a[:, ::self.motion_every].flatten(1), dim=1))
        return torch.cat(parts, dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.head_axes.numel() > 0:
            return F.normalize((self.head_inputs(x) - self.head_mean) @ self.head_axes, dim=1)
        e = self.encoder(x)
        if self.pca_weight <= 0.0 and self.motion_weight <= 0.0:
            return e
        a = self.encoder.align(x)
        parts = [e * math.sqrt(1.0 - self.pca_weight - self.motion_weight)]
        if self.pca_weight > 0.0:
            p = F.normalize((a.flatten(1) - self.pca_mean) @ self.pca_axes, dim=1)
            parts.append(p * math.sqrt(self.pca_weight))
        if self.motion_weight > 0.0:
            m = motion_features(a, self.motion_step, self.motion_every)
            parts.append(F.normalize(m, dim=1) * math.sqrt(self.motion_weight))
        return torch.cat(parts, dim=1)

    @torch.jit.export
    def align(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder.align(x)

    def motion_dims(self, window: int) -> int:
        return len(range(0, window - self.motion_step, self.motion_every)) * NUM_JOINTS * 3 if self.motion_weight > 0 else 0


def exported(encoder: Encoder, hybrid: dict | None, pca_mean: torch.Tensor | None = None,
             pca_axes: torch.Tensor | None = None, head_mean: torch.Tensor | None = None,
             head_axes: torch.Tensor | None = None) -> Exported:
    """The exported module an encoder file's ``hybrid`` metadata describes (None: the encoder alone)."""
    h = hybrid or {}
    return Exported(encoder, pca_mean, pca_axes, pca_weight=float(h.get("weight", 0.0)),
                    motion_weight=float(h.get("motion_weight", 0.0)), motion_step=int(h.get("motion_step", 4)),
                    motion_every=int(h.get("motion_every", 4)), head_mean=head_mean, head_axes=head_axes,
                    head_blocks=tuple(h.get("head", {}).get("blocks", ()))).eval()


def hybrid_of(module: Exported, window: int) -> tuple[dict | None, int]:
    """``(hybrid metadata, embedding size)`` of an exported module."""
    h: dict = {}
    dim = int(module.encoder.backbone.out.out_features)
    if module.head_axes.numel() > 0:
        return {"head": {"blocks": list(module.head_blocks), "dims": int(module.head_axes.shape[1])},
                "motion_step": module.motion_step, "motion_every": module.motion_every}, int(module.head_axes.shape[1])
    if module.pca_weight > 0:
        h.update(weight=module.pca_weight, pca_dims=int(module.pca_axes.shape[1]))
        dim += int(module.pca_axes.shape[1])
    if module.motion_weight > 0:
        h.update(motion_weight=module.motion_weight, motion_step=module.motion_step, motion_every=module.motion_every)
        dim += module.motion_dims(window)
    return h or None, dim


def parts_of(module: Exported, window: int, chosen_on: str = "") -> list[dict]:
    """The embedding's parts, first-class in the metadata: each one's share of the cosine similarity,
    size, whether it was learned, and what its weight was chosen on (``chosen_on``)."""
    w_p, w_m = module.pca_weight, module.motion_weight
    if module.head_axes.numel() > 0:
        names = {"encoder": "the learned encoder's embedding (FoCoViL)", "motion": "joint motion (hand-made)",
                 "positions": "aligned joint positions (hand-made)"}
        return [{"part": "camera head", "kind": "learned linear map (training.camera_head: the 8 MediaPipe cameras of "
                 "one TotalCapture instant pulled together) of " + ", ".join(names[b] for b in module.head_blocks),
                 "weight": 1.0,
                 "dims": int(module.head_axes.shape[1]), "inputs": list(module.head_blocks),
                 "chosen_on": chosen_on or "not recorded"}]
    parts = [{"part": "encoder", "kind": "learned (FoCoViL, training_data)", "weight": round(1.0 - w_p - w_m, 6),
              "dims": int(module.encoder.backbone.out.out_features), "chosen_on": "what the hand-made parts leave"}]
    if w_p > 0:
        parts.append({"part": "aligned-joint PCA", "kind": "hand-made (PCA of the training windows)", "weight": w_p,
                      "dims": int(module.pca_axes.shape[1]), "chosen_on": chosen_on or "not recorded"})
    if w_m > 0:
        parts.append({"part": "joint motion", "kind": "hand-made, no training (each aligned joint's displacement "
                      f"over {module.motion_step} frames, every {module.motion_every})", "weight": w_m,
                      "dims": module.motion_dims(window), "chosen_on": chosen_on or "not recorded"})
    return parts
