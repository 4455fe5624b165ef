"""Embedding stored raw windows with an encoder: the one path for re-embedding and promotion.

The windows are resampled in time to the encoder's window length and embedded in batches, outside
any write transaction (the slow part); the vectors are then written in one transaction.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from focovil.realtime.library.codec import vector_blob, window_from_blob
from focovil.realtime.library.database import Database
from focovil.realtime.library.errors import LibraryError, corrupt
from focovil.realtime.library.hashing import EncoderKey, encoder_key
from focovil.realtime.library.rows import encoder_id
from focovil.realtime.window import resample_frames

Reader = Callable[[str, Sequence[Any]], list]


def embed_stored(read: Reader, encoder: Any, key: EncoderKey, ids: list[int], where: Path, batch_size: int = 256,
                 progress: Callable[[int, int], None] | None = None) -> dict[int, np.ndarray]:
    """``{prototype id: embedding}`` of the stored windows of ``ids`` (ids deleted meanwhile are skipped).

    ``read(sql, params)`` runs a query (the library's lock, or a connection inside a transaction).
    Every prototype whose raw window is unusable is named in one :class:`LibraryError`; then nothing
    is returned, so nothing gets written.
    """
    out: dict[int, np.ndarray] = {}
    bad: list[int] = []
    for start in range(0, len(ids), batch_size):
        chunk = ids[start:start + batch_size]
        rows = read(f"SELECT id, frames, joints, window FROM prototypes WHERE id IN ({','.join('?' * len(chunk))}) "
                    f"ORDER BY id", chunk)
        wins = [(int(pid), window_from_blob(blob, int(frames), int(joints))) for pid, frames, joints, blob in rows]
        bad += [pid for pid, w in wins if w is None]
        if bad or not wins:
            continue
        emb = np.asarray(encoder.embed(np.stack([resample_frames(w, key.window) for _, w in wins])), dtype=np.float32)
        if emb.shape != (len(wins), key.dim):
            raise LibraryError(f"encoder {key.name} returned {emb.shape}, expected ({len(wins)}, {key.dim})")
        out.update(zip([pid for pid, _ in wins], emb))
        if progress is not None:
            progress(min(start + batch_size, len(ids)), len(ids))
    if bad:
        raise LibraryError(
            f"{len(bad)} prototype(s) in {where} have no usable raw window (ids {bad[:20]}), so they cannot "
            f"be embedded with encoder {key.name}. Nothing was changed. Delete them "
            f"(Library.delete_prototype(id) for each id) and record those actions again, then retry.")
    return out


def store_vectors(c: sqlite3.Connection, key: EncoderKey, vectors: dict[int, np.ndarray]) -> int:
    """Writes ``vectors`` as ``key``'s embeddings (skipping prototypes deleted meanwhile); returns the encoder id."""
    enc_id = encoder_id(c, key)
    c.executemany("INSERT OR IGNORE INTO embeddings(prototype_id, encoder_id, vector) "
                  "SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM prototypes WHERE id=?)",
                  ((pid, enc_id, vector_blob(v, key.dim), pid) for pid, v in vectors.items()))
    return enc_id


def embeddings(db: Database, encoder: Any, embed_missing: bool = False) -> tuple[np.ndarray, list[str], np.ndarray]:
    """:meth:`Library.embeddings_for`: every prototype with its label and this encoder's stored vector,
    read in one query (one snapshot); those without one are left out, or with ``embed_missing``
    embedded here, in memory."""
    key = encoder_key(encoder)
    rows = db.read("SELECT p.id, l.name, e.vector FROM prototypes p JOIN labels l ON l.id=p.label_id "
                   "LEFT JOIN embeddings e ON e.prototype_id=p.id AND e.encoder_id=(SELECT id FROM encoders WHERE sha256=?) "
                   "ORDER BY p.id", (key.sha256,))
    if any(v is not None and len(v) != key.dim * 4 for _, _, v in rows):
        raise corrupt(db.path, f"embeddings of encoder {key.name} are not all of size {key.dim}")
    todo = [int(pid) for pid, _, v in rows if v is None] if embed_missing and hasattr(encoder, "embed") else []
    made = embed_stored(db.read, encoder, key, todo, db.path) if todo else {}
    kept = [(int(pid), str(name), np.frombuffer(v, dtype="<f4") if v is not None else made.get(int(pid)))
            for pid, name, v in rows]
    kept = [r for r in kept if r[2] is not None]          # no vector, or deleted while being embedded
    if not kept:
        return np.zeros(0, dtype=np.int64), [], np.zeros((0, key.dim), dtype=np.float32)
    return (np.array([r[0] for r in kept], dtype=np.int64), [r[1] for r in kept],
            np.stack([r[2] for r in kept]).astype(np.float32))


def missing(db: Database, key: EncoderKey) -> list[int]:
    """:meth:`Library.missing_embeddings`: ids of prototypes with no embedding by ``key``'s encoder."""
    return [int(r[0]) for r in db.read(
        "SELECT p.id FROM prototypes p WHERE NOT EXISTS (SELECT 1 FROM embeddings e JOIN encoders c "
        "ON c.id=e.encoder_id WHERE e.prototype_id=p.id AND c.sha256=?) ORDER BY p.id", (key.sha256,))]


def ensure_embedded(db: Database, encoder: Any, batch_size: int = 256,
                    progress: Callable[[int, int], None] | None = None) -> int:
    """:meth:`Library.ensure_embedded`."""
    key = encoder_key(encoder)
    if not hasattr(encoder, "embed"):
        raise TypeError("ensure_embedded needs an encoder that can embed (realtime.encoder.load_encoder)")
    total = 0
    for _ in range(3):  # again if another process added prototypes meanwhile
        todo = missing(db, key)
        if not todo:
            break
        vectors = embed_stored(db.read, encoder, key, todo, db.path, batch_size, progress)
        with db.transaction() as c:
            store_vectors(c, key, vectors)
        total += len(vectors)
    return total
