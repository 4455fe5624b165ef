"""Fuzzing the inputs users hand us, seeded and reproducible: damaged videos, library exports,
NW-UCLA-style JSON and encoder files. Each case must end in a result or in the app's own error
naming the file: never another exception (a traceback for the user), never a changed library."""
from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import pytest

from focovil.realtime.encoder import METADATA_FILE, EncoderFileError, load_encoder
from focovil.realtime.library import Library, LibraryError
from focovil.realtime.paths import DEFAULT_ENCODER, SHIPPED_LIBRARY
from focovil.realtime.source import SourceError, open_source

SEED = 20261201


def flip_bytes(data: bytes, rng: np.random.Generator, n: int) -> bytes:
    b = bytearray(data)
    for i in rng.integers(0, len(b), n):
        b[i] ^= int(rng.integers(1, 256))
    return bytes(b)


def damaged(data: bytes, rng: np.random.Generator) -> bytes:
    """Cut at a random point, bytes flipped, or both."""
    kind = int(rng.integers(0, 3))
    if kind in (0, 2):
        data = data[: int(rng.integers(0, len(data)))]
    if kind in (1, 2) and data:
        data = flip_bytes(data, rng, int(rng.integers(1, 64)))
    return data


def test_damaged_videos_are_read_as_far_as_they_go_or_refused_naming_the_file(shared_dir, tmp_path):
    clip = (shared_dir / "data/videos/closeup_face_partial_body.avi").read_bytes()
    rng = np.random.default_rng(SEED)
    outcomes = {"read": 0, "refused": 0}
    for case in range(40):
        f = tmp_path / f"case{case}.avi"
        f.write_bytes(damaged(clip, rng))
        try:
            with open_source(f) as src:
                n = sum(1 for _ in src)
            outcomes["read"] += 1
            assert n <= 164
        except SourceError as e:
            assert f.name in str(e), str(e)
            outcomes["refused"] += 1
    assert sum(outcomes.values()) == 40 and outcomes["read"] and outcomes["refused"], outcomes


def library_digest(path: Path) -> str:
    with Library(path) as lib:
        rows = [(p.uid, p.label, p.window.tobytes()) for p in lib.prototypes(with_windows=True)]
    return hashlib.sha256(repr(sorted(rows)).encode()).hexdigest()


def edited_export(src: Path, dst: Path, rng: np.random.Generator) -> None:
    """An export edited with SQL: damaged windows, wrong shapes, a dropped table, NULLs."""
    shutil.copyfile(src, dst)
    con = sqlite3.connect(str(dst))
    try:
        edit = int(rng.integers(0, 5))
        if edit == 0:
            con.execute("UPDATE prototypes SET window = ? WHERE id = (SELECT MIN(id) FROM prototypes)",
                        (rng.bytes(int(rng.integers(0, 5000))),))
        elif edit == 1:
            con.execute("UPDATE prototypes SET frames = frames + ?", (int(rng.integers(1, 9)),))
        elif edit == 2:
            con.execute("DROP TABLE embeddings")
        elif edit == 3:
            con.execute("UPDATE prototypes SET joints = ?", (int(rng.integers(0, 40)),))
        else:
            con.execute("UPDATE embeddings SET vector = ?", (rng.bytes(int(rng.integers(0, 64))),))
        con.commit()
    finally:
        con.close()


def test_damaged_or_edited_library_exports_never_change_the_library(tmp_path):
    """Each export goes into a library that has none of its prototypes (prototypes are matched by uid,
    so the library it came from would take nothing): an accepted import must add prototypes, a
    refused one must leave the library byte for byte as it was."""
    export, shipped = tmp_path / "export.sqlite3", tmp_path / "shipped.sqlite3"
    shutil.copyfile(SHIPPED_LIBRARY, shipped)              # opening a library may write: never the shipped file
    with Library(shipped) as lib:
        lib.export_to(export)
    target = tmp_path / "mine.sqlite3"
    with Library(target) as lib:
        lib.add_prototype("my own", np.zeros((32, 20, 3), np.float32) + np.linspace(0, 1, 32)[:, None, None])
    before, before_bytes = library_digest(target), target.read_bytes()
    data = export.read_bytes()
    rng = np.random.default_rng(SEED)
    outcomes = {"imported": 0, "refused": 0}
    for case in range(120):
        f = tmp_path / f"case{case}.sqlite3"
        if case % 2:
            f.write_bytes(damaged(data, rng))
        else:
            edited_export(export, f, rng)
        work = tmp_path / "work.sqlite3"
        shutil.copyfile(target, work)
        try:
            with Library(work) as lib:
                added = lib.import_from(f)
            assert added > 0 and library_digest(work) != before, f"case {case}: an accepted import added nothing"
            outcomes["imported"] += 1
        except LibraryError as e:
            assert f.name in str(e), str(e)
            assert work.read_bytes() == before_bytes, f"case {case}: a refused import changed the library file"
            assert library_digest(work) == before
            outcomes["refused"] += 1
    assert outcomes["refused"] >= 60 and outcomes["imported"] >= 10, outcomes


