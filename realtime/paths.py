"""Where the app's shipped files and the user's library live (the one place that knows)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
# The shipped encoders, pose bundle and default library: ``weights/`` beside the package in a
# checkout (and an editable install); a wheel installs that folder as ``realtime/weights``
# (pyproject.toml maps it), so an installed app finds them wherever site-packages is.
INSTALLED = (PACKAGE / "weights").is_dir()
WEIGHTS = PACKAGE / "weights" if INSTALLED else ROOT / "weights"
DEFAULT_ENCODER = WEIGHTS / "focovil_app.pt"
DEFAULT_POSE_MODEL = WEIGHTS / "pose_landmarker_full.task"
POSE_MODELS = ("lite", "full", "heavy")      # BlazePose GHUM 3D landmark models, by name (weights/POSE_MODEL.md)
SHIPPED_LIBRARY = WEIGHTS / "default_library.sqlite3"
DEMO_CLIP = PACKAGE / "assets" / "demo_drink_water.avi"


SHARED_ENV = "FOCOVIL_SHARED"


def shared_root() -> Path:
    """The folder of real data (``../shared``: NW-UCLA, Kinder-Gator, TotalCapture, the real clips):
    ``$FOCOVIL_SHARED``, else ``shared`` beside the checkout, whatever the working folder."""
    env = os.environ.get(SHARED_ENV)
    return Path(env).expanduser() if env else ROOT.parent / "shared"


def shared_path(path: str | Path) -> Path:
    """A data path as the recipes, the encoder files' metadata and the defaults write it: one that
    starts with ``../shared`` lies under :func:`shared_root`; any other is taken as given."""
    p = Path(path).expanduser()
    return shared_root().joinpath(*p.parts[2:]) if p.parts[:2] == ("..", "shared") else p


def pose_model_path(spec: str | Path | None) -> Path:
    """A pose model by name (``lite``, ``full``, ``heavy``: ``weights/pose_landmarker_<name>.task``) or
    by path; None: the default. A named model that is not there says how to build it."""
    if spec is None or str(spec) == "":
        return DEFAULT_POSE_MODEL
    if str(spec) in POSE_MODELS:
        path = WEIGHTS / f"pose_landmarker_{spec}.task"
        if not path.is_file():
            raise FileNotFoundError(f"the {spec} pose model is not shipped ({path} is missing); build it with "
                                    f"`python -m focovil.training.build_pose_bundle --variant {spec} --out {path}` "
                                    f"or give a .task file")
        return path
    return Path(spec).expanduser()


def cache_dir() -> Path:
    """Where derived data worth keeping between runs goes (e.g. MediaPipe skeletons of the real
    clips): ``runs/cache`` in a checkout; installed, ``$XDG_CACHE_HOME/focovil`` (else
    ``~/.cache/focovil``), never site-packages."""
    if not INSTALLED:
        return ROOT / "runs" / "cache"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    return (Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache") / "focovil"


def default_library_path() -> Path:
    """Where the app keeps its library: the per-user data folder (parents are created).

    ``$FOCOVIL_LIBRARY`` overrides it. Otherwise Linux/BSD: ``$XDG_DATA_HOME`` or ``~/.local/share``;
    macOS: ``~/Library/Application Support``; Windows: ``%LOCALAPPDATA%`` (else ``%APPDATA%``);
    then ``focovil/library.sqlite3``.
    """
    override = os.environ.get("FOCOVIL_LIBRARY")
    if override:
        path = Path(override).expanduser()
    else:
        if sys.platform == "win32":
            base = Path(os.environ.get("LOCALAPPDATA") or os.environ.get("APPDATA") or Path.home() / "AppData" / "Local")
        elif sys.platform == "darwin":
            base = Path.home() / "Library" / "Application Support"
        else:
            xdg = os.environ.get("XDG_DATA_HOME", "")
            base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
        path = base / "focovil" / "library.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
