"""What the live loop hands on: a classified window (:class:`WindowResult`) and a frame with everything
found in it (:class:`FrameResult`). The command line, the window, the API and the stream read these."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from focovil.realtime.classify import Prediction


@dataclass
class WindowResult:
    """One classified window (what leaves the app is ``realtime.messages.Result``, made from this)."""
    start: float
    end: float
    prediction: Prediction
    encode_ms: float = 0.0
    search_ms: float = 0.0
    skeleton: np.ndarray | None = None    # the raw canonical window classified [T, J, 3] (None: "no person")
    track: int = 0                        # whose window (realtime.tracking ids; 0: single-person stream)


@dataclass
class FrameResult:
    """One frame of the stream: its image, everyone in view, the followed person and the windows it completed."""
    t: float
    index: int
    image: np.ndarray | None
    pose: object | None                     # the followed person's realtime.pose.PoseResult, or None
    windows: list[WindowResult] = field(default_factory=list)
    people: list = field(default_factory=list)   # everyone in view: realtime.tracking.Person (track, pose)
    pose_ms: float = 0.0
    overhead_ms: float = 0.0                # everything per frame that is not pose, encode or search
    selected: int | None = None             # the followed person's track
    captured_at: float = 0.0                # time.perf_counter() when the frame was read (source.Frame)
