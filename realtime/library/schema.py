"""The library's tables, its version (``PRAGMA user_version``) and the steps from older versions.

A new file gets the version-1 tables and then every migration step, so a new file and a migrated
one have the same schema by construction. To change the schema, append one :class:`Step` to
``MIGRATIONS``; ``SCHEMA_VERSION`` follows from its length. :func:`upgrade` runs inside the caller's
``BEGIN IMMEDIATE`` transaction: a file is migrated completely or not at all.

Version 2 tables: labels, prototypes, encoders, embeddings (version 1) and settings (key/value, which
holds the active-encoder pointer).
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import NamedTuple

from focovil.realtime.library.errors import LibraryError

APPLICATION_ID = 0x46435649  # "FCVI": marks the file as a focovil library (PRAGMA application_id)

_VERSION_1 = """
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
_VERSION_1_TABLES = frozenset({"labels", "prototypes", "encoders", "embeddings"})


class Step(NamedTuple):
    """Takes a library one version up: the statements to run, and the tables they add."""
    sql: str
    tables: frozenset[str] = frozenset()


MIGRATIONS: tuple[Step, ...] = (
    # 1 -> 2: the settings table. Version-1 apps created it lazily on the first promotion (outside the
    # schema), hence IF NOT EXISTS: such a file keeps its table and its active-encoder pointer.
    Step("CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)", frozenset({"settings"})),
)
SCHEMA_VERSION = 1 + len(MIGRATIONS)


def tables_at(version: int) -> frozenset[str]:
    """The tables a library of schema ``version`` must have."""
    return _VERSION_1_TABLES.union(*(step.tables for step in MIGRATIONS[:max(0, version - 1)]))


def newer_schema(path: Path, version: int) -> LibraryError:
    return LibraryError(f"{path} was written by a newer focovil (library schema {version}; this version reads "
                        f"schema {SCHEMA_VERSION} and older). Update focovil, or open another library; the file "
                        f"was NOT modified.")


def upgrade(c: sqlite3.Connection, path: Path) -> int:
    """Creates the schema in an empty database or migrates an older library to ``SCHEMA_VERSION``.

    Call it inside a write transaction. Returns the version the file had (0: it was empty).
    """
    found = version = c.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:  # another process upgraded it between the check and now
        raise newer_schema(path, version)
    if version == 0:
        _run(c, _VERSION_1)
        c.execute(f"PRAGMA application_id={APPLICATION_ID}")
        version = 1
    for step in MIGRATIONS[version - 1:]:
        _run(c, step.sql)
    if found != SCHEMA_VERSION:
        c.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    return found


def _run(c: sqlite3.Connection, script: str) -> None:
    # statement by statement: executescript() would COMMIT the transaction half-way
    for stmt in filter(str.strip, script.split(";")):
        c.execute(stmt)
