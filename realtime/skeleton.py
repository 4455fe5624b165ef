"""The canonical skeleton (contract 1) and the mappings into it.

A canonical skeleton sequence is a float32 array ``[T, J, 3]`` in metres, right-handed, **y up**,
with ``x`` pointing to the *camera's* left and ``z`` away from the camera (the Kinect v1 camera
frame), joint order :data:`JOINTS`. "left" and "right" are always the *person's* left and right.

Derived joints are computed the same way for every source so that the two sensors agree where
their native definitions differ:

* pelvis = mean(left hip, right hip)
* neck   = mean(left shoulder, right shoulder)
* spine  = mean(pelvis, neck)

Kinect's own hip-centre / spine / shoulder-centre joints are *not* used for these, because
MediaPipe has no equivalent and the two would disagree by several centimetres.
"""
from __future__ import annotations

import numpy as np

JOINTS: tuple[str, ...] = (
    "pelvis", "spine", "neck", "head",
    "left_shoulder", "left_elbow", "left_wrist", "left_hand",
    "right_shoulder", "right_elbow", "right_wrist", "right_hand",
    "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot",
)
NUM_JOINTS = len(JOINTS)
J = {name: i for i, name in enumerate(JOINTS)}
LAYOUT_NAME = "focovil-canonical-20"

# Bones (parent, child) for drawing and bone-length checks.
BONES: tuple[tuple[int, int], ...] = (
    (J["pelvis"], J["spine"]), (J["spine"], J["neck"]), (J["neck"], J["head"]),
    (J["neck"], J["left_shoulder"]), (J["left_shoulder"], J["left_elbow"]),
    (J["left_elbow"], J["left_wrist"]), (J["left_wrist"], J["left_hand"]),
    (J["neck"], J["right_shoulder"]), (J["right_shoulder"], J["right_elbow"]),
    (J["right_elbow"], J["right_wrist"]), (J["right_wrist"], J["right_hand"]),
    (J["pelvis"], J["left_hip"]), (J["left_hip"], J["left_knee"]),
    (J["left_knee"], J["left_ankle"]), (J["left_ankle"], J["left_foot"]),
    (J["pelvis"], J["right_hip"]), (J["right_hip"], J["right_knee"]),
    (J["right_knee"], J["right_ankle"]), (J["right_ankle"], J["right_foot"]),
)
# Index of the joint that swaps with each joint under a left/right mirror.
MIRROR: tuple[int, ...] = tuple(
    J[n.replace("left_", "@").replace("right_", "left_").replace("@", "right_")] for n in JOINTS
)

# Kinect v1 (NW-UCLA, Kinder-Gator) joint order -> canonical index, for joints taken as they are.
# Checked on NW-UCLA: (left_shoulder - right_shoulder) x up points the way the toes point.
_KINECT_DIRECT = {
    3: "head", 4: "left_shoulder", 5: "left_elbow", 6: "left_wrist", 7: "left_hand",
    8: "right_shoulder", 9: "right_elbow", 10: "right_wrist", 11: "right_hand",
    12: "left_hip", 13: "left_knee", 14: "left_ankle", 15: "left_foot",
    16: "right_hip", 17: "right_knee", 18: "right_ankle", 19: "right_foot",
}

# MediaPipe pose landmarks (33). Several canonical joints are means of landmarks.
_MP_GROUPS = {
    "head": (7, 8),                 # ears: the centre of the head, as Kinect's head joint
    "left_shoulder": (11,), "right_shoulder": (12,),
    "left_elbow": (13,), "right_elbow": (14,),
    "left_wrist": (15,), "right_wrist": (16,),
    "left_hand": (17, 19), "right_hand": (18, 20),    # pinky and index knuckles
    "left_hip": (23,), "right_hip": (24,),
    "left_knee": (25,), "right_knee": (26,),
    "left_ankle": (27,), "right_ankle": (28,),
    "left_foot": (29, 31), "right_foot": (30, 32),    # heel and toe: mid-foot
}


