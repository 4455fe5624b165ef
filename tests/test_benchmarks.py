"""Every benchmark runs in the suite. ``--quick`` goes through the benchmark's own code on tiny inputs
(benchmarks/common.py: few iterations, the real clips cut short) in a real process and prints the
JSON its full run prints, with the keys the full run wrote (``docs/experiments/<name>.json`` where a
full run is kept); with no argument each runs in full or says in one line what it needs.

A benchmark added without an entry in ``CHECKS`` fails ``test_every_benchmark_has_a_quick_test``.
"""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HELPERS = {"stats.py", "common.py"}                  # imported by the benchmarks, not benchmarks themselves
DOCS = ROOT / "docs" / "experiments"
NEEDS_SHARED = {"faiss_scale", "open_set", "overlap", "pipeline_cost", "real_clips", "record_once", "spotting",
                "spotting_choice", "tracking"}
WRITES = {"gpu_check": "--json", "open_set": "--json", "overlap": "--json", "pipeline_cost": "--json",
          "real_clips": "--json", "soak": "--json", "spotting": "--json", "spotting_choice": "--json",
          "stream_latency": "--out", "tracking": "--json"}     # the option that writes the whole report


def full_keys(name: str) -> set[str]:
    """The top-level keys of the report a full run wrote (kept in docs/experiments; a quick run writes at
    least these: a report written before a key was added still holds)."""
    return set(json.loads((DOCS / f"{name}.json").read_text()))


def positive_times(p: dict) -> bool:
    return bool(p) and all(v > 0 for k, v in p.items() if k.startswith(("p50", "p95")))


def check_encoder_latency(out: dict, _report) -> None:
    assert set(out) == {"weights", "device", "torch_threads", "cpu", "window", "dim", "prototypes", "iters", "encode",
                        "search", "encode_plus_search"}
    assert out["iters"] == 20 and out["prototypes"] == 100 and out["window"] > 0 and out["dim"] > 0
    assert all(positive_times(out[k]) for k in ("encode", "search", "encode_plus_search"))


def check_faiss_scale(out: dict, _report) -> None:
    assert {"benchmark", "faiss", "queries", "k", "auto_threshold", "results"} <= set(out) and out["queries"] == 20
    assert [r["data"] for r in out["results"]] == ["real", "clustered", "uniform"]
    for r in out["results"]:
        assert r["n"] == 500 and r["flat"]["recall_at_10"] == 1.0 and r["flat"]["kind"] == "flat"   # exact is exact
        assert all(0 <= r[k]["recall_at_10"] <= 1 and r[k]["search_ms_p50"] > 0 for k in ("auto", "flat", "ivf"))


def check_gpu_check(out: dict, report: dict) -> None:
    assert out == report and set(out["checks"]) == {"encoder", "faiss", "pose", "end_to_end"}
    if not out["gpu"]:                                   # says "no GPU" and why, for each path
        assert out["message"].startswith("no GPU: ")
        assert all(not c["ran"] and c["why"] and c["why"] in out["message"] for c in out["checks"].values())
    else:                                                # every GPU path that ran gives the CPU path's answers
        assert all(c["equal"] for c in out["checks"].values() if c["ran"]), out["checks"]


def check_open_set(out: dict, report: dict) -> None:
    assert full_keys("open_set") <= set(report) and set(out) == {"nwucla", "kinder_gator", "mediapipe", "idle"}
    for data, methods in (("nwucla", {"protocol", "aligned_joints"}), ("mediapipe", {"app", "aligned_joints"})):
        assert set(report[data]) == methods and all(report[data][m]["n_splits"] == 3 for m in methods if data == "nwucla")
        assert all(0 <= out[data][m]["named_right"] <= 1 and 0 <= out[data][m]["rejected"] <= 1 for m in methods)
    assert report["idle"]["action_windows_min_m"] > 0


def check_overlap(out: dict, report: dict) -> None:
    assert out == report and full_keys("overlap") <= set(out) and len(out["cases"]) == 1      # the two-camera case
    for case in out["cases"].values():                                # 0.5 s at 25 fps
        assert 0 < case["off"]["frames"] == case["on"]["frames"] <= 12 and case["off"]["redetect_calls"] == 0
        assert case["off"]["pose_ms"]["p50"] > 0 and set(case["off"]["bins"]) == set(case["on"]["bins"])
    assert out["one_person"]["off"]["frames"] == 15 and out["one_person"]["on"]["tracks"] >= 1


def check_pipeline_cost(out: dict, report: dict) -> None:
    assert set(out) == {"recommendation", "left_out"} and full_keys("pipeline_cost") <= set(report)
    assert (out["recommendation"]["pose_model"], out["recommendation"]["pose_fps"]) == ("full", 0.0)
    (cell,) = report["cells"]                                          # the full model, every frame, 1 person
    assert cell["cost"]["cpu_s"] > cell["cost"]["startup_cpu_s"] > 0 and cell["cost"]["frames_posed"] > 0
    assert positive_times(cell["latency"]["frame_to_label_ms"]) and cell["cost_vs_today"] == 1.0
    assert cell["accuracy"]["record_once_query_windows"]["falling cam2"] > 0
    assert set(report["clips"]) == {"one_person", "two_people", "two_people_short", "startup"}


