"""The skeleton as the encoder sees it after view alignment (``EncoderRuntime.align``).

After alignment every window is centred on the pelvis, turned about the vertical so the body faces
the viewer, and scaled to torso length 1, whatever the camera's angle. This widget draws that
aligned window from the front (the person facing you, so their left, in blue as on the video, is on
your right) and, optionally, from the side, over a floor line at the feet.
"""
from __future__ import annotations

import numpy as np
from PyQt5.QtCore import QPointF, QRectF, Qt, QTimer
from PyQt5.QtGui import QColor, QFont, QPainter, QPen
from PyQt5.QtWidgets import QSizePolicy, QWidget

from focovil.realtime.skeleton import BONES, J, JOINTS

_LEFT = {i for i, n in enumerate(JOINTS) if n.startswith("left_")}
_RIGHT = {i for i, n in enumerate(JOINTS) if n.startswith("right_")}
LEFT_COLOR = QColor(80, 200, 255)     # as in the video overlay
RIGHT_COLOR = QColor(255, 170, 60)
MID_COLOR = QColor(235, 235, 235)
BG = QColor(32, 35, 41)
TEXT = QColor(170, 176, 188)


def bone_color(a: int, b: int) -> QColor:
    return QColor(LEFT_COLOR if b in _LEFT else RIGHT_COLOR if b in _RIGHT else MID_COLOR)


