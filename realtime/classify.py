"""From nearest prototypes to a stable live label: k-NN vote, "unknown" and "idle", temporal smoothing.

Per window: the ``k`` best prototypes whose cosine similarity reaches ``threshold`` vote for their
labels, each with weight ``exp((s - s_best) / VOTE_TEMPERATURE)``; if even the best one is below ``threshold`` the window
votes "unknown" ("idle" for a window in which the person stands still: the recognizer then offers
only still prototypes, so a recorded still pose wins over "idle"). The votes (shares summing to 1) are smoothed by an exponential moving average over
windows, and the shown label only changes when a rival's smoothed share beats it by ``hysteresis``:
one odd window cannot flip the label, a real change of action does within a few windows.

"No person" (``update(None, None)``) is answered at once and clears the history, so the label of the
previous person never comes back stale.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from focovil.realtime.encoder import EncoderMeta
from focovil.realtime.settings import Settings
from focovil.realtime.strictness import FALLBACK_THRESHOLD, threshold_at

UNKNOWN = "unknown"
IDLE = "idle"
NO_PERSON = "no person"

DEFAULT_THRESHOLD = FALLBACK_THRESHOLD
VOTE_TEMPERATURE = 0.01      # similarity gap that divides a vote's weight by e
_D = Settings()              # k, smoothing and hysteresis defaults: realtime.settings


def threshold_for(meta: EncoderMeta | None, settings: Settings | None = None) -> float:
    """The similarity threshold of these settings for this encoder: a raw ``threshold`` if one is
    set, else the encoder's own table at ``strictness`` (similarities are only comparable within
    one encoder)."""
    s = settings or _D
    return float(s.threshold) if s.threshold is not None else threshold_at(meta, s.strictness)


def state_of(label: str) -> str:
    """``"action"`` for a named action, else the label itself (unknown, idle, no person)."""
    return label if label in (UNKNOWN, IDLE, NO_PERSON) else "action"


@dataclass
class Prediction:
    """``label``: an action, :data:`UNKNOWN` or :data:`NO_PERSON`; ``score``: its smoothed vote share
    (0..1); ``topk``: the leading ``(label, smoothed share)`` pairs; ``person``: a skeleton was seen;
    ``similarity``: cosine similarity of this window's best prototype (for "why unknown?");
    ``motion``: the window's motion energy in metres (for "why idle?")."""
    label: str
    score: float
    topk: list[tuple[str, float]] = field(default_factory=list)
    person: bool = True
    similarity: float = float("nan")
    motion: float = float("nan")

    @property
    def state(self) -> str:
        return state_of(self.label)


class Classifier:
    """Stateful per-stream classifier: call :meth:`update` once per window, :meth:`reset` on a new stream."""

    def __init__(self, k: int = _D.k, threshold: float = DEFAULT_THRESHOLD, smoothing: float = _D.smoothing,
                 hysteresis: float = _D.hysteresis) -> None:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        if not 0.0 <= smoothing < 1.0:
            raise ValueError(f"smoothing is the EMA weight of the past, in [0, 1), got {smoothing}")
        if hysteresis < 0:
            raise ValueError(f"hysteresis must be >= 0, got {hysteresis}")
        self.k = int(k)
        self.threshold = float(threshold)
        self.smoothing = float(smoothing)
        self.hysteresis = float(hysteresis)
        self.reset()

    def reset(self) -> None:
        """Forgets the history (new video, new person, library changed)."""
        self._state: dict[str, float] = {}
        self._label: str | None = None

    def vote(self, scores: np.ndarray, labels: Sequence[str | None], idle: bool = False) -> tuple[dict[str, float], float]:
        """One window's vote shares (no smoothing) and its best similarity. ``idle``: the person
        stands still, so no match means "idle", not "unknown"."""
        none = IDLE if idle else UNKNOWN
        s = np.asarray(scores, dtype=np.float64).reshape(-1)
        if len(labels) != len(s):
            raise ValueError(f"{len(s)} scores but {len(labels)} labels")
        pairs = sorted(((float(v), lab) for v, lab in zip(s, labels) if lab is not None and np.isfinite(v)),
                       key=lambda p: -p[0])[: self.k]
        if not pairs:
            return {none: 1.0}, float("nan")  # empty library (or no still prototypes)
        best = pairs[0][0]
        if best < self.threshold:
            return {none: 1.0}, best
        # Softmax weights on similarity: the nearest prototypes dominate, near-ties share. A plain
        # similarity-weighted vote would let a library of few, all-similar prototypes tie.
        votes: dict[str, float] = {}
        for v, lab in pairs:
            if v >= self.threshold:
                votes[lab] = votes.get(lab, 0.0) + float(np.exp((v - best) / VOTE_TEMPERATURE))
        total = sum(votes.values())
        return {lab: w / total for lab, w in votes.items()}, best

    def update(self, scores: np.ndarray | None, labels: Sequence[str | None] | None, idle: bool = False,
               motion: float = float("nan")) -> Prediction:
        """One window: ``scores`` of its nearest prototypes (any order; -inf or a None label = empty
        slot) and their ``labels``; ``None`` for either means no person in this window. ``idle``:
        the window is still (the prototypes offered are then the still ones)."""
        if scores is None or labels is None:
            self.reset()
            return Prediction(NO_PERSON, 0.0, [], person=False)
        votes, best = self.vote(scores, labels, idle)
        if not self._state:
            self._state = dict(votes)
        else:
            a = self.smoothing
            keys = set(self._state) | set(votes)
            self._state = {lab: a * self._state.get(lab, 0.0) + (1 - a) * votes.get(lab, 0.0) for lab in keys}
            self._state = {lab: v for lab, v in self._state.items() if v > 1e-4}
        leader = max(self._state, key=lambda lab: (self._state[lab], lab == self._label))
        current = self._label
        if current is None or current not in self._state or \
                self._state[leader] >= self._state[current] + self.hysteresis:
            self._label = leader
        ranked = sorted(self._state.items(), key=lambda p: -p[1])[: self.k]
        return Prediction(self._label, float(self._state[self._label]), [(lab, float(v)) for lab, v in ranked],
                          person=True, similarity=best, motion=motion)
