"""The read-only check of a library file, before anything is written to it.

Random bytes, a truncated database, another app's SQLite file, a newer schema: each is refused with
:class:`LibraryError`, and the file (and its folder) stay exactly as they were. Older schemas pass:
they are migrated when :class:`~realtime.library.Library` opens them for writing, never here.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

from focovil.realtime.library.errors import LibraryError, corrupt
from focovil.realtime.library.schema import APPLICATION_ID, SCHEMA_VERSION, newer_schema, tables_at

_SQLITE_MAGIC = b"SQLite format 3\x00"


def ro_uri(path: Path, immutable: bool = True) -> str:
    """Read-only URI. Without a -wal/-journal beside the file, ``immutable=1`` as well: SQLite then
    creates no -wal/-shm files either, so checking a file leaves the folder exactly as it was."""
    pending = any(Path(str(path) + s).exists() for s in ("-wal", "-journal"))
    return path.resolve().as_uri() + ("?mode=ro" if pending or not immutable else "?mode=ro&immutable=1")


def inspect(path: Path) -> bool:
    """Checks an existing file without writing to it; True if it is an empty file (a new library).

    Raises :class:`LibraryError` for corrupt files, non-library databases and newer schemas.
    """
    size = path.stat().st_size
    if size == 0:
        return True
    _check_header(path, size)
    try:
        con = sqlite3.connect(ro_uri(path), uri=True)
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
            raise newer_schema(path, version)
        missing = tables_at(version) - tables
        if missing:
            raise corrupt(path, f"tables missing: {', '.join(sorted(missing))}")
        problems = [r[0] for r in con.execute("PRAGMA quick_check(5)")]
        if problems != ["ok"]:
            raise corrupt(path, "integrity check: " + "; ".join(problems)[:300])
        return False
    except (sqlite3.DatabaseError, UnicodeDecodeError) as e:     # damaged bytes can also be damaged text
        raise corrupt(path, f"SQLite: {e}") from e
    finally:
        con.close()


def _check_header(path: Path, size: int) -> None:
    """The 100-byte SQLite header: magic, page size, and a file as long as the header says."""
    with open(path, "rb") as f:
        header = f.read(100)
    if len(header) < 100 or not header.startswith(_SQLITE_MAGIC):
        raise corrupt(path, "not an SQLite database: bad header")
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    if page_size < 512 or page_size & (page_size - 1):
        raise corrupt(path, f"bad page size {page_size}")
    pages = int.from_bytes(header[28:32], "big")
    header_size_valid = pages > 0 and header[24:28] == header[92:96]
    wal = Path(str(path) + "-wal")
    journal = Path(str(path) + "-journal")
    pending = (wal.exists() and wal.stat().st_size > 0) or (journal.exists() and journal.stat().st_size > 0)
    if header_size_valid and not pending and size < pages * page_size:
        raise corrupt(path, f"truncated: the header says {pages} pages of {page_size} bytes, the file has {size} bytes")
