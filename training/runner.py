"""The one experiment runner: training runs in subprocesses (``training.train``, one thread each, resumable,
each logged beside its output), several at once, and the mean and spread over seeds. The sweep, the
experiments, the domain sweep and the camera sweep build their grids on it."""
from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Hashable

import numpy as np
from tqdm import tqdm


def flags_of(d: dict) -> list[str]:
    """``{"limb_drift": 0.5, "align": True}`` -> ``["--limb-drift", "0.5", "--align", "true"]``."""
    return [a for k, v in d.items() for a in ("--" + k.replace("_", "-"), str(v).lower() if isinstance(v, bool) else str(v))]


def run_logged(cmd: list[str], log: Path) -> None:
    """One tool run, its output to ``log``; a failure raises, naming the log."""
    with open(log, "w") as f:
        if subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[1:3])} failed: see {log}")


def train(recipe: str | Path, out: Path, seed: int, flags: list[str]) -> Path:
    """``out/model.pt`` of one training run, trained now unless it is there (an interrupted run resumes)."""
    if not (out / "model.pt").exists():
        out.mkdir(parents=True, exist_ok=True)
        run_logged([sys.executable, "-m", "focovil.training.train", "--config", str(recipe), "--out", str(out),
                    "--seed", str(seed), "--threads", "1", "--resume", *flags], out / "train.log")
    return out / "model.pt"


def run_parallel(jobs: dict[Hashable, Callable[[], object]], n_jobs: int, desc: str, strict: bool = False) -> dict:
    """``{key: job()}``, ``n_jobs`` at a time with a progress bar. A job that raises RuntimeError is
    left out with a line saying why, or (``strict``) stops everything."""
    done: dict = {}
    with ThreadPoolExecutor(max(n_jobs, 1)) as pool, tqdm(total=len(jobs), desc=desc, dynamic_ncols=True) as bar:
        futs = {key: pool.submit(job) for key, job in jobs.items()}
        for key, fut in futs.items():
            try:
                done[key] = fut.result()
            except RuntimeError as e:
                if strict:
                    raise
                tqdm.write(f"{key}: {e}")
            bar.update(1)
    return done


def mean_std(rows: list[dict]) -> dict:
    """Each metric of ``rows`` (one per seed): mean, standard deviation and the values."""
    return {k: {"mean": float(np.mean([r[k] for r in rows])), "std": float(np.std([r[k] for r in rows])),
                "seeds": [r[k] for r in rows]} for k in rows[0]}
