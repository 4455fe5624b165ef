"""The parts a session is made of, resolved from what the user gave: the library (the user's default one
starts as a copy of the shipped demo library), the encoder file (``--encoder``, else the one retraining
promoted for this library, else the shipped default), the pose estimator and the frame source. Each
problem is an :class:`AppError` naming the part.
"""
from __future__ import annotations

import logging
import re
from pathlib import Path

from focovil.realtime.files import atomic_copy
from focovil.realtime.library import Library, LibraryError, file_sha256
from focovil.realtime.paths import DEFAULT_ENCODER, SHIPPED_LIBRARY, default_library_path
from focovil.realtime.settings import Settings
from focovil.realtime.source import FrameSource, SourceError, open_source, parse_source

log = logging.getLogger("focovil")
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")    # scheme://...: postgresql://, sqlite://, file://, https://


class AppError(RuntimeError):
    """A problem to show the user in one line (no traceback). ``what``: the part that failed
    (``library``, ``encoder``, ``pose``, ``source`` or ``recording``), for a headline."""

    def __init__(self, message: str, what: str = "") -> None:
        super().__init__(message)
        self.what = what


# ------------------------------------------------------------------ resolving the parts

def open_library(path: str | Path | None) -> Library:
    """The user's library; the default one starts as a copy of the shipped demo library. A ``path`` it
    cannot open as asked (a URL or a file in a folder that does not exist: :func:`library_target`; a
    folder or a file that is not a library: :class:`Library`) is an :class:`AppError`, and nothing is
    created."""
    target = library_target(path) if path else default_library_path()
    if path is None and not target.exists() and SHIPPED_LIBRARY.exists():
        atomic_copy(SHIPPED_LIBRARY, target)
        log.info("created %s from the shipped demo library", target)
    try:
        return Library(target)
    except LibraryError as e:
        raise AppError(str(e), "library") from e


def library_target(path: str | Path) -> Path:
    """The file a library argument names, or an :class:`AppError` saying why it names none."""
    text = str(path)
    if URL.match(text):
        raise AppError(f"library {text!r} is a URL; a library is a local SQLite file (a path such as my_library.sqlite3)",
                       "library")
    target = Path(text).expanduser()       # a folder or a file that is no library: Library refuses it
    if not target.exists() and not target.parent.is_dir():
        raise AppError(f"library {text!r}: the folder {target.parent} does not exist (nothing was created)", "library")
    return target


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


def describe_source(spec: str | int | Path) -> str:
    """How a source is written in the library's ``source`` column and in messages."""
    s = parse_source(spec)
    return f"camera {s}" if isinstance(s, int) else str(s)


def camera_available(index: int = 0) -> bool:
    try:
        with open_source(index):
            return True
    except SourceError:
        return False


def open_pose(settings: Settings, pose_model: str | Path | None = None, verbose: bool = False):
    """A new pose estimator (``realtime.pose.PoseEstimator``) on ``pose_model`` (default: the shipped
    full one), looking for ``settings.persons`` people per frame."""
    from focovil.realtime.pose import PoseEstimator
    try:
        return PoseEstimator(**({"model_path": pose_model} if pose_model else {}), verbose=verbose,
                             num_poses=settings.persons, gpu=settings.pose_gpu, redetect=settings.redetect)
    except (FileNotFoundError, RuntimeError, ValueError) as e:
        raise AppError(str(e), "pose") from e


def open_thinned(spec: str | int | Path, settings: Settings) -> FrameSource:
    """The source ``spec`` names, passing frames over at ``settings``' pose rate."""
    try:
        return open_source(parse_source(spec)).thin(settings.pose_rate())
    except (SourceError, ValueError, TypeError) as e:
        raise AppError(str(e), "source") from e
