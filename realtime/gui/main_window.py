"""The main window: it composes the panels, owns the :class:`~realtime.session.Session` and the
worker thread, and routes their signals.

  SourceBar      start/pause/stop_clicked  -> start(), toggle_pause(), stop()
  SettingsPanel  changed                   -> the store and session.apply(settings()); its StreamBox (the event
                 stream's server): changed -> the store, error -> the banner, .server -> the worker
  RecordPanel    capture_started(seconds), capture_ended -> the worker; save_requested(label) ->
                 session.save(); choices_used -> the store; error -> the banner
  LibraryPanel   changed -> session.refresh(); error -> the banner; message -> the status bar
  worker         aligned_ready, frame_ready, stats -> the LiveView (gui/live_view.py); label_message ->
                 result_changed (each label change, the schema's message: what stdout prints); ready,
                 recording_progress, recorded, failed, source_warnings, ended -> here
"""
from __future__ import annotations


import dataclasses

from PyQt5.QtCore import QSettings, Qt, pyqtSignal
from PyQt5.QtWidgets import QLabel, QMainWindow, QSplitter, QVBoxLayout, QWidget

from focovil.realtime.encoder import EncoderFileError, file_metadata
from focovil.realtime.session import AppError, Session
from focovil.realtime.settings import Settings, build_settings

from .choices import StoredChoices
from .columns import SideColumn, VideoColumn
from .live_view import LiveView
from .style import STYLE
from .worker import RecognitionWorker


class MainWindow(QMainWindow):
    result_changed = pyqtSignal(dict)         # a person's new (state, label): the schema's message (messages.Result)

    def __init__(self, session: Session | None = None, source: int | str | None = None,
                 store: QSettings | None = None, overrides: dict | None = None) -> None:
        """``session``: the command line's (``realtime.options.session_from``; None: the default
        library and encoder); ``source``: the one to show (None: the stored one); ``overrides``:
        :data:`STORED` values given for this run only (--window/--stride/--strictness), not stored.
        The session's settings as they come (the defaults and what was given for this run: --pose-fps,
        --redetect, ...) stay under the Settings tab's boxes, at start and after every change."""
        super().__init__()
        self.setWindowTitle("FoCoViL — live action recognition")
        self.store = store or QSettings("focovil", "focovil-gui")
        self.session = session or Session(timing_keep=60)
        self.run_settings = dataclasses.asdict(self.session.settings)
        self.worker: RecognitionWorker | None = None
        self.encoder = None                  # the session's encoder, once a run has loaded it
        self.setStyleSheet(STYLE)
        self._build()
        self.choices = StoredChoices(self.store, (self.settings_panel, self.record, self.source_bar), overrides)
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

        left, right = VideoColumn(), SideColumn(self.session)
        self.side = right
        self.video, self.skeleton, self.source_bar = left.video, left.skeleton, left.source_bar
        self.card, self.tabs, self.record = right.card, right.tabs, right.record
        self.library_panel, self.settings_panel = right.library_panel, right.settings_panel
        self.video.person_clicked.connect(self.follow_person)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        split.setSizes([740, 500])

        self.live = LiveView(self.video, self.skeleton, self.card, self.statusBar())
        self.resize(1240, 800)
        self._connect()

    def _connect(self) -> None:
        self.source_bar.start_clicked.connect(self.start)
        self.source_bar.pause_clicked.connect(self.toggle_pause)
        self.source_bar.stop_clicked.connect(self.stop)
        self.settings_panel.changed.connect(self._settings_changed)
        self.settings_panel.stream.changed.connect(self.save_settings)
        self.settings_panel.stream.error.connect(self.show_error)
        self.record.capture_started.connect(lambda seconds: self.worker and self.worker.start_recording(seconds))
        self.record.capture_ended.connect(lambda: self.worker and self.worker.end_recording())
        self.record.save_requested.connect(self.side.save_recording)
        self.side.error.connect(self.show_error)
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
    def _load_settings(self, source) -> None:
        self.choices.restore()
        if source is not None:
            self.source_bar.set_source(source)
        self._apply(self.settings())

    def settings(self) -> Settings:
        """The run's settings under the boxes' values (``realtime.settings.build_settings``)."""
        return build_settings(self.run_settings, self.settings_panel.values())

    def save_settings(self) -> None:
        """Stores the window's choices; a value given for this run only is not stored while it stands."""
        self.choices.save()

    def _settings_changed(self) -> None:
        self.save_settings()
        self._apply(self.settings())

    def _apply(self, settings: Settings) -> None:
        self.session.apply(settings)
        self.live.show_pose(settings, self.session.pose_model)

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
        w.aligned_ready.connect(self.live.aligned.update)
        w.frame_ready.connect(self.live.show_frame)
        w.label_message.connect(self.result_changed)
        w.stats.connect(self.live.show_stats)
        w.failed.connect(self.show_error)
        w.source_warnings.connect(lambda warnings: self.statusBar().showMessage("; ".join(warnings), 10000))
        w.recording_progress.connect(self.record.progress)
        w.recorded.connect(self.side.show_captured)
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
        self.live.show_device(encoder.device, f"encoder {encoder.path}")
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
    def follow_person(self, track: int) -> None:
        """A click on a person: the card, the skeleton panel and recording follow them."""
        self.session.follow.selected = track
        self.statusBar().showMessage(f"Following person {track}: the label card, the skeleton panel and "
                                     f"recording use this person", 5000)

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

    # ================================================================ closing
    def closeEvent(self, event) -> None:  # noqa: N802
        self.save_settings()
        self.stop()
        self.settings_panel.stream.close_server()
        self.session.close()
        self.library_panel.library = None
        super().closeEvent(event)
