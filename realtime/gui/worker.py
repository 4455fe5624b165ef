"""Runs source -> pose -> Recognizer on a QThread and hands frames, labels and timings to the GUI.

Nothing here re-implements a pipeline stage: frames go through :func:`realtime.pipeline.run`. The
thread adds what a window needs around it: real-time pacing and looping of video files, pause,
recording a segment of the live stream, taking new settings or a changed library between frames,
and a clean stop (the source and the pose estimator are closed on the worker's own thread).
"""
from __future__ import annotations

import time
from collections import deque
from pathlib import Path

import numpy as np
from PyQt5.QtCore import QThread, pyqtSignal

from realtime.app import AppError, open_encoder
from realtime.library import Library
from realtime.pipeline import FrameResult, Recognizer, Settings, run
from realtime.skeleton import NUM_JOINTS
from realtime.source import Frame, SourceError, open_source


class RecognitionWorker(QThread):
    """One run over a camera or a video file. ``spec``: camera index (int) or a file path."""

    ready = pyqtSignal(object, str)          # encoder (EncoderRuntime), source description
    frame_ready = pyqtSignal(object)         # FrameResult (image, pose, windows with .aligned)
    stats = pyqtSignal(dict)                 # fps, pose_ms, encode_ms, search_ms, overhead_ms, device
    recording_progress = pyqtSignal(float, float)   # seconds recorded, seconds wanted (0: until marked)
    recorded = pyqtSignal(object, object)    # times [N], canonical skeletons [N, 20, 3] (NaN: nobody)
    failed = pyqtSignal(str)                 # a readable one-line message; the run is over
    source_warnings = pyqtSignal(list)       # non-fatal problems the source met (truncated file...)
    ended = pyqtSignal(str)                  # why the run ended: "stopped", "end of video", "error"

    def __init__(self, spec: int | str, library: Library, settings: Settings | None = None, *,
                 encoder_path: str | Path | None = None, encoder=None, pose_model: str | Path | None = None,
                 loop: bool = False, realtime: bool = True, parent=None) -> None:
        super().__init__(parent)
        self.spec, self.library = spec, library
        self.settings = settings or Settings()
        self.encoder_path, self.encoder, self.pose_model = encoder_path, encoder, pose_model
        self.loop, self.realtime = loop, realtime
        self._stop = False
        self._paused = False
        self._refresh = False
        self._new_settings: Settings | None = None
        self._record_s: float | None = None      # requested recording length (stream seconds; inf: until marked)
        self._rec_end = False                    # "mark end" pressed: finish at the next frame (or now, if paused)
        self._rec_times: list[float] = []
        self._rec_skels: list[np.ndarray] = []
        self._rec_t0: float | None = None

    # ------------------------------------------------------------ called from the GUI thread
    def stop(self) -> None:
        self._stop = True

    def set_paused(self, paused: bool) -> None:
        self._paused = bool(paused)

    @property
    def paused(self) -> bool:
        return self._paused

    def request_refresh(self) -> None:
        """The library changed: re-embed what is new and rebuild the index before the next frame."""
        self._refresh = True

    def apply_settings(self, settings: Settings) -> None:
        self._new_settings = settings

    def start_recording(self, seconds: float | None = None) -> None:
        """Keeps the skeletons of the next ``seconds`` of the stream (``None``: until
        :meth:`end_recording`, i.e. "mark start" ... "mark end"); ``recorded`` gives them."""
        self._rec_times, self._rec_skels, self._rec_t0 = [], [], None
        self._rec_end = False
        self._record_s = float("inf") if seconds is None else float(seconds)

    def end_recording(self) -> None:
        """"Mark end": the recording stops at the current frame, even while paused."""
        if self._record_s is not None:
            self._rec_end = True

    @property
    def recording(self) -> bool:
        return self._record_s is not None

    def cancel_recording(self) -> None:
        self._record_s = None

    # ------------------------------------------------------------ the thread
    def run(self) -> None:  # noqa: C901 (one linear story: open, loop, close)
        try:
            enc = self.encoder or open_encoder(self.encoder_path, library=self.library)
        except AppError as e:
            self._fail(f"Cannot load the encoder: {e}")
            return
        self.encoder = enc
        try:
            rec = Recognizer(enc, self.library, self.settings)
        except Exception as e:  # noqa: BLE001 (library errors of any kind end the run with a message)
            self._fail(f"Cannot use the library {self.library.path}: {e}")
            return
        try:
            self._source = open_source(self.spec)
        except (SourceError, ValueError, TypeError) as e:
            self._fail(f"Cannot open the source: {e}")
            return
        try:
            from realtime.pose import PoseEstimator
            pose = PoseEstimator(**({"model_path": self.pose_model} if self.pose_model else {}))
        except Exception as e:  # noqa: BLE001 (FileNotFoundError, PoseModelError, ...)
            self._source.close()
            self._fail(f"Cannot load the pose model: {e}")
            return
        self.ready.emit(enc, self._source.description)
        reason = "stopped"
        try:
            recent: dict[str, deque] = {k: deque(maxlen=60) for k in ("pose", "encode", "search", "overhead", "wall")}
            last_wall, last_stats = None, 0.0
            for fr in run(self._frames(), pose, rec, want_aligned=True):
                if self._refresh:
                    self._refresh = False
                    rec.refresh()
                if self._new_settings is not None:
                    self.settings, self._new_settings = self._new_settings, None
                    rec.apply(self.settings)
                self._record(fr)
                self.frame_ready.emit(fr)
                now = time.perf_counter()
                if last_wall is not None:
                    recent["wall"].append(now - last_wall)
                last_wall = now
                recent["pose"].append(fr.pose_ms)
                recent["overhead"].append(fr.overhead_ms)
                for w in fr.windows:
                    if w.encode_ms:
                        recent["encode"].append(w.encode_ms)
                        recent["search"].append(w.search_ms)
                if now - last_stats > 0.5:
                    last_stats = now
                    self.stats.emit(self._stats(recent, enc.device))
            if not self._stop:
                reason = "end of video"
            if self._record_s is not None:   # the stream ended mid-recording: keep what there is
                self._finish_recording()
        except Exception as e:  # noqa: BLE001 (show it; never kill the GUI)
            reason = "error"
            self.failed.emit(f"The recognition stopped: {type(e).__name__}: {e}")
        finally:
            warnings = list(self._source.warnings)
            self._source.close()
            pose.close()
            if warnings:
                self.source_warnings.emit(warnings)
            self.ended.emit(reason)

    def _fail(self, message: str) -> None:
        self.failed.emit(message)
        self.ended.emit("error")

    def _frames(self):
        """The source's frames, paced to real time for files, looped if asked, pausable, stoppable."""
        is_file = not isinstance(self.spec, int)
        offset, wall0, t0 = 0.0, None, None
        while True:
            last_t = None
            for f in self._source:
                if self._paused:
                    paused_at = time.perf_counter()
                    while self._paused and not self._stop:
                        if self._rec_end and self._record_s is not None:
                            self._finish_recording()
                        time.sleep(0.03)
                    if wall0 is not None:
                        wall0 += time.perf_counter() - paused_at
                if self._stop:
                    return
                t = f.t + offset
                if is_file and self.realtime:
                    if wall0 is None:
                        wall0, t0 = time.perf_counter(), t
                    ahead = (t - t0) - (time.perf_counter() - wall0)
                    if ahead > 0:
                        time.sleep(min(ahead, 0.5))
                last_t = t
                yield Frame(f.image, t, f.index)
            if not (is_file and self.loop) or self._stop or last_t is None:
                return
            if self._source.warnings:
                self.source_warnings.emit(list(self._source.warnings))
            self._source.close()
            offset = last_t + 1.0 / max(self._source.fps, 1.0)
            self._source = open_source(self.spec)

    def _record(self, fr: FrameResult) -> None:
        if self._record_s is None:
            return
        if self._rec_t0 is None:
            self._rec_t0 = fr.t
        self._rec_times.append(fr.t)
        self._rec_skels.append(fr.pose.skeleton if fr.pose is not None
                               else np.full((NUM_JOINTS, 3), np.nan, np.float32))
        done = fr.t - self._rec_t0
        wanted = self._record_s if np.isfinite(self._record_s) else 0.0
        self.recording_progress.emit(min(done, self._record_s), wanted)
        if done >= self._record_s or self._rec_end:
            self._finish_recording()

    def _finish_recording(self) -> None:
        self._record_s, self._rec_end = None, False
        times = np.array(self._rec_times, dtype=np.float64)
        skels = np.array(self._rec_skels, dtype=np.float32).reshape(-1, NUM_JOINTS, 3)
        self._rec_times, self._rec_skels, self._rec_t0 = [], [], None
        self.recorded.emit(times, skels)

    @staticmethod
    def _stats(recent: dict[str, deque], device: str) -> dict:
        def med(k):
            return float(np.median(recent[k])) if recent[k] else float("nan")
        wall = med("wall")
        return {"fps": 1.0 / wall if wall and np.isfinite(wall) and wall > 0 else float("nan"),
                "pose_ms": med("pose"), "encode_ms": med("encode"), "search_ms": med("search"),
                "overhead_ms": med("overhead"), "device": device}
