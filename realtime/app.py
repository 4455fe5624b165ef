"""The command-line app: headless recognition, recording prototypes, managing the library, the demo.

``main.py`` only parses arguments and calls these. Every command takes ``--library PATH``; the
default is a file in the user's data folder, created on first use from the library shipped in
``weights/default_library.sqlite3`` (so a new user sees the demo recognise something at once).
"""
from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from realtime.encoder import EncoderFileError, load_encoder
from realtime.library import Library, LibraryError, default_library_path, file_sha256
from realtime.pipeline import Recognizer, Settings, run, segment_windows, skeletons_of_video
from realtime.source import SourceError, open_source

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ENCODER = ROOT / "weights" / "focovil_app.pt"
SHIPPED_LIBRARY = ROOT / "weights" / "default_library.sqlite3"
DEMO_CLIP = Path(__file__).resolve().parent / "assets" / "demo_drink_water.avi"
log = logging.getLogger("focovil")


class AppError(RuntimeError):
    """A problem to show the user in one line (no traceback)."""


def open_library(path: str | Path | None) -> Library:
    """The user's library; the default one starts as a copy of the shipped demo library."""
    target = Path(path) if path else default_library_path()
    if path is None and not target.exists() and SHIPPED_LIBRARY.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        shutil.copyfile(SHIPPED_LIBRARY, tmp)
        tmp.replace(target)
        log.info("created %s from the shipped demo library", target)
    try:
        return Library(target)
    except LibraryError as e:
        raise AppError(str(e)) from e


def active_encoder_path(lib: Library) -> Path:
    """The encoder a library runs on when ``--encoder`` is not given: the one ``training.retrain``
    promoted it to (``Library.active_encoder``), else the shipped default. A promoted file that is gone
    or no longer matches its recorded sha256 is not trusted: a warning, and the default is used."""
    rec = lib.active_encoder()
    if rec is None:
        return DEFAULT_ENCODER
    path = Path(rec["file"])
    if not path.is_file() or file_sha256(path) != rec.get("sha256"):
        log.warning("the library's active encoder %s is missing or was changed; using %s", path, DEFAULT_ENCODER)
        return DEFAULT_ENCODER
    return path


def open_encoder(path: str | Path | None, device: str | None = None, library: Library | None = None):
    """``path``, else the library's active encoder (when a library is given), else the default."""
    if path is None and library is not None:
        path = active_encoder_path(library)
    try:
        return load_encoder(path or DEFAULT_ENCODER, device=device, cpu_threads=1)
    except EncoderFileError as e:
        raise AppError(str(e)) from e


def _pose(model: str | None, verbose: bool):
    from realtime.pose import PoseEstimator
    try:
        return PoseEstimator(**({"model_path": model} if model else {}), verbose=verbose)
    except (FileNotFoundError, RuntimeError) as e:
        raise AppError(str(e)) from e


def _source(spec, fps: float | None = None):
    try:
        return open_source(spec, fps=fps)
    except SourceError as e:
        raise AppError(str(e)) from e


def headless(video: str | int, out: str | Path | None, library: str | None, encoder: str | None,
             pose_model: str | None, settings: Settings, verbose: bool = False, echo: bool = False) -> dict:
    """Labels for every window of a video (or camera): JSON lines to ``out``, a summary returned."""
    with open_library(library) as lib:
        enc = open_encoder(encoder, library=lib)
        rec = Recognizer(enc, lib, settings)
        counts: dict[str, int] = {}
        n_frames = n_person = 0
        pose_ms, enc_ms, search_ms, overhead_ms = [], [], [], []
        sink = open(out, "w") if out else None
        t_start = time.perf_counter()
        try:
            with _source(video) as src, _pose(pose_model, verbose) as pose:
                for fr in run(src, pose, rec):
                    n_frames += 1
                    n_person += fr.pose is not None
                    pose_ms.append(fr.pose_ms)
                    overhead_ms.append(fr.overhead_ms)
                    for w in fr.windows:
                        line = w.to_json()
                        counts[line["label"]] = counts.get(line["label"], 0) + 1
                        if w.encode_ms:
                            enc_ms.append(w.encode_ms); search_ms.append(w.search_ms)
                        if sink:
                            sink.write(json.dumps(line) + "\n")
                        if echo:
                            print(f"{line['start']:7.2f}-{line['end']:6.2f}s  {line['label']:<24} "
                                  f"score {line['score']:.2f}  sim {line['similarity'] or 0:.3f}", flush=True)
                warnings = list(src.warnings)
        finally:
            if sink:
                sink.close()
        def p(a, q):
            return round(float(np.percentile(a, q)), 3) if a else None
        summary = {"summary": True, "source": str(video), "frames": n_frames, "frames_with_person": n_person,
                   "windows": sum(counts.values()), "labels": counts, "prototypes": len(rec.labels),
                   "encoder": enc.path.name, "device": enc.device, "seconds": round(time.perf_counter() - t_start, 2),
                   "pose_ms_p50": p(pose_ms, 50), "encode_ms_p50": p(enc_ms, 50), "search_ms_p50": p(search_ms, 50),
                   "overhead_ms_p50": p(overhead_ms, 50), "warnings": warnings}
        if sink:
            with open(out, "a") as f:
                f.write(json.dumps(summary) + "\n")
        return summary


