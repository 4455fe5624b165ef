"""Northwestern-UCLA Multiview Action3D skeletons (``aAA_sSS_eEE_vVV.json``), as canonical clips.

Only the file name's camera view decides which files are read: ``views=(1, 2)`` never opens a
view-3 file, so a cross-view training run cannot see the test view by accident.
"""
from __future__ import annotations

import json
import logging
import re
from functools import lru_cache
from pathlib import Path

import numpy as np

from focovil.realtime.paths import shared_path
from focovil.realtime.skeleton import from_kinect_v1
from focovil.training.data.clips import Clip, too_short

log = logging.getLogger(__name__)

ACTIONS = {1: "pick up with one hand", 2: "pick up with two hands", 3: "drop trash", 4: "walk around",
           5: "sit down", 6: "stand up", 7: "donning", 8: "doffing", 9: "throw", 10: "carry"}
CLASS_NAMES = [ACTIONS[i] for i in range(1, 11)]
# The file names' action codes (aAA: the original dataset's numbering, with gaps) -> the label 1..10
# each file's JSON carries (the key of ACTIONS).
LABEL_OF_FILE_CODE = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 6: 6, 8: 7, 9: 8, 11: 9, 12: 10}
_NAME = re.compile(r"^a(\d+)_s(\d+)_e(\d+)_v(\d+)$")


class DatasetError(ValueError):
    """A data file that cannot be read; the message names the file."""


def parse_name(stem: str) -> tuple[int, int, int, int]:
    """``a01_s02_e03_v01`` -> (action, subject, repetition, view)."""
    m = _NAME.match(stem)
    if not m:
        raise DatasetError(f"{stem}: not an NW-UCLA file name (expected aAA_sSS_eEE_vVV)")
    return tuple(int(g) for g in m.groups())  # type: ignore[return-value]


def read_file(path: Path) -> Clip | None:
    """One NW-UCLA JSON file as a clip, or None (logged) when it is too short to use."""
    return _read_cached(str(path))


@lru_cache(maxsize=None)
def _read_cached(path: str) -> Clip | None:
    try:
        doc = json.loads(Path(path).read_text())
        raw = doc["skeletons"]
        label = int(doc["label"])
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DatasetError(f"{path}: corrupt or truncated JSON ({e})") from e
    except (KeyError, TypeError, ValueError) as e:
        raise DatasetError(f"{path}: missing or bad field {e} (need 'skeletons' and 'label')") from e
    action, subject, rep, view = parse_name(Path(path).stem)
    if too_short(Path(path).name, len(raw)):
        return None
    try:
        skel = from_kinect_v1(raw)
    except ValueError as e:
        raise DatasetError(f"{path}: {e}") from e
    if not np.isfinite(skel).all():
        raise DatasetError(f"{path}: skeletons contain NaN or infinite coordinates")
    if not 1 <= label <= 10:
        raise DatasetError(f"{path}: label {label} outside 1..10")
    return Clip(name=Path(path).stem, skeleton=skel, label=label - 1, label_name=ACTIONS[label], view=view,
                subject=subject, instance=f"nwucla:a{action:02d}_s{subject:02d}_e{rep:02d}", source="nw-ucla")


def load_nwucla(root: str | Path, views: tuple[int, ...] | None = None,
                subjects: tuple[int, ...] | None = None) -> list[Clip]:
    """All usable clips under ``root`` whose view (and subject) is allowed."""
    root = shared_path(root)
    files = sorted(root.glob("*.json"))
    if not files:
        raise DatasetError(f"{root}: no NW-UCLA .json files found")
    clips = []
    for f in files:
        _, subject, _, view = parse_name(f.stem)
        if views is not None and view not in views:
            continue
        if subjects is not None and subject not in subjects:
            continue
        clip = read_file(f)
        if clip is not None:
            clips.append(clip)
    log.info("NW-UCLA: %d clips from %s (views %s)", len(clips), root, views or "all")
    return clips
