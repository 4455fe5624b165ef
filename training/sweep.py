"""Choose a recipe on the validation split, then measure it cross-view: ``python -m focovil.training.sweep``.

Phase 1 trains every variant of ``--grid`` on the ``val`` protocol (encoder sees v01 and v02 of
subjects 1-5; gallery v01, queries v02 of subjects 6-10) for each of ``--seeds`` and scores kNN-1.
Phase 2 scores ensembles of up to ``--members`` of the best variants (concatenated unit
embeddings, e.g. a joint and a bone stream) on the same split, and the linear probe's
regularisation ``C`` for the best single variant and ensemble. Phase 3 takes those, chosen by
validation alone, trains them on v01+v02 for each of ``--final-seeds`` and reports kNN-1 and the
linear probe (at the validation-chosen ``C`` and at the evaluator's default) on v03, with the grid's
``reference`` variant beside them.

Every choice is made before view 3 is read; the v03 numbers only report. Runs ``--jobs`` trainings at
once (one thread each; on a GPU machine they share the GPU) and skips runs already done, so an
interrupted sweep resumes.
"""
from __future__ import annotations

import argparse
import itertools
import json
import sys
from functools import partial
from pathlib import Path

import numpy as np
import torch

from focovil.realtime.files import atomic_text, atomic_write
from focovil.training.plots import pyplot, save_figure
from focovil.training.config import DEFAULT_NWUCLA
from focovil.training.data import ClipBank
from focovil.training.data.splits import eval_pairs
from focovil.training.export import load_trained
from focovil.training.metrics import PROBE_C, accuracy, embed, knn1, linear_probe
from focovil.training.runner import flags_of, mean_std, run_parallel, train

RECIPE = Path(__file__).resolve().parent / "recipes" / "protocol.json"


def train_and_embed(out: Path, protocol: str, flags: dict, seed: int, nwucla: str, device: str) -> dict:
    """Train one run (unless done) and embed its protocol's gallery and queries (cached in ``emb.npz``)."""
    emb = out / "emb.npz"
    if emb.exists():
        z = np.load(emb)
        return {k: z[k] for k in z.files}
    enc, state = load_trained(train(RECIPE, out, seed, ["--protocol", protocol, "--nwucla", nwucla, *flags_of(flags)]))
    enc = enc.to(device)
    window = int(state["config"]["window"])
    pair = eval_pairs(protocol, nwucla)[0]
    res = {"eg": embed(enc, ClipBank(pair.gallery).full(window), device=device),
           "eq": embed(enc, ClipBank(pair.query).full(window), device=device),
           "yg": np.array([c.label for c in pair.gallery]), "yq": np.array([c.label for c in pair.query])}
    atomic_write(emb, lambda tmp: np.savez(tmp, **res), suffix=".npz")
    return res


def _join(parts: list[dict]) -> dict:
    """Ensemble: concatenated unit embeddings (cosine = mean of the members' cosines)."""
    return {**parts[0], "eg": np.concatenate([p["eg"] for p in parts], 1), "eq": np.concatenate([p["eq"] for p in parts], 1)}


def scores(e: dict, probe_c: tuple[float, ...] = ()) -> dict:
    out = {"knn1": accuracy(knn1(e["eg"], e["yg"], e["eq"]), e["yq"])}
    for c in probe_c:
        out[f"linear_C{c:g}"] = accuracy(linear_probe(e["eg"], e["yg"], e["eq"], c=c), e["yq"])
    return out


def run_all(jobs: list[tuple], n_jobs: int, desc: str, device: str, nwucla: str) -> dict:
    """``jobs``: (key, out, protocol, flags, seed) -> {key: embeddings} (a failed run is left out)."""
    return run_parallel({key: partial(train_and_embed, out, proto, flags, seed, nwucla, device)
                         for key, out, proto, flags, seed in jobs}, n_jobs, desc)


