"""Where MediaPipe goes wrong, measured: its world landmarks against Vicon in every TotalCapture view.

``python -m focovil.training.pose_error --json docs/experiments/pose_error.json --plot docs/experiments/pose_error.png``

Why: augmentations and repairs for MediaPipe's mistakes should copy the mistakes it really makes, at
their real sizes. For the 4 S1 sequences x 8 cameras of ``../shared/data/totalcapture_mediapipe``,
Vicon is put into each camera's frame (``R x + t``), both skeletons are centred on their hip midpoint,
and over the frames where MediaPipe found the actor this measures, for 12 joints (shoulders ... ankles):
the error (cm) split into depth (camera z) and image plane (x, y), and after the best rotation per frame
(Kabsch, no scale: a wrong global orientation vs wrong limbs); whole-body left/right flips (facing error
> 135 deg) and limb swaps (swapping MediaPipe's left and right elbow + wrist, or knee + ankle, lowers
that limb's error); the depth of forearms and shins (error of the bone's z extent; its sign where
Vicon's exceeds 5 cm); jitter (|second difference|, m/s^2, on runs of consecutive frames) against
Vicon's; bone length ratios; detection rates; and errors by the camera's angle to the actor's heading.

Caveat: these files come from MediaPipe Pose's classic solution API with its heaviest model; the app
runs the Tasks API full model, so the numbers transfer only roughly. The frame offset between MediaPipe
frames and Vicon rows (``-3..3``) is chosen per sequence by velocity correlation.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation
from tqdm import tqdm

from focovil.realtime.files import atomic_text
from focovil.training.data.totalcapture import (CAMERAS, FLIP_DEG, FPS, SEQUENCES, VICON_JOINTS, Camera, CameraStream,
                                        facing_error_deg, load_cameras, load_sequence, load_vicon)
from focovil.training.plots import pyplot, save_figure

JOINT_TYPES = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")
JOINTS = tuple(f"{s}_{t}" for t in JOINT_TYPES for s in ("L", "R"))             # L_shoulder, R_shoulder, ...
MP_IDX = np.array([11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28])
_V = {n: i for i, n in enumerate(VICON_JOINTS)}
VICON_IDX = np.array([_V[f"{s}{n}"] for n in ("Arm", "ForeArm", "Hand", "UpLeg", "Leg", "Foot")
                      for s in ("Left", "Right")])
J = {n: i for i, n in enumerate(JOINTS)}
BONES = {"upper_arm": ("shoulder", "elbow"), "forearm": ("elbow", "wrist"), "thigh": ("hip", "knee"),
         "shin": ("knee", "ankle")}
WIDTHS = {"shoulder_width": ("L_shoulder", "R_shoulder"), "hip_width": ("L_hip", "R_hip")}
LIMBS = {"arms": ("elbow", "wrist"), "legs": ("knee", "ankle")}           # the joints a limb swap exchanges
DEPTH_BONES = ("L_forearm", "R_forearm", "L_shin", "R_shin")
CLEAR_DZ = 0.05                   # a bone this far out of the image plane (Vicon) has a clear depth sign
VIEW_BINS = np.arange(-135, 181, 45)                                     # bin centres, degrees
OFFSETS = range(-3, 4)
FLIPPY = 0.05             # a camera flipped in more of its frames is left out of one of the by-angle tables


def paired(stream: CameraStream, camera: Camera, vicon: np.ndarray,
           offset: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(mp, gt, ok, rows)``: the 12 joints ``[F, 12, 3]`` of MediaPipe and of Vicon in the camera's
    frame, both centred on their hip midpoint; ``ok``: MediaPipe found him and Vicon has the row;
    ``rows``: the Vicon world rows of the frames (frame ``k`` = row ``k + offset``, NaN outside)."""
    k = np.arange(len(stream.landmarks)) + offset
    rows = np.full((len(k),) + vicon.shape[1:], np.nan)
    inside = (k >= 0) & (k < len(vicon))
    rows[inside] = vicon[k[inside]]
    mp = stream.landmarks[:, MP_IDX].astype(np.float64)
    gt = rows[:, VICON_IDX] @ camera.R.T + camera.t
    mp -= (mp[:, J["L_hip"]] + mp[:, J["R_hip"]])[:, None] / 2
    gt -= (gt[:, J["L_hip"]] + gt[:, J["R_hip"]])[:, None] / 2
    return mp, gt, stream.present & inside, rows


