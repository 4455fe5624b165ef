"""Measurements on frozen embeddings, shared by ``evaluate`` (encoder files) and the baselines.

Every function takes ``embed_fn``: canonical windows ``[N, T, J, 3]`` -> embeddings ``[N, D]``, so the
encoder and the three baselines (raw joints, view-aligned raw joints, yaw-invariant features) go
through the same code.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

from focovil.training.align import ViewAlign
from focovil.training.data import ClipBank
from focovil.training.data.clips import Clip
from focovil.training.model import invariant_features, key_pairs
from focovil.training.metrics import accuracy, confusion, embed, knn1, l2n, linear_probe, per_class

EmbedFn = Callable[[np.ndarray], np.ndarray]

# Held out of training for the novel-motion protocols (labels only make the split).
NOVEL_NWUCLA_LABELS = (5, 6, 7, 8, 9)   # stand up, donning, doffing, throw, carry
NOVEL_KG_MOTIONS = (
    "Wave-your-hand", "Wave-your-other-hand", "Punch", "Draw-a-circle", "Draw-the-letter-X",
    "Signal-someone-to-stop", "Signal-someone-to-come-here",
    "Swipe-across-an-imaginary-screen-in-front-of-you-from-left-to-right",
    "Swipe-across-an-imaginary-screen-in-front-of-you-from-right-to-left",
    "Do-two-jumping-jacks", "Make-the-letter-Y", "Touch-your-toes", "Kick-a-ball", "Fly-like-a-bird",
    "Push-an-imaginary-button-in-front-of-you", "Raise-your-hand",
)


def raw_joints(windows: np.ndarray) -> np.ndarray:
    """Baseline: joints centred on the window's mean pelvis, flattened (no rotation, no scale)."""
    x = np.asarray(windows, dtype=np.float32)
    return (x - x[:, :, :1].mean(axis=1, keepdims=True)).reshape(len(x), -1)


class AlignedJoints(torch.nn.Module):
    """The one view-aligned-joints baseline: the encoder's coarse view alignment (``level``: levelled
    too), then the joints flattened. A module so that an encoder file can be made of it
    (``benchmarks/record_once.py`` runs it through the app); ``forward`` is unit length for the app's
    inner-product index, :meth:`features` is what the probes get."""

    def __init__(self, level: bool = False) -> None:
        super().__init__()
        self.view_align = ViewAlign(level=level)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.view_align(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.normalize(self.features(x), dim=1)

    @torch.jit.export
    def align(self, x: torch.Tensor) -> torch.Tensor:
        return self.view_align(x)


_ALIGNED = {False: AlignedJoints(level=False).eval(), True: AlignedJoints(level=True).eval()}


def aligned_joints(windows: np.ndarray, level: bool = False) -> np.ndarray:
    """Baseline: the same coarse view alignment the encoder uses, then flattened joints."""
    with torch.no_grad():
        return _ALIGNED[level].features(torch.as_tensor(np.asarray(windows, dtype=np.float32))).numpy()


def joint_motion(windows: np.ndarray, level: bool = False) -> np.ndarray:
    """Baseline: the hybrid's hand-made motion part alone (each view-aligned joint's displacement over
    4 frames, every 4th frame; ``training.exported.motion_features``), no training."""
    from focovil.training.exported import motion_features
    with torch.no_grad():
        return motion_features(_ALIGNED[level].align(torch.as_tensor(np.asarray(windows, dtype=np.float32)))).numpy()


_PAIRS = key_pairs()


def invariant_joints(windows: np.ndarray) -> np.ndarray:
    """Baseline: the encoder's yaw-invariant stream without an encoder (heights, radii and end-point
    distances, flattened; velocities left out: they only add noise to a raw kNN). No facing
    estimate, so none of its error."""
    with torch.no_grad():
        x = _ALIGNED[False].align(torch.as_tensor(np.asarray(windows, dtype=np.float32)))
        f = invariant_features(x, *_PAIRS)
        return f[..., : f.shape[-1] // 2].reshape(len(windows), -1).numpy()


def windows_of(clips: list[Clip], length: int) -> np.ndarray:
    return ClipBank(clips).full(length).numpy()


def labels_of(clips: list[Clip]) -> np.ndarray:
    return np.array([c.label for c in clips])


def module_embed(module: torch.nn.Module, batch: int = 512) -> EmbedFn:
    """The embedding function of a torch module (eval mode, no gradients, ``batch`` windows at a time)."""
    return lambda windows: embed(module, windows, batch)


def gallery_query(embed_fn: EmbedFn, gallery: list[Clip], query: list[Clip], length: int,
                  class_names: list[str], linear: bool = True) -> dict:
    """kNN-1 and linear probe trained on the gallery, tested on the queries."""
    eg, eq = embed_fn(windows_of(gallery, length)), embed_fn(windows_of(query, length))
    yg, yq = labels_of(gallery), labels_of(query)
    pk = knn1(eg, yg, eq)
    out = {"knn1": accuracy(pk, yq), "knn1_per_class": per_class(pk, yq, class_names),
           "n_gallery": len(gallery), "n_query": len(query)}
    if linear:
        pl = linear_probe(eg, yg, eq)
        out.update(linear=accuracy(pl, yq), linear_per_class=per_class(pl, yq, class_names),
                   confusion_linear=confusion(pl, yq, len(class_names)).tolist(),
                   confusion_knn1=confusion(pk, yq, len(class_names)).tolist())
    return out


def one_shot(embed_fn: EmbedFn, support_pool: list[Clip], query: list[Clip], length: int,
             trials: int = 50, seed: int = 0, exclude_same_subject: bool = False) -> dict:
    """Record once, recognise: one random prototype per class from ``support_pool``, nearest wins.

    Averaged over ``trials`` draws. With ``exclude_same_subject`` a query is never scored against a
    draw whose prototype comes from the query's own person for that class (across-people test).
    """
    es, eq = embed_fn(windows_of(support_pool, length)), embed_fn(windows_of(query, length))
    ys, yq = labels_of(support_pool), labels_of(query)
    subj_s, subj_q = np.array([c.subject for c in support_pool]), np.array([c.subject for c in query])
    classes = sorted(set(yq.tolist()))
    rng = np.random.default_rng(seed)
    accs = []
    for _ in range(trials):
        pick = np.array([rng.choice(np.flatnonzero(ys == k)) for k in classes])
        pred = knn1(es[pick], ys[pick], eq)
        keep = np.ones(len(yq), bool)
        if exclude_same_subject:
            keep = subj_q != subj_s[pick][np.searchsorted(classes, yq)]
        accs.append(float(np.mean(pred[keep] == yq[keep])))
    return {"one_shot": float(np.mean(accs)), "one_shot_std": float(np.std(accs)), "trials": trials,
            "n_classes": len(classes), "n_query": len(query)}


def leave_one_subject_out_knn1(embed_fn: EmbedFn, clips: list[Clip], length: int) -> float:
    """kNN-1 where a query's own person is never in the gallery (across people)."""
    e, y = embed_fn(windows_of(clips, length)), labels_of(clips)
    s = np.array([c.subject for c in clips])
    sim = l2n(e) @ l2n(e).T
    sim[s[:, None] == s[None, :]] = -np.inf
    return accuracy(y[sim.argmax(axis=1)], y)
