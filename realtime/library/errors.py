"""The one error a library raises, and the message for a damaged file."""
from __future__ import annotations

from pathlib import Path


class LibraryError(RuntimeError):
    """The library file cannot be used as it is (corrupt, newer schema, not a library) or a request is invalid."""


def corrupt(path: Path, why: str) -> LibraryError:
    why = " ".join(why.split())
    return LibraryError(f"{path} is corrupt ({why}); the file was NOT modified. Move it aside and start a new "
                        f"library, or restore a backup / an exported library (Library.import_from).")
