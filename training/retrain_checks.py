"""Retraining's two checks and its decision: is the candidate encoder not worse than the one it replaces?

* **user**: kNN-1 of the held-out recordings of the user's labels against the rest;
* **NW-UCLA validation**: kNN-1 of the ``val`` protocol (``training.data.splits``): gallery v01,
  queries v02 of subjects 6-10, which retraining never trains on (view 3 is never read).

Promote iff ``after >= before - margin`` on both (:func:`decide`).
"""
from __future__ import annotations

from focovil.training.data.clips import Clip
from focovil.training.data.nwucla import CLASS_NAMES
from focovil.training.open_set import calibrate
from focovil.training.protocols import EmbedFn, gallery_query
from focovil.training.retrain_inputs import RetrainSettings, UserData


def measure_checks(embed_fn: EmbedFn, window: int, user: UserData, val_gallery: list[Clip], val_query: list[Clip],
             nwucla_root=None) -> dict:
    """Both checks (kNN-1, per label) for one encoder; ``nwucla_root``: also calibrate strictness
    (``training.open_set.calibrate``, protocol ``val``: v01 prototypes, v02 queries of the training
    subjects, never the validation queries) into ``out["calibration"]``."""
    u = gallery_query(embed_fn, user.train, user.heldout, window, user.label_names, linear=False)
    val = gallery_query(embed_fn, val_gallery, val_query, window, CLASS_NAMES, linear=False)
    out = {"user": u, "nwucla_val": val}
    if nwucla_root is not None:
        out["calibration"] = calibrate(embed_fn, nwucla_root, window, protocol="val")
    return out


def decide(before: dict, after: dict, settings: RetrainSettings) -> tuple[bool, list[str]]:
    """Promote iff neither check drops by more than its margin; the reasons, in words."""
    reasons, ok = [], True
    for key, name, margin in (("user", "your held-out recordings", settings.margin_user),
                              ("nwucla_val", "NW-UCLA validation (v01 -> v02 of subjects 6-10)", settings.margin_val)):
        b, a = before[key]["knn1"], after[key]["knn1"]
        good = a >= b - margin - 1e-9
        ok &= good
        reasons.append(f"{name}: kNN-1 {100 * b:.1f} -> {100 * a:.1f} % ({100 * (a - b):+.1f}); "
                       f"{'within' if good else 'worse than'} the allowed drop of {100 * margin:.1f} points")
    return ok, reasons
