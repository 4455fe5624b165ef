"""TotalCapture's 8 synchronised cameras as MediaPipe saw them: canonical skeletons per camera.

``../shared/data/totalcapture_mediapipe``: one actor (S1), four sequences, each filmed at the same
instants by 8 calibrated cameras in a ring; MediaPipe Pose (classic solution, heaviest model) ran on
every camera's video. Frame ``k`` of every camera is the same instant (60 fps), so two cameras'
windows that start within a stride of each other show the same motion from two angles: the
multi-view supervision and the multi-view benchmark the app's own domain lacked.

Hold-out rule (:data:`VALIDATION`): one sequence is kept out of training to choose settings on;
:func:`load_sequence` refuses it when asked for training data, so no training run can see it.
The Vicon ground truth (:func:`load_vicon`) and the calibration (:func:`load_cameras`) measure how
wrong MediaPipe is per camera (``training.pose_error``) and which cameras see the actor flipped.
"""
from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from focovil.realtime.paths import shared_path
from focovil.realtime.skeleton import from_mediapipe_world
from focovil.realtime.window import resample_by_time
from focovil.training.config import DEFAULT_TOTALCAPTURE
from focovil.training.data.video_skeletons import VideoWindows

DEFAULT_ROOT = DEFAULT_TOTALCAPTURE
SUBJECT = "S1"
SEQUENCES = ("acting3", "freestyle1", "freestyle2", "freestyle3")
VALIDATION = "freestyle3"               # chooses settings; never trained on
TRAINING = tuple(s for s in SEQUENCES if s != VALIDATION)
CAMERAS = tuple(range(1, 9))
FPS = 60.0
INCH = 0.0254
# The 21 Vicon joints, in the files' order (world frame, y up, inches).
VICON_JOINTS = ("Hips", "Spine", "Spine1", "Spine2", "Spine3", "Neck", "Head", "RightShoulder", "RightArm",
                "RightForeArm", "RightHand", "LeftShoulder", "LeftArm", "LeftForeArm", "LeftHand", "RightUpLeg",
                "RightLeg", "RightFoot", "LeftUpLeg", "LeftLeg", "LeftFoot")
WINDOW_S, STRIDE_S, MIN_PRESENT = 1.8, 0.2, 0.8   # the live app's window and stride; 80 % of frames with a person
RECORD_STRIDE_S = 0.9    # a recording's windows, as realtime.pipeline.segment_windows cuts them (half a window)


class HoldOutError(ValueError):
    """Training asked for data that is kept out of training."""


@dataclass(frozen=True)
class Camera:
    """One calibrated camera: ``x_cam = R x_world + t`` (metres), intrinsics ``K``."""
    id: int
    K: np.ndarray
    R: np.ndarray
    t: np.ndarray

    @property
    def position(self) -> np.ndarray:
        return -self.R.T @ self.t

    @property
    def azimuth_deg(self) -> float:
        """Where the camera stands around the capture area's centre, degrees (world x over z)."""
        p = self.position
        return float(np.degrees(np.arctan2(p[0], p[2])))


def angle_between(a: Camera, b: Camera) -> float:
    """Horizontal angle between two cameras around the actor, 0-180 degrees."""
    d = abs(a.azimuth_deg - b.azimuth_deg) % 360.0
    return float(min(d, 360.0 - d))


@dataclass
class CameraStream:
    """One camera's view of a sequence: ``times`` [F] s, ``landmarks`` [F, 33, 3] MediaPipe world
    (camera axes), ``skeletons`` [F, 20, 3] canonical (NaN where nobody was found), ``present`` [F]."""
    sequence: str
    camera: int
    times: np.ndarray
    landmarks: np.ndarray
    skeletons: np.ndarray
    present: np.ndarray
    visibility: np.ndarray | None = None      # [F, 33] MediaPipe's visibility of each landmark

    @property
    def name(self) -> str:
        return f"{self.sequence}/cam{self.camera}"


def data_root(root: str | Path | None = None) -> Path:
    """The TotalCapture MediaPipe folder (``root``, else the default under ../shared), checked to exist."""
    r = shared_path(root or DEFAULT_ROOT)
    if not r.is_dir():
        raise FileNotFoundError(f"TotalCapture MediaPipe folder not found: {r} (see ../shared/data/README.md)")
    return r


