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
