"""Strictness: the one open-set setting a user tunes, in place of a raw similarity.

Strictness ``s`` (0-100) is the similarity threshold below which ``s`` % of *correct* matches fell
when the encoder was calibrated on camera skeletons (``training.camera_open_set``, written by
``training.export --calibrate`` into the metadata as ``metrics["strictness"]``), so the same
number means the same for every encoder, although their similarities differ. The table also stores
what each level was measured to do on its calibration data (share of enrolled queries named
right, of never-enrolled ones called "unknown"): the GUI shows it beside the setting.
"""
from __future__ import annotations

import numpy as np

from focovil.realtime.encoder import EncoderMeta
from focovil.realtime.settings import Settings

DEFAULT_STRICTNESS = Settings().strictness   # chosen on held-out camera data (training.choose strictness)
FALLBACK_THRESHOLD = 0.90        # an encoder file with neither a table nor a measured threshold


def table_of(meta: EncoderMeta | None) -> dict | None:
    t = (meta.metrics or {}).get("strictness") if meta is not None else None
    return t if isinstance(t, dict) and t.get("levels") and t.get("thresholds") else None


def check_strictness(strictness: float) -> float:
    if not 0 <= strictness <= 100:
        raise ValueError(f"strictness is 0-100 (the share of correct matches allowed to become "
                         f"'unknown'), got {strictness}")
    return float(strictness)


def threshold_at(meta: EncoderMeta | None, strictness: float = DEFAULT_STRICTNESS) -> float:
    """The similarity threshold of ``strictness`` for this encoder (interpolated in its table).

    A file without a table falls back to its single measured "unknown" threshold (older files),
    else to :data:`FALLBACK_THRESHOLD`."""
    s = check_strictness(strictness)
    t = table_of(meta)
    if t is not None:
        return float(np.interp(s, t["levels"], t["thresholds"]))
    thr = meta.unknown_threshold if meta is not None else None
    return FALLBACK_THRESHOLD if thr is None else float(thr)


def meaning(meta: EncoderMeta | None, strictness: float) -> str:
    """In words, what ``strictness`` was measured to do with this encoder."""
    t = table_of(meta)
    s = check_strictness(strictness)
    if t is None or "named_right" not in t:
        return f"similarity threshold {threshold_at(meta, s):.2f} (this encoder file has no measured table)"
    named = 100 * float(np.interp(s, t["levels"], t["named_right"]))
    rejected = 100 * float(np.interp(s, t["levels"], t["rejected"]))
    return (f"names {named:.0f} % of recorded actions right, calls {rejected:.0f} % of others "
            f"\u201cunknown\u201d (measured on {t.get('summary') or t.get('data', 'calibration data')}); "
            f"similarity \u2265 {threshold_at(meta, s):.2f}")
