"""CI's gate as pytest hooks (``tests/conftest.py`` takes them; ``-p ci_gate`` with tests/ on the path
elsewhere). With ``$FOCOVIL_CI`` set (``.ci/run`` sets it): the run stops before any test, in one line,
when the shared data folder lacks a file the tests use (``tests/shared_data.py``), and a test that
would skip fails instead. Without it nothing changes: tests that need the data skip, saying why."""
from __future__ import annotations

import pytest

from shared_data import CI_ENV, check_line, in_ci, shared_folder


def pytest_configure(config) -> None:
    """In CI the run stops before any test, in one line, when the shared folder is not whole."""
    if in_ci() and not hasattr(config, "workerinput"):
        line = check_line(shared_folder())
        if line:
            pytest.exit(line, returncode=3)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """In CI a test that would skip (no data, no Xvfb, ...) fails instead, with the reason it gave."""
    _fail_skips_in_ci((yield).get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """The same for a whole module that would skip when collected (PyQt5 or pytest-qt missing)."""
    _fail_skips_in_ci((yield).get_result())


def _fail_skips_in_ci(rep) -> None:
    if in_ci() and rep.skipped and not hasattr(rep, "wasxfail"):
        reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
        rep.outcome, rep.longrepr = "failed", f"would skip, but CI must run it (${CI_ENV}): {reason}"