def _fill_derived(out: np.ndarray) -> np.ndarray:
    out[..., J["pelvis"], :] = 0.5 * (out[..., J["left_hip"], :] + out[..., J["right_hip"], :])
    out[..., J["neck"], :] = 0.5 * (out[..., J["left_shoulder"], :] + out[..., J["right_shoulder"], :])
    out[..., J["spine"], :] = 0.5 * (out[..., J["pelvis"], :] + out[..., J["neck"], :])
    return out


def from_kinect_v1(xyz: np.ndarray) -> np.ndarray:
    """Kinect v1 20-joint camera-space coordinates ``[..., 20, 3]`` -> canonical ``[..., J, 3]``.

    Kinect v1 already is x = sensor's left, y up, z away from the sensor, metres: no axis change.
    """
    xyz = np.asarray(xyz, dtype=np.float32)
    if xyz.shape[-2:] != (20, 3):
        raise ValueError(f"Kinect v1 skeletons must be [..., 20, 3], got {xyz.shape}")
    out = np.zeros(xyz.shape[:-2] + (NUM_JOINTS, 3), dtype=np.float32)
    for src, name in _KINECT_DIRECT.items():
        out[..., J[name], :] = xyz[..., src, :]
    return _fill_derived(out)


# MediaPipe world landmarks: x image-right, y down, z away from the camera (right-handed).
# Canonical: x camera-left, y up, z away. That is a 180 degree turn about z (a proper rotation,
# so the person's handedness is kept): x -> -x, y -> -y, z -> z.
_MP_TO_CANONICAL = np.array([-1.0, -1.0, 1.0], dtype=np.float32)


def from_mediapipe_world(landmarks: np.ndarray) -> np.ndarray:
    """MediaPipe 33 world landmarks ``[..., 33, 3]`` (metres) -> canonical ``[..., J, 3]``."""
    lm = np.asarray(landmarks, dtype=np.float32)
    if lm.shape[-2:] != (33, 3):
        raise ValueError(f"MediaPipe world landmarks must be [..., 33, 3], got {lm.shape}")
    lm = lm * _MP_TO_CANONICAL
    out = np.zeros(lm.shape[:-2] + (NUM_JOINTS, 3), dtype=np.float32)
    for name, idx in _MP_GROUPS.items():
        out[..., J[name], :] = lm[..., list(idx), :].mean(axis=-2)
    return _fill_derived(out)


def facing_direction(seq: np.ndarray) -> np.ndarray:
    """Horizontal unit vector the body faces, ``(left_shoulder - right_shoulder) x up``, averaged.

    In any right-handed frame with y up this points out of the chest; tests compare it with the
    direction the toes point (ankle -> foot), which does not depend on left/right labels.
    """
    s = np.asarray(seq, dtype=np.float32).reshape(-1, NUM_JOINTS, 3)
    across = (s[:, J["left_shoulder"]] - s[:, J["right_shoulder"]]) + (s[:, J["left_hip"]] - s[:, J["right_hip"]])
    fwd = np.cross(across, np.array([0.0, 1.0, 0.0], dtype=np.float32)).mean(axis=0)
    fwd[1] = 0.0
    return fwd / max(float(np.linalg.norm(fwd)), 1e-8)


def toe_direction(seq: np.ndarray) -> np.ndarray:
    """Horizontal unit vector from ankles to feet, averaged: where the toes point."""
    s = np.asarray(seq, dtype=np.float32).reshape(-1, NUM_JOINTS, 3)
    d = (s[:, J["left_foot"]] - s[:, J["left_ankle"]] + s[:, J["right_foot"]] - s[:, J["right_ankle"]]).mean(axis=0)
    d[1] = 0.0
    return d / max(float(np.linalg.norm(d)), 1e-8)


def bone_lengths(seq: np.ndarray) -> np.ndarray:
    """Median length of each bone in :data:`BONES` over the sequence, metres."""
    s = np.asarray(seq, dtype=np.float32).reshape(-1, NUM_JOINTS, 3)
    return np.array([np.median(np.linalg.norm(s[:, c] - s[:, p], axis=-1)) for p, c in BONES])
