"""Action spotting on a real video of known spans: are both falls found, nothing else named?

Builds the video of ``training/data/spotting_video.FALLS_IN_CAPTURE`` (stretches of the two-camera
capture's never-recorded motion, NTU performer 6's fall seen by camera 2, performer 7's fall seen by
camera 1; 960x540, 30 fps) in a temporary folder, records "falling" into a fresh library from
performer 6's fall seen by camera 1 only (not in the video), and spots it with the app's default
settings and rules (``ActionRecognizer.segments``, what ``focovil segments`` runs). Measures
precision and recall at temporal IoU >= 0.5, each fall's start/end error, and the windows named
while only the capture was in view. Measurement only: nothing here chooses a setting
(``benchmarks/spotting_choice.py`` chose the rules on NW-UCLA).

``python benchmarks/spotting.py --json docs/experiments/spotting.json --png docs/experiments/spotting``;
``--quick``: a video of the first 1.5 s of the capture and the first fall only.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import focovil  # noqa: E402
from focovil.realtime.spotting import DEFAULT_RULES  # noqa: E402
from focovil.realtime.spotting_report import timeline  # noqa: E402
from focovil.training.data.spotting_video import FALLS_IN_CAPTURE, RECORD_FALL, build_video, score, truth  # noqa: E402
from benchmarks.common import add_quick, need, shared_default  # noqa: E402

QUICK = (dataclasses.replace(FALLS_IN_CAPTURE[0], end_s=FALLS_IN_CAPTURE[0].start_s + 1.5), FALLS_IN_CAPTURE[1])


def run(videos: Path, workdir: Path, png: str | None = None, pieces=FALLS_IN_CAPTURE) -> dict:
    t0 = time.perf_counter()
    video = workdir / "falls_in_capture.avi"
    spans = build_video(videos, pieces, video)
    t_built = time.perf_counter()
    with focovil.open(workdir / "library.sqlite3") as rec:
        rec.record("falling", videos / RECORD_FALL)
        windows: list = []
        found = rec.segments(video, windows=windows)
        s, enc = rec.session.settings, rec.session.encoder.path.name
        threshold = rec.session.recognizer.threshold
    seconds = time.perf_counter() - t_built
    out = score(spans, found, windows)
    # the best similarity of the windows centred in each fall (the threshold decides "unknown")
    out["max_similarity_in_fall"] = [max((r.similarity for r in windows if r.similarity is not None
                                          and sp.start <= (r.start + r.time) / 2 <= sp.end), default=None)
                                     for sp in spans if sp.label]
    pictures = []
    if png:
        end = spans[-1].end
        for k in sorted({r.track for r in windows if r.track}):
            mine = [o for o in found if o.track == k]
            pictures.append(str(timeline(f"{png}.track{k}.png", [r for r in windows if r.track == k], mine,
                                         f"{video.name}: person {k}; hatched: the true falls (every track)",
                                         truth(spans), end)))
    return {"video": [{"piece": sp.path, "label": sp.label, "start": sp.start, "end": sp.end} for sp in spans],
            "truth_rule": "a fall's truth is its whole NTU clip's span in the built video (NTU's annotators "
                          "trimmed each clip to the action)",
            "library": f"'falling' recorded from {RECORD_FALL} (the whole clip)",
            "encoder": enc, "threshold": threshold, "rules": DEFAULT_RULES.as_dict(),
            "settings": {k: getattr(s, k) for k in ("window_s", "stride_s", "smoothing", "strictness", "persons")},
            "tracks": sorted({r.track for r in windows}), "windows": len(windows),
            "occurrences": [o.as_dict() for o in found], **out,
            "window_labels": [[r.track, r.start, r.time, r.label, r.similarity] for r in windows],
            "timelines": pictures, "seconds_build": round(t_built - t0, 1), "seconds_spot": round(seconds, 1)}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--videos", default=shared_default("data/videos"))
    ap.add_argument("--json", default=None, help="write the measurement here")
    ap.add_argument("--png", default=None, help="write one timeline per track as PNG.track<K>.png")
    add_quick(ap, "the first 1.5 s of the capture and the first fall")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    need(a.videos, what="the real clips")
    with tempfile.TemporaryDirectory() as tmp:
        out = run(Path(a.videos), Path(tmp), a.png, QUICK if a.quick else FALLS_IN_CAPTURE)
    cmd = "python benchmarks/spotting.py" + (" --quick" if a.quick else "") + (f" --json {a.json}" if a.json else "") \
        + (f" --png {a.png}" if a.png else "")
    out = {"command": cmd, "protocol": " ".join(__doc__.split("\n\n")[1].split()), **out}
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=1) + "\n")
    print(json.dumps({k: out[k] for k in ("precision", "recall", "target_met", "nearest", "named_in_unlabelled",
                                           "max_similarity_in_fall", "seconds_spot")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
