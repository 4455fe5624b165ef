"""Real camera clips through the live recognizer at a strictness: who is named, who is "unknown"?

The library is a copy of the shipped default library ("drink water", "falling" from camera 1 of NTU
performer 6, "pick up": recorded from real clips through ``main.py record``). Each clip's MediaPipe
skeletons (the app's own frame path, cached: ``training.data.video_skeletons``) are pushed through the
app's ``Recognizer`` as a live stream, so every window gets the label the headless app would print.
Clips: the same fall seen by camera 2 and performer 7's fall (recorded action: should be
"falling"), and clips of actions nobody recorded (the two-camera capture, the two partial-body
clips: should be "unknown" or "idle").

``python benchmarks/real_clips.py [--setting NAME=ENCODER@STRICTNESS ...] [--json OUT.json]`` (several
settings, e.g. the files and default before and after a change, in one run; default: the shipped
encoder at the default strictness). None of these clips chooses anything: this is measurement
only. ``--quick``: every clip cut to its first 3.5 s.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from focovil.realtime.files import atomic_text  # noqa: E402
from focovil.realtime.paths import DEFAULT_ENCODER, SHIPPED_LIBRARY  # noqa: E402
from focovil.realtime.session import Session  # noqa: E402
from focovil.realtime.settings import Settings  # noqa: E402
from focovil.training.data import video_skeletons  # noqa: E402
from benchmarks.common import QUICK_CLIP_S, add_quick, need, shared_default, short_videos  # noqa: E402

RECORDED = {"fall, camera 2": video_skeletons.NTU["falling cam2"][0], "fall, performer 7": video_skeletons.NTU["falling P007"][0]}
NEVER_RECORDED = {"two-camera capture cam5": video_skeletons.LIGHTSTAGE[0], "two-camera capture cam21": video_skeletons.LIGHTSTAGE[1],
                  "close-up, partial body": "closeup_face_partial_body.avi",
                  "arm wrestling, partial bodies": "arm_wrestling_partial_bodies.mp4"}
NOT_NAMED = ("unknown", "idle")


def run(encoder: str, strictness: float, videos: str, library: Path, workdir: Path) -> dict:
    lib = workdir / f"lib-{abs(hash((encoder, strictness)))}.sqlite3"
    shutil.copyfile(library, lib)
    out = {"encoder": encoder, "strictness": strictness, "clips": {}}
    with Session(lib, encoder, settings=Settings(strictness=strictness), device="cpu", cpu_threads=None) as s:
        rec = s.recognizer
        out["threshold"] = round(rec.threshold, 4)
        for track, (name, rel) in enumerate({**RECORDED, **NEVER_RECORDED}.items(), start=1):
            times, skels = video_skeletons.skeletons(Path(videos) / rel)
            labels = [r.prediction.label for t, sk in zip(times, skels)
                      for r in rec.push(float(t), sk if np.isfinite(sk).all() else None, track=track)
                      if r.prediction.person]
            out["clips"][name] = {"windows": len(labels), "labels": dict(Counter(labels)),
                                  "falling": round(labels.count("falling") / max(len(labels), 1), 4),
                                  "not_named": round(sum(lab in NOT_NAMED for lab in labels) / max(len(labels), 1), 4)}
    rec_ok = {n: out["clips"][n]["falling"] > 0.5 for n in RECORDED}
    never = [out["clips"][n] for n in NEVER_RECORDED]
    share = sum(c["not_named"] * c["windows"] for c in never) / max(sum(c["windows"] for c in never), 1)
    out["target"] = {"falls_named_falling": rec_ok, "never_recorded_unknown_share": round(share, 4),
                     "met": all(rec_ok.values()) and share >= 0.85}
    return out


def setting(spec: str) -> tuple[str, str, float]:
    """``NAME=ENCODER@STRICTNESS`` -> (name, encoder, strictness)."""
    name, eq, rest = spec.partition("=")
    encoder, at, strictness = rest.rpartition("@")
    try:
        if not (name and eq and encoder and at):
            raise ValueError
        return name, encoder, float(strictness)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{spec!r} is not NAME=ENCODER@STRICTNESS (e.g. now=weights/focovil_app.pt@25)") from None


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--setting", action="append", type=setting, metavar="NAME=ENCODER@STRICTNESS",
                    help="a setting to measure (repeatable); default: the shipped encoder at the default strictness")
    ap.add_argument("--library", default=str(SHIPPED_LIBRARY))
    ap.add_argument("--videos", default=shared_default("data/videos"))
    ap.add_argument("--json")
    add_quick(ap, f"every clip cut to its first {QUICK_CLIP_S:g} s")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    need(a.videos, what="the real clips")
    settings = a.setting or [("default", str(DEFAULT_ENCODER), Settings().strictness)]
    report = {"protocol": __doc__.split("\n\n")[0], "library": a.library, "settings": {}}
    with tempfile.TemporaryDirectory() as tmp:
        if a.quick:
            a.videos = short_videos(a.videos, {**RECORDED, **NEVER_RECORDED}.values(), Path(tmp) / "short", QUICK_CLIP_S)
        for name, encoder, strictness in settings:
            report["settings"][name] = run(encoder, strictness, a.videos, Path(a.library), Path(tmp))
    if a.json:
        atomic_text(a.json, json.dumps(report, indent=1))
    print(json.dumps({n: {"threshold": r["threshold"], **r["target"],
                          "clips": {c: v["labels"] for c, v in r["clips"].items()}} for n, r in report["settings"].items()},
                     indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
