"""Two processes on one library: the second writer waits for the first (up to a stated time), then
either writes or says it is busy, in one line, having changed nothing. Real processes, real SQLite.
The library is a fresh copy of the shipped one, still in rollback-journal mode: the first opening
must switch it to WAL while the other process writes, which SQLite refuses at once without waiting."""
from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import run_main
from focovil.realtime.library import Library
from focovil.realtime.paths import SHIPPED_LIBRARY

HOLDER = """
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("BEGIN IMMEDIATE")
con.execute("UPDATE labels SET name = 'held' WHERE name = 'pick up'")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.execute(sys.argv[3])
"""


def hold(path, seconds: float, end: str) -> subprocess.Popen:
    """Another process holding the library's write lock for ``seconds``, then COMMIT or ROLLBACK."""
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds), end], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def labels(path) -> set[str]:
    with Library(path) as lib:
        return {name for name, _n in lib.list_labels()}


def test_a_second_writer_waits_for_the_first_and_both_writes_survive(tmp_path, monkeypatch):
    """The writer is the command line called in this process (it starts at once), the holder a real
    second process."""
    lib = tmp_path / "lib.sqlite3"
    shutil.copyfile(SHIPPED_LIBRARY, lib)
    monkeypatch.setenv("FOCOVIL_LOCK_WAIT_S", "30")
    holder = hold(lib, 2.0, "COMMIT")
    t0 = time.perf_counter()
    r = run_main("library", "rename", "drink water", "drinking", "--library", str(lib))
    assert holder.wait(timeout=30) == 0
    assert r.returncode == 0, r.stderr
    assert time.perf_counter() - t0 >= 1.8                  # it waited for the holder's commit
    assert {"held", "drinking"} <= labels(lib) and not {"pick up", "drink water"} & labels(lib)


def test_a_writer_that_waits_too_long_says_busy_in_one_line_and_changes_nothing(tmp_path, monkeypatch):
    lib = tmp_path / "lib.sqlite3"
    shutil.copyfile(SHIPPED_LIBRARY, lib)
    before = labels(lib)
    monkeypatch.setenv("FOCOVIL_LOCK_WAIT_S", "1")
    holder = hold(lib, 60.0, "ROLLBACK")
    r = run_main("library", "rename", "drink water", "drinking", "--library", str(lib))
    holder.kill()                          # its transaction dies with it
    holder.wait(timeout=30)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "is busy" in r.stderr and "1 s" in r.stderr
    assert labels(lib) == before


LOCK_HOLDER = """
import sys, time
from pathlib import Path
from focovil.training.retrain_lock import retrain_lock
with retrain_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_killed_retrain_leaves_no_stale_lock(tmp_path):
    from focovil.training.retrain_inputs import RetrainError
    from focovil.training.retrain_lock import retrain_lock
    lib = tmp_path / "lib.sqlite3"
    p = subprocess.Popen([sys.executable, "-c", LOCK_HOLDER, str(lib)], stdout=subprocess.PIPE, text=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert p.stdout.readline().strip() == "held"
    with pytest.raises(RetrainError, match=f"pid {p.pid}"):
        with retrain_lock(lib, wait_s=0.2):
            pass
    p.kill()
    p.wait(timeout=30)
    with retrain_lock(lib, wait_s=0):     # the OS released it with the process: no waiting, no cleanup
        pass
