"""How the window looks (its style sheet) and how it writes paths, devices, the pose in use and timings."""
from __future__ import annotations

import math
from pathlib import Path

STYLE = """
QMainWindow, QWidget#central { background: #f4f5f7; }
QLabel#current { font-size: 30pt; font-weight: 600; color: #1b1f24; }
QLabel#current[state="quiet"] { color: #8a9099; }
QLabel#current[state="idle"] { color: #5b7a99; }
QLabel#detail { font-size: 11pt; color: #4a5260; }
QLabel#section { font-size: 10pt; font-weight: 600; color: #5a6270; text-transform: uppercase; }
QFrame#card { background: white; border: 1px solid #dde1e6; border-radius: 8px; }
QLabel#chip { background: #e8edf5; border-radius: 10px; padding: 3px 9px; color: #2c3440; }
QLabel#chip[state="quiet"] { background: #eef0f2; color: #8a9099; }
QLabel#chip[state="idle"] { background: #e6eef6; color: #5b7a99; }
QLabel#banner { background: #fdecea; color: #8a1c12; border: 1px solid #f2b8b0; border-radius: 6px; padding: 8px; }
QLabel#note { color: #4a5260; }
QProgressBar { border: 1px solid #cfd5dc; border-radius: 4px; background: #eef0f3; height: 14px; text-align: center; }
QProgressBar::chunk { background: #3a7bd5; border-radius: 3px; }
QProgressBar#small { height: 8px; }
QPushButton { padding: 5px 12px; }
QLabel#device { font-weight: 600; }
"""


def set_state(widget, state: str) -> None:
    """Sets the ``state`` property the style sheet keys on ("quiet": greyed) and repaints by it."""
    widget.setProperty("state", state)
    widget.style().polish(widget)


def display_path(path: str | Path) -> str:
    """A path as short as it can be shown: relative to the working folder when inside it."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(p)


def fmt_ms(v: float | None) -> str:
    return "–" if v is None or not math.isfinite(v) else f"{v:.1f}"


def device_text(device: str) -> str:
    """"cpu" -> "CPU", "cuda"/"cuda:0" -> "GPU (cuda)"."""
    return "CPU" if device == "cpu" else f"GPU ({device})" if device.startswith("cuda") else device.upper()


def pose_text(settings, pose_model) -> str:
    """The pose in use, for the status bar: "full pose model · 10 fps" (+ "on GPU", "re-detect" when on)."""
    name = str(pose_model) if pose_model else "full"
    name = Path(name).stem.removeprefix("pose_landmarker_") if Path(name).suffix else name
    rate = settings.pose_rate()
    parts = [f"{name} pose model" + (" on GPU" if settings.pose_gpu else ""), f"{rate:g} fps" if rate else "every frame"]
    if settings.redetect and settings.persons > 1:
        parts.append("re-detect")
    return " · ".join(parts)
