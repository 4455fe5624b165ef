"""A live camera as a :class:`~realtime.source.FrameSource`: opened at the size pose needs, frames
stamped on arrival, a stalled camera ending the stream with a warning."""
from __future__ import annotations

import sys
import time
from pathlib import Path

import cv2
import numpy as np

from focovil.realtime.source import DEFAULT_FPS, CaptureFactory, Frame, FrameSource, SourceError, cv2_silent, sane_fps

POLL_S = 0.02                # sleep between failed camera reads: waits for the device without busy-looping
CAMERA_SIZE = (640, 480)     # width, height asked of a camera


class CameraSource(FrameSource):
    """A live camera. Frames are stamped with the monotonic clock on arrival (relative to the first).

    The first frame is awaited on opening (up to ``first_frame_timeout_s``); afterwards a camera that
    returns no frame for ``stall_timeout_s`` is taken as gone and the stream ends with a warning.
    A ``read()`` that blocks is bounded only by the backend's own timeout (V4L2: about 10 s).
    """

    def __init__(self, index: int, fps: float | None, capture_factory: CaptureFactory,
                 first_frame_timeout_s: float, stall_timeout_s: float) -> None:
        self.camera_index = index
        self.stall_timeout_s = stall_timeout_s
        with cv2_silent():
            self._cap = capture_factory(index)
            opened = self._cap.isOpened()
        if not opened:
            self._cap.release()
            raise SourceError(f"camera {index} could not be opened ({_camera_hint(index)})")
        if fps is not None:
            self._cap.set(cv2.CAP_PROP_FPS, fps)  # a request; many drivers ignore it
        # The size pose works at (realtime.pose: frames are scaled to 640 px on the long side), not the
        # largest the camera offers: a smaller frame costs less to capture, decode and convert. A request;
        # the driver picks its nearest mode.
        self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, CAMERA_SIZE[0])
        self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, CAMERA_SIZE[1])
        reported = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        nominal = reported if sane_fps(reported) else (fps or DEFAULT_FPS)
        image = self._read_within(first_frame_timeout_s)
        if image is None:
            self._cap.release()
            raise SourceError(f"camera {index} opened but delivered no frame within "
                              f"{first_frame_timeout_s:g} s (in use by another program, or not a camera?)")
        self._t0 = time.monotonic()
        h, w = image.shape[:2]
        super().__init__(nominal, f"camera {index} ({w}x{h}, {nominal:g} fps)")
        self._pending: np.ndarray | None = image
        self._index = 0

    def _read_within(self, timeout_s: float, decode: bool = True) -> np.ndarray | bool | None:
        """The next frame (``decode=False``: True once one is grabbed, not yet decoded), or None after
        ``timeout_s`` without one."""
        deadline = time.monotonic() + timeout_s
        while True:
            if not decode:
                if self._cap.grab():
                    return True
            else:
                ok, image = self._cap.read()
                if ok and image is not None:
                    return image
            if time.monotonic() >= deadline:
                return None
            time.sleep(POLL_S)

    def _next_frame(self) -> Frame | None:
        if self._pending is not None:
            image, self._pending, t = self._pending, None, 0.0
            self._due(t)
        else:
            while True:
                if self._read_within(self.stall_timeout_s, decode=False) is None:
                    self.warnings.append(f"camera {self.camera_index} stopped delivering frames "
                                         f"after {self.frames_read} frames")
                    return None
                t = time.monotonic() - self._t0
                self._index += 1
                if self._due(t):
                    ok, image = self._cap.retrieve()
                    if ok and image is not None:
                        break
        return Frame(image, t, self._index)

    def _release(self) -> None:
        self._cap.release()


def _camera_hint(index: int) -> str:
    if sys.platform.startswith("linux"):
        dev = Path(f"/dev/video{index}")
        if not dev.exists():
            return f"no device {dev}"
        return f"{dev} exists: in use by another program, no permission, or not a capture device"
    return "no such camera, or it is in use by another program"
