"""Kinder-Gator (Aloba et al. 2018): 1159 single-view Kinect v1 clips of 58 motions, as canonical clips.

Clips are resampled by their timestamps to ``fps`` so they move at the same speed as NW-UCLA
(about 15 fps, estimated from walking speed) and as the live app's windows.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from focovil.realtime.paths import shared_path
from focovil.realtime.skeleton import from_kinect_v1
from focovil.realtime.window import resample_by_time
from focovil.training.data.clips import Clip, too_short
from focovil.training.data.nwucla import DatasetError

log = logging.getLogger(__name__)


def at_fps(xyz: np.ndarray, t_ms: np.ndarray, fps: float) -> np.ndarray:
    """A clip's frames, taken at times ``t_ms``, resampled to ``fps`` from its first frame on with
    the app's resampler (``realtime.window.resample_by_time``).

    The recordings repeat a timestamp now and then (88 times in 55 clips). Of a repeated time the
    first frame ends the stretch before it and the last one starts the stretch after it (as
    ``np.interp`` had it): the first is moved 1 us earlier, frames in between are dropped.
    """
    t = (np.asarray(t_ms, dtype=np.float64) - t_ms[0]) / 1000.0
    same_next = np.append(np.diff(t) <= 0, False)
    keep = ~(same_next & np.insert(same_next[:-1], 0, False))      # not the middle of a run
    t, x = t[keep], xyz[keep]
    t[np.append(np.diff(t) <= 0, False)] -= 1e-6
    n = len(np.arange(0.0, t[-1] + 1e-9, 1.0 / fps))
    return resample_by_time(t, x, n, 0.0, (n - 1) / fps)


def load_kinder_gator(path: str | Path, fps: float = 15.0, motions: set[str] | None = None,
                      exclude_motions: set[str] | None = None) -> list[Clip]:
    """Clips of ``kinder_gator.npz``; ``motions``/``exclude_motions`` select by motion name."""
    try:
        z = np.load(shared_path(path), allow_pickle=True)
        xyz, t_ms, offsets = z["xyz"], z["t_ms"], z["offsets"]
        motion, participant = z["motion"], z["participant"]
    except (OSError, ValueError, KeyError) as e:
        raise DatasetError(f"{path}: cannot read Kinder-Gator arrays ({e})") from e
    names = sorted(set(motion.tolist()))
    clips = []
    for k in range(len(offsets) - 1):
        m = str(motion[k])
        if (motions is not None and m not in motions) or (exclude_motions and m in exclude_motions):
            continue
        a, b = int(offsets[k]), int(offsets[k + 1])
        name = f"kg_{int(participant[k])}_{m}"
        if too_short(name, b - a):
            continue
        seq = at_fps(from_kinect_v1(xyz[a:b]), t_ms[a:b].astype(np.float64), fps)
        if too_short(name, len(seq)):
            continue
        clips.append(Clip(name=name, skeleton=seq, label=names.index(m), label_name=m, view=0,
                          subject=int(participant[k]), instance=f"kg:{k}", source="kinder-gator"))
    log.info("Kinder-Gator: %d clips", len(clips))
    return clips


def motion_names(path: str | Path) -> list[str]:
    return sorted(set(np.load(path, allow_pickle=True)["motion"].tolist()))
