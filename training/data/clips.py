"""A clip is one canonical skeleton sequence with whatever is known about it.

``ClipBank`` keeps every clip in one flat float tensor so that a batch of random temporal crops,
resampled to the encoder's length, is a single gather (no per-sample Python loop in the hot path).
One sequence at a time is resampled by ``realtime.window`` (``resample_frames``), as in the app.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import torch

from focovil.realtime.window import resample_frames  # noqa: F401  (the one resampler; training.data re-exports it)

log = logging.getLogger(__name__)

MIN_FRAMES = 5  # shorter clips carry no motion worth learning from (NW-UCLA has a 1-frame file)


@dataclass
class Clip:
    name: str
    skeleton: np.ndarray          # [T, J, 3] canonical, float32
    label: int                    # class index (0-based) or -1 when unknown
    label_name: str
    view: int                     # camera view (1-based) or 0 for single-view data
    subject: int
    instance: str                 # the same real performance seen by several cameras shares this
    source: str                   # dataset name


def too_short(name: str, n_frames: int) -> bool:
    if n_frames < MIN_FRAMES:
        log.warning("skipping %s: %d frame(s), fewer than %d", name, n_frames, MIN_FRAMES)
        return True
    return False


class ClipBank:
    """All clips of a training set, concatenated: ``frames[offsets[i]:offsets[i]+lengths[i]]``."""

    def __init__(self, clips: list[Clip]):
        if not clips:
            raise ValueError("no clips to train on")
        self.clips = clips
        self.lengths = torch.tensor([len(c.skeleton) for c in clips], dtype=torch.long)
        self.offsets = torch.cumsum(self.lengths, 0) - self.lengths
        self.frames = torch.from_numpy(np.concatenate([c.skeleton for c in clips]).astype(np.float32))
        # Instances: clips of the same performance from different cameras are positives.
        keys: dict[str, list[int]] = {}
        for i, c in enumerate(clips):
            keys.setdefault(c.instance, []).append(i)
        self.groups = list(keys.values())

    def __len__(self) -> int:
        return len(self.clips)

    def crop(self, idx: torch.Tensor, start: torch.Tensor, end: torch.Tensor, length: int) -> torch.Tensor:
        """Clips ``idx`` between fractional positions ``start``..``end`` (0..1), resampled to ``length``."""
        span = (self.lengths[idx] - 1).float().unsqueeze(1)
        u = torch.linspace(0, 1, length).unsqueeze(0)
        pos = (start.unsqueeze(1) + (end - start).unsqueeze(1) * u) * span
        i0 = pos.floor().long().clamp(min=0)
        i1 = torch.minimum(i0 + 1, span.long())
        w = (pos - i0.float()).unsqueeze(-1).unsqueeze(-1)
        base = self.offsets[idx].unsqueeze(1)
        return self.frames[base + i0] * (1 - w) + self.frames[base + i1] * w

    def full(self, length: int) -> torch.Tensor:
        """Every clip, whole, resampled to ``length`` frames: ``[N, length, J, 3]``."""
        n = len(self)
        idx = torch.arange(n)
        return self.crop(idx, torch.zeros(n), torch.ones(n), length)
