"""Camera frame -> canonical skeleton, with MediaPipe Tasks ``PoseLandmarker`` in VIDEO mode.

VIDEO mode (not IMAGE) so MediaPipe tracks the person between frames instead of re-detecting every
frame: faster and steadier. The model is the offline bundle shipped in ``weights/`` (see
``weights/POSE_MODEL.md``); an official ``pose_landmarker_{lite,full,heavy}.task`` works as well.
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

# Before mediapipe is imported. mediapipe 1.2.3's C++ ignores these (hence quiet_stderr below),
# other builds honour them; set GLOG_minloglevel=0 yourself to see everything.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# Imported at module level, not lazily in PoseEstimator.__init__: mediapipe keeps the traceback of
# an import error it catches (sounddevice without PortAudio), whose frames reach back to the
# importing frame, so an estimator importing it would never be freed (seen with gc.get_referrers).
import mediapipe as mp  # noqa: E402
import cv2  # noqa: E402
import numpy as np  # noqa: E402
from mediapipe.tasks.python import BaseOptions, vision  # noqa: E402

from focovil.realtime.paths import DEFAULT_POSE_MODEL, pose_model_path  # noqa: E402
from focovil.realtime.redetect import Redetector  # noqa: E402
from focovil.realtime.skeleton import from_mediapipe_world  # noqa: E402

DEFAULT_MODEL = DEFAULT_POSE_MODEL


class PoseModelError(RuntimeError):
    """The pose model file exists but MediaPipe cannot load it."""


@dataclass(frozen=True)
class PoseResult:
    skeleton: np.ndarray         # [20, 3] float32, canonical (realtime.skeleton), metres
    image_landmarks: np.ndarray  # [33, 3] float32: x, y normalised to the image (0..1), visibility
    world_landmarks: np.ndarray  # [33, 3] float32: MediaPipe's own world landmarks, metres


@contextlib.contextmanager
def quiet_stderr(enabled: bool) -> Iterator[None]:
    """Silence fd 2 (TF-Lite / LiteRT / absl write there from C++, which no env var turns off).

    On failure the captured text is echoed so a real error message is not lost. Only used around
    model loading, the first few frames and closing, since it also hides other threads' stderr.
    """
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _quiet_python_logging() -> None:
    with contextlib.suppress(ImportError):
        from absl import logging as absl_logging
        absl_logging.set_verbosity(absl_logging.ERROR)


def _close_quietly(landmarker: object, verbose: bool) -> None:
    with quiet_stderr(not verbose):
        landmarker.close()  # type: ignore[attr-defined]


class PoseEstimator:
    """Every person MediaPipe finds in a frame, each as a canonical skeleton (:meth:`detect_all`).

    Who is who across frames is :mod:`realtime.tracking`'s job, and whom the window follows is
    ``Session``'s. With ``num_poses=1`` (the default) MediaPipe's own VIDEO-mode tracker keeps
    following the person it found first (it re-detects only when it loses them), which costs 28 ms
    a frame here against 45 ms for ``num_poses=2`` (it then runs the detector every frame).

    Always :meth:`close` it (or use ``with``): mediapipe 1.2.3 prints a traceback at interpreter exit
    if a landmarker is still open then (one dropped earlier is closed when collected).
    """

    def __init__(self, model_path: str | Path | None = DEFAULT_MODEL, num_poses: int = 1,
                 min_confidence: float = 0.5, verbose: bool = False, max_side: int = 640, gpu: bool = False,
                 redetect: bool = False) -> None:
        """``redetect`` (only with ``num_poses > 1``; off by default): when fewer people are found than
        a moment ago, look again where one was lost, with the people found painted out, since people
        who overlap are otherwise merged into one (:mod:`realtime.redetect`; measured, and why it is
        not on by default, in ``benchmarks/overlap.py`` / README "Several people: tracks").
        ``gpu``: MediaPipe's GPU delegate (OpenGL ES through EGL on Linux). The Linux wheel has it but
        refuses a software renderer ("GPU emulation detected"): it needs a physical GPU and its driver;
        :class:`PoseModelError` says so when it cannot start (``benchmarks/gpu_check.py`` measures it)."""
        self.model_path = pose_model_path(model_path)
        if not 1 <= int(num_poses) <= 16:
            raise ValueError(f"num_poses (people per frame) must be 1-16, got {num_poses}")
        self.num_poses = int(num_poses)
        self.verbose = verbose
        self.max_side = max_side
        self._last_ts: int | None = None
        self._landmarker = None
        self.redetector: Redetector | None = None
        self._frames_with_pose = 0  # frames in which someone was found
        if not self.model_path.is_file():
            raise FileNotFoundError(f"pose model file not found: {self.model_path} "
                                    "(expected a MediaPipe pose_landmarker .task bundle)")
        if not verbose:
            _quiet_python_logging()
        options = vision.PoseLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self.model_path),
                                     delegate=BaseOptions.Delegate.GPU if gpu else BaseOptions.Delegate.CPU),
            running_mode=vision.RunningMode.VIDEO, num_poses=num_poses,
            min_pose_detection_confidence=min_confidence, min_pose_presence_confidence=min_confidence,
            min_tracking_confidence=min_confidence)
        try:
            with quiet_stderr(not verbose):
                self._landmarker = vision.PoseLandmarker.create_from_options(options)
                if self.num_poses > 1 and redetect:
                    self.redetector = Redetector(self.model_path, self.num_poses, gpu, verbose)
        except (RuntimeError, ValueError, OSError) as e:
            why = str(e).rsplit(": ", 1)[-1] if gpu else f"{e} (expected a MediaPipe pose_landmarker .task bundle)"
            raise PoseModelError(f"cannot load pose model {self.model_path}{' on the GPU' if gpu else ''}: {why}") from e
        # Closes an estimator dropped mid-run. Not at exit: by then mediapipe's executor is shut down.
        self._finalizer = weakref.finalize(self, _close_quietly, self._landmarker, verbose)
        self._finalizer.atexit = False

    def detect_all(self, frame_bgr: np.ndarray, timestamp_ms: int) -> list[PoseResult]:
        """Every person MediaPipe finds in one BGR frame (up to ``num_poses``), in its order.

        ``timestamp_ms`` must increase from call to call (VIDEO mode); an equal or smaller one is
        bumped to the previous + 1 so that a jittery camera clock does not crash the pipeline.
        """
        if self._landmarker is None:
            raise RuntimeError("PoseEstimator is closed")
        if frame_bgr.ndim != 3 or frame_bgr.shape[2] != 3 or frame_bgr.dtype != np.uint8:
            raise ValueError(f"expected a uint8 BGR frame [H, W, 3], got {frame_bgr.dtype} {frame_bgr.shape}")
        ts = int(timestamp_ms)
        if self._last_ts is not None and ts <= self._last_ts:
            ts = self._last_ts + 1
        self._last_ts = ts
        h, w = frame_bgr.shape[:2]
        if max(h, w) > self.max_side:
            # The pose models run at 224-256 px: a full-HD frame costs conversion time, not accuracy.
            scale = self.max_side / max(h, w)
            frame_bgr = cv2.resize(frame_bgr, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA)
        rgb = cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB)
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
        # C++ prints one-off alignment / projection warnings on the first inferences of each model
        # (the landmark model first runs when someone is found); silence until that is past.
        with quiet_stderr(not self.verbose and self._frames_with_pose < 3):
            result = self._landmarker.detect_for_video(image, ts)
        out = []
        for lms, wlms in zip(result.pose_landmarks, result.pose_world_landmarks):
            image_lm = np.array([[p.x, p.y, p.visibility or 0.0] for p in lms], dtype=np.float32)
            world = np.array([[p.x, p.y, p.z] for p in wlms], dtype=np.float32)
            out.append(PoseResult(from_mediapipe_world(world), image_lm, world))
        if self.redetector is not None:
            out += self.redetector.find(ts / 1000, rgb, out, PoseResult)
        self._frames_with_pose += bool(out)
        return out

    def close(self) -> None:
        if self._landmarker is not None:
            self._finalizer()
            self._landmarker = None
        if self.redetector is not None:
            with quiet_stderr(not self.verbose):
                self.redetector.close()
            self.redetector = None

    def __enter__(self) -> PoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
