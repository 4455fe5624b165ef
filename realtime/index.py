"""FAISS index over one encoder's prototype embeddings: inner product of unit vectors = cosine similarity.

Which index (measured with ``benchmarks/faiss_scale.py``: 256-d, batch-1 queries, k=10, on a 2-core
CPU that was also running a training job; p50 / p95 per query):

* ``flat`` (``IndexFlatIP``, exact, built instantly): 0.05 ms at 1k, 0.4 / 0.7 ms at 10k,
  1.3 / 1.7 ms at 20k, 2.2 / 2.9 ms at 30k, 4.6 / 6.5 ms at 50k, 9 / 11 ms at 100k. Used up to
  :data:`APPROX_THRESHOLD` = 20,000 prototypes, where it still leaves most of the live app's 5 ms
  encode + search budget to the encoder, and recall is exact.
* ``ivf`` (``IndexIVFFlat``, nlist = 4 sqrt(N), nprobe=32), picked above the threshold: on *real*
  embeddings (the app encoder on 100k real skeleton windows of Kinder-Gator and NW-UCLA, queried
  with NW-UCLA view-3 windows) recall@10 = 0.992 at 0.50 / 0.67 ms (nprobe 16: 0.990 at 0.30 ms);
  build about 7 s at 100k (k-means on the library, redone whenever the index is rebuilt from it).
* ``hnsw`` (``IndexHNSWFlat``, M=32, efSearch=128) is available but not chosen: on the same real
  embeddings it reached only recall@10 = 0.79 (0.82 at efSearch 512, 0.9 ms), although it gets
  1.00 on synthetic clustered data. Real embeddings sit in a narrow cone, where graph search
  stalls. On structureless uniform random vectors no approximate index gets close to 0.99 cheaply
  (the 2nd..10th neighbours are near-ties): that case does not occur in a library of recordings.

GPU: when FAISS was built with GPU support (``StandardGpuResources``) and sees a GPU, ``auto`` uses the
exact flat index on the GPU at any size (brute force is what GPUs do well; not measured here, as this
environment has no GPU build of FAISS). Everything also runs without one.
"""
from __future__ import annotations

import contextlib
import threading
from typing import Iterator

import faiss
import numpy as np

APPROX_THRESHOLD = 20_000   # prototypes: above this, "auto" picks the approximate (IVF) index on CPU
HNSW_M = 32
HNSW_EF_CONSTRUCTION = 40
HNSW_EF_SEARCH = 128
IVF_NPROBE = 32
KINDS = ("auto", "flat", "hnsw", "ivf")

_gpu_lock = threading.Lock()
_gpu_resources = None


def gpu_available() -> bool:
    """True when this FAISS build has GPU support and sees at least one GPU."""
    try:
        return hasattr(faiss, "StandardGpuResources") and faiss.get_num_gpus() > 0
    except Exception:  # a GPU build without a usable driver
        return False


def _gpu_res():
    global _gpu_resources
    with _gpu_lock:
        if _gpu_resources is None:
            _gpu_resources = faiss.StandardGpuResources()
        return _gpu_resources


@contextlib.contextmanager
def _omp_threads(n: int) -> Iterator[None]:
    """Fewer OpenMP threads for tiny batches: one query cannot use more, and waking idle threads on a
    busy CPU cost 4x the search itself in measurements (32 ms vs 8 ms flat at 100k). The setting
    is per calling thread in OpenMP, so other threads are not affected."""
    before = faiss.omp_get_max_threads()
    if n >= before:
        yield
        return
    faiss.omp_set_num_threads(n)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _unit(x: np.ndarray, dim: int | None = None) -> np.ndarray:
    a = np.array(x, dtype=np.float32, copy=True, order="C")
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or (dim is not None and a.shape[1] != dim):
        raise ValueError(f"expected vectors [N, {dim if dim is not None else 'D'}], got {np.shape(x)}")
    if not np.isfinite(a).all():
        raise ValueError("vectors contain NaN or inf")
    faiss.normalize_L2(a)  # the library stores unit vectors; this only guards against drift
    return a


