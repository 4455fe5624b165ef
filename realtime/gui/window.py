"""The main window: it composes the panels, owns the :class:`~realtime.session.Session` and the
worker thread, and routes their signals.

  SourceBar      start/pause/stop_clicked  -> start(), toggle_pause(), stop()
  SettingsPanel  changed(Settings)         -> the store and session.apply(); its StreamBox (the event
                 stream's server): changed -> the store, error -> the banner, .server -> the worker
  RecordPanel    capture_started(seconds), capture_ended -> the worker; save_requested(label) ->
                 session.save(); choices_used -> the store; error -> the banner
  LibraryPanel   changed -> session.refresh(); error -> the banner; message -> the status bar
  LabelCard      label_changed(label, similarity) -> MainWindow.label_changed
  worker         ready, frame_ready, stats, recording_progress, recorded, failed, source_warnings, ended
"""
from __future__ import annotations

from pathlib import Path

from PyQt5.QtCore import QSettings, Qt, pyqtSignal
from PyQt5.QtWidgets import QLabel, QMainWindow, QSplitter, QTabWidget, QVBoxLayout, QWidget

from focovil.realtime.classify import NO_PERSON
from focovil.realtime.encoder import EncoderFileError, file_metadata
from focovil.realtime.session import AppError, Segment, Session
from focovil.realtime.settings import STORED, Settings

from .label_card import LabelCard
from .library_panel import LibraryPanel
from .record_panel import RecordPanel
from .settings_panel import SettingsPanel
from .skeleton_view import SkeletonView
from .source_bar import SourceBar
from .style import STYLE, device_text, fmt_ms
from .video import Overlay, VideoView
from .worker import RecognitionWorker, message_for


