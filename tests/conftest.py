"""Shared pytest fixtures."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

# Each xdist worker (and every process it starts) gets its share of the cores rather than all of them:
# two workers each running torch's and BLAS's pools on both cores spend the time fighting over them.
if os.environ.get("PYTEST_XDIST_WORKER_COUNT"):
    _share = max(1, len(os.sched_getaffinity(0)) // int(os.environ["PYTEST_XDIST_WORKER_COUNT"]))
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(_var, str(_share))

import pytest

# CI's gate (``$FOCOVIL_CI``): the shared data checked before any test, and no test skipping there
from ci_gate import pytest_configure, pytest_make_collect_report, pytest_runtest_makereport  # noqa: E402,F401

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """The real data (``realtime.paths.shared_root``: ``$FOCOVIL_SHARED``, else ``../shared`` beside the
    checkout); tests that need it skip when it is absent."""
    from focovil.realtime.paths import shared_root
    shared = shared_root()
    if not (shared / "data").is_dir():
        pytest.skip(f"../shared/data not found: {shared / 'data'} (real data is only in dev checkouts and CI)")
    return shared


@pytest.fixture(scope="session")
def totalcapture_root(shared_dir) -> Path:
    """TotalCapture's MediaPipe skeletons, Vicon and calibration in ../shared (skips when absent)."""
    root = shared_dir / "data" / "totalcapture_mediapipe"
    if not root.is_dir():
        pytest.skip(f"TotalCapture MediaPipe data not found: {root} (see ../shared/data/README.md)")
    return root


@pytest.fixture(scope="session")
def camera_skeletons(shared_dir, tmp_path_factory):
    """``get(clip)``: ``(times, canonical skeletons, NaN where nobody)`` of a video in ../shared through the
    app's own frame path (``training.data.video_skeletons.skeletons``), pose on every frame: real MediaPipe
    once per clip per run, for tests whose subject is what comes after pose. The cache is this run's
    own (both workers share it; a cached file is written whole, then renamed), never runs/cache, so a
    changed pose path is always seen."""
    import os

    from focovil.training.data.video_skeletons import skeletons
    root = tmp_path_factory.getbasetemp()
    cache = (root.parent if os.environ.get("PYTEST_XDIST_WORKER") else root) / "mediapipe"
    cache.mkdir(exist_ok=True)

    def get(clip: str | Path) -> tuple:
        return skeletons(shared_dir / clip, cache)
    return get


def torchrun(nproc: int) -> list[str]:
    """``python -m torch.distributed.run`` for ``nproc`` local processes on a free port (tests run
    several such jobs back to back; the default port may still be held by the previous one)."""
    import socket
    import sys
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}", f"--master_port={port}"]


@pytest.fixture(scope="session", autouse=True)
def shipped_files_stay_as_shipped():
    """No test may change a shipped file (opening a library in place rewrites its journal mode, a
    benchmark could re-export an encoder): every file in weights/ is compared after the whole run."""
    import hashlib

    def digest() -> dict[str, str]:
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted((PROJECT_ROOT / "weights").iterdir())
                if p.is_file()}
    before = digest()
    yield
    after = digest()
    assert after == before, f"tests changed shipped files: {sorted(k for k in after if after.get(k) != before.get(k))}"


@dataclasses.dataclass
class Ran:
    """What a run of the command line gave: as ``subprocess.CompletedProcess``, for the same asserts."""
    returncode: int
    stdout: str
    stderr: str


def run_main(*args: str) -> Ran:
    """The command line called in this process (``main.py``'s ``main(argv)``): for tests whose subject
    is what a command does, not the process (start-up, stderr of the libraries, exit on import errors
    stay with ``main.py`` in a real process). Saves an interpreter and a torch import per call."""
    import contextlib
    import io

    from main import main
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in args])
        except SystemExit as e:                       # argparse's own errors
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 2)
    return Ran(code, out.getvalue(), err.getvalue())


def pytest_collection_modifyitems(config, items) -> None:
    """The longest modules first: the suite runs on two workers, one file each at a time (README), and a
    long file that starts last would leave one worker idle while the other finishes it."""
    first = ("test_wheel.py", "test_evaluate_cli.py", "test_retrain.py", "test_tracking.py", "test_cli.py")
    items.sort(key=lambda it: first.index(it.path.name) if it.path.name in first else len(first))
