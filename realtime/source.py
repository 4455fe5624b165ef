"""Frames with real timestamps from a camera, a video file or a folder of images.

Timestamps matter more than frame counts here: the window stage (``realtime.window``) resamples by
time, so a 6 fps webcam and a 60 fps file give windows of the same speed only if every frame carries
the time at which it was seen. Each source uses the best clock it has:

* video file: the container's timestamp (``CAP_PROP_POS_MSEC``, relative to the first frame) while it
  is sane (finite, increasing, no absurd jump); otherwise the previous timestamp + 1/fps. OpenCV's AVI
  reader reports positions a frame or two ahead and 0 for the last frames, which this absorbs.
* camera (``realtime.camera_source``): ``time.monotonic()`` when the frame arrived, relative to the first frame.
* image folder (``realtime.image_folder_source``): position / fps (``fps`` argument, default 30), files sorted by name (numbers in names
  compared as numbers, so ``img2`` comes before ``img10``).

Problems that do not stop the stream (a truncated file, a camera that goes away, an unreadable image)
end it cleanly and are collected in ``FrameSource.warnings`` for the app to show; problems that leave
nothing to read raise :class:`SourceError` from :func:`open_source`, naming the camera or the path.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

# FFmpeg prints decoder complaints ("moov atom not found", "error while decoding MB ...") straight to
# stderr; they are reported here as SourceError / warnings instead. Read by OpenCV once, when its
# FFmpeg backend first opens something, so it must be set before that. Set it yourself to override.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402
import numpy as np  # noqa: E402

DEFAULT_FPS = 30.0
_MAX_SANE_FPS = 1000.0

CaptureFactory = Callable[[Any], Any]  # (camera index or path) -> object with cv2.VideoCapture's API


class SourceError(RuntimeError):
    """The camera, video file or image folder cannot deliver any frame (message names which)."""


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # [H, W, 3] uint8 BGR, as OpenCV reads it
    t: float           # seconds since the source's first frame
    index: int         # position in the source (frame number, or file position in an image folder)
    # time.perf_counter() when the frame left its source (a paced file: when its time came): for latency
    captured_at: float = field(default_factory=time.perf_counter, compare=False)


def _set_cv2_log_level(level_name: str) -> int | None:
    """Set OpenCV's own log level if this build has the API; returns the previous level."""
    log = getattr(getattr(cv2, "utils", None), "logging", None)
    if log is None or not hasattr(log, "setLogLevel") or not hasattr(log, level_name):
        return None
    previous = log.getLogLevel() if hasattr(log, "getLogLevel") else None
    log.setLogLevel(getattr(log, level_name))
    return previous


@contextlib.contextmanager
def cv2_silent() -> Iterator[None]:
    """Probing a camera makes OpenCV log one error per backend it tries; SourceError says it once."""
    previous = _set_cv2_log_level("LOG_LEVEL_SILENT")
    try:
        yield
    finally:
        if previous is not None:
            cv2.utils.logging.setLogLevel(previous)


def sane_fps(value: float) -> bool:
    return math.isfinite(value) and 0.0 < value <= _MAX_SANE_FPS


class FrameSource:
    """One pass over the frames of a source: iterate it, then :meth:`close` it (or use ``with``).

    ``fps`` is the reported or nominal rate (for display and sizing; the frames' ``t`` is what counts),
    ``description`` a one-line summary for the UI, ``warnings`` the problems met while reading.
    """

    pose_fps: float = 0.0                 # :meth:`thin`; class defaults: a subclass may read before __init__
    _next_due: float | None = None

    def __init__(self, fps: float, description: str) -> None:
        self.fps = float(fps)
        self.description = description
        self.warnings: list[str] = []
        self.frames_read = 0
        self.frames_skipped = 0   # frames passed over before decoding, for the pose rate (:meth:`thin`)
        self._ended = False
        self._closed = False

    def thin(self, pose_fps: float | None) -> "FrameSource":
        """Deliver about ``pose_fps`` frames per second of stream time (None or 0: every frame); the
        others are passed over before they are decoded where the source allows (a file's or a
        camera's ``grab()`` without ``retrieve()``, an image never read), so they cost neither
        decoding, colour conversion nor pose. Timestamps stay the true ones."""
        if pose_fps is not None and pose_fps < 0:
            raise ValueError(f"pose rate must be 0 (every frame) or positive, got {pose_fps}")
        self.pose_fps = float(pose_fps or 0.0)
        return self

    def _due(self, t: float) -> bool:
        """Whether the frame at ``t`` is one to deliver at the pose rate: on a fixed schedule of
        ``1 / pose_fps`` steps, each frame within half a source frame of its slot (a 25 fps file at 15:
        15 a second, not 12.5); after a gap the schedule starts again at the next frame."""
        if self.pose_fps <= 0:
            return True
        step, half = 1.0 / self.pose_fps, 0.5 / max(self.fps, 1e-6)
        if self._next_due is not None and t < self._next_due - half:
            self.frames_skipped += 1
            return False
        late = self._next_due is None or t - self._next_due > step
        self._next_due = (t if late else self._next_due) + step
        return True

    def _next_frame(self) -> Frame | None:  # None: end of stream
        raise NotImplementedError

    def _on_end(self) -> None:
        """Hook for end-of-stream checks (e.g. frames read vs the header's count)."""

    def _release(self) -> None:
        pass

    def __iter__(self) -> FrameSource:
        return self

    def __next__(self) -> Frame:
        if self._ended or self._closed:
            raise StopIteration
        frame = self._next_frame()
        if frame is None:
            self._ended = True
            self._on_end()
            raise StopIteration
        self.frames_read += 1
        return frame

    def close(self) -> None:
        """Release the device or file; safe to call twice. Iteration stops afterwards."""
        if not self._closed:
            self._closed = True
            self._release()

    def __enter__(self) -> FrameSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"


