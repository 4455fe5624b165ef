"""The shipped encoders and the command-line tools that measure them."""
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from focovil.realtime.encoder import load_encoder
from focovil.training.metrics import knn1

from doc_numbers import Sources, check_tags, find_tags
from numeric import close

ROOT = Path(__file__).resolve().parent.parent
PROTOCOL = ROOT / "weights" / "focovil_protocol.pt"
APP = ROOT / "weights" / "focovil_app.pt"


# How many of the 463 v03 queries another machine may name differently (issue 30: thread counts 1, 2 and 8,
# OPENBLAS_CORETYPE=Haswell, ATEN_CPU_CAPABILITY=default, numpy/scipy with other OpenBLAS builds):
KNN1_QUERIES = 1             # nearest neighbour: only a tie within float32 noise can tip (none seen)
PROBE_QUERIES = 2            # logistic regression, converged (lbfgs stops within its tolerance): seen 1 (Haswell)
UNCONVERGED_QUERIES = 4      # logistic regression stopped at max_iter (raw and invariant joints): seen 2 (Haswell)
RECORDED_ROUNDING = 5e-5     # the file's cross-view numbers are stored to 4 decimals
# A real change is caught: the alignment left out moves kNN-1 by 60 queries (aligned against raw joints), kNN-1's
# ranking biased by 1e-3 per gallery item by 326, the probe's C 0.1 -> 0.2 the encoder's probe by 5


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_shipped_encoders_load_with_their_metadata():
    proto, app = load_encoder(PROTOCOL, device="cpu"), load_encoder(APP, device="cpu")
    assert proto.meta.train_views == [1, 2], "the protocol encoder must never have seen view 3"
    assert 3 in app.meta.train_views
    # the model card's row for the shipped protocol file is the file's own recorded numbers (a re-export
    # with new numbers and an old card, or the reverse, fails here; the next test re-measures them): the
    # row's numbers carry source tags naming these metadata keys (tests/doc_numbers.py), and the tags hold.
    # Stored numbers read back, nothing computed: the card shows the file's to 1 decimal, within its rounding
    card = (ROOT / "weights" / "README.md").read_text()
    (row,) = [line for line in card.splitlines() if line.startswith("| shipped `focovil_protocol.pt` (seed 0) |")]
    (tag,) = find_tags(row, "weights/README.md")
    assert [sources[0][:2] for sources in tag.items] == [
        ("focovil_protocol.pt", ["metrics", "cross-view", "encoder", metric]) for metric in ("knn1", "linear")]
    assert len(tag.shown) == 2 and check_tags([tag], Sources()) == []


def test_evaluate_reproduces_the_protocol_encoders_recorded_numbers(shared_dir, tmp_path):
    out = tmp_path / "cv.json"
    r = cli("-m", "focovil.training.evaluate", "--weights", str(PROTOCOL), "--data", str(shared_dir / "data/nw-ucla/all_sqe"),
            "--protocol", "cross-view", "--json", str(out), "--device", "cpu")
    assert r.returncode == 0, r.stderr[-2000:]
    rep = json.loads(out.read_text())
    recorded = load_encoder(PROTOCOL, device="cpu").meta.metrics["cross-view"]
    for method in ("encoder", "aligned_joints", "raw_joints", "invariant_joints"):
        (pair,) = (r for r in rep["results"][method].values() if isinstance(r, dict))
        one_query = 1 / pair["n_query"]                 # 463 v03 queries: one query is 0.22 points
        for metric in ("knn1", "linear"):
            # Shares of queries named right, recorded to 4 decimals: a query either way is one step. A logistic
            # regression on raw, unaligned joints (and on invariant ones) stops at max_iter before it
            # converges, so its last queries fall differently between BLAS builds (0.4752 recorded, 0.4773
            # on 2026-12-02's machine)
            loose = metric == "linear" and method in ("raw_joints", "invariant_joints")
            queries = KNN1_QUERIES if metric == "knn1" else UNCONVERGED_QUERIES if loose else PROBE_QUERIES
            tol = queries * one_query + RECORDED_ROUNDING
            assert close(rep["results"][method][metric], recorded[method][metric], tol), (method, metric, tol)
    assert rep["results"]["encoder"]["knn1"] > rep["results"]["aligned_joints"]["knn1"]
    assert out.with_suffix(".png").stat().st_size > 10_000


def test_evaluate_refuses_cross_view_numbers_from_an_encoder_that_saw_view_3(shared_dir):
    r = cli("-m", "focovil.training.evaluate", "--weights", str(APP), "--data", str(shared_dir / "data/nw-ucla/all_sqe"),
            "--protocol", "cross-view")
    assert r.returncode != 0 and "trained on view 3" in r.stderr


def test_embed_writes_one_embedding_per_file_that_anyone_can_score(shared_dir, tmp_path):
    src = shared_dir / "data/nw-ucla/all_sqe"
    data = tmp_path / "subset"
    data.mkdir()
    for f in sorted(src.glob("a0[4-6]_s0[1-2]_e0[0-1]_v0[13].json")) + [src / "a02_s09_e04_v02.json"]:
        shutil.copy(f, data)
    out = tmp_path / "emb.npz"
    r = cli("-m", "focovil.training.embed", "--weights", str(PROTOCOL), "--data", str(data), "--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    z = np.load(out)
    n_files = len(list(data.glob("*.json")))
    assert len(z["names"]) == n_files - 1 and list(z["skipped"]) == ["a02_s09_e04_v02"]   # the 1-frame file
    assert z["embeddings"].shape == (n_files - 1, json.loads(str(z["metadata"]))["embedding_dim"])
    v1, v3 = z["views"] == 1, z["views"] == 3
    acc = np.mean(knn1(z["embeddings"][v1], z["labels"][v1], z["embeddings"][v3]) == z["labels"][v3])
    assert acc >= 0.5          # three actions, two subjects: far above chance (1/3)
