"""A captured stretch of a stream (the skeletons a recording keeps), and the collector that makes one."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import numpy as np

from focovil.realtime.results import FrameResult
from focovil.realtime.skeleton import NUM_JOINTS
from focovil.realtime.tracking import largest

_NOBODY = np.full((NUM_JOINTS, 3), np.nan, np.float32)

@dataclass
class Segment:
    """A captured stretch of a stream: timestamps and canonical skeletons (NaN: nobody in view)."""
    times: np.ndarray
    skeletons: np.ndarray
    source: str = ""

    @property
    def frames_with_person(self) -> int:
        return int(np.isfinite(self.skeletons).all(axis=(1, 2)).sum()) if len(self.times) else 0

    @property
    def span(self) -> float:
        return float(self.times[-1] - self.times[0]) if len(self.times) > 1 else 0.0


@dataclass
class Capture:
    """Collects the skeletons of a stream's frames into a :class:`Segment`: from the first frame it
    is given, for ``seconds`` of stream time (``inf``: until :meth:`end`)."""
    seconds: float = float("inf")
    source: str = ""
    _times: list = field(default_factory=list)
    _skels: list = field(default_factory=list)
    _people: list = field(default_factory=list)     # per frame: {track: (skeleton, box area)}
    _ended: bool = False

    def add(self, fr: FrameResult) -> bool:
        """Keeps one frame's skeletons (the followed person's, and everyone's by track); True once
        the capture is complete."""
        self._times.append(fr.t)
        self._skels.append(fr.pose.skeleton if fr.pose is not None else _NOBODY)
        self._people.append({p.track: (p.pose.skeleton, p.area) for p in fr.people})
        return self.done

    def take(self, frames: Iterable[FrameResult], start: float = 0.0, end: float = float("inf"),
             person: int | str | None = None) -> "Segment":
        """The frames from ``start`` to ``end`` seconds, then :meth:`segment` of ``person``."""
        for fr in frames:
            if fr.t < start:
                continue
            if fr.t > end:
                break
            self.add(fr)
        return self.segment(person)

    def end(self) -> None:
        """"Mark end": complete at the frames kept so far."""
        self._ended = True

    @property
    def elapsed(self) -> float:
        return self._times[-1] - self._times[0] if self._times else 0.0

    @property
    def done(self) -> bool:
        return self._ended or (bool(self._times) and self.elapsed >= self.seconds)

    def tracks(self) -> dict[int, float]:
        """Every person seen: track id -> their mean box area in the image."""
        areas: dict[int, list[float]] = {}
        for frame in self._people:
            for k, (_s, a) in frame.items():
                areas.setdefault(k, []).append(a)
        return {k: float(np.mean(v)) for k, v in sorted(areas.items())}

    def segment(self, person: int | str | None = None) -> Segment:
        """The captured skeletons of ``person``: None, the followed one (the window's selection);
        ``"largest"``, the person with the largest mean box; a track id, that person."""
        if person is None:
            skels = self._skels
        else:
            seen = self.tracks()
            if not seen:
                raise ValueError("nobody was seen in the recording")
            track = largest(seen) if person == "largest" else int(person)
            if track not in seen:
                raise ValueError(f"person {track} was not seen in the recording (seen: "
                                 f"{', '.join(map(str, seen))})")
            skels = [frame[track][0] if track in frame else _NOBODY for frame in self._people]
        return Segment(np.array(self._times, dtype=np.float64),
                       np.array(skels, dtype=np.float32).reshape(-1, NUM_JOINTS, 3), self.source)


