"""The public API (``import focovil``): the README's example as written, skeletons the user already has
(canonical or MediaPipe's 33 landmarks), one message schema, and bad input that changes nothing."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import focovil
from focovil.realtime.messages import SCHEMA_VERSION, Result
from focovil.realtime.skeleton import from_mediapipe_world

ROOT = Path(__file__).resolve().parent.parent


def readme_block(heading: str) -> str:
    """The first ```python block under ``heading`` in the README."""
    text = (ROOT / "README.md").read_text()
    part = text[text.index(heading):]
    return re.search(r"```python\n(.*?)```", part, re.S).group(1)


def check_readme_example_output(out: str) -> None:
    lines = out.splitlines()
    assert lines[0] == "{'drink': 2}", out
    assert any(re.match(r" *\d+\.\d\ds person 1: drink \(action, similarity 0\.\d+", x) for x in lines), out
    assert lines[-2].startswith("drink ") and lines[-1] == "2 prototypes deleted", out


def test_readme_example_runs_as_written(tmp_path):
    script = tmp_path / "example.py"
    script.write_text(readme_block("## Use from Python"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    check_readme_example_output(r.stdout)
    assert (tmp_path / "my_library.sqlite3").is_file()


@pytest.fixture(scope="module")
def landmarks(shared_dir) -> tuple[np.ndarray, np.ndarray]:
    """10 s of real MediaPipe world landmarks ``[T, 33, 10]`` (TotalCapture camera 1, 60 fps); frames
    where nobody was found are NaN, as a user's own data would mark them."""
    with np.load(shared_dir / "data/totalcapture_mediapipe/S1_freestyle1.npz") as d:
        raw = np.asarray(d["cam1"][:600], dtype=np.float32)
    raw[np.abs(raw).sum(axis=(1, 2)) == 0] = np.nan
    return raw, np.arange(len(raw)) / 60.0


@pytest.fixture
def rec(tmp_path):
    with focovil.open(tmp_path / "lib.sqlite3") as r:
        yield r


def test_mediapipe_landmarks_and_canonical_skeletons_give_the_same_labels(rec, landmarks):
    raw, t = landmarks
    ids = rec.record_skeletons("freestyle", raw[:300], t[:300])        # 33 landmarks x 10 channels
    assert ids and rec.labels() == {"freestyle": len(ids)}
    from_landmarks = rec.recognize_skeletons(raw, t)
    from_canonical = rec.recognize_skeletons(from_mediapipe_world(raw[..., :3]), t)
    assert from_landmarks == from_canonical and len(from_landmarks) > 20
    # the recorded stretch is named by its own label (every window there matches a prototype of it)
    recorded = [r for r in from_landmarks if r.time <= 5.0 and r.state != "no person"]
    assert recorded and all(r.label == "freestyle" for r in recorded[3:]), [r.label for r in recorded]


def test_results_are_the_message_schema(rec, landmarks):
    raw, t = landmarks
    rec.record_skeletons("freestyle", raw[:300], t[:300])
    r = rec.recognize_skeletons(raw[:200], fps=60.0)[-1]
    msg = r.message()
    assert msg["schema"] == SCHEMA_VERSION and msg["type"] == "result"
    assert set(msg) == {"schema", "type"} | {f.name for f in dataclasses.fields(Result)}
    assert Result.from_message(json.loads(json.dumps(msg))) == r
    with pytest.raises(ValueError, match="schema"):
        Result.from_message({**msg, "schema": SCHEMA_VERSION + 1})


@pytest.mark.parametrize("bad, problem", [
    (np.zeros((30, 21, 3)), "shape"), (np.zeros((30, 33)), "shape"), (np.zeros((30, 20, 4)), "shape")])
def test_skeletons_of_the_wrong_shape_are_refused_and_change_nothing(rec, bad, problem, tmp_path):
    rec.record_skeletons("freestyle", np.zeros((40, 20, 3)) + np.linspace(0, 1, 40)[:, None, None], fps=15.0)
    before = (tmp_path / "lib.sqlite3").read_bytes()
    with pytest.raises(focovil.Error, match=problem):
        rec.record_skeletons("other", bad, fps=15.0)
    with pytest.raises(focovil.Error, match=problem):
        rec.recognize_skeletons(bad, fps=15.0)
    with pytest.raises(focovil.Error, match="times"):
        rec.record_skeletons("other", np.zeros((30, 20, 3)), np.arange(29) / 15.0)
    assert rec.labels() == {"freestyle": 1} and (tmp_path / "lib.sqlite3").read_bytes() == before
