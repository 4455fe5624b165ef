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
``PRAGMA quick_check`` on a read-only connection. An older library is migrated when it is opened.

One module per job:

- :mod:`.store` -- :class:`Library`: opening, add / delete / rename, reads, and the doors to the jobs below
- :mod:`.database` -- the connection: WAL, the thread lock, the busy wait, reads and transactions
- :mod:`.schema` -- the tables, ``SCHEMA_VERSION`` and the migration steps from older versions
- :mod:`.checks` -- the read-only check of a file before anything is written to it
- :mod:`.hashing` -- encoder identity: :func:`file_sha256`, :class:`EncoderKey`, :func:`encoder_key`
- :mod:`.codec` -- raw windows and embeddings to and from their float32 blobs
- :mod:`.embedding` -- embedding stored windows with an encoder (:meth:`Library.ensure_embedded`)
- :mod:`.active` -- the active-encoder pointer that retraining promotes and rolls back
- :mod:`.transfer` -- export to one file, import (merge) from one
"""
from focovil.realtime.library.active import encoders_dir
from focovil.realtime.library.database import is_busy, lock_wait_s
from focovil.realtime.library.errors import LibraryError
from focovil.realtime.library.hashing import EncoderKey, encoder_key, file_sha256
from focovil.realtime.library.schema import APPLICATION_ID, SCHEMA_VERSION
from focovil.realtime.library.store import Library, Prototype
from focovil.realtime.paths import default_library_path

__all__ = ["APPLICATION_ID", "SCHEMA_VERSION", "EncoderKey", "Library", "LibraryError", "Prototype",
           "default_library_path", "encoder_key", "encoders_dir", "file_sha256", "is_busy", "lock_wait_s"]
