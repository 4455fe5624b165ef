"""Cost of the live pipeline: CPU per second of video for each pose model, pose rate and people looked for, beside accuracy.

Every cell (pose model x pose rate ``--pose-fps`` x people looked for ``--persons``) runs the app itself as a
child process, ``main.py --headless --video CLIP --pose-model M --pose-fps R --persons P`` on a temporary
copy of the shipped library with the shipped encoder, and its CPU time (user + sys, ``getrusage`` of the
children) is divided by the clip's duration, after subtracting the start-up cost: the same command on the
first 10 frames of the demo clip (written at run time), measured per cell. Clips: the 32-s two-camera
capture ``multiview_lightstage/cam5.mp4`` (one person, 1024x1024, 25 fps) for 1 person; for more, two real
people side by side (``training/data/side_by_side.py``: cam5 beside cam21, 32 s, 25 fps). Frame-to-label
latency p50/p95 comes from the app's loop in this process with the same settings (``benchmarks/tracking.py``
``run``: pose + overhead + encode + search of the frames that complete a window; decoding is not in it).

Accuracy with each model and rate (1 person), through the app's video path (``training.data.video_skeletons``
skeletons made with that model and rate, cached): ``record_once`` (falling recorded from NTU camera 1 of
performer 6, recognised on camera 2 and on performer 7: share of windows named "falling", kNN-1,
``training.evaluate_mediapipe.record_once``); ``lightstage_top1`` (the two-camera capture's cross-view
retrieval, ``evaluate_mediapipe.multiview``); ``open_set_named_right`` / ``open_set_rejected`` (the real-clip
open set at the default strictness, ``benchmarks/open_set.py``). With 2 people: id switches and the share of
frames where both people were found on the side-by-side clips (``benchmarks/tracking.py``).

"Today" = the full model, every frame, 1 person: costs are ratios to it, accuracies differences (points).

``python benchmarks/pipeline_cost.py --models lite full heavy=/tmp/posemodels/pose_landmarker_heavy.task
--json docs/experiments/pipeline_cost.json --plot docs/experiments/pipeline_cost.png`` (default: lite and full,
the shipped models); ``--quick``: the full model on every frame, 1 person, each clip's first 3.5 s.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks import open_set  # noqa: E402
from benchmarks.common import QUICK_CLIP_S, add_quick, first_frames, need, refuse, shared_default, short_videos, video_info  # noqa: E402
from benchmarks.tracking import run as track_run  # noqa: E402
from focovil.realtime.encoder import load_encoder  # noqa: E402
from focovil.realtime.files import atomic_text  # noqa: E402
from focovil.realtime.paths import DEFAULT_ENCODER, DEMO_CLIP, SHIPPED_LIBRARY, pose_model_path  # noqa: E402
from focovil.training import evaluate_mediapipe as em  # noqa: E402
from focovil.training.data import video_skeletons  # noqa: E402
from focovil.training.data.side_by_side import FALL_AND_DRINK, LIGHTSTAGE, two_person_clip  # noqa: E402
from focovil.training.plots import pyplot, save_figure  # noqa: E402

ONE_PERSON = video_skeletons.LIGHTSTAGE[0]                    # multiview_lightstage/cam5.mp4
TODAY = ("full", 0.0, 1)
METRICS = ("record_once", "lightstage_top1", "open_set_named_right", "open_set_rejected")
POINTS = 2.0                                     # "as accurate as today": no metric more than this below it
LATENCY = ("frame_to_label_ms", "pose_ms", "overhead_ms")     # from benchmarks/tracking.py's run
OFFSETS = np.round(np.arange(-4.0, 4.0 + 1e-9, 0.2), 2)


def child_cpu(args: list[str]) -> tuple[float, dict]:
    """CPU seconds (user + sys) of one ``main.py`` run, and its summary line."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), *args], cwd=ROOT, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode:
        raise RuntimeError(f"main.py {' '.join(args)} failed: {proc.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, json.loads(proc.stdout.strip().splitlines()[-1])


def cost(spec: str, rate: float, persons: int, clip: Path, startup: Path, work: Path) -> dict:
    lib = work / "lib.sqlite3"
    shutil.copyfile(SHIPPED_LIBRARY, lib)
    opts = ["--headless", "--pose-model", spec, "--pose-fps", f"{rate:g}", "--persons", str(persons),
            "--library", str(lib), "--encoder", str(DEFAULT_ENCODER), "--out", str(work / "x.jsonl")]
    start, _ = child_cpu(["--video", str(startup), *opts])
    total, summary = child_cpu(["--video", str(clip), *opts])
    seconds = video_info(clip)["seconds"]
    return {"cpu_s": round(total, 3), "startup_cpu_s": round(start, 3), "seconds_of_video": seconds,
            "cpu_s_per_s": round((total - start) / seconds, 4), "frames_posed": summary.get("frames"),
            "pose_ms_p50_child": summary.get("pose_ms_p50"), "windows": summary.get("windows")}


def accuracy(spec: str, rate: float, embed, table: dict, videos: Path) -> dict:
    def win(rel: str, name: str):
        return video_skeletons.stream_windows(name, *video_skeletons.skeletons(videos / rel, pose_model=spec, pose_fps=rate), em.LENGTH)
    ntu = {name: win(rel, name) for name, (rel, *_rest) in video_skeletons.NTU.items()}
    ro = em.record_once(embed, ntu)
    mv = em.multiview(embed, *(win(rel, Path(rel).stem) for rel in video_skeletons.LIGHTSTAGE), 0.4, OFFSETS)
    op = open_set.mediapipe(embed, table, str(videos), pose_model=spec, pose_fps=rate)["at_default"]
    return {"record_once": round(100 * ro["mean"], 1), "lightstage_top1": round(100 * mv["top1_mean"], 1),
            "open_set_named_right": round(100 * op["named_right"], 1), "open_set_rejected": round(100 * op["rejected"], 1),
            "lightstage_top5": round(100 * mv["top5_mean"], 1),
            "record_once_by_query": {q: round(100 * v, 1) for q, v in ro.items() if q != "mean"},
            "record_once_query_windows": {q: len(ntu[q].windows) for q in ("falling cam2", "falling P007")}}


def tracking(runs: dict[str, dict]) -> dict:
    return {name: {"true_id_switches": r["true_id_switches"], "frames": r["frames"],
                   "both_found_share": round(100 * r["frames_both_found"] / max(r["frames"], 1), 1),
                   "both_found_every_frame": r["frames_both_found"] == r["frames"]} for name, r in runs.items()}


def recommend(cells: list[dict], today: dict) -> dict:
    ok = [c for c in cells if c["persons"] == 1 and c.get("clip") == "one_person"
          and all(c["accuracy_vs_today"][m] >= -POINTS for m in METRICS)]
    best = min(ok, key=lambda c: c["cost"]["cpu_s_per_s"])
    return {"rule": f"the cheapest 1-person setting with no accuracy number ({', '.join(METRICS)}) more than "
                    f"{POINTS:g} points below today's", "pose_model": best["model"], "pose_fps": best["pose_fps"],
            "cpu_s_per_s": best["cost"]["cpu_s_per_s"], "cost_vs_today": best["cost_vs_today"],
            "accuracy_vs_today": best["accuracy_vs_today"],
            "qualifying": [(c["model"], c["pose_fps"]) for c in ok], "today_cpu_s_per_s": today["cost"]["cpu_s_per_s"]}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", nargs="+", default=["lite", "full"], help="NAME or NAME=FILE.task (heavy=FILE: not shipped)")
    ap.add_argument("--rates", type=float, nargs="+", default=[0.0, 15.0, 10.0], help="pose fps (0: every frame)")
    ap.add_argument("--persons", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--reduced", type=int, nargs="*", default=[4],
                    help="people counts run only for the full model (every rate) and the recommended setting")
    ap.add_argument("--videos", default=shared_default("data/videos"))
    ap.add_argument("--json")
    ap.add_argument("--plot")
    ap.add_argument("--replot", metavar="JSON", help="only draw --plot again from a report this wrote")
    add_quick(ap, f"the full model on every frame, 1 person, clips cut to {QUICK_CLIP_S:g} s")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    if a.replot:
        return plot(json.loads(Path(a.replot).read_text()), Path(a.plot or refuse("--replot needs --plot"))) or 0
    if a.quick:
        a.models, a.rates, a.persons = ["full"], [0.0], [1]
    models = dict(m.split("=", 1) if "=" in m else (m, m) for m in a.models)
    load0 = [round(x, 2) for x in os.getloadavg()]          # other work on the machine skews latency, less so CPU time
    try:                                                     # fail now, not after an hour
        for spec in models.values():
            need(pose_model_path(spec), what=f"the pose model {spec}")
    except FileNotFoundError as e:
        refuse(str(e))
    need(a.videos, what="the real clips")
    videos, rates = Path(a.videos), [float(r) for r in a.rates]
    enc = load_encoder(DEFAULT_ENCODER, device="cpu")
    table = enc.meta.metrics["strictness"]
    cells: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if a.quick:
            videos = short_videos(videos, [ONE_PERSON, *video_skeletons.LIGHTSTAGE, *(r for r, *_ in video_skeletons.NTU.values()),
                                           *open_set.PARTIAL, *(c[s][0] for c in (LIGHTSTAGE, FALL_AND_DRINK) for s in ("left", "right"))],
                                  work / "short", QUICK_CLIP_S)
        startup = first_frames(DEMO_CLIP, work / "startup.avi", 10)
        clips = {"one_person": videos / ONE_PERSON,
                 "two_people": two_person_clip(videos, LIGHTSTAGE, work / "two_people.avi"),
                 "two_people_short": two_person_clip(videos, FALL_AND_DRINK, work / "two_people_short.avi")}
        info = {name: video_info(clip) for name, clip in clips.items()}
        lib = work / "latency.sqlite3"
        shutil.copyfile(SHIPPED_LIBRARY, lib)
        acc = {(m, r): accuracy(spec, r, enc.embed, table, videos)
               for m, spec in tqdm(models.items(), desc="accuracy") for r in rates}

        def measure(m: str, r: float, p: int, clip: str = "") -> dict:
            clip = clip or ("one_person" if p == 1 else "two_people")
            cell = {"model": m, "pose_fps": r, "persons": p, "clip": clip,
                    "cost": cost(models[m], r, p, clips[clip], startup, work)}
            if clip == "one_person":
                r1 = track_run(clips[clip], p, work, pose_model=models[m], pose_fps=r, library=lib)
                cell["latency"] = {k: r1[k] for k in LATENCY}
                cell["accuracy"] = acc[(m, r)]
            elif p > 1:
                runs = {name: track_run(clips[name], p, work, sides=True, pose_model=models[m], pose_fps=r, library=lib)
                        for name in ("two_people", "two_people_short")}
                cell["latency"], cell["tracking"] = {k: runs["two_people"][k] for k in LATENCY}, tracking(runs)
            cells.append(cell)
            return cell
        for m, r in tqdm([(m, r) for m in models for r in rates], desc="1 person"):
            measure(m, r, 1)
        today = next(c for c in cells if (c["model"], c["pose_fps"], c["persons"]) == TODAY)
        for c in cells:
            c["cost_vs_today"] = round(c["cost"]["cpu_s_per_s"] / today["cost"]["cpu_s_per_s"], 3)
            c["accuracy_vs_today"] = {k: round(c["accuracy"][k] - today["accuracy"][k], 1) for k in METRICS}
        rec = recommend(cells, today)
        best = (rec["pose_model"], rec["pose_fps"])
        multi = [(m, r, p) for p in a.persons if p > 1 for m in models for r in rates
                 if p not in a.reduced or m == "full" or (m, r) == best]
        left_out = [f"{m} @ {r:g} fps, {p} people" for p in a.persons if p > 1 for m in models for r in rates
                    if (m, r, p) not in multi]
        for m, r, p in tqdm(multi, desc="several people"):
            measure(m, r, p)
        for m, r in dict.fromkeys([TODAY[:2], best]) if multi else ():     # 1 person on the two-person clip: like for like
            measure(m, r, 1, "two_people")
    by = {(c["model"], c["pose_fps"], c["persons"], c["clip"]): c for c in cells}
    for c in cells:
        c["cost_vs_today"] = round(c["cost"]["cpu_s_per_s"] / today["cost"]["cpu_s_per_s"], 3)
        ref = by.get(("full", 0.0, c["persons"], c["clip"]))
        if "tracking" in c and ref:
            c["tracking_vs_full_every_frame"] = {n: {k: round(v[k] - ref["tracking"][n][k], 1)
                                                     for k in ("true_id_switches", "both_found_share")}
                                                 for n, v in c["tracking"].items()}
    two = by.get((*best, 2, "two_people"))
    one_same_clip = by.get((*TODAY[:2], 1, "two_people"))
    rec["two_people_at_recommended"] = None if two is None else {
        "cpu_s_per_s": two["cost"]["cpu_s_per_s"], "cost_vs_today": two["cost_vs_today"],
        "at_most_today_1_person": two["cost"]["cpu_s_per_s"] <= today["cost"]["cpu_s_per_s"],
        "today_1_person_on_the_two_person_clip": one_same_clip and one_same_clip["cost"]["cpu_s_per_s"],
        "at_most_today_1_person_same_clip": bool(one_same_clip) and
        two["cost"]["cpu_s_per_s"] <= one_same_clip["cost"]["cpu_s_per_s"]}
    report = {"protocol": __doc__.split("\n\n")[1], "command": "python benchmarks/pipeline_cost.py " + " ".join(sys.argv[1:]),
              "cpu": platform.processor() or platform.machine(), "cpu_count": os.cpu_count(),
              "load_average_start_end": [load0, [round(x, 2) for x in os.getloadavg()]],
              "encoder": DEFAULT_ENCODER.name, "models": models, "rates_fps": rates, "today": dict(zip(("model", "pose_fps", "persons"), TODAY)),
              "clips": {"one_person": {"file": ONE_PERSON, **info["one_person"]},
                        "two_people": {"made_from": LIGHTSTAGE, **info["two_people"]},
                        "two_people_short": {"made_from": FALL_AND_DRINK, **info["two_people_short"]},
                        "startup": f"first 10 frames of {DEMO_CLIP.name}"},
              "startup_cpu_s_median": round(float(np.median([c["cost"]["startup_cpu_s"] for c in cells])), 3),
              "left_out": left_out, "recommendation": rec, "cells": cells}
    text = json.dumps(report, indent=1)
    if a.json:
        atomic_text(a.json, text + "\n")
    if a.plot:
        plot(report, Path(a.plot))
    print(json.dumps({"recommendation": rec, "left_out": left_out}, indent=1))
    return 0


def plot(report: dict, path: Path) -> None:
    plt = pyplot()
    cells, rates, models = report["cells"], report["rates_fps"], list(report["models"])
    persons = sorted({c["persons"] for c in cells})
    label = {r: "every frame" if r == 0 else f"{r:g} fps" for r in rates}
    colors = {m: f"C{i}" for i, m in enumerate(models)}
    today = next(c for c in cells if (c["model"], c["pose_fps"], c["persons"], c["clip"]) == (*TODAY, "one_person"))
    fig = plt.figure(figsize=(15, 10))
    gs = fig.add_gridspec(2, len(persons))
    top = max(c["cost"]["cpu_s_per_s"] for c in cells) * 1.15
    for j, p in enumerate(persons):
        ax, want = fig.add_subplot(gs[0, j]), "one_person" if p == 1 else "two_people"
        for m in models:
            pts = [(i, c["cost"]["cpu_s_per_s"]) for i, r in enumerate(rates) for c in cells
                   if (c["model"], c["pose_fps"], c["persons"], c["clip"]) == (m, r, p, want)]
            if pts:
                ax.plot(*zip(*pts), marker="o", color=colors[m], label=f"{m} model")
                for x, y in pts:
                    ax.annotate(f"{y / today['cost']['cpu_s_per_s']:.2f}x", (x, y), xytext=(6, -12 if m == "lite" else 4),
                                textcoords="offset points", fontsize=8, color=colors[m],
                                bbox={"fc": "white", "ec": "none", "alpha": 0.8, "pad": 0.3})
        ax.axhline(today["cost"]["cpu_s_per_s"], color="0.5", ls="--", lw=1, label="today (full, every frame, 1 person)")
        ax.set_xticks(range(len(rates)), [label[r] for r in rates])
        ax.set_xlim(-0.3, len(rates) - 0.5)
        ax.set_ylim(0, top)
        ax.set_title(f"{p} {'person' if p == 1 else 'people'} looked for"
                     f" ({'cam5, 1 person in view' if p == 1 else '2 people side by side'})", fontsize=10)
        ax.set_xlabel("pose rate")
        ax.set_ylabel("CPU-seconds per second of video")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    ax = fig.add_subplot(gs[1, :])
    ones = [c for c in cells if c["persons"] == 1 and c["clip"] == "one_person"]
    width, n = 0.8 / len(METRICS), sum(ones[0]["accuracy"]["record_once_query_windows"].values())
    names = {"record_once": f"record once ({n} query windows)", "lightstage_top1": "two-camera capture top-1",
             "open_set_named_right": f"open set: falls named ({n} windows)", "open_set_rejected": "open set: never-recorded rejected"}
    for k, metric in enumerate(METRICS):
        ys = [c["accuracy_vs_today"][metric] for c in ones]
        bars = ax.bar(np.arange(len(ones)) + (k - 1.5) * width, ys, width, label=names[metric])
        ax.bar_label(bars, [f"{y:+.1f}" if abs(y) >= 0.05 else "" for y in ys], fontsize=7, padding=1)
    ax.axhspan(-POINTS, POINTS, color="0.9", zorder=0, label=f"\u00b1{POINTS:g} points")
    ax.axhline(0, color="k", lw=0.8)
    rec = report["recommendation"]
    ax.set_xticks(range(len(ones)), [f"{c['model']}, {label[c['pose_fps']]}\n{c['cost_vs_today']:.2f}x cost, "
                                     f"p95 {c['latency']['frame_to_label_ms'].get('p95', float('nan')):.0f} ms"
                                     + ("\nRECOMMENDED" if (c["model"], c["pose_fps"]) == (rec["pose_model"], rec["pose_fps"])
                                        else "") for c in ones], fontsize=8)
    ax.set_ylabel("accuracy minus today's (points)")
    ax.set_title(f"1 person: accuracy minus today's (full model, every frame); recommended: {rec['pose_model']} model, "
                 f"{label[rec['pose_fps']]} (one fall window of {n} is {100 / n:.0f} points)", fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, ncol=5, loc="upper center", bbox_to_anchor=(0.5, -0.2))
    bottom, top_ = ax.get_ylim()
    ax.set_ylim(bottom - 2, top_ + 2)
    fig.suptitle(f"Cost of the live pipeline ({report['cpu_count']} CPU cores; start-up "
                 f"{report['startup_cpu_s_median']:.1f} CPU-s subtracted)", fontsize=11)
    fig.tight_layout()
    save_figure(fig, path, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
