"""The Settings tab: strictness ("unknown" when unsure), window length, stride and smoothing; the event stream."""
from __future__ import annotations

from PyQt5.QtCore import pyqtSignal
from PyQt5.QtWidgets import QDoubleSpinBox, QFormLayout, QLabel, QSpinBox, QWidget

from focovil.realtime.strictness import meaning

from .stream_box import StreamBox


class SettingsPanel(QWidget):
    """Spin boxes over some :class:`Settings` fields (:meth:`values`); ``changed`` on every edit (the
    window builds the settings: ``realtime.settings.build_settings``, its boxes over the run's own).

    Beside strictness, what that level was measured to do with the running encoder (its table)."""

    changed = pyqtSignal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.meta = None                  # the running encoder's metadata, once one is loaded
        f = QFormLayout(self)
        self.strictness = QSpinBox(minimum=0, maximum=100, singleStep=5, suffix=" %")
        self.strictness.setToolTip("How sure a match must be before the action is named; below it the answer "
                                   "is \u201cunknown\u201d. N % = the share of correct matches turned away.")
        self.meaning = QLabel("", objectName="note", wordWrap=True)
        self.window_s = QDoubleSpinBox(minimum=0.5, maximum=5.0, singleStep=0.1, decimals=1, suffix=" s")
        self.stride = QDoubleSpinBox(minimum=0.05, maximum=2.0, singleStep=0.05, decimals=2, suffix=" s")
        self.smoothing = QDoubleSpinBox(minimum=0.0, maximum=0.95, singleStep=0.05, decimals=2)
        self.persons = QSpinBox(minimum=1, maximum=4)
        self.persons.setToolTip("How many people the pose model looks for; each gets a label. More than one costs "
                                "about 1.5x the pose time per frame (README). Applies at the next Start.")
        self.smoothing.setToolTip("Weight of the past in the label's moving average (0: none)")
        self.window_s.setToolTip("How much of the past each label looks at")
        self.stride.setToolTip("How often a new label comes")
        f.addRow("Strictness", self.strictness)
        f.addRow("", self.meaning)
        f.addRow("Window length", self.window_s)
        f.addRow("A label every", self.stride)
        f.addRow("Smoothing", self.smoothing)
        f.addRow("People to follow", self.persons)
        f.addRow(QLabel("\u201cIdle\u201d: a person in view who stands still (unless you recorded a still pose). "
                        "Changes apply at once (the window restarts) and are kept between runs.",
                        objectName="note", wordWrap=True))
        self.stream = StreamBox()         # its own signals (changed, error): the stream is no recognition setting
        f.addRow("Event stream", self.stream)
        self._boxes = {"strictness": self.strictness, "window_s": self.window_s, "stride_s": self.stride,
                       "smoothing": self.smoothing, "persons": self.persons}
        for box in self._boxes.values():
            box.valueChanged.connect(lambda _v: self.changed.emit())
        self.strictness.valueChanged.connect(lambda _v: self._show_meaning())
        self._show_meaning()

    def values(self) -> dict:
        """The :class:`Settings` fields the boxes hold."""
        return {key: float(box.value()) if key == "strictness" else box.value() for key, box in self._boxes.items()}

    def set_encoder(self, meta) -> None:
        """The running encoder's metadata: its measured table gives strictness its meaning."""
        self.meta = meta
        self._show_meaning()

    def _show_meaning(self) -> None:
        s = self.strictness.value()
        self.meaning.setText(meaning(self.meta, s) if self.meta is not None else
                             "its measured meaning shows once the encoder is loaded (press Start)")

    def stored(self) -> dict:
        """This panel's keys of :data:`realtime.settings.STORED` and their values."""
        return {**{key: box.value() for key, box in self._boxes.items()}, **self.stream.stored()}

    def restore(self, values: dict) -> None:
        """Shows stored (or given) values without announcing them as a change."""
        for key, box in self._boxes.items():
            if key in values:
                box.blockSignals(True)
                box.setValue(int(round(values[key])) if isinstance(box, QSpinBox) else values[key])
                box.blockSignals(False)
        self.stream.restore(values)
        self._show_meaning()
