"""What ``focovil segments`` writes: the occurrences as JSON and CSV, and a timeline picture per track.

JSON, so a program gets the spans with the rules and settings that made them (a number without its
rules cannot be compared); CSV, so a spreadsheet opens them; a PNG per track, so a person sees at a
glance what each window was called and which stretches became occurrences. Matplotlib draws on its
own Agg canvas (no pyplot), so writing a picture never changes the backend of a program with a window.
"""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from focovil.realtime.files import atomic_text, atomic_write
from focovil.realtime.messages import SCHEMA_VERSION, Result
from focovil.realtime.spotting import Occurrence, Rules

RULES_TEXT = ("runs: consecutive windows of one track named the same action; merged: runs of one label on one "
              "track at most merge_gap_s apart (window end times) with only unknown/idle/no person between; dropped: "
              "occurrences whose windows' end times span less than min_duration_s; start = first window centre + "
              "start_offset_s, end = last window centre + end_offset_s")
CSV_FIELDS = ("track", "label", "start", "end", "best_similarity")
STATES = ("unknown", "idle", "no person")
_STATE_COLOURS = {"unknown": "#a8a8a8", "idle": "#d2cfa6", "no person": "#dedede"}


def paths(out: str | Path) -> tuple[Path, Path, str]:
    """``S.json`` -> (``S.json``, ``S.csv``, the timeline pattern ``S.track{}.png``)."""
    out = Path(out)
    stem = out.with_suffix("") if out.suffix.lower() == ".json" else out
    return out, stem.with_name(stem.name + ".csv"), str(stem.with_name(stem.name + ".track{}.png"))


def write_json(path: str | Path, occurrences: list[Occurrence], rules: Rules, **about: object) -> Path:
    """The occurrences, the rules that made them and ``about`` (source, settings, ...) as one JSON file."""
    doc = {"schema": SCHEMA_VERSION, "type": "segments", **about, "rules": rules.as_dict(), "rules_text": RULES_TEXT,
           "occurrences": [o.as_dict() for o in occurrences]}
    return atomic_text(path, json.dumps(doc, indent=1) + "\n")


def write_csv(path: str | Path, occurrences: list[Occurrence]) -> Path:
    """``track,label,start,end,best_similarity``, one row per occurrence."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(CSV_FIELDS)
    for o in occurrences:
        w.writerow(["" if getattr(o, f) is None else getattr(o, f) for f in CSV_FIELDS])
    return atomic_text(path, buf.getvalue())


def _colours(labels: list[str]) -> dict[str, str]:
    from matplotlib import colormaps
    cmap = colormaps["tab10"]
    out = {lab: cmap(i % 10) for i, lab in enumerate(sorted(lab for lab in labels if lab not in STATES))}
    return {**out, **{s: _STATE_COLOURS[s] for s in STATES}}


def timeline(path: str | Path, results: list[Result], occurrences: list[Occurrence], title: str,
             truth: list[tuple[str, float, float]] | None = None, duration: float | None = None) -> Path:
    """One track's timeline as a PNG: a row per label with a bar for each window that was given it
    (drawn from the window's centre to the next one's), the spotted occurrences in a row above, and
    the true spans (``truth``: ``(label, start, end)``) above those when known. ``duration``: the
    time axis's end (the same for every track of a video; default: this track's last window)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    rs = sorted(results, key=lambda r: r.time)
    centres = np.array([(r.start + r.time) / 2 for r in rs])
    step = float(np.median(np.diff(centres))) if len(rs) > 1 else 0.2
    actions = sorted({r.label for r in rs if r.state == "action"} | {o.label for o in occurrences}
                     | {t[0] for t in truth or []})
    states = [s for s in STATES if any(r.label == s for r in rs)]
    colours = _colours(actions + states)
    rows = (["true spans"] if truth is not None else []) + ["spotted"] + actions + states
    y = {name: len(rows) - 1 - i for i, name in enumerate(rows)}
    fig = Figure(figsize=(12, 1.4 + 0.42 * len(rows)), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    # each window's bar reaches the next window's centre (one stride when that one is far or absent)
    widths = [b - a if b - a <= 1.5 * step else step for a, b in zip(centres, list(centres[1:]) + [np.inf])]
    for lab in actions + states:
        spans = [(c - step / 2, w) for c, w, r in zip(centres, widths, rs) if r.label == lab]
        ax.broken_barh(spans, (y[lab] - 0.35, 0.7), facecolors=colours[lab], edgecolor="none")
    end = max(duration or max([float(rs[-1].time) if rs else 0.0] + [o.end for o in occurrences]
                              + [t[2] for t in truth or []]), 1.0)
    for o in occurrences:
        ax.broken_barh([(o.start, max(o.end - o.start, 0.02))], (y["spotted"] - 0.38, 0.76),
                       facecolors=colours[o.label], edgecolor="black", linewidth=0.8)
        inside = o.end - o.start > 0.1 * end          # the text fits in the bar, else it goes beside it
        ax.text((o.start + o.end) / 2 if inside else o.end + 0.005 * end, y["spotted"], f"{o.start:.1f}-{o.end:.1f} s",
                ha="center" if inside else "left", va="center", fontsize=8, color="white" if inside else "black")
    for lab, s, e in truth or []:
        ax.broken_barh([(s, e - s)], (y["true spans"] - 0.38, 0.76), facecolors="none",
                       edgecolor=colours.get(lab, "black"), linewidth=1.6, hatch="//")
    ax.set_yticks([y[n] for n in rows], rows)
    ax.set_ylim(-0.6, len(rows) - 0.4)
    ax.set_xlim(0, end)
    ax.set_xlabel("time in the video (s); window labels drawn at each window's centre")
    ax.grid(axis="x", alpha=0.3)
    ax.set_axisbelow(True)
    for sep in ([y["spotted"] - 0.5] if actions or states else []):
        ax.axhline(sep, color="black", linewidth=0.6)
    ax.set_title(title, fontsize=11)
    handles = [Patch(facecolor=colours[lab], label=lab) for lab in actions + states]
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png"), suffix=".png")


def write_all(out: str | Path, results: list[Result], occurrences: list[Occurrence], rules: Rules,
              source: str, truth: list[tuple[str, float, float]] | None = None, **about: object) -> dict:
    """``S.json``, ``S.csv`` and ``S.track<K>.png`` (each track with a person; track 0 only when nobody
    was ever tracked) for ``out`` = ``S.json``; returns the one-line summary of what was written."""
    json_path, csv_path, png = paths(out)
    tracks = sorted({r.track for r in results if r.track}) or sorted({r.track for r in results})
    end = max([r.time for r in results] + [o.end for o in occurrences] + [t[2] for t in truth or []] + [1.0])
    write_json(json_path, occurrences, rules, source=source, tracks=tracks, windows=len(results), **about)
    write_csv(csv_path, occurrences)
    pictures = []
    for k in tracks:
        mine = [o for o in occurrences if o.track == k]
        title = (f"{Path(source).name}: person {k}" if k else f"{Path(source).name}: nobody tracked") + \
            f" ({len(mine)} occurrence{'s' * (len(mine) != 1)})"
        pictures.append(str(timeline(png.format(k), [r for r in results if r.track == k], mine, title, truth, end)))
    by_label: dict[str, int] = {}
    for o in occurrences:
        by_label[o.label] = by_label.get(o.label, 0) + 1
    return {"out": str(json_path), "csv": str(csv_path), "timelines": pictures, "occurrences": len(occurrences),
            "by_label": by_label, "tracks": tracks, "windows": len(results)}
