"""Choose the spotting rules (``realtime.spotting``) on NW-UCLA skeleton sequences of known spans.

Validation data, never the spotting test video: what the app promises, "record once from one
angle, recognise from another": for each person (NW-UCLA subject), a library recorded
(``record_skeletons``) from their camera-view-1 clips of repetition e00, one clip per enrolled action;
queries are long streams of the same person's other repetitions seen from views 2 and 3: each
(subject, view, repetition) becomes one stream of their clips of the enrolled actions and of
unrecorded ones, in a fixed shuffled order, each clip moved to start where the last one ended and
joined by 0.2 s of interpolation, played at 15 fps through ``ActionRecognizer.recognize_skeletons``.
The truth of an enrolled clip is its span in the stream. "pick up with two hands" is left out (a
near-twin of the enrolled one-hand pick up: it measures the encoder, not the rules).

For each merge gap and minimum length on a grid, the boundary offsets are the median distance
from the first/last window centre to the true start/end (occurrences paired to truth by overlap),
then occurrences are scored at temporal IoU >= 0.5. Chosen: the best F1 on subjects 1-5, ties to
the smaller boundary error, then the smaller rules; subjects 6-10 check the choice (not used for it).

``python benchmarks/spotting_choice.py --json docs/experiments/spotting_choice.json``; ``--quick``: subject
1 chooses, subject 6 checks.
"""
from __future__ import annotations

import argparse
import itertools
import json
import random
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import focovil  # noqa: E402
from focovil.realtime.settings import Settings  # noqa: E402
from focovil.realtime.spotting import DEFAULT_RULES, match, spot  # noqa: E402
from focovil.training.data import load_nwucla  # noqa: E402
from benchmarks.common import add_quick, need, shared_default  # noqa: E402

FPS = 15.0                          # NW-UCLA's frame rate (estimated, as training assumes)
ENROLLED = ("pick up with one hand", "drop trash", "sit down", "stand up", "throw")
UNRECORDED = ("walk around", "donning", "doffing", "carry")
CHOOSE_SUBJECTS, CHECK_SUBJECTS = (1, 2, 3, 4, 5), (6, 7, 8, 9, 10)
MIN_S, MAX_S = 1.2, 3.0             # enrolled clips of about the length of a real short action
JOIN_S = 0.2
MERGE_GAPS = (0.2, 0.4, 0.6, 0.8, 1.0, 1.4, 2.0)
MIN_DURATIONS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)


def stream(clips, seed: int) -> tuple[np.ndarray, list[tuple[str, float, float]]]:
    """One person's clips as one skeleton stream at :data:`FPS` and the enrolled clips' true spans."""
    order = list(clips)
    random.Random(seed).shuffle(order)
    parts, truth, t = [], [], 0
    for c in order:
        seq = c.skeleton.astype(np.float32)
        if parts:
            prev = parts[-1][-1]
            seq = seq - seq[0, 0] + prev[0]           # starts where the last clip's pelvis ended
            k = int(round(JOIN_S * FPS))
            w = np.linspace(0, 1, k + 2)[1:-1, None, None]
            parts.append(prev * (1 - w) + seq[0] * w)
            t += k
        if c.label_name in ENROLLED:
            truth.append((c.label_name, t / FPS, (t + len(seq)) / FPS))
        parts.append(seq)
        t += len(seq)
    return np.concatenate(parts), truth


def streams(data: Path, subject: int) -> list[tuple[str, np.ndarray, list]]:
    """The streams of one person: views 2 and 3, every repetition but the recorded one (e00)."""
    clips = [c for c in load_nwucla(data, views=(2, 3), subjects=(subject,)) if not c.instance.endswith("_e00")
             if (c.label_name in ENROLLED and MIN_S <= len(c.skeleton) / FPS <= MAX_S) or c.label_name in UNRECORDED]
    groups: dict[str, list] = {}
    for c in clips:
        groups.setdefault(f"s{c.subject:02d}_v{c.view}_{c.instance.rsplit('_', 1)[1]}", []).append(c)
    out = []
    for i, (key, cs) in enumerate(sorted(groups.items())):
        if any(c.label_name in ENROLLED for c in cs) and len(cs) >= 3:
            seq, truth = stream(cs, seed=subject * 100 + i)
            out.append((key, seq, truth))
    return out


def offsets(results, truth_by_stream, gap: float, min_d: float) -> tuple[float, float]:
    """Median (true start - first centre, true end - last centre) over occurrences overlapping a truth."""
    ds, de = [], []
    for key, rs in results.items():
        for o in spot(rs, merge_gap_s=gap, min_duration_s=min_d, start_offset_s=0.0, end_offset_s=0.0):
            over = [t for t in truth_by_stream[key] if t[0] == o.label and o.start <= t[2] and o.end >= t[1]]
            if over:
                t = max(over, key=lambda t: min(o.end, t[2]) - max(o.start, t[1]))
                ds.append(t[1] - o.start)
                de.append(t[2] - o.end)
    return (round(float(np.median(ds)), 1), round(float(np.median(de)), 1)) if ds else (0.0, 0.0)


