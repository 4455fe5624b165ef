"""Per-stage timing of the real pipeline on real video: pose, window/encode/search, overhead, end to end.

Runs the clip (looped ``--repeat`` times) through the app's own loop, ``Session.frames``: MediaPipe
pose and the recogniser exactly as the app does (decoding is the camera's job and is in no stage's
time). Prints JSON with p50/p95:

* ``pose_ms``: per frame; ``encode_ms`` / ``search_ms``: per window;
* ``overhead_ms``: everything else per frame (windowing, resampling, classifying), and its ratio
  to pose time (goal < 10 %);
* ``frame_to_label_ms``: for frames that complete a window, from handing the frame to pose until
  the label is out.

``python benchmarks/pipeline_latency.py [--video V] [--repeat N]``; ``--quick``: one pass over the clip.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from focovil.realtime.paths import DEFAULT_ENCODER, DEMO_CLIP, SHIPPED_LIBRARY  # noqa: E402
from focovil.realtime.session import Session  # noqa: E402
from focovil.realtime.source import open_source  # noqa: E402
from benchmarks.common import add_quick  # noqa: E402
from benchmarks.stats import percentiles  # noqa: E402


def pct(a: list[float]) -> dict:
    return percentiles(a, extra=("n",))


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default=str(DEMO_CLIP))
    ap.add_argument("--repeat", type=int, default=3, help="passes over the clip (timestamps continue)")
    ap.add_argument("--device", default=None)
    add_quick(ap, "one pass over the clip")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    if a.quick:
        a.repeat = 1
    with open_source(a.video) as src:
        first = next(iter(src))
        n_frames = sum(1 for _ in src) + 1
    pose_ms, enc_ms, search_ms, over_ms, e2e_ms = [], [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        lib_path = Path(tmp) / "lib.sqlite3"
        shutil.copy(SHIPPED_LIBRARY, lib_path)
        with Session(lib_path, DEFAULT_ENCODER, device=a.device) as s:
            for i, fr in enumerate(s.frames(a.video, loop=True)):        # exactly the app's per-frame path
                if i == n_frames * a.repeat:
                    break
                pose_ms.append(fr.pose_ms)
                over_ms.append(fr.overhead_ms)
                labelled = [w for w in fr.windows if w.encode_ms]
                for w in labelled:
                    enc_ms.append(w.encode_ms); search_ms.append(w.search_ms)
                if labelled:
                    e2e_ms.append(fr.pose_ms + fr.overhead_ms + sum(w.encode_ms + w.search_ms for w in labelled))
            n_protos, enc = len(s.recognizer.labels), s.encoder
    print(json.dumps({"video": Path(a.video).name, "frames": n_frames * a.repeat, "resolution": list(first.image.shape[1::-1]),
                      "encoder": enc.path.name, "device": enc.device, "prototypes": n_protos,
                      "cpu": platform.processor() or platform.machine(),
                      "pose_ms": pct(pose_ms), "encode_ms": pct(enc_ms), "search_ms": pct(search_ms),
                      "overhead_ms": pct(over_ms),
                      "overhead_ratio_of_pose_p50": round(float(np.median(over_ms) / np.median(pose_ms)), 4),
                      "overhead_ratio_of_pose_mean": round(float(np.mean(over_ms) / np.mean(pose_ms)), 4),
                      "frame_to_label_ms": pct(e2e_ms)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