def test_bad_nwucla_json_is_refused_naming_the_file(shared_dir, tmp_path):
    from focovil.training.data.nwucla import DatasetError, read_file
    src = json.loads((shared_dir / "data/nw-ucla/all_sqe/a01_s01_e00_v01.json").read_text())
    rng = np.random.default_rng(SEED)
    bad = [lambda d: {**d, "skeletons": np.asarray(d["skeletons"])[:, :-int(rng.integers(1, 20))].tolist()},
           lambda d: {**d, "skeletons": [[[float("nan")] * 3] * 20] * len(d["skeletons"])},
           lambda d: {k: v for k, v in d.items() if k != "label"},
           lambda d: {**d, "label": "eleven"},
           lambda d: {**d, "label": int(rng.integers(11, 99))},
           lambda d: {**d, "skeletons": "not a list"},
           lambda d: {**d, "skeletons": [[1.0, 2.0]] * 7},
           lambda d: {**d, "skeletons": np.asarray(d["skeletons"])[..., :2].tolist()}]
    outcomes = {"read": 0, "refused": 0}
    for case in range(100):
        f = tmp_path / f"a01_s01_e{case:02d}_v01.json"
        if case % 3 == 0:
            f.write_bytes(damaged(json.dumps(src).encode(), rng))
        else:
            f.write_text(json.dumps(bad[int(rng.integers(0, len(bad)))](src)))
        try:
            clip = read_file(f)
            outcomes["read"] += 1
            assert clip is None or np.isfinite(clip.skeleton).all(), f"case {case}: NaN skeleton accepted"
        except DatasetError as e:
            assert f.name in str(e), str(e)
            outcomes["refused"] += 1
    assert outcomes["refused"] >= 80, outcomes


def test_encoder_files_with_edited_metadata_or_bytes_are_refused_naming_the_file(tmp_path):
    raw = DEFAULT_ENCODER.read_bytes()
    with zipfile.ZipFile(DEFAULT_ENCODER) as z:
        names = z.namelist()
        meta_name = next(n for n in names if n.endswith("/extra/" + METADATA_FILE))
        meta = json.loads(z.read(meta_name))
    rng = np.random.default_rng(SEED)
    edits = [lambda m: {k: v for k, v in m.items() if k != list(m)[int(rng.integers(0, len(m)))]},
             lambda m: {**m, "window": int(rng.integers(-5, 200))},
             lambda m: {**m, "embedding_dim": int(rng.integers(1, 2000))},
             lambda m: {**m, "joints": m["joints"][::-1]},
             lambda m: {**m, "format": "something-else/9"},
             lambda m: {**m, "metrics": {"strictness": {"levels": "x", "thresholds": None}}},
             lambda m: {**m, "fps": "fast"}]
    outcomes = {"loaded": 0, "refused": 0}
    for case in range(40):
        f = tmp_path / f"case{case}.pt"
        if case % 4 == 0:
            f.write_bytes(damaged(raw, rng))
        else:
            text = json.dumps(edits[int(rng.integers(0, len(edits)))](dict(meta)))
            if case % 7 == 0:
                text = text[: int(rng.integers(0, len(text)))]
            with zipfile.ZipFile(DEFAULT_ENCODER) as zin, zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as zout:
                for n in names:
                    zout.writestr(zin.getinfo(n), text if n == meta_name else zin.read(n))
        try:
            rt = load_encoder(f, device="cpu")
            from focovil.realtime.strictness import threshold_at
            threshold_at(rt.meta)                  # what the app does next with the metadata
            outcomes["loaded"] += 1
        except EncoderFileError as e:
            assert f.name in str(e), str(e)
            outcomes["refused"] += 1
    assert outcomes["refused"] >= 20, outcomes
