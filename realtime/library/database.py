"""One library file's SQLite connection: how it is opened (WAL, foreign keys, ``synchronous=FULL``), the
lock that serialises this process's threads on it, SQLite's busy wait for other processes, reads and
write transactions. The store, re-embedding, the active-encoder pointer and export / import all go
through a :class:`Database`; none of them touches the connection otherwise.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from focovil.realtime.library.errors import LibraryError

LOCK_WAIT_S = 30.0      # how long a write waits for another process's write to finish


def is_busy(e: sqlite3.OperationalError) -> bool:
    """SQLite's "another connection holds the lock" (as opposed to any other operational error)."""
    return "locked" in str(e) or "busy" in str(e)


def lock_wait_s() -> float:
    """Seconds a write waits for another process's (``$FOCOVIL_LOCK_WAIT_S``, else :data:`LOCK_WAIT_S`)."""
    try:
        return max(float(os.environ.get("FOCOVIL_LOCK_WAIT_S", LOCK_WAIT_S)), 0.0)
    except ValueError:
        return LOCK_WAIT_S


class Database:
    """The connection to ``path`` (created if missing), shared by this process's threads behind one lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.wait_s = lock_wait_s()
        self._lock = threading.RLock()
        con = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=self.wait_s)
        try:
            con.execute("PRAGMA foreign_keys=ON")
            con.execute(f"PRAGMA busy_timeout={int(self.wait_s * 1000)}")
            if self._journal_wal(con).lower() != "wal":
                raise LibraryError(f"{path}: SQLite refused WAL journal mode (is it on a network file system?)")
            con.execute("PRAGMA synchronous=FULL")  # a recording that was confirmed survives a power cut too
        except BaseException:
            con.close()
            raise
        self._conn: sqlite3.Connection | None = con

    def busy(self) -> LibraryError:
        """The error a write gives when another program held the file longer than :attr:`wait_s`."""
        return LibraryError(f"{self.path} is busy: another program (the window, a recording, retraining) "
                            f"has been writing to it for {self.wait_s:g} s; nothing was changed, try again "
                            f"when it is done (FOCOVIL_LOCK_WAIT_S sets how long to wait)")

    def _journal_wal(self, con: sqlite3.Connection) -> str:
        """``PRAGMA journal_mode=WAL``, waiting like a write. A file still in rollback mode (a fresh copy
        of the shipped library) needs an exclusive lock to switch, and SQLite answers "locked" at once,
        without its busy wait, while another program is writing: so retry until the wait is over."""
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                return con.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            except sqlite3.OperationalError as e:
                if not is_busy(e):
                    raise
                if time.monotonic() >= deadline:
                    raise self.busy() from e
                time.sleep(0.05)

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise LibraryError(f"library {self.path} is closed")
        return self._conn

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        """All rows of one query (readers never wait for a writer: WAL)."""
        with self._lock:
            return self._connection().execute(sql, params).fetchall()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE``); rolled back on any exception, KeyboardInterrupt too."""
        with self._lock:
            con = self._connection()
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                if not is_busy(e):
                    raise
                raise self.busy() from e
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def backup_to(self, dst: sqlite3.Connection) -> None:
        """SQLite's online backup of the whole file into ``dst``, one consistent snapshot."""
        with self._lock:
            self._connection().backup(dst)

    def close(self) -> None:
        """Closes the connection (the last one to close checkpoints the WAL into the main file)."""
        with self._lock:
            con, self._conn = self._conn, None
            if con is not None:
                con.close()