def record(label: str, library: str | None, encoder: str | None, pose_model: str | None, settings: Settings,
           video: str | None = None, start: float = 0.0, end: float | None = None,
           camera: int | None = None, seconds: float = 3.0, verbose: bool = False) -> dict:
    """Adds prototypes of ``label`` from a video segment or a live camera recording."""
    with open_library(library) as lib:
        enc = open_encoder(encoder, library=lib)
    spec = video if video is not None else camera
    stop = end if video is not None else seconds
    try:
        times, skels = skeletons_of_video(spec, pose_model, start, float("inf") if stop is None else stop, verbose)
    except (SourceError, FileNotFoundError, RuntimeError) as e:
        raise AppError(str(e)) from e
    if not len(times):
        raise AppError(f"no frames between {start} s and {stop} s in {spec}")
    try:
        windows = segment_windows(times, skels, enc.window, settings.window_s)
    except ValueError as e:
        raise AppError(f"{spec}: {e}") from e
    with open_library(library) as lib:
        ids = [lib.add_prototype(label, w, source=str(spec), start_s=float(times[0]), end_s=float(times[-1]), encoder=enc)
               for w in windows]
        return {"label": label, "added": len(ids), "prototype_ids": ids, "library": str(lib.path),
                "frames": len(times), "frames_with_person": int(np.isfinite(skels).all(axis=(1, 2)).sum())}


def library_command(action: str, args: list[str], library: str | None, encoder: str | None, merge: bool = False) -> dict:
    with open_library(library) as lib:
        if action == "list":
            return {"library": str(lib.path), "labels": dict(lib.list_labels()), "prototypes": len(lib),
                    "encoder": str(encoder or active_encoder_path(lib))}
        if action == "delete":
            return {"deleted": args[0], "prototypes_removed": lib.delete_label(args[0])}
        if action == "rename":
            lib.rename_label(args[0], args[1], merge=merge)
            return {"renamed": args[0], "to": args[1]}
        if action == "export":
            return {"exported": str(lib.export_to(args[0]))}
        if action == "import":
            return {"imported": lib.import_from(args[0], encoder=open_encoder(encoder, library=lib)), "from": args[0]}
    raise AppError(f"unknown library action {action!r}")


def camera_available(index: int = 0) -> bool:
    try:
        with open_source(index):
            return True
    except SourceError:
        return False


def display_available() -> bool:
    """A screen for the window: an X or Wayland display, or a Qt platform chosen explicitly."""
    import os
    if os.environ.get("QT_QPA_PLATFORM"):
        return True
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def demo(library: str | None, encoder: str | None, pose_model: str | None, settings: Settings, verbose: bool) -> dict:
    """The camera if there is one, else the shipped real clip, labels printed as they come."""
    spec: str | int = 0 if camera_available(0) else str(DEMO_CLIP)
    print(f"FoCoViL demo on {'camera 0' if spec == 0 else DEMO_CLIP.name + ' (no camera found)'}", flush=True)
    return headless(spec, None, library, encoder, pose_model, settings, verbose, echo=True)


def fail(e: Exception) -> int:
    print(f"error: {e}", file=sys.stderr)
    return 2
