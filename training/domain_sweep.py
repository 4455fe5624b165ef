"""Choose on both domains: ``python -m focovil.training.domain_sweep --grid G --seeds 0,1,2``.

Every variant of the grid is trained on NW-UCLA's ``val`` protocol (``training.sweep``'s phase 1:
the same runs, cached) and scored on both sides of the product: Kinect (validation kNN-1, gallery
v01, queries v02 of subjects 6-10) and MediaPipe (``training.evaluate_mediapipe``: two-camera
instance retrieval on TotalCapture's validation sequence, 8 cameras: the number to choose on; the
two-camera capture's retrieval, reported only; sensor probe, cross-sensor matching), against raw and
view-aligned joints and the motion features alone in the same run. Each variant is also scored with the motion hybrid
(``--motion-weight``), as the app exports it. NW-UCLA v03 is never read here.

Writes ``OUT/domain_sweep.json`` and ``OUT/domain_sweep.png`` (validation kNN-1 against two-camera
top-1, one point per variant, the sensor probe's accuracy beside it).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from focovil.realtime.files import atomic_text
from focovil.training.plots import pyplot, save_figure
from focovil.training.config import DEFAULT_KG, DEFAULT_NWUCLA
from focovil.training.data.video_skeletons import DEFAULT_VIDEOS
from focovil.training.evaluate_mediapipe import cross_sensor, load_data, multiview, sensor_probe
from focovil.training import multicamera
from focovil.training.data.totalcapture import VALIDATION
from focovil.training.export import load_trained
from focovil.training.exported import Exported
from focovil.training.metrics import accuracy, knn1
from focovil.training.protocols import aligned_joints, joint_motion, module_embed, raw_joints
from focovil.training.runner import mean_std
from focovil.training.sweep import run_all


def mediapipe_scores(fn, d: dict, offsets: np.ndarray) -> dict:
    """``val8_top1`` (TotalCapture's validation sequence, 8 cameras) is the MediaPipe number to choose
    on; ``mv_top1`` (the two-camera capture) is reported only: it is measurement data."""
    mp = list(d["ntu"].values()) + d["cams"]
    return {"val8_top1": multicamera.score(fn, d["val8"])["top1"],
            "mv_top1": multiview(fn, *d["cams"], 0.4, offsets)["top1_mean"],
            "sensor_probe": sensor_probe(fn, mp, d["kinect"])["accuracy"],
            "cross_sensor": cross_sensor(fn, d["nwucla_v1"], d["ntu"]["pick up"])["pick_up_share"]}


def val_knn1(fn, e: dict, pair) -> float:
    from focovil.training.protocols import windows_of
    g, q = fn(windows_of(pair.gallery, 32)), fn(windows_of(pair.query, 32))
    return accuracy(knn1(g, e["yg"], q), e["yq"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", required=True, help='JSON {"base": {flags}, "variants": {name: {flags}}}')
    ap.add_argument("--out", default="runs/domain")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--motion-weight", type=float, default=0.3)
    ap.add_argument("--nwucla", default=DEFAULT_NWUCLA)
    ap.add_argument("--videos", default=DEFAULT_VIDEOS)
    ap.add_argument("--kg", default=DEFAULT_KG)
    a = ap.parse_args(argv)
    from focovil.training.data.splits import eval_pairs
    grid = json.loads(Path(a.grid).read_text())
    base, variants = grid.get("base", {}), grid["variants"]
    seeds = [int(s) for s in a.seeds.split(",")]
    out = Path(a.out)
    jobs = [((n, s), out / "val" / n / f"s{s}", "val", {**base, **f}, s) for n, f in variants.items() for s in seeds]
    val = run_all(jobs, a.jobs, "val", "cpu", a.nwucla)
    d = load_data(a.videos, a.nwucla, a.kg)
    d["val8"] = multicamera.load_views(VALIDATION)
    pair = eval_pairs("val", a.nwucla)[0]
    offsets = np.round(np.arange(-2.0, 2.0 + 1e-9, 0.2), 2)
    some = next(iter(val.values()))
    rows: dict = {name: [{"val_knn1": val_knn1(fn, some, pair), **mediapipe_scores(fn, d, offsets)}]
                  for name, fn in (("raw_joints", raw_joints), ("aligned_joints", aligned_joints), ("motion_only", joint_motion))}
    for (name, seed), e in sorted(val.items()):
        enc, _ = load_trained(out / "val" / name / f"s{seed}" / "model.pt")
        for suffix, module in (("", Exported(enc)), (f"+motion{a.motion_weight:g}", Exported(enc, motion_weight=a.motion_weight))):
            fn = module_embed(module.eval())
            rows.setdefault(name + suffix, []).append({"val_knn1": val_knn1(fn, e, pair), **mediapipe_scores(fn, d, offsets)})
    report = {"grid": grid, "seeds": seeds, "motion_weight": a.motion_weight,
              "results": {n: mean_std(r) for n, r in rows.items()}}
    atomic_text(out / "domain_sweep.json", json.dumps(report, indent=1))
    plot(report, out / "domain_sweep.png")
    print(json.dumps({n: {k: round(100 * v["mean"], 1) for k, v in r.items()} for n, r in report["results"].items()}, indent=1))
    return 0


def plot(report: dict, path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 6))
    for name, r in report["results"].items():
        x, y, p = 100 * r["val_knn1"]["mean"], 100 * r["val8_top1"]["mean"], 100 * r["sensor_probe"]["mean"]
        ax.scatter(x, y, s=30, c="#c0392b" if p > 75 else "#2e86c1")
        ax.annotate(f"{name} (probe {p:.0f} %)", (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel("Kinect: NW-UCLA validation kNN-1 (%)")
    ax.set_ylabel(f"MediaPipe: 8-camera instance retrieval top-1 on {VALIDATION} (%)")
    ax.set_title("Both domains (red: a linear probe tells the sensor apart, > 75 %)", fontsize=10)
    save_figure(fig, path, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
