"""Figures for reports: matplotlib without a display, each written atomically and closed."""
from __future__ import annotations

from pathlib import Path

from focovil.realtime.files import atomic_write


def pyplot():
    """``matplotlib.pyplot`` on the Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_figure(fig, path: str | Path, dpi: int = 100) -> Path:
    """Lays out ``fig``, writes it to ``path`` (format from its suffix) in one rename, closes it."""
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=dpi), suffix=Path(path).suffix)
    pyplot().close(fig)
    return Path(path)
