"""The window as the encoder sees it after view alignment (``EncoderRuntime.align``), x/y projection."""
from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QPointF, QRectF, Qt
from PyQt5.QtGui import QColor, QPainter, QPen
from PyQt5.QtWidgets import QSizePolicy, QWidget

from realtime.skeleton import BONES, JOINTS

_LEFT = {i for i, n in enumerate(JOINTS) if n.startswith("left_")}
_RIGHT = {i for i, n in enumerate(JOINTS) if n.startswith("right_")}


class SkeletonView(QWidget):
    """Latest aligned pose bold, a few earlier ones of the window faint (the motion's trail).

    Canonical space is y up and x to the camera's left, so x is drawn mirrored (as the camera sees
    the person) and y upwards. The scale is that of the whole window, so the figure does not
    breathe from frame to frame.
    """

    TRAIL = 4

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._window: np.ndarray | None = None
        self.setMinimumSize(160, 160)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setToolTip("The last window after the encoder's view alignment (x/y projection)")

    def set_window(self, aligned: np.ndarray | None) -> None:
        self._window = None if aligned is None else np.asarray(aligned, dtype=np.float32)
        self.update()

    def _mapper(self, area: QRectF):
        w = self._window
        pts = w[..., :2].reshape(-1, 2)
        pts = pts[np.isfinite(pts).all(axis=1)]
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        span = float(max(hi[0] - lo[0], hi[1] - lo[1], 1e-6))
        s = min(area.width(), area.height()) / span
        cx, cy = (lo + hi) / 2

        def to_screen(x: float, y: float) -> QPointF:
            return QPointF(area.center().x() - (x - cx) * s, area.center().y() - (y - cy) * s)
        return to_screen

    def paintEvent(self, _event) -> None:  # noqa: N802
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), QColor(32, 35, 41))
        p.setPen(QColor(150, 156, 168))
        p.drawText(QRectF(8, 4, self.width() - 16, 20), Qt.AlignLeft | Qt.AlignVCenter, "aligned skeleton (encoder view)")
        if self._window is None or not np.isfinite(self._window).any():
            p.drawText(QRectF(self.rect()), Qt.AlignCenter, "waiting for a window")
            return
        area = QRectF(self.rect()).adjusted(16, 30, -16, -12)
        to_screen = self._mapper(area)
        T = len(self._window)
        frames = sorted({max(T - 1 - k * max(T // (self.TRAIL + 1), 1), 0) for k in range(self.TRAIL + 1)})
        for f in frames:
            latest = f == T - 1
            alpha = 255 if latest else 60
            width = 3.0 if latest else 1.5
            j = self._window[f]
            for a, b in BONES:
                if not (np.isfinite(j[a]).all() and np.isfinite(j[b]).all()):
                    continue
                c = QColor(80, 200, 255) if b in _LEFT else QColor(255, 170, 60) if b in _RIGHT else QColor(235, 235, 235)
                c.setAlpha(alpha)
                p.setPen(QPen(c, width, Qt.SolidLine, Qt.RoundCap))
                p.drawLine(to_screen(*j[a, :2]), to_screen(*j[b, :2]))
