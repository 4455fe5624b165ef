"""Frozen-embedding metrics: kNN-1 (cosine) and a linear probe (logistic regression)."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix

from focovil.realtime.encoder import in_batches


def l2n(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32).reshape(len(x), -1)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)


@torch.no_grad()
def embed(encoder: torch.nn.Module, windows: torch.Tensor | np.ndarray, batch: int = 512, device: str = "cpu") -> np.ndarray:
    """A torch module's embeddings of ``windows`` (eval mode, no gradients), through the app's one batch loop."""
    encoder.eval()
    with torch.no_grad():
        return in_batches(lambda b: encoder(torch.from_numpy(b).to(device)).float().cpu().numpy(), windows, batch)


def knn1(gallery: np.ndarray, g_labels: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Label of each query's most cosine-similar gallery item."""
    sim = l2n(query) @ l2n(gallery).T
    return np.asarray(g_labels)[sim.argmax(axis=1)]


PROBE_C = 0.1   # chosen on the validation split (training/sweep.py; C in 0.01, 0.1, 1, 10), never on v03


def linear_probe(train: np.ndarray, y_train: np.ndarray, test: np.ndarray, c: float = PROBE_C) -> np.ndarray:
    """Logistic regression on L2-normalised frozen embeddings (features standardised by the train set).

    Stronger regularisation than sklearn's default generalises better to an unseen camera: the
    probe must not fit what distinguishes views 1 and 2 from each other.
    """
    tr, te = l2n(train), l2n(test)
    mu, sd = tr.mean(0), tr.std(0) + 1e-6
    clf = LogisticRegression(C=c, max_iter=2000)
    clf.fit((tr - mu) / sd, y_train)
    return clf.predict((te - mu) / sd)


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.asarray(pred) == np.asarray(y)))


def per_class(pred: np.ndarray, y: np.ndarray, names: list[str]) -> dict[str, float]:
    return {names[k]: float(np.mean(pred[y == k] == k)) for k in sorted(set(np.asarray(y).tolist()))}


def confusion(pred: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    return confusion_matrix(y, pred, labels=list(range(n)))
