"""The command-line options every entry point shares (the CLI, the window), and the session they build.

The session options are defined once (:data:`SESSION_OPTIONS`). The ``focovil`` command takes them
before its sub-command and after it: :func:`add_session_options` adds them to the top parser, and with
``after=True`` to a sub-command's parser under their own names (``after_<dest>``, never set unless
given), so a sub-command never overwrites what was given before it. :func:`merge_after` folds them
into one namespace and refuses a value given in both places that differs, so
``focovil --library L record ...`` and ``focovil record --library L ...`` are the same run.
"""
from __future__ import annotations

import argparse

from focovil.realtime.settings import Settings, build_settings

_S = Settings()

# (flag, Settings field it sets or None, argparse keywords): the one definition of the session options.
SESSION_OPTIONS: tuple[tuple[str, str | None, dict], ...] = (
    ("--library", None, dict(help="prototype library file (default: in your user data folder)")),
    ("--encoder", None, dict(help="exported encoder file (default: the library's retrained one, else "
                                  "weights/focovil_app.pt)")),
    ("--pose-model", None, dict(help="lite, full or heavy (weights/POSE_MODEL.md), or a pose_landmarker .task "
                                     "file (default: full)")),
    ("--window", "window_s", dict(type=float, help="window length, seconds")),
    ("--stride", "stride_s", dict(type=float, help="seconds between labels")),
    ("--strictness", "strictness", dict(type=float, help="0-100: how sure a match must be before it is named, "
                                        f"else 'unknown' (default {_S.strictness:g}: the share of correct matches "
                                        "measured to fall below it)")),
    ("--persons", "persons", dict(type=int, help=f"people per frame to follow, each with their own label (default "
                                  f"{_S.persons}; more costs pose time, see the README)")),
    ("--pose-fps", "pose_fps", dict(type=float, help="frames per second given to pose, the rest passed over "
                                    "undecoded (0: every frame; default: 10 for one person, every frame for several; "
                                    "README: Cost of the live pipeline)")),
    ("--pose-gpu", "pose_gpu", dict(action="store_true", help="run pose on the GPU (MediaPipe's GPU delegate; needs "
                                    "a physical GPU, see README)")),
    ("--redetect", "redetect", dict(action="store_true", help="with --persons above 1: look again where a person "
                                    "was lost (people who touch or overlap; costs pose time and may switch ids, see "
                                    "README: Several people)")),
    ("--verbose", None, dict(action="store_true", help="show the libraries' INFO/WARNING output")),
)
AFTER = "after_"          # the prefix of a sub-command's own copy of a session option


def _dest(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def add_session_options(ap: argparse.ArgumentParser, after: bool = False) -> None:
    """The session options on ``ap``: unset ones are None. ``after``: on a sub-command's parser,
    stored under ``after_<dest>`` and only when given (:func:`merge_after` folds them in)."""
    for flag, _field, kw in SESSION_OPTIONS:
        kw = dict(kw)
        if after:
            kw.update(dest=AFTER + _dest(flag), default=argparse.SUPPRESS)
            if "action" not in kw:
                kw["metavar"] = _dest(flag).upper()
        else:
            kw["default"] = None
        ap.add_argument(flag, **kw)


def merge_after(a: argparse.Namespace) -> argparse.Namespace:
    """Folds the session options given after a sub-command into ``a``: each may stand before or after
    it; given in both places with different values, a ``ValueError`` says so in one line."""
    for flag, _field, _kw in SESSION_OPTIONS:
        dest = _dest(flag)
        if not hasattr(a, AFTER + dest):
            continue
        later = getattr(a, AFTER + dest)
        delattr(a, AFTER + dest)
        before = getattr(a, dest, None)
        if before is not None and before != later:
            raise ValueError(f"{flag} is given twice with different values ({before!r} before the command, "
                             f"{later!r} after it): give it once")
        setattr(a, dest, later)
    return a


def given_settings(a: argparse.Namespace) -> dict:
    """The :class:`Settings` fields these options give for this run (only those given)."""
    return {field: getattr(a, _dest(flag)) for flag, field, _kw in SESSION_OPTIONS
            if field and getattr(a, _dest(flag), None) is not None}


def settings_from(a: argparse.Namespace) -> Settings:
    """The run's :class:`Settings` (``realtime.settings.build_settings``): the defaults, then the
    options that were given."""
    return build_settings(given_settings(a))


def session_from(a: argparse.Namespace, **session_kw):
    """The one way from options to a :class:`realtime.session.Session` (the command line's and the
    window's): the options' library, encoder, pose model and settings, plus ``session_kw``."""
    from focovil.realtime.session import Session
    return Session(a.library, a.encoder, a.pose_model, settings_from(a), verbose=bool(a.verbose), **session_kw)


def recognizer_from(a: argparse.Namespace):
    """The public API's :class:`realtime.api.ActionRecognizer` on the options (what the command line runs)."""
    from focovil.realtime.api import ActionRecognizer
    return ActionRecognizer(session_from(a))
