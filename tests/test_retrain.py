"""Offline retraining (training.retrain): train -> check -> promote atomically -> report, and bad input.

Real parts only: a library built by the shipped script (raw windows of NW-UCLA view-1 clips and of the real
NTU videos), the shipped app encoder, a small NW-UCLA subset (subject 1 trains, v02 of subject 6 validates)
and real SQLite / TorchScript files. Runs are a few steps long: they check the mechanics, not the accuracy (see the README).
"""
from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from focovil.realtime.encoder import load_encoder
from focovil.realtime.library import Library, file_sha256
from focovil.realtime.paths import DEFAULT_ENCODER, SHIPPED_LIBRARY
from focovil.realtime.session import active_encoder_path, resolve_encoder_path
from focovil.training import loop as loop_module
from focovil.training import retrain
from focovil.training.loss import focal_contrastive_loss
from focovil.training.retrain_lock import retrain_lock

PROTOCOL_ENCODER = DEFAULT_ENCODER.with_name("focovil_protocol.pt")


@pytest.fixture(scope="module")
def built_library(tmp_path_factory, shared_dir: Path) -> Path:
    """The default library plus 4 NW-UCLA view-1 recordings per action, built by the shipped
    script (``--per-action 4``): a user library with thirteen labels."""
    import subprocess
    import sys
    out = tmp_path_factory.mktemp("built") / "library.sqlite3"
    r = subprocess.run([sys.executable, "-m", "focovil.training.build_default_library", "--per-action", "4",
                        "--shared", str(shared_dir), "--out", str(out)], capture_output=True, text=True, timeout=600,
                       cwd=Path(__file__).resolve().parent.parent)
    assert r.returncode == 0, r.stderr[-2000:]
    return out


@pytest.fixture
def lib(tmp_path: Path, built_library: Path) -> Path:
    path = tmp_path / "library.sqlite3"
    shutil.copyfile(built_library, path)
    return path


SUBJECTS = "1,6"      # subject 1 trains (v01 + v02); v02 of subject 6 is the validation queries


def run(lib: Path, shared_dir: Path, *flags: str, data: Path | None = None) -> int:
    subjects = [] if data else ["--nwucla-subjects", SUBJECTS]
    return retrain.main(["--library", str(lib), "--data", str(data or shared_dir / "data/nw-ucla/all_sqe"),
                         *subjects, "--steps", "6", "--batch", "24", "--ckpt-every", "3",
                         "--threads", "2", *flags])


def report_of(lib: Path) -> dict:
    return json.loads((lib.with_name(lib.stem + ".encoders") / "work" / "report.json").read_text())


def state_of(lib: Path) -> tuple:
    with Library(lib) as L:
        return L.active_encoder(), [e.sha256 for e in L.encoders()], len(L)


def test_user_labels_add_same_label_items_as_positives():
    torch.manual_seed(0)
    z1 = F.normalize(torch.randn(6, 8), dim=1)
    z2 = F.normalize(z1 + 0.1 * torch.randn(6, 8), dim=1)
    unlabelled = torch.full((6,), -1)
    # nats (loss ~2), float32: the same sums either way; rtol 1e-5 is 2e-5 nats, a positive added is > 0.1
    assert torch.allclose(focal_contrastive_loss(z1, z2, labels=unlabelled), focal_contrastive_loss(z1, z2), rtol=1e-5, atol=0)
    z1[1], z2[1] = z1[0], z2[0]          # items 0 and 1 look alike: as negatives they cost, as positives they help
    same = torch.tensor([0, 0, -1, -1, -1, -1])
    assert focal_contrastive_loss(z1, z2, labels=same) < focal_contrastive_loss(z1, z2)


def test_base_encoder_is_rebuilt_exactly_from_its_torchscript_file():
    base = retrain.load_base(DEFAULT_ENCODER)          # hybrid file: encoder + fixed PCA part
    x = np.random.default_rng(0).normal(size=(3, 32, 20, 3)).astype(np.float32)
    ref = load_encoder(DEFAULT_ENCODER, device="cpu").embed(x)
    assert np.allclose(retrain.module_embed(retrain.candidate_module(base))(x), ref, atol=1e-5)   # unit vectors: ~1e-7


