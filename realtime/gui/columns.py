"""The window's two columns: the video with what the encoder sees and the source row; the label card
with the Record, Library and Settings tabs."""
from __future__ import annotations

from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import QTabWidget, QVBoxLayout, QWidget

from focovil.realtime.session import AppError, Segment, Session

from .label_card import LabelCard
from .library_panel import LibraryPanel
from .record_panel import RecordPanel
from .settings_panel import SettingsPanel
from .skeleton_view import SkeletonView
from .source_bar import SourceBar
from .video import VideoView
from .worker import message_for


class VideoColumn(QWidget):
    """The video (a click on a person follows them), the aligned window below it, the source row."""

    def __init__(self) -> None:
        super().__init__()
        lv = QVBoxLayout(self)
        lv.setContentsMargins(0, 0, 0, 0)
        self.video = VideoView()
        self.video.setToolTip("Click on a person to follow them (label card, skeleton panel, recording)")
        lv.addWidget(self.video, 3)
        self.skeleton = SkeletonView(title="What the encoder sees: the window after view alignment")
        self.skeleton.setMinimumHeight(230)
        self.skeleton.setMaximumHeight(320)
        lv.addWidget(self.skeleton, 2)
        self.source_bar = SourceBar()
        lv.addWidget(self.source_bar)


class SideColumn(QWidget):
    """The label card above the tabs: Record, Library (on ``session``'s library), Settings; and what
    becomes of a capture (its preview, then prototypes)."""

    error = pyqtSignal(str)                  # a recording could not be saved

    def __init__(self, session: Session) -> None:
        super().__init__()
        self.session = session
        rv = QVBoxLayout(self)
        rv.setContentsMargins(6, 0, 0, 0)
        self.card = LabelCard()
        rv.addWidget(self.card)
        self.record = RecordPanel()
        self.library_panel = LibraryPanel(session)
        self.settings_panel = SettingsPanel()
        self.tabs = QTabWidget()
        self.tabs.addTab(self.record, "Record")
        self.tabs.addTab(self.library_panel, "Library")
        self.tabs.addTab(self.settings_panel, "Settings")
        rv.addWidget(self.tabs, 1)

    def show_captured(self, segment: Segment) -> None:
        """A capture ended: the Record tab offers it, playing the whole of it as the encoder aligns it."""
        if not self.record.captured(segment) or not self.session.encoder_loaded:
            return
        try:
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
            self.error.emit(message_for(e))
            return 0
        self.record.saved(label, len(ids))
        self.library_panel.refresh()
        return len(ids)
