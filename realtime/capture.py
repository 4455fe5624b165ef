"""A captured stretch of a stream (the skeletons a recording keeps), and the collector that makes one."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from realtime.pipeline import FrameResult
from realtime.skeleton import NUM_JOINTS

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
    _ended: bool = False

    def add(self, fr: FrameResult) -> bool:
        """Keeps one frame's skeleton; True once the capture is complete."""
        self._times.append(fr.t)
        self._skels.append(fr.pose.skeleton if fr.pose is not None else np.full((NUM_JOINTS, 3), np.nan, np.float32))
        return self.done

    def end(self) -> None:
        """"Mark end": complete at the frames kept so far."""
        self._ended = True

    @property
    def elapsed(self) -> float:
        return self._times[-1] - self._times[0] if self._times else 0.0

    @property
    def done(self) -> bool:
        return self._ended or (bool(self._times) and self.elapsed >= self.seconds)

    def segment(self) -> Segment:
        return Segment(np.array(self._times, dtype=np.float64),
                       np.array(self._skels, dtype=np.float32).reshape(-1, NUM_JOINTS, 3), self.source)


