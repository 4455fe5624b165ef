"""FAISS at library scale: build time, batch-1 search latency and recall@10 of the index the app picks.

``python benchmarks/faiss_scale.py`` prints JSON. For each size (default 1k, 10k, 100k unit vectors of
dim 256) and each data shape it builds ``build_index(kind="auto")`` (what the app uses), the exact
flat index, and the IVF alternative, then times ``--queries`` single-query searches (k=10) and
measures recall@10 against the exact answer. Queries are stored vectors plus noise (cosine ~0.9).

Data shapes: ``real`` is what a library really holds: the shipped app encoder's embeddings of real
1.8 s skeleton windows cut at random from Kinder-Gator and NW-UCLA views 1+2, queried with windows
from NW-UCLA view 3 (needs ``../shared``); ``clustered`` has ~50 vectors per centre; ``uniform`` is
structureless random vectors, the worst case for any approximate index because the 2nd..10th
neighbours of a query are near-ties. ``--quick``: 500 vectors, 20 queries, every data shape and kind.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import faiss  # noqa: E402

from focovil.realtime.index import APPROX_THRESHOLD, HNSW_EF_SEARCH, HNSW_M, IVF_NPROBE, build_index, gpu_available  # noqa: E402
from benchmarks.common import add_quick, need  # noqa: E402
from benchmarks.stats import percentiles  # noqa: E402


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def make_data(shape: str, n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    if shape == "uniform":
        return unit(rng.normal(size=(n, d)))
    centres = unit(rng.normal(size=(max(1, n // 50), d)))
    return unit(centres[rng.integers(0, len(centres), n)] + rng.normal(size=(n, d)) * 0.6 / np.sqrt(d))


def real_windows(n: int, rng: np.random.Generator, views: tuple[int, ...], with_kg: bool) -> tuple[np.ndarray, int]:
    """Embeddings of ``n`` random 1.8 s windows of real skeleton data (app encoder), and their dim."""
    import torch
    from focovil.realtime.paths import shared_root
    from focovil.realtime.session import Session
    from focovil.training.data import ClipBank, load_kinder_gator, load_nwucla
    shared = shared_root() / "data"
    enc = Session(device="cpu", cpu_threads=None).encoder     # the app's default encoder
    clips = load_nwucla(shared / "nw-ucla/all_sqe", views=views)
    if with_kg:
        clips += load_kinder_gator(shared / "kinder-gator/kinder_gator.npz", fps=15.0)
    bank = ClipBank(clips)
    idx = torch.from_numpy(rng.integers(0, len(bank), n))
    frac = torch.clamp(27.0 / bank.lengths[idx].float(), max=1.0)            # 1.8 s at 15 fps
    start = torch.from_numpy(rng.random(n)).float() * (1 - frac)
    out = [enc.embed(bank.crop(idx[i:i + 2048], start[i:i + 2048], (start + frac)[i:i + 2048], enc.window_frames).numpy())
           for i in range(0, n, 2048)]
    return np.concatenate(out).astype(np.float32), enc.dim


def measure(x: np.ndarray, q: np.ndarray, exact: np.ndarray, kind: str, k: int) -> dict:
    t0 = time.perf_counter()
    idx = build_index(x, kind=kind)
    build_s = time.perf_counter() - t0
    for row in q[:10]:  # warm up
        idx.search(row, k)
    ms, found = [], []
    for row in q:
        t0 = time.perf_counter()
        _, i = idx.search(row, k)
        ms.append((time.perf_counter() - t0) * 1e3)
        found.append(i[0])
    recall = float(np.mean([len(set(a) & set(b)) / k for a, b in zip(exact, found)]))
    return {"kind": idx.kind, "device": idx.device, "build_s": round(build_s, 3),
            **{f"search_ms_{k}": v for k, v in percentiles(ms).items()},
            f"recall_at_{k}": round(recall, 4)}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--data", default="real,clustered,uniform", help="comma list of: real, clustered, uniform")
    ap.add_argument("--kinds", default="auto,flat,ivf", help="comma list of build_index kinds to measure")
    ap.add_argument("--seed", type=int, default=0)
    add_quick(ap, "500 vectors, 20 queries")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    if a.quick:
        a.sizes, a.queries = "500", min(a.queries, 20)
    if "real" in a.data.split(","):
        from focovil.realtime.paths import shared_root
        data = shared_root() / "data"
        need(data / "nw-ucla/all_sqe", data / "kinder-gator/kinder_gator.npz", what="NW-UCLA and Kinder-Gator for --data real")
    rng = np.random.default_rng(a.seed)
    results = []
    for shape in a.data.split(","):
        for n in (int(s) for s in a.sizes.split(",")):
            if shape == "real":
                x, dim = real_windows(n, rng, (1, 2), with_kg=True)
                q, _ = real_windows(a.queries, rng, (3,), with_kg=False)
            else:
                dim = a.dim
                x = make_data(shape, n, dim, rng)
                q = unit(x[rng.integers(0, n, a.queries)] + rng.normal(size=(a.queries, dim)) * 0.5 / np.sqrt(dim))
            ref = faiss.IndexFlatIP(dim)
            ref.add(x)
            _, exact = ref.search(q, a.k)
            row = {"data": shape, "n": n, "dim": dim}
            for kind in a.kinds.split(","):
                row[kind] = measure(x, q, exact, kind, a.k)
                print(json.dumps({"progress": shape, "n": n, kind: row[kind]}), file=sys.stderr, flush=True)
            results.append(row)
    print(json.dumps({
        "benchmark": "faiss_scale", "faiss": faiss.__version__, "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(), "omp_threads": faiss.omp_get_max_threads(),
        "load_average_at_end": [round(v, 2) for v in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "gpu": gpu_available(), "queries": a.queries, "k": a.k, "batch": 1,
        "auto_threshold": APPROX_THRESHOLD, "hnsw": {"M": HNSW_M, "efSearch": HNSW_EF_SEARCH}, "ivf_nprobe": IVF_NPROBE,
        "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
