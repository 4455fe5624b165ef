"""Action spotting: the rules on hand-made window labels, and ``focovil segments`` on a real video
of known spans (two real falls between stretches of never-recorded motion, built at run time)."""
import contextlib
import csv
import io
import json
import random

import cv2
import pytest

from focovil.realtime.messages import Result
from focovil.realtime.spotting import DEFAULT_RULES, Occurrence, match, rules, spot
from focovil.realtime.spotting_report import write_all

STATES = ("unknown", "idle", "no person")
NO_OFFSET = {"start_offset_s": 0.0, "end_offset_s": 0.0}
HALF_MS = 0.0005      # seconds: spotting stores boundaries rounded to the millisecond (window centre plus an offset)


def labels(names: str, t0: float = 2.0, track: int = 1, step: float = 0.2) -> list[Result]:
    """One window per word ("A", "B": actions; "U" unknown, "I" idle, "N" no person), every ``step`` s."""
    out = []
    for i, n in enumerate(names.split()):
        lab = {"U": "unknown", "I": "idle", "N": "no person"}.get(n, n)
        state = lab if lab in STATES else "action"
        t = round(t0 + i * step, 3)
        out.append(Result(time=t, track=track, state=state, label=lab, similarity=0.5 + 0.01 * i if state == "action"
                          else None, score=1.0, start=round(t - 1.8, 3)))
    return out


def spans(found: list[Occurrence]) -> list[tuple[str, int]]:
    return [(o.label, o.windows) for o in found]


def test_a_different_action_always_splits_even_within_the_merge_gap():
    found = spot(labels("A A A B A A A"), merge_gap_s=5.0, min_duration_s=0.0)
    assert spans(found) == [("A", 3), ("B", 1), ("A", 3)]
    found = spot(labels("A A U B U A A"), merge_gap_s=5.0, min_duration_s=0.0)
    assert spans(found) == [("A", 2), ("B", 1), ("A", 2)]


@pytest.mark.parametrize("gap_state", ["U", "I", "N"])
def test_runs_merge_across_a_short_non_action_gap_only(gap_state):
    short = f"A A A {gap_state} A A A"
    long = f"A A A {gap_state} {gap_state} {gap_state} A A A"
    assert spans(spot(labels(short), merge_gap_s=0.4, min_duration_s=0.0)) == [("A", 6)]
    assert spans(spot(labels(short), merge_gap_s=0.2, min_duration_s=0.0)) == [("A", 3), ("A", 3)]
    assert spans(spot(labels(long), merge_gap_s=0.4, min_duration_s=0.0)) == [("A", 3), ("A", 3)]
    assert spans(spot(labels(long), merge_gap_s=0.8, min_duration_s=0.0)) == [("A", 6)]


def test_short_runs_are_dropped_after_merging():
    assert spans(spot(labels("U A A U"), merge_gap_s=0.4, min_duration_s=0.4)) == []          # spans 0.2 s
    assert spans(spot(labels("U A A A U"), merge_gap_s=0.4, min_duration_s=0.4)) == [("A", 3)]
    # two lone windows one unknown apart: merged first (0.4 s), so kept; unmerged, both dropped
    assert spans(spot(labels("A U A"), merge_gap_s=0.4, min_duration_s=0.4)) == [("A", 2)]
    assert spans(spot(labels("A U A"), merge_gap_s=0.2, min_duration_s=0.4)) == []


def test_boundaries_are_window_centres_plus_the_offsets():
    rs = labels("U A A A A A U", t0=3.0)            # action windows end at 3.2 .. 4.0: centres 2.3 .. 3.1
    (o,) = spot(rs, merge_gap_s=0.4, min_duration_s=0.0, start_offset_s=-0.3, end_offset_s=0.1)
    assert (o.start, o.end) == pytest.approx((2.0, 3.2), abs=HALF_MS)
    assert (o.windows, o.best_similarity, o.track) == (5, 0.55, 1)   # the best similarity is a window's, copied
    (o,) = spot(labels("A A A", t0=1.8), min_duration_s=0.0, start_offset_s=-5.0, end_offset_s=-9.0)
    assert o.start == 0.0 and o.end == 0.0          # clamped: 0 <= start <= end


def test_tracks_are_spotted_separately_whatever_the_order():
    one, two = labels("A A A U A A A", track=1), labels("B B B B B B B", track=2)
    mixed = one + two
    random.Random(0).shuffle(mixed)
    found = spot(mixed, merge_gap_s=0.4, min_duration_s=0.0)
    assert sorted((o.track, o.label, o.windows) for o in found) == [(1, "A", 6), (2, "B", 7)]
    # another person's action between two runs does not split them: it is not this track's
    b_between = labels("A A A U A A A", track=1) + labels("B", t0=2.6, track=2)
    assert [(o.track, o.windows) for o in spot(b_between, merge_gap_s=0.4, min_duration_s=0.0)] == [(1, 6), (2, 1)]