class MainWindow(QMainWindow):
    label_changed = pyqtSignal(str, float)    # a new current label and its similarity (NaN: none)

    def __init__(self, library_path: str | Path | None = None, encoder_path: str | Path | None = None,
                 pose_model: str | Path | None = None, source: int | str | None = None,
                 store: QSettings | None = None, verbose: bool = False, overrides: dict | None = None) -> None:
        """``source``: the one to show (None: the stored one); ``overrides``: :data:`STORED` values
        given for this run only (the command line's --window/--stride/--strictness), not stored."""
        super().__init__()
        self.setWindowTitle("FoCoViL — live action recognition")
        self.store = store or QSettings("focovil", "focovil-gui")
        self.session = Session(library_path, encoder_path, pose_model, verbose=verbose, timing_keep=60)
        self.worker: RecognitionWorker | None = None
        self.encoder = None                  # the session's encoder, once a run has loaded it
        self._overrides = dict(overrides or {})
        self.track_labels: dict[int, str] = {}    # each tracked person's current label
        self._aligned: dict[int, np.ndarray] = {}  # this frame's windows as the encoder sees them (worker)
        self._card_track: int | None = None        # whose label the card shows
        self.setStyleSheet(STYLE)
        self._build()
        self._load_settings(source)
        self._show_encoder_meta()
        self.library_panel.open()
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

        left = QWidget()                      # video, what the encoder sees, the source row
        lv = QVBoxLayout(left)
        lv.setContentsMargins(0, 0, 0, 0)
        self.video = VideoView()
        self.video.person_clicked.connect(self.follow_person)
        self.video.setToolTip("Click on a person to follow them (label card, skeleton panel, recording)")
        lv.addWidget(self.video, 3)
        self.skeleton = SkeletonView(title="What the encoder sees: the window after view alignment")
        self.skeleton.setMinimumHeight(230)
        self.skeleton.setMaximumHeight(320)
        lv.addWidget(self.skeleton, 2)
        self.source_bar = SourceBar()
        lv.addWidget(self.source_bar)
        split.addWidget(left)

        right = QWidget()                     # the label card and the tabs
        rv = QVBoxLayout(right)
        rv.setContentsMargins(6, 0, 0, 0)
        self.card = LabelCard()
        rv.addWidget(self.card)
        self.record = RecordPanel()
        self.library_panel = LibraryPanel(self.session)
        self.settings_panel = SettingsPanel()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.record, "Record")
        self.tabs.addTab(self.library_panel, "Library")
        self.tabs.addTab(self.settings_panel, "Settings")
        rv.addWidget(self.tabs, 1)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([740, 500])

        sb = self.statusBar()
        self.fps_view = QLabel("fps –")
        self.lat_view = QLabel("pose – · encode – · search – ms")
        self.device_view = QLabel("device –", objectName="device")
        for w in (self.fps_view, self.lat_view, self.device_view):
            w.setContentsMargins(8, 0, 8, 0)
            sb.addPermanentWidget(w)
        self.resize(1240, 800)
        self._connect()

    def _connect(self) -> None:
        self.source_bar.start_clicked.connect(self.start)
        self.source_bar.pause_clicked.connect(self.toggle_pause)
        self.source_bar.stop_clicked.connect(self.stop)
        self.card.label_changed.connect(self.label_changed)
        self.settings_panel.changed.connect(self._settings_changed)
        self.settings_panel.stream.changed.connect(self.save_settings)
        self.settings_panel.stream.error.connect(self.show_error)
        self.record.capture_started.connect(lambda seconds: self.worker and self.worker.start_recording(seconds))
        self.record.capture_ended.connect(lambda: self.worker and self.worker.end_recording())
        self.record.save_requested.connect(self.save_recording)
        self.record.choices_used.connect(self.save_settings)
        self.record.error.connect(self.show_error)
        self.library_panel.changed.connect(self.session.refresh)
        self.library_panel.error.connect(self.show_error)
        self.library_panel.message.connect(lambda text: self.statusBar().showMessage(text, 5000))

    def _show_encoder_meta(self) -> None:
        """Strictness's measured meaning from the encoder file, before any run loads the model."""
        try:
            self.settings_panel.set_encoder(file_metadata(self.session.encoder_path))
        except (AppError, EncoderFileError):
            pass    # shown at Start, with the reason, by the run that loads it

    # ================================================================ settings (QSettings, by STORED)
    def _stored(self) -> dict:
        return {**self.settings_panel.stored(), **self.record.stored(), **self.source_bar.stored()}

    def _load_settings(self, source) -> None:
        values = {key: self.store.value(key, default, kind) for key, (kind, default) in STORED.items()}
        values.update(self._overrides)
        for panel in (self.settings_panel, self.record, self.source_bar):
            panel.restore(values)
        self._overrides = {k: v for k, v in self._stored().items() if k in self._overrides}   # as shown
        if source is not None:
            self.source_bar.set_source(source)
        self.session.apply(self.settings())

    def settings(self) -> Settings:
        return self.settings_panel.settings()

    def save_settings(self) -> None:
        """Stores the window's choices; a value given for this run only is not stored while it stands."""
        for key, value in self._stored().items():
            if key not in self._overrides or value != self._overrides[key]:
                self.store.setValue(key, value)
        self.store.sync()

    def _settings_changed(self, settings: Settings) -> None:
        self.save_settings()
        self.session.apply(settings)

    # ================================================================ run control
    def start(self) -> None:
        if self.worker is not None:
            return
        if self.library_panel.library is None:
            self.show_error("No library is open, so there is nothing to recognise against.")
            return
        self.clear_error()
        self.save_settings()
        w = self.worker = RecognitionWorker(self.session, self.source_bar.spec(), loop=self.source_bar.loop_box.isChecked(),
                                            stream=lambda: self.settings_panel.stream.server)
        w.ready.connect(self._on_ready)
        w.aligned_ready.connect(self._aligned.update)
        w.frame_ready.connect(self._on_frame)
        w.stats.connect(self._on_stats)
        w.failed.connect(self.show_error)
        w.source_warnings.connect(lambda warnings: self.statusBar().showMessage("; ".join(warnings), 10000))
        w.recording_progress.connect(self.record.progress)
        w.recorded.connect(self._on_recorded)
        w.ended.connect(lambda reason: self._finish_worker(w, reason))
        self.video.set_message(f"Opening {self.source_bar.text()}…")
        self.card.set_detail("starting…")
        w.start()
        self._update_buttons()

    def toggle_pause(self) -> None:
        if self.worker is None:
            return
        self.worker.set_paused(not self.worker.paused)
        self.source_bar.set_paused(self.worker.paused)

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
        self.settings_panel.set_encoder(encoder.meta)
        self.library_panel.show_encoder()
        self.device_view.setText(device_text(encoder.device))
        self.device_view.setToolTip(f"encoder {encoder.path}")
        self.statusBar().showMessage(f"Running on {description}", 5000)
        self.card.set_detail("waiting for the first window…")
        self.record.source_ready()

    def _finish_worker(self, w, reason: str) -> None:
        if w is not self.worker:   # a late signal of a worker already finished
            return
        self.worker = None
        w.wait(5000)
        w.deleteLater()
        self.card.stopped()
        if reason == "end of video":
            self.statusBar().showMessage("End of the video", 5000)
        if reason != "error" and not self.video.has_image:
            self.video.set_message("Stopped")
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.worker is not None
        self.source_bar.set_running(running)
        self.record.set_running(running)

    # ================================================================ results
    def _on_frame(self, fr) -> None:
        """Each person's label at them; the followed person's (or, with nobody tracked, the
        scene's "no person") in the card and their aligned window in the skeleton panel."""
        if fr.selected is not None and fr.selected != self._card_track:    # someone else followed now
            self._card_track = fr.selected
            self.card.show_waiting(f"following person {fr.selected}: waiting for their first window")
            self.skeleton.clear(f"person {fr.selected}: waiting for their first window")
        for w in fr.windows:
            if w.track:      # a tracked person's "no person" is a gap in their detections: keep the last label
                if w.prediction.label != NO_PERSON or w.track not in self.track_labels:
                    self.track_labels[w.track] = "" if w.prediction.label == NO_PERSON else w.prediction.label
            if w.track and w.track == fr.selected and w.prediction.label == NO_PERSON:
                self.card.show_waiting(f"person {w.track} is in view, but too little of them yet for a label")
            elif w.track == (fr.selected or 0) or (not fr.people and w.track == 0):
                self.card.show_prediction(w.prediction)
                if w.track in self._aligned:
                    self.skeleton.set_window(self._aligned[w.track])
        self._aligned.clear()
        present = {p.track for p in fr.people}
        self.track_labels = {k: v for k, v in self.track_labels.items() if k in present}
        self.video.set_frame(fr.image, people=[Overlay(p.track, p.pose.image_landmarks, self.track_labels.get(p.track, ""),
                                                       p.track == fr.selected) for p in fr.people])
        self.card.show_people([(p.track, self.track_labels.get(p.track, ""), p.track == fr.selected)
                               for p in sorted(fr.people, key=lambda p: p.track)])

    def follow_person(self, track: int) -> None:
        """A click on a person: the card, the skeleton panel and recording follow them."""
        self.session.selected = track
        self.statusBar().showMessage(f"Following person {track}: the label card, the skeleton panel and "
                                     f"recording use this person", 5000)

    def _on_stats(self, s: dict) -> None:
        fps = s.get("fps")
        self.fps_view.setText(f"{fps:.1f} fps" if fps else "fps –")
        self.lat_view.setText(f"pose {fmt_ms(s['pose_ms'])} · encode {fmt_ms(s['encode_ms'])} · "
                              f"search {fmt_ms(s['search_ms'])} · other {fmt_ms(s['overhead_ms'])} ms")
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
    def _on_recorded(self, segment: Segment) -> None:
        if not self.record.captured(segment) or not self.session.encoder_loaded:
            return
        try:                                  # the whole capture as the encoder aligns it
            self.record.play(self.session.preview(segment))
        except AppError as e:
            self.record.preview.clear(f"no preview: {e}")

    def save_recording(self, label: str | None = None) -> int:
        """Adds the captured segment's windows as prototypes of ``label`` (default: the typed one);
        returns how many."""
        label = (label or self.record.label()).strip()
        segment = self.record.segment
        if segment is None or not label or self.library_panel.library is None or not self.session.encoder_loaded:
            return 0
        try:
            ids = self.session.save(label, segment)     # the index catches up by itself
        except AppError as e:
            self.show_error(message_for(e))
            return 0
        self.record.saved(label, len(ids))
        self.library_panel.refresh()
        return len(ids)

    # ================================================================ closing
    def closeEvent(self, event) -> None:  # noqa: N802
        self.save_settings()
        self.stop()
        self.settings_panel.stream.close_server()
        self.session.close()
        self.library_panel.library = None
        super().closeEvent(event)
