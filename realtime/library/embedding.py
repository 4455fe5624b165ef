"""Embedding stored raw windows with an encoder: the one path for re-embedding and promotion.

The windows are resampled in time to the encoder's window length and embedded in batches, outside
any write transaction (the slow part); the vectors are then written in one transaction.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from focovil.realtime.library.codec import vector_blob, window_from_blob
from focovil.realtime.library.errors import LibraryError
from focovil.realtime.library.hashing import EncoderKey, encoder_key
from focovil.realtime.library.rows import encoder_id
from focovil.realtime.window import resample_frames

if TYPE_CHECKING:
    from focovil.realtime.library.store import Library

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


def ensure_embedded(lib: "Library", encoder: Any, batch_size: int = 256,
                    progress: Callable[[int, int], None] | None = None) -> int:
    """:meth:`Library.ensure_embedded`."""
    key = encoder_key(encoder)
    if not hasattr(encoder, "embed"):
        raise TypeError("ensure_embedded needs an encoder that can embed (realtime.encoder.load_encoder)")
    total = 0
    for _ in range(3):  # again if another process added prototypes meanwhile
        todo = lib.missing_embeddings(key)
        if not todo:
            break
        vectors = embed_stored(lib._read, encoder, key, todo, lib.path, batch_size, progress)
        with lib._tx() as c:
            store_vectors(c, key, vectors)
        total += len(vectors)
    return total
