"""The one atomic file writer: a file is whole (old or new) or absent, never half written.

Everything the project writes that a user or the app reads back (encoder files, checkpoints,
reports, exported libraries, embeddings) goes through :func:`atomic_write`: the content is written
to a temporary file beside the target, flushed to disk, renamed over the target with
``os.replace`` (atomic on POSIX and Windows), and the folder is synced so the rename survives a
power cut. An exception (a full disk, Ctrl+C) leaves the target as it was and removes the temporary.
"""
from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Callable


def atomic_write(path: str | Path, write: Callable[[Path], object], suffix: str = "") -> Path:
    """``write(tmp)`` fills a temporary file beside ``path``, which then replaces ``path`` in one rename.

    ``suffix`` is given to the temporary's name for writers that choose a format by extension
    (``np.savez`` appends ``.npz``, matplotlib reads the format from it). Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{suffix}")
    try:
        write(tmp)
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_bytes(path: str | Path, data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_text(path: str | Path, text: str) -> Path:
    return atomic_bytes(path, text.encode("utf-8"))


def atomic_copy(src: str | Path, dst: str | Path) -> Path:
    return atomic_write(dst, lambda tmp: shutil.copyfile(src, tmp))


def fsync_dir(folder: str | Path) -> None:
    """Makes a rename inside ``folder`` durable (POSIX; a no-op elsewhere)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
