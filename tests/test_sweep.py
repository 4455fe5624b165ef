"""The validation sweep chooses on the val split and only then trains and measures cross-view."""
import json
import shutil

import numpy as np

from focovil.training.sweep import main


# kNN-1 here is a share of 6 (val) or 12 (cross-view) queries, recounted from the same stored embeddings in float64:
# within half a query of 12 means the same number of queries named right, whatever rounding either side did.
HALF_A_QUERY = 0.5 / 12


def knn1_of(runs: list) -> float:
    """kNN-1 (cosine) of one run's cached embeddings, or of an ensemble's (concatenated unit vectors),
    recomputed here from ``emb.npz`` without the sweep's code."""
    z = [np.load(r / "emb.npz") for r in runs]
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)   # noqa: E731
    eg = np.concatenate([unit(e["eg"].astype(np.float64)) for e in z], 1)
    eq = np.concatenate([unit(e["eq"].astype(np.float64)) for e in z], 1)
    pred = z[0]["yg"][(eq @ eg.T).argmax(axis=1)]
    return float(np.mean(pred == z[0]["yq"]))


def test_sweep_chooses_on_validation_then_reports_cross_view(shared_dir, tmp_path):
    src, data = shared_dir / "data/nw-ucla/all_sqe", tmp_path / "nwucla"
    data.mkdir()
    for f in sorted(src.glob("a0[1-3]_s0[1267]_e00_v0[123].json")):
        shutil.copy(f, data)
    grid = {"base": {"steps": 4, "batch": 8, "eval_every": 4, "ckpt_every": 4},
            "variants": {"reference": {}, "limbs": {"limb_drift": 0.5}, "graph": {"arch": "stgcn", "width": 8}}}
    (tmp_path / "grid.json").write_text(json.dumps(grid))
    out = tmp_path / "sweep"
    assert main(["--grid", str(tmp_path / "grid.json"), "--out", str(out), "--nwucla", str(data), "--seeds", "0",
                 "--final-seeds", "0", "--jobs", "2", "--top", "2", "--probe-c", "0.1,10", "--device", "cpu"]) == 0
    rep = json.loads((out / "sweep.json").read_text())
    val = rep["val_single"]
    assert set(val) == {"reference", "limbs", "graph"}
    assert rep["chosen_single"] == max(val, key=lambda n: val[n]["knn1"]["mean"])
    # Only the chosen recipes (and the reference) were trained on v01+v02; nothing trained on v03.
    trained = {p.parent.name for p in (out / "cross-view").glob("*/s0")}
    assert trained == {rep["chosen_single"], "reference", *rep["chosen_ensemble"].split("+")}
    for cfg in (out / "cross-view").glob("*/s0/config.json"):
        assert json.loads(cfg.read_text())["protocol"] == "cross-view"
    assert set(rep["cross_view"]) == trained | {rep["chosen_ensemble"]}
    # The JSON's ranking is the validation ranking, and each choice is the best of what it ranked.
    means = [v["knn1"]["mean"] for v in val.values()]
    assert means == sorted(means, reverse=True) and rep["chosen_single"] == list(val)[0]
    ens = rep["val_ensembles"]
    (pair,) = ens                                       # --top 2, up to 2 members: the two best variants
    assert set(pair.split("+")) == set(list(val)[:2]) and rep["chosen_ensemble"] == pair
    assert abs(ens[pair]["knn1"]["mean"] - knn1_of([out / "val" / m / "s0" for m in pair.split("+")])) < HALF_A_QUERY
    for n, c in rep["chosen_c"].items():
        assert c == max((0.1, 10.0), key=lambda c: rep["val_probe"][n][f"linear_C{c:g}"]["mean"])
    # Every reported kNN-1 is what the written embeddings give (val: 6 queries of 3 actions, v02 of s06+s07).
    for n, r in val.items():
        z = np.load(out / "val" / n / "s0" / "emb.npz")
        assert sorted(z["yq"].tolist()) == [0, 0, 1, 1, 2, 2] and len(z["yg"]) == 12
        assert abs(r["knn1"]["mean"] - knn1_of([out / "val" / n / "s0"])) < HALF_A_QUERY
    for n in (rep["chosen_single"], "reference", rep["chosen_ensemble"]):
        got = knn1_of([out / "cross-view" / m / "s0" for m in n.split("+")])
        assert abs(rep["cross_view"][n]["knn1"]["mean"] - got) < HALF_A_QUERY
    # v03 (12 queries of 3 actions, chance 1/3): trained encoders are far above chance, even after 4 steps.
    z = np.load(out / "cross-view" / rep["chosen_single"] / "s0" / "emb.npz")
    assert len(z["yq"]) == 12 and len(z["yg"]) == 24 and set(z["yq"].tolist()) == {0, 1, 2}
    assert rep["cross_view"][rep["chosen_single"]]["knn1"]["mean"] >= 0.6
    assert rep["cross_view"]["reference"]["knn1"]["mean"] >= 0.6