def test_promotion_reembeds_library_app_follows_and_rollback_restores(lib, shared_dir):
    assert run(lib, shared_dir, "--margin-user", "1", "--margin-val", "1") == 0   # any result is good enough
    rep = report_of(lib)
    assert rep["promoted"] and rep["version"] == 2
    assert set(rep["before"]["user"]["knn1_per_class"]) == set(rep["after"]["user"]["knn1_per_class"])
    assert any("single recording" in w for w in rep["warnings"])   # "falling", "pick up", "drink water"
    # the shipped app encoder trained on protocol "all": its validation check is said to be no-regression only
    assert any("protocol 'all'" in w and "no-regression check on clips it trained on" in w for w in rep["warnings"])
    assert rep["data"]["nwucla_val_query_clips"] > 0 and "queries v02 of subjects 6" in rep["data"]["nwucla_val"]
    assert (lib.with_name(lib.stem + ".encoders") / "work" / "report.png").stat().st_size > 10_000
    folder = lib.with_name(lib.stem + ".encoders")
    assert file_sha256(folder / "focovil-v1.pt") == file_sha256(DEFAULT_ENCODER)   # the previous encoder is kept
    with Library(lib) as L:
        assert active_encoder_path(L) == folder / "focovil-v2.pt"
        enc = load_encoder(resolve_encoder_path(None, L), device="cpu", cpu_threads=1)
        assert enc.path == folder / "focovil-v2.pt" and L.missing_embeddings(enc) == []
        L.add_prototype("wave", L.raw_window(1), source="after promotion", encoder=enc)
    assert retrain.main(["--library", str(lib), "--rollback"]) == 0
    with Library(lib) as L:
        assert active_encoder_path(L) == folder / "focovil-v1.pt"
        assert L.missing_embeddings(load_encoder(folder / "focovil-v1.pt", device="cpu")) == []   # "wave" too
    assert (folder / "focovil-v2.pt").exists()
    assert retrain.main(["--library", str(lib), "--rollback"]) == 2    # nothing earlier than v1
    (folder / "focovil-v1.pt").write_bytes((folder / "focovil-v1.pt").read_bytes() + bytes(1))
    with Library(lib) as L:
        assert active_encoder_path(L) == DEFAULT_ENCODER               # a changed active file is not trusted


@pytest.fixture
def data_with_corrupt_v03(tmp_path: Path, shared_dir: Path) -> Path:
    """Every v01 and v02 file of subjects 1 and 6 (links to the real ones) and two view-3 files of broken
    JSON: reading either would raise DatasetError."""
    src, data = shared_dir / "data/nw-ucla/all_sqe", tmp_path / "nwucla"
    data.mkdir()
    for f in src.glob("*.json"):
        if f.stem[4:7] in ("s01", "s06") and f.stem.endswith(("_v01", "_v02")):
            (data / f.name).symlink_to(f)
    for name in ("a01_s01_e00_v03.json", "a01_s06_e00_v03.json"):
        (data / name).write_text('{"skeletons": [[[0.1, ')
    return data


def test_retraining_never_opens_view_3_and_writes_no_view_3_number(lib, shared_dir, data_with_corrupt_v03):
    from focovil.training.data.nwucla import DatasetError, load_nwucla
    from focovil.training.retrain_inputs import nwucla
    with pytest.raises(DatasetError, match="corrupt or truncated"):
        load_nwucla(data_with_corrupt_v03)                       # the broken files are there to be found
    nw = nwucla([str(data_with_corrupt_v03)], "")
    assert {(c.view, c.subject) for c in nw.train} == {(1, 1), (1, 6), (2, 1)}
    assert {c.view for c in nw.gallery} == {1} and {(c.view, c.subject) for c in nw.queries} == {(2, 6)}
    assert not {c.name for c in nw.queries} & {c.name for c in nw.train}    # validation never trains
    assert run(lib, shared_dir, "--margin-user", "1", "--margin-val", "1", data=data_with_corrupt_v03) == 0
    rep = report_of(lib)
    assert rep["promoted"] and rep["data"]["nwucla_val_query_clips"] == len(nw.queries)
    meta = load_encoder(lib.with_name(lib.stem + ".encoders") / "focovil-v2.pt", device="cpu").meta
    check = meta.metrics["retrain_check"]
    assert set(check) == {"user_knn1", "nwucla_val_knn1", "nwucla_val_data", "nwucla_val_held_out"}
    assert check["nwucla_val_knn1"] == rep["after"]["nwucla_val"]["knn1"]    # one measured number written twice: exact
    assert check["nwucla_val_held_out"] is False and "no-regression" in check["nwucla_val_data"]   # base: "all"
    text = json.dumps(meta.metrics).lower()
    assert not [w for w in ("v03", "cross-view", "cross_view", "view 3") if w in text]
    assert "cross_view" not in json.dumps(rep)


def test_candidate_worse_than_margin_is_not_promoted_and_nothing_changes(lib, shared_dir, capsys):
    before = state_of(lib)
    assert run(lib, shared_dir, "--margin-user", "-1", "--margin-val", "-1") == 0   # demands +100 points
    rep = report_of(lib)
    assert not rep["promoted"] and all("worse than the allowed drop" in r for r in rep["reasons"])
    assert state_of(lib) == before
    assert not list(lib.with_name(lib.stem + ".encoders").glob("*.pt"))


def test_empty_library_and_unvalidatable_library_are_refused(lib, tmp_path, shared_dir, capsys):
    empty = tmp_path / "empty.sqlite3"
    Library(empty).close()
    assert run(empty, shared_dir) == 2
    assert "is empty" in capsys.readouterr().err
    once = tmp_path / "once.sqlite3"
    with Library(lib) as src, Library(once) as L:     # a copy: opening the shipped file would touch it
        for p in src.prototypes(with_windows=True)[:2]:      # two labels, one recording each
            L.add_prototype(p.label + str(p.id), p.window, source=p.source)
    assert run(once, shared_dir) == 2
    assert "two or more recordings" in capsys.readouterr().err
    missing = tmp_path / "missing.sqlite3"
    for flags in ([], ["--rollback"]):
        assert retrain.main(["--library", str(missing), *flags]) == 2
        assert "no library file" in capsys.readouterr().err
    assert not list(tmp_path.glob("missing*"))      # not even a lock folder beside it


