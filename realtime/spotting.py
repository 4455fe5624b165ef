"""Action spotting: where each recorded action happens in a long video, from the per-window labels.

The recognizer answers every ``stride_s`` with the smoothed label of the last ``window_s`` seconds
(:class:`~focovil.realtime.messages.Result`). A user asking "where did she fall?" wants a few spans
instead: :func:`spot` turns the answers into :class:`Occurrence` s, per track, by these rules:

1. **Runs.** Consecutive results of one track (in time order) whose state is ``"action"`` with the
   same label form a run. Any other result (another action, unknown, idle, no person) ends it.
2. **Merging.** A run joins the previous run of the same label on the same track when only
   non-action results (unknown, idle, no person) lie between them and the two are at most
   ``merge_gap_s`` apart, measured from the end time of the first run's last window to the end time
   of the second run's first window (0.4 s = one non-action window at the default 0.2 s stride).
   A different action in between always keeps them apart.
3. **Minimum length.** After merging, an occurrence whose windows' end times span less than
   ``min_duration_s`` (0 for a lone window) is dropped: one or two stray windows are not an action.
4. **Boundaries.** A window's label describes its middle best, but arrives late (the vote is
   smoothed over past windows): ``start`` = the first window's centre + ``start_offset_s``,
   ``end`` = the last window's centre + ``end_offset_s`` (clamped to ``0 <= start <= end``).

The defaults (:data:`DEFAULT_RULES`: 0.4 s, 0.4 s, -0.3 s, +0.1 s) are for the app's default window
(1.8 s) and stride (0.2 s), chosen on NW-UCLA skeleton sequences (cross-view, actions of known span
joined with unrecorded ones): ``python benchmarks/spotting_choice.py --json
docs/experiments/spotting_choice.json``. A limit: when a person's track ends right after an action
(they leave, or the video cuts to someone else), the windows that would cover the action's end never
come, so its occurrence ends early or, for an action shorter than about a window, is never named.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Iterable

from focovil.realtime.messages import Result

__all__ = ["DEFAULT_RULES", "Occurrence", "Rules", "match", "rules", "spot", "temporal_iou"]


@dataclass(frozen=True)
class Rules:
    """How window labels become occurrences (the module docstring states each rule)."""
    merge_gap_s: float = 0.4
    min_duration_s: float = 0.4
    start_offset_s: float = -0.3
    end_offset_s: float = 0.1

    def __post_init__(self) -> None:
        if not all(math.isfinite(v) for v in asdict(self).values()):
            raise ValueError(f"spotting rules must be finite numbers, got {asdict(self)}")
        if self.merge_gap_s < 0 or self.min_duration_s < 0:
            raise ValueError(f"merge gap and minimum duration must be >= 0 s, got {self.merge_gap_s} and "
                             f"{self.min_duration_s}")

    def as_dict(self) -> dict:
        return asdict(self)


# Chosen by benchmarks/spotting_choice.py (docs/experiments/spotting_choice.json).
DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class Occurrence:
    """One spotted action: ``track`` did ``label`` from ``start`` to ``end`` seconds (stream time).
    ``best_similarity``: the highest similarity among its windows (None: none finite);
    ``windows``: how many of its windows named it."""
    track: int
    label: str
    start: float
    end: float
    best_similarity: float | None
    windows: int

    @property
    def duration(self) -> float:
        return self.end - self.start

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Run:
    label: str
    first: Result
    last: Result
    windows: int
    best: float | None


def _centre(r: Result) -> float:
    return (r.start + r.time) / 2.0


def _better(a: float | None, b: float | None) -> float | None:
    ok = [x for x in (a, b) if x is not None and math.isfinite(x)]
    return max(ok) if ok else None


def _runs(results: list[Result], merge_gap_s: float) -> list[_Run]:
    """Rules 1 and 2 on one track's results (in time order)."""
    runs: list[_Run] = []
    open_run: _Run | None = None       # the run the next action window may continue or merge into
    extends = False                    # the previous result was a window of open_run
    for r in results:
        if r.state != "action":
            extends = False
            continue
        if open_run is not None and open_run.label == r.label and \
                (extends or r.time - open_run.last.time <= merge_gap_s + 1e-9):
            open_run.last, open_run.windows = r, open_run.windows + 1
            open_run.best = _better(open_run.best, r.similarity)
        else:
            open_run = _Run(r.label, r, r, 1, _better(None, r.similarity))
            runs.append(open_run)
        extends = True
    return runs


