"""CI cannot pass without its data: the shared folder is checked against the manifest of the files the
tests use (one line naming what is missing), and with ``$FOCOVIL_CI`` a test that would skip fails.
Elsewhere the same test still skips, with its reason."""
import os
import subprocess
import sys
from pathlib import Path

from shared_data import check_line, manifest_files, problems

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
SKIPPING = "import pytest\n\ndef test_needs_data():\n    pytest.skip('no data here')\n"


def gated_pytest(tmp_path: Path, shared: Path, ci: bool) -> subprocess.CompletedProcess:
    """pytest with CI's gate (``-p ci_gate``) on a test that skips, in a folder of its own."""
    (tmp_path / "test_skipping.py").write_text(SKIPPING)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(TESTS), str(ROOT)]), "FOCOVIL_SHARED": str(shared)}
    env.pop("FOCOVIL_CI", None)
    if ci:
        env["FOCOVIL_CI"] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "ci_gate", "-p", "no:cacheprovider", "-q",
                           "test_skipping.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)


def test_the_manifest_names_files_of_every_data_source_the_suite_reads():
    files = manifest_files()
    for source in ("nw-ucla", "kinder-gator", "totalcapture_mediapipe", "videos"):
        assert any(f.startswith(f"data/{source}/") for f in files), source
    assert all(size > 0 for size in files.values())


def test_the_shared_folder_here_is_whole(shared_dir):
    assert check_line(shared_dir) is None


def test_a_missing_or_cut_file_is_named_in_one_line(shared_dir, tmp_path):
    """A copy of the shared folder (links) with one file gone and one cut short."""
    files = sorted(manifest_files())
    gone, cut = files[0], files[-1]
    for rel in files:
        dst = tmp_path / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if rel == cut:
            dst.write_bytes((shared_dir / rel).read_bytes()[:100])
        elif rel != gone:
            dst.symlink_to(shared_dir / rel)
    assert problems(tmp_path) == sorted([f"{gone} missing", f"{cut} is 100 bytes, not {(shared_dir / cut).stat().st_size}"])
    r = subprocess.run([sys.executable, str(TESTS / "shared_data.py")], env={**os.environ, "FOCOVIL_SHARED": str(tmp_path)},
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1
    assert gone in r.stderr and cut in r.stderr and "not whole (2 of" in r.stderr


def test_in_ci_a_test_that_would_skip_fails_and_elsewhere_it_skips(shared_dir, tmp_path):
    here = gated_pytest(tmp_path, shared_dir, ci=False)
    assert here.returncode == 0 and "1 skipped" in here.stdout, here.stdout
    ci = gated_pytest(tmp_path, shared_dir, ci=True)
    assert ci.returncode == 1 and "1 failed" in ci.stdout, ci.stdout
    assert "would skip, but CI must run it" in ci.stdout and "no data here" in ci.stdout


def test_in_ci_without_the_data_no_test_runs(tmp_path):
    empty = tmp_path / "no_shared"
    empty.mkdir()
    r = gated_pytest(tmp_path, empty, ci=True)
    assert r.returncode == 3, r.stdout + r.stderr
    assert "not whole" in r.stdout + r.stderr and "no data here" not in r.stdout + r.stderr
