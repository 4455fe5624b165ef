"""The one message schema: what a label is, wherever it goes.

A :class:`Result` is one classified window of one tracked person. The API yields it, the headless
JSON lines are :meth:`Result.message`, and the event stream (``focovil --serve``) sends the same dict,
so a field added here appears in all three. ``schema`` (:data:`SCHEMA_VERSION`) changes whenever a
field is renamed or removed, or its meaning changes; adding a field does not change it.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields

import numpy as np

SCHEMA_VERSION = 1


def _finite(x: float | None, digits: int) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


@dataclass(frozen=True)
class Result:
    """One label of one person at one moment.

    ``time``: the stream time (seconds) when the label was given, the end of its window; ``start``: the
    window's start. ``track``: whose label (1, 2, ... as tracking numbers people; 0: nobody tracked).
    ``state``: ``"action"`` (``label`` names a recorded action), ``"unknown"``, ``"idle"`` or
    ``"no person"`` (then ``label`` says the same). ``similarity``: cosine similarity of the window's
    nearest prototype (None: none compared). ``score``: the smoothed vote share of ``label`` (0..1);
    ``topk``: the leading ``[label, share]`` pairs; ``motion``: the window's motion energy (metres).
    ``skeleton``: the person's last canonical skeleton as ``[joint][x, y, z]`` metres, on request only.
    """
    time: float
    track: int
    state: str
    label: str
    similarity: float | None
    score: float
    start: float
    topk: list = field(default_factory=list)
    motion: float | None = None
    skeleton: list | None = None

    @classmethod
    def of(cls, window, skeleton: np.ndarray | None = None) -> "Result":
        """From a recognizer's ``WindowResult`` (``realtime.pipeline``), optionally with a skeleton."""
        p = window.prediction
        return cls(time=round(window.end, 3), track=window.track, state=p.state, label=p.label,
                   similarity=_finite(p.similarity, 4), score=round(p.score, 4), start=round(window.start, 3),
                   topk=[[lab, round(s, 4)] for lab, s in p.topk], motion=_finite(p.motion, 4),
                   skeleton=None if skeleton is None or not np.isfinite(skeleton).all()
                   else np.round(skeleton.astype(float), 4).tolist())

    def message(self) -> dict:
        """The JSON object of this result: ``{"schema": 1, "type": "result", ...every field}``."""
        return {"schema": SCHEMA_VERSION, "type": "result", **asdict(self)}

    @classmethod
    def from_message(cls, msg: dict) -> "Result":
        """A message back into a :class:`Result` (what a Python client of the stream does)."""
        if msg.get("type") != "result" or msg.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"not a schema-{SCHEMA_VERSION} result message: {str(msg)[:120]}")
        return cls(**{f.name: msg.get(f.name) for f in fields(cls)})


def summary_message(**fields_: object) -> dict:
    """The last headless line: counts and timing of a whole run (``type`` ``"summary"``)."""
    return {"schema": SCHEMA_VERSION, "type": "summary", "summary": True, **fields_}


def label_changes(results, last: dict[int, tuple[str, str]] | None = None):
    """The results that change their track's (state, label): what the event stream publishes. ``last``
    (track -> (state, label)) carries the memory between calls; a track's first result counts."""
    last = {} if last is None else last
    for r in results:
        key = (r.state, r.label)
        if last.get(r.track) != key:
            last[r.track] = key
            yield r
