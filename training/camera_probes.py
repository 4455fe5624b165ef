"""Two questions about camera skeletons, measured on TotalCapture's validation sequence and its flips.

``python -m focovil.training.camera_probes --json docs/experiments/camera_probes.json``

* **Levelling** (cameras that look down, as these 2.4-m-high ones and a camera on a shelf do): the
  view alignment with and without turning the body upright by its own torso direction
  (``ViewAlign(level=True)``), for the training-free methods (view-aligned joints, joint motion),
  both 8-camera metrics on freestyle3.
* **Front/back repair by continuity**: relabel a frame as its mirror (left and right swapped, depth
  negated about the hips) when that keeps the limbs closer to the frame before; how many frames it
  relabels and how the share seen from the wrong side (body heading against the Vicon) changes, per
  camera. Also how MediaPipe's heading error develops on the flipped camera, and whether its face
  landmarks' visibility tells the flipped frames apart.
"""
from __future__ import annotations

import argparse
import json
import sys
from functools import partial

import numpy as np

from focovil.realtime.files import atomic_text
from focovil.training import multicamera
from focovil.training.camera_open_set import recognition
from focovil.training.data import totalcapture as tc
from focovil.training.protocols import aligned_joints, joint_motion

LIMBS = (11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)       # MediaPipe shoulders .. ankles
_SWAP = np.arange(33)                                           # each landmark's left/right twin
for _a, _b in ((1, 4), (2, 5), (3, 6), (7, 8), (9, 10)) + tuple((i, i + 1) for i in range(11, 33, 2)):
    _SWAP[_a], _SWAP[_b] = _b, _a


def mirrored(lm: np.ndarray) -> np.ndarray:
    """A front/back confusion undone: left and right landmarks swapped, depth negated about the hips."""
    out = lm[..., _SWAP, :].copy()
    out[..., 2] *= -1
    return out


def continuity_repair(landmarks: np.ndarray, present: np.ndarray, margin: float = 0.8) -> tuple[np.ndarray, int]:
    """Each frame as is or mirrored, whichever keeps the limbs nearer the frame before (by ``margin``)."""
    limbs = list(LIMBS)
    out, n = landmarks.copy(), 0
    for i in np.flatnonzero(present):
        q = landmarks[i]
        if i > 0 and present[i - 1]:
            prev, m = out[i - 1][limbs], mirrored(q)
            if np.linalg.norm(m[limbs] - prev, axis=1).mean() < margin * np.linalg.norm(q[limbs] - prev, axis=1).mean():
                q, n = m, n + 1
        out[i] = q
    return out, n


def levelling(sequence: str = tc.VALIDATION) -> dict:
    views = multicamera.load_views(sequence)
    out = {}
    for level in (False, True):
        aligned, motion = partial(aligned_joints, level=level), partial(joint_motion, level=level)
        for name, fn in (("view-aligned joints", aligned), ("joint motion", motion)):
            out[f"{name}, levelled" if level else name] = {
                "same_instant": round(multicamera.score(fn, views)["top1"], 4),
                "record_once": recognition(fn, views)["top1"]}
    return out


def repair(sequences=("freestyle3", "acting3")) -> dict:
    cams, out = tc.load_cameras(), {}
    for seq in sequences:
        streams, vicon = tc.load_sequence(seq), tc.load_vicon(seq)
        for c, s in streams.items():
            lm, n = continuity_repair(s.landmarks, s.present)
            fixed = tc.CameraStream(s.sequence, c, s.times, lm, s.skeletons, s.present)
            out[f"{seq}/cam{c}"] = {"flipped_before": round(tc.flipped_share(s, cams[c], vicon), 4),
                                    "flipped_after": round(tc.flipped_share(fixed, cams[c], vicon), 4),
                                    "frames_relabelled": n}
    return out


def flipped_camera(sequence: str = "freestyle3", cam: int = 5) -> dict:
    s, vicon = tc.load_sequence(sequence, cameras=(cam,))[cam], tc.load_vicon(sequence)
    err = tc.facing_error_deg(s, tc.load_cameras()[cam], vicon)
    vis = s.visibility[: len(err), 0]                                  # the nose's visibility
    ok = np.isfinite(err)
    flipped = ok & (err > tc.FLIP_DEG)
    return {"heading_error_deg_every_second": np.round(err[:: int(tc.FPS)], 1).tolist(),
            "nose_visibility_flipped": round(float(vis[flipped].mean()), 4),
            "nose_visibility_not_flipped": round(float(vis[ok & ~flipped].mean()), 4)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    report = {"levelling": levelling(), "continuity_repair": repair(), "flipped_camera": flipped_camera()}
    if a.json:
        atomic_text(a.json, json.dumps(report, indent=1))
    print(json.dumps({k: report[k] for k in ("levelling", "flipped_camera")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
