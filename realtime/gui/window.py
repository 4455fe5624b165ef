"""The main window: video + overlay, current label, runners-up, recent labels, record, library, settings."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PyQt5.QtCore import QSettings, Qt, QTimer, pyqtSignal
from PyQt5.QtGui import QFont
from PyQt5.QtWidgets import (QAbstractItemView, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout,
                             QFrame, QGridLayout, QHBoxLayout, QHeaderView, QInputDialog, QLabel, QLineEdit,
                             QMainWindow, QMessageBox, QProgressBar, QPushButton, QSpinBox, QSplitter,
                             QTableWidget, QTableWidgetItem, QTabWidget, QVBoxLayout, QWidget)

from realtime.app import DEFAULT_ENCODER, DEMO_CLIP, AppError, active_encoder_path, open_library
from realtime.classify import NO_PERSON, UNKNOWN
from realtime.library import LibraryError
from realtime.pipeline import Settings, segment_windows

from .skeleton_view import SkeletonView
from .video import VideoView
from .worker import RecognitionWorker

STYLE = """
QMainWindow, QWidget#central { background: #f4f5f7; }
QLabel#current { font-size: 30pt; font-weight: 600; color: #1b1f24; }
QLabel#current[state="quiet"] { color: #8a9099; }
QLabel#detail { font-size: 11pt; color: #4a5260; }
QLabel#section { font-size: 10pt; font-weight: 600; color: #5a6270; text-transform: uppercase; }
QFrame#card { background: white; border: 1px solid #dde1e6; border-radius: 8px; }
QLabel#chip { background: #e8edf5; border-radius: 10px; padding: 3px 9px; color: #2c3440; }
QLabel#chip[state="quiet"] { background: #eef0f2; color: #8a9099; }
QLabel#banner { background: #fdecea; color: #8a1c12; border: 1px solid #f2b8b0; border-radius: 6px; padding: 8px; }
QLabel#note { color: #4a5260; }
QProgressBar { border: 1px solid #cfd5dc; border-radius: 4px; background: #eef0f3; height: 14px; text-align: center; }
QProgressBar::chunk { background: #3a7bd5; border-radius: 3px; }
QProgressBar#small { height: 8px; }
QPushButton { padding: 5px 12px; }
QLabel#device { font-weight: 600; }
"""

SOURCE_CAMERA = "Camera {}"


def parse_source(text: str) -> int | str:
    """"Camera 0" / "0" -> camera index; anything else is a path."""
    t = text.strip()
    if t.lower().startswith("camera"):
        t = t[6:].strip()
    return int(t) if t.isdigit() else text.strip()


def display_path(path: str | Path) -> str:
    """A path as short as it can be shown: relative to the working folder when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)


def _fmt_ms(v: float) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.1f}"


def device_text(device: str) -> str:
    """"cpu" -> "CPU", "cuda"/"cuda:0" -> "GPU (cuda)"."""
    return "CPU" if device == "cpu" else f"GPU ({device})" if device.startswith("cuda") else device.upper()