def check_split(sequence: str, for_training: bool) -> None:
    """The hold-out rule in one place: the validation sequence never reaches training."""
    if sequence not in SEQUENCES:
        raise ValueError(f"unknown TotalCapture sequence {sequence!r}; known: {', '.join(SEQUENCES)}")
    if for_training and sequence == VALIDATION:
        raise HoldOutError(f"TotalCapture {sequence} is the validation sequence: settings are chosen on it, "
                           f"so no training run may load it (train on {', '.join(TRAINING)})")


def load_sequence(sequence: str, root: str | Path | None = None, for_training: bool = False,
                  cameras: tuple[int, ...] = CAMERAS) -> dict[int, CameraStream]:
    """Every camera of one sequence, by camera id. ``for_training``: refuse the validation sequence."""
    check_split(sequence, for_training)
    path = data_root(root) / f"{SUBJECT}_{sequence}.npz"
    if not path.is_file():
        raise FileNotFoundError(f"TotalCapture sequence not found: {path}")
    out = {}
    with np.load(path) as d:
        for cam in cameras:
            raw = np.asarray(d[f"cam{cam}"], dtype=np.float32)
            present = np.abs(raw).sum(axis=(1, 2)) > 0          # all zeros: nobody found
            lm = raw[..., :3].copy()
            skel = from_mediapipe_world(lm)
            skel[~present] = np.nan
            out[cam] = CameraStream(sequence, cam, np.arange(len(raw)) / FPS, lm, skel, present, raw[..., 3].copy())
    return out


def load_cameras(root: str | Path | None = None) -> dict[int, Camera]:
    d = json.loads((data_root(root) / "calibration_params.json").read_text())
    out = {}
    for c in d["cameras"]:
        i = c["intrinsics"]
        K = np.array([[i["fx"], 0, i["cx"]], [0, i["fy"], i["cy"]], [0, 0, 1]], dtype=np.float64)
        out[int(c["camera_id"])] = Camera(int(c["camera_id"]), K, np.array(c["rotation_matrix"], np.float64),
                                          np.array(c["translation_vector"], np.float64))
    return out


def load_vicon(sequence: str, root: str | Path | None = None, subject: str = SUBJECT) -> np.ndarray:
    """Vicon ground truth ``[F, 21, 3]`` in metres, world frame (y up), joints :data:`VICON_JOINTS`."""
    path = data_root(root) / "vicon_gt" / f"{subject}_{sequence}.txt.gz"
    if not path.is_file():
        raise FileNotFoundError(f"Vicon ground truth not found: {path}")
    with gzip.open(path, "rt") as f:
        header = f.readline().split()
        if tuple(header) != VICON_JOINTS:
            raise ValueError(f"{path}: unexpected joint header {header[:4]}...")
        rows = [line.replace("\t", " ").split() for line in f if line.strip()]
    return np.asarray(rows, dtype=np.float64).reshape(len(rows), len(VICON_JOINTS), 3) * INCH


def camera_windows(stream: CameraStream, length: int = 32, window_s: float = WINDOW_S, stride_s: float = STRIDE_S,
                   min_present: float = MIN_PRESENT) -> VideoWindows:
    """One camera's windows of ``window_s`` seconds every ``stride_s`` on a grid shared by all
    cameras (starts at 0, 0.2, 0.4 ... s), so two cameras' windows of one instant start together.
    A window needs a person in ``min_present`` of its frames; its present frames are resampled by
    time to ``length`` frames (``realtime.window.resample_by_time``, as the live app does)."""
    starts, wins = [], []
    t = stream.times
    for t0 in np.arange(0.0, t[-1] - window_s + 1e-9, stride_s):
        span = (t >= t0 - 1e-9) & (t <= t0 + window_s + 1e-9)
        seen = span & stream.present
        if seen.sum() < max(2, min_present * span.sum()):
            continue
        wins.append(resample_by_time(t[seen], stream.skeletons[seen], length, t0, t0 + window_s))
        starts.append(round(float(t0), 6))
    return VideoWindows(stream.name, np.asarray(starts, np.float64),
                        np.stack(wins) if wins else np.zeros((0, length, 20, 3), np.float32))


def same_instant_pairs(a: VideoWindows, b: VideoWindows, max_dt: float = 0.1) -> np.ndarray:
    """``[P, 2]`` indices ``(i, j)``: window ``j`` of camera B is the one nearest in time to window
    ``i`` of camera A, starting within ``max_dt`` seconds of it (the same motion, two angles)."""
    if not len(a.start) or not len(b.start):
        return np.zeros((0, 2), np.int64)
    j = np.abs(b.start[None, :] - a.start[:, None]).argmin(axis=1)
    keep = np.abs(b.start[j] - a.start) <= max_dt + 1e-9
    return np.stack([np.flatnonzero(keep), j[keep]], axis=1)


