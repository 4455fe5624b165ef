"""Shared pytest fixtures."""
from __future__ import annotations

from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    """``<project>/../shared`` (real data and models); tests that need it skip when it is absent."""
    shared = PROJECT_ROOT.parent / "shared"
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
