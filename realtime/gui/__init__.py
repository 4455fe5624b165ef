"""The PyQt5 desktop window: live video with the pose overlay, the current label, recording and the library.

Importing this package first repairs the Qt environment that OpenCV leaves behind (see
:func:`use_pyqt5_plugins`), so import it (or anything under it) before creating a ``QApplication``.
"""
from __future__ import annotations

import os
from pathlib import Path

__all__ = ["use_pyqt5_plugins"]


def use_pyqt5_plugins() -> str:
    """Points Qt at PyQt5's own plugins, undoing what ``import cv2`` does to the environment.

    opencv-contrib-python (which mediapipe pulls in) is built with Qt 5 HighGUI and, on import, sets
    ``QT_QPA_PLATFORM_PLUGIN_PATH`` to ``cv2/qt/plugins`` and ``QT_QPA_FONTDIR`` to ``cv2/qt/fonts``.
    PyQt5's Qt then loads cv2's ``libqxcb.so``, built against another Qt, and aborts on a real X
    display with "could not load the Qt platform plugin xcb". cv2 is imported here first (so its
    assignment cannot come later), then the path is set to PyQt5's plugins folder and cv2's font
    folder is dropped (Qt then uses fontconfig). Returns the plugins folder in use.
    """
    import cv2  # noqa: F401  (its import sets the variables fixed below)
    from PyQt5.QtCore import QLibraryInfo

    plugins = QLibraryInfo.location(QLibraryInfo.PluginsPath)
    cv2_dir = Path(cv2.__file__).resolve().parent
    current = os.environ.get("QT_QPA_PLATFORM_PLUGIN_PATH")
    if current is None or _inside(current, cv2_dir):
        os.environ["QT_QPA_PLATFORM_PLUGIN_PATH"] = str(Path(plugins) / "platforms")
    fonts = os.environ.get("QT_QPA_FONTDIR")
    if fonts is not None and _inside(fonts, cv2_dir):
        os.environ.pop("QT_QPA_FONTDIR")
    return os.environ["QT_QPA_PLATFORM_PLUGIN_PATH"]


def _inside(path: str, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(folder)
        return True
    except ValueError:
        return False


use_pyqt5_plugins()