def plot(report: dict, png: str | Path) -> None:
    """Validation kNN-1 of every variant (seeds as dots) and the cross-view results of the chosen ones."""
    plt = pyplot()
    val, cv = report["val_single"], report.get("cross_view", {})
    fig, axes = plt.subplots(1, 2 if cv else 1, figsize=(13 if cv else 7, 0.32 * len(val) + 1.6), squeeze=False)
    ax = axes[0, 0]
    names = list(val)[::-1]
    ax.barh(range(len(names)), [100 * val[n]["knn1"]["mean"] for n in names], color="#9bb8d8")
    for i, n in enumerate(names):
        ax.plot([100 * v for v in val[n]["knn1"]["seeds"]], [i] * len(val[n]["knn1"]["seeds"]), "k.", ms=4)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    lo = min(min(v["knn1"]["seeds"]) for v in val.values())
    ax.set_xlim(100 * lo - 3, None)
    ax.set_xlabel("kNN-1 (%), validation: gallery v01, queries v02 of subjects 6-10")
    ax.set_title(f"validation, {len(report['seeds'])} seeds (bar = mean)")
    if cv:
        ax = axes[0, 1]
        names = list(cv)
        metrics = sorted({k for r in cv.values() for k in r})
        w = 0.8 / len(metrics)
        for j, m in enumerate(metrics):
            xs = [i + j * w for i, n in enumerate(names) if m in cv[n]]
            ys = [100 * cv[n][m]["mean"] for n in names if m in cv[n]]
            es = [100 * cv[n][m]["std"] for n in names if m in cv[n]]
            ax.bar(xs, ys, w, yerr=es, label=m, capsize=2)
        ax.set_xticks([i + 0.4 - w / 2 for i in range(len(names))], [n.replace("+", "+\n") for n in names], fontsize=7)
        ax.set_ylim(70, 95)
        ax.axhline(90, color="grey", lw=0.8, ls="--")
        ax.set_ylabel("accuracy (%) on v03, mean +- std over seeds")
        ax.set_title("v03 cross-view (trained on v01+v02), recipes chosen on validation", fontsize=10)
        ax.legend(fontsize=8)
    save_figure(fig, png, dpi=100)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--grid", required=True, help='JSON {"base": {flags}, "variants": {name: {flags}}}')
    ap.add_argument("--out", default="runs/sweep")
    ap.add_argument("--nwucla", default=DEFAULT_NWUCLA)
    ap.add_argument("--seeds", default="0,1")
    ap.add_argument("--final-seeds", default="0,1,2")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--top", type=int, default=6, help="best variants whose combinations are tried as ensembles")
    ap.add_argument("--members", type=int, default=2, help="largest ensemble tried")
    ap.add_argument("--probe-c", default="0.01,0.1,1,10", help="linear-probe C values tried on validation")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    a = ap.parse_args(argv)
    grid = json.loads(Path(a.grid).read_text())
    base, variants = grid.get("base", {}), grid["variants"]
    seeds = [int(s) for s in a.seeds.split(",")]
    out = Path(a.out)

    # Phase 1: every variant on the validation split.
    jobs = [((name, s), out / "val" / name / f"s{s}", "val", {**base, **flags}, s)
            for name, flags in variants.items() for s in seeds]
    val = run_all(jobs, a.jobs, "val", a.device, a.nwucla)
    single = {n: mean_std([scores(val[(n, s)]) for s in seeds])
              for n in variants if all((n, s) in val for s in seeds)}
    ranked = sorted(single, key=lambda n: -single[n]["knn1"]["mean"])
    # Phase 2: ensembles of the best variants and the probe's C, same split.
    ens = {"+".join(m): mean_std([scores(_join([val[(n, s)] for n in m])) for s in seeds])
           for k in range(2, a.members + 1) for m in itertools.combinations(ranked[: a.top], k)}
    best_single = ranked[0]
    best_ens = max(ens, key=lambda n: ens[n]["knn1"]["mean"]) if ens else None
    cs = tuple(float(c) for c in a.probe_c.split(","))
    probe = {n: mean_std([scores(_join([val[(m, s)] for m in n.split("+")]), cs) for s in seeds])
             for n in filter(None, (best_single, best_ens))}
    chosen_c = {n: max(cs, key=lambda c: r[f"linear_C{c:g}"]["mean"]) for n, r in probe.items()}
    report = {"grid": grid, "seeds": seeds, "val_single": {n: single[n] for n in ranked},
              "val_ensembles": dict(sorted(ens.items(), key=lambda kv: -kv[1]["knn1"]["mean"])),
              "val_probe": probe, "chosen_single": best_single, "chosen_ensemble": best_ens, "chosen_c": chosen_c}
    atomic_text(out / "sweep.json", json.dumps(report, indent=1))
    print(json.dumps({"val_top": {n: round(single[n]["knn1"]["mean"], 4) for n in ranked[:10]},
                      "val_ens_top": {n: round(v["knn1"]["mean"], 4) for n, v in list(report["val_ensembles"].items())[:5]},
                      "val_probe": {n: {k: round(v["mean"], 4) for k, v in r.items()} for n, r in probe.items()}}))

    # Phase 3: the chosen recipes (and the reference), trained on v01+v02, measured on v03.
    fseeds = [int(s) for s in a.final_seeds.split(",")]
    members = {best_single, *(best_ens.split("+") if best_ens else [])} | ({"reference"} if "reference" in variants else set())
    jobs = [((n, s), out / "cross-view" / n / f"s{s}", "cross-view", {**base, **variants[n]}, s)
            for n in sorted(members) for s in fseeds]
    cv = run_all(jobs, a.jobs, "cross-view", a.device, a.nwucla)
    final = {}
    for n in sorted(members | set(filter(None, (best_ens,)))):
        c = chosen_c.get(n, PROBE_C)
        final[n] = mean_std([scores(_join([cv[(m, s)] for m in n.split("+")]), tuple(sorted({c, PROBE_C}))) for s in fseeds])
    report["cross_view"] = final
    atomic_text(out / "sweep.json", json.dumps(report, indent=1))
    plot(report, out / "sweep.png")
    print(json.dumps({n: {k: f"{100 * v['mean']:.1f} +- {100 * v['std']:.1f}" for k, v in r.items()} for n, r in final.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
