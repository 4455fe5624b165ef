"""Row helpers every writer shares (store, embedding, import); each runs inside a write transaction."""
from __future__ import annotations

import json
import sqlite3
import time

from focovil.realtime.library.hashing import EncoderKey


def label_id(c: sqlite3.Connection, name: str, create: bool) -> int | None:
    """The id of label ``name``; created if ``create``, else None when it does not exist."""
    row = c.execute("SELECT id FROM labels WHERE name=?", (name,)).fetchone()
    if row is not None:
        return int(row[0])
    if not create:
        return None
    return int(c.execute("INSERT INTO labels(name, created) VALUES (?, ?)", (name, time.time())).lastrowid)


def encoder_id(c: sqlite3.Connection, key: EncoderKey, create: bool = True) -> int | None:
    """The id of the encoder with ``key.sha256``; recorded if ``create``, else None when it is not there."""
    row = c.execute("SELECT id FROM encoders WHERE sha256=?", (key.sha256,)).fetchone()
    if row is not None:
        return int(row[0])
    if not create:
        return None
    return int(c.execute("INSERT INTO encoders(sha256, name, dim, window, metadata, added) VALUES (?,?,?,?,?,?)",
                         (key.sha256, key.name, key.dim, key.window, json.dumps(key.meta, sort_keys=True),
                          time.time())).lastrowid)


def insert_prototype(c: sqlite3.Connection, uid: str, label: str, created: float, source: str,
                     start_s: float | None, end_s: float | None, frames: int, joints: int, blob: bytes) -> int:
    """Adds one prototype (its label created if new); returns its id."""
    return int(c.execute(
        "INSERT INTO prototypes(uid, label_id, created, source, start_s, end_s, frames, joints, window) "
        "VALUES (?,?,?,?,?,?,?,?,?)",
        (uid, label_id(c, label, create=True), created, source, start_s, end_s, frames, joints, blob)).lastrowid)


def insert_embedding(c: sqlite3.Connection, prototype_id: int, encoder: int, vector: bytes) -> None:
    c.execute("INSERT INTO embeddings(prototype_id, encoder_id, vector) VALUES (?,?,?)", (prototype_id, encoder, vector))
