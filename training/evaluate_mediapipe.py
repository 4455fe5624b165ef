"""The MediaPipe-domain evaluation: how the encoders do on the skeletons users actually have.

``python -m focovil.training.evaluate_mediapipe --weights W [W ...] --json OUT.json --plot OUT.png``

Every encoder given and three baselines (raw joints; view-aligned raw joints, the encoder's own
alignment then flattened; joint motion, the hybrid's hand-made motion part alone) are measured in
one run, on the same windows (1.8 s every 0.2 s, as the live app cuts them):

* ``eight_camera``: TotalCapture's 8 synchronised cameras (MediaPipe skeletons of one actor, four
  sequences): cross-view instance retrieval over all 56 directed camera pairs, per sequence, pair
  and angle between the cameras, with and without the views MediaPipe sees flipped
  (``training.multicamera``); and ``eight_camera_record_once``, the app's task: each 4-s stretch
  recorded from one camera, recognised live from the others (``training.camera_open_set``).
  freestyle3 is the validation sequence: settings are chosen on it.

* ``multiview``: ``videos/multiview_lightstage`` (measurement only: nothing is chosen on it), one person filmed at the same instants by two
  cameras 110.7 degrees apart. For each window of one view, is the nearest window of the other view
  (cosine) the same instant, within ``--tolerance`` seconds? Top-1 and top-5, per direction; chance is
  the share of windows within the tolerance. Plus the mean similarity against the time offset
  between the windows (the plot): a view-invariant embedding peaks at 0.
* ``record_once``: the real NTU RGB+D clips. Prototypes: the windows of "drink water", "falling"
  (performer 6, camera 1) and "pick up"; queries: the same fall seen by camera 2, and another
  performer's fall (camera 1). kNN-1 over windows.
* ``sensor_probe``: can a linear probe tell MediaPipe windows from Kinect windows? Kinect: NW-UCLA
  pick-up and walk clips and Kinder-Gator arm and stepping motions, played as live streams at 15 fps;
  MediaPipe: every real clip. Classes balanced by subsampling (majority = 50 %); folds by clip, so
  overlapping windows of one clip never straddle train and test.
* ``cross_sensor``: NW-UCLA view-1 clips of all ten actions as prototypes (Kinect), the NTU "pick
  up" windows as queries (MediaPipe): the share whose nearest prototype is a pick-up action.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from focovil.realtime.encoder import EncoderFileError, load_encoder
from focovil.realtime.files import atomic_text
from focovil.training.plots import pyplot, save_figure
from focovil.training.config import DEFAULT_KG, DEFAULT_NWUCLA
from focovil.training.data import load_kinder_gator, load_nwucla
from focovil.training.data.video_skeletons import DEFAULT_VIDEOS, LIGHTSTAGE, NTU, VideoWindows, clip_windows, video_windows
from focovil.training.data.nwucla import CLASS_NAMES
from focovil.training.metrics import knn1, l2n
from focovil.training.protocols import EmbedFn, aligned_joints, joint_motion, raw_joints
from focovil.training import multicamera
from focovil.training.camera_open_set import recognition
from focovil.training.data.totalcapture import SEQUENCES

LENGTH = 32
KINECT_KG = ("Raise-your-hand", "Raise-your-other-hand", "Raise-your-arm-to-one-side", "Raise-your-arm-to-the-other-side",
             "Wave-your-hand", "Wave-your-other-hand", "Draw-a-circle", "Fly-like-a-bird", "Walk-in-place",
             "Signal-someone-to-stop", "Signal-someone-to-come-here", "Punch", "Touch-your-toes")
KINECT_NWUCLA = {k: CLASS_NAMES[k] for k in (0, 1, 3)}       # pick up with one hand, with two hands, walk around
PICK_UP = {CLASS_NAMES[0], CLASS_NAMES[1]}


def multiview(embed: EmbedFn, a: VideoWindows, b: VideoWindows, tolerance: float, offsets: np.ndarray) -> dict:
    ea, eb = l2n(embed(a.windows)), l2n(embed(b.windows))
    sim = ea @ eb.T
    out = {}
    for name, s, qa, qb in (("cam5->cam21", sim, a.start, b.start), ("cam21->cam5", sim.T, b.start, a.start)):
        order = np.argsort(-s, axis=1)
        hit = np.abs(qb[order[:, :5]] - qa[:, None]) <= tolerance + 1e-6
        out[name] = {"top1": float(hit[:, 0].mean()), "top5": float(hit.any(axis=1).mean()), "queries": len(qa),
                     "chance_top1": float((np.abs(qb[None, :] - qa[:, None]) <= tolerance + 1e-6).mean())}
    out["top1_mean"] = float(np.mean([out[k]["top1"] for k in ("cam5->cam21", "cam21->cam5")]))
    out["top5_mean"] = float(np.mean([out[k]["top5"] for k in ("cam5->cam21", "cam21->cam5")]))
    dt = b.start[None, :] - a.start[:, None]
    bins = np.round(dt / (offsets[1] - offsets[0])) * (offsets[1] - offsets[0])
    z = (sim - sim.mean()) / (sim.std() + 1e-12)       # similarities of different methods on one scale
    out["similarity_by_offset"] = [float(z[np.isclose(bins, o)].mean()) for o in offsets]
    return out


def knn_labels(embed: EmbedFn, gallery: list[VideoWindows], labels: list[str], query: np.ndarray) -> list[str]:
    g = embed(np.concatenate([v.windows for v in gallery]))
    y = np.concatenate([[lab] * len(v.windows) for v, lab in zip(gallery, labels)])
    return list(knn1(g, y, embed(query)))


def record_once(embed: EmbedFn, ntu: dict[str, VideoWindows]) -> dict:
    names = ("drink water", "falling cam1", "pick up")
    out = {}
    for q in ("falling cam2", "falling P007"):
        pred = knn_labels(embed, [ntu[n] for n in names], [NTU[n][1] for n in names], ntu[q].windows)
        out[q] = float(np.mean([p == "falling" for p in pred]))
    out["mean"] = float(np.mean(list(out.values())))
    return out


def sensor_probe(embed: EmbedFn, mediapipe: list[VideoWindows], kinect: list[VideoWindows], seed: int = 0) -> dict:
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import GroupKFold
    rng = np.random.default_rng(seed)
    n = min(sum(len(v.windows) for v in mediapipe), sum(len(v.windows) for v in kinect))
    xs, ys, gs = [], [], []
    for label, videos in ((1, mediapipe), (0, kinect)):
        w = np.concatenate([v.windows for v in videos])
        g = np.concatenate([[f"{label}:{v.name}"] * len(v.windows) for v in videos])
        keep = np.sort(rng.choice(len(w), n, replace=False))
        xs.append(w[keep]); ys.append(np.full(n, label)); gs.append(g[keep])
    x, y, groups = l2n(embed(np.concatenate(xs))), np.concatenate(ys), np.concatenate(gs)
    correct = np.zeros(len(y), bool)
    for train, test in GroupKFold(n_splits=5).split(x, y, groups):
        clf = LogisticRegression(C=1.0, max_iter=2000).fit(x[train], y[train])
        correct[test] = clf.predict(x[test]) == y[test]
    return {"accuracy": float(correct.mean()), "majority": 0.5, "windows_per_sensor": int(n)}


def cross_sensor(embed: EmbedFn, nwucla_v1: list, query: VideoWindows) -> dict:
    from focovil.training.protocols import windows_of
    names = np.array([c.label_name for c in nwucla_v1])
    pred = knn1(embed(windows_of(nwucla_v1, LENGTH)), names, embed(query.windows))
    return {"pick_up_share": float(np.isin(pred, list(PICK_UP)).mean()), "queries": len(pred),
            "chance": float(np.isin(names, list(PICK_UP)).mean()),
            "predicted": {k: int(v) for k, v in zip(*np.unique(pred, return_counts=True))}}


def load_data(videos: str, nwucla: str, kg: str) -> dict:
    ntu = {name: video_windows(videos, rel, LENGTH, name) for name, (rel, *_) in NTU.items()}
    cams = [video_windows(videos, rel, LENGTH, Path(rel).stem) for rel in LIGHTSTAGE]
    nw = load_nwucla(nwucla, views=(1, 2))          # never v03: cross-view numbers are reported on it
    kinect = [clip_windows(c.name, c.skeleton, 15.0, LENGTH) for c in nw if c.label in KINECT_NWUCLA]
    kinect += [clip_windows(c.name, c.skeleton, 15.0, LENGTH) for c in load_kinder_gator(kg, fps=15.0, motions=set(KINECT_KG))]
    return {"ntu": ntu, "cams": cams, "kinect": [k for k in kinect if len(k.windows)],
            "nwucla_v1": [c for c in nw if c.view == 1]}


def measure_on_mediapipe(weights: list[str], videos: str = DEFAULT_VIDEOS, nwucla: str = DEFAULT_NWUCLA, kg: str = DEFAULT_KG,
             tolerance: float = 0.4, device: str | None = "cpu", totalcapture: str | None = None) -> dict:
    methods: dict[str, EmbedFn] = {"raw_joints": raw_joints, "aligned_joints": aligned_joints, "joint_motion": joint_motion}
    for w in weights:
        enc = load_encoder(w, device=device)
        if enc.window_frames != LENGTH:
            raise SystemExit(f"error: {w} takes {enc.window_frames}-frame windows; this evaluation cuts {LENGTH}")
        methods[Path(w).stem] = enc.embed
    d = load_data(videos, nwucla, kg)
    offsets = np.round(np.arange(-4.0, 4.0 + 1e-9, 0.2), 2)
    mediapipe = list(d["ntu"].values()) + d["cams"]
    results = {name: {"multiview": multiview(fn, *d["cams"], tolerance, offsets), "record_once": record_once(fn, d["ntu"]),
                      "sensor_probe": sensor_probe(fn, mediapipe, d["kinect"]),
                      "cross_sensor": cross_sensor(fn, d["nwucla_v1"], d["ntu"]["pick up"])}
               for name, fn in methods.items()}
    views = {seq: multicamera.load_views(seq, totalcapture, LENGTH) for seq in SEQUENCES}
    eight = multicamera.score_sequences(methods, tolerance=tolerance, views=views)
    for name, fn in methods.items():
        results[name]["eight_camera"] = eight["results"].pop(name)
        results[name]["eight_camera_record_once"] = {seq: recognition(fn, v) for seq, v in views.items()}
    return {"protocol": "mediapipe", "weights": weights, "tolerance_s": tolerance, "window_s": 1.8, "stride_s": 0.2,
            "eight_camera": eight, "offsets_s": offsets.tolist(), "windows": {v.name: len(v.windows) for v in mediapipe},
            "kinect_windows": int(sum(len(k.windows) for k in d["kinect"])), "results": results}


def summary(report: dict) -> dict:
    """One line per method: the numbers the model card quotes."""
    return {m: {"eight_camera_top1": {k: round(100 * v["top1"], 1) for k, v in r["eight_camera"].items()},
                "eight_camera_top1_without_flipped": {k: round(100 * v["without_flipped"]["top1"], 1)
                                                      for k, v in r["eight_camera"].items() if k != "mean"},
                "eight_camera_record_once_top1": {k: round(100 * v["top1"], 1) for k, v in r["eight_camera_record_once"].items()},
                "multiview_top1": round(100 * r["multiview"]["top1_mean"], 1),
                "multiview_top5": round(100 * r["multiview"]["top5_mean"], 1),
                "record_once": round(100 * r["record_once"]["mean"], 1),
                "sensor_probe": round(100 * r["sensor_probe"]["accuracy"], 1),
                "cross_sensor_pick_up": round(100 * r["cross_sensor"]["pick_up_share"], 1)}
            for m, r in report["results"].items()}


def plot(report: dict, path: Path) -> None:
    plt = pyplot()
    fig, (ax, ax8) = plt.subplots(1, 2, figsize=(15, 5))
    multicamera.plot({m: r["eight_camera"] for m, r in report["results"].items()}, ax8)
    ax8.set_title("TotalCapture, 8 cameras, 4 sequences: top-1 against the angle between the cameras\n"
                  "(dots: directed camera pairs; lines: mean per 45\u00b0 bin)", fontsize=10)
    for name, r in report["results"].items():
        mv = r["multiview"]
        ax.plot(report["offsets_s"], mv["similarity_by_offset"], marker=".",
                label=f"{name} (top-1 {100 * mv['top1_mean']:.1f} %)")
    ax.axvspan(-report["tolerance_s"], report["tolerance_s"], color="0.9", zorder=0)
    ax.set_xlabel("time offset between the windows of the two cameras (s)")
    ax.set_ylabel("similarity (z-scored per method)")
    ax.set_title("Two-camera capture, 110.7\u00b0 apart (measurement only):\nsimilarity against time offset", fontsize=10)
    ax.legend(fontsize=8)
    save_figure(fig, path, dpi=100)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", nargs="*", default=["weights/focovil_app.pt", "weights/focovil_protocol.pt"])
    ap.add_argument("--videos", default=DEFAULT_VIDEOS)
    ap.add_argument("--data", default=DEFAULT_NWUCLA, help="NW-UCLA folder (Kinect side of the probes)")
    ap.add_argument("--kg", default=DEFAULT_KG, help="kinder_gator.npz (Kinect side of the sensor probe)")
    ap.add_argument("--totalcapture", default=None, help="TotalCapture MediaPipe folder (default ../shared/data/totalcapture_mediapipe)")
    ap.add_argument("--tolerance", type=float, default=0.4, help="seconds within which a match is the same instant")
    ap.add_argument("--json", help="write the full report here")
    ap.add_argument("--plot", help="PNG of similarity against time offset")
    a = ap.parse_args(argv)
    try:
        report = measure_on_mediapipe(a.weights, a.videos, a.data, a.kg, a.tolerance, totalcapture=a.totalcapture)
    except (EncoderFileError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    report["summary"] = summary(report)
    if a.json:
        atomic_text(a.json, json.dumps(report, indent=1))
    if a.plot:
        plot(report, Path(a.plot))
    print(json.dumps(report["summary"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
