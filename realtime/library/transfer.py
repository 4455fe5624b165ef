"""Export a library to one self-contained file, and import (merge) such a file into a library."""
from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from focovil.realtime.files import atomic_write
from focovil.realtime.library.checks import inspect, ro_uri
from focovil.realtime.library.codec import window_from_blob
from focovil.realtime.library.database import Database
from focovil.realtime.library.errors import LibraryError, corrupt
from focovil.realtime.library.hashing import EncoderKey
from focovil.realtime.library.rows import encoder_id, insert_embedding, insert_prototype


def export_to(db: Database, path: str | Path) -> Path:
    """:meth:`Library.export_to`."""
    dest = Path(path)
    if dest.exists() and db.path.exists() and os.path.samefile(dest, db.path):
        raise LibraryError(f"cannot export the library onto itself ({dest})")

    def backup(tmp: Path) -> None:
        dst = sqlite3.connect(str(tmp), isolation_level=None)
        try:
            db.backup_to(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one file, no -wal beside it
        finally:
            dst.close()
    return atomic_write(dest, backup)


def import_from(db: Database, path: str | Path) -> int:
    """:meth:`Library.import_from`, but for embedding with the caller's encoder."""
    src_path = Path(path)
    if not src_path.is_file():
        raise LibraryError(f"no library file {src_path}")
    if db.path.exists() and os.path.samefile(src_path, db.path):
        raise LibraryError(f"cannot import the library into itself ({src_path})")
    if inspect(src_path):
        return 0  # an empty file / empty database: nothing to import
    encs, protos, vectors = _read_all(src_path)
    for sid, *_, frames, joints, blob in protos:
        if window_from_blob(blob, int(frames), int(joints)) is None:
            raise LibraryError(f"{src_path}: prototype {sid} has a damaged raw window; nothing was imported")
    added = 0
    with db.transaction() as c:
        have = {r[0] for r in c.execute("SELECT uid FROM prototypes")}
        enc_ids: dict[int, int] = {}
        for sid, uid, *fields in protos:
            if uid in have:
                continue
            pid = insert_prototype(c, uid, *fields)
            for eid, vec in vectors.get(int(sid), []):
                if eid not in enc_ids:
                    enc_ids[eid] = encoder_id(c, encs[eid])
                insert_embedding(c, pid, enc_ids[eid], vec)
            have.add(uid)
            added += 1
    return added


def _read_all(src_path: Path) -> tuple[dict[int, EncoderKey], list[tuple], dict[int, list[tuple[int, bytes]]]]:
    """Everything of the source first, so a damaged source is reported as such and never half-imported."""
    src = sqlite3.connect(ro_uri(src_path, immutable=False), uri=True)  # it may be a live library
    try:
        encs = {int(i): EncoderKey.from_row(*row)
                for i, *row in src.execute("SELECT id, sha256, name, dim, window, metadata FROM encoders")}
        protos = src.execute("SELECT p.id, p.uid, l.name, p.created, p.source, p.start_s, p.end_s, p.frames, "
                             "p.joints, p.window FROM prototypes p JOIN labels l ON l.id=p.label_id "
                             "ORDER BY p.id").fetchall()
        vectors: dict[int, list[tuple[int, bytes]]] = {}
        for pid, eid, vec in src.execute("SELECT prototype_id, encoder_id, vector FROM embeddings"):
            if int(eid) in encs and len(vec) == encs[int(eid)].dim * 4:  # a damaged vector is re-embedded instead
                vectors.setdefault(int(pid), []).append((int(eid), vec))
    except (sqlite3.DatabaseError, UnicodeDecodeError, TypeError, ValueError) as e:   # damaged rows too
        raise corrupt(src_path, f"SQLite: {e}") from e
    finally:
        src.close()
    return encs, protos, vectors