class VideoFileSource(FrameSource):
    """A video file decoded by OpenCV (FFmpeg). The first frame is decoded on opening, so a file that
    opens but cannot be decoded is refused at once rather than yielding nothing."""

    def __init__(self, path: Path, fps: float | None, capture_factory: CaptureFactory) -> None:
        self.path = path
        if path.stat().st_size == 0:
            raise SourceError(f"cannot decode video {path}: the file is empty (0 bytes)")
        self._cap = capture_factory(str(path))
        if not self._cap.isOpened():
            self._cap.release()
            raise SourceError(f"cannot decode video {path}: OpenCV could not open it "
                              "(damaged, or not a video format it can read)")
        header_fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        self.header_frames: int | None = count if count > 0 else None
        pending_warnings = []
        if not sane_fps(header_fps):
            nominal = fps or DEFAULT_FPS
            pending_warnings.append(f"{path.name}: the file reports no usable frame rate "
                                    f"({header_fps:g}); assuming {nominal:g} fps")
            header_fps = nominal
        ok, image = self._cap.read()
        if not ok or image is None:
            self._cap.release()
            raise SourceError(f"cannot decode video {path}: it opens but no frame could be decoded")
        h, w = image.shape[:2]
        frames = f", {self.header_frames} frames" if self.header_frames else ""
        super().__init__(header_fps, f"video {path.name} ({w}x{h}, {header_fps:g} fps{frames})")
        self.warnings.extend(pending_warnings)
        self._pending: np.ndarray | None = image
        self._index = 0
        self._t0_ms: float | None = None
        self._last_t = 0.0
        self._fallbacks = 0  # frames whose container timestamp was not usable

    def _timestamp(self, index: int) -> float:
        pos_ms = float(self._cap.get(cv2.CAP_PROP_POS_MSEC))
        if index == 0:
            self._t0_ms = pos_ms if math.isfinite(pos_ms) and pos_ms >= 0 else None
            return 0.0
        if self._t0_ms is not None and math.isfinite(pos_ms):
            t = (pos_ms - self._t0_ms) / 1000.0
            # A real gap in a variable-rate file can exceed one frame, but not by seconds.
            if self._last_t < t <= self._last_t + max(1.0, 10.0 / self.fps):
                return t
        self._fallbacks += 1
        return self._last_t + 1.0 / self.fps

    def _next_frame(self) -> Frame | None:
        while True:
            image, self._pending = self._pending, None
            if image is None and not self._cap.grab():     # grab: the frame's place, not yet decoded
                return None
            index = self._index
            t = self._timestamp(index)
            self._index += 1
            self._last_t = t
            if not self._due(t):
                continue
            if image is None:
                ok, image = self._cap.retrieve()
                if not ok or image is None:
                    return None
            return Frame(image, t, index)

    def _on_end(self) -> None:
        n = self._index                       # every frame of the file, delivered or passed over
        # Header counts estimated from the duration can be one frame high; a 1-frame shortfall is noise.
        if self.header_frames is not None and n < self.header_frames - 1:
            self.warnings.append(f"{self.path.name}: read {n} frames but the header says "
                                 f"{self.header_frames}; the file is probably truncated or damaged")
        if self._fallbacks > max(2, n // 10):
            self.warnings.append(f"{self.path.name}: container timestamps unusable for "
                                 f"{self._fallbacks} of {n} frames; used 1/{self.fps:g} s steps there")

    def _release(self) -> None:
        self._cap.release()


def parse_source(spec: str | int | Path) -> int | str | Path:
    """The one reading of a source the user names: ``0``, ``"0"`` or ``"Camera 0"`` is camera 0
    (unless a file of that name exists); anything else is a path (a video file or an image folder)."""
    if isinstance(spec, bool):
        raise TypeError("source must be a camera index, a path or a string, not a bool")
    if isinstance(spec, (int, Path)):
        return spec
    text = str(spec).strip()
    digits = text[6:].strip() if text.lower().startswith("camera") else text
    return int(digits) if digits.isdigit() and not Path(text).exists() else text


def open_source(spec: str | int | Path, fps: float | None = None, *,
                capture_factory: CaptureFactory | None = None,
                first_frame_timeout_s: float = 5.0, stall_timeout_s: float = 1.0) -> FrameSource:
    """Open a camera (an int, or a string :func:`parse_source` reads as one), a video file or an
    image folder. Raises :class:`SourceError` if it cannot deliver a first frame.

    ``fps``: the image folder's rate (default 30); for a video, the rate assumed only if the file
    reports none; for a camera, a rate requested from the driver. ``capture_factory`` replaces
    ``cv2.VideoCapture`` (tests inject a fake camera with it).
    """
    if fps is not None and not sane_fps(float(fps)):
        raise ValueError(f"fps must be in (0, {_MAX_SANE_FPS:g}], got {fps}")
    _set_cv2_log_level("LOG_LEVEL_ERROR")
    factory: CaptureFactory = capture_factory or cv2.VideoCapture
    spec = parse_source(spec)
    if isinstance(spec, int):
        from focovil.realtime.camera_source import CameraSource
        return CameraSource(spec, fps, factory, first_frame_timeout_s, stall_timeout_s)
    path = Path(spec).expanduser()
    if not path.exists():
        raise SourceError(f"video file or image folder not found: {path}")
    if path.is_dir():
        from focovil.realtime.image_folder_source import ImageFolderSource
        return ImageFolderSource(path, fps)
    return VideoFileSource(path, fps, factory)
