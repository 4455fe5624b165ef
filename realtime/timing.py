"""Per-stage timing of the live loop: the one record the window's status bar, the headless summary
and the benchmarks read (pose and overhead per frame, encode and search per window, fps)."""
from __future__ import annotations

import time
from collections import deque

import numpy as np

from focovil.realtime.results import FrameResult

STAGES = ("pose", "encode", "search", "overhead", "wall")


class StageTimes:
    """Milliseconds per stage: pose and overhead per frame, encode and search per window, wall time
    between frames (for fps). ``keep``: only the last that many of each (the window's live medians);
    None keeps all (a headless run's summary)."""

    def __init__(self, keep: int | None = None) -> None:
        self.samples: dict[str, deque] = {k: deque(maxlen=keep) for k in STAGES}
        self._last_wall: float | None = None

    def add(self, fr: FrameResult) -> None:
        now = time.perf_counter()
        if self._last_wall is not None:
            self.samples["wall"].append((now - self._last_wall) * 1e3)
        self._last_wall = now
        self.samples["pose"].append(fr.pose_ms)
        self.samples["overhead"].append(fr.overhead_ms)
        for w in fr.windows:
            if w.encode_ms:
                self.samples["encode"].append(w.encode_ms)
                self.samples["search"].append(w.search_ms)

    def percentile(self, stage: str, q: float) -> float | None:
        s = self.samples[stage]
        return float(np.percentile(s, q)) if s else None

    def medians(self) -> dict:
        """``{"pose_ms", "encode_ms", "search_ms", "overhead_ms", "fps"}`` (None where nothing was timed)."""
        out = {f"{k}_ms": self.percentile(k, 50) for k in STAGES if k != "wall"}
        wall = self.percentile("wall", 50)
        out["fps"] = 1e3 / wall if wall else None
        return out