def best_offset(streams: dict[int, CameraStream], cameras: dict[int, Camera], vicon: np.ndarray) -> tuple[int, dict]:
    """The offset in ``-3..3`` whose frame-to-frame motion agrees best (velocity correlation of the 12
    joints over all the given cameras; the static error is too flat to choose by), and each one's."""
    corr = {}
    for off in OFFSETS:
        num = den_mp = den_gt = 0.0
        for c, s in streams.items():
            mp, gt, ok, _ = paired(s, cameras[c], vicon, off)
            two = ok[1:] & ok[:-1]
            dm, dg = np.diff(mp, axis=0)[two], np.diff(gt, axis=0)[two]
            num, den_mp, den_gt = num + (dm * dg).sum(), den_mp + (dm ** 2).sum(), den_gt + (dg ** 2).sum()
        corr[off] = round(float(num / np.sqrt(den_mp * den_gt)), 4)
    return max(corr, key=corr.get), corr


def kabsch(p: np.ndarray, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``p`` ``[F, J, 3]`` moved onto ``q`` by the best translation and rotation per frame (no scale),
    and those rotations ``[F, 3, 3]`` (``q - mean(q) ~ R (p - mean(p))``)."""
    pc, qc = p - p.mean(1, keepdims=True), q - q.mean(1, keepdims=True)
    u, _, vt = np.linalg.svd(np.einsum("fji,fjk->fik", pc, qc))
    u[:, :, 2] *= np.sign(np.linalg.det(u @ vt))[:, None]
    return np.einsum("fji,fik->fjk", pc, u @ vt) + q.mean(1, keepdims=True), np.transpose(u @ vt, (0, 2, 1))


def view_angle_deg(camera: Camera, rows: np.ndarray) -> np.ndarray:
    """Per Vicon row, the camera's direction from the actor relative to his heading, degrees -180..180
    (0: he faces the camera, 180: his back, positive: the camera is on his left side)."""
    across = (rows[:, _V["LeftArm"]] - rows[:, _V["RightArm"]]) + (rows[:, _V["LeftUpLeg"]] - rows[:, _V["RightUpLeg"]])
    fwd = np.cross(across, [0.0, 1.0, 0.0])
    to_cam = camera.position - (rows[:, _V["LeftUpLeg"]] + rows[:, _V["RightUpLeg"]]) / 2
    a = np.arctan2(to_cam[:, 0], to_cam[:, 2]) - np.arctan2(fwd[:, 0], fwd[:, 2])
    return np.degrees(np.angle(np.exp(1j * a)))


def measure(stream: CameraStream, camera: Camera, vicon: np.ndarray, offset: int) -> dict[str, np.ndarray]:
    """Per-frame measurements of one camera of one sequence, every array over all its frames
    (``ok``: MediaPipe found him and Vicon has the row; ``acc_*``: NaN unless three frames in a row are ok)."""
    mp, gt, ok, rows = paired(stream, camera, vicon, offset)
    d = mp - gt
    m = {"ok": ok, "found": stream.present, "angle": view_angle_deg(camera, rows),
         "flip": facing_error_deg(stream, camera, rows) > FLIP_DEG,
         "total": np.linalg.norm(d, axis=-1), "depth": np.abs(d[..., 2]),
         "image": np.linalg.norm(d[..., :2], axis=-1),
         "procrustes": np.full(d.shape[:2], np.nan), "rotation": np.full((len(ok), 3), np.nan)}
    aligned, rot = kabsch(mp[ok], gt[ok])
    m["procrustes"][ok] = np.linalg.norm(aligned - gt[ok], axis=-1)
    m["rotation"][ok] = Rotation.from_matrix(rot).as_rotvec(degrees=True)     # camera axes; y: about the vertical
    for limb, (a, b) in LIMBS.items():
        ls, rs = [J[f"L_{a}"], J[f"L_{b}"]], [J[f"R_{a}"], J[f"R_{b}"]]
        own = m["total"][:, ls + rs].sum(1)
        swp = np.linalg.norm(mp[:, rs + ls] - gt[:, ls + rs], axis=-1).sum(1)
        m[f"swap_{limb}"] = swp < own
    dz = [np.stack([x[:, J[f"{b[0]}_{BONES[b[2:]][1]}"], 2] - x[:, J[f"{b[0]}_{BONES[b[2:]][0]}"], 2]
                    for b in DEPTH_BONES], 1) for x in (mp, gt)]
    m.update(dz_gt=dz[1], dz_error=np.abs(dz[0] - dz[1]), dz_wrong=np.sign(dz[0]) != np.sign(dz[1]))
    for name, (a, b) in list(BONES.items()) + list(WIDTHS.items()):
        pairs = [(f"{s}_{a}", f"{s}_{b}") for s in "LR"] if name in BONES else [(a, b)]
        for tag, x in (("mp", mp), ("gt", gt)):
            m[f"len_{name}_{tag}"] = np.mean([np.linalg.norm(x[:, J[p]] - x[:, J[q]], axis=-1) for p, q in pairs], 0)
    tri = np.r_[False, ok[:-2] & ok[1:-1] & ok[2:], False]
    for tag, x in (("mp", mp), ("gt", gt)):
        acc = np.pad(np.linalg.norm(x[2:] - 2 * x[1:-1] + x[:-2], axis=-1) * FPS ** 2, ((1, 1), (0, 0)))
        m[f"acc_{tag}"] = np.where(tri[:, None], acc, np.nan)
    return m


def pool(ms: list[dict[str, np.ndarray]], where=None) -> dict[str, np.ndarray]:
    """Concatenates measurements, keeping the frames ``where(m)`` selects (all by default)."""
    return {k: np.concatenate([x[k][where(x)] if where else x[k] for x in ms]) for k in ms[0]}


def summarise(m: dict[str, np.ndarray], full: bool = True) -> dict:
    """Pooled per-frame measurements reduced to the report's numbers (cm, shares, ratios)."""
    ok, has = m["ok"], np.isfinite(m["angle"])
    cm = lambda a: round(100 * float(np.mean(a)), 2) if a.size else None   # noqa: E731
    share = lambda a: round(float(np.mean(a)), 4) if a.size else None      # noqa: E731
    deg = lambda a: round(float(np.median(a)), 1) if a.size else None      # noqa: E731
    out = {"frames": int(ok.sum()), "detection_rate": share(m["found"][has]),
           **{k: cm(m[k][ok]) for k in ("total", "depth", "image", "procrustes")},
           "best_rotation_deg": {"median_angle": deg(np.linalg.norm(m["rotation"][ok], axis=1)),
                                 "median_about_camera_y": deg(m["rotation"][ok, 1]),
                                 "median_abs_about_camera_y": deg(np.abs(m["rotation"][ok, 1]))},
           "flip_share": share(m["flip"][ok]),
           "limb_swap_share": {k: share(m[f"swap_{k}"][ok]) for k in LIMBS},
           "limb_swap_share_unflipped": {k: share(m[f"swap_{k}"][ok & ~m["flip"]]) for k in LIMBS}}
    if not full:
        return out
    clear = ok[:, None] & (np.abs(m["dz_gt"]) > CLEAR_DZ)
    acc = np.isfinite(m["acc_mp"][:, 0])
    a_mp, a_gt = m["acc_mp"][acc].mean(0), m["acc_gt"][acc].mean(0)
    out.update(
        per_joint={j: {k: cm(m[k][ok, i]) for k in ("total", "depth", "image", "procrustes")}
                   for i, j in enumerate(JOINTS)},
        bone_depth={b: {"dz_error_cm": cm(m["dz_error"][ok, i]), "clear_frames": int(clear[:, i].sum()),
                        "sign_wrong_share": share(m["dz_wrong"][clear[:, i], i])} for i, b in enumerate(DEPTH_BONES)},
        bone_length_ratio={b: round(float(np.median(m[f"len_{b}_mp"][ok]) / np.median(m[f"len_{b}_gt"][ok])), 3)
                           for b in list(BONES) + list(WIDTHS)},
        jitter_m_s2={j: {"mediapipe": round(float(a_mp[i]), 2), "vicon": round(float(a_gt[i]), 2),
                         "ratio": round(float(a_mp[i] / a_gt[i]), 2)} for i, j in enumerate(JOINTS)},
        jitter_ratio=round(float(m["acc_mp"][acc].mean() / m["acc_gt"][acc].mean()), 2))
    return out


def view_bin(angle: np.ndarray) -> np.ndarray:
    """Centre of the 45-degree bin of each angle: -135, -90, ..., 135, 180 (NaN stays NaN)."""
    c = np.round(np.asarray(angle) / 45) * 45
    return np.where(c == -180, 180, c)


def measure_pose_error(root: str | Path | None = None, sequences: tuple[str, ...] = SEQUENCES,
             cameras: tuple[int, ...] = CAMERAS) -> dict:
    """The whole report: offsets, overall, per camera, per sequence x camera, by viewing angle."""
    cams, per, offsets = load_cameras(root), {}, {}
    for seq in tqdm(sequences, desc="pose error"):
        vicon, streams = load_vicon(seq, root), load_sequence(seq, root, cameras=cameras)
        off, med = best_offset(streams, cams, vicon)
        offsets[seq] = {"offset": off, "velocity_correlation_by_offset": med}
        for c, s in streams.items():
            per[seq, c] = measure(s, cams[c], vicon, off)
    every = list(per.values())
    per_camera = {str(c): {"azimuth_deg": round(cams[c].azimuth_deg, 1),
                           **summarise(pool([per[s, c] for s in sequences]))} for c in cameras}
    flipped = [c for c in cameras if per_camera[str(c)]["flip_share"] > FLIPPY]
    by_angle = lambda ms: {str(int(b)): summarise(pool(ms, lambda x, b=b: view_bin(x["angle"]) == b))  # noqa: E731
                           for b in VIEW_BINS}
    return {"source": "TotalCapture S1, MediaPipe Pose classic solution API, heaviest model (the app runs the "
                      "Tasks API full model: numbers transfer only roughly); Vicon in each camera's frame, "
                      "both hip-centred; errors in cm over frames where MediaPipe found the actor",
            "offset_convention": "MediaPipe frame k = Vicon row k + offset", "offsets": offsets,
            "view_angle_convention": "0 = the actor faces the camera, 180 = his back, positive = camera on his "
                                     "left; bins of 45 degrees by centre",
            "overall": summarise(pool(every)), "per_camera": per_camera, "by_view_angle": by_angle(every),
            "flipped_cameras": flipped,
            "by_view_angle_without_flipped_cameras": by_angle([m for (s, c), m in per.items() if c not in flipped]),
            "per_sequence_camera": {f"{s}/cam{c}": summarise(m, full=False) for (s, c), m in per.items()}}


def plot(report: dict, path: str | Path) -> None:
    """Four panels: per joint, by viewing angle, per camera (errors split; flips, detection), ratios."""
    plt = pyplot()
    fig, ax = plt.subplots(2, 2, figsize=(13, 10))
    kinds = {"total": "total (MPJPE)", "depth": "depth (camera z)", "image": "image plane (x, y)",
             "procrustes": "after best rotation"}
    lr = lambda d, t, k: (d[f"L_{t}"][k] + d[f"R_{t}"][k]) / 2              # noqa: E731

    def bars(a, groups, values, title):
        for i, k in enumerate(kinds):
            a.bar(np.arange(len(groups)) + (i - 1.5) * 0.2, [v[k] for v in values], 0.2, label=kinds[k])
        a.set(xticks=np.arange(len(groups)), xticklabels=groups, ylabel="error (cm)", title=title)

    def shares(a, x, rows, where, of=""):
        tw = a.twinx()
        tw.plot(x, [100 * v["flip_share"] for v in rows], "kx--", label=f"flipped frames{of} (%)")
        tw.plot(x, [100 * v["detection_rate"] for v in rows], "k.:", label=f"detection rate{of} (%)")
        tw.set(ylabel="% of frames", ylim=(0, 125), yticks=range(0, 101, 20))
        tw.legend(fontsize=8, loc=where, ncol=2)
    o = report["overall"]
    bars(ax[0, 0], JOINT_TYPES, [{k: lr(o["per_joint"], t, k) for k in kinds} for t in JOINT_TYPES],
         "Per joint (L and R averaged, all cameras)")
    ax[0, 0].legend(fontsize=8)
    va, vn = report["by_view_angle"], report["by_view_angle_without_flipped_cameras"]
    angles = [int(a) for a in va]
    for k in kinds:
        ax[0, 1].plot(angles, [vn[str(a)][k] for a in angles], marker="o", label=kinds[k])
    ax[0, 1].plot(angles, [va[str(a)]["total"] for a in angles], "C0--", label="total, all cameras")
    without = ", ".join(f"cam{c}" for c in report["flipped_cameras"]) or "no camera"
    ax[0, 1].set(xticks=angles, ylabel="error (cm)", ylim=(0, 1.25 * max(v["total"] for v in va.values())),
                 title=f"By viewing angle (solid: without {without})",
                 xlabel="camera's direction from the actor's heading "
                        "(deg; 0 front, \u00b190 side, 180 back, + his left)")
    ax[0, 1].legend(fontsize=8, loc="lower left", ncol=2)
    shares(ax[0, 1], angles, [va[str(a)] for a in angles], "upper center", ", all cameras")
    pc = report["per_camera"]
    bars(ax[1, 0], [f"cam{c}\n{v['azimuth_deg']:.0f}\u00b0" for c, v in pc.items()], list(pc.values()),
         "Per camera (azimuth), all sequences")
    ax[1, 0].set_ylim(0, 1.3 * max(v["total"] for v in pc.values()))
    shares(ax[1, 0], np.arange(len(pc)), list(pc.values()), "upper right")
    names = list(o["bone_length_ratio"]) + [f"jitter {t}" for t in JOINT_TYPES]
    vals = list(o["bone_length_ratio"].values()) + [lr(o["jitter_m_s2"], t, "ratio") for t in JOINT_TYPES]
    ax[1, 1].barh(names, vals, color=["C0"] * len(o["bone_length_ratio"]) + ["C3"] * len(JOINT_TYPES))
    ax[1, 1].axvline(1, color="k", lw=0.8)
    for y, v in enumerate(vals):
        ax[1, 1].text(v, y, f" {v:.2f}", va="center", fontsize=8)
    bd = o["bone_depth"]
    ax[1, 1].set(xscale="log", xlim=(0.5, 60), xlabel="MediaPipe / Vicon (median bone length; mean |2nd difference|)")
    ax[1, 1].invert_yaxis()
    ax[1, 1].set_title("Bone lengths, jitter; depth sign wrong: forearm "
                       f"{100 * lr(bd, 'forearm', 'sign_wrong_share'):.0f} %, "
                       f"shin {100 * lr(bd, 'shin', 'sign_wrong_share'):.0f} %", fontsize=10)
    fig.suptitle("Where MediaPipe goes wrong: world landmarks vs Vicon, TotalCapture S1, 4 sequences x 8 cameras "
                 "(classic API, heaviest model)", fontsize=11)
    save_figure(fig, path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=None, help="totalcapture_mediapipe folder")
    ap.add_argument("--json", help="write the full report here")
    ap.add_argument("--plot", help="PNG of the main facts")
    a = ap.parse_args(argv)
    try:
        report = measure_pose_error(a.root)
    except FileNotFoundError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.json:
        atomic_text(a.json, json.dumps(report, indent=1))
    if a.plot:
        plot(report, a.plot)
    print(json.dumps({"offsets": {s: o["offset"] for s, o in report["offsets"].items()},
                      "overall": {k: v for k, v in report["overall"].items() if not isinstance(v, dict)}}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
