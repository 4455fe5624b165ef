"""The command-line options every entry point shares (the CLI, the window), and the session they build."""
from __future__ import annotations

import argparse
import dataclasses

from focovil.realtime.settings import Settings


def add_session_options(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--library", help="prototype library file (default: in your user data folder)")
    ap.add_argument("--encoder", help="exported encoder file (default: the library's retrained one, else "
                                      "weights/focovil_app.pt)")
    ap.add_argument("--pose-model", help="lite, full or heavy (weights/POSE_MODEL.md), or a pose_landmarker .task "
                                         "file (default: full)")
    ap.add_argument("--window", type=float, default=None, help="window length, seconds")
    ap.add_argument("--stride", type=float, default=None, help="seconds between labels")
    ap.add_argument("--strictness", type=float, default=None,
                    help="0-100: how sure a match must be before it is named, else 'unknown' (default "
                         f"{Settings().strictness:g}: the share of correct matches measured to fall below it)")
    ap.add_argument("--persons", type=int, default=None,
                    help=f"people per frame to follow, each with their own label (default {Settings().persons}; "
                         "more costs pose time, see the README)")
    ap.add_argument("--pose-fps", type=float, default=None,
                    help="frames per second given to pose, the rest passed over undecoded (0: every frame; "
                         "default: 10 for one person, every frame for several; README: Cost of the live pipeline)")
    ap.add_argument("--pose-gpu", action="store_true", default=None,
                    help="run pose on the GPU (MediaPipe's GPU delegate; needs a physical GPU, see README)")
    ap.add_argument("--redetect", action="store_true", default=None,
                    help="with --persons above 1: look again where a person was lost (people who touch or "
                         "overlap; costs pose time and may switch ids, see README: Several people)")
    ap.add_argument("--verbose", action="store_true", help="show the libraries' INFO/WARNING output")


def settings_from(a: argparse.Namespace, base: Settings | None = None) -> Settings:
    """``base`` (default: :class:`Settings`) with the options that were given."""
    given = {k: v for k, v in (("window_s", a.window), ("stride_s", a.stride), ("strictness", a.strictness),
                                             ("persons", getattr(a, "persons", None)),
                                             ("pose_fps", getattr(a, "pose_fps", None)),
                                             ("pose_gpu", getattr(a, "pose_gpu", None)),
                                             ("redetect", getattr(a, "redetect", None)))
             if v is not None}
    return dataclasses.replace(base or Settings(), **given)


def session_from(a: argparse.Namespace, base: Settings | None = None, **session_kw):
    """The one way from options to a :class:`realtime.session.Session` (the command line's and the
    window's): the options' library, encoder, pose model and settings, plus ``session_kw``."""
    from focovil.realtime.session import Session
    return Session(a.library, a.encoder, a.pose_model, settings_from(a, base), verbose=a.verbose, **session_kw)


def recognizer_from(a: argparse.Namespace, base: Settings | None = None):
    """The public API's :class:`realtime.api.ActionRecognizer` on the options (what the command line runs)."""
    from focovil.realtime.api import ActionRecognizer
    return ActionRecognizer(session_from(a, base))