def check_pipeline_latency(out: dict, _report) -> None:
    assert {"video", "frames", "encoder", "device", "pose_ms", "encode_ms", "search_ms", "overhead_ms",
            "overhead_ratio_of_pose_p50", "frame_to_label_ms"} <= set(out)
    assert out["frames"] == out["pose_ms"]["n"] == 103                 # one pass over the demo clip
    assert out["encode_ms"]["n"] > 0 and positive_times(out["frame_to_label_ms"])


def check_real_clips(out: dict, report: dict) -> None:
    assert full_keys("real_clips") <= set(report) and list(report["settings"]) == list(out) == ["default"]
    setting = report["settings"]["default"]
    assert set(setting) == {"encoder", "strictness", "threshold", "clips", "target"} and setting["threshold"] > 0
    assert setting["clips"]["fall, camera 2"]["windows"] > 0 and len(setting["clips"]) == 6
    assert set(out["default"]) == {"threshold", "clips", *setting["target"]}


def check_record_once(out: dict, _report) -> None:
    assert set(out) == {"protocol", "results"} and len(out["results"]) == 3       # the baseline and both files
    for r in out["results"]:
        assert r["prototypes"] > 0 and r["queries"] > 0 and 0 < r["accuracy"] <= 1 and r["index"] == "flat"


def check_soak(out: dict, report: dict) -> None:
    assert full_keys("soak") <= set(report) and set(out) == set(report) - {"samples"}
    assert out["mode"] == "loop" and len(report["samples"]) == 3
    assert all(s["frames"] > 0 and s["rss_mib"] > 0 and s["frame_ms"]["p50"] > 0 for s in report["samples"])


def check_spotting(out: dict, report: dict) -> None:
    assert full_keys("spotting") <= set(report) and set(out) <= set(report)
    assert [p["label"] for p in report["video"]] == [None, "falling"] and report["windows"] > 0
    assert 0 <= out["precision"] <= 1 and 0 <= out["recall"] <= 1


def check_spotting_choice(out: dict, report: dict) -> None:
    assert full_keys("spotting_choice") <= set(report) and set(out) <= set(report)
    assert report["streams"]["choose"] > 0 and report["streams"]["check"] > 0 and out["choose_split"]["true"] > 0
    assert len(report["grid"]) == 42 and set(out["chosen"]) == set(report["shipped_defaults"])


def check_stream_latency(out: dict, report: dict) -> None:
    assert out == report and full_keys("stream_latency") <= set(out)
    assert out["results"] > 0 and out["received_by_reader"] > 0 and positive_times(out["frame_to_client_ms"])
    assert out["flood"]["messages"] == 2000 and out["vanished"]["clients_with_the_vanishing_one"] >= 2


def check_tracking(out: dict, report: dict) -> None:
    full = json.loads((DOCS / "tracking.json").read_text())
    assert out == report and set(out) <= set(full) and len(out) == 2   # the first clip and side-by-side pair
    for name, rows in out.items():
        assert [r["persons"] for r in rows] == [1, 2]
        assert all(set(full[name][0]) <= set(r) and r["frames"] > 0 and r["pose_ms"]["p50"] > 0 for r in rows)


CHECKS = {name[len("check_"):]: fn for name, fn in globals().items() if name.startswith("check_")}


def test_every_benchmark_has_a_quick_test():
    files = {p.stem for p in (ROOT / "benchmarks").glob("*.py") if p.name not in HELPERS}
    assert files == set(CHECKS), "a benchmark without a check here (or a check without its benchmark)"
    assert NEEDS_SHARED <= files and set(WRITES) <= files


@pytest.mark.parametrize("name", sorted(CHECKS))       # open_set first: it caches the cut clips' skeletons for the others
def test_quick_run_prints_the_json_of_a_full_run(name, tmp_path, request):
    """A real process, the environment passed through; a benchmark that needs no shared data is given
    a shared folder without any, so it shows it needs none."""
    env = dict(os.environ)
    if name in NEEDS_SHARED:
        request.getfixturevalue("shared_dir")            # skips without the data (CI: fails)
    else:
        env["FOCOVIL_SHARED"] = str(tmp_path / "no_shared_data")
    report = tmp_path / "report.json"
    cmd = [sys.executable, f"benchmarks/{name}.py", "--quick", *([WRITES[name], str(report)] if name in WRITES else [])]
    shipped = (ROOT / "weights/default_library.sqlite3").read_bytes()
    r = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (ROOT / "weights/default_library.sqlite3").read_bytes() == shipped        # never changes a shipped file
    CHECKS[name](json.loads(r.stdout), json.loads(report.read_text()) if name in WRITES else None)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_with_no_argument_it_runs_in_full_or_says_in_one_line_what_it_needs(name, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FOCOVIL_SHARED", str(tmp_path))              # a shared folder without the data
    module = importlib.import_module(f"benchmarks.{name}")
    module.parser().parse_args([])                                    # nothing required: no argument is the full run
    if name not in NEEDS_SHARED:
        return                                                        # its quick run above needed no shared data
    monkeypatch.setattr(sys, "argv", [f"benchmarks/{name}.py"])
    with pytest.raises(SystemExit) as e:
        module.main([])
    err = capsys.readouterr().err.strip()
    assert e.value.code == 2 and len(err.splitlines()) == 1, err
    assert err.startswith(f"{name}.py: needs ") and str(tmp_path) in err and "FOCOVIL_SHARED" in err
