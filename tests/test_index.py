"""FAISS prototype index: exact below the threshold, approximate (HNSW) above it with recall@10 >= 0.99."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import focovil.realtime.index as rindex
from focovil.realtime.encoder import load_encoder
from focovil.realtime.index import build_index, gpu_available
from focovil.realtime.skeleton import from_kinect_v1
from focovil.realtime.window import resample_frames

WEIGHTS = Path(__file__).resolve().parent.parent / "weights" / "focovil_app.pt"


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def clustered(n: int, d: int, rng: np.random.Generator, per_cluster: int = 50) -> np.ndarray:
    """Many windows per recorded action, like a real library: clusters of ~50 around random centres."""
    centres = unit(rng.normal(size=(max(1, n // per_cluster), d)))
    return unit(centres[rng.integers(0, len(centres), n)] + rng.normal(size=(n, d)) * 0.6 / np.sqrt(d))


def near(x: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """Queries near stored vectors (cosine ~0.9 to their source)."""
    return unit(x[rng.integers(0, len(x), m)] + rng.normal(size=(m, x.shape[1])) * 0.5 / np.sqrt(x.shape[1]))


def recall_at(exact: np.ndarray, approx: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(exact, approx)]))


def test_small_library_gets_exact_flat_index_matching_brute_force():
    rng = np.random.default_rng(0)
    x = unit(rng.normal(size=(1000, 256)))
    q = near(x, 20, rng)
    idx = build_index(x)
    assert (idx.kind, len(idx), idx.dim) == ("flat", 1000, 256)
    assert idx.device == ("cuda:0" if gpu_available() else "cpu")
    scores, ids = idx.search(q, 10)
    brute = q @ x.T
    order = np.argsort(-brute, axis=1)[:, :10]
    np.testing.assert_array_equal(ids, order)   # ranks: neighbouring top-10 scores lie > 1e-5 apart here, float32 noise 1e-7
    np.testing.assert_allclose(scores, np.take_along_axis(brute, order, 1), atol=1e-5)   # cosines in float32: ~1e-7


def test_auto_switches_to_ivf_above_the_threshold(monkeypatch):
    rng = np.random.default_rng(1)
    x = unit(rng.normal(size=(300, 32)))
    monkeypatch.setattr(rindex, "APPROX_THRESHOLD", 299)
    assert build_index(x, device="cpu").kind == "ivf"
    monkeypatch.setattr(rindex, "APPROX_THRESHOLD", 300)
    assert build_index(x, device="cpu").kind == "flat"


@pytest.fixture(scope="module")
def data_30k():
    rng = np.random.default_rng(2)
    x = clustered(30_000, 256, rng)
    q = near(x, 300, rng)
    _, exact = build_index(x, kind="flat", device="cpu").search(q, 10)
    return x, q, exact


def test_hnsw_recall_at_10_vs_exact_is_at_least_099_at_30k(data_30k):
    x, q, exact = data_30k
    idx = build_index(x, kind="hnsw")
    assert (idx.kind, idx.device, len(idx)) == ("hnsw", "cpu", 30_000)
    scores, approx = idx.search(q, 10)
    assert recall_at(exact, approx) >= 0.99
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first
    one_s, one_i = idx.search(q[0], 10)             # batch of one, as the live app asks
    np.testing.assert_array_equal(one_i[0], approx[0])


def test_ivf_recall_at_10_vs_exact_is_at_least_099_at_30k(data_30k):
    x, q, exact = data_30k
    idx = build_index(x, kind="ivf")
    assert idx.kind == "ivf"
    assert recall_at(exact, idx.search(q, 10)[1]) >= 0.99


def test_k_beyond_library_size_and_empty_library():
    x = unit(np.random.default_rng(3).normal(size=(3, 16)))
    s, i = build_index(x).search(x, 10)
    assert s.shape == (3, 3) and sorted(i[0]) == [0, 1, 2] and i[1, 0] == 1
    s, i = build_index(np.zeros((0, 16), np.float32)).search(x, 5)
    assert s.shape == (3, 0) and i.shape == (3, 0)


def test_queries_are_normalised_and_wrong_dims_refused():
    x = unit(np.random.default_rng(4).normal(size=(50, 8)))
    idx = build_index(x)
    s, i = idx.search(x[7] * 12.5, 1)
    assert i[0, 0] == 7 and s[0, 0] == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match=r"\[N, 8\]"):
        idx.search(np.ones((1, 9), np.float32), 1)
    with pytest.raises(ValueError, match="kind"):
        build_index(x, kind="lsh")


@pytest.mark.skipif(gpu_available(), reason="checks the message shown when no GPU is there")
def test_asking_for_gpu_without_one_says_why():
    with pytest.raises(RuntimeError, match="no GPU"):
        build_index(np.eye(4, dtype=np.float32), device="cuda")


def test_real_encoder_embeddings_find_the_same_recording_from_another_view(shared_dir):
    """NW-UCLA: the same subject and action seen from views 1 and 2 are each other's nearest
    neighbour more often than chance among 10 actions."""
    enc = load_encoder(WEIGHTS, device="cpu")
    folder = shared_dir / "data" / "nw-ucla" / "all_sqe"
    def emb(view: int) -> tuple[np.ndarray, list[int]]:
        files = sorted(folder.glob(f"a*_s01_e00_v0{view}.json"))
        seqs = [json.loads(f.read_text()) for f in files]
        w = np.stack([resample_frames(from_kinect_v1(np.asarray(s["skeletons"], np.float32)), enc.window_frames) for s in seqs])
        return enc.embed(w), [s["label"] for s in seqs]
    lib, lib_labels = emb(1)
    qry, qry_labels = emb(2)
    idx = build_index(lib)
    scores, ids = idx.search(qry, 3)
    assert np.all(scores <= 1.0 + 1e-5) and np.all(scores[:, 0] >= scores[:, 1])
    hits = np.mean([lib_labels[i] == lab for i, lab in zip(ids[:, 0], qry_labels)])
    assert hits >= 0.7, hits  # chance is 0.1; measured 1.0 for subjects 1-3
    s_self, i_self = idx.search(lib, 1)
    assert list(i_self[:, 0]) == list(range(len(lib))) and np.allclose(s_self, 1.0, atol=1e-4)
