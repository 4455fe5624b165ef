"""The one summary of timings every benchmark writes: percentiles, and the extras a benchmark asks for."""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np


def percentiles(values: Iterable[float], digits: int = 3, extra: tuple[str, ...] = (), suffix: str = "") -> dict:
    """``{"p50", "p95"}`` of ``values`` rounded to ``digits``, plus any of ``extra`` ("mean", "max", "n");
    each name ends with ``suffix`` (e.g. "_ms") except "n". Empty input: ``{}``."""
    a = np.asarray(list(values), dtype=np.float64)
    if a.size == 0:
        return {}
    out = {f"p50{suffix}": round(float(np.percentile(a, 50)), digits), f"p95{suffix}": round(float(np.percentile(a, 95)), digits)}
    for name in extra:
        out[name if name == "n" else name + suffix] = len(a) if name == "n" else round(float(getattr(np, name)(a)), digits)
    return out
