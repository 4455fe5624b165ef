"""The ``focovil`` command line (``realtime.cli`` runs it): the window, headless recognition, recording, the library.

  focovil                                   the window on camera 0, or on the shipped clip when there is none
                                            (no display: the same demo, labels printed in the terminal)
  focovil --headless --video FILE --out labels.jsonl
  focovil --headless --video FILE --serve 8765 --serve-wait 10   label changes to other programs (WebSocket)
  focovil record --label NAME (--video FILE --start S --end E | --camera N --seconds S)
  focovil library list | delete NAME | rename OLD NEW | export FILE | import FILE
  focovil embed --video FILE --out E.npz    the raw canonical windows of a video and their embeddings
  focovil segments --video FILE --out S.json   where each recorded action happens: S.json, S.csv, S.track<K>.png

Every command takes the session options (realtime.options: --library PATH, default a file in your data
folder created on first use, --encoder, --pose-model, --window, --stride, --strictness, --persons,
--pose-fps, --pose-gpu, --redetect, --verbose), before or after the command name alike; one given in
both places with different values is refused.
"""
from __future__ import annotations

import argparse

from focovil.realtime.options import add_session_options, merge_after


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="focovil", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_session_options(ap)
    ap.add_argument("--headless", action="store_true", help="no window: print/write labels")
    ap.add_argument("--video", help="video file (or camera index) to recognise")
    ap.add_argument("--out", help="JSON lines output, one per window, then a summary line")
    ap.add_argument("--serve", metavar="[HOST:]PORT", help="the event stream: each change of a person's label "
                    "as a JSON message to WebSocket clients (README: Event stream); host default 127.0.0.1")
    ap.add_argument("--serve-skeletons", action="store_true", help="with --serve: each message carries the skeleton")
    ap.add_argument("--serve-wait", type=float, default=0.0, metavar="SECONDS",
                    help="with --serve: wait up to SECONDS for a first client before reading the source, so a "
                         "client started with the command misses nothing of a file (default 0: start at once)")
    sub = ap.add_subparsers(dest="command")
    rec = sub.add_parser("record", help="add a labelled prototype")
    add_session_options(rec, after=True)
    rec.add_argument("--label", required=True)
    src = rec.add_mutually_exclusive_group(required=True)
    src.add_argument("--video")
    src.add_argument("--camera", type=int)
    rec.add_argument("--start", type=float, default=0.0)
    rec.add_argument("--end", type=float, default=None)
    rec.add_argument("--seconds", type=float, default=3.0)
    rec.add_argument("--person", default=None, help="with several people in view (--persons N): a track id "
                                                    "(as --headless prints them) or 'largest' (default)")
    lib = sub.add_parser("library", help="manage the prototype library")
    add_session_options(lib, after=True)
    lib.add_argument("action", choices=("list", "delete", "rename", "export", "import"))
    lib.add_argument("args", nargs="*")
    lib.add_argument("--merge", action="store_true", help="rename onto an existing label by merging")
    emb = sub.add_parser("embed", help="the windows of a video and their embeddings, to analyse your own footage")
    add_session_options(emb, after=True)
    emb.add_argument("--video", required=True, help="video file, image folder or camera index")
    emb.add_argument("--out", required=True, help=".npz to write: start, end, embeddings, windows, metadata")
    seg = sub.add_parser("segments", help="where each recorded action happens in a video (README: Action spotting)")
    add_session_options(seg, after=True)
    seg.add_argument("--video", required=True, help="video file, image folder or camera index")
    seg.add_argument("--out", required=True, help="S.json to write; S.csv and S.track<K>.png go beside it")
    seg.add_argument("--merge-gap", type=float, default=None, help="seconds; default: realtime.spotting's")
    seg.add_argument("--min-duration", type=float, default=None, help="seconds; default: realtime.spotting's")
    return ap


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line, each session option folded in wherever it stood (``realtime.options.merge_after``)."""
    ap = parser()
    try:
        return merge_after(ap.parse_args(argv))
    except ValueError as e:                 # one line, the exit status of argparse's own errors
        ap.exit(2, f"error: {e}\n")