class PrototypeIndex:
    """A built index. Row ``i`` of the vectors it was built from is result index ``i``."""

    def __init__(self, index: "faiss.Index", kind: str, device: str, dim: int, size: int, keep: object = None) -> None:
        self.index = index
        self.ef_search = HNSW_EF_SEARCH  # hnsw only: candidates visited per query (recall vs time)
        self._keep = keep  # objects the FAISS index points into (the IVF quantizer)
        self.kind = kind
        self.device = device
        self.dim = dim
        self._size = size
        self._lock = threading.Lock()  # GPU indexes and HNSW efSearch changes are not thread-safe

    def __len__(self) -> int:
        return self._size

    def __repr__(self) -> str:
        return f"PrototypeIndex(kind={self.kind!r}, device={self.device!r}, size={self._size}, dim={self.dim})"

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``[B, D]`` (or ``[D]``) queries -> ``(scores [B, k'], idx [B, k'])``, best first, k' = min(k, len).

        Scores are cosine similarities. An index of -1 (score -inf) marks a slot the approximate index
        could not fill.
        """
        q = _unit(queries, self.dim)
        k = min(int(k), self._size)
        if k <= 0:
            return np.zeros((len(q), 0), np.float32), np.zeros((len(q), 0), np.int64)
        with self._lock, _omp_threads(1 if len(q) <= 2 else faiss.omp_get_max_threads()):
            if self.kind == "hnsw":
                self.index.hnsw.efSearch = max(int(self.ef_search), k)
            scores, idx = self.index.search(q, k)
        scores = np.where(idx >= 0, scores, -np.inf).astype(np.float32)
        return scores, idx.astype(np.int64)


def build_index(vectors: np.ndarray, kind: str = "auto", device: str = "auto") -> PrototypeIndex:
    """An inner-product index over ``vectors [N, D]`` (unit embeddings of one encoder).

    ``kind``: ``auto`` (exact below :data:`APPROX_THRESHOLD` prototypes or on a GPU, else IVF),
    ``flat``, ``hnsw`` or ``ivf``. ``device``: ``auto`` (GPU for flat indexes when FAISS has one),
    ``cpu`` or ``cuda``.
    """
    if kind not in KINDS:
        raise ValueError(f"index kind must be one of {KINDS}, got {kind!r}")
    if device not in ("auto", "cpu", "cuda"):
        raise ValueError(f"device must be 'auto', 'cpu' or 'cuda', got {device!r}")
    x = _unit(vectors)
    n, d = x.shape
    use_gpu = device == "cuda" or (device == "auto" and gpu_available())
    if device == "cuda" and not gpu_available():
        raise RuntimeError("device='cuda' asked for, but this FAISS build has no GPU support or sees no GPU")
    if kind == "auto":
        kind = "flat" if use_gpu or n <= APPROX_THRESHOLD else "ivf"
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
        index.add(x)
        if use_gpu:
            return PrototypeIndex(faiss.index_cpu_to_gpu(_gpu_res(), 0, index), "flat", "cuda:0", d, n)
        return PrototypeIndex(index, "flat", "cpu", d, n)
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(d, HNSW_M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH
        index.add(x)
        return PrototypeIndex(index, "hnsw", "cpu", d, n)
    # ivf
    nlist = max(1, min(int(4 * np.sqrt(max(n, 1))), n // 39 if n >= 39 else 1))  # >= 39 training points per list
    quantizer = faiss.IndexFlatIP(d)
    index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(0)
    train = x if n <= 64 * nlist else x[rng.choice(n, 64 * nlist, replace=False)]
    if n:
        index.train(train)
        index.add(x)
    index.nprobe = min(IVF_NPROBE, nlist)
    return PrototypeIndex(index, "ivf", "cpu", d, n, keep=quantizer)
