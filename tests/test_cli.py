"""The command line as a user runs it: headless labels, record, library management, bad input.

What a command does is checked in this process (``run_main``); what only a process shows (no library
chatter on stderr, the installed command, a missing faiss) through ``main.py`` itself."""
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from conftest import run_main
from focovil.realtime.messages import SCHEMA_VERSION, Result

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_KEYS = {"schema", "type"} | {f.name for f in dataclasses.fields(Result)}


def main_py(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    import os
    return subprocess.run([sys.executable, "main.py", *args], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, **(env or {})})


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines()]


@pytest.fixture()
def library(tmp_path) -> str:
    """A copy of the shipped demo library (the CLI copies it the same way on first use)."""
    import shutil
    dst = tmp_path / "lib.sqlite3"
    shutil.copy(ROOT / "weights" / "default_library.sqlite3", dst)
    return str(dst)


def write_video(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    for f in frames:
        out.write(f)
    out.release()
    return path


def test_headless_writes_a_line_per_window_and_a_summary(shared_dir, tmp_path, library):
    out = tmp_path / "labels.jsonl"
    r = main_py("--headless", "--video", str(shared_dir / "data/videos/ntu_S001C001P001R001A001_drink_water.avi"),
                "--out", str(out), "--library", library)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = lines(out)
    windows, summary = rows[:-1], rows[-1]
    assert summary["summary"] and summary["frames"] + summary["frames_skipped"] == 103 and summary["windows"] == len(windows) > 0
    assert summary["pose_fps"] == 10 and 30 <= summary["frames"] <= 40          # the default pose rate: 10 of 30 fps
    assert all(set(w) == SCHEMA_KEYS and w["schema"] == SCHEMA_VERSION for w in windows)   # the API's Result, as is
    assert summary["schema"] == SCHEMA_VERSION and summary["type"] == "summary"
    assert max(summary["labels"], key=summary["labels"].get) == "drink water"
    assert r.stderr.strip() == "", r.stderr          # no library chatter without --verbose


@pytest.mark.parametrize("clip", ["closeup_face_partial_body.avi", "arm_wrestling_partial_bodies.mp4"])
def test_headless_exits_0_on_cut_off_people_and_several_people(shared_dir, tmp_path, library, clip):
    out = tmp_path / "labels.jsonl"
    r = run_main("--headless", "--video", str(shared_dir / "data/videos" / clip), "--out", str(out), "--library", library)
    assert r.returncode == 0, r.stderr[-2000:]
    assert lines(out)[-1]["summary"]


def test_headless_on_nobody_and_on_6_fps_video(shared_dir, tmp_path, library):
    cap = cv2.VideoCapture(str(shared_dir / "data/videos/ntu_S001C001P001R001A001_drink_water.avi"))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(cv2.resize(f, (640, 360)))
    slow = write_video(tmp_path / "slow.avi", frames[::5], 6.0)
    empty = write_video(tmp_path / "empty.avi", [np.full((240, 320, 3), 40, np.uint8)] * 30, 15.0)
    r = run_main("--headless", "--video", str(slow), "--out", str(tmp_path / "slow.jsonl"), "--library", library)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = lines(tmp_path / "slow.jsonl")[-1]
    assert summary["windows"] > 0 and max(summary["labels"], key=summary["labels"].get) == "drink water"
    r = run_main("--headless", "--video", str(empty), "--out", str(tmp_path / "empty.jsonl"), "--library", library)
    assert r.returncode == 0, r.stderr[-2000:]
    rows = lines(tmp_path / "empty.jsonl")
    assert rows[-1]["frames_with_person"] == 0
    assert rows[:-1] and all(x["state"] == x["label"] == "no person" for x in rows[:-1])


def test_record_then_manage_the_library(shared_dir, tmp_path):
    lib = str(tmp_path / "mine.sqlite3")
    fall = str(shared_dir / "data/videos/ntu_multiview/S001C001P006R001A043_rgb.avi")
    r = run_main("record", "--label", "fall", "--video", fall, "--start", "0", "--end", "2.1", "--library", lib)
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads(r.stdout.splitlines()[-1])["added"] >= 1
    assert json.loads(run_main("library", "list", "--library", lib).stdout)["labels"] == {"fall": 1}
    assert run_main("library", "rename", "fall", "falling", "--library", lib).returncode == 0
    exported = tmp_path / "export.sqlite3"
    assert run_main("library", "export", str(exported), "--library", lib).returncode == 0
    assert run_main("library", "delete", "falling", "--library", lib).returncode == 0
    assert json.loads(run_main("library", "list", "--library", lib).stdout)["labels"] == {}
    assert run_main("library", "import", str(exported), "--library", lib).returncode == 0
    assert json.loads(run_main("library", "list", "--library", lib).stdout)["labels"] == {"falling": 1}


def test_bad_inputs_get_one_line_errors(tmp_path, library):
    junk = tmp_path / "junk.mp4"
    junk.write_text("not a video")
    for args in (["--headless", "--video", str(tmp_path / "missing.mp4")], ["--headless", "--video", str(junk)],
                 ["--headless", "--video", "99"], ["--headless", "--video", str(junk), "--encoder", str(junk)]):
        r = run_main(*args, "--library", library)
        assert r.returncode == 2 and r.stderr.startswith("error: ") and "Traceback" not in r.stderr, (args, r.stderr)
    corrupt = tmp_path / "corrupt.sqlite3"
    corrupt.write_bytes(b"\x00garbage" * 100)
    before = corrupt.read_bytes()
    r = run_main("library", "list", "--library", str(corrupt))
    assert r.returncode == 2 and "corrupt" in r.stderr.lower() and corrupt.read_bytes() == before


def test_truncated_video_is_processed_as_far_as_readable_and_says_so(shared_dir, tmp_path, library):
    src = (shared_dir / "data/videos/ntu_S001C001P001R001A001_drink_water.avi").read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(src[: len(src) * 2 // 3])
    out = tmp_path / "cut.jsonl"
    r = run_main("--headless", "--video", str(cut), "--out", str(out), "--library", library)
    assert r.returncode == 0, r.stderr[-2000:]
    summary = lines(out)[-1]
    assert 0 < summary["frames"] < 103 and any("103" in w for w in summary["warnings"]), summary


def test_installed_focovil_command_is_main_py(library):
    """``pip install`` puts a ``focovil`` command beside the interpreter; it is ``main.py`` itself."""
    import shutil
    exe = Path(sys.executable).with_name("focovil")
    if not exe.exists():
        pytest.skip("the package is not installed in this environment (pip install -e .)")
    via_main = run_main("library", "list", "--library", library)
    via_cmd = subprocess.run([str(exe), "library", "list", "--library", library], capture_output=True, text=True,
                             timeout=300, cwd=shutil.os.path.expanduser("~"))
    assert via_cmd.returncode == via_main.returncode == 0, via_cmd.stderr[-2000:]
    assert json.loads(via_cmd.stdout) == json.loads(via_main.stdout)
    assert "usage: focovil" in subprocess.run([str(exe), "--help"], capture_output=True, text=True, timeout=120).stdout


def test_embed_writes_the_windows_the_recogniser_labels(shared_dir, tmp_path, library):
    """``embed`` goes through the app's own source -> pose -> window path: one row per window that
    ``--headless`` labels, the raw canonical windows, and the encoder's own embedding of each."""
    from focovil.realtime.encoder import load_encoder
    clip = str(shared_dir / "data/videos/ntu_S001C001P001R001A001_drink_water.avi")
    r = run_main("embed", "--video", clip, "--out", str(tmp_path / "e.npz"), "--library", library)
    assert r.returncode == 0, r.stderr[-2000:]
    h = run_main("--headless", "--video", clip, "--out", str(tmp_path / "l.jsonl"), "--library", library)
    assert h.returncode == 0, h.stderr[-2000:]
    labelled = [(x["start"], x["time"]) for x in lines(tmp_path / "l.jsonl")[:-1]]
    d = np.load(tmp_path / "e.npz")
    assert [(round(float(s), 3), round(float(e), 3)) for s, e in zip(d["start"], d["end"])] == labelled
    enc = load_encoder(str(d["encoder"]), device="cpu")
    assert d["windows"].shape == (len(labelled), enc.window_frames, 20, 3) and d["embeddings"].shape == (len(labelled), enc.dim)
    np.testing.assert_allclose(d["embeddings"], enc.embed(d["windows"]), atol=1e-4)
    assert json.loads(str(d["metadata"]))["embedding_dim"] == enc.dim
    empty = write_video(tmp_path / "empty.avi", [np.full((240, 320, 3), 40, np.uint8)] * 30, 15.0)
    r = run_main("embed", "--video", str(empty), "--out", str(tmp_path / "none.npz"), "--library", library)
    assert r.returncode == 2 and "no window with a person" in r.stderr and not (tmp_path / "none.npz").exists()


def test_missing_faiss_is_one_line_saying_what_to_install(tmp_path):
    """A Python where ``import faiss`` fails (a stand-in package that raises, first on the path)."""
    import os
    fake = tmp_path / "nofaiss" / "faiss"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named faiss')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(fake.parent), os.environ.get("PYTHONPATH", "")])}
    r = main_py("library", "list", "--library", str(tmp_path / "lib.sqlite3"), env=env)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().splitlines() == [r.stderr.strip()] and "pip install faiss-cpu" in r.stderr
