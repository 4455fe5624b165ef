"""The Record tab: a label, a timed recording (after a countdown) or one marked by hand, the aligned
preview of what was captured, and save / discard.

The panel keeps the captured :class:`realtime.session.Segment` and the state of the buttons; what
the stream does it asks for by signals (the window passes them on to the worker and the session)."""
from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QTimer, pyqtSignal
from PyQt5.QtWidgets import (QDoubleSpinBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox,
                             QVBoxLayout, QWidget)

from focovil.realtime.session import Segment

from .skeleton_view import SkeletonView


class RecordPanel(QWidget):
    capture_started = pyqtSignal(float)    # keep this many seconds of the stream (inf: until "mark end")
    capture_ended = pyqtSignal()           # "mark end": finish the capture at the current frame
    save_requested = pyqtSignal(str)       # save the captured segment as prototypes of this label
    choices_used = pyqtSignal()            # a recording began: its length and countdown are worth keeping
    error = pyqtSignal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.segment: Segment | None = None    # captured, not yet saved or discarded
        self.running = False                   # a source is running (set by the window)
        self._capturing = False                # asked for a capture, its segment not yet back
        self._marking = False                  # "mark start" pressed, "mark end" not yet
        self._countdown_left = 0
        self._countdown = QTimer(self, interval=1000)
        self._countdown.timeout.connect(self._tick_countdown)
        self._build()
        self._update_buttons()

    def _build(self) -> None:
        v = QVBoxLayout(self)
        f = QFormLayout()
        self.label_edit = QLineEdit(placeholderText="name of the action, e.g. wave")
        self.countdown = QSpinBox(minimum=0, maximum=10, value=3, suffix=" s")
        self.seconds = QDoubleSpinBox(minimum=0.5, maximum=30.0, value=3.0, singleStep=0.5, decimals=1, suffix=" s")
        f.addRow("Label", self.label_edit)
        timed = QHBoxLayout()
        timed.addWidget(QLabel("after"))
        timed.addWidget(self.countdown)
        timed.addWidget(QLabel("for"))
        timed.addWidget(self.seconds)
        self.rec_btn = QPushButton("Record", clicked=self.begin_recording)
        timed.addWidget(self.rec_btn, 1)
        f.addRow("Timed", timed)
        marked = QHBoxLayout()
        self.mark_start_btn = QPushButton("Mark start", clicked=self.mark_start)
        self.mark_end_btn = QPushButton("Mark end", clicked=self.mark_end)
        self.mark_start_btn.setToolTip("Start keeping the skeletons now (pause the video to pick the moment)")
        self.mark_end_btn.setToolTip("Stop keeping them here; works while paused too")
        marked.addWidget(self.mark_start_btn)
        marked.addWidget(self.mark_end_btn)
        f.addRow("Or mark", marked)
        v.addLayout(f)
        self.status = QLabel("Start a source, then record an action to add it to the library.",
                             objectName="note", wordWrap=True)
        v.addWidget(self.status)
        row = QHBoxLayout()
        self.preview = SkeletonView(views=("front",), title="Preview (aligned)")
        self.preview.clear("the captured action plays here")
        self.preview.setMinimumSize(170, 150)
        row.addWidget(self.preview, 1)
        col = QVBoxLayout()
        self.save_btn = QPushButton("Save as prototype", clicked=self.save)
        self.discard_btn = QPushButton("Discard", clicked=self.discard)
        col.addWidget(self.save_btn)
        col.addWidget(self.discard_btn)
        col.addStretch(1)
        row.addLayout(col)
        v.addLayout(row, 1)

    # ------------------------------------------------------------ stored choices
    def stored(self) -> dict:
        return {"record_s": self.seconds.value(), "countdown_s": self.countdown.value()}

    def restore(self, values: dict) -> None:
        self.seconds.setValue(values["record_s"])
        self.countdown.setValue(values["countdown_s"])

    # ------------------------------------------------------------ the source's state (from the window)
    def set_running(self, running: bool) -> None:
        self.running = running
        if not running:
            self._countdown.stop()
            self._capturing = self._marking = False
        self._update_buttons()

    def source_ready(self) -> None:
        if self.segment is None:
            self.status.setText("Type the action's name and press Record.")

    def _update_buttons(self) -> None:
        capturing = self._countdown.isActive() or self._capturing
        self.rec_btn.setEnabled(self.running and not capturing)
        self.mark_start_btn.setEnabled(self.running and not capturing)
        self.mark_end_btn.setEnabled(self.running and self._marking)
        self.save_btn.setEnabled(self.segment is not None)
        self.discard_btn.setEnabled(self.segment is not None)

    # ------------------------------------------------------------ capturing
    def label(self) -> str:
        return self.label_edit.text().strip()

    def _clear_for_capture(self) -> bool:
        """False (and says why) when no capture can begin; else drops the last capture for a new one."""
        if not self.running:
            self.error.emit("Start a camera or a video before recording.")
            return False
        if not self.label():
            self.status.setText("Type the action's name first.")
            self.label_edit.setFocus()
            return False
        self.segment = None
        self.preview.clear("recording…")
        return True

    def mark_start(self) -> None:
        """Starts keeping the stream's skeletons at the current frame, until :meth:`mark_end`."""
        if not self._clear_for_capture():
            return
        self._marking = self._capturing = True
        self.capture_started.emit(float("inf"))
        self.status.setText("Recording from here: press Mark end where the action ends "
                            "(pause the video to pick the moment).")
        self._update_buttons()

    def mark_end(self) -> None:
        if not self.running or not self._marking:
            return
        self._marking = False
        self.capture_ended.emit()
        self.status.setText("Ending the recording…")
        self._update_buttons()

    def begin_recording(self) -> None:
        if not self._clear_for_capture():
            return
        self.choices_used.emit()
        self._countdown_left = self.countdown.value()
        if self._countdown_left <= 0:
            self._start_capture()
        else:
            self.status.setText(f"Get ready… {self._countdown_left}")
            self._countdown.start()
        self._update_buttons()

    def _tick_countdown(self) -> None:
        self._countdown_left -= 1
        if self._countdown_left > 0:
            self.status.setText(f"Get ready… {self._countdown_left}")
            return
        self._countdown.stop()
        self._start_capture()

    def _start_capture(self) -> None:
        if not self.running:
            self.status.setText("The source stopped before recording began.")
        else:
            self.status.setText("Recording…")
            self._capturing = True
            self.capture_started.emit(self.seconds.value())
        self._update_buttons()

    def progress(self, done: float, wanted: float) -> None:
        if wanted > 0:
            self.status.setText(f"Recording… {done:.1f} / {wanted:.1f} s")
        elif self._marking:
            self.status.setText(f"Recording… {done:.1f} s: press Mark end where the action ends.")

    def captured(self, segment: Segment) -> bool:
        """The capture is back; True when it has a person to save (then it awaits save or discard)."""
        self._capturing = self._marking = False
        n, seen = len(segment.times), segment.frames_with_person
        if seen < 2:
            self.segment = None
            self.preview.clear("nobody in the recording")
            self.status.setText(f"Nobody was seen in the recording ({n} frames); nothing to save. Try again.")
        else:
            self.segment = segment
            self.status.setText(f"Captured {segment.span:.1f} s: {n} frames, {seen} with a person. "
                                f"Save it as \u201c{self.label()}\u201d or discard it.")
        self._update_buttons()
        return self.segment is not None

    def play(self, aligned: np.ndarray) -> None:
        """Plays the aligned capture in real time."""
        span = float(np.nanmax(self.segment.times) - np.nanmin(self.segment.times))
        self.preview.play(aligned, fps=len(aligned) / span if span > 0 else 15.0)

    # ------------------------------------------------------------ save / discard
    def save(self) -> None:
        if self.segment is None:
            return
        if not self.label():
            self.status.setText("Type the action's name first.")
            return
        self.save_requested.emit(self.label())

    def saved(self, label: str, n: int) -> None:
        self.segment = None
        self.preview.clear(f"saved as \u201c{label}\u201d")
        self.status.setText(f"Saved {n} prototype{'s' if n != 1 else ''} of \u201c{label}\u201d.")
        self._update_buttons()

    def discard(self) -> None:
        self.segment = None
        self.preview.clear("discarded")
        self.status.setText("Recording discarded.")
        self._update_buttons()
