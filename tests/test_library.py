"""The prototype library: real SQLite files, the real encoder file, real NW-UCLA skeletons, a real SIGKILL."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from focovil.realtime.encoder import load_encoder
from focovil.realtime.library import SCHEMA_VERSION, EncoderKey, Library, LibraryError, default_library_path, encoder_key
from focovil.realtime.skeleton import NUM_JOINTS, from_kinect_v1
from focovil.realtime.window import resample_frames

PROJECT_ROOT = Path(__file__).resolve().parent.parent
WEIGHTS = PROJECT_ROOT / "weights" / "focovil_app.pt"
SHIPPED_LIBRARY = PROJECT_ROOT / "weights" / "default_library.sqlite3"   # schema 1


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def encoder():
    return load_encoder(WEIGHTS, device="cpu")


@pytest.fixture(scope="module")
def small_encoder(tmp_path_factory, encoder):
    """A second real TorchScript encoder file: embedding size 128 and window 24 (resamples to 32 inside,
    keeps the first 128 dims of the shipped encoder, renormalises), with its own metadata."""

    class Smaller(torch.nn.Module):
        def __init__(self, inner: torch.jit.ScriptModule, dim: int, inner_window: int) -> None:
            super().__init__()
            self.inner = inner
            self.dim = dim
            self.inner_window = inner_window

        def _to_inner(self, x: torch.Tensor) -> torch.Tensor:
            b, t, j, c = x.shape
            y = x.reshape(b, t, j * c).transpose(1, 2)
            y = torch.nn.functional.interpolate(y, size=self.inner_window, mode="linear", align_corners=True)
            return y.transpose(1, 2).reshape(b, self.inner_window, j, c)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.nn.functional.normalize(self.inner(self._to_inner(x))[:, : self.dim], dim=1)

    meta = encoder.meta.replace(embedding_dim=128, window=24)
    path = tmp_path_factory.mktemp("enc") / "focovil_small.pt"
    scripted = torch.jit.script(Smaller(torch.jit.load(str(WEIGHTS), map_location="cpu"), 128, encoder.window_frames))
    torch.jit.save(scripted, str(path), _extra_files={"metadata.json": meta.to_json()})
    return load_encoder(path, device="cpu")


@pytest.fixture(scope="module")
def ucla_windows(shared_dir) -> list[tuple[str, np.ndarray]]:
    """(action label, raw canonical sequence of its own length) for a few real NW-UCLA recordings."""
    files = sorted((shared_dir / "data" / "nw-ucla" / "all_sqe").glob("a0[1-3]_s0[1-2]_e00_v0[1-2].json"))
    assert len(files) >= 8, "expected NW-UCLA files a01-a03, subjects 1-2, views 1-2"
    out = []
    for f in files:
        d = json.loads(f.read_text())
        out.append((f"action{d['label']}", from_kinect_v1(np.asarray(d["skeletons"], dtype=np.float32))))
    return out


def filled_library(path: Path, windows, encoder) -> Library:
    lib = Library(path)
    for i, (label, w) in enumerate(windows):
        lib.add_prototype(label, w, source=f"nw-ucla #{i}", start_s=0.0, end_s=len(w) / 30.0, encoder=encoder)
    return lib


def synthetic_library(path: Path, n: int, encoder) -> Path:
    rng = np.random.default_rng(0)
    with Library(path) as lib:
        for i in range(n):
            lib.add_prototype(f"l{i % 3}", rng.normal(size=(32, NUM_JOINTS, 3)).astype(np.float32) * 0.2, "synthetic",
                              embedding=np.eye(encoder.dim, dtype=np.float32)[i % encoder.dim], encoder=encoder)
    return path


# ------------------------------------------------------------------------------------------ basics

def test_resample_frames_interpolates_linearly_in_time():
    w = np.zeros((3, NUM_JOINTS, 3), np.float32)
    w[:, 0, 0] = [0.0, 1.0, 4.0]
    r = resample_frames(w, 5)
    assert r.shape == (5, NUM_JOINTS, 3)
    np.testing.assert_allclose(r[:, 0, 0], [0.0, 0.5, 1.0, 2.5, 4.0], rtol=0, atol=1e-6)   # metres, float32
    assert resample_frames(w[:1], 4).shape == (4, NUM_JOINTS, 3)


def test_recordings_are_stored_with_raw_window_label_and_encoder_embedding(tmp_path, ucla_windows, encoder):
    with filled_library(tmp_path / "lib.sqlite3", ucla_windows, encoder) as lib:
        counts = dict(lib.list_labels())
        assert sum(counts.values()) == len(ucla_windows) == len(lib)
        assert set(counts) == {label for label, _ in ucla_windows}
        protos = lib.prototypes(with_windows=True)
        for p, (label, w) in zip(protos, ucla_windows):
            assert p.label == label and p.frames == len(w)
            np.testing.assert_array_equal(p.window, w)   # the raw window, at its own length, bit for bit
        ids, labels, mat = lib.embeddings_for(encoder)
        assert list(ids) == [p.id for p in protos] and labels == [label for label, _ in ucla_windows]
        expected = encoder.embed(np.stack([resample_frames(w, encoder.window_frames) for _, w in ucla_windows]))
        np.testing.assert_allclose(mat, expected, atol=1e-5)   # unit vectors embedded in other batches: ~1e-7 apart
        assert lib.prototypes(label="action1") and all(p.label == "action1" for p in lib.prototypes(label="action1"))
        with sqlite3.connect(lib.path) as con:
            assert con.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
            assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_library_of_another_encoder_size_is_reembedded_from_raw_windows(tmp_path, ucla_windows, encoder, small_encoder):
    assert (small_encoder.dim, small_encoder.window_frames) == (128, 24) and encoder.dim != 128
    with filled_library(tmp_path / "lib.sqlite3", ucla_windows, encoder) as lib:
        ids, _, mat = lib.embeddings_for(small_encoder)
        assert len(ids) == 0 and mat.shape == (0, 128)
        assert lib.missing_embeddings(small_encoder) == [p.id for p in lib.prototypes()]
        assert lib.ensure_embedded(small_encoder, batch_size=3) == len(ucla_windows)
        ids, labels, mat = lib.embeddings_for(small_encoder)
        assert mat.shape == (len(ucla_windows), 128)
        expected = small_encoder.embed(np.stack([resample_frames(w, 24) for _, w in ucla_windows]))
        np.testing.assert_allclose(mat, expected, atol=1e-5)   # unit vectors embedded in other batches: ~1e-7 apart
        assert lib.ensure_embedded(small_encoder) == 0                      # nothing left to do
        assert lib.embeddings_for(encoder)[2].shape == (len(ucla_windows), encoder.dim)  # the old space is kept
        assert {k.dim for k in lib.encoders()} == {128, encoder.dim}


def test_damaged_raw_window_stops_reembedding_with_instructions_and_changes_nothing(tmp_path, encoder, small_encoder):
    path = synthetic_library(tmp_path / "lib.sqlite3", 5, encoder)
    with sqlite3.connect(path) as con:
        con.execute("UPDATE prototypes SET window=? WHERE id=3", (b"\x00" * 10,))
    with Library(path) as lib:
        with pytest.raises(LibraryError, match=r"ids \[3\].*Nothing was changed.*delete_prototype"):
            lib.ensure_embedded(small_encoder)
        assert len(lib.missing_embeddings(small_encoder)) == 5
        lib.delete_prototype(3)
        assert lib.ensure_embedded(small_encoder) == 4


def test_rename_refuses_to_merge_silently_and_delete_cascades_to_embeddings(tmp_path, encoder):
    path = synthetic_library(tmp_path / "lib.sqlite3", 9, encoder)  # l0, l1, l2: 3 each
    with Library(path) as lib:
        lib.rename_label("l0", "wave")
        assert dict(lib.list_labels()) == {"wave": 3, "l1": 3, "l2": 3}
        with pytest.raises(LibraryError, match=r"'l1' already exists.*merge=True"):
            lib.rename_label("wave", "l1")
        assert dict(lib.list_labels()) == {"wave": 3, "l1": 3, "l2": 3}
        lib.rename_label("wave", "l1", merge=True)
        assert dict(lib.list_labels()) == {"l1": 6, "l2": 3}
        with pytest.raises(LibraryError, match="no label"):
            lib.rename_label("nope", "x")
        victim = lib.prototypes("l2")[0].id
        lib.delete_prototype(victim)
        with pytest.raises(LibraryError, match="no prototype"):
            lib.delete_prototype(victim)
        assert lib.delete_label("l1") == 6
        assert dict(lib.list_labels()) == {"l2": 2}
        ids, labels, mat = lib.embeddings_for(encoder)
        assert labels == ["l2", "l2"] and mat.shape == (2, encoder.dim)
        with sqlite3.connect(path) as con:
            assert con.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == 2
        assert lib.integrity_check() == "ok"


# --------------------------------------------------------------------------------- broken files

@pytest.mark.parametrize("damage", ["random_bytes", "truncated_half", "truncated_odd", "zeroed_pages"])
def test_corrupt_library_file_is_refused_and_left_byte_for_byte_untouched(tmp_path, encoder, damage):
    path = tmp_path / "lib.sqlite3"
    if damage == "random_bytes":
        path.write_bytes(np.random.default_rng(1).bytes(50_000))
    else:
        synthetic_library(path, 60, encoder)  # ~60 x 7.7 KB windows: many pages
        data = bytearray(path.read_bytes())
        if damage == "truncated_half":
            data = data[: (len(data) // 2 // 4096) * 4096]  # on a page boundary
        elif damage == "truncated_odd":
            data = data[: len(data) // 2 + 123]
        else:
            data[4096 * 2: 4096 * 8] = bytes(4096 * 6)  # b-tree pages wiped
        path.write_bytes(bytes(data))
    before = sha(path)
    with pytest.raises(LibraryError, match="corrupt.*NOT modified"):
        Library(path)
    assert sha(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lib.sqlite3"]  # no -wal / -shm / journal made beside it
    target = Library(tmp_path / "other.sqlite3")
    with pytest.raises(LibraryError, match="corrupt"):
        target.import_from(path)
    target.close()
    assert sha(path) == before


def test_library_of_newer_schema_is_refused_with_update_advice(tmp_path, encoder):
    path = synthetic_library(tmp_path / "lib.sqlite3", 2, encoder)
    with sqlite3.connect(path) as con:
        con.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    before = sha(path)
    with pytest.raises(LibraryError, match=rf"newer focovil \(library schema {SCHEMA_VERSION + 1}.*Update focovil"):
        Library(path)
    assert sha(path) == before


def test_sqlite_file_of_another_app_is_not_taken_over(tmp_path):
    path = tmp_path / "notes.sqlite3"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE notes(x)")
    before = sha(path)
    with pytest.raises(LibraryError, match="not a focovil library"):
        Library(path)
    assert sha(path) == before


# ------------------------------------------------------------------------------- schema migration

def raw_contents(path: Path) -> dict:
    """Everything a library holds, read with plain sqlite3 (read-only, nothing written beside the file)."""
    with contextlib.closing(sqlite3.connect(path.resolve().as_uri() + "?mode=ro&immutable=1", uri=True)) as con:
        q = lambda sql: sorted(con.execute(sql).fetchall())  # noqa: E731
        return {"version": con.execute("PRAGMA user_version").fetchone()[0],
                "labels": q("SELECT l.name, COUNT(p.id) FROM labels l LEFT JOIN prototypes p ON p.label_id=l.id GROUP BY l.id"),
                "windows": q("SELECT p.uid, l.name, p.frames, p.window FROM prototypes p JOIN labels l ON l.id=p.label_id"),
                "vectors": q("SELECT p.uid, c.sha256, e.vector FROM embeddings e JOIN prototypes p ON p.id=e.prototype_id "
                             "JOIN encoders c ON c.id=e.encoder_id"),
                "tables": q("SELECT name FROM sqlite_master WHERE type='table'")}


def set_version(path: Path, version: int, drop_settings: bool = False) -> None:
    with contextlib.closing(sqlite3.connect(path)) as con:
        if drop_settings:
            con.execute("DROP TABLE settings")
        con.execute(f"PRAGMA user_version={version}")


def test_shipped_library_as_schema_1_is_migrated_to_2_keeping_every_prototype(tmp_path):
    """The shipped library as version-1 code wrote it (the same tables less ``settings``, user_version
    1; the file shipped until 2026-12-01 was exactly that) opens, migrates and keeps everything."""
    path, shipped = tmp_path / "library.sqlite3", sha(SHIPPED_LIBRARY)
    shutil.copyfile(SHIPPED_LIBRARY, path)        # never the shipped file itself
    if raw_contents(path)["version"] == 2:
        set_version(path, 1, drop_settings=True)
    before = raw_contents(path)
    assert SCHEMA_VERSION == 2 and before["version"] == 1 and ("settings",) not in before["tables"]
    assert len(before["windows"]) > 0 and len(before["vectors"]) == len(before["windows"])
    with Library(path) as lib:
        assert len(lib) == len(before["windows"]) and lib.active_encoder() is None
        assert sorted(lib.list_labels()) == before["labels"]
        protos = {p.uid: p for p in lib.prototypes(with_windows=True)}
        for uid, label, frames, blob in before["windows"]:
            assert (protos[uid].label, protos[uid].frames) == (label, frames)
            np.testing.assert_array_equal(protos[uid].window, np.frombuffer(blob, "<f4").reshape(frames, NUM_JOINTS, 3))
        [key] = lib.encoders()
        ids, labels, mat = lib.embeddings_for(key)
        uid_of = {p.id: p.uid for p in protos.values()}
        assert sorted((uid_of[i], key.sha256, m.astype("<f4").tobytes()) for i, m in zip(ids, mat)) == before["vectors"]
    after = raw_contents(path)
    assert after["version"] == 2 and ("settings",) in after["tables"]
    assert {k: after[k] for k in ("labels", "windows", "vectors")} == {k: before[k] for k in ("labels", "windows", "vectors")}
    assert sha(SHIPPED_LIBRARY) == shipped


@pytest.mark.parametrize("lazy_settings", [True, False])
def test_schema_1_library_keeps_its_active_encoder_pointer_through_migration(tmp_path, encoder, lazy_settings):
    path = synthetic_library(tmp_path / "lib.sqlite3", 4, encoder)
    with Library(path) as lib:
        if lazy_settings:   # what a version-1 app left after a promotion: settings table and pointer
            lib.activate_encoder(encoder, {"file": str(lib.encoders_dir() / "focovil-v1.pt"), "version": 1})
        pointer = lib.active_encoder()
    set_version(path, 1, drop_settings=not lazy_settings)
    with Library(path) as lib:
        assert lib.active_encoder() == pointer and (pointer is not None) == lazy_settings
        assert len(lib) == 4 and lib.missing_embeddings(encoder) == []
        lib.activate_encoder(encoder, {"file": str(lib.encoders_dir() / "focovil-v2.pt"), "version": 2})
        assert lib.active_encoder()["version"] == 2
    assert raw_contents(path)["version"] == SCHEMA_VERSION


def test_schema_3_library_is_refused_unmigrated_and_untouched(tmp_path, encoder):
    path = synthetic_library(tmp_path / "lib.sqlite3", 2, encoder)
    set_version(path, 3)
    before = sha(path)
    with pytest.raises(LibraryError, match=r"newer focovil \(library schema 3; this version reads schema 2"):
        Library(path)
    with Library(tmp_path / "other.sqlite3") as other, pytest.raises(LibraryError, match="library schema 3"):
        other.import_from(path)
    assert sha(path) == before and raw_contents(path)["version"] == 3
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("lib.sqlite3-")]   # no -wal / -shm beside it


# ------------------------------------------------------------------------------------- real kill

_CHILD = textwrap.dedent("""
    import sys, json
    import numpy as np
    from focovil.realtime.library import Library, EncoderKey
    path, key_json = sys.argv[1], sys.argv[2]
    key = EncoderKey(**json.loads(key_json))
    rng = np.random.default_rng(int(sys.argv[3]))
    lib = Library(path)
    i = 0
    while True:
        w = rng.normal(size=(int(rng.integers(20, 45)), 20, 3)).astype(np.float32)
        e = rng.normal(size=key.dim).astype(np.float32)
        pid = lib.add_prototype(f"label{i % 7}", w, "kill-test", i * 0.5, i * 0.5 + 2.0, embedding=e / np.linalg.norm(e), encoder=key)
        print(f"+{pid}", flush=True)
        if i % 9 == 8:
            print(f"?{pid - 3}", flush=True)   # about to delete: the kill may land after its commit
            lib.delete_prototype(pid - 3)
            print(f"-{pid - 3}", flush=True)
        i += 1
