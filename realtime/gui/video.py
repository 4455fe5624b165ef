"""The live frame with every tracked person's 33-landmark skeleton and current label drawn over it."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PyQt5.QtCore import QPointF, QRectF, Qt, pyqtSignal
from PyQt5.QtGui import QColor, QFont, QFontMetrics, QImage, QPainter, QPen
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


TRACK_COLOURS = ((58, 123, 213), (230, 126, 34), (39, 174, 96), (192, 57, 43), (142, 68, 173), (22, 160, 133))


def track_colour(track: int) -> QColor:
    """One colour per person (track id), the same in the video and in the side panel."""
    return QColor(*TRACK_COLOURS[(max(track, 1) - 1) % len(TRACK_COLOURS)])


@dataclass
class Overlay:
    """One person drawn over the frame: their track, image landmarks [33, 3], current label."""
    track: int
    landmarks: np.ndarray
    label: str = ""
    followed: bool = False


class VideoView(QWidget):
    """Draws the latest frame, aspect kept, every tracked person's landmarks over it and their label
    at them (a colour per person); a click on a person announces their track (``person_clicked``)."""

    person_clicked = pyqtSignal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._image: QImage | None = None
        self._people: list[Overlay] = []
        self._message = "No video yet: pick a camera or a file and press Start"
        self.setMinimumSize(320, 240)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setAttribute(Qt.WA_OpaquePaintEvent)

    @property
    def has_image(self) -> bool:
        """A frame is shown (not just a message)."""
        return self._image is not None

    def set_frame(self, image: np.ndarray | None, landmarks: np.ndarray | None = None,
                  people: list[Overlay] | None = None) -> None:
        """A new frame with its people (or one person's ``landmarks``, drawn without a label)."""
        if image is not None:
            self._image = bgr_to_qimage(image)
        if people is None:
            people = [] if landmarks is None else [Overlay(0, np.asarray(landmarks, np.float32), followed=True)]
        self._people = people
        self.update()

    @property
    def landmarks(self) -> np.ndarray | None:
        """The followed person's image landmarks in the frame shown (None: nobody)."""
        return next((o.landmarks for o in self._people if o.followed), None)

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

    def person_at(self, x: float, y: float) -> int | None:
        """The track of the person drawn nearest to widget point (x, y), if the point is on them."""
        r = self.image_rect()
        u, v = (x - r.x()) / max(r.width(), 1), (y - r.y()) / max(r.height(), 1)
        best, best_d = None, 0.08
        for o in self._people:
            vis = o.landmarks[o.landmarks[:, 2] >= MIN_VISIBILITY, :2]
            if not len(vis):
                continue
            (x0, y0), (x1, y1) = vis.min(axis=0), vis.max(axis=0)
            d = np.hypot(max(x0 - u, 0, u - x1), max(y0 - v, 0, v - y1))    # 0 inside the person's box
            if d <= best_d:
                best, best_d = o.track, d
        return best

    def mousePressEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        track = self.person_at(event.x(), event.y())
        if track:
            self.person_clicked.emit(track)

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
        for o in sorted(self._people, key=lambda o: o.followed):     # the followed person on top
            self._draw_person(p, r, o)

    def _draw_person(self, p: QPainter, r: QRectF, o: Overlay) -> None:
        lm = o.landmarks
        pts = [QPointF(r.x() + x * r.width(), r.y() + y * r.height()) for x, y, _ in lm]
        vis = lm[:, 2] >= MIN_VISIBILITY
        width = max(2.0, r.width() / 220) * (1.0 if o.followed else 0.7)
        tint = track_colour(o.track)
        for a, b in POSE_CONNECTIONS:
            if vis[a] and vis[b]:
                if o.followed:
                    color = QColor(80, 200, 255) if (a in _LEFT and b in _LEFT) else \
                        QColor(255, 170, 60) if (a not in _LEFT and b not in _LEFT and a > 10) else QColor(235, 235, 235)
                else:
                    color = tint
                p.setPen(QPen(color, width, Qt.SolidLine, Qt.RoundCap))
                p.drawLine(pts[a], pts[b])
        p.setPen(Qt.NoPen)
        p.setBrush(QColor(255, 255, 255) if o.followed else tint)
        for i, pt in enumerate(pts):
            if vis[i]:
                p.drawEllipse(pt, width * 0.9, width * 0.9)
        if o.track and vis.any():
            self._draw_tag(p, r, o, tint, [pt for pt, v in zip(pts, vis) if v])

    def _draw_tag(self, p: QPainter, r: QRectF, o: Overlay, tint: QColor, pts: list) -> None:
        """"person N · label" in the person's colour, above their highest visible landmark."""
        text = f"person {o.track}" + (f" \u00b7 {o.label}" if o.label else "") + (" \u2605" if o.followed else "")
        font = QFont(self.font())
        font.setPointSizeF(max(9.0, r.height() / 45))
        font.setBold(True)
        p.setFont(font)
        fm = QFontMetrics(font)
        w, h = fm.horizontalAdvance(text) + 12, fm.height() + 6
        top = min(pt.y() for pt in pts)
        cx = sum(pt.x() for pt in pts) / len(pts)
        box = QRectF(cx - w / 2, top - h - 6, w, h)
        box.moveLeft(min(max(box.left(), r.left() + 2), r.right() - w - 2))
        box.moveTop(min(max(box.top(), r.top() + 2), r.bottom() - h - 2))
        p.setPen(Qt.NoPen)
        p.setBrush(tint)
        p.drawRoundedRect(box, 5, 5)
        p.setPen(QColor(255, 255, 255))
        p.drawText(box, Qt.AlignCenter, text)
