"""Two people who overlap: how often two become one, with and without re-detection.

Two real single-person clips are composited at run time (``training/data/overlap.py``) so that the
people go from apart to overlapping and back, with the truth known per frame: where each person is,
how much their bodies overlap (share of the narrower body's width), which detection is whom. Each
video runs through the app's own loop (``Session.frames``: ``--persons 2``, the tracker) twice in
this run, with ``realtime.redetect`` off (the default) and on. Prints and writes JSON:

* ``both_found`` per overlap bin: share of frames in which each person is found (a detection within
  half a body height of their own skeleton, one detection each), so each has a track;
* ``id_switches``: a person's track id changing while they were gone for less than
  ``MAX_MISSING_S`` (or never), plus ids given to both people;
* ``pose_ms`` per frame (p50 / p95 / mean), ``redetect_calls`` and their share of frames;
* a one-person clip with ``--persons 2``: what re-detection costs there (one look a second, at most).

Plus a PNG: share of frames with both found against overlap, off and on.

``python benchmarks/overlap.py [--json docs/experiments/overlap.json] [--png docs/experiments/overlap.png]``;
``--quick``: the two-camera case only (``tests/test_overlap.py`` runs the NTU one in full) and the
one-person clip, each cut to its first 0.5 s.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from focovil.realtime.files import atomic_text  # noqa: E402
from focovil.realtime.paths import DEFAULT_ENCODER  # noqa: E402
from focovil.realtime.pose import PoseEstimator  # noqa: E402
from focovil.realtime.session import Session  # noqa: E402
from focovil.realtime.settings import Settings  # noqa: E402
from focovil.realtime.tracking import MAX_MISSING_S  # noqa: E402
from focovil.training.data.overlap import LIGHTSTAGE_PAIR, NTU_PAIR, OverlapTruth, overlap_case  # noqa: E402
from benchmarks.common import add_quick, need, shared_default, short_videos  # noqa: E402
from benchmarks.stats import percentiles  # noqa: E402

CASES = {"NTU drink water + pick up (one room, 3.4 s)": NTU_PAIR,
         "synchronised cameras cam5 + cam21 (32 s)": LIGHTSTAGE_PAIR}
ONE_PERSON = "ntu_S001C001P001R001A001_drink_water.avi"
BINS = [(-np.inf, -1.0, "gap > 1 body"), (-1.0, 0.0, "gap < 1 body"), (0.0, 0.1, "0-10 %"), (0.1, 0.2, "10-20 %"),
        (0.2, 0.3, "20-30 %"), (0.3, 0.4, "30-40 %"), (0.4, 0.5, "40-50 %"), (0.5, np.inf, "over 50 %")]


class PoseSession(Session):
    """The app's session, keeping each pose estimator's re-detector so its call count outlives it."""

    def __init__(self, *args, **kw) -> None:
        super().__init__(*args, **kw)
        self.redetectors = []

    def pose(self) -> PoseEstimator:
        est = super().pose()
        if est.redetector is not None:
            self.redetectors.append(est.redetector)
        return est


def run(clip: Path, redetect: bool, workdir: Path, truth: OverlapTruth | None = None, persons: int = 2,
        pose_fps: float | None = None) -> dict:
    """Per frame given to pose (``pose_fps``: the app's pose rate, default its own setting): its index,
    pose ms, and the track id of each person of the truth found in it."""
    settings = dataclasses.replace(Settings(), persons=persons, redetect=redetect,
                                   **({} if pose_fps is None else {"pose_fps": pose_fps}))
    rows = []
    with PoseSession(workdir / "lib.sqlite3", DEFAULT_ENCODER, settings=settings, device="cpu") as s:
        t0 = time.perf_counter()
        for fr in s.frames(clip, recognize=False):
            who = truth.match(fr.index, [p.pose.image_landmarks for p in fr.people]) if truth is not None else []
            rows.append({"k": fr.index, "t": fr.t, "pose_ms": fr.pose_ms, "people": len(fr.people),
                         "ids": [p.track for p in fr.people],
                         "who": {w: p.track for w, p in zip(who, fr.people) if w is not None}})
        wall = time.perf_counter() - t0
        calls = sum(r.calls for r in s.redetectors)
    return {"rows": rows, "redetect_calls": calls, "wall_s": wall, "pose_fps": settings.pose_rate()}


def id_switches(rows: list[dict]) -> int:
    """Track changes of one person not explained by their absence ending the track, plus shared ids."""
    n, ids = 0, []
    for person in (0, 1):
        seen = [(r["t"], r["who"][person]) for r in rows if person in r["who"]]
        n += sum(a != b and t1 - t0 <= MAX_MISSING_S for (t0, a), (t1, b) in zip(seen, seen[1:]))
        ids.append({k for _t, k in seen})
    return n + len(ids[0] & ids[1])


def pct(a: list[float]) -> dict:
    return percentiles(a, digits=1, extra=("mean",))


def share(hits: np.ndarray) -> float | None:
    """The share of true values, None where there are none to count (valid JSON, unlike NaN)."""
    return round(float(hits.mean()), 3) if hits.size else None


def summarise(res: dict, truth: OverlapTruth) -> dict:
    rows = res["rows"]
    ov = truth.overlap[[r["k"] for r in rows]]
    both = np.array([len(r["who"]) == 2 for r in rows])
    one = np.array([r["people"] == 1 for r in rows])
    valid = ~np.isnan(ov)
    bins = {}
    for lo, hi, name in BINS:
        m = valid & (ov >= lo) & (ov < hi)
        bins[name] = {"frames": int(m.sum()), "both_found": share(both[m]), "found_as_one": share(one[m])}
    over = valid & (ov >= 0)
    upto = over & (ov <= 0.5)
    return {"frames": len(rows), "pose_fps": res["pose_fps"],
            "both_found_overlapping": share(both[over]), "found_as_one_overlapping": share(one[over]),
            "both_found_overlap_0_50": share(both[upto]), "both_found_apart": share(both[valid & (ov < 0)]),
            "overlapping_frames": int(over.sum()), "id_switches": id_switches(rows), "bins": bins,
            "pose_ms": pct([r["pose_ms"] for r in rows]), "redetect_calls": res["redetect_calls"],
            "redetect_share_of_frames": round(res["redetect_calls"] / max(len(rows), 1), 3)}


def plot(report: dict, path: Path) -> None:
    from focovil.training.plots import pyplot, save_figure
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(9, 5))
    names = [b[2] for b in BINS]
    for case, style in zip(report["cases"], ("-", "--")):
        for mode, colour in (("off", "tab:red"), ("on", "tab:green")):
            ys = [report["cases"][case][mode]["bins"][n]["both_found"] for n in names]
            ax.plot(names, [np.nan if y is None else y for y in ys], style, marker="o", color=colour,
                    label=f"re-detection {mode}: {case}")
    ax.set_ylim(0, 1.02)
    ax.tick_params(axis="x", labelrotation=20)
    ax.set_xlabel("bodies' overlap (share of the narrower body's width; a gap: apart)")
    ax.set_ylabel("frames with both people found")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)
    ax.set_title("--persons 2: two people who overlap (real clips composited)")
    save_figure(fig, path)


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", default=shared_default("data/videos"))
    ap.add_argument("--max-frames", type=int, help="only the first frames of each case (a quick look)")
    ap.add_argument("--pose-fps", type=float, help="frames per second given to pose (default: the app's own rate)")
    ap.add_argument("--json", help="also write the report here")
    ap.add_argument("--png", help="and the figure here")
    add_quick(ap, "the two-camera case and the one-person clip, cut to 0.5 s")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    need(a.videos, what="the real clips")
    report: dict = {"cases": {}, "one_person": {"clip": ONE_PERSON}}
    with tempfile.TemporaryDirectory() as tmp:
        cases = dict(list(CASES.items())[-1:]) if a.quick else CASES
        if a.quick:
            rels = [ONE_PERSON, *(case[side] for case in cases.values() for side in ("left", "right"))]
            a.videos = short_videos(a.videos, rels, Path(tmp) / "short", 0.5)
        for k, (name, case) in enumerate(cases.items()):
            clip = Path(tmp) / f"overlap{k}.avi"
            truth = overlap_case(a.videos, case, clip, max_frames=a.max_frames)
            report["cases"][name] = {mode: summarise(run(clip, mode == "on", Path(tmp), truth, pose_fps=a.pose_fps),
                                                     truth) for mode in ("off", "on")}
            off, on = report["cases"][name]["off"], report["cases"][name]["on"]
            extra_ms = (on["pose_ms"]["mean"] - off["pose_ms"]["mean"]) * on["frames"]
            report["cases"][name]["ms_per_redetect_call"] = round(extra_ms / max(on["redetect_calls"], 1), 1)
            print(name, json.dumps({m: {x: v for x, v in r.items() if x != "bins"} if isinstance(r, dict) else r
                                    for m, r in report["cases"][name].items()}), file=sys.stderr, flush=True)
        for mode in ("off", "on"):
            res = run(Path(a.videos) / ONE_PERSON, mode == "on", Path(tmp), pose_fps=a.pose_fps)
            report["one_person"][mode] = {"pose_ms": pct([r["pose_ms"] for r in res["rows"]]),
                                          "redetect_calls": res["redetect_calls"], "frames": len(res["rows"]),
                                          "seconds": round(res["rows"][-1]["t"], 2),
                                          "tracks": len({k for r in res["rows"] for k in r["ids"]})}
    report["note"] = ("both_found: each person found (a detection within half a body height of their own skeleton), "
                      "so each has a track; overlap: the bodies' (head, trunk, legs) horizontal overlap over the "
                      "narrower body's width, < 0 a gap; pose_ms includes re-detection; 2-core CPU, one run")
    text = json.dumps(report, indent=1)
    print(text)
    if a.json:
        atomic_text(a.json, text + "\n")
    if a.png:
        plot(report, Path(a.png))
    return 0


if __name__ == "__main__":
    sys.exit(main())
