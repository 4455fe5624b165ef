"""A folder of images as a :class:`~realtime.source.FrameSource`: files in natural order (``img2``
before ``img10``) at a nominal rate; an undecodable image is skipped with a warning."""
from __future__ import annotations

import re
from pathlib import Path

import cv2
import numpy as np

from focovil.realtime.source import DEFAULT_FPS, Frame, FrameSource, SourceError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")


def _natural_key(path: Path) -> list:
    return [(0, int(s), s) if s.isdigit() else (1, 0, s.lower()) for s in re.split(r"(\d+)", path.name)]


class ImageFolderSource(FrameSource):
    """The images of one folder as a stream at ``fps``; undecodable files are skipped with a warning
    (their time slot stays empty, so the timing of the others is unchanged)."""

    def __init__(self, path: Path, fps: float | None) -> None:
        self.path = path
        self._files = sorted((p for p in path.iterdir()
                              if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()), key=_natural_key)
        if not self._files:
            raise SourceError(f"image folder {path} has no images ({' '.join(IMAGE_EXTENSIONS)})")
        fps = fps or DEFAULT_FPS
        self._pos = 0
        skipped: list[str] = []
        first = self._decode_next(skipped)
        if first is None:
            raise SourceError(f"image folder {path}: none of its {len(self._files)} images could be decoded")
        h, w = first[1].shape[:2]
        super().__init__(fps, f"image folder {path.name} ({len(self._files)} images, {w}x{h}, {fps:g} fps)")
        self.warnings.extend(skipped)
        self._pending: tuple[int, np.ndarray] | None = first

    def _decode_next(self, warnings: list[str]) -> tuple[int, np.ndarray] | None:
        while self._pos < len(self._files):
            i, p = self._pos, self._files[self._pos]
            self._pos += 1
            if self.pose_fps and not self._due(i / self.fps):   # passed over at the pose rate: never read
                continue
            image = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if image is not None:
                return i, image
            warnings.append(f"could not decode image {p.name}; skipped")
        return None

    def _next_frame(self) -> Frame | None:
        if self._pending is not None:
            item, self._pending = self._pending, None
            self._due(item[0] / self.fps)          # the first frame: always due, it starts the schedule
        else:
            item = self._decode_next(self.warnings)
            if item is None:
                return None
        i, image = item
        return Frame(image, i / self.fps, i)