class SkeletonView(QWidget):
    """Live mode (:meth:`set_window`): the latest aligned pose bold, earlier ones of the window faint.
    Playback mode (:meth:`play`): the frames of a recording, animated in a loop.

    ``views``: ``"front"`` (x/y: x is drawn mirrored, as a viewer facing the person sees them) and
    ``"side"`` (z/y, seen from the person's left: they face the screen's left). The scale is that
    of the whole window, so the figure does not breathe from frame to frame.
    """

    TRAIL = 3

    def __init__(self, views: tuple[str, ...] = ("front", "side"), title: str = "", parent=None) -> None:
        super().__init__(parent)
        self.views = tuple(views)
        self.title = title
        self._frames: np.ndarray | None = None   # [T, J, 3]
        self._current = -1                        # the frame drawn bold (-1: the last)
        self._message = "waiting for the first window"
        self._timer = QTimer(self)
        self._timer.timeout.connect(self._advance)
        self.setMinimumSize(200, 160)
        self.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Expanding)
        self.setToolTip("The window after the encoder's view alignment: centred, turned to face you, "
                        "torso length 1. The same action from any camera angle looks alike here.")

    # ------------------------------------------------------------ data
    @property
    def frames(self) -> np.ndarray | None:
        return self._frames

    @property
    def playing(self) -> bool:
        return self._timer.isActive()

    def set_window(self, aligned: np.ndarray | None) -> None:
        self._timer.stop()
        self._frames = None if aligned is None else np.asarray(aligned, dtype=np.float32)
        self._current = -1
        self.update()

    def play(self, frames: np.ndarray, fps: float = 15.0) -> None:
        """Animates ``frames`` ``[N, J, 3]`` in a loop (a recording's preview)."""
        self._frames = np.asarray(frames, dtype=np.float32)
        self._current = 0
        self._timer.start(max(int(1000 / max(fps, 1.0)), 15))
        self.update()

    def clear(self, message: str = "") -> None:
        self._timer.stop()
        self._frames = None
        self._message = message
        self.update()

    def _advance(self) -> None:
        if self._frames is not None and len(self._frames):
            self._current = (self._current + 1) % len(self._frames)
            self.update()

    # ------------------------------------------------------------ geometry
    def panels(self) -> list[tuple[str, QRectF]]:
        """The drawing area of each view, side by side; the front view gets the larger share."""
        top = 30 if self.title else 8
        area = QRectF(self.rect()).adjusted(10, top, -10, -8)
        if len(self.views) == 1:
            return [(self.views[0], area)]
        weights = [1.25 if v == "front" else 1.0 for v in self.views]
        x, out = area.left(), []
        for v, wt in zip(self.views, weights):
            w = area.width() * wt / sum(weights)
            out.append((v, QRectF(x, area.top(), w, area.height())))
            x += w
        return out

    def mapper(self, view: str, area: QRectF):
        """``(joint xyz) -> QPointF`` for one view, at the scale shared by all views."""
        pts = self._frames.reshape(-1, 3)
        pts = pts[np.isfinite(pts).all(axis=1)]
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        c = (lo + hi) / 2
        span_y = float(max(hi[1] - lo[1], 1e-6))
        span_h = float(max(hi[0] - lo[0], hi[2] - lo[2], 1e-6))
        inner = area.adjusted(6, 8, -6, -26)       # room for the floor and the caption
        s = min(inner.height() / span_y, inner.width() / span_h)
        cx, cy = inner.center().x(), inner.center().y()
        h = 0 if view == "front" else 2
        sign = -1.0 if view == "front" else 1.0    # front: mirrored x; side: forward (-z) to the left

        def to_screen(p) -> QPointF:
            return QPointF(cx + sign * (float(p[h]) - c[h]) * s, cy - (float(p[1]) - c[1]) * s)
        return to_screen

    def screen_points(self, view: str = "front", frame: int = -1) -> list[QPointF]:
        """Where each joint of ``frame`` is drawn in ``view`` (for tests and tooltips)."""
        area = dict(self.panels())[view]
        to_screen = self.mapper(view, area)
        return [to_screen(p) for p in self._frames[frame]]

    # ------------------------------------------------------------ painting
    def paintEvent(self, _event) -> None:  # noqa: N802 (Qt's name)
        p = QPainter(self)
        p.setRenderHint(QPainter.Antialiasing)
        p.fillRect(self.rect(), BG)
        small = QFont(self.font())
        small.setPointSizeF(max(self.font().pointSizeF() * 0.9, 8.0))
        p.setFont(small)
        if self.title:
            p.setPen(TEXT)
            p.drawText(QRectF(10, 6, self.width() - 20, 20), Qt.AlignLeft | Qt.AlignVCenter, self.title)
            if p.fontMetrics().horizontalAdvance(self.title) + 140 < self.width():   # room for the legend
                self._legend(p, QRectF(10, 6, self.width() - 20, 20))
        if self._frames is None or not np.isfinite(self._frames).any():
            p.setPen(TEXT)
            p.drawText(QRectF(self.rect()).adjusted(14, 30, -14, -10), Qt.AlignCenter | Qt.TextWordWrap, self._message)
            return
        T = len(self._frames)
        cur = self._current % T
        if self.playing:
            frames = [cur]
        else:
            step = max(T // (self.TRAIL + 1), 1)
            frames = sorted({max(cur - k * step, 0) for k in range(self.TRAIL, 0, -1)} - {cur}) + [cur]
        floor_y = float(np.nanmin(self._frames[..., 1]))
        for view, area in self.panels():
            to_screen = self.mapper(view, area)
            self._floor(p, view, area, to_screen, floor_y)
            for f in frames:
                self._pose(p, to_screen, self._frames[f], bold=f == cur)

    def _legend(self, p: QPainter, r: QRectF) -> None:
        fm = p.fontMetrics()
        x = r.right()
        for text, color in (("right", RIGHT_COLOR), ("left", LEFT_COLOR)):
            w = fm.horizontalAdvance(text)
            x -= w
            p.setPen(color)
            p.drawText(QRectF(x, r.top(), w, r.height()), Qt.AlignVCenter, text)
            x -= 14
            p.setPen(Qt.NoPen)
            p.setBrush(color)
            p.drawEllipse(QPointF(x + 5, r.center().y()), 4, 4)
            x -= 12

    def _floor(self, p: QPainter, view: str, area: QRectF, to_screen, floor_y: float) -> None:
        y = to_screen(np.array([0.0, floor_y, 0.0], np.float32)).y() + 4
        pen = QPen(QColor(95, 102, 115), 1.5)
        p.setPen(pen)
        p.drawLine(QPointF(area.left() + 12, y), QPointF(area.right() - 12, y))
        p.setPen(TEXT)
        caption = "front: facing you" if view == "front" else "side: facing left"
        p.drawText(QRectF(area.left(), y + 3, area.width(), 20), Qt.AlignHCenter | Qt.AlignTop, caption)

    @staticmethod
    def _pose(p: QPainter, to_screen, j: np.ndarray, bold: bool) -> None:
        alpha, width = (255, 4.0) if bold else (55, 2.0)
        ok = np.isfinite(j).all(axis=1)
        pts = [to_screen(q) if good else None for q, good in zip(j, ok)]
        for a, b in BONES:
            if pts[a] is None or pts[b] is None:
                continue
            c = bone_color(a, b)
            c.setAlpha(alpha)
            p.setPen(QPen(c, width, Qt.SolidLine, Qt.RoundCap))
            p.drawLine(pts[a], pts[b])
        if bold and pts[J["head"]] is not None and pts[J["neck"]] is not None:
            head, neck = pts[J["head"]], pts[J["neck"]]
            r = max(((head.x() - neck.x()) ** 2 + (head.y() - neck.y()) ** 2) ** 0.5 * 0.45, 4.0)
            p.setPen(QPen(MID_COLOR, 2.5))
            p.setBrush(Qt.NoBrush)
            p.drawEllipse(head, r, r)
        if bold:
            p.setPen(Qt.NoPen)
            p.setBrush(QColor(255, 255, 255))
            for q in pts:
                if q is not None:
                    p.drawEllipse(q, 2.6, 2.6)
