"""Latency of one window through the exported encoder (batch 1), plus a FAISS search of its embedding.

``python benchmarks/encoder_latency.py [--weights weights/focovil_app.pt]`` prints JSON: p50/p95 in ms
for encode, search (inner-product index of ``--prototypes`` random unit vectors) and both together.
The live app's budget is encode + search p95 < 5 ms. ``--quick``: 20 iterations, 100 prototypes.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from focovil.realtime.paths import DEFAULT_ENCODER  # noqa: E402
from focovil.realtime.session import Session  # noqa: E402
from benchmarks.common import add_quick  # noqa: E402
from benchmarks.stats import percentiles  # noqa: E402


def pct(ms: list[float]) -> dict:
    return percentiles(ms, extra=("mean",), suffix="_ms")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", default=str(DEFAULT_ENCODER))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: 1, as the live app)")
    ap.add_argument("--iters", type=int, default=500)
    ap.add_argument("--prototypes", type=int, default=1000)
    add_quick(ap, "20 iterations, 100 prototypes")
    return ap


def main(argv: list[str] | None = None) -> int:
    import faiss
    a = parser().parse_args(argv)
    if a.quick:
        a.iters, a.prototypes = min(a.iters, 20), min(a.prototypes, 100)
    enc = Session(encoder=a.weights, device=a.device).encoder      # loaded as the live app loads it (1 thread)
    if a.threads:
        torch.set_num_threads(a.threads)
    rng = np.random.default_rng(0)
    base = rng.normal(size=(1, enc.window_frames, 20, 3)).astype(np.float32) * 0.3
    protos = rng.normal(size=(a.prototypes, enc.dim)).astype(np.float32)
    protos /= np.linalg.norm(protos, axis=1, keepdims=True)
    index = faiss.IndexFlatIP(enc.dim)
    index.add(protos)
    for _ in range(20):
        index.search(enc.embed(base), 5)
    enc_ms, search_ms, total_ms = [], [], []
    for i in range(a.iters):
        x = base + np.float32(0.001 * i)
        t0 = time.perf_counter()
        e = enc.embed(x)
        t1 = time.perf_counter()
        index.search(e, 5)
        t2 = time.perf_counter()
        enc_ms.append((t1 - t0) * 1e3); search_ms.append((t2 - t1) * 1e3); total_ms.append((t2 - t0) * 1e3)
    print(json.dumps({"weights": a.weights, "device": a.device, "torch_threads": torch.get_num_threads(),
                      "cpu": platform.processor() or platform.machine(), "window": enc.window_frames, "dim": enc.dim,
                      "prototypes": a.prototypes, "iters": a.iters, "encode": pct(enc_ms),
                      "search": pct(search_ms), "encode_plus_search": pct(total_ms)}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
