"""More bodies for the camera head: Vicon motion of four actors, seen by TotalCapture's 8 cameras with
MediaPipe's own measured errors added.

TotalCapture's Vicon ground truth covers 34 sequences of four actors (S1, S3, S4, S5), all in the one
studio the 8 calibrated cameras look into, but MediaPipe skeletons exist only for four S1 sequences.
For any other sequence, each camera ``c`` sees the true motion in its own frame (``x = R p + t``,
hip-centred, as MediaPipe's world landmarks are) and adds a *residual*: MediaPipe minus Vicon,
frame by frame, measured in camera ``c`` on the S1 training sequences (``TRAINING``; never
freestyle3), canonical joints, a contiguous stretch starting at a random frame. Residuals keep what
MediaPipe gets wrong from that camera (a limb's depth misjudged for a while, jitter, the frames it
missed); they are taken from another motion than the one they are added to, so they are a sample
of MediaPipe's errors, not a model of them. Frames MediaPipe missed or saw from the wrong side
(body heading, ``FLIP_DEG``) are left out of the residuals and become frames without a person.

The validation actor's validation motion (S1 freestyle3) is never rendered.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from focovil.realtime.skeleton import from_mediapipe_world
from focovil.training.data import totalcapture as tc

# Vicon joint -> MediaPipe landmark indices it stands for (what realtime.skeleton reads from MediaPipe)
_LANDMARKS = {"Head": (7, 8), "LeftArm": (11,), "RightArm": (12,), "LeftForeArm": (13,), "RightForeArm": (14,),
              "LeftHand": (15,), "RightHand": (16,), "LeftUpLeg": (23,), "RightUpLeg": (24,), "LeftLeg": (25,),
              "RightLeg": (26,), "LeftFoot": (27,), "RightFoot": (28,)}
_V = {n: i for i, n in enumerate(tc.VICON_JOINTS)}
HAND = 0.35          # knuckles beyond the wrist, in forearm lengths (MediaPipe: hand 0.17 / forearm 0.48)
FOOT = 0.12          # mid-foot ahead of the ankle, metres (Vicon has no toe marker)
OFFSET = -1          # MediaPipe frame k = Vicon row k - 1 on every S1 sequence (docs/experiments/pose_error.json)


def vicon_subjects_sequences(root: str | Path | None = None) -> list[tuple[str, str]]:
    """Every Vicon sequence but the validation one: ``(subject, sequence)``."""
    files = sorted((tc.data_root(root) / "vicon_gt").glob("S*_*.txt.gz"))
    out = [tuple(f.name[:-len(".txt.gz")].split("_", 1)) for f in files]
    return [(s, q) for s, q in out if (s, q) != (tc.SUBJECT, tc.VALIDATION)]


def in_camera(vicon: np.ndarray, camera: tc.Camera) -> np.ndarray:
    """Vicon rows ``[F, 21, 3]`` (world) -> canonical skeletons ``[F, J, 3]`` as MediaPipe would give
    them from ``camera`` if it made no error (hip-centred camera frame, through the app's own mapping)."""
    p = vicon @ camera.R.T + camera.t
    p = p - (p[:, _V["LeftUpLeg"]] + p[:, _V["RightUpLeg"]])[:, None] / 2
    lm = np.zeros((len(p), 33, 3))
    for name, idx in _LANDMARKS.items():
        lm[:, list(idx)] = p[:, _V[name], None]
    across = p[:, _V["LeftUpLeg"]] - p[:, _V["RightUpLeg"]]
    forward = np.cross(across, p[:, _V["Neck"]] - p[:, _V["Hips"]])   # out of the chest (camera frame, y down)
    forward /= np.linalg.norm(forward, axis=1, keepdims=True) + 1e-9
    for side, mp_hand, mp_foot in (("Left", (17, 19), (29, 31)), ("Right", (18, 20), (30, 32))):
        wrist, elbow = p[:, _V[f"{side}Hand"]], p[:, _V[f"{side}ForeArm"]]
        lm[:, list(mp_hand)] = (wrist + HAND * (wrist - elbow))[:, None]
        lm[:, list(mp_foot)] = (p[:, _V[f"{side}Foot"]] + FOOT * forward)[:, None]
    return from_mediapipe_world(lm.astype(np.float32))


def residuals(root: str | Path | None = None, sequences: tuple[str, ...] = tc.TRAINING) -> dict[int, np.ndarray]:
    """Per camera, MediaPipe minus error-free canonical skeletons ``[F, J, 3]`` over ``sequences``
    (training ones only), NaN where MediaPipe missed the actor or saw him from the wrong side."""
    cams = tc.load_cameras(root)
    out: dict[int, list] = {c: [] for c in cams}
    for seq in sequences:
        vicon = tc.load_vicon(seq, root)
        for c, s in tc.load_sequence(seq, root, for_training=True).items():
            k = np.arange(len(s.times)) + OFFSET
            ok = s.present & (k >= 0) & (k < len(vicon))
            truth = np.full(s.skeletons.shape, np.nan, np.float32)
            truth[ok] = in_camera(vicon[k[ok]], cams[c])
            err = tc.facing_error_deg(s, cams[c], vicon)
            ok[:len(err)] &= ~(np.nan_to_num(err) > tc.FLIP_DEG)
            r = s.skeletons - truth
            r[~ok] = np.nan
            out[c].append(r)
    return {c: np.concatenate(r) for c, r in out.items()}


def rendered_streams(subject: str, sequence: str, res: dict[int, np.ndarray], rng: np.random.Generator,
                     root: str | Path | None = None) -> dict[int, tc.CameraStream]:
    """One Vicon sequence as the 8 cameras' MediaPipe would see it: error-free skeletons plus a
    stretch of that camera's residuals (:func:`residuals`); frames the stretch has no residual for
    are frames without a person."""
    if (subject, sequence) == (tc.SUBJECT, tc.VALIDATION):
        raise tc.HoldOutError(f"{subject} {sequence} is the validation motion: it is never rendered for training")
    vicon = tc.load_vicon(sequence, root, subject)
    vicon = vicon[np.isfinite(vicon).all(axis=(1, 2))]
    out = {}
    for c, cam in tc.load_cameras(root).items():
        r = res[c]
        start = int(rng.integers(0, max(1, len(r) - len(vicon))))
        r = np.resize(r[start:], (len(vicon),) + r.shape[1:])         # wraps round when the sequence is longer
        skel = in_camera(vicon, cam) + r
        present = np.isfinite(skel).all(axis=(1, 2))
        skel[~present] = np.nan
        out[c] = tc.CameraStream(f"{subject}_{sequence}", c, np.arange(len(vicon)) / tc.FPS,
                                 np.zeros((len(vicon), 33, 3), np.float32), skel.astype(np.float32), present,
                                 np.zeros((len(vicon), 33), np.float32))
    return out
