"""The store: :class:`Library` opens one SQLite file, owns its connection and its write transactions,
writes prototypes (add, delete, rename) and reads them. Re-embedding, the active-encoder pointer and
export / import are the jobs of their own modules; the methods here are their doors.
"""
from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from focovil.realtime.library import active, schema, transfer
from focovil.realtime.library import embedding as reembedding
from focovil.realtime.library.checks import inspect
from focovil.realtime.library.codec import vector_blob, window_blob, window_from_blob
from focovil.realtime.library.errors import LibraryError, corrupt
from focovil.realtime.library.hashing import EncoderKey, encoder_key
from focovil.realtime.library.rows import encoder_id, insert_embedding, insert_prototype, label_id
from focovil.realtime.paths import default_library_path
from focovil.realtime.window import resample_frames

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


@dataclass
class Prototype:
    """One recorded example of a label. ``window`` is loaded only when asked for (it is the bulk of the file)."""
    id: int
    uid: str
    label: str
    created: float
    source: str
    start_s: float | None
    end_s: float | None
    frames: int
    window: np.ndarray | None = None


class Library:
    """The prototype library in one SQLite file. Thread-safe (one connection behind a lock); a context manager.

    ``Library()`` opens (or creates) :func:`default_library_path`. A library of an older schema is
    migrated on opening, in one transaction (:mod:`realtime.library.schema`).
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_library_path()
        self._lock = threading.RLock()
        if self.path.exists():
            if self.path.is_dir():
                raise LibraryError(f"{self.path} is a folder, not a library file")
            inspect(self.path)  # raises before anything is written
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.wait_s = lock_wait_s()
        con = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=self.wait_s)
        try:
            con.execute("PRAGMA foreign_keys=ON")
            con.execute(f"PRAGMA busy_timeout={int(self.wait_s * 1000)}")
            if self._journal_wal(con).lower() != "wal":
                raise LibraryError(f"{self.path}: SQLite refused WAL journal mode (is it on a network file system?)")
            con.execute("PRAGMA synchronous=FULL")  # a recording that was confirmed survives a power cut too
            self._conn = con
            # a current file is opened without the write lock, so reading never waits for a writer
            if con.execute("PRAGMA user_version").fetchone()[0] != schema.SCHEMA_VERSION:
                with self._tx() as c:
                    schema.upgrade(c, self.path)
        except BaseException:
            con.close()
            raise

    # ------------------------------------------------------------------ plumbing
    def _busy(self) -> LibraryError:
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
                    raise self._busy() from e
                time.sleep(0.05)

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back on any exception (including KeyboardInterrupt)."""
        with self._lock:
            con = self._connection()
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as e:
                if not is_busy(e):
                    raise
                raise self._busy() from e
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    def _connection(self) -> sqlite3.Connection:
        con = getattr(self, "_conn", None)
        if con is None:
            raise LibraryError(f"library {self.path} is closed")
        return con

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
        with self._lock:
            return self._connection().execute(sql, params).fetchall()

    def close(self) -> None:
        """Closes the connection (the last one to close checkpoints the WAL into the main file)."""
        with self._lock:
            con = getattr(self, "_conn", None)
            self._conn = None
            if con is not None:
                con.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return int(self._read("SELECT COUNT(*) FROM prototypes")[0][0])

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` plus foreign-key check: ``'ok'`` or the problems found."""
        rows = [r[0] for r in self._read("PRAGMA integrity_check")]
        fk = self._read("PRAGMA foreign_key_check")
        if fk:
            rows = [r for r in rows if r != "ok"] + [f"foreign key violations: {fk[:5]}"]
        return "; ".join(rows)

    # -------------------------------------------------------------------- writes
    def add_prototype(self, label: str, window: np.ndarray, source: str = "", start_s: float | None = None,
                      end_s: float | None = None, embedding: np.ndarray | None = None, encoder: Any = None) -> int:
        """Stores one recording (label created if new) with its raw window and, if given, its embedding.

        ``embedding`` is the encoder's output for this window; if it is None and ``encoder`` can
        ``embed``, it is computed here (after resampling to the encoder's window length). Label,
        prototype and embedding are written in one transaction. Returns the prototype id.
        """
        name = _clean_label(label)
        blob, frames, joints = window_blob(window)
        key = encoder_key(encoder) if encoder is not None else None
        if embedding is not None and key is None:
            raise ValueError("an embedding needs the encoder that made it (encoder=...)")
        if embedding is None and key is not None and hasattr(encoder, "embed"):
            embedding = encoder.embed(resample_frames(np.asarray(window), key.window)[None])[0]
        vec = vector_blob(embedding, key.dim) if embedding is not None and key is not None else None
        with self._tx() as c:
            pid = insert_prototype(c, uuid.uuid4().hex, name, time.time(), str(source or ""), _opt_float(start_s),
                                   _opt_float(end_s), frames, joints, blob)
            if vec is not None:
                insert_embedding(c, pid, encoder_id(c, key), vec)
        return pid

    def delete_label(self, name: str) -> int:
        """Deletes a label with all its prototypes and their embeddings; returns how many prototypes went."""
        with self._tx() as c:
            lid = label_id(c, name, create=False)
            if lid is None:
                raise LibraryError(f"no label {name!r} in {self.path}")
            n = c.execute("SELECT COUNT(*) FROM prototypes WHERE label_id=?", (lid,)).fetchone()[0]
            c.execute("DELETE FROM labels WHERE id=?", (lid,))  # prototypes, embeddings: ON DELETE CASCADE
        return int(n)

    def delete_prototype(self, prototype_id: int) -> None:
        """Deletes one prototype and its embeddings (its label stays, possibly with 0 prototypes)."""
        with self._tx() as c:
            if c.execute("DELETE FROM prototypes WHERE id=?", (int(prototype_id),)).rowcount == 0:
                raise LibraryError(f"no prototype {prototype_id} in {self.path}")

    def rename_label(self, old: str, new: str, merge: bool = False) -> None:
        """Renames a label. If ``new`` already exists this refuses unless ``merge=True``, which moves
        ``old``'s prototypes into ``new`` (a silent merge could not be undone)."""
        new = _clean_label(new)
        with self._tx() as c:
            old_id = label_id(c, old, create=False)
            if old_id is None:
                raise LibraryError(f"no label {old!r} in {self.path}")
            if new == old:
                return
            new_id = label_id(c, new, create=False)
            if new_id is None:
                c.execute("UPDATE labels SET name=? WHERE id=?", (new, old_id))
            elif not merge:
                n = c.execute("SELECT COUNT(*) FROM prototypes WHERE label_id=?", (old_id,)).fetchone()[0]
                raise LibraryError(f"label {new!r} already exists; to move the {n} prototypes of {old!r} into it, "
                                   f"rename with merge=True")
            else:
                c.execute("UPDATE prototypes SET label_id=? WHERE label_id=?", (new_id, old_id))
                c.execute("DELETE FROM labels WHERE id=?", (old_id,))

    # --------------------------------------------------------------------- reads
    def list_labels(self) -> list[tuple[str, int]]:
        """``[(label, number of prototypes)]`` sorted by name (labels with 0 prototypes included)."""
        rows = self._read("SELECT l.name, COUNT(p.id) FROM labels l LEFT JOIN prototypes p ON p.label_id=l.id "
                          "GROUP BY l.id ORDER BY l.name")
        return [(str(n), int(k)) for n, k in rows]

    def prototypes(self, label: str | None = None, with_windows: bool = False) -> list[Prototype]:
        """The prototypes (of one label, or all), oldest first; raw windows only if ``with_windows``."""
        cols = "p.id, p.uid, l.name, p.created, p.source, p.start_s, p.end_s, p.frames, p.joints"
        cols += ", p.window" if with_windows else ", NULL"
        sql = f"SELECT {cols} FROM prototypes p JOIN labels l ON l.id=p.label_id"
        rows = self._read(sql + (" WHERE l.name=? ORDER BY p.id" if label is not None else " ORDER BY p.id"),
                          (label,) if label is not None else ())
        return [Prototype(id=int(r[0]), uid=r[1], label=r[2], created=r[3], source=r[4], start_s=r[5], end_s=r[6],
                          frames=int(r[7]), window=window_from_blob(r[9], int(r[7]), int(r[8])) if with_windows else None)
                for r in rows]

    def window(self, prototype_id: int) -> np.ndarray:
        """The raw canonical window ``[T, J, 3]`` a prototype was recorded from."""
        rows = self._read("SELECT frames, joints, window FROM prototypes WHERE id=?", (int(prototype_id),))
        if not rows:
            raise LibraryError(f"no prototype {prototype_id} in {self.path}")
        w = window_from_blob(rows[0][2], int(rows[0][0]), int(rows[0][1]))
        if w is None:
            raise LibraryError(f"prototype {prototype_id} has a damaged raw window; delete it and record it again")
        return w

    def encoders(self) -> list[EncoderKey]:
        """Every encoder that has embedded something in this library."""
        return [EncoderKey.from_row(*row)
                for row in self._read("SELECT sha256, name, dim, window, metadata FROM encoders ORDER BY id")]

    def embeddings_for(self, encoder: Any) -> tuple[np.ndarray, list[str], np.ndarray]:
        """``(prototype ids [N], labels [N], embeddings [N, D] float32)`` of this encoder, read in one snapshot.

        Prototypes without an embedding for this encoder are left out: call :meth:`ensure_embedded` first.
        """
        key = encoder_key(encoder)
        rows = self._read("SELECT p.id, l.name, e.vector FROM embeddings e JOIN encoders c ON c.id=e.encoder_id "
                          "JOIN prototypes p ON p.id=e.prototype_id JOIN labels l ON l.id=p.label_id "
                          "WHERE c.sha256=? ORDER BY p.id", (key.sha256,))
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        labels = [str(r[1]) for r in rows]
        if not rows:
            return ids, labels, np.zeros((0, key.dim), dtype=np.float32)
        mat = np.frombuffer(b"".join(r[2] for r in rows), dtype="<f4").astype(np.float32)
        if mat.size != len(rows) * key.dim:
            raise corrupt(self.path, f"embeddings of encoder {key.name} are not all of size {key.dim}")
        return ids, labels, mat.reshape(len(rows), key.dim)

    def missing_embeddings(self, encoder: Any) -> list[int]:
        """Ids of prototypes that have no embedding for this encoder."""
        key = encoder_key(encoder)
        return [int(r[0]) for r in self._read(
            "SELECT p.id FROM prototypes p WHERE NOT EXISTS (SELECT 1 FROM embeddings e JOIN encoders c "
            "ON c.id=e.encoder_id WHERE e.prototype_id=p.id AND c.sha256=?) ORDER BY p.id", (key.sha256,))]

    # -------------------------------------------------- doors to the other jobs
    def ensure_embedded(self, encoder: Any, batch_size: int = 256,
                        progress: Callable[[int, int], None] | None = None) -> int:
        """Embeds every prototype that has no embedding for ``encoder`` (an ``EncoderRuntime``).

        This is what makes a new encoder (another training run, another embedding size) usable with
        an old library: the stored raw windows are resampled in time to the encoder's window length,
        embedded in batches, and all the new vectors are written in ONE transaction, so the library
        never holds a half-embedded state for that encoder. Returns the number embedded.
        """
        return reembedding.ensure_embedded(self, encoder, batch_size, progress)

    def encoders_dir(self) -> Path:
        """Where retrained encoders of this library live: ``<library stem>.encoders/`` beside the file."""
        return active.encoders_dir(self.path)

    def active_encoder(self) -> dict | None:
        """The encoder this library was promoted to (``training.retrain``), or None (use the app's default).

        ``{"file": absolute Path, "sha256", "version", "history": [earlier records, newest last], ...}``,
        stored in the ``settings`` table.
        """
        return active.active_encoder(self)

    def activate_encoder(self, encoder: Any, record: dict) -> int:
        """Makes ``encoder`` (an ``EncoderRuntime`` whose file is in :meth:`encoders_dir`) the active one.

        Every prototype is embedded with it and the pointer is switched in ONE transaction: a reader sees
        either the old encoder with all its embeddings or the new one with all of its. The old encoder's
        embeddings stay, so rolling back is another call of this. ``record`` is stored as the pointer
        (``file`` made relative to the library's folder). Returns the number of prototypes embedded.
        """
        return active.activate_encoder(self, encoder, record)

    def export_to(self, path: str | Path) -> Path:
        """Writes the whole library to one self-contained file (SQLite backup API, :func:`realtime.files.atomic_write`).

        The target is replaced atomically: readers see the old file or the complete new one, never a part.
        """
        return transfer.export_to(self, path)

    def import_from(self, path: str | Path, encoder: Any = None) -> int:
        """Merges another library file (an export) into this one; returns the number of prototypes added.

        Prototypes are matched by their uid, so importing the same file twice adds nothing. Labels are
        merged by name; raw windows always come along; embeddings come along for encoders identified
        by the same file sha256. Everything is one transaction. With ``encoder``, prototypes missing
        its embedding are then embedded (:meth:`ensure_embedded`). The source may be of an older schema.
        """
        return transfer.import_from(self, path, encoder)


def _clean_label(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a label must be a non-empty string, got {name!r}")
    return name.strip()


def _opt_float(x: float | None) -> float | None:
    return None if x is None else float(x)
