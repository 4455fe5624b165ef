"""Several people: what each costs, and how stable their track ids are, on real video.

Every clip runs through the app's own loop (``Session.frames``: MediaPipe pose for up to
``--persons`` people, the tracker, one window and vote per person) with 1, 2 and 4 people looked
for, one setting after the other in this run (compare them as ratios). Prints JSON:

* ``pose_ms`` per frame (p50 / p95) and its ratio to 1 person;
* ``overhead_ms`` per frame (tracking, windows, voting: everything that is not pose, encode or
  search) and ``per_person_ms``: (overhead + encode + search) per frame divided by the people in
  view, the pipeline's own cost of each person;
* ``tracks``: ids made; ``max_people``: most people in one frame; ``id_switches_per_minute``:
  ids made beyond ``max_people`` (each is a person who got a new id), per minute of video.

Two real clips side by side (``training/data/side_by_side.py``: NTU's fall from camera 2 beside
"drink water"; the synchronised two-camera capture, 32 s) have a known identity per person, their
side of the frame, so there the switches are counted exactly: ``true_id_switches`` = times a side's
id changed although that person was out of view for less than ``MAX_MISSING_S`` (or never), plus ids
seen on both sides; ``frames_both_found``: frames in which both people were found.

``python benchmarks/tracking.py [--persons 1 2 4] [--json F]``; ``--quick``: 1 and 2 people, the first
clip and the first side-by-side pair, cut to their first 0.5 s.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from focovil.realtime.files import atomic_text  # noqa: E402
from focovil.realtime.paths import DEFAULT_ENCODER  # noqa: E402
from focovil.realtime.session import Session  # noqa: E402
from focovil.realtime.settings import Settings  # noqa: E402
from focovil.realtime.tracking import MAX_MISSING_S  # noqa: E402
from focovil.training.data.side_by_side import FALL_AND_DRINK, LIGHTSTAGE, side_of, two_person_clip  # noqa: E402
from benchmarks.common import add_quick, need, shared_default, short_videos  # noqa: E402
from benchmarks.stats import percentiles  # noqa: E402

CLIPS = {"two people, cut off": "arm_wrestling_partial_bodies.mp4",
         "one person (NTU drink water)": "ntu_S001C001P001R001A001_drink_water.avi",
         "one person (NTU pick up)": "ntu_multiview/S001C001P004R001A006_rgb.avi"}
SIDE_BY_SIDE = {"two people side by side (NTU fall + drink water)": FALL_AND_DRINK,
                "two people side by side (synchronised cameras, 32 s)": LIGHTSTAGE}


def true_switches(seen: dict[str, list[tuple[float, int]]]) -> int:
    """Id changes of one person not explained by their absence ending the track, plus shared ids."""
    n = 0
    for events in seen.values():
        for (t0, a), (t1, b) in zip(events, events[1:]):
            n += a != b and t1 - t0 <= MAX_MISSING_S
    left, right = ({k for _t, k in seen.get(side, [])} for side in ("left", "right"))
    return n + len(left & right)


def pct(a: list[float]) -> dict:
    return percentiles(a)


def run(clip: Path, persons: int, workdir: Path, sides: bool = False, pose_model: str | Path | None = None,
        pose_fps: float = 0.0, library: Path | None = None) -> dict:
    """One clip with ``persons`` looked for (``pose_model`` / ``pose_fps``: the app's options; ``library``:
    a library file to label with, default a fresh empty one). ``frame_to_label_ms``: as
    benchmarks/pipeline_latency.py, for frames that complete a window."""
    settings = dataclasses.replace(Settings(), persons=persons, pose_fps=pose_fps)
    pose, over, per_person, e2e, tracks, max_people, t_end = [], [], [], [], set(), 0, 0.0
    seen, both, frames = {"left": [], "right": []}, 0, 0
    lib = library or workdir / f"lib{persons}.sqlite3"
    with Session(lib, DEFAULT_ENCODER, pose_model=pose_model, settings=settings, device="cpu") as s:
        for fr in s.frames(clip):
            frames += 1
            if sides:
                here = {side_of(p.pose.image_landmarks): p.track for p in fr.people}
                both += len(here) == 2
                for side, k in here.items():
                    seen[side].append((fr.t, k))
            pose.append(fr.pose_ms)
            over.append(fr.overhead_ms)
            inner = sum(w.encode_ms + w.search_ms for w in fr.windows)
            if fr.people:
                per_person.append((fr.overhead_ms + inner) / len(fr.people))
            if any(w.encode_ms for w in fr.windows):
                e2e.append(fr.pose_ms + fr.overhead_ms + inner)
            tracks |= {p.track for p in fr.people}
            max_people = max(max_people, len(fr.people))
            t_end = fr.t
    minutes = max(t_end, 1e-6) / 60
    return {"persons": persons, "pose_ms": pct(pose), "overhead_ms": pct(over), "per_person_ms": pct(per_person),
            "frame_to_label_ms": pct(e2e),
            "tracks": len(tracks), "max_people": max_people,
            "id_switches_per_minute": round(max(len(tracks) - max_people, 0) / minutes, 1), "seconds_of_video": round(t_end, 2),
            "frames": frames, **({"true_id_switches": true_switches(seen), "frames_both_found": both} if sides else {})}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--videos", default=shared_default("data/videos"))
    ap.add_argument("--json", help="also write the report here")
    add_quick(ap, "1 and 2 people, the first clip and side-by-side pair, cut to 0.5 s")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    need(a.videos, what="the real clips")
    report = {}
    plain, pairs = (dict([next(iter(d.items()))]) if a.quick else d for d in (CLIPS, SIDE_BY_SIDE))
    with tempfile.TemporaryDirectory() as tmp:
        if a.quick:
            rels = [*plain.values(), *(case[side][0] for case in pairs.values() for side in ("left", "right"))]
            a.persons, a.videos = a.persons[:2], short_videos(a.videos, rels, Path(tmp) / "short", 0.5)
        clips = {name: (Path(a.videos) / rel, False) for name, rel in plain.items()}
        for k, (name, case) in enumerate(pairs.items()):
            clips[name] = (two_person_clip(a.videos, case, Path(tmp) / f"side_by_side{k}.avi"), True)
        for name, (clip, sides) in clips.items():
            rows = [run(clip, n, Path(tmp), sides) for n in a.persons]
            base = rows[0]["pose_ms"].get("p50") or 1.0
            for r in rows:
                r["pose_vs_first"] = round(r["pose_ms"]["p50"] / base, 2)
            report[name] = rows
    text = json.dumps(report, indent=1)
    print(text)
    if a.json:
        atomic_text(a.json, text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
