"""MediaPipe skeletons of the real videos in ``../shared``, through the app's own frame path, cached.

The app sees people through a webcam and MediaPipe; these are the same skeletons, made by
``realtime.session.Session.capture`` (source -> pose -> canonical skeleton) and cut into the windows
the live recognizer classifies (``realtime.pipeline.live_windows``). Pose is the slow part, so each
video's skeletons are cached under ``runs/cache/mediapipe`` keyed by the sha256 of the video and of
the pose model: a changed file is never read from a stale cache.

``videos/multiview_lightstage`` is for measurement only: nothing in ``training/`` trains on it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from focovil.realtime.files import atomic_write
from focovil.realtime.library import file_sha256
from focovil.realtime.paths import cache_dir, pose_model_path, shared_path
from focovil.realtime.pipeline import live_windows
from focovil.realtime.settings import Settings

DEFAULT_VIDEOS = "../shared/data/videos"
CACHE = cache_dir() / "mediapipe"
LIGHTSTAGE = ("multiview_lightstage/cam5.mp4", "multiview_lightstage/cam21.mp4")   # 110.7 degrees apart
NTU = {   # name -> (file, action as NTU names it, camera, performer)
    "drink water": ("ntu_S001C001P001R001A001_drink_water.avi", "drink water", 1, 1),
    "falling cam1": ("ntu_multiview/S001C001P006R001A043_rgb.avi", "falling", 1, 6),
    "falling cam2": ("ntu_multiview/S001C002P006R001A043_rgb.avi", "falling", 2, 6),
    "falling P007": ("ntu_multiview/S001C001P007R001A043_rgb.avi", "falling", 1, 7),
    "pick up": ("ntu_multiview/S001C001P004R001A006_rgb.avi", "pick up", 1, 4),
}


@dataclass
class VideoWindows:
    """The live windows of one video: ``start`` [N] seconds, ``windows`` [N, T, 20, 3] raw canonical."""
    name: str
    start: np.ndarray
    windows: np.ndarray


def skeletons(video: str | Path, cache: Path | None = CACHE, pose_model: str | Path | None = None,
              pose_fps: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(times [F], canonical skeletons [F, 20, 3], NaN where nobody)`` of a video, as the app sees it
    with ``pose_model`` (default: the shipped full one) at ``pose_fps`` (default 0: pose on every frame,
    the protocol every recorded evaluation number uses; the app's own rate is measured beside it by
    ``benchmarks/pipeline_cost.py``)."""
    video = shared_path(video)
    if not video.is_file():
        raise FileNotFoundError(f"video not found: {video}")
    model = pose_model_path(pose_model)
    rate = 0.0 if pose_fps is None else float(pose_fps)
    tag = f"-{rate:g}fps" if rate else ""          # every frame: the key the cache had before pose rates
    key = cache / f"{video.stem}-{file_sha256(video)[:16]}-{file_sha256(model)[:8]}{tag}.npz" if cache else None
    if key is not None and key.is_file():
        d = np.load(key)
        return d["times"], d["skeletons"]
    from focovil.realtime.session import Session
    seg = Session(pose_model=model, settings=dataclasses.replace(Settings(), pose_fps=rate)).capture(video)
    if key is not None:
        atomic_write(key, lambda tmp: np.savez_compressed(tmp, times=seg.times, skeletons=seg.skeletons), suffix=".npz")
    return seg.times, seg.skeletons


def stream_windows(name: str, times: np.ndarray, skels: np.ndarray, length: int,
                   settings: Settings | None = None) -> VideoWindows:
    """The windows the live recognizer would classify in a stream of skeletons (NaN: nobody)."""
    present = np.isfinite(skels).all(axis=(1, 2))
    samples = ((float(t), s if ok else None) for t, s, ok in zip(times, skels, present))
    wins = list(live_windows(samples, length, settings or Settings()))
    return VideoWindows(name, np.array([w.start for w in wins]),
                        np.stack([w.skeleton for w in wins]) if wins else np.zeros((0, length, 20, 3), np.float32))


def video_windows(videos: str | Path, rel: str, length: int, name: str | None = None,
                  cache: Path | None = CACHE, pose_fps: float | None = None) -> VideoWindows:
    times, skels = skeletons(shared_path(videos) / rel, cache, pose_fps=pose_fps)
    return stream_windows(name or rel, times, skels, length)


def clip_windows(name: str, skeleton: np.ndarray, fps: float, length: int) -> VideoWindows:
    """A Kinect clip played as a live stream at its own rate (the same windows MediaPipe clips get)."""
    return stream_windows(name, np.arange(len(skeleton)) / fps, np.asarray(skeleton, np.float32), length)
