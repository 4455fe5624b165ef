"""One running recognition session: the library, the encoder, pose, settings, recognizer and timing.

Every entry point (the command line, the window and its worker thread, retraining, the benchmarks)
goes through :class:`Session`: it opens the library (the user's default one starts as a copy of the
shipped demo library), resolves the encoder (``--encoder`` wins, else the one retraining promoted
for this library, else the shipped default), makes the pose estimator, and owns the one
source -> pose -> recognizer loop (:meth:`Session.frames`), the one capture of a segment built on
it, the one segment -> prototypes write and the one per-stage timing record.
"""
from __future__ import annotations

import logging
from pathlib import Path

from realtime.library import Library, file_sha256
from realtime.paths import DEFAULT_ENCODER

log = logging.getLogger("focovil")


def active_encoder_path(lib: Library) -> Path:
    """The encoder a library runs on when ``--encoder`` is not given: the one ``training.retrain``
    promoted it to (``Library.active_encoder``), else the shipped default. A promoted file that is gone
    or no longer matches its recorded sha256 is not trusted: a warning, and the default is used."""
    rec = lib.active_encoder()
    if rec is None:
        return DEFAULT_ENCODER
    path = Path(rec["file"])
    if not path.is_file() or file_sha256(path) != rec.get("sha256"):
        log.warning("the library's active encoder %s is missing or was changed; using %s", path, DEFAULT_ENCODER)
        return DEFAULT_ENCODER
    return path


def resolve_encoder_path(explicit: str | Path | None, library: Library | None) -> Path:
    """``explicit`` (``--encoder``) wins; else the library's active encoder; else the shipped default."""
    if explicit is not None:
        return Path(explicit)
    return active_encoder_path(library) if library is not None else DEFAULT_ENCODER