def test_match_pairs_each_truth_once_at_the_iou():
    found = [Occurrence(1, "fall", 1.0, 3.0, 0.9, 5), Occurrence(2, "fall", 1.2, 2.8, 0.9, 4),
             Occurrence(1, "wave", 5.0, 6.0, 0.9, 3), Occurrence(1, "fall", 9.0, 9.5, 0.9, 3)]
    m = match(found, [("fall", 1.0, 3.0), ("wave", 7.0, 9.0), ("fall", 8.0, 10.0)])
    # exact on any machine: ratios of counts (1 / 4, 1 / 3), and x - x and x / x of one identical pair of spans
    assert (m["matched"], m["precision"], m["recall"]) == (1, 0.25, 1 / 3)
    assert m["pairs"][0]["start_error_s"] == 0.0 and m["pairs"][0]["iou"] == 1.0
    assert match([], [])["precision"] == match([], [])["recall"] == 1.0


def test_rules_are_checked():
    with pytest.raises(ValueError, match=">= 0"):
        spot(labels("A A A"), merge_gap_s=-1.0)
    with pytest.raises(ValueError, match="unknown spotting rule"):
        rules(merge_gap=1.0)
    assert rules(merge_gap_s=None) == DEFAULT_RULES and rules(min_duration_s=1).min_duration_s == 1.0


def test_report_files_agree(tmp_path):
    rs = labels("U A A A U U U U B B B N N", track=1) + labels("U U U U", track=2)
    found = spot(rs, merge_gap_s=0.4, min_duration_s=0.4)
    summary = write_all(tmp_path / "s.json", rs, found, DEFAULT_RULES, "clip.avi")
    doc = json.loads((tmp_path / "s.json").read_text())
    assert [Occurrence(**o) for o in doc["occurrences"]] == found and doc["rules"] == DEFAULT_RULES.as_dict()
    rows = list(csv.DictReader((tmp_path / "s.csv").open()))
    assert [(int(r["track"]), r["label"], float(r["start"]), float(r["end"])) for r in rows] == \
        [(o.track, o.label, o.start, o.end) for o in found]
    assert summary["timelines"] == [str(tmp_path / "s.track1.png"), str(tmp_path / "s.track2.png")]
    assert all(cv2.imread(p) is not None for p in summary["timelines"])


def test_a_bad_rule_is_one_line_before_any_work(tmp_path, capsys):
    from main import main
    code = main(["segments", "--video", str(tmp_path / "none.avi"), "--out", str(tmp_path / "s.json"),
                 "--merge-gap", "-1", "--library", str(tmp_path / "lib.sqlite3")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and ">= 0" in err and "Traceback" not in err


# ------------------------------------------------------------------ a real video of known spans

@pytest.fixture(scope="module")
def falls(shared_dir, tmp_path_factory):
    """``focovil segments`` (in-process, through main.py) on the built video, with "falling" recorded
    from camera 1 of performer 6's fall only; returns the spans, the JSON written and the summary."""
    from main import main
    from focovil.training.data.spotting_video import FALLS_IN_CAPTURE, RECORD_FALL, build_video
    tmp = tmp_path_factory.mktemp("spotting")
    videos = shared_dir / "data" / "videos"
    built = build_video(videos, FALLS_IN_CAPTURE, tmp / "falls.avi")
    lib = str(tmp / "lib.sqlite3")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert main(["record", "--label", "falling", "--video", str(videos / RECORD_FALL), "--library", lib]) == 0
        assert main(["segments", "--video", str(tmp / "falls.avi"), "--out", str(tmp / "s.json"),
                     "--library", lib]) == 0
    return {"spans": built, "doc": json.loads((tmp / "s.json").read_text()), "tmp": tmp,
            "summary": json.loads(buf.getvalue().strip().splitlines()[-1])}


def test_segments_writes_its_files_and_names_nothing_but_the_falls(falls):
    """JSON, CSV and a timeline per track; every occurrence is a fall lying within a true fall's span
    (0.5 s of tolerance): nothing is named while only the never-recorded capture is in view."""
    doc, summary, tmp = falls["doc"], falls["summary"], falls["tmp"]
    assert summary["occurrences"] == len(doc["occurrences"]) and summary["out"] == str(tmp / "s.json")
    assert doc["rules"] == DEFAULT_RULES.as_dict() and doc["source"] == str(tmp / "falls.avi")
    assert summary["timelines"] == [str(tmp / f"s.track{k}.png") for k in doc["tracks"]] and doc["tracks"]
    assert all(cv2.imread(p) is not None for p in summary["timelines"])
    rows = list(csv.DictReader((tmp / "s.csv").open()))
    assert [(r["label"], float(r["start"])) for r in rows] == [(o["label"], o["start"]) for o in doc["occurrences"]]
    true = [s for s in falls["spans"] if s.label]
    assert len(true) == 2 and [round(s.end - s.start, 2) for s in true] == [2.07, 2.0]
    for o in doc["occurrences"]:
        assert o["label"] == "falling" and any(s.start - 0.5 <= o["start"] and o["end"] <= s.end + 0.5 for s in true), o


@pytest.mark.xfail(strict=True, reason="missed (benchmarks/spotting.py, docs/experiments/spotting.json): the first "
                   "fall is found at 4.4-5.2 s against 4.0-6.07 s (IoU 0.39), the second is never named")
def test_every_fall_is_found_with_its_boundaries(falls):
    """The target: precision and recall 1 at temporal IoU >= 0.5, each start and end within 0.5 s."""
    from focovil.training.data.spotting_video import score
    found = [Occurrence(**o) for o in falls["doc"]["occurrences"]]
    s = score(falls["spans"], found, [])
    assert s["target_met"], {k: s[k] for k in ("precision", "recall", "nearest")}
