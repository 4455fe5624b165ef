"""Runs the session's source -> pose -> recognizer loop on a QThread and hands its results to the GUI.

Nothing here re-implements the loop: frames come from :meth:`realtime.session.Session.frames`, which
also paces and loops files and pauses and stops by its :class:`~realtime.session.Control`. The
thread adds what a window needs around it: capturing a segment of the live stream (timed, or
"mark start" ... "mark end", the end working while paused), the stage timings every half second,
publishing label changes to the event stream when it is on, and every problem as one readable line.
"""
from __future__ import annotations

import time
from typing import Callable

from PyQt5.QtCore import QThread, pyqtSignal

from focovil.realtime.messages import Result, label_changes
from focovil.realtime.session import AppError, Capture, Control, Session, describe_source
from focovil.realtime.stream import EventServer

# The headline of a failure, by the part that failed (AppError.what).
HEADLINES = {"encoder": "Cannot load the encoder", "source": "Cannot open the source",
             "pose": "Cannot load the pose model", "library": "Cannot use the library",
             "recording": "Could not save the recording", "serve": "Cannot start the event stream"}


def message_for(e: AppError) -> str:
    """One line for the user: the part's headline, then the problem (a message that already reads
    as a headline, "cannot use the library X: ...", is only capitalised)."""
    text = str(e)
    if text.lower().startswith(HEADLINES.get(e.what, "cannot").lower()):
        return text[:1].upper() + text[1:]
    return f"{HEADLINES.get(e.what, 'Cannot go on')}: {text}"


class RecognitionWorker(QThread):
    """One run over a camera or a video file. ``spec``: camera index (int) or a file path. ``stream``:
    gives the event stream's server while it is on (None: off), asked every frame."""

    ready = pyqtSignal(object, str)          # encoder (EncoderRuntime), source description
    aligned_ready = pyqtSignal(dict)         # {track: its window as the encoder sees it}, before its frame
    frame_ready = pyqtSignal(object)         # FrameResult (image, people, windows)
    stats = pyqtSignal(dict)                 # fps, pose_ms, encode_ms, search_ms, overhead_ms, device
    recording_progress = pyqtSignal(float, float)   # seconds recorded, seconds wanted (0: until marked)
    recorded = pyqtSignal(object)            # the captured realtime.session.Segment
    failed = pyqtSignal(str)                 # a readable one-line message; the run is over
    source_warnings = pyqtSignal(list)       # non-fatal problems the source met (truncated file...)
    ended = pyqtSignal(str)                  # why the run ended: "stopped", "end of video", "error"
    label_message = pyqtSignal(dict)         # a person's new (state, label): the schema's result message

    STATS_EVERY_S = 0.5

    def __init__(self, session: Session, spec: int | str, *, loop: bool = False, realtime: bool = True,
                 stream: Callable[[], EventServer | None] | None = None, parent=None) -> None:
        super().__init__(parent)
        self.session, self.spec, self.loop, self.realtime = session, spec, loop, realtime
        self.stream, self._published_to = stream, None
        self._last: dict[int, tuple[str, str]] = {}    # label_changes' memory: track -> (state, label)
        self.control = Control(while_paused=self._while_paused, on_open=self._opened,
                               on_warnings=self.source_warnings.emit)
        self._capture: Capture | None = None

    # ------------------------------------------------------------ called from the GUI thread
    def stop(self) -> None:
        self.control.stop = True

    def set_paused(self, paused: bool) -> None:
        self.control.paused = bool(paused)

    @property
    def paused(self) -> bool:
        return self.control.paused

    def start_recording(self, seconds: float | None = None) -> None:
        """Keeps the skeletons of the next ``seconds`` of the stream (``None`` or inf: until
        :meth:`end_recording`, i.e. "mark start" ... "mark end"); ``recorded`` gives them."""
        self._capture = Capture(float("inf") if seconds is None else float(seconds),
                                source=f"gui:{describe_source(self.spec)}")

    def end_recording(self) -> None:
        """"Mark end": the recording stops at the current frame, even while paused."""
        if self._capture is not None:
            self._capture.end()

    @property
    def recording(self) -> bool:
        return self._capture is not None

    def cancel_recording(self) -> None:
        self._capture = None

    # ------------------------------------------------------------ the thread
    def run(self) -> None:
        s = self.session
        reason, last_stats, warned = "stopped", 0.0, len(s.played.warnings)
        try:
            for fr in s.frames(self.spec, loop=self.loop, realtime=self.realtime, control=self.control):
                self._record(fr)
                self._publish(fr)
                aligned = {w.track: s.encoder.align(w.skeleton[None])[0] for w in fr.windows if w.skeleton is not None}
                if aligned:        # the skeleton panel's picture, made here, off the GUI thread
                    self.aligned_ready.emit(aligned)
                self.frame_ready.emit(fr)
                now = time.perf_counter()
                if now - last_stats > self.STATS_EVERY_S:
                    last_stats = now
                    self.stats.emit({**s.timing.medians(), "device": s.encoder.device})
            if not self.control.stop:
                reason = "end of video"
            if self._capture is not None:   # the stream ended mid-recording: keep what there is
                self._finish_recording()
        except AppError as e:
            reason = "error"
            self.failed.emit(message_for(e))
        except Exception as e:  # noqa: BLE001 (show it; never kill the GUI)
            reason = "error"
            self.failed.emit(f"The recognition stopped: {type(e).__name__}: {e}")
        finally:
            if len(s.played.warnings) > warned:
                self.source_warnings.emit(s.played.warnings[warned:])
            self.ended.emit(reason)

    def _publish(self, fr) -> None:
        """The frame's label changes: each as the schema's message on ``label_message`` (what the window
        prints), and to the event stream when it is on, as ``focovil --serve`` publishes them."""
        for r in label_changes((Result.of(w) for w in fr.windows), self._last):
            self.label_message.emit(r.message())
        srv = self.stream() if self.stream is not None else None
        if srv is None or not fr.windows:
            return
        if srv is not self._published_to:    # this run's first labels there: clients hear a new hello
            self._published_to = srv
            srv.reset()
        bodies = {p.track: p.pose.skeleton for p in fr.people} if srv.skeletons else {}
        srv.publish_results([Result.of(w, bodies.get(w.track)) for w in fr.windows])

    def _opened(self, source) -> None:
        """The source, the pose model, the encoder and the library are open."""
        self.ready.emit(self.session.encoder, source.description)

    def _while_paused(self) -> None:
        cap = self._capture
        if cap is not None and cap.done:     # "mark end" pressed while paused
            self._finish_recording()

    def _record(self, fr) -> None:
        cap = self._capture
        if cap is None:
            return
        done = cap.add(fr)
        wanted = cap.seconds if cap.seconds != float("inf") else 0.0
        self.recording_progress.emit(min(cap.elapsed, cap.seconds), wanted)
        if done:
            self._finish_recording()

    def _finish_recording(self) -> None:
        cap, self._capture = self._capture, None
        if cap is not None:
            self.recorded.emit(cap.segment())
