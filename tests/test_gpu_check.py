"""benchmarks/gpu_check.py runs anywhere: on a machine without a GPU it says "no GPU" and why for each
path, exit 0; with one, every GPU path that ran gives the CPU path's answers."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_gpu_check_runs_and_says_what_it_found(tmp_path):
    from focovil.realtime.paths import SHIPPED_LIBRARY
    shipped = SHIPPED_LIBRARY.read_bytes()
    out = tmp_path / "gpu.json"
    r = subprocess.run([sys.executable, "benchmarks/gpu_check.py", "--json", str(out)], cwd=ROOT,
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    assert SHIPPED_LIBRARY.read_bytes() == shipped          # a check never changes a shipped file
    result = json.loads(out.read_text())
    assert json.loads(r.stdout) == result
    checks = result["checks"]
    assert set(checks) == {"encoder", "faiss", "pose", "end_to_end"}
    if not result["gpu"]:
        assert result["message"].startswith("no GPU: ")
        assert all(not c["ran"] and c["why"] and c["why"] in result["message"] for c in checks.values())
    else:
        assert all(c["equal"] for c in checks.values() if c["ran"]), checks
