"""Where the app's shipped files and the user's library live (the one place that knows)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ENCODER = ROOT / "weights" / "focovil_app.pt"
DEFAULT_POSE_MODEL = ROOT / "weights" / "pose_landmarker_full.task"
SHIPPED_LIBRARY = ROOT / "weights" / "default_library.sqlite3"
DEMO_CLIP = Path(__file__).resolve().parent / "assets" / "demo_drink_water.avi"


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
