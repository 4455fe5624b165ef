"""FoCoViL: live, view-invariant action recognition from a camera.

  python main.py                                   the window on camera 0, or on the shipped clip when there is none
                                                   (no display: the same demo, labels printed in the terminal)
  python main.py --headless --video FILE --out labels.jsonl
  python main.py record --label NAME (--video FILE --start S --end E | --camera N --seconds S)
  python main.py library list | delete NAME | rename OLD NEW | export FILE | import FILE

Every command takes --library PATH (default: a file in your data folder, created on first use).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys


def _common(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--library", help="prototype library file (default: in your user data folder)")
    ap.add_argument("--encoder", help="exported encoder file (default: weights/focovil_app.pt)")
    ap.add_argument("--pose-model", help="a pose_landmarker_{lite,full,heavy}.task (default: shipped full)")
    ap.add_argument("--window", type=float, default=None, help="window length, seconds")
    ap.add_argument("--stride", type=float, default=None, help="seconds between labels")
    ap.add_argument("--threshold", type=float, default=None, help="similarity below which the answer is 'unknown'")
    ap.add_argument("--verbose", action="store_true", help="show the libraries' INFO/WARNING output")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    _common(ap)
    ap.add_argument("--headless", action="store_true", help="no window: print/write labels")
    ap.add_argument("--video", help="video file (or camera index) to recognise")
    ap.add_argument("--out", help="JSON lines output, one per window, then a summary line")
    sub = ap.add_subparsers(dest="command")
    rec = sub.add_parser("record", help="add a labelled prototype")
    _common(rec)
    rec.add_argument("--label", required=True)
    src = rec.add_mutually_exclusive_group(required=True)
    src.add_argument("--video")
    src.add_argument("--camera", type=int)
    rec.add_argument("--start", type=float, default=0.0)
    rec.add_argument("--end", type=float, default=None)
    rec.add_argument("--seconds", type=float, default=3.0)
    lib = sub.add_parser("library", help="manage the prototype library")
    _common(lib)
    lib.add_argument("action", choices=("list", "delete", "rename", "export", "import"))
    lib.add_argument("args", nargs="*")
    lib.add_argument("--merge", action="store_true", help="rename onto an existing label by merging")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if a.verbose else logging.WARNING, format="%(name)s: %(message)s")
    from realtime import app
    from realtime.pipeline import Settings
    s = Settings()
    for field, value in (("window_s", a.window), ("stride_s", a.stride), ("threshold", a.threshold)):
        if value is not None:
            setattr(s, field, value)
    try:
        if a.command == "record":
            if a.video is not None and a.end is None:
                a.end = float("inf")
            out = app.record(a.label, a.library, a.encoder, a.pose_model, s, video=a.video, start=a.start, end=a.end,
                             camera=a.camera, seconds=a.seconds, verbose=a.verbose)
        elif a.command == "library":
            need = {"list": 0, "delete": 1, "rename": 2, "export": 1, "import": 1}[a.action]
            if len(a.args) != need:
                return app.fail(ValueError(f"library {a.action} takes {need} argument(s), got {len(a.args)}"))
            out = app.library_command(a.action, a.args, a.library, a.encoder, a.merge)
        elif a.headless or a.video:
            if not a.video:
                return app.fail(ValueError("--headless needs --video FILE (or a camera index)"))
            video = int(a.video) if a.video.isdigit() else a.video
            out = app.headless(video, a.out, a.library, a.encoder, a.pose_model, s, a.verbose, echo=not a.out)
        elif app.display_available():
            from realtime.gui.app import main as gui_main
            source = "0" if app.camera_available(0) else str(app.DEMO_CLIP)
            args = ["--start", *(["--camera", "0"] if source == "0" else ["--video", source])]
            for flag, value in (("--library", a.library), ("--encoder", a.encoder), ("--pose-model", a.pose_model)):
                if value:
                    args += [flag, value]
            return gui_main(args)
        else:
            print("no display found: running the demo in the terminal (--headless does this on purpose)", flush=True)
            out = app.demo(a.library, a.encoder, a.pose_model, s, a.verbose)
    except (app.AppError, ValueError, OSError) as e:
        return app.fail(e)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
