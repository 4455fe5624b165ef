"""Evaluation protocols. Each names which clips may train the encoder and which pairs
(gallery -> query) measure it, so that no command can train on the view it is tested on.

* ``cross-view``: encoder trains on NW-UCLA views 1+2 only; gallery v01+v02, queries v03.
* ``val``: for choosing settings without looking at v03, shaped like ``cross-view``: the encoder
  trains on all of v01 and on v02 of subjects 1-5; gallery v01, queries v02 of subjects 6-10
  (clips the encoder never saw, whose other-camera twins are in the gallery, as for v03).
* ``all``: every view (the app encoder); no honest cross-view number comes from it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from focovil.training.data.clips import Clip
from focovil.training.data.nwucla import load_nwucla

TRAIN_SUBJECTS = (1, 2, 3, 4, 5)
VAL_SUBJECTS = (6, 7, 8, 9, 10)
PROTOCOLS = ("cross-view", "val", "all")


@dataclass
class EvalPair:
    name: str
    gallery: list[Clip]
    query: list[Clip]


def train_views(protocol: str) -> tuple[int, ...]:
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose from {PROTOCOLS}")
    return (1, 2, 3) if protocol == "all" else (1, 2)


def train_clips(protocol: str, root: str | Path, exclude_labels: set[int] | None = None) -> list[Clip]:
    """NW-UCLA clips the encoder may see under ``protocol`` (never a test-view file)."""
    if protocol == "val":
        clips = load_nwucla(root, views=(1,)) + load_nwucla(root, views=(2,), subjects=TRAIN_SUBJECTS)
    else:
        clips = load_nwucla(root, views=train_views(protocol))
    if exclude_labels:
        clips = [c for c in clips if c.label not in exclude_labels]
    return clips


def eval_pairs(protocol: str, root: str | Path, labels: set[int] | None = None) -> list[EvalPair]:
    def pick(views: tuple[int, ...], subjects: tuple[int, ...] | None = None) -> list[Clip]:
        cs = load_nwucla(root, views=views, subjects=subjects)
        return [c for c in cs if labels is None or c.label in labels]
    if protocol == "cross-view":
        return [EvalPair("v01+v02->v03", pick((1, 2)), pick((3,)))]
    if protocol == "val":
        return [EvalPair("v01->v02 (s06-s10)", pick((1,)), pick((2,), VAL_SUBJECTS))]
    raise ValueError(f"protocol {protocol!r} has no held-out evaluation")
