"""The prototype library: labels, the raw canonical windows they were recorded from, and embeddings.

One SQLite file (stdlib ``sqlite3``), WAL journal, foreign keys on, ``synchronous=FULL``, schema
version in ``PRAGMA user_version``. Every multi-step write is one ``BEGIN IMMEDIATE`` transaction, so
a crash or a kill leaves either the whole prototype (label + window + embedding) or none of it.

Why raw windows are stored: embeddings belong to one encoder file. When the app switches encoder
(a retrained one, or one with another embedding size), :meth:`Library.ensure_embedded` re-embeds
every stored window with it, so a recording is never lost or silently compared in the wrong space.
Encoders are identified by the sha256 of their file, not by their path.

A file that is not a readable library (random bytes, a truncated database, a newer schema) is refused
with :class:`LibraryError` *before* anything is written to it: the checks read the header and run
``PRAGMA quick_check`` on a read-only connection.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import numpy as np

from realtime.paths import default_library_path
from realtime.skeleton import NUM_JOINTS
from realtime.window import resample_frames

SCHEMA_VERSION = 1
APPLICATION_ID = 0x46435649  # "FCVI": marks the file as a focovil library (PRAGMA application_id)
_SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE labels (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE,
    created REAL NOT NULL
);
CREATE TABLE prototypes (
    id       INTEGER PRIMARY KEY,
    uid      TEXT NOT NULL UNIQUE,            -- stable across export/import, so imports never duplicate
    label_id INTEGER NOT NULL REFERENCES labels(id) ON DELETE CASCADE,
    created  REAL NOT NULL,
    source   TEXT NOT NULL DEFAULT '',        -- where it came from: camera, video file, ...
    start_s  REAL,
    end_s    REAL,
    frames   INTEGER NOT NULL,                -- raw window shape [frames, joints, 3]
    joints   INTEGER NOT NULL,
    window   BLOB NOT NULL                    -- float32 little-endian, the canonical skeletons
);
CREATE INDEX prototypes_label ON prototypes(label_id);
CREATE TABLE encoders (
    id       INTEGER PRIMARY KEY,
    sha256   TEXT NOT NULL UNIQUE,
    name     TEXT NOT NULL,
    dim      INTEGER NOT NULL,
    window   INTEGER NOT NULL,
    metadata TEXT NOT NULL,
    added    REAL NOT NULL
);
CREATE TABLE embeddings (
    prototype_id INTEGER NOT NULL REFERENCES prototypes(id) ON DELETE CASCADE,
    encoder_id   INTEGER NOT NULL REFERENCES encoders(id) ON DELETE CASCADE,
    vector       BLOB NOT NULL,               -- float32 little-endian [dim]
    PRIMARY KEY (prototype_id, encoder_id)
) WITHOUT ROWID;
CREATE INDEX embeddings_encoder ON embeddings(encoder_id);
"""
_TABLES = {"labels", "prototypes", "encoders", "embeddings"}


class LibraryError(RuntimeError):
    """The library file cannot be used as it is (corrupt, newer schema, not a library) or a request is invalid."""


# ------------------------------------------------------------------------------------- encoders

@dataclass(frozen=True)
class EncoderKey:
    """What the library records about an encoder file; embeddings are keyed by its ``sha256``."""
    sha256: str
    name: str
    dim: int
    window: int
    meta: dict


