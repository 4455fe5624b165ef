"""The active-encoder pointer: the encoder a library was promoted to by retraining (or rolled back to).

It is the ``active_encoder`` row of the ``settings`` table, JSON with ``file`` stored relative to the
library's folder, so a library moved together with its ``<stem>.encoders/`` folder keeps working.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from focovil.realtime.library.embedding import embed_stored, store_vectors
from focovil.realtime.library.hashing import encoder_key

if TYPE_CHECKING:
    from focovil.realtime.library.store import Library


def encoders_dir(library_path: Path) -> Path:
    """:meth:`Library.encoders_dir` (from the library's path: retraining locks it before opening)."""
    path = Path(library_path)
    return path.with_name(path.stem + ".encoders")


def active_encoder(lib: "Library") -> dict | None:
    """:meth:`Library.active_encoder`."""
    rows = lib._read("SELECT value FROM settings WHERE key='active_encoder'")
    if not rows:
        return None
    rec = json.loads(rows[0][0])
    rec["file"] = (lib.path.parent / rec["file"]).resolve()   # stored relative to the library's folder
    return rec


def activate_encoder(lib: "Library", encoder: Any, record: dict) -> int:
    """:meth:`Library.activate_encoder`."""
    key = encoder_key(encoder)
    vectors = embed_stored(lib._read, encoder, key, lib.missing_embeddings(key), lib.path)  # outside the write lock
    rec = dict(record, sha256=key.sha256, file=os.path.relpath(Path(record["file"]).resolve(), lib.path.parent.resolve()))
    with lib._tx() as c:
        enc_id = store_vectors(c, key, vectors)
        late = [int(r[0]) for r in c.execute(   # recorded meanwhile: embedded inside the transaction
            "SELECT p.id FROM prototypes p WHERE NOT EXISTS (SELECT 1 FROM embeddings e "
            "WHERE e.prototype_id=p.id AND e.encoder_id=?)", (enc_id,))]
        store_vectors(c, key, embed_stored(lambda sql, params: c.execute(sql, params).fetchall(), encoder, key, late,
                                           lib.path))
        c.execute("INSERT OR REPLACE INTO settings(key, value) VALUES ('active_encoder', ?)",
                  (json.dumps(rec, sort_keys=True),))
    return len(vectors) + len(late)
