"""How much a person moves in a window: the measure behind "idle".

``motion_energy`` is the 90th percentile, over joints, of each joint's RMS displacement from its own
mean position in the window (metres). The 90th percentile counts a gesture of one arm (its elbow,
wrist and hand are the top 15 % of 20 joints) while ignoring one jittery joint. Measured on real
data (``benchmarks/open_set.py`` prints these): MediaPipe's jitter on a person standing still in the
real NTU clips is 0.012-0.018 m over their first half second; live windows of NW-UCLA actions are
above 0.048 m in 99 % of cases, of the real MediaPipe clips' actions above 0.04 m; Kinder-Gator's
held poses ("make the letter Y with your body") go down to 0.015 m, and are idle unless recorded.
"""
from __future__ import annotations

import numpy as np


def motion_energy(window: np.ndarray) -> float:
    """Motion energy of one window ``[T, J, 3]`` (metres; NaN frames are ignored)."""
    w = np.asarray(window, dtype=np.float64)
    w = w[np.isfinite(w).all(axis=(1, 2))]
    if len(w) < 2:
        return 0.0
    rms = np.sqrt(((w - w.mean(axis=0)) ** 2).sum(axis=-1).mean(axis=0))
    return float(np.percentile(rms, 90))
