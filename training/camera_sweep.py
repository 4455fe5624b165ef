"""Choose on camera skeletons: ``python -m focovil.training.camera_sweep --grid G --seeds 0,1,2``.

Every variant of the grid (a recipe plus flags, e.g. TotalCapture's camera pairs in the batch, a
fine-tuning start) is trained for each seed (``training.train`` in a subprocess; runs already done
are skipped, so an interrupted sweep resumes) and scored, with each of the grid's motion weights
(``Exported``), on TotalCapture's validation sequence only, which no run trains on:

* ``record_once``: 4-s stretches recorded from one camera, recognised live from the others (the
  app's task, ``training.camera_open_set.recognition``): what the grid's choice is made on;
* ``same_instant``: 8-camera same-instant top-1 over all 56 directed pairs, without the flipped
  camera's pairs, and on the flipped camera's pairs alone (``training.multicamera``).

The shipped app file, joint motion and view-aligned joints are scored in the same run. Writes
``OUT/camera_sweep.json`` (every seed, mean ± std) and ``OUT/camera_sweep.png``.
"""
from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from focovil.realtime.encoder import load_encoder
from focovil.realtime.files import atomic_text
from focovil.training import multicamera
from focovil.training.camera_open_set import recognition
from focovil.training.data.totalcapture import VALIDATION
from focovil.training.export import load_trained
from focovil.training.exported import Exported
from focovil.training.plots import pyplot, save_figure
from focovil.training.protocols import EmbedFn, aligned_joints, joint_motion, module_embed
from focovil.training.runner import flags_of, mean_std, run_parallel, train


def camera_scores(fn: EmbedFn, views: multicamera.SequenceViews) -> dict:
    s = multicamera.score(fn, views)
    flipped = [p["top1"] for k, p in s["pairs"].items() if set(map(int, k.split("->"))) & set(views.flipped_cameras)]
    return {"record_once": recognition(fn, views)["top1"], "same_instant": s["top1"],
            "same_instant_without_flipped": s["without_flipped"]["top1"],
            "same_instant_flipped_pairs": float(np.mean(flipped)) if flipped else float("nan")}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", required=True,
                    help='JSON {"recipe": path, "base": {flags}, "variants": {name: {flags}}, "motion_weights": [w, ...]}')
    ap.add_argument("--out", default="runs/camera")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--reference", default="weights/focovil_app.pt", help="encoder file scored beside the variants")
    a = ap.parse_args(argv)
    grid = json.loads(Path(a.grid).read_text())
    seeds, out = [int(s) for s in a.seeds.split(",")], Path(a.out)
    jobs = {(n, s): (out / n / f"s{s}", {**grid.get("base", {}), **f}) for n, f in grid["variants"].items() for s in seeds}
    models = run_parallel({key: partial(train, grid["recipe"], d, key[1], flags_of(f)) for key, (d, f) in jobs.items()},
                          a.jobs, "train")
    views = multicamera.load_views(VALIDATION)
    rows: dict[str, list[dict]] = {name: [camera_scores(fn, views)] for name, fn in (
        ("joint motion", joint_motion), ("aligned joints", aligned_joints),
        (f"reference {Path(a.reference).name}", load_encoder(a.reference, device="cpu").embed))}
    for (name, seed), path in tqdm(sorted(models.items()), desc="score", dynamic_ncols=True):
        enc, _ = load_trained(path)
        for w in grid.get("motion_weights", [0.0]):
            rows.setdefault(f"{name} + motion {w:g}", []).append(
                camera_scores(module_embed(Exported(enc, motion_weight=w).eval()), views))
    results = {n: mean_std(r) for n, r in rows.items()}
    trained = {n: r for n, r in results.items() if any(n.startswith(v + " + ") for v in grid["variants"])}
    best = max(trained, key=lambda n: trained[n]["record_once"]["mean"]) if trained else None
    report = {"grid": grid, "seeds": seeds, "validation_sequence": VALIDATION,
              "chosen_on": f"{VALIDATION}: record once, recognise live (mean over seeds)", "chosen": best,
              "results": results}
    atomic_text(out / "camera_sweep.json", json.dumps(report, indent=1))
    plot(report, out / "camera_sweep.png")
    print(json.dumps({"chosen": best, **{n: {k: round(100 * v["mean"], 1) for k, v in r.items()}
                                         for n, r in results.items()}}, indent=1))
    return 0


def plot(report: dict, path: Path) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 6))
    for name, r in report["results"].items():
        x, y = 100 * r["same_instant"]["mean"], 100 * r["record_once"]["mean"]
        ax.errorbar(x, y, xerr=100 * r["same_instant"]["std"], yerr=100 * r["record_once"]["std"], fmt="o", ms=4,
                    color="#c0392b" if name == report["chosen"] else "#2e86c1")
        ax.annotate(name, (x, y), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xlabel(f"same instant, 8 cameras, {report['validation_sequence']}: top-1 (%)")
    ax.set_ylabel(f"record once, recognise live, {report['validation_sequence']}: top-1 (%)")
    ax.set_title(f"Trained without {report['validation_sequence']}; mean ± std over seeds {report['seeds']} "
                 f"(red: chosen)", fontsize=10)
    ax.grid(alpha=0.3)
    save_figure(fig, path, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
