"""The Settings tab: the "unknown" threshold, window length, stride and smoothing of the labels."""
from __future__ import annotations

from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import QDoubleSpinBox, QFormLayout, QLabel, QWidget

from realtime.settings import Settings

AUTO = -0.01      # the threshold box's special value: the encoder's own threshold (as STORED keeps it)


class SettingsPanel(QWidget):
    """Spin boxes over :class:`Settings`; ``changed`` carries the new settings on every edit."""

    changed = pyqtSignal(object)      # Settings

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        f = QFormLayout(self)
        self.threshold = QDoubleSpinBox(minimum=AUTO, maximum=1.0, singleStep=0.01, decimals=2,
                                        specialValueText="auto (encoder's own)")
        self.threshold.setToolTip("Similarity below which a window is \"unknown\"")
        self.window = QDoubleSpinBox(minimum=0.5, maximum=5.0, singleStep=0.1, decimals=1, suffix=" s")
        self.stride = QDoubleSpinBox(minimum=0.05, maximum=2.0, singleStep=0.05, decimals=2, suffix=" s")
        self.smoothing = QDoubleSpinBox(minimum=0.0, maximum=0.95, singleStep=0.05, decimals=2)
        self.smoothing.setToolTip("Weight of the past in the label's moving average (0: none)")
        self.window.setToolTip("How much of the past each label looks at")
        self.stride.setToolTip("How often a new label comes")
        f.addRow("\u201cUnknown\u201d below similarity", self.threshold)
        f.addRow("Window length", self.window)
        f.addRow("A label every", self.stride)
        f.addRow("Smoothing", self.smoothing)
        f.addRow(QLabel("Changes apply at once (the window restarts) and are kept between runs.",
                        objectName="note", wordWrap=True))
        self._boxes = {"threshold": self.threshold, "window_s": self.window, "stride_s": self.stride,
                       "smoothing": self.smoothing}
        for box in self._boxes.values():
            box.valueChanged.connect(lambda _v: self.changed.emit(self.settings()))

    def settings(self) -> Settings:
        thr = self.threshold.value()
        return Settings(window_s=self.window.value(), stride_s=self.stride.value(),
                        threshold=None if thr < 0 else thr, smoothing=self.smoothing.value())

    def stored(self) -> dict:
        """This panel's keys of :data:`realtime.settings.STORED` and their values."""
        return {key: box.value() for key, box in self._boxes.items()}

    def restore(self, values: dict) -> None:
        """Shows stored (or given) values without announcing them as a change."""
        for key, box in self._boxes.items():
            if key in values:
                box.blockSignals(True)
                box.setValue(values[key])
                box.blockSignals(False)
