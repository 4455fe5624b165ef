"""The store: :class:`Library` opens one library file through its :class:`~.database.Database`, writes
prototypes (add, delete, rename) and reads them. Re-embedding, the active-encoder pointer and export /
import are the jobs of their own modules, which get the database, never the library; the methods here
are their doors, so the imports run one way (store -> jobs -> database).
"""
from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from focovil.realtime.library import active, schema, transfer
from focovil.realtime.library import embedding as reembedding
from focovil.realtime.library.checks import inspect
from focovil.realtime.library.codec import vector_blob, window_blob, window_from_blob
from focovil.realtime.library.database import Database
from focovil.realtime.library.errors import LibraryError
from focovil.realtime.library.hashing import EncoderKey, encoder_key
from focovil.realtime.library.rows import encoder_id, insert_embedding, insert_prototype, label_id
from focovil.realtime.paths import default_library_path
from focovil.realtime.window import resample_frames


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
        if self.path.exists():
            if self.path.is_dir():
                raise LibraryError(f"{self.path} is a folder, not a library file")
            inspect(self.path)  # raises before anything is written
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = Database(self.path)
        try:
            # a current file is opened without the write lock, so reading never waits for a writer
            if self.db.read("PRAGMA user_version")[0][0] != schema.SCHEMA_VERSION:
                with self.db.transaction() as c:
                    schema.upgrade(c, self.path)
        except BaseException:
            self.db.close()
            raise

    def close(self) -> None:
        """Closes the connection (the last one to close checkpoints the WAL into the main file)."""
        self.db.close()

    def __enter__(self) -> "Library":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return int(self.db.read("SELECT COUNT(*) FROM prototypes")[0][0])

    def integrity_check(self) -> str:
        """``PRAGMA integrity_check`` plus foreign-key check: ``'ok'`` or the problems found."""
        rows = [r[0] for r in self.db.read("PRAGMA integrity_check")]
        fk = self.db.read("PRAGMA foreign_key_check")
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
        with self.db.transaction() as c:
            pid = insert_prototype(c, uuid.uuid4().hex, name, time.time(), str(source or ""), _opt_float(start_s),
                                   _opt_float(end_s), frames, joints, blob)
            if vec is not None:
                insert_embedding(c, pid, encoder_id(c, key), vec)
        return pid

    def delete_label(self, name: str) -> int:
        """Deletes a label with all its prototypes and their embeddings; returns how many prototypes went."""
        with self.db.transaction() as c:
            lid = label_id(c, name, create=False)
            if lid is None:
                raise LibraryError(f"no label {name!r} in {self.path}")
            n = c.execute("SELECT COUNT(*) FROM prototypes WHERE label_id=?", (lid,)).fetchone()[0]
            c.execute("DELETE FROM labels WHERE id=?", (lid,))  # prototypes, embeddings: ON DELETE CASCADE
        return int(n)

    def delete_prototype(self, prototype_id: int) -> None:
        """Deletes one prototype and its embeddings (its label stays, possibly with 0 prototypes)."""
        with self.db.transaction() as c:
            if c.execute("DELETE FROM prototypes WHERE id=?", (int(prototype_id),)).rowcount == 0:
                raise LibraryError(f"no prototype {prototype_id} in {self.path}")

    def rename_label(self, old: str, new: str, merge: bool = False) -> None:
        """Renames a label. If ``new`` already exists this refuses unless ``merge=True``, which moves
        ``old``'s prototypes into ``new`` (a silent merge could not be undone)."""
        new = _clean_label(new)
        with self.db.transaction() as c:
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
        rows = self.db.read("SELECT l.name, COUNT(p.id) FROM labels l LEFT JOIN prototypes p ON p.label_id=l.id "
                          "GROUP BY l.id ORDER BY l.name")
        return [(str(n), int(k)) for n, k in rows]

    def prototypes(self, label: str | None = None, with_windows: bool = False) -> list[Prototype]:
        """The prototypes (of one label, or all), oldest first; raw windows only if ``with_windows``."""
        cols = "p.id, p.uid, l.name, p.created, p.source, p.start_s, p.end_s, p.frames, p.joints"
        cols += ", p.window" if with_windows else ", NULL"
        sql = f"SELECT {cols} FROM prototypes p JOIN labels l ON l.id=p.label_id"
        rows = self.db.read(sql + (" WHERE l.name=? ORDER BY p.id" if label is not None else " ORDER BY p.id"),
                          (label,) if label is not None else ())
        return [Prototype(id=int(r[0]), uid=r[1], label=r[2], created=r[3], source=r[4], start_s=r[5], end_s=r[6],
                          frames=int(r[7]), window=window_from_blob(r[9], int(r[7]), int(r[8])) if with_windows else None)
                for r in rows]

    def raw_window(self, prototype_id: int) -> np.ndarray:
        """The raw canonical window ``[T, J, 3]`` a prototype was recorded from."""
        rows = self.db.read("SELECT frames, joints, window FROM prototypes WHERE id=?", (int(prototype_id),))
        if not rows:
            raise LibraryError(f"no prototype {prototype_id} in {self.path}")
        w = window_from_blob(rows[0][2], int(rows[0][0]), int(rows[0][1]))
        if w is None:
            raise LibraryError(f"prototype {prototype_id} has a damaged raw window; delete it and record it again")
        return w

    def encoders(self) -> list[EncoderKey]:
        """Every encoder that has embedded something in this library."""
        return [EncoderKey.from_row(*row)
                for row in self.db.read("SELECT sha256, name, dim, window, metadata FROM encoders ORDER BY id")]

    def embeddings_for(self, encoder: Any, embed_missing: bool = False) -> tuple[np.ndarray, list[str], np.ndarray]:
        """``(prototype ids [N], labels [N], embeddings [N, D] float32)`` of this encoder, oldest first.

        Prototypes without a stored embedding for this encoder are left out, or with ``embed_missing``
        embedded now, in memory, and never stored (reading never writes; :meth:`ensure_embedded` stores).
        """
        return reembedding.embeddings(self.db, encoder, embed_missing)

    def missing_embeddings(self, encoder: Any) -> list[int]:
        """Ids of prototypes that have no embedding for this encoder."""
        return reembedding.missing(self.db, encoder_key(encoder))

    # -------------------------------------------------- doors to the other jobs
    def ensure_embedded(self, encoder: Any, batch_size: int = 256,
                        progress: Callable[[int, int], None] | None = None) -> int:
        """Embeds every prototype that has no embedding for ``encoder`` (an ``EncoderRuntime``).

        This is what makes a new encoder (another training run, another embedding size) usable with
        an old library: the stored raw windows are resampled in time to the encoder's window length,
        embedded in batches, and all the new vectors are written in ONE transaction, so the library
        never holds a half-embedded state for that encoder. Returns the number embedded.
        """
        return reembedding.ensure_embedded(self.db, encoder, batch_size, progress)

    def encoders_dir(self) -> Path:
        """Where retrained encoders of this library live: ``<library stem>.encoders/`` beside the file."""
        return active.encoders_dir(self.path)

    def active_encoder(self) -> dict | None:
        """The encoder this library was promoted to (``training.retrain``), or None (use the app's default).

        ``{"file": absolute Path, "sha256", "version", "history": [earlier records, newest last], ...}``,
        stored in the ``settings`` table.
        """
        return active.active_encoder(self.db)

    def activate_encoder(self, encoder: Any, record: dict) -> int:
        """Makes ``encoder`` (an ``EncoderRuntime`` whose file is in :meth:`encoders_dir`) the active one.

        Every prototype is embedded with it and the pointer is switched in ONE transaction: a reader sees
        either the old encoder with all its embeddings or the new one with all of its. The old encoder's
        embeddings stay, so rolling back is another call of this. ``record`` is stored as the pointer
        (``file`` made relative to the library's folder). Returns the number of prototypes embedded.
        """
        return active.activate_encoder(self.db, encoder, record)

    def export_to(self, path: str | Path) -> Path:
        """Writes the whole library to one self-contained file (SQLite's backup), replaced atomically
        (:func:`realtime.files.atomic_write`): readers see the old file or the complete new one."""
        return transfer.export_to(self.db, path)

    def import_from(self, path: str | Path, encoder: Any = None) -> int:
        """Merges another library file (an export, of any schema) into this one in one transaction;
        returns the number of prototypes added. Prototypes match by uid (a second import adds nothing),
        labels by name; raw windows come along, and embeddings of encoders with the same file sha256.
        With ``encoder``, what lacks its embedding is then embedded (:meth:`ensure_embedded`)."""
        added = transfer.import_from(self.db, path)
        if encoder is not None:
            self.ensure_embedded(encoder)
        return added


def _clean_label(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"a label must be a non-empty string, got {name!r}")
    return name.strip()


def _opt_float(x: float | None) -> float | None:
    return None if x is None else float(x)
