"""Each GPU path against its CPU path on the same input: equal answers, and the time of each (JSON).

    python benchmarks/gpu_check.py --json gpu_check.json

Checks: (1) the encoder on CUDA (``load_encoder(device="cuda")``) against the CPU on real windows of
the demo clip and the default library's windows (largest difference, top-1 agreement, ms per window
batch); (2) a FAISS GPU index (``build_index(device="cuda")``, needs ``faiss-gpu``: ``./setup.sh --gpu``)
against the CPU flat index on 20,000 prototypes (same neighbours, ms per query); (3) MediaPipe's GPU
delegate (``PoseEstimator(gpu=True)``) against the CPU on 60 real frames (landmark difference, ms per
frame); (4) the whole headless demo on the GPU against the CPU (the same labels). On a machine
without a GPU each check says why it did not run, the JSON says ``"gpu": false`` and the exit code
is 0. Meant to take under 5 minutes on a machine with a GPU. ``--quick``: 10 frames for pose, 2,000
prototypes for FAISS.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from focovil.realtime.api import open as open_recognizer  # noqa: E402
from focovil.realtime.encoder import load_encoder  # noqa: E402
from focovil.realtime.index import build_index, gpu_available  # noqa: E402
from focovil.realtime.library import Library  # noqa: E402
from focovil.realtime.paths import DEFAULT_ENCODER, DEMO_CLIP, SHIPPED_LIBRARY  # noqa: E402
from focovil.realtime.pose import PoseEstimator, PoseModelError  # noqa: E402
from focovil.realtime.source import open_source  # noqa: E402
from benchmarks.common import add_quick  # noqa: E402


def timed(fn, repeat: int) -> tuple[object, float]:
    """``fn()``'s last result and its median time in ms over ``repeat`` calls (after one warm-up)."""
    out, times = fn(), []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return out, round(float(np.median(times)), 3)


def library_copy() -> Path:
    """A temporary copy of the shipped library: opening a library may write (journal mode, embeddings),
    and a check never changes a shipped file."""
    out = Path(tempfile.mkdtemp(prefix="gpu_check_")) / "library.sqlite3"
    shutil.copyfile(SHIPPED_LIBRARY, out)
    return out


def real_windows() -> np.ndarray:
    with Library(library_copy()) as lib:
        return np.stack([lib.raw_window(p.id) for p in lib.prototypes()]).astype(np.float32)


