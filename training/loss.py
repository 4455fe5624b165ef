"""Multi-view contrastive loss with adaptive focalization (FoCoViL's objective, as built here).

``z1, z2``: ``[N, d]`` L2-normalised projections of two views of the same N performances (row i of
``z1`` and row i of ``z2`` are a positive pair; everything else in the 2N batch is a negative).
With ``s_ij = z_i . z_j`` (cosine similarity) and temperature ``tau``, for anchor ``i`` with positive
``p`` and negatives ``k`` (the 2N - 2 others):

    w_ik = (2N - 2) * softmax_k(beta * s_ik)                      (similarity weights, no gradient)
    P_i  = sum_{p in Pos_i} exp(s_ip / tau) / (sum_{p in Pos_i} exp(s_ip / tau) + sum_k w_ik exp(s_ik / tau))
    L    = mean_i  -(1 - P_i)^gamma * log P_i

``Pos_i`` is the other view of the same performance, plus (``mined = m > 0``) the ``m`` batch
items most similar to that other view: neighbour positives that pull similar motions of
different performances together (the recipes switch them on after the first third of training).
With ``labels`` (``[N]``, ``-1`` = unlabelled; ``training.retrain`` passes the user's library labels),
``Pos_i`` also holds every other batch item of the same label:
``Pos_i = {partner(i)} u {j != i : y_j = y_i >= 0}`` (both views of each item carry its label).

Two focalizations, both driven by pairwise similarity: ``w_ik`` makes negatives that sit close to
the anchor (the ones that blur cluster boundaries) count more; ``(1 - P_i)^gamma`` makes the
positive pairs that are still far apart (the hard cross-view pairs) count more than ones already
solved. ``gamma = beta = 0`` is the plain NT-Xent / InfoNCE loss; that is the ablation.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def focal_contrastive_loss(z1: torch.Tensor, z2: torch.Tensor, tau: float = 0.1,
                           gamma: float = 1.0, beta: float = 0.0, mined: int = 0,
                           labels: torch.Tensor | None = None) -> torch.Tensor:
    n = z1.shape[0]
    z = torch.cat([z1, z2], dim=0)
    sim = z @ z.t()                                                       # [2N, 2N]
    eye = torch.eye(2 * n, dtype=torch.bool, device=z.device)
    pos_idx = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)]).to(z.device)
    pos_mask = F.one_hot(pos_idx, 2 * n).bool()
    if mined > 0:
        # Neighbour positives: the ``mined`` items most similar to the anchor's *other view*
        # (not to the anchor itself, which would only confirm what it already believes).
        partner_sim = sim.detach()[pos_idx].masked_fill(eye | pos_mask, float("-inf"))
        top = partner_sim.topk(mined, dim=1).indices
        pos_mask = pos_mask | torch.zeros_like(pos_mask).scatter_(1, top, True)
        pos_mask = pos_mask & ~eye
    if labels is not None:
        y = torch.cat([labels, labels]).to(z.device)
        pos_mask = (pos_mask | ((y[:, None] == y[None, :]) & (y[:, None] >= 0))) & ~eye
    neg_mask = ~(eye | pos_mask)
    logits = sim / tau
    if beta > 0:
        w = torch.softmax((beta * sim.detach()).masked_fill(~neg_mask, float("-inf")), dim=1)
        log_w = torch.log(w * (2 * n - 2) + 1e-12)
    else:
        log_w = torch.zeros_like(sim)
    neg_logits = (logits + log_w).masked_fill(~neg_mask, float("-inf"))
    pos_logits = logits.masked_fill(~pos_mask, float("-inf"))
    pos_lse = torch.logsumexp(pos_logits, dim=1, keepdim=True)
    log_p = pos_lse.squeeze(1) - torch.logsumexp(torch.cat([pos_lse, neg_logits], dim=1), dim=1)
    if gamma > 0:
        focal = (1 - log_p.exp()).clamp_min(0).pow(gamma)
        return -(focal * log_p).mean()
    return -log_p.mean()


def chance_loss(n: int) -> float:
    """InfoNCE value when every similarity is equal: log(2N - 1). Handy to check training moves."""
    return math.log(2 * n - 1)
