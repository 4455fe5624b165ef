"""The validation sweep chooses on the val split and only then trains and measures cross-view."""
import json
import shutil

from training.sweep import main


def test_sweep_chooses_on_validation_then_reports_cross_view(shared_dir, tmp_path):
    src, data = shared_dir / "data/nw-ucla/all_sqe", tmp_path / "nwucla"
    data.mkdir()
    for f in sorted(src.glob("a0[1-3]_s0[1267]_e00_v0[123].json")):
        shutil.copy(f, data)
    grid = {"base": {"steps": 4, "batch": 8, "eval_every": 4, "ckpt_every": 4},
            "variants": {"reference": {}, "limbs": {"limb_noise": 0.5}, "graph": {"arch": "stgcn", "width": 8}}}
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
    assert 0.0 <= rep["cross_view"][rep["chosen_single"]]["knn1"]["mean"] <= 1.0
