"""The one training loop, shared by ``training.train`` and ``training.retrain``.

A driver starts the processes (:func:`start`: ``torchrun``'s environment -> DDP with gloo on CPU or
nccl on GPU, thread count, seed), builds its model and data, then calls :func:`run` with its own
parameter groups, its own batch function and its own extra checkpoint state. :func:`run` does the
rest: AdamW + OneCycleLR over those groups, resume from ``checkpoint.pt``, the DDP wrap, the
progress bar, one FoCoViL step per batch, a per-step hook (validation, history) and periodic atomic
checkpoints on rank 0. It ends by gathering a checksum of every rank's parameters on every rank,
the proof that DDP kept the copies in step. :func:`finish` closes the process group.
"""
from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from focovil.realtime.files import atomic_write
from focovil.training.config import TrainConfig
from focovil.training.loss import focal_contrastive_loss

log = logging.getLogger("focovil.training.loop")


@dataclass(frozen=True)
class Dist:
    rank: int
    world: int
    device: str


@dataclass
class Batch:
    """Two views of the same items, and how the loss treats them."""
    x1: torch.Tensor
    x2: torch.Tensor
    mined: int = 0                          # neighbour positives per anchor
    labels: torch.Tensor | None = None      # y >= 0: items of one label are positives of each other


@dataclass
class Result:
    step: int
    history: list
    seconds: float                          # training time of this process's run (not of a resumed part)
    resumed_from: int                       # 0 unless resumed
    param_sha256: list[str] = field(default_factory=list)   # one per rank, gathered on every rank


def setup_distributed() -> tuple[int, int, str]:
    """``(rank, world_size, device)`` from torchrun's environment; joins the process group when world > 1."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    use_cuda = torch.cuda.is_available()
    if world > 1:
        dist.init_process_group("nccl" if use_cuda else "gloo")
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return rank, world, f"cuda:{local}"
    return rank, world, "cpu"


def start(seed: int, threads: int = 0) -> Dist:
    """Distributed setup, torch's CPU thread count (0: its default) and the global seed."""
    rank, world, device = setup_distributed()
    if threads:
        torch.set_num_threads(threads)
    torch.manual_seed(seed)
    return Dist(rank, world, device)


def finish(d: Dist) -> None:
    """Waits for every rank, then leaves the process group (a no-op for one process). A rank other
    than 0 has nothing left to do then (rank 0 alone validates, writes and reports), so it exits here,
    at once: in the interpreter's teardown gloo's threads could still abort it ("terminate called
    without an active exception", exit -6, seen once after a finished two-process retrain)."""
    if d.world > 1:
        dist.barrier()
        dist.destroy_process_group()
        if d.rank != 0:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)


def contrastive_step(net: torch.nn.Module, opt: torch.optim.Optimizer, sched, batch: Batch, cfg: TrainConfig,
                     device: str) -> float:
    """One optimiser step of the FoCoViL loss (``cfg``'s tau, gamma, beta) on ``batch``; returns the loss."""
    z = net(torch.cat([batch.x1, batch.x2]).to(device))
    n = len(batch.x1)
    loss = focal_contrastive_loss(z[:n], z[n:], tau=cfg.tau, gamma=cfg.gamma, beta=cfg.beta,
                                  mined=batch.mined, labels=batch.labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step(); sched.step()
    return float(loss.item())


def param_sha256(model: torch.nn.Module) -> str:
    """sha256 of the parameters' bytes, in order (buffers such as BatchNorm statistics are per rank)."""
    h = hashlib.sha256()
    for name, p in model.named_parameters():
        h.update(name.encode())
        h.update(p.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


def gather_checksums(model: torch.nn.Module, d: Dist) -> list[str]:
    mine = param_sha256(model)
    if d.world == 1:
        return [mine]
    out: list = [None] * d.world
    dist.all_gather_object(out, mine)
    return out


def run(model: torch.nn.Module, groups: list[dict], d: Dist, *, cfg: TrainConfig, steps: int, pct_start: float,
        seed: int, next_batch: Callable[[int, torch.Generator], Batch], ckpt: Path, ckpt_every: int,
        extra_state: dict, resume: bool, hook: Callable[[int, float, float], dict | None] | None = None,
        desc: str = "train") -> Result:
    """Trains ``model`` (on ``d.device``) in place for ``steps`` steps.

    ``groups``: AdamW parameter groups, each ``{"params": [...], "lr": max_lr}`` (weight decay
    ``cfg.weight_decay``; OneCycleLR peaks at each group's lr). ``next_batch(step, gen)``: the batch
    of the step about to run, drawn from ``gen`` (seeded ``seed * 1000 + rank``, checkpointed).
    ``hook(step, loss, seconds)`` runs after every step; what it returns (if not None) joins the
    history. Rank 0 writes ``ckpt`` every ``ckpt_every`` steps and at the end, with ``extra_state``;
    with ``resume`` an existing ``ckpt`` is continued from.
    """
    opt = torch.optim.AdamW(groups, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[g["lr"] for g in groups], total_steps=steps,
                                                pct_start=pct_start)
    gen = torch.Generator().manual_seed(seed * 1000 + d.rank)
    step, history = 0, []
    if resume and ckpt.exists():
        state = torch.load(ckpt, map_location=d.device, weights_only=False)
        model.load_state_dict(state["model"]); opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"]); gen.set_state(state["gen"])
        step, history = state["step"], state["history"]
        log.info("resumed from %s at step %d", ckpt, step)
    resumed_from = step
    net = DistributedDataParallel(model) if d.world > 1 else model
    model.train()
    t0 = time.time()
    bar = tqdm(total=steps, initial=step, desc=desc, disable=d.rank != 0, dynamic_ncols=True)
    while step < steps:
        loss = contrastive_step(net, opt, sched, next_batch(step, gen), cfg, d.device)
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}")
        entry = hook(step, loss, time.time() - t0) if hook is not None else None
        if entry is not None:
            history.append(entry)
        if d.rank == 0 and (step % ckpt_every == 0 or step == steps):
            state = {"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                     "gen": gen.get_state(), "step": step, "history": history, **extra_state}
            atomic_write(ckpt, lambda tmp: torch.save(state, tmp))
    bar.close()
    return Result(step=step, history=history, seconds=time.time() - t0, resumed_from=resumed_from,
                  param_sha256=gather_checksums(model, d))
