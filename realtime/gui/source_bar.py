"""The row under the video: which source (a camera or a file), looping, Start / Pause / Stop."""
from __future__ import annotations

from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import QCheckBox, QComboBox, QFileDialog, QHBoxLayout, QLabel, QPushButton, QWidget

from focovil.realtime.paths import DEMO_CLIP
from focovil.realtime.source import parse_source

from .style import display_path

SOURCE_CAMERA = "Camera {}"


class SourceBar(QWidget):
    start_clicked = pyqtSignal()
    pause_clicked = pyqtSignal()
    stop_clicked = pyqtSignal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.source_box = QComboBox(editable=True)
        self.source_box.addItems([SOURCE_CAMERA.format(0), SOURCE_CAMERA.format(1), display_path(DEMO_CLIP)])
        self.source_box.setMinimumContentsLength(16)
        self.source_box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.source_box.setToolTip("A camera index (\"Camera 0\") or a video file")
        browse = QPushButton("File…", clicked=self._browse)
        self.loop_box = QCheckBox("Loop file")
        self.start_btn = QPushButton("Start", clicked=lambda: self.start_clicked.emit())
        self.pause_btn = QPushButton("Pause", clicked=lambda: self.pause_clicked.emit())
        self.stop_btn = QPushButton("Stop", clicked=lambda: self.stop_clicked.emit())
        row.addWidget(QLabel("Source"))
        row.addWidget(self.source_box, 1)
        for w in (browse, self.loop_box, self.start_btn, self.pause_btn, self.stop_btn):
            row.addWidget(w)

    def text(self) -> str:
        return self.source_box.currentText()

    def spec(self) -> int | str:
        """What :meth:`realtime.session.Session.frames` takes: a camera index or a path."""
        return parse_source(self.text())

    def set_source(self, source: int | str) -> None:
        spec = parse_source(source)
        self.source_box.setCurrentText(SOURCE_CAMERA.format(spec) if isinstance(spec, int) else display_path(spec))
        self.source_box.lineEdit().setCursorPosition(0)

    def set_running(self, running: bool) -> None:
        self.start_btn.setEnabled(not running)
        self.pause_btn.setEnabled(running)
        self.stop_btn.setEnabled(running)
        self.source_box.setEnabled(not running)
        if not running:
            self.set_paused(False)

    def set_paused(self, paused: bool) -> None:
        self.pause_btn.setText("Resume" if paused else "Pause")

    def stored(self) -> dict:
        return {"loop": self.loop_box.isChecked(), "source": self.text()}

    def restore(self, values: dict) -> None:
        self.loop_box.setChecked(values["loop"])
        if values["source"] not in (None, ""):
            self.set_source(values["source"])

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a video", str(DEMO_CLIP.parent),
                                              "Videos (*.mp4 *.avi *.mov *.mkv *.webm);;All files (*)")
        if path:
            self.source_box.setCurrentText(path)
