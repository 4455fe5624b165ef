"""The live frame with MediaPipe's 33-landmark skeleton drawn over it."""
from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QPointF, QRectF, Qt
from PyQt5.QtGui import QColor, QImage, QPainter, QPen
from PyQt5.QtWidgets import QSizePolicy, QWidget

try:  # the connections MediaPipe itself draws
    from mediapipe.tasks.python.vision import PoseLandmarksConnections
    POSE_CONNECTIONS = tuple((c.start, c.end) for c in PoseLandmarksConnections.POSE_LANDMARKS)
except Exception:  # noqa: BLE001 (older mediapipe: the same list by hand)
    POSE_CONNECTIONS = ((0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8), (9, 10), (11, 12),
                        (11, 13), (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16),
                        (16, 18), (16, 20), (16, 22), (18, 20), (11, 23), (12, 24), (23, 24), (23, 25),
                        (24, 26), (25, 27), (26, 28), (27, 29), (28, 30), (29, 31), (30, 32), (27, 31), (28, 32))

_LEFT = {1, 2, 3, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31}   # the person's left side (odd ids)
MIN_VISIBILITY = 0.3


def bgr_to_qimage(image: np.ndarray) -> QImage:
    """A copy of an OpenCV BGR uint8 frame as a QImage (RGB888)."""
    rgb = np.ascontiguousarray(image[..., ::-1])
    h, w = rgb.shape[:2]
    return QImage(rgb.data, w, h, 3 * w, QImage.Format_RGB888).copy()


class VideoView(QWidget):
    """Draws the latest frame, aspect kept, and the followed person's landmarks over it."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._landmarks: np.ndarray | None = None
        self._message = "No video yet: pick a camera or a file and press Start"
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setAttribute(Qt.WA_OpaquePaintEvent)

    def set_frame(self, image: np.ndarray | None, landmarks: np.ndarray | None) -> None:
        if image is not None:
            self._image = bgr_to_qimage(image)
        self._landmarks = None if landmarks is None else np.asarray(landmarks, dtype=np.float32)
        self.update()

    def set_message(self, text: str) -> None:
        """Shown over a dark background when there is no frame (or instead of a stale one)."""
        self._message = text
        self._image = None if text else self._image
        self.update()

    def image_rect(self) -> QRectF:
        if self._image is None:
            return QRectF(self.rect())
        iw, ih = self._image.width(), self._image.height()
        s = min(self.width() / iw, self.height() / ih)
        w, h = iw * s, ih * s
        return QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h)

    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(24, 26, 30))
        if self._image is None:
            p.setPen(QColor(170, 175, 185))
            p.drawText(self.rect().adjusted(20, 20, -20, -20), Qt.AlignCenter | Qt.TextWordWrap, self._message)
            return
        p.setRenderHint(QPainter.SmoothPixmapTransform)
        p.setRenderHint(QPainter.Antialiasing)
        r = self.image_rect()
        p.drawImage(r, self._image)
        if self._landmarks is None:
            return
        lm = self._landmarks
        pts = [QPointF(r.x() + x * r.width(), r.y() + y * r.height()) for x, y, _ in lm]
        vis = lm[:, 2] >= MIN_VISIBILITY
        width = max(2.0, r.width() / 220)
        for a, b in POSE_CONNECTIONS:
            if vis[a] and vis[b]:
                color = QColor(80, 200, 255) if (a in _LEFT and b in _LEFT) else \
                    QColor(255, 170, 60) if (a not in _LEFT and b not in _LEFT and a > 10) else QColor(235, 235, 235)
                p.setPen(QPen(color, width, Qt.SolidLine, Qt.RoundCap))
                p.drawLine(pts[a], pts[b])
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(255, 255, 255))
        for i, pt in enumerate(pts):
            if vis[i]:
                p.drawEllipse(pt, width * 0.9, width * 0.9)
