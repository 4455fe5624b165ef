"""What the benchmarks share besides ``stats.py``: ``--quick``, one line when the data is missing, short clips.

``--quick`` runs a benchmark's own code on tiny inputs (few frames, windows, iterations; the real
clips cut to their first seconds by :func:`short_videos`) and prints the same JSON: the test suite
runs every benchmark that way (``tests/test_benchmarks.py``). It only shrinks sizes; the full run
is the default.
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path

QUICK_CLIP_S = 3.5        # the real clips cut for --quick (the same cut everywhere: their skeletons are cached once)


def add_quick(ap: argparse.ArgumentParser, what: str) -> None:
    """``--quick``: the same code on tiny inputs (``what`` says how this benchmark shrinks)."""
    ap.add_argument("--quick", action="store_true", help=f"tiny inputs, the same code and JSON (the test suite): {what}")


def shared_default(rel: str) -> str:
    """A default data path under the shared-data root (``$FOCOVIL_SHARED``, else ``../shared``), read now."""
    from focovil.realtime.paths import shared_root
    return str(shared_root() / rel)


def refuse(message: str) -> None:
    """Exit 2 with ``message`` as one line on stderr, after the benchmark's name."""
    name = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "this benchmark"
    print(f"{name}: {' '.join(message.split())}", file=sys.stderr)
    raise SystemExit(2)


def need(*paths: str | Path, what: str = "the real data") -> None:
    """Exit 2 with one line on stderr naming the first of ``paths`` that does not exist (and, for one
    in the shared data folder, where that folder is looked for)."""
    from focovil.realtime.paths import shared_root
    for p in paths:
        if not Path(p).exists():
            shared = Path(p).absolute().is_relative_to(shared_root().absolute())
            refuse(f"needs {what}: {p} not found" + (" (the shared data folder: ../shared beside the checkout, "
                                                      "or $FOCOVIL_SHARED)" if shared else ""))


def first_frames(src: str | Path, out: str | Path, n: int) -> Path:
    """Write the first ``n`` frames of video ``src`` to ``out`` (MJPG, or MPEG-4 for ``.mp4``), at its rate."""
    import cv2
    cap, writer = cv2.VideoCapture(str(src)), None
    fps = cap.get(cv2.CAP_PROP_FPS) or 30.0
    fourcc = cv2.VideoWriter_fourcc(*("mp4v" if Path(out).suffix.lower() == ".mp4" else "MJPG"))
    try:
        for _ in range(n):
            ok, img = cap.read()
            if not ok:
                break
            writer = writer or cv2.VideoWriter(str(out), fourcc, fps, (img.shape[1], img.shape[0]))
            writer.write(img)
    finally:
        cap.release()
        if writer is not None:
            writer.release()
    return Path(out)


def video_info(path: str | Path) -> dict:
    """Frames, frame rate, duration (s) and resolution of a video, as its header says."""
    import cv2
    cap = cv2.VideoCapture(str(path))
    n, fps, w, h = (cap.get(p) for p in (cv2.CAP_PROP_FRAME_COUNT, cv2.CAP_PROP_FPS, 3, 4))
    cap.release()
    return {"frames": int(n), "fps": fps, "seconds": round(n / fps, 3) if fps else 0.0, "resolution": [int(w), int(h)]}


def short_videos(videos: str | Path, rels: Iterable[str], out: str | Path, seconds: float) -> Path:
    """A videos folder ``out`` holding each of ``rels`` (the same relative path) cut to its first
    ``seconds``; a clip no longer than that is linked as it is (its cached skeletons stay valid).
    The cut is written the same way every time, so its skeletons are cached too."""
    videos, out = Path(videos), Path(out)
    for rel in dict.fromkeys(rels):
        src, dst = videos / rel, out / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        info = video_info(src)
        keep = max(1, int(round(seconds * info["fps"])))
        if info["frames"] <= keep:
            os.symlink(src.resolve(), dst)
        else:
            first_frames(src, dst, keep)
    return out
