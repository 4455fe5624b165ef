"""The real wheel: ``python -m build`` makes it, it holds every module and shipped file, and a fresh
virtual environment with only that wheel installed runs the demo from anywhere.

torch is named with the wheel as ``torch==2.13.0`` only to take this machine's CPU build: an unpinned
torch resolves to a CUDA build of several GB here (README, "Install from a wheel").
"""
from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow


def tracked(*patterns: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True, check=True)
    return out.stdout.split()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """sdist, then the wheel built from that sdist (what ``python -m build`` does by default)."""
    out = tmp_path_factory.mktemp("dist")
    r = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    wheels = list(out.glob("focovil-*.whl"))
    assert len(wheels) == 1, list(out.iterdir())
    return wheels[0]


def test_wheel_holds_every_module_and_shipped_file(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = [f"focovil/{m}" for m in tracked("realtime/*.py", "training/*.py")] + tracked("focovil/*.py")
    assert modules and not [m for m in modules if m not in names]
    shipped = {f"focovil/realtime/weights/{Path(f).name}" for f in tracked("weights/*.pt", "weights/*.task", "weights/*.sqlite3")}
    shipped |= {f"focovil/{f}" for f in tracked("realtime/assets/*", "training/recipes/*.json")}
    assert len(shipped) >= 6 and not shipped - names, sorted(shipped - names)


def test_wheel_claims_one_import_name(wheel: Path) -> None:
    """Only ``focovil`` (and its metadata): a top-level ``realtime`` would overwrite, or be overwritten by,
    the unrelated PyPI project of that name."""
    top = {n.split("/")[0] for n in zipfile.ZipFile(wheel).namelist()}
    assert top == {"focovil", f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"}, sorted(top)


def test_fresh_venv_with_only_the_wheel_runs_the_demo(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    r = subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-compile", str(wheel), "torch==2.13.0"],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    # Far from the checkout, no display, no PYTHONPATH: only what the wheel installed can answer.
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM", "PYTHONPATH")}
    env["FOCOVIL_LIBRARY"] = str(work / "library.sqlite3")
    where = subprocess.run([str(py), "-c", "import focovil.realtime.paths as p; print(p.WEIGHTS); print(p.DEMO_CLIP)"],
                           cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert where.returncode == 0, where.stderr[-2000:]
    assert all(Path(line).is_relative_to(venv) for line in where.stdout.split()), where.stdout
    demo = subprocess.run([str(venv / "bin" / "focovil")], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert demo.returncode == 0, demo.stderr[-3000:]
    summary = json.loads(demo.stdout.strip().splitlines()[-1])
    assert summary["summary"] and Path(summary["source"]).is_relative_to(venv)
    assert summary["frames_with_person"] == summary["frames"] > 0
    assert max(summary["labels"], key=summary["labels"].get) == "drink water", summary["labels"]
    assert (work / "library.sqlite3").is_file() and not (ROOT / "library.sqlite3").exists()
    for tool in (["-m", "focovil.training.retrain", "--help"], ["-m", "focovil.realtime.gui", "--help"]):   # the other doors
        r = subprocess.run([str(py), *tool], cwd=work, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "usage:" in r.stdout, (tool, r.stderr[-2000:])
    # the README's API example, as written, with only the wheel installed
    text = (ROOT / "README.md").read_text()
    example = re.search(r"```python\n(.*?)```", text[text.index("## Use from Python"):], re.S).group(1)
    (work / "example.py").write_text(example)
    r = subprocess.run([str(py), "example.py"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.splitlines()[0] == "{'drink': 2}" and r.stdout.splitlines()[-1] == "2 prototypes deleted", r.stdout
    # the README's event-stream client, against the installed command serving the demo clip (its port
    # swapped for a free one, nothing else changed)
    client = re.search(r"```python\n(.*?)```", text[text.index("A client in a few lines"):], re.S).group(1)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    (work / "client.py").write_text(client.replace("8765", str(port)))
    server = subprocess.Popen([str(venv / "bin" / "focovil"), "--headless", "--video", summary["source"], "--serve",
                               f"127.0.0.1:{port}", "--serve-wait", "120", "--out", "lines.jsonl"],
                              cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        for _ in range(600):
            c = subprocess.run([str(py), "client.py"], cwd=work, env=env, capture_output=True, text=True, timeout=300)
            if c.returncode == 0 or "onnect" not in c.stderr:      # retry only while the server is not up yet
                break
            time.sleep(0.5)
        assert server.wait(timeout=300) == 0, server.stderr.read()[-2000:]
    finally:
        server.kill()
    assert c.returncode == 0, c.stderr[-2000:]
    assert c.stdout.startswith("now: ") and "person 1: drink water (action)" in c.stdout, c.stdout