def score(results, truth_by_stream, rules: dict) -> dict:
    tp = nf = nt = 0
    errs = []
    for key, rs in results.items():
        m = match(spot(rs, **rules), truth_by_stream[key])
        tp, nf, nt = tp + m["matched"], nf + m["found"], nt + m["true"]
        errs += [abs(p["start_error_s"]) for p in m["pairs"]] + [abs(p["end_error_s"]) for p in m["pairs"]]
    p, r = tp / max(nf, 1), tp / max(nt, 1)
    return {**rules, "precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / max(p + r, 1e-9), 4),
            "found": nf, "true": nt, "matched": tp,
            "mean_abs_boundary_error_s": round(float(np.mean(errs)), 3) if errs else None,
            "within_0.5s": round(float(np.mean(np.array(errs) <= 0.5)), 3) if errs else None}


def window_level(results, truth_by_stream) -> dict:
    """What the recognizer itself got right, before any rule: windows wholly inside an enrolled clip
    named as it, and windows touching no enrolled clip (unrecorded motion) named some action."""
    inside = right = outside = named = 0
    for key, rs in results.items():
        for r in rs:
            within = [t for t in truth_by_stream[key] if t[1] - 1e-6 <= r.start and r.time <= t[2] + 1e-6]
            if within:
                inside, right = inside + 1, right + (r.label == within[0][0])
            elif not any(r.start < t[2] and r.time > t[1] for t in truth_by_stream[key]):
                outside, named = outside + 1, named + (r.state == "action")
    return {"windows_inside_enrolled": inside, "named_right": round(right / max(inside, 1), 3),
            "windows_of_unrecorded_motion": outside, "named_an_action": round(named / max(outside, 1), 3)}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=shared_default("data/nw-ucla/all_sqe"))
    ap.add_argument("--encoder", default=None, help="default: the app's shipped encoder")
    ap.add_argument("--json", default=None, help="write the choice here")
    add_quick(ap, "subject 1 chooses, subject 6 checks")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    need(a.data, what="NW-UCLA's skeletons")
    t0 = time.perf_counter()
    data = Path(a.data)
    choose, check = (CHOOSE_SUBJECTS[:1], CHECK_SUBJECTS[:1]) if a.quick else (CHOOSE_SUBJECTS, CHECK_SUBJECTS)
    results: dict[str, dict] = {"choose": {}, "check": {}}
    truth: dict[str, dict] = {"choose": {}, "check": {}}
    gallery = []
    for subject in choose + check:
        split = "choose" if subject in choose else "check"
        mine = [c for c in load_nwucla(data, views=(1,), subjects=(subject,))
                if c.label_name in ENROLLED and c.instance.endswith("_e00")]
        gallery += [c.name for c in mine]
        with tempfile.TemporaryDirectory() as tmp, \
                focovil.open(Path(tmp) / "lib.sqlite3", encoder=a.encoder, device="cpu") as rec:
            for c in mine:
                rec.record_skeletons(c.label_name, c.skeleton, fps=FPS, source=c.name)
            for k, seq, tr in streams(data, subject):
                results[split][k] = rec.recognize_skeletons(seq, fps=FPS, track=1)
                truth[split][k] = tr
            encoder = rec.session.encoder.path.name
    table = []
    for gap, min_d in itertools.product(MERGE_GAPS, MIN_DURATIONS):
        so, eo = offsets(results["choose"], truth["choose"], gap, min_d)
        table.append(score(results["choose"], truth["choose"], {"merge_gap_s": gap, "min_duration_s": min_d,
                                                                "start_offset_s": so, "end_offset_s": eo}))
    best = max(table, key=lambda r: (r["f1"], -(r["mean_abs_boundary_error_s"] or 9), -r["merge_gap_s"],
                                     -r["min_duration_s"]))
    chosen = {k: best[k] for k in ("merge_gap_s", "min_duration_s", "start_offset_s", "end_offset_s")}
    s = Settings()
    out = {"command": "python benchmarks/spotting_choice.py" + (" --quick" if a.quick else "")
           + (f" --json {a.json}" if a.json else ""),
           "protocol": __doc__.split("\n\n")[1].replace("\n", " "),
           "choice_rule": __doc__.split("\n\n")[2].replace("\n", " "),
           "encoder": encoder, "settings": {"window_s": s.window_s, "stride_s": s.stride_s, "smoothing": s.smoothing,
                                             "strictness": s.strictness},
           "enrolled": list(ENROLLED), "unrecorded": list(UNRECORDED), "gallery": gallery,
           "streams": {k: len(v) for k, v in results.items()},
           "stream_seconds": {k: round(sum(r[-1].time for r in v.values() if r), 1) for k, v in results.items()},
           "chosen": chosen, "shipped_defaults": DEFAULT_RULES.as_dict(),
           "chosen_is_shipped": chosen == DEFAULT_RULES.as_dict(), "choose_split": best,
           "check_split": score(results["check"], truth["check"], chosen),
           "window_level": {k: window_level(results[k], truth[k]) for k in results},
           "grid": table, "seconds": round(time.perf_counter() - t0, 1)}
    text = json.dumps(out, indent=1)
    if a.json:
        Path(a.json).write_text(text + "\n")
    print(json.dumps({k: out[k] for k in ("chosen", "chosen_is_shipped", "choose_split", "check_split", "window_level",
                                           "seconds")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