def check_encoder(cuda: bool) -> dict:
    import torch
    if not cuda:
        return {"ran": False, "why": "torch sees no CUDA device" + ("" if torch.version.cuda else " (a CPU build of torch)")}
    windows = real_windows()
    batch = np.concatenate([windows] * (64 // len(windows) + 1))[:64]
    cpu, gpu = load_encoder(DEFAULT_ENCODER, device="cpu"), load_encoder(DEFAULT_ENCODER, device="cuda")
    (a, ms_cpu), (b, ms_gpu) = timed(lambda: cpu.embed(batch), 20), timed(lambda: gpu.embed(batch), 20)
    (_, ms1_cpu), (_, ms1_gpu) = timed(lambda: cpu.embed(batch[:1]), 50), timed(lambda: gpu.embed(batch[:1]), 50)
    top1 = float(np.mean((a @ a.T).argsort(1)[:, -2] == (b @ b.T).argsort(1)[:, -2]))
    return {"ran": True, "max_abs_difference": float(np.abs(a - b).max()), "nearest_neighbour_agreement": top1,
            "equal": bool(np.abs(a - b).max() < 1e-3), "ms_batch64": {"cpu": ms_cpu, "cuda": ms_gpu},
            "ms_batch1": {"cpu": ms1_cpu, "cuda": ms1_gpu}, "device_name": torch.cuda.get_device_name(0)}


def check_faiss(n: int = 20000) -> dict:
    if not gpu_available():
        return {"ran": False, "why": "this FAISS build has no GPU support or sees no GPU (faiss-gpu: ./setup.sh --gpu)"}
    rng = np.random.default_rng(0)
    protos = rng.normal(size=(n, 256)).astype(np.float32)
    queries = protos[rng.choice(len(protos), 200)] + 0.1 * rng.normal(size=(200, 256)).astype(np.float32)
    cpu, gpu = build_index(protos, "flat", "cpu"), build_index(protos, "flat", "cuda")
    (sa, ia), ms_cpu = timed(lambda: cpu.search(queries[:1], 10), 100)
    (sb, ib), ms_gpu = timed(lambda: gpu.search(queries[:1], 10), 100)
    (sa, ia), (sb, ib) = cpu.search(queries, 10), gpu.search(queries, 10)
    return {"ran": True, "same_top1": float(np.mean(ia[:, 0] == ib[:, 0])), "same_top10": float(np.mean(ia == ib)),
            "max_score_difference": float(np.abs(sa - sb).max()), "equal": bool((ia[:, 0] == ib[:, 0]).all()),
            "ms_per_query": {"cpu": ms_cpu, "cuda": ms_gpu}, "prototypes": len(protos)}


def check_pose(frames: int = 60) -> dict:
    images = []
    with open_source(DEMO_CLIP) as src:
        images = [(f.image, int(f.t * 1000)) for f, _ in zip(src, range(frames))]
    out = {}
    for name, gpu in (("cpu", False), ("gpu", True)):
        try:
            with PoseEstimator(gpu=gpu) as pose:
                pose.detect_all(*images[0])                                   # warm-up
                t0 = time.perf_counter()
                found = [pose.detect_all(im, ts + 1) for im, ts in images[1:]]
                out[name] = ((time.perf_counter() - t0) * 1e3 / (len(images) - 1), found)
        except PoseModelError as e:
            return {"ran": False, "why": str(e)}
    (ms_cpu, a), (ms_gpu, b) = out["cpu"], out["gpu"]
    both = [(x[0].skeleton, y[0].skeleton) for x, y in zip(a, b) if x and y]
    gap = float(np.median([np.linalg.norm(s - t, axis=-1).mean() for s, t in both])) if both else None
    return {"ran": True, "frames_found": {"cpu": sum(map(bool, a)), "gpu": sum(map(bool, b))},
            "median_joint_difference_m": gap, "equal": gap is not None and gap < 0.02,
            "ms_per_frame": {"cpu": round(ms_cpu, 2), "gpu": round(ms_gpu, 2)}}


def check_end_to_end(cuda: bool, pose_gpu: bool) -> dict:
    if not cuda:
        return {"ran": False, "why": "no CUDA device for the encoder"}
    runs = {}
    for name, device, on_gpu in (("cpu", "cpu", False), ("gpu", "cuda", pose_gpu)):
        with open_recognizer(library_copy(), device=device) as rec:
            rec.session.settings.pose_gpu = on_gpu
            t0 = time.perf_counter()
            runs[name] = ([r.label for r in rec.recognize(DEMO_CLIP)], time.perf_counter() - t0)
    return {"ran": True, "equal": runs["cpu"][0] == runs["gpu"][0], "labels": {k: v[0] for k, v in runs.items()},
            "seconds": {k: round(v[1], 2) for k, v in runs.items()}, "pose_on_gpu": pose_gpu}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", help="write the result here too")
    add_quick(ap, "10 frames for pose, 2,000 FAISS prototypes")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    import faiss
    import torch
    t0 = time.time()
    cuda = torch.cuda.is_available()
    checks = {"encoder": check_encoder(cuda), "faiss": check_faiss(2000 if a.quick else 20000),
              "pose": check_pose(10 if a.quick else 60)}
    checks["end_to_end"] = check_end_to_end(cuda, checks["pose"]["ran"])
    any_gpu = any(c["ran"] for c in checks.values())
    result = {"gpu": any_gpu, "message": "GPU paths checked" if any_gpu else
              "no GPU: " + "; ".join(f"{k}: {c['why']}" for k, c in checks.items()),
              "checks": checks, "torch": torch.__version__, "faiss": faiss.__version__, "python": platform.python_version(),
              "seconds": round(time.time() - t0, 1)}
    text = json.dumps(result, indent=2)
    if a.json:
        Path(a.json).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