def test_library_from_another_encoder_is_refused(lib, shared_dir, capsys):
    before = state_of(lib)
    assert run(lib, shared_dir, "--base", str(PROTOCOL_ENCODER)) == 2
    assert "was embedded by focovil_app.pt" in capsys.readouterr().err
    assert state_of(lib) == before


def test_interrupted_run_needs_resume_and_continues_from_its_checkpoint(lib, shared_dir, monkeypatch, capsys):
    calls = {"n": 0}

    def interrupted(*a, **kw):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt   # what Ctrl+C raises
        return focal_contrastive_loss(*a, **kw)
    monkeypatch.setattr(loop_module, "focal_contrastive_loss", interrupted)
    before = state_of(lib)
    assert run(lib, shared_dir, "--margin-user", "1", "--margin-val", "1") == 130
    assert state_of(lib) == before
    monkeypatch.undo()
    assert run(lib, shared_dir, "--margin-user", "1", "--margin-val", "1") == 2
    assert "--resume" in capsys.readouterr().err
    assert run(lib, shared_dir, "--margin-user", "1", "--margin-val", "1", "--resume") == 0
    rep = report_of(lib)
    assert rep["train"]["resumed_from_step"] == 3 and rep["promoted"]


def test_full_disk_during_promotion_changes_nothing_and_resume_finishes(lib, shared_dir, monkeypatch, capsys):
    real_copy = shutil.copyfile

    def disk_full(src, dst, *a, **kw):
        Path(dst).write_bytes(Path(src).read_bytes()[:1000])      # a partial write, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))
    monkeypatch.setattr(shutil, "copyfile", disk_full)
    before = state_of(lib)
    assert run(lib, shared_dir, "--margin-user", "1", "--margin-val", "1") == 2
    assert "disk is full" in capsys.readouterr().err
    assert state_of(lib) == before
    folder = lib.with_name(lib.stem + ".encoders")
    assert [p.name for p in folder.iterdir() if p.is_file()] == ["retrain.lock"]    # no partial or temp file left
    monkeypatch.setattr(shutil, "copyfile", real_copy)
    assert run(lib, shared_dir, "--margin-user", "1", "--margin-val", "1", "--resume") == 0
    assert report_of(lib)["promoted"]


def test_two_process_ddp_retrain_checks_and_reports_once(lib, shared_dir):
    import subprocess

    from conftest import torchrun
    cmd = [*torchrun(2), "-m", "focovil.training.retrain",
           "--library", str(lib), "--data", str(shared_dir / "data/nw-ucla/all_sqe"), "--nwucla-subjects", SUBJECTS,
           "--steps", "4", "--batch", "16", "--threads", "1", "--dry-run"]
    before = state_of(lib)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=Path(__file__).resolve().parent.parent)
    assert r.returncode == 0, r.stderr[-3000:]
    rep = report_of(lib)
    assert rep["train"]["world_size"] == 2 and not rep["promoted"]
    sums = rep["train"]["param_sha256_per_rank"]        # every rank's weights after the last step
    assert len(sums) == 2 and len(set(sums)) == 1
    assert state_of(lib) == before          # a dry run never touches the library


def test_a_second_retrain_of_one_library_says_busy_naming_the_first_and_changes_nothing(lib, shared_dir, tmp_path,
                                                                                          monkeypatch, capsys):
    import subprocess
    import sys
    import time
    args = [sys.executable, "-m", "focovil.training.retrain", "--library", str(lib), "--data", str(shared_dir / "data/nw-ucla/all_sqe"),
            "--nwucla-subjects", SUBJECTS, "--steps", "6", "--batch", "24", "--threads", "1", "--dry-run"]
    root = Path(__file__).resolve().parent.parent
    first = subprocess.Popen(args, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    info = lib.with_name(lib.stem + ".encoders") / "retrain.lock.json"
    deadline = time.time() + 120
    while not (info.exists() and json.loads(info.read_text())["pid"] == first.pid):
        assert time.time() < deadline and first.poll() is None, first.stderr.read() if first.poll() is not None else "no lock"
        time.sleep(0.2)
    before = state_of(lib)
    other = tmp_path / "other-work"
    monkeypatch.setenv("FOCOVIL_LOCK_WAIT_S", "1")
    capsys.readouterr()
    assert retrain.main(args[3:] + ["--out", str(other)]) == 2       # the second run, in this process
    msg = capsys.readouterr().err.strip().splitlines()
    assert len(msg) == 1 and "being retrained by another run" in msg[0] and f"pid {first.pid}" in msg[0] and "1 s" in msg[0]
    assert not other.exists() and state_of(lib) == before
    _out, err = first.communicate(timeout=600)
    assert first.returncode == 0, err[-2000:]
    assert report_of(lib)["dry_run"]
    with retrain_lock(lib, wait_s=0):    # released when the first run ended
        pass