""")


def test_sigkill_during_writes_leaves_every_committed_prototype_whole(tmp_path, encoder):
    path = tmp_path / "lib.sqlite3"
    k = encoder_key(encoder)
    key_json = json.dumps({"sha256": k.sha256, "name": k.name, "dim": k.dim, "window": k.window, "meta": {}})
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    alive: set[int] = set()
    deleting: set[int] = set()       # a delete announced but not reported done: it may or may not have committed
    rng = np.random.default_rng(0)

    def follow(line: str) -> None:
        kind, pid = line[0], int(line[1:])
        if kind == "+":
            alive.add(pid)
        elif kind == "?":
            deleting.add(pid)
        else:
            alive.discard(pid)
            deleting.discard(pid)

    for round_ in range(3):
        child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), key_json, str(round_)], stdout=subprocess.PIPE,
                                 text=True, env=env, cwd=PROJECT_ROOT)
        adds = 0
        try:
            for line in child.stdout:
                follow(line)
                adds += line[0] == "+"
                if adds >= 40:
                    break
            time.sleep(float(rng.uniform(0, 0.02)))  # land anywhere inside the next writes
            os.kill(child.pid, signal.SIGKILL)
            for line in child.stdout:  # lines written before the kill
                follow(line)
        finally:
            child.kill()
            child.wait()
        assert child.returncode == -signal.SIGKILL
        assert adds >= 40, "the writer never got going"
        assert Path(str(path) + "-wal").exists()  # it really died with the write-ahead log open

        with Library(path) as lib:
            assert lib.integrity_check() == "ok"
            with sqlite3.connect(path) as con:
                n = con.execute("SELECT COUNT(*) FROM prototypes").fetchone()[0]
                assert con.execute("SELECT COUNT(*) FROM prototypes p JOIN labels l ON l.id=p.label_id").fetchone()[0] == n
                assert con.execute("SELECT COUNT(*) FROM embeddings").fetchone()[0] == n
                assert con.execute("SELECT COUNT(*) FROM prototypes p WHERE NOT EXISTS "
                                   "(SELECT 1 FROM embeddings e WHERE e.prototype_id=p.id)").fetchone()[0] == 0
                assert con.execute("SELECT COUNT(*) FROM embeddings e WHERE NOT EXISTS "
                                   "(SELECT 1 FROM prototypes p WHERE p.id=e.prototype_id)").fetchone()[0] == 0
                assert con.execute("SELECT COUNT(*) FROM prototypes WHERE length(window) != frames * joints * 12").fetchone()[0] == 0
            ids, labels, mat = lib.embeddings_for(k)
            assert sum(c for _, c in lib.list_labels()) == len(ids) == n
            got = set(ids.tolist())
            assert alive - deleting <= got           # everything reported committed survived
            assert len(deleting) <= 1                # one write in flight at a time
            assert len(got - alive) <= 1             # at most the write that committed as the kill landed
            alive, deleting = got, set()
            np.testing.assert_allclose(np.linalg.norm(mat, axis=1), 1.0, atol=1e-5)


# ------------------------------------------------------------------------------ export / import

def test_export_import_round_trip_merges_without_duplicates_and_reembeds(tmp_path, ucla_windows, encoder, small_encoder):
    src = filled_library(tmp_path / "a.sqlite3", ucla_windows, encoder)
    out = tmp_path / "share" / "export.focovil"
    out.parent.mkdir()
    out.write_bytes(b"old export")
    src.export_to(out)
    assert sorted(p.name for p in out.parent.iterdir()) == ["export.focovil"]  # replaced in place, no temp left
    assert not Path(str(out) + "-wal").exists()

    with Library(tmp_path / "b.sqlite3") as dst:
        dst.add_prototype("action1", ucla_windows[0][1], "mine", encoder=encoder)
        assert dst.import_from(out) == len(ucla_windows)
        assert dst.import_from(out) == 0                       # same uids: nothing twice
        counts = dict(dst.list_labels())
        assert counts["action1"] == 1 + sum(label == "action1" for label, _ in ucla_windows)
        assert dst.missing_embeddings(encoder) == []           # same encoder file: vectors came along
        imported = dst.prototypes(with_windows=True)[1:]
        for p, q in zip(imported, src.prototypes(with_windows=True)):
            assert (p.uid, p.label, p.source, p.start_s, p.end_s) == (q.uid, q.label, q.source, q.start_s, q.end_s)
            np.testing.assert_array_equal(p.window, q.window)
        np.testing.assert_allclose(dst.embeddings_for(encoder)[2][1:], src.embeddings_for(encoder)[2], atol=0)

    with Library(tmp_path / "c.sqlite3") as other:   # a library that runs the 128-d encoder
        assert other.import_from(out, encoder=small_encoder) == len(ucla_windows)
        assert other.embeddings_for(small_encoder)[2].shape == (len(ucla_windows), 128)
    src.close()


# -------------------------------------------------------------------------------- default path

def test_default_path_is_in_the_user_data_folder_and_created_on_first_use(tmp_path, monkeypatch):
    monkeypatch.delenv("FOCOVIL_LIBRARY", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    path = default_library_path()
    assert path == tmp_path / "xdg" / "focovil" / "library.sqlite3"
    assert path.parent.is_dir() and not path.exists()
    monkeypatch.setenv("XDG_DATA_HOME", "")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_library_path() == tmp_path / "home" / ".local" / "share" / "focovil" / "library.sqlite3"
    monkeypatch.setenv("FOCOVIL_LIBRARY", str(tmp_path / "elsewhere" / "lib.sqlite3"))
    with Library() as lib:
        assert lib.path == tmp_path / "elsewhere" / "lib.sqlite3" and lib.path.exists() and len(lib) == 0


def test_embedding_of_wrong_size_or_bad_window_is_rejected_before_writing(tmp_path, encoder):
    with Library(tmp_path / "lib.sqlite3") as lib:
        w = np.zeros((32, NUM_JOINTS, 3), np.float32)
        with pytest.raises(ValueError, match=f"size 10.*{encoder.dim}"):
            lib.add_prototype("a", w, embedding=np.ones(10, np.float32), encoder=encoder)
        with pytest.raises(ValueError, match=r"\[T, 20, 3\]"):
            lib.add_prototype("a", np.zeros((32, 33, 3), np.float32), encoder=encoder)
        with pytest.raises(ValueError, match="needs the encoder"):
            lib.add_prototype("a", w, embedding=np.ones(encoder.dim, np.float32))
        assert len(lib) == 0 and lib.list_labels() == []
        assert isinstance(encoder_key(encoder), EncoderKey)