_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | Path) -> str:
    """sha256 of a file (cached by path, size and mtime: the app asks for it on every index build)."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _SHA_CACHE:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _SHA_CACHE[key] = h.hexdigest()
    return _SHA_CACHE[key]


def encoder_key(encoder: Any) -> EncoderKey:
    """An :class:`EncoderKey` from an ``EncoderRuntime`` (``.path`` + ``.meta``) or an ``EncoderKey``."""
    if isinstance(encoder, EncoderKey):
        return encoder
    try:
        path, meta = Path(encoder.path), encoder.meta.to_dict()
    except AttributeError as e:
        raise TypeError(f"expected an EncoderRuntime (realtime.encoder.load_encoder) or EncoderKey, got {type(encoder).__name__}") from e
    return EncoderKey(sha256=file_sha256(path), name=path.name, dim=int(meta["embedding_dim"]),
                      window=int(meta["window"]), meta=meta)


# --------------------------------------------------------------------------------------- arrays

def _window_blob(window: np.ndarray) -> tuple[bytes, int, int]:
    w = np.asarray(window, dtype=np.float32)
    if w.ndim != 3 or w.shape[1:] != (NUM_JOINTS, 3) or w.shape[0] < 1:
        raise ValueError(f"a prototype window must be a canonical skeleton window [T, {NUM_JOINTS}, 3], got {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("the prototype window contains NaN or inf")
    return np.ascontiguousarray(w, dtype="<f4").tobytes(), int(w.shape[0]), int(w.shape[1])


def _window_from_blob(blob: bytes | None, frames: int, joints: int) -> np.ndarray | None:
    if blob is None or joints != NUM_JOINTS or frames < 1 or len(blob) != frames * joints * 3 * 4:
        return None
    return np.frombuffer(blob, dtype="<f4").reshape(frames, joints, 3).astype(np.float32)


def _vector_blob(vector: np.ndarray, dim: int) -> bytes:
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    if v.shape[0] != dim:
        raise ValueError(f"embedding has size {v.shape[0]}, the encoder's embedding size is {dim}")
    if not np.isfinite(v).all():
        raise ValueError("the embedding contains NaN or inf")
    return np.ascontiguousarray(v, dtype="<f4").tobytes()


# ------------------------------------------------------------------------------ file validation

def _corrupt(path: Path, why: str) -> LibraryError:
    why = " ".join(why.split())
    return LibraryError(f"{path} is corrupt ({why}); the file was NOT modified. Move it aside and start a new "
                        f"library, or restore a backup / an exported library (Library.import_from).")


def _ro_uri(path: Path, immutable: bool = True) -> str:
    """Read-only URI. Without a -wal/-journal beside the file, ``immutable=1`` as well: SQLite then
    creates no -wal/-shm files either, so checking a file leaves the folder exactly as it was."""
    pending = any(Path(str(path) + s).exists() for s in ("-wal", "-journal"))
    return path.resolve().as_uri() + ("?mode=ro" if pending or not immutable else "?mode=ro&immutable=1")


def _inspect(path: Path) -> bool:
    """Checks an existing file without writing to it; True if it is an empty file (a new library).

    Raises :class:`LibraryError` for corrupt files, non-library databases and newer schemas.
    """
    size = path.stat().st_size
    if size == 0:
        return True
    with open(path, "rb") as f:
        header = f.read(100)
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise _corrupt(path, "not an SQLite database: bad header")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        raise _corrupt(path, f"bad page size {page_size}")
    pages = int.from_bytes(header[28:32], "big")
    header_size_valid = pages > 0 and header[24:28] == header[92:96]
    wal = Path(str(path) + "-wal")
    journal = Path(str(path) + "-journal")
    pending = (wal.exists() and wal.stat().st_size > 0) or (journal.exists() and journal.stat().st_size > 0)
    if header_size_valid and not pending and size < pages * page_size:
        raise _corrupt(path, f"truncated: the header says {pages} pages of {page_size} bytes, the file has {size} bytes")
    try:
        con = sqlite3.connect(_ro_uri(path), uri=True)
    except sqlite3.Error as e:
        raise LibraryError(f"cannot open {path} ({e}); the file was NOT modified") from e
    try:
        app_id = con.execute("PRAGMA application_id").fetchone()[0]
        version = con.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if app_id != APPLICATION_ID:
            if app_id == 0 and version == 0 and not tables:
                return True  # an empty SQLite database: fine to initialise
            raise LibraryError(f"{path} is an SQLite database but not a focovil library (application_id {app_id:#x}); "
                               f"the file was NOT modified. Choose another library file.")
        if version > SCHEMA_VERSION:
            raise LibraryError(f"{path} was written by a newer focovil (library schema {version}; this version reads "
                               f"schema {SCHEMA_VERSION} and older). Update focovil, or open another library; the file "
                               f"was NOT modified.")
        missing = _TABLES - tables
        if missing:
            raise _corrupt(path, f"tables missing: {', '.join(sorted(missing))}")
        problems = [r[0] for r in con.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise _corrupt(path, "integrity check: " + "; ".join(problems)[:300])
        return False
    except sqlite3.DatabaseError as e:
        raise _corrupt(path, f"SQLite: {e}") from e
    finally:
        con.close()


# ---------------------------------------------------------------------------------- the library

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

    ``Library()`` opens (or creates) :func:`default_library_path`.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_library_path()
        self._lock = threading.RLock()
        if self.path.exists():
            if self.path.is_dir():
                raise LibraryError(f"{self.path} is a folder, not a library file")
            _inspect(self.path)  # raises before anything is written
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30.0)
        try:
            con.execute("PRAGMA foreign_keys=ON")
            con.execute("PRAGMA busy_timeout=30000")
            if con.execute("PRAGMA journal_mode=WAL").fetchone()[0].lower() != "wal":
                raise LibraryError(f"{self.path}: SQLite refused WAL journal mode (is it on a network file system?)")
            con.execute("PRAGMA synchronous=FULL")  # a recording that was confirmed survives a power cut too
            self._conn = con
            self._init_schema()
        except BaseException:
            con.close()
            raise

    # ------------------------------------------------------------------ plumbing
    def _init_schema(self) -> None:
        with self._tx() as c:
            version = c.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                # statement by statement: executescript() would COMMIT the transaction half-way
                for stmt in filter(str.strip, _SCHEMA.split(";")):
                    c.execute(stmt)
                c.execute(f"PRAGMA application_id={APPLICATION_ID}")
                c.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            elif version > SCHEMA_VERSION:  # another process upgraded it between the check and now
                raise LibraryError(f"{self.path} was written by a newer focovil (library schema {version}); update focovil")

    @contextlib.contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; rolled back on any exception (including KeyboardInterrupt)."""
        with self._lock:
            con = self._connection()
            con.execute("BEGIN IMMEDIATE")
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

    # -------------------------------------------------------------- helpers in tx
    @staticmethod
    def _label_id(c: sqlite3.Connection, name: str, create: bool) -> int | None:
        row = c.execute("SELECT id FROM labels WHERE name=?", (name,)).fetchone()
        if row is not None:
            return int(row[0])
        if not create:
            return None
        return int(c.execute("INSERT INTO labels(name, created) VALUES (?, ?)", (name, time.time())).lastrowid)

    @staticmethod
    def _encoder_id(c: sqlite3.Connection, key: EncoderKey, create: bool = True) -> int | None:
        row = c.execute("SELECT id, dim FROM encoders WHERE sha256=?", (key.sha256,)).fetchone()
        if row is not None:
            return int(row[0])
        if not create:
            return None
        return int(c.execute("INSERT INTO encoders(sha256, name, dim, window, metadata, added) VALUES (?,?,?,?,?,?)",
                             (key.sha256, key.name, key.dim, key.window, json.dumps(key.meta, sort_keys=True),
                              time.time())).lastrowid)

    @staticmethod
    def _clean_label(name: str) -> str:
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"a label must be a non-empty string, got {name!r}")
        return name.strip()

    # -------------------------------------------------------------------- writes
    def add_prototype(self, label: str, window: np.ndarray, source: str = "", start_s: float | None = None,
                      end_s: float | None = None, embedding: np.ndarray | None = None, encoder: Any = None) -> int:
        """Stores one recording (label created if new) with its raw window and, if given, its embedding.

        ``embedding`` is the encoder's output for this window; if it is None and ``encoder`` can
        ``embed``, it is computed here (after resampling to the encoder's window length). Label,
        prototype and embedding are written in one transaction. Returns the prototype id.
        """
        name = self._clean_label(label)
        blob, frames, joints = _window_blob(window)
        key = encoder_key(encoder) if encoder is not None else None
        if embedding is not None and key is None:
            raise ValueError("an embedding needs the encoder that made it (encoder=...)")
        if embedding is None and key is not None and hasattr(encoder, "embed"):
            embedding = encoder.embed(resample_frames(np.asarray(window), key.window)[None])[0]
        vec = _vector_blob(embedding, key.dim) if embedding is not None and key is not None else None
        with self._tx() as c:
            label_id = self._label_id(c, name, create=True)
            pid = int(c.execute(
                "INSERT INTO prototypes(uid, label_id, created, source, start_s, end_s, frames, joints, window) "
                "VALUES (?,?,?,?,?,?,?,?,?)",
                (uuid.uuid4().hex, label_id, time.time(), str(source or ""), _opt_float(start_s), _opt_float(end_s),
                 frames, joints, blob)).lastrowid)
            if vec is not None:
                c.execute("INSERT INTO embeddings(prototype_id, encoder_id, vector) VALUES (?,?,?)",
                          (pid, self._encoder_id(c, key), vec))
        return pid

    def delete_label(self, name: str) -> int:
        """Deletes a label with all its prototypes and their embeddings; returns how many prototypes went."""
        with self._tx() as c:
            label_id = self._label_id(c, name, create=False)
            if label_id is None:
                raise LibraryError(f"no label {name!r} in {self.path}")
            n = c.execute("SELECT COUNT(*) FROM prototypes WHERE label_id=?", (label_id,)).fetchone()[0]
            c.execute("DELETE FROM labels WHERE id=?", (label_id,))  # prototypes, embeddings: ON DELETE CASCADE
        return int(n)

    def delete_prototype(self, prototype_id: int) -> None:
        """Deletes one prototype and its embeddings (its label stays, possibly with 0 prototypes)."""
        with self._tx() as c:
            if c.execute("DELETE FROM prototypes WHERE id=?", (int(prototype_id),)).rowcount == 0:
                raise LibraryError(f"no prototype {prototype_id} in {self.path}")

    def rename_label(self, old: str, new: str, merge: bool = False) -> None:
        """Renames a label. If ``new`` already exists this refuses unless ``merge=True``, which moves
        ``old``'s prototypes into ``new`` (a silent merge could not be undone)."""
        new = self._clean_label(new)
        with self._tx() as c:
            old_id = self._label_id(c, old, create=False)
            if old_id is None:
                raise LibraryError(f"no label {old!r} in {self.path}")
            if new == old:
                return
            new_id = self._label_id(c, new, create=False)
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
                          frames=int(r[7]), window=_window_from_blob(r[9], int(r[7]), int(r[8])) if with_windows else None)
                for r in rows]

    def window(self, prototype_id: int) -> np.ndarray:
        """The raw canonical window ``[T, J, 3]`` a prototype was recorded from."""
        rows = self._read("SELECT frames, joints, window FROM prototypes WHERE id=?", (int(prototype_id),))
        if not rows:
            raise LibraryError(f"no prototype {prototype_id} in {self.path}")
        w = _window_from_blob(rows[0][2], int(rows[0][0]), int(rows[0][1]))
        if w is None:
            raise LibraryError(f"prototype {prototype_id} has a damaged raw window; delete it and record it again")
        return w

    def encoders(self) -> list[EncoderKey]:
        """Every encoder that has embedded something in this library."""
        return [EncoderKey(sha256=s, name=n, dim=int(d), window=int(w), meta=json.loads(m))
                for s, n, d, w, m in self._read("SELECT sha256, name, dim, window, metadata FROM encoders ORDER BY id")]

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
            raise _corrupt(self.path, f"embeddings of encoder {key.name} are not all of size {key.dim}")
        return ids, labels, mat.reshape(len(rows), key.dim)

    def missing_embeddings(self, encoder: Any) -> list[int]:
        """Ids of prototypes that have no embedding for this encoder."""
        key = encoder_key(encoder)
        return [int(r[0]) for r in self._read(
            "SELECT p.id FROM prototypes p WHERE NOT EXISTS (SELECT 1 FROM embeddings e JOIN encoders c "
            "ON c.id=e.encoder_id WHERE e.prototype_id=p.id AND c.sha256=?) ORDER BY p.id", (key.sha256,))]

    # ---------------------------------------------------------------- re-embedding
    def ensure_embedded(self, encoder: Any, batch_size: int = 256,
                        progress: Callable[[int, int], None] | None = None) -> int:
        """Embeds every prototype that has no embedding for ``encoder`` (an ``EncoderRuntime``).

        This is what makes a new encoder (another training run, another embedding size) usable with
        an old library: the stored raw windows are resampled in time to the encoder's window length,
        embedded in batches, and all the new vectors are written in ONE transaction, so the library
        never holds a half-embedded state for that encoder. Returns the number embedded.
        """
        key = encoder_key(encoder)
        if not hasattr(encoder, "embed"):
            raise TypeError("ensure_embedded needs an encoder that can embed (realtime.encoder.load_encoder)")
        total = 0
        for _ in range(3):  # again if another process added prototypes meanwhile
            todo = self.missing_embeddings(key)
            if not todo:
                break
            ids: list[int] = []
            vecs: list[np.ndarray] = []
            bad: list[int] = []
            for start in range(0, len(todo), batch_size):
                chunk = todo[start:start + batch_size]
                marks = ",".join("?" * len(chunk))
                rows = self._read(f"SELECT id, frames, joints, window FROM prototypes WHERE id IN ({marks}) ORDER BY id", chunk)
                batch_ids, wins = [], []
                for pid, frames, joints, blob in rows:
                    w = _window_from_blob(blob, int(frames), int(joints))
                    if w is None:
                        bad.append(int(pid))
                        continue
                    batch_ids.append(int(pid))
                    wins.append(resample_frames(w, key.window))
                if bad or not wins:
                    continue
                out = np.asarray(encoder.embed(np.stack(wins)), dtype=np.float32)
                if out.shape != (len(wins), key.dim):
                    raise LibraryError(f"encoder {key.name} returned {out.shape}, expected ({len(wins)}, {key.dim})")
                ids.extend(batch_ids)
                vecs.extend(out)
                if progress is not None:
                    progress(min(start + batch_size, len(todo)), len(todo))
            if bad:
                raise LibraryError(
                    f"{len(bad)} prototype(s) in {self.path} have no usable raw window (ids {bad[:20]}), so they cannot "
                    f"be embedded with encoder {key.name}. Nothing was changed. Delete them "
                    f"(Library.delete_prototype(id) for each id) and record those actions again, then retry.")
            with self._tx() as c:
                enc_id = self._encoder_id(c, key)
                c.executemany(
                    "INSERT OR IGNORE INTO embeddings(prototype_id, encoder_id, vector) "
                    "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM prototypes WHERE id=?)",
                    ((pid, enc_id, _vector_blob(v, key.dim), pid) for pid, v in zip(ids, vecs)))
            total += len(ids)
        return total

    # ------------------------------------------------------------ active encoder
    def encoders_dir(self) -> Path:
        """Where retrained encoders of this library live: ``<library stem>.encoders/`` beside the file."""
        return self.path.with_name(self.path.stem + ".encoders")

    def active_encoder(self) -> dict | None:
        """The encoder this library was promoted to (``training.retrain``), or None (use the app's default).

        ``{"file": absolute Path, "sha256", "version", "history": [earlier records, newest last], ...}``.
        Stored in a ``settings`` table that older versions of the app simply ignore (schema unchanged).
        """
        if not self._read("SELECT 1 FROM sqlite_master WHERE type='table' AND name='settings'"):
            return None
        rows = self._read("SELECT value FROM settings WHERE key='active_encoder'")
        if not rows:
            return None
        rec = json.loads(rows[0][0])
        rec["file"] = (self.path.parent / rec["file"]).resolve()   # stored relative to the library's folder
        return rec

    def activate_encoder(self, encoder: Any, record: dict) -> int:
        """Makes ``encoder`` (an ``EncoderRuntime`` whose file is in :meth:`encoders_dir`) the active one.

        Every prototype is embedded with it and the pointer is switched in ONE transaction: a reader sees
        either the old encoder with all its embeddings or the new one with all of its. The old encoder's
        embeddings stay, so rolling back is another call of this. ``record`` is stored as the pointer
        (``file`` made relative to the library's folder). Returns the number of prototypes embedded.
        """
        key = encoder_key(encoder)
        todo = self.missing_embeddings(key)
        vecs = self._embed_ids(encoder, key, todo)      # slow part, outside the write lock
        rec = dict(record, sha256=key.sha256, file=os.path.relpath(Path(record["file"]).resolve(), self.path.parent.resolve()))
        with self._tx() as c:
            enc_id = self._encoder_id(c, key)
            c.executemany("INSERT OR IGNORE INTO embeddings(prototype_id, encoder_id, vector) "
                          "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM prototypes WHERE id=?)",
                          ((pid, enc_id, _vector_blob(v, key.dim), pid) for pid, v in vecs.items()))
            late = [int(r[0]) for r in c.execute(   # recorded meanwhile: embedded inside the transaction
                "SELECT p.id FROM prototypes p WHERE NOT EXISTS (SELECT 1 FROM embeddings e "
                "WHERE e.prototype_id=p.id AND e.encoder_id=?)", (enc_id,))]
            for pid, v in self._embed_ids(encoder, key, late, conn=c).items():
                c.execute("INSERT INTO embeddings(prototype_id, encoder_id, vector) VALUES (?,?,?)",
                          (pid, enc_id, _vector_blob(v, key.dim)))
            c.execute("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            c.execute("INSERT OR REPLACE INTO settings(key, value) VALUES ('active_encoder', ?)",
                      (json.dumps(rec, sort_keys=True),))
        return len(vecs) + len(late)

    def _embed_ids(self, encoder: Any, key: EncoderKey, ids: list[int], conn: sqlite3.Connection | None = None,
                   batch_size: int = 256) -> dict[int, np.ndarray]:
        out: dict[int, np.ndarray] = {}
        for start in range(0, len(ids), batch_size):
            chunk = ids[start:start + batch_size]
            sql = f"SELECT id, frames, joints, window FROM prototypes WHERE id IN ({','.join('?' * len(chunk))}) ORDER BY id"
            rows = conn.execute(sql, chunk).fetchall() if conn is not None else self._read(sql, chunk)
            wins = [(int(pid), _window_from_blob(blob, int(f), int(j))) for pid, f, j, blob in rows]
            bad = [pid for pid, w in wins if w is None]
            if bad:
                raise LibraryError(f"prototype(s) {bad[:20]} in {self.path} have no usable raw window; nothing was "
                                   f"changed. Delete them and record those actions again.")
            emb = np.asarray(encoder.embed(np.stack([resample_frames(w, key.window) for _, w in wins])), np.float32)
            out.update(zip([pid for pid, _ in wins], emb))
        return out

    # ------------------------------------------------------------- export / import
    def export_to(self, path: str | Path) -> Path:
        """Writes the whole library to one self-contained file (SQLite backup API -> temp file -> os.replace).

        The target is replaced atomically: readers see the old file or the complete new one, never a part.
        """
        dest = Path(path)
        if dest.exists() and self.path.exists() and os.path.samefile(dest, self.path):
            raise LibraryError(f"cannot export the library onto itself ({dest})")
        dest.parent.mkdir(parents=True, exist_ok=True)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            dst = sqlite3.connect(str(tmp), isolation_level=None)
            try:
                with self._lock:
                    self._connection().backup(dst)
                dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
            finally:
                dst.close()
            with open(tmp, "rb") as f:
                os.fsync(f.fileno())
            os.replace(tmp, dest)
            _fsync_dir(dest.parent)
        finally:
            if tmp.exists():
                tmp.unlink()
        return dest

    def import_from(self, path: str | Path, encoder: Any = None) -> int:
        """Merges another library file (an export) into this one; returns the number of prototypes added.

        Prototypes are matched by their uid, so importing the same file twice adds nothing. Labels are
        merged by name; raw windows always come along; embeddings come along for encoders identified
        by the same file sha256. Everything is one transaction. With ``encoder``, prototypes missing
        its embedding are then embedded (:meth:`ensure_embedded`).
        """
        src_path = Path(path)
        if not src_path.is_file():
            raise LibraryError(f"no library file {src_path}")
        if self.path.exists() and os.path.samefile(src_path, self.path):
            raise LibraryError(f"cannot import the library into itself ({src_path})")
        if _inspect(src_path):
            return 0  # an empty file / empty database: nothing to import
        src = sqlite3.connect(_ro_uri(src_path, immutable=False), uri=True)  # it may be a live library
        try:  # read everything first, so a damaged source is reported as such and never half-imported
            encs = {int(i): EncoderKey(sha256=s, name=n, dim=int(d), window=int(w), meta=json.loads(m))
                    for i, s, n, d, w, m in src.execute("SELECT id, sha256, name, dim, window, metadata FROM encoders")}
            protos = src.execute("SELECT p.id, p.uid, l.name, p.created, p.source, p.start_s, p.end_s, p.frames, "
                                 "p.joints, p.window FROM prototypes p JOIN labels l ON l.id=p.label_id "
                                 "ORDER BY p.id").fetchall()
            vectors: dict[int, list[tuple[int, bytes]]] = {}
            for pid, eid, vec in src.execute("SELECT prototype_id, encoder_id, vector FROM embeddings"):
                if int(eid) in encs and len(vec) == encs[int(eid)].dim * 4:  # a damaged vector is re-embedded instead
                    vectors.setdefault(int(pid), []).append((int(eid), vec))
        except sqlite3.DatabaseError as e:
            raise _corrupt(src_path, f"SQLite: {e}") from e
        finally:
            src.close()
        for sid, *_, frames, joints, blob in protos:
            if _window_from_blob(blob, int(frames), int(joints)) is None:
                raise LibraryError(f"{src_path}: prototype {sid} has a damaged raw window; nothing was imported")
        added = 0
        with self._tx() as c:
            have = {r[0] for r in c.execute("SELECT uid FROM prototypes")}
            enc_ids: dict[int, int] = {}
            for sid, uid, name, created, source, start_s, end_s, frames, joints, blob in protos:
                if uid in have:
                    continue
                pid = int(c.execute(
                    "INSERT INTO prototypes(uid, label_id, created, source, start_s, end_s, frames, joints, window) "
                    "VALUES (?,?,?,?,?,?,?,?,?)",
                    (uid, self._label_id(c, name, create=True), created, source, start_s, end_s, frames, joints,
                     blob)).lastrowid)
                for eid, vec in vectors.get(int(sid), []):
                    if eid not in enc_ids:
                        enc_ids[eid] = self._encoder_id(c, encs[eid])
                    c.execute("INSERT INTO embeddings(prototype_id, encoder_id, vector) VALUES (?,?,?)",
                              (pid, enc_ids[eid], vec))
                have.add(uid)
                added += 1
        if encoder is not None:
            self.ensure_embedded(encoder)
        return added


def _opt_float(x: float | None) -> float | None:
    return None if x is None else float(x)


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
