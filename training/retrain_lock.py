"""One retraining per library at a time.

Two runs on one library would share its work folder (checkpoint, candidate) and could both promote
to the same ``focovil-v{N}.pt``. So a run holds ``<library>.encoders/retrain.lock`` from start to end:
an SQLite file kept in an EXCLUSIVE transaction, which the operating system releases when the process
ends however it ends (no stale lock after a kill), on every platform SQLite runs on. A second run
waits up to :func:`realtime.library.lock_wait_s` seconds (``$FOCOVIL_LOCK_WAIT_S``, 30 s: the
library's own write wait) and then stops before touching anything, naming the run that holds it
(``retrain.lock.json``, there while a run holds the lock: pid, start time, work folder). The
lock file itself stays, empty.
"""
from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from focovil.realtime.files import atomic_text
from focovil.realtime.library import encoders_dir, is_busy, lock_wait_s
from focovil.training.retrain_inputs import RetrainError


@contextmanager
def retrain_lock(library: Path, work: str | Path | None = None, wait_s: float | None = None) -> Iterator[Path]:
    """Hold the library's retraining lock for the ``with`` block; :class:`RetrainError` if another
    run keeps it longer than ``wait_s``. Yields the lock file's path."""
    folder = encoders_dir(library)
    folder.mkdir(parents=True, exist_ok=True)
    lock, info = folder / "retrain.lock", folder / "retrain.lock.json"
    wait = lock_wait_s() if wait_s is None else wait_s
    con = sqlite3.connect(lock, timeout=wait, isolation_level=None)
    try:
        try:
            con.execute("BEGIN EXCLUSIVE")
        except sqlite3.OperationalError as e:
            if not is_busy(e):
                raise RetrainError(f"{lock}: cannot take the retraining lock ({e}); delete the file if it is damaged") from e
            raise RetrainError(f"{library} is being retrained by another run ({holder(info)}); waited {wait:g} s. "
                               f"Run again when it is done (FOCOVIL_LOCK_WAIT_S sets how long to wait)") from None
        atomic_text(info, json.dumps({"pid": os.getpid(), "started": time.strftime("%Y-%m-%d %H:%M:%S"),
                                      "work": str(work) if work else None}))
        try:
            yield lock
        finally:
            info.unlink(missing_ok=True)
    finally:
        con.close()      # ends the transaction: the next run may start


def holder(info: Path) -> str:
    """Who holds the lock, as the holder wrote it (best effort: the file may be from an older run)."""
    try:
        d = json.loads(info.read_text())
        return f"pid {d['pid']}, started {d['started']}" + (f", work folder {d['work']}" if d.get("work") else "")
    except (OSError, ValueError, KeyError, TypeError):
        return "its details are unknown"