class MainWindow(QMainWindow):
    RECENT = 8
    label_changed = pyqtSignal(str, float)    # a new current label and its similarity (NaN: none)

    def __init__(self, library_path: str | Path | None = None, encoder_path: str | Path | None = None,
                 pose_model: str | Path | None = None, source: int | str | None = None,
                 store: QSettings | None = None) -> None:
        super().__init__()
        self.setWindowTitle("FoCoViL — live action recognition")
        self.encoder_path, self.pose_model = encoder_path, pose_model
        self.store = store or QSettings("focovil", "focovil-gui")
        self.worker: RecognitionWorker | None = None
        self.encoder = None
        self.library = None
        self.recording: tuple[np.ndarray, np.ndarray] | None = None
        self.recent: list[str] = []
        self.current_label: str | None = None
        self._countdown_left = 0
        self._marking = False        # "mark start" pressed, "mark end" not yet
        self._countdown = QTimer(self)
        self._countdown.setInterval(1000)
        self._countdown.timeout.connect(self._tick_countdown)
        self.setStyleSheet(STYLE)
        self._build()
        self._load_settings(source)
        try:
            self.library = open_library(library_path)
        except AppError as e:
            self.show_error(f"Cannot open the library: {e}")
        self._show_encoder()          # the library may name a retrained encoder
        self.refresh_library()
        self._update_buttons()

    # ================================================================ layout
    def _build(self) -> None:
        central = QWidget(objectName="central")
        self.setCentralWidget(central)
        outer = QVBoxLayout(central)
        outer.setContentsMargins(10, 10, 10, 6)
        self.banner = QLabel(objectName="banner", wordWrap=True)
        self.banner.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.banner.hide()
        outer.addWidget(self.banner)

        split = QSplitter(Qt.Horizontal)
        outer.addWidget(split, 1)

        # ---- left: video + source controls
        left = QWidget()
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        self.video = VideoView()
        lv.addWidget(self.video, 3)
        self.skeleton = SkeletonView(title="What the encoder sees: the window after view alignment")
        self.skeleton.setMinimumHeight(230)
        self.skeleton.setMaximumHeight(320)
        lv.addWidget(self.skeleton, 2)
        row = QHBoxLayout()
        self.source_box = QComboBox(editable=True)
        self.source_box.addItems([SOURCE_CAMERA.format(0), SOURCE_CAMERA.format(1), display_path(DEMO_CLIP)])
        self.source_box.setMinimumContentsLength(16)
        self.source_box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.source_box.setToolTip("A camera index (\"Camera 0\") or a video file")
        browse = QPushButton("File…", clicked=self._browse)
        self.loop_box = QCheckBox("Loop file")
        self.start_btn = QPushButton("Start", clicked=self.start)
        self.pause_btn = QPushButton("Pause", clicked=self.toggle_pause)
        self.stop_btn = QPushButton("Stop", clicked=self.stop)
        row.addWidget(QLabel("Source"))
        row.addWidget(self.source_box, 1)
        for w in (browse, self.loop_box, self.start_btn, self.pause_btn, self.stop_btn):
            row.addWidget(w)
        lv.addLayout(row)
        split.addWidget(left)

        # ---- right: label card, runners-up, recent, skeleton, tabs
        right = QWidget()
        rv = QVBoxLayout(right)
        rv.setContentsMargins(6, 0, 0, 0)
        card = QFrame(objectName="card")
        cv = QVBoxLayout(card)
        cv.addWidget(QLabel("Current action", objectName="section"))
        self.label_view = QLabel("—", objectName="current")
        self.label_view.setProperty("state", "quiet")
        self.label_view.setWordWrap(True)
        cv.addWidget(self.label_view)
        self.detail_view = QLabel("press Start", objectName="detail")
        cv.addWidget(self.detail_view)
        self.confidence = QProgressBar(maximum=100, value=0, format="confidence %p%")
        cv.addWidget(self.confidence)
        cv.addSpacing(4)
        cv.addWidget(QLabel("Runners-up", objectName="section"))
        grid = QGridLayout()
        self.runner_labels, self.runner_bars = [], []
        for i in range(3):
            lab = QLabel("", objectName="note")
            bar = QProgressBar(maximum=100, value=0, textVisible=False, objectName="small")
            bar.setFixedHeight(8)
            bar.hide()
            grid.addWidget(lab, i, 0)
            grid.addWidget(bar, i, 1)
            self.runner_labels.append(lab)
            self.runner_bars.append(bar)
        self.runner_labels[0].setText("none yet")
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(1, 3)
        cv.addLayout(grid)
        cv.addSpacing(4)
        cv.addWidget(QLabel("Recent", objectName="section"))
        self.recent_row = QHBoxLayout()
        self.recent_row.setSpacing(4)
        self.recent_chips = []
        for _ in range(self.RECENT):
            chip = QLabel("", objectName="chip")
            chip.hide()
            self.recent_row.addWidget(chip)
            self.recent_chips.append(chip)
        self.recent_row.addStretch(1)
        recent_box = QWidget()
        recent_box.setLayout(self.recent_row)
        self.recent_row.setContentsMargins(0, 0, 0, 0)
        cv.addWidget(recent_box)
        rv.addWidget(card)

        self.tabs = QTabWidget()
        self.tabs.addTab(self._build_record(), "Record")
        self.tabs.addTab(self._build_library(), "Library")
        self.tabs.addTab(self._build_settings(), "Settings")
        rv.addWidget(self.tabs, 1)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([740, 500])

        # ---- status bar
        sb = self.statusBar()
        self.fps_view = QLabel("fps –")
        self.lat_view = QLabel("pose – · encode – · search – ms")
        self.device_view = QLabel("device –")
        self.device_view.setObjectName("device")
        for w in (self.fps_view, self.lat_view, self.device_view):
            w.setContentsMargins(8, 0, 8, 0)
            sb.addPermanentWidget(w)
        self.resize(1240, 800)

    def _build_record(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        f = QFormLayout()
        self.rec_label = QLineEdit(placeholderText="name of the action, e.g. wave")
        self.rec_countdown = QSpinBox(minimum=0, maximum=10, value=3, suffix=" s")
        self.rec_seconds = QDoubleSpinBox(minimum=0.5, maximum=30.0, value=3.0, singleStep=0.5, decimals=1,
                                          suffix=" s")
        f.addRow("Label", self.rec_label)
        timed = QHBoxLayout()
        timed.addWidget(QLabel("after"))
        timed.addWidget(self.rec_countdown)
        timed.addWidget(QLabel("for"))
        timed.addWidget(self.rec_seconds)
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
        self.rec_status = QLabel("Start a source, then record an action to add it to the library.",
                                 objectName="note", wordWrap=True)
        v.addWidget(self.rec_status)
        row = QHBoxLayout()
        self.preview = SkeletonView(views=("front",), title="Preview (aligned)")
        self.preview.clear("the captured action plays here")
        self.preview.setMinimumSize(170, 150)
        row.addWidget(self.preview, 1)
        col = QVBoxLayout()
        self.save_btn = QPushButton("Save as prototype", clicked=self.save_recording)
        self.discard_btn = QPushButton("Discard", clicked=self.discard_recording)
        col.addWidget(self.save_btn)
        col.addWidget(self.discard_btn)
        col.addStretch(1)
        row.addLayout(col)
        v.addLayout(row, 1)
        return w

    def _build_library(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        self.lib_table = QTableWidget(0, 2)
        self.lib_table.setHorizontalHeaderLabels(["Label", "Prototypes"])
        self.lib_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.lib_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeToContents)
        self.lib_table.verticalHeader().hide()
        self.lib_table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.lib_table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.lib_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.lib_table.setMinimumHeight(170)
        v.addWidget(self.lib_table)
        row = QHBoxLayout()
        for text, slot in (("Delete", self._delete_clicked), ("Rename…", self._rename_clicked),
                           ("Import…", self._import_clicked), ("Export…", self._export_clicked)):
            row.addWidget(QPushButton(text, clicked=slot))
        v.addLayout(row)
        self.lib_note = QLabel("", objectName="note", wordWrap=True)
        v.addWidget(self.lib_note)
        self.encoder_note = QLabel("", objectName="note", wordWrap=True)
        v.addWidget(self.encoder_note)
        self._show_encoder()
        return w

    def _show_encoder(self) -> None:
        """The encoder in use (loaded: its file, device and size; before Start: the file it will load)."""
        e = self.encoder
        if e is not None:
            text = (f"Encoder: {e.path.name} on {e.device} · {e.dim}-d embeddings, "
                    f"windows of {e.window} frames")
            tip = str(e.path)
        else:
            path = (Path(self.encoder_path) if self.encoder_path else
                    active_encoder_path(self.library) if self.library is not None else DEFAULT_ENCODER)
            text, tip = f"Encoder: {path.name} (loads on Start)", str(path)
        self.encoder_note.setText(text)
        self.encoder_note.setToolTip(tip)

    def _build_settings(self) -> QWidget:
        w = QWidget()
        f = QFormLayout(w)
        self.set_threshold = QDoubleSpinBox(minimum=-0.01, maximum=1.0, singleStep=0.01, decimals=2,
                                            specialValueText="auto (encoder's own)")
        self.set_threshold.setToolTip("Similarity below which a window is \"unknown\"")
        self.set_window = QDoubleSpinBox(minimum=0.5, maximum=5.0, singleStep=0.1, decimals=1, suffix=" s")
        self.set_stride = QDoubleSpinBox(minimum=0.05, maximum=2.0, singleStep=0.05, decimals=2, suffix=" s")
        self.set_smoothing = QDoubleSpinBox(minimum=0.0, maximum=0.95, singleStep=0.05, decimals=2)
        self.set_smoothing.setToolTip("Weight of the past in the label's moving average (0: none)")
        self.set_window.setToolTip("How much of the past each label looks at")
        self.set_stride.setToolTip("How often a new label comes")
        f.addRow("\u201cUnknown\u201d below similarity", self.set_threshold)
        f.addRow("Window length", self.set_window)
        f.addRow("A label every", self.set_stride)
        f.addRow("Smoothing", self.set_smoothing)
        f.addRow(QLabel("Changes apply at once (the window restarts) and are kept between runs.",
                        objectName="note", wordWrap=True))
        return w

    # ================================================================ settings (QSettings)
    def _load_settings(self, source) -> None:
        d = Settings()
        st = self.store
        thr = st.value("threshold", -0.01, float)
        self.set_threshold.setValue(thr)
        self.set_window.setValue(st.value("window_s", d.window_s, float))
        self.set_stride.setValue(st.value("stride_s", d.stride_s, float))
        self.set_smoothing.setValue(st.value("smoothing", d.smoothing, float))
        self.rec_seconds.setValue(st.value("record_s", 3.0, float))
        self.rec_countdown.setValue(st.value("countdown_s", 3, int))
        self.loop_box.setChecked(st.value("loop", True, bool))
        src = source if source is not None else st.value("source", None)
        if src is not None:
            self.source_box.setCurrentText(SOURCE_CAMERA.format(src) if isinstance(src, int) else display_path(src))
            self.source_box.lineEdit().setCursorPosition(0)
        for box in (self.set_threshold, self.set_window, self.set_stride, self.set_smoothing):
            box.valueChanged.connect(self._settings_changed)

    def settings(self) -> Settings:
        thr = self.set_threshold.value()
        return Settings(window_s=self.set_window.value(), stride_s=self.set_stride.value(),
                        threshold=None if thr < 0 else thr, smoothing=self.set_smoothing.value())

    def save_settings(self) -> None:
        st = self.store
        st.setValue("threshold", self.set_threshold.value())
        st.setValue("window_s", self.set_window.value())
        st.setValue("stride_s", self.set_stride.value())
        st.setValue("smoothing", self.set_smoothing.value())
        st.setValue("record_s", self.rec_seconds.value())
        st.setValue("countdown_s", self.rec_countdown.value())
        st.setValue("loop", self.loop_box.isChecked())
        st.setValue("source", self.source_box.currentText())
        st.sync()

    def _settings_changed(self) -> None:
        self.save_settings()
        if self.worker is not None:
            self.worker.apply_settings(self.settings())

    # ================================================================ run control
    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", str(DEMO_CLIP.parent),
                                              "Videos (*.mp4 *.avi *.mov *.mkv *.webm);;All files (*)")
        if path:
            self.source_box.setCurrentText(path)

    def start(self) -> None:
        if self.worker is not None:
            return
        if self.library is None:
            self.show_error("No library is open, so there is nothing to recognise against.")
            return
        self.clear_error()
        self.save_settings()
        spec = parse_source(self.source_box.currentText())
        self.worker = RecognitionWorker(spec, self.library, self.settings(), encoder_path=self.encoder_path,
                                        encoder=self.encoder, pose_model=self.pose_model,
                                        loop=self.loop_box.isChecked())
        self.worker.ready.connect(self._on_ready)
        self.worker.frame_ready.connect(self._on_frame)
        self.worker.stats.connect(self._on_stats)
        self.worker.failed.connect(self.show_error)
        self.worker.source_warnings.connect(self._on_source_warnings)
        self.worker.recording_progress.connect(self._on_rec_progress)
        self.worker.recorded.connect(self._on_recorded)
        self.worker.ended.connect(self._on_ended)
        self.video.set_message(f"Opening {self.source_box.currentText()}…")
        self.detail_view.setText("starting…")
        self.worker.start()
        self._update_buttons()

    def toggle_pause(self) -> None:
        if self.worker is None:
            return
        self.worker.set_paused(not self.worker.paused)
        self.pause_btn.setText("Resume" if self.worker.paused else "Pause")

    def stop(self, wait_ms: int = 10000) -> bool:
        """Stops the worker and waits for its thread; True if it has ended."""
        w = self.worker
        if w is None:
            return True
        w.stop()
        w.set_paused(False)
        ok = w.wait(wait_ms)
        self._finish_worker(w, "stopped")
        return ok

    def _on_ready(self, encoder, description: str) -> None:
        self.encoder = encoder
        self._show_encoder()
        self.device_view.setText(device_text(encoder.device))
        self.device_view.setToolTip(f"encoder {encoder.path}")
        self.statusBar().showMessage(f"Running on {description}", 5000)
        self.detail_view.setText("waiting for the first window…")
        if self.recording is None:
            self.rec_status.setText("Type the action's name and press Record.")

    def _on_ended(self, reason: str) -> None:
        self._finish_worker(self.sender(), reason)

    def _finish_worker(self, w, reason: str) -> None:
        if w is None or w is not self.worker:   # a late signal of a worker already finished
            return
        self.worker = None
        w.wait(5000)
        w.deleteLater()
        self._countdown.stop()
        self._marking = False
        self.pause_btn.setText("Pause")
        if self.current_label is None:
            self.detail_view.setText("press Start")
        if reason == "end of video":
            self.statusBar().showMessage("End of the video", 5000)
        if reason != "error" and self.video._image is None:
            self.video.set_message("Stopped")
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.worker is not None
        self.start_btn.setEnabled(not running)
        self.pause_btn.setEnabled(running)
        self.stop_btn.setEnabled(running)
        self.source_box.setEnabled(not running)
        capturing = self._countdown.isActive() or (running and self.worker.recording)
        self.rec_btn.setEnabled(running and not capturing)
        self.mark_start_btn.setEnabled(running and not capturing)
        self.mark_end_btn.setEnabled(running and self._marking)
        self.save_btn.setEnabled(self.recording is not None)
        self.discard_btn.setEnabled(self.recording is not None)

    # ================================================================ results
    def _on_frame(self, fr) -> None:
        self.video.set_frame(fr.image, None if fr.pose is None else fr.pose.image_landmarks)
        for w in fr.windows:
            self.show_prediction(w.prediction)
            if w.aligned is not None:
                self.skeleton.set_window(w.aligned)

    def show_prediction(self, p) -> None:
        quiet = p.label in (UNKNOWN, NO_PERSON)
        self.current_label = p.label
        self.label_view.setText(p.label)
        self.label_view.setProperty("state", "quiet" if quiet else "")
        self.label_view.style().polish(self.label_view)
        sim = "–" if not math.isfinite(p.similarity) else f"{p.similarity:.2f}"
        self.detail_view.setText(f"similarity {sim}   ·   vote {p.score:.0%}" if p.person else "nobody in view")
        self.confidence.setValue(0 if quiet else int(round(100 * p.score)))
        others = [(lab, s) for lab, s in p.topk if lab != p.label][:3]
        for i in range(3):
            lab, s = others[i] if i < len(others) else ("", 0.0)
            self.runner_labels[i].setText(f"{lab}  {s:.0%}" if lab else ("none: the vote is unanimous" if i == 0 else ""))
            self.runner_bars[i].setValue(int(round(100 * s)))
            self.runner_bars[i].setVisible(bool(lab))
        if not self.recent or self.recent[-1] != p.label:
            self.label_changed.emit(p.label, float(p.similarity))
            self.recent = (self.recent + [p.label])[-self.RECENT:]
            for chip, lab in zip(self.recent_chips, list(reversed(self.recent)) + [""] * self.RECENT):
                chip.setText(lab)
                chip.setVisible(bool(lab))
                chip.setProperty("state", "quiet" if lab in (UNKNOWN, NO_PERSON) else "")
                chip.style().polish(chip)

    def _on_source_warnings(self, warnings: list) -> None:
        self.statusBar().showMessage("; ".join(warnings), 10000)

    def _on_stats(self, s: dict) -> None:
        fps = s.get("fps", float("nan"))
        self.fps_view.setText(f"{fps:.1f} fps" if math.isfinite(fps) else "fps –")
        self.lat_view.setText(f"pose {_fmt_ms(s['pose_ms'])} · encode {_fmt_ms(s['encode_ms'])} · "
                              f"search {_fmt_ms(s['search_ms'])} · other {_fmt_ms(s['overhead_ms'])} ms")
        self.lat_view.setToolTip("Median time per stage over the last frames")
        self.device_view.setText(device_text(s["device"]))

    # ================================================================ errors
    def show_error(self, message: str) -> None:
        """The whole message in the banner above everything; its headline (before the first colon)
        where the video would be, when there is no video to show."""
        self.banner.setText(message)
        self.banner.show()
        self.statusBar().clearMessage()
        if self.worker is None or "Cannot" in message:
            self.video.set_message(message.split(":")[0] + " (details above)")

    def clear_error(self) -> None:
        self.banner.hide()
        self.banner.setText("")

    # ================================================================ recording
    def _can_record(self) -> bool:
        if self.worker is None:
            self.show_error("Start a camera or a video before recording.")
            return False
        if not self.rec_label.text().strip():
            self.rec_status.setText("Type the action's name first.")
            self.rec_label.setFocus()
            return False
        return True

    def _new_capture(self) -> None:
        self.recording = None
        self.preview.clear("recording…")

    def mark_start(self) -> None:
        """Starts keeping the stream's skeletons at the current frame, until :meth:`mark_end`."""
        if not self._can_record():
            return
        self._new_capture()
        self._marking = True
        self.worker.start_recording(None)
        self.rec_status.setText("Recording from here: press Mark end where the action ends "
                                "(pause the video to pick the moment).")
        self._update_buttons()

    def mark_end(self) -> None:
        if self.worker is None or not self._marking:
            return
        self._marking = False
        self.worker.end_recording()
        self.rec_status.setText("Ending the recording…")
        self._update_buttons()

    def begin_recording(self) -> None:
        if not self._can_record():
            return
        self._new_capture()
        self.save_settings()
        self._countdown_left = self.rec_countdown.value()
        if self._countdown_left <= 0:
            self._start_capture()
        else:
            self.rec_status.setText(f"Get ready… {self._countdown_left}")
            self._countdown.start()
        self._update_buttons()

    def _tick_countdown(self) -> None:
        self._countdown_left -= 1
        if self._countdown_left > 0:
            self.rec_status.setText(f"Get ready… {self._countdown_left}")
            return
        self._countdown.stop()
        self._start_capture()

    def _start_capture(self) -> None:
        if self.worker is None:
            self.rec_status.setText("The source stopped before recording began.")
            self._update_buttons()
            return
        self.rec_status.setText("Recording…")
        self.worker.start_recording(self.rec_seconds.value())
        self._update_buttons()

    def _on_rec_progress(self, done: float, wanted: float) -> None:
        if wanted > 0:
            self.rec_status.setText(f"Recording… {done:.1f} / {wanted:.1f} s")
        elif self._marking:
            self.rec_status.setText(f"Recording… {done:.1f} s: press Mark end where the action ends.")

    def _on_recorded(self, times: np.ndarray, skels: np.ndarray) -> None:
        n = len(times)
        seen = int(np.isfinite(skels).all(axis=(1, 2)).sum()) if n else 0
        span = float(times[-1] - times[0]) if n > 1 else 0.0
        self._marking = False
        if seen < 2:
            self.recording = None
            self.preview.clear("nobody in the recording")
            self.rec_status.setText(f"Nobody was seen in the recording ({n} frames); nothing to save. Try again.")
        else:
            self.recording = (times, skels)
            self._show_preview(times, skels)
            self.rec_status.setText(f"Captured {span:.1f} s: {n} frames, {seen} with a person. "
                                    f"Save it as \u201c{self.rec_label.text().strip()}\u201d or discard it.")
        self._update_buttons()

    def _show_preview(self, times: np.ndarray, skels: np.ndarray) -> None:
        """The whole capture as one aligned window (the encoder's own alignment), played in real time."""
        if self.encoder is None:
            return
        try:
            whole = segment_windows(times, skels, self.encoder.window, float("inf"))[0]
            aligned = self.encoder.align(whole[None])[0]
        except ValueError as e:
            self.preview.clear(f"no preview: {e}")
            return
        span = float(np.nanmax(times) - np.nanmin(times))
        self.preview.play(aligned, fps=len(aligned) / span if span > 0 else 15.0)

    def save_recording(self) -> int:
        """Adds the captured segment's windows as prototypes of the typed label; returns how many."""
        if self.recording is None or self.library is None or self.encoder is None:
            return 0
        label = self.rec_label.text().strip()
        if not label:
            self.rec_status.setText("Type the action's name first.")
            return 0
        times, skels = self.recording
        try:
            windows = segment_windows(times, skels, self.encoder.window, self.settings().window_s)
            ids = [self.library.add_prototype(label, w, source=f"gui:{self.source_box.currentText()}",
                                              start_s=float(times[0]), end_s=float(times[-1]), encoder=self.encoder)
                   for w in windows]
        except (ValueError, LibraryError) as e:
            self.show_error(f"Could not save the recording: {e}")
            return 0
        self.recording = None
        self.preview.clear(f"saved as \u201c{label}\u201d")
        self.rec_status.setText(f"Saved {len(ids)} prototype{'s' if len(ids) != 1 else ''} of \u201c{label}\u201d.")
        self._library_changed()
        self._update_buttons()
        return len(ids)

    def discard_recording(self) -> None:
        self.recording = None
        self.preview.clear("discarded")
        self.rec_status.setText("Recording discarded.")
        self._update_buttons()

    # ================================================================ library
    def refresh_library(self) -> None:
        rows = self.library.list_labels() if self.library is not None else []
        self.lib_table.setRowCount(len(rows))
        for i, (name, count) in enumerate(rows):
            self.lib_table.setItem(i, 0, QTableWidgetItem(name))
            item = QTableWidgetItem(str(count))
            item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            self.lib_table.setItem(i, 1, item)
        total = sum(c for _, c in rows)
        where = f" in {self.library.path.name}" if self.library is not None else ""
        self.lib_note.setText(f"{len(rows)} labels, {total} prototypes{where}")
        self.lib_note.setToolTip(str(self.library.path) if self.library is not None else "")

    def library_labels(self) -> dict[str, int]:
        return dict(self.library.list_labels()) if self.library is not None else {}

    def _library_changed(self) -> None:
        self.refresh_library()
        if self.worker is not None:
            self.worker.request_refresh()

    def _selected_label(self) -> str | None:
        rows = self.lib_table.selectionModel().selectedRows()
        return self.lib_table.item(rows[0].row(), 0).text() if rows else None

    def delete_label(self, name: str) -> int:
        try:
            n = self.library.delete_label(name)
        except LibraryError as e:
            self.show_error(str(e))
            return 0
        self.statusBar().showMessage(f"Deleted \u201c{name}\u201d ({n} prototype{'s' if n != 1 else ''})", 5000)
        self._library_changed()
        return n

    def rename_label(self, old: str, new: str, merge: bool = False) -> bool:
        try:
            self.library.rename_label(old, new, merge=merge)
        except (LibraryError, ValueError) as e:
            self.show_error(str(e))
            return False
        self._library_changed()
        return True

    def _delete_clicked(self) -> None:
        name = self._selected_label()
        if name is None:
            return
        if QMessageBox.question(self, "Delete label", f"Delete \u201c{name}\u201d and all its prototypes?") \
                == QMessageBox.Yes:
            self.delete_label(name)

    def _rename_clicked(self) -> None:
        old = self._selected_label()
        if old is None:
            return
        new, ok = QInputDialog.getText(self, "Rename label", f"New name for \u201c{old}\u201d:", text=old)
        if not ok or not new.strip() or new.strip() == old:
            return
        merge = new.strip() in self.library_labels()
        if merge and QMessageBox.question(self, "Merge labels", f"\u201c{new}\u201d exists. Move the prototypes "
                                          f"of \u201c{old}\u201d into it?") != QMessageBox.Yes:
            return
        self.rename_label(old, new, merge=merge)

    def import_library(self, path: str) -> int:
        try:
            n = self.library.import_from(path, encoder=self.encoder)
        except (LibraryError, OSError, ValueError) as e:
            self.show_error(f"Could not import {path}: {e}")
            return 0
        self.statusBar().showMessage(f"Imported {n} prototypes from {path}", 5000)
        self._library_changed()
        return n

    def export_library(self, path: str) -> bool:
        try:
            out = self.library.export_to(path)
        except (LibraryError, OSError) as e:
            self.show_error(f"Could not export to {path}: {e}")
            return False
        self.statusBar().showMessage(f"Exported the library to {out}", 5000)
        return True

    def _import_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Import a library", "", "Libraries (*.sqlite3 *.db);;All files (*)")
        if path:
            self.import_library(path)

    def _export_clicked(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export the library", "library.sqlite3", "Libraries (*.sqlite3)")
        if path:
            self.export_library(path)

    # ================================================================ closing
    def closeEvent(self, event) -> None:  # noqa: N802
        self.save_settings()
        self.stop()
        if self.library is not None:
            self.library.close()
            self.library = None
        super().closeEvent(event)
