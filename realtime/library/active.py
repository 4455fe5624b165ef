"""The active-encoder pointer: the encoder a library was promoted to by retraining (or rolled back to).

It is the ``active_encoder`` row of the ``settings`` table, JSON with ``file`` stored relative to the
library's folder, so a library moved together with its ``<stem>.encoders/`` folder keeps working.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from focovil.realtime.library.database import Database
from focovil.realtime.library.embedding import embed_stored, missing, store_vectors
from focovil.realtime.library.hashing import encoder_key


def encoders_dir(library_path: Path) -> Path:
    """:meth:`Library.encoders_dir` (from the library's path: retraining locks it before opening)."""
    path = Path(library_path)
    return path.with_name(path.stem + ".encoders")


def active_encoder(db: Database) -> dict | None:
    """:meth:`Library.active_encoder`."""
    rows = db.read("SELECT value FROM settings WHERE key='active_encoder'")
    if not rows:
        return None
    rec = json.loads(rows[0][0])
    rec["file"] = (db.path.parent / rec["file"]).resolve()   # stored relative to the library's folder
    return rec


def activate_encoder(db: Database, encoder: Any, record: dict) -> int:
    """:meth:`Library.activate_encoder`."""
    key = encoder_key(encoder)
    vectors = embed_stored(db.read, encoder, key, missing(db, key), db.path)  # outside the write lock
    rec = dict(record, sha256=key.sha256, file=os.path.relpath(Path(record["file"]).resolve(), db.path.parent.resolve()))
    with db.transaction() as c:
        enc_id = store_vectors(c, key, vectors)
        late = [int(r[0]) for r in c.execute(   # recorded meanwhile: embedded inside the transaction
            "SELECT p.id FROM prototypes p WHERE NOT EXISTS (SELECT 1 FROM embeddings e "
            "WHERE e.prototype_id=p.id AND e.encoder_id=?)", (enc_id,))]
        store_vectors(c, key, embed_stored(lambda sql, params: c.execute(sql, params).fetchall(), encoder, key, late,
                                           db.path))
        c.execute("INSERT OR REPLACE INTO settings(key, value) VALUES ('active_encoder', ?)",
                  (json.dumps(rec, sort_keys=True),))
    return len(vectors) + len(late)