def spot(results: Iterable[Result], *, merge_gap_s: float = DEFAULT_RULES.merge_gap_s,
         min_duration_s: float = DEFAULT_RULES.min_duration_s, start_offset_s: float = DEFAULT_RULES.start_offset_s,
         end_offset_s: float = DEFAULT_RULES.end_offset_s) -> list[Occurrence]:
    """The occurrences in ``results`` (any order, any tracks), sorted by start then track."""
    Rules(merge_gap_s, min_duration_s, start_offset_s, end_offset_s)        # checks them
    by_track: dict[int, list[Result]] = {}
    for r in results:
        by_track.setdefault(r.track, []).append(r)
    out = []
    for track, rs in by_track.items():
        rs.sort(key=lambda r: r.time)
        for run in _runs(rs, merge_gap_s):
            if run.last.time - run.first.time < min_duration_s - 1e-9:
                continue
            start = max(_centre(run.first) + start_offset_s, 0.0)
            end = max(_centre(run.last) + end_offset_s, start)
            out.append(Occurrence(track, run.label, round(start, 3), round(end, 3),
                                  None if run.best is None else round(run.best, 4), run.windows))
    return sorted(out, key=lambda o: (o.start, o.track))


def rules(**given: float | None) -> Rules:
    """:data:`DEFAULT_RULES` with the rules that were given (None: the default)."""
    base = DEFAULT_RULES.as_dict()
    unknown = set(given) - set(base)
    if unknown:
        raise ValueError(f"unknown spotting rule(s) {sorted(unknown)}; the rules are {sorted(base)}")
    return Rules(**{**base, **{k: float(v) for k, v in given.items() if v is not None}})


def temporal_iou(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Intersection over union of two time spans ``(start, end)``."""
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = max(a[1], b[1]) - min(a[0], b[0])
    return inter / union if union > 0 else float(a == b)


def match(found: Iterable[Occurrence], truth: Iterable[tuple[str, float, float]], min_iou: float = 0.5) -> dict:
    """Occurrences against true ``(label, start, end)`` spans, any track: one-to-one pairs of the same
    label at temporal IoU >= ``min_iou``, best IoU first. Returns precision, recall (1.0 when there is
    nothing to find or nothing was found) and each pair's start/end error (found - true, seconds)."""
    found, truth = list(found), list(truth)
    cands = sorted(((temporal_iou((o.start, o.end), (t[1], t[2])), i, j) for i, o in enumerate(found)
                    for j, t in enumerate(truth) if o.label == t[0]), reverse=True)
    used_f, used_t, pairs = set(), set(), []
    for iou, i, j in cands:
        if iou < min_iou or i in used_f or j in used_t:
            continue
        used_f.add(i)
        used_t.add(j)
        pairs.append({"label": truth[j][0], "true": [truth[j][1], truth[j][2]], "found": [found[i].start, found[i].end],
                      "iou": round(iou, 3), "start_error_s": round(found[i].start - truth[j][1], 3),
                      "end_error_s": round(found[i].end - truth[j][2], 3)})
    return {"precision": len(pairs) / len(found) if found else 1.0,
            "recall": len(pairs) / len(truth) if truth else 1.0, "found": len(found), "true": len(truth),
            "matched": len(pairs), "pairs": sorted(pairs, key=lambda p: p["true"])}
