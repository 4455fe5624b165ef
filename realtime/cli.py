"""The ``focovil`` command (and ``python main.py``): runs what ``realtime.command_line`` parses (its
docstring lists the commands): the window, headless recognition, recording, the library, embed,
segments. Each command is a few lines over realtime.session.Session, which owns the library, the
encoder, pose and the recognizer.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time

import numpy as np

try:   # checked before anything imports it, so that a missing FAISS is one line, not a traceback
    import faiss  # noqa: F401
except ImportError:
    print("error: FAISS is not installed; it is the prototype index: pip install faiss-cpu "
          "(or, with a CUDA GPU, faiss-gpu instead)", file=sys.stderr)
    raise SystemExit(2) from None

from focovil.realtime.files import atomic_write
from focovil.realtime.library import LibraryError
from focovil.realtime.api import ActionRecognizer
from focovil.realtime.messages import summary_message
from focovil.realtime.command_line import parse_args
from focovil.realtime.options import recognizer_from
from focovil.realtime.paths import DEMO_CLIP
from focovil.realtime.session import AppError, camera_available
from focovil.realtime.stream import EventServer, parse_address


def headless(rec: ActionRecognizer, spec: str | int, out: str | None = None, echo: bool = False,
             stream: EventServer | None = None) -> dict:
    """Labels for every window of a video (or camera): JSON lines to ``out`` (the message schema,
    ``realtime.messages``), a summary returned. ``stream``: label changes and the summary go there
    too (the lines stay the same, without skeletons)."""
    counts: dict[str, int] = {}
    tracks: dict[int, dict[str, int]] = {}
    t_start = time.perf_counter()
    s = rec.session
    sink = open(out, "w") if out else None
    try:
        for r in rec.recognize(spec, skeletons=bool(stream and stream.skeletons)):
            if stream:
                stream.publish_results((r,))
            counts[r.label] = counts.get(r.label, 0) + 1
            if r.track:
                per = tracks.setdefault(r.track, {})
                per[r.label] = per.get(r.label, 0) + 1
            if sink:
                line = r.message()
                line["skeleton"] = None          # skeletons are the stream's (--serve-skeletons), never the lines'
                sink.write(json.dumps(line) + "\n")
            if echo:
                print(f"{r.start:7.2f}-{r.time:6.2f}s  person {r.track}  {r.label:<24} "
                      f"score {r.score:.2f}  sim {r.similarity or 0:.3f}", flush=True)
        p50 = {f"{k}_ms_p50": None if v is None else round(v, 3) for k, v in
               ((k, s.timing.percentile(k, 50)) for k in ("pose", "encode", "search", "overhead"))}
        summary = summary_message(source=str(spec), frames=rec.stats.frames, frames_with_person=rec.stats.frames_with_person,
                                  frames_skipped=rec.stats.frames_skipped, pose_fps=s.settings.pose_rate(),
                                  windows=sum(counts.values()), labels=counts, tracks=len(tracks),
                                  labels_by_track={str(k): v for k, v in sorted(tracks.items())},
                                  prototypes=len(s.recognizer.labels), encoder=s.encoder.path.name,
                                  device=s.encoder.device, seconds=round(time.perf_counter() - t_start, 2), **p50,
                                  warnings=list(s.played.warnings))
        if sink:
            sink.write(json.dumps(summary) + "\n")
        if stream:
            stream.publish(summary)
    finally:
        if sink:
            sink.close()
    return summary


def record(rec: ActionRecognizer, label: str, video: str | None, start: float, end: float | None, camera: int | None,
           seconds: float, person: str | None = None) -> dict:
    """Adds prototypes of ``label`` from a video segment or a live camera recording, of one person
    (``person``: a track id or "largest"; default the largest)."""
    if person in (None, "largest"):
        who: int | str = "largest"
    elif str(person).isdigit():
        who = int(person)
    else:
        raise AppError(f"--person must be a track id (1, 2, ...) or 'largest', got {person!r}", "recording")
    ids = rec.record(label, video if video is not None else camera, start, end, seconds=seconds, person=who)
    return {"label": label, "added": len(ids), "prototype_ids": ids, "library": str(rec.library_path)}


def library_command(rec: ActionRecognizer, action: str, args: list[str], merge: bool = False) -> dict:
    if action == "list":
        return {"library": str(rec.library_path), "labels": rec.labels(), "prototypes": len(rec.session.library),
                "encoder": str(rec.session.encoder_path)}
    if action == "delete":
        return {"deleted": args[0], "prototypes_removed": rec.delete(args[0])}
    if action == "rename":
        rec.rename(args[0], args[1], merge=merge)
        return {"renamed": args[0], "to": args[1]}
    if action == "export":
        return {"exported": str(rec.export_library(args[0]))}
    return {"imported": rec.import_library(args[0]), "from": args[0]}


def embed(rec: ActionRecognizer, spec: str, out: str) -> dict:
    """Every window of ``spec`` as the live app sees it (raw canonical skeletons) and its embedding."""
    s = rec.session
    wins = list(s.windows(spec))
    if not wins:
        raise AppError(f"{spec}: no window with a person in view for at least {s.settings.min_coverage:.0%} of it")
    raw = np.stack([w.skeleton for w in wins]).astype(np.float32)
    vectors = s.encoder.embed(raw)
    arrays = {"start": np.array([w.start for w in wins]), "end": np.array([w.end for w in wins]),
              "coverage": np.array([w.coverage for w in wins], np.float32), "embeddings": vectors, "windows": raw,
              "metadata": np.array(s.encoder.meta.to_json()), "encoder": np.array(str(s.encoder.path)),
              "source": np.array(str(spec))}
    atomic_write(out, lambda tmp: np.savez_compressed(tmp, **arrays), suffix=".npz")
    return {"out": str(out), "windows": len(wins), "dim": int(vectors.shape[1]), "encoder": s.encoder.path.name,
            "window_s": s.settings.window_s, "stride_s": s.settings.stride_s, "warnings": list(s.played.warnings)}


def segments(rec: ActionRecognizer, spec: str, out: str, merge_gap: float | None = None,
             min_duration: float | None = None) -> dict:
    """The occurrences of every recorded action in ``spec`` (``realtime.spotting``), written as
    ``out`` (JSON), its CSV and a timeline PNG per track (``realtime.spotting_report``)."""
    from focovil.realtime import spotting, spotting_report
    t0, windows = time.perf_counter(), []
    rules = spotting.rules(merge_gap_s=merge_gap, min_duration_s=min_duration)
    found = rec.segments(spec, windows=windows, **rules.as_dict())
    st = rec.session.settings
    summary = spotting_report.write_all(
        out, windows, found, rules, str(spec), encoder=rec.session.encoder.path.name, library=str(rec.library_path),
        settings={k: getattr(st, k) for k in ("window_s", "stride_s", "smoothing", "strictness", "persons")},
        warnings=list(rec.session.played.warnings))
    return {**summary, "seconds": round(time.perf_counter() - t0, 2)}


def serving(a: argparse.Namespace):
    """The event stream of ``--serve`` (a context that closes it; without the option, None), after
    waiting ``--serve-wait`` seconds at most for a first client."""
    if not a.serve:
        return contextlib.nullcontext()
    srv = EventServer(*parse_address(a.serve), skeletons=a.serve_skeletons)
    wait = f", waiting up to {a.serve_wait:g} s for a client" if a.serve_wait > 0 else ""
    print(f"focovil: events on {srv.url}{wait}", file=sys.stderr, flush=True)
    if a.serve_wait > 0 and not srv.wait_for_client(a.serve_wait):
        print(f"focovil: no client after {a.serve_wait:g} s; starting", file=sys.stderr, flush=True)
    return srv


def display_available() -> bool:
    """A screen for the window: an X or Wayland display, or a Qt platform chosen explicitly."""
    if os.environ.get("QT_QPA_PLATFORM") or sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING, format="%(name)s: %(message)s")
    if a.command == "library":
        need = {"list": 0, "delete": 1, "rename": 2, "export": 1, "import": 1}[a.action]
        if len(a.args) != need:
            return fail(ValueError(f"library {a.action} takes {need} argument(s), got {len(a.args)}"))
    if a.command is None and a.headless and not a.video:
        return fail(ValueError("--headless needs --video FILE (or a camera index)"))
    if a.serve:
        try:
            parse_address(a.serve)
        except AppError as e:
            return fail(e)
    if a.command is None and not (a.headless or a.video) and display_available():
        from focovil.realtime.gui.launch import run_window
        return run_window(a, start=True)
    try:
        with recognizer_from(a) as s:
            if a.command == "record":
                out = record(s, a.label, a.video, a.start, a.end, a.camera, a.seconds, a.person)
            elif a.command == "library":
                out = library_command(s, a.action, a.args, a.merge)
            elif a.command == "embed":
                out = embed(s, a.video, a.out)
            elif a.command == "segments":
                out = segments(s, a.video, a.out, a.merge_gap, a.min_duration)
            elif a.headless or a.video:
                with serving(a) as stream:
                    out = headless(s, a.video, a.out, echo=not a.out, stream=stream)
            else:
                print("no display found: running the demo in the terminal (--headless does this on purpose)", flush=True)
                spec = 0 if camera_available(0) else str(DEMO_CLIP)
                print(f"FoCoViL demo on {'camera 0' if spec == 0 else DEMO_CLIP.name + ' (no camera found)'}", flush=True)
                with serving(a) as stream:
                    out = headless(s, spec, echo=True, stream=stream)
    except (AppError, LibraryError, ValueError, OSError) as e:
        return fail(e)
    print(json.dumps(out))
    return 0


def fail(e: Exception) -> int:
    print(f"error: {e}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
