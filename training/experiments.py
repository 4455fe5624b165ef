"""Multi-seed experiments behind the model card: ``python -m focovil.training.experiments ablation|novel``.

* ``ablation``: the chosen FoCoViL recipe and one change at a time (no alignment, no focalization,
  no multi-view pairs, the other encoder family; or added: MediaPipe camera pairs), each trained on NW-UCLA v01+v02 with every seed
  and measured cross-view on v03. Writes ``OUT/ablation.json`` and a markdown table (mean +- std).
* ``novel``: the app recipe (NW-UCLA + Kinder-Gator) trained with some NW-UCLA actions and some
  Kinder-Gator motions held out, measured on exactly those (one-shot and kNN-1), against
  view-aligned raw joints in the same run.

Runs ``--jobs`` trainings at once (each single-threaded), skipping runs whose results exist, so an
interrupted experiment resumes where it stopped.
"""
from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

import numpy as np

from focovil.realtime.files import atomic_text
from focovil.training.config import DEFAULT_KG, DEFAULT_TOTALCAPTURE
from focovil.training.protocols import NOVEL_KG_MOTIONS, NOVEL_NWUCLA_LABELS
from focovil.training.runner import run_logged, run_parallel, train

RECIPE = Path(__file__).resolve().parent / "recipes"
ABLATIONS = {
    "focovil": [],
    "no_alignment": ["--align", "false"],
    "no_focalization": ["--gamma", "0", "--beta", "0"],
    "no_multiview_pairs": ["--multiview", "false"],
    "gru_encoder": ["--arch", "gru"],
    # MediaPipe camera pairs (TotalCapture's training sequences, half of each batch), levelled: the
    # camera recipe chosen on freestyle3 (training.camera_sweep), here measured on Kinect
    "camera_pairs": ["--totalcapture", DEFAULT_TOTALCAPTURE, "--totalcapture-share", "0.5", "--align-level", "true"],
}
HYBRID_WEIGHTS = (0.3, 0.5)
MOTION_WEIGHTS = (0.3,)


def train_export_eval(out: Path, flags: list[str], protocols: list[str], seed: int,
                      exports: dict[str, list[str]] | None = None) -> dict:
    """Train (unless done), export each way in ``exports``, evaluate; returns {protocol: {method: metrics}}.

    The baselines appear once; each export's encoder row is named after the export.
    """
    res_file = out / "results.json"
    if res_file.exists():
        return json.loads(res_file.read_text())
    train(RECIPE / "protocol.json", out, seed, flags)
    py = sys.executable
    results: dict = {}
    for name, extra in (exports or {"encoder": []}).items():
        weights = out / f"{name}.pt"
        run_logged([py, "-m", "focovil.training.export", "--run", str(out), "--out", str(weights), *extra], out / f"export_{name}.log")
        for p in protocols:
            rep_file = out / f"eval_{p}_{name}.json"
            run_logged([py, "-m", "focovil.training.evaluate", "--weights", str(weights), "--protocol", p,
                  "--json", str(rep_file), "--device", "cpu"], out / f"eval_{p}_{name}.log")
            rep = json.loads(rep_file.read_text())
            for m, r in rep["results"].items():
                results.setdefault(p, {})[name if m == "encoder" else m] = {
                    k: r[k] for k in ("knn1", "linear", "one_shot") if k in r}
    atomic_text(res_file, json.dumps(results, indent=1))
    return results


def aggregate(runs: dict[str, list[dict]]) -> dict:
    """{variant: [per-seed {protocol: {method: {metric: v}}}]} -> mean/std per variant/protocol/method/metric."""
    table: dict = {}
    for variant, seeds in runs.items():
        for proto in seeds[0]:
            for method in seeds[0][proto]:
                for metric in seeds[0][proto][method]:
                    vals = [s[proto][method][metric] for s in seeds]
                    table.setdefault(variant, {}).setdefault(proto, {}).setdefault(method, {})[metric] = {
                        "mean": float(np.mean(vals)), "std": float(np.std(vals)), "seeds": vals}
    return table


def markdown(table: dict, proto: str, methods: tuple[str, ...] = ("encoder",)) -> str:
    rows = ["| variant | method | kNN-1 | linear | one-shot |",
            "|---|---|---|---|---|"]
    for variant, protos in table.items():
        for method in methods:
            if method not in protos.get(proto, {}):
                continue
            r = protos[proto][method]
            cells = [f"{100 * r[k]['mean']:.1f} ± {100 * r[k]['std']:.1f}" if k in r else "–" for k in ("knn1", "linear", "one_shot")]
            rows.append(f"| {variant} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("experiment", choices=("ablation", "novel"))
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="runs/experiments")
    ap.add_argument("--variants", nargs="*", help="subset of the ablation variants")
    a = ap.parse_args(argv)
    out = Path(a.out) / a.experiment
    if a.experiment == "ablation":
        variants = {k: v for k, v in ABLATIONS.items() if not a.variants or k in a.variants}
        protocols = ["cross-view"]
        exports = {"encoder": []}
    else:
        variants = {"app_recipe_heldout": ["--kinder-gator", DEFAULT_KG,
                                           "--exclude-labels", ",".join(map(str, NOVEL_NWUCLA_LABELS)),
                                           "--exclude-motions", ",".join(NOVEL_KG_MOTIONS)]}
        protocols = ["novel-nwucla", "novel-kg"]
        exports = {"encoder": [], **{f"hybrid_w{w}": ["--pca-weight", str(w)] for w in HYBRID_WEIGHTS},
                   **{f"motion_w{w}": ["--motion-weight", str(w)] for w in MOTION_WEIGHTS}}
    done = run_parallel({(v, s): partial(train_export_eval, out / f"{v}_s{s}", variants[v], protocols, s, exports)
                         for v in variants for s in a.seeds}, a.jobs, a.experiment, strict=True)
    runs: dict[str, list[dict]] = {v: [r for (w, _), r in done.items() if w == v] for v in variants}
    table = aggregate(runs)
    atomic_text(out / f"{a.experiment}.json", json.dumps(table, indent=1))
    methods = tuple(exports) + ("aligned_joints", "raw_joints")
    md = "\n\n".join(f"### {p}\n\n" + markdown(table, p, methods if a.experiment == "novel" else ("encoder",)) for p in protocols)
    atomic_text(out / f"{a.experiment}.md", md + "\n")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