def _yaw(across: np.ndarray) -> np.ndarray:
    """Heading (radians, about world y) of the direction a body faces, from its left-minus-right axis."""
    fwd = np.cross(across, np.array([0.0, 1.0, 0.0]))
    return np.arctan2(fwd[..., 0], fwd[..., 2])


def facing_error_deg(stream: CameraStream, camera: Camera, vicon: np.ndarray) -> np.ndarray:
    """Per frame, how far MediaPipe's body heading (shoulders + hips, turned into the world by the
    camera's calibration) is from the Vicon's, degrees 0-180; NaN where nobody was found. Above 135
    degrees MediaPipe took the actor's back for his front (left and right swapped)."""
    n = min(len(stream.landmarks), len(vicon))
    lm = stream.landmarks[:n].astype(np.float64)
    across_cam = (lm[:, 11] - lm[:, 12]) + (lm[:, 23] - lm[:, 24])      # MediaPipe: left minus right
    across_mp = across_cam @ camera.R                                     # R^T v, row-wise: into the world
    v = vicon[:n]
    V = {name: i for i, name in enumerate(VICON_JOINTS)}
    across_gt = (v[:, V["LeftArm"]] - v[:, V["RightArm"]]) + (v[:, V["LeftUpLeg"]] - v[:, V["RightUpLeg"]])
    d = np.degrees(np.abs(np.angle(np.exp(1j * (_yaw(across_mp) - _yaw(across_gt))))))
    d[~stream.present[:n]] = np.nan
    return d


FLIP_DEG = 135.0          # a frame whose heading is this far off is seen from the wrong side
FLIPPED_SHARE = 1 / 3     # a camera flipped in more than this share of its frames is a flipped view


def flipped_share(stream: CameraStream, camera: Camera, vicon: np.ndarray) -> float:
    """Share of the frames with a person in which MediaPipe sees the actor facing the wrong way."""
    err = facing_error_deg(stream, camera, vicon)
    ok = np.isfinite(err)
    return float((err[ok] > FLIP_DEG).mean()) if ok.any() else float("nan")


def training_clips(root: str | Path | None = None, sequences: tuple[str, ...] = TRAINING, fps: float = 15.0,
                   segment_s: float = 3.0, hop_s: float = 0.5, min_present: float = 0.9,
                   drop_flipped: bool = True, final: bool = False) -> list:
    """Multi-view training clips: each sequence cut into ``segment_s`` stretches every ``hop_s``; every
    camera that saw a stretch (a person in ``min_present`` of its frames) gives one clip, resampled by
    time to ``fps``, and the cameras of one stretch share an instance (the positives of FoCoViL's
    multi-view loss). ``drop_flipped``: a camera's stretch with any frame seen from the wrong side
    (body heading against the Vicon) is left out, so no positive pair teaches left for right.
    Refuses the validation sequence (:func:`check_split`) unless ``final``: a shipped file whose
    settings were chosen on it then trains on all four (``SEQUENCES``), as a final fit does."""
    from focovil.training.data.clips import Clip
    cams = load_cameras(root)
    n = int(round(segment_s * fps)) + 1
    out = []
    for seq in SEQUENCES if final else sequences:
        streams = load_sequence(seq, root, for_training=not final)
        vicon = load_vicon(seq, root) if drop_flipped else None
        for cam, s in streams.items():
            flipped = np.zeros(len(s.times), bool)
            if vicon is not None:
                err = facing_error_deg(s, cams[cam], vicon)
                flipped[:len(err)] = np.nan_to_num(err) > FLIP_DEG
            w = camera_windows(s, n, segment_s, hop_s, min_present)
            for t0, skel in zip(w.start, w.windows):
                if flipped[(s.times >= t0 - 1e-9) & (s.times <= t0 + segment_s + 1e-9)].any():
                    continue
                k = int(round(t0 / hop_s))
                out.append(Clip(name=f"{seq}/cam{cam}/{k}", skeleton=skel, label=-1, label_name="", view=cam,
                                subject=1, instance=f"totalcapture:{seq}:{k}", source="totalcapture"))
    return out
