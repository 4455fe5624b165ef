"""Train a FoCoViL encoder without labels: ``python -m training.train [--config C] [--flags]``.

Each step draws ``batch`` performances; a performance seen by several cameras gives one window
from each of two different cameras (the multi-view positive pair), a single-view clip gives two
augmented crops of itself. Runs on CUDA when present, else CPU; under ``torchrun`` it trains with
DDP (gloo on CPU, nccl on GPU), each process drawing its own performances and computing the loss
over its own batch.
"""
from __future__ import annotations

import json
import logging
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from training import augment
from training.config import TrainConfig, parse, to_dict
from training.data import ClipBank, load_kinder_gator
from training.data.splits import eval_pairs, train_clips
from training.loss import focal_contrastive_loss
from training.metrics import accuracy, embed, knn1
from training.model import FoCoViL

log = logging.getLogger("training.train")


def build_model(cfg: TrainConfig) -> FoCoViL:
    return FoCoViL(proj_dim=cfg.proj_dim, arch=cfg.arch, width=cfg.width, dim=cfg.dim, align=cfg.align,
                   align_frames=cfg.align_frames, dropout=cfg.dropout, align_level=cfg.align_level,
                   yaw_jitter=math.radians(cfg.yaw_jitter_deg), bones=cfg.bones, stream=cfg.stream)


def _ids(s: str) -> set[int]:
    return {int(v) for v in s.split(",") if v.strip()}


def load_training_clips(cfg: TrainConfig) -> list:
    clips = train_clips(cfg.protocol, cfg.nwucla, exclude_labels=_ids(cfg.exclude_labels)) if cfg.nwucla else []
    if cfg.kinder_gator:
        excl = {m.strip() for m in cfg.exclude_motions.split(",") if m.strip()}
        clips += load_kinder_gator(cfg.kinder_gator, fps=cfg.fps, exclude_motions=excl)
    return clips


def sample_batch(bank: ClipBank, cfg: TrainConfig, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two windows per drawn performance: ``([B, T, J, 3], [B, T, J, 3])``."""
    g = torch.randint(len(bank.groups), (cfg.batch,), generator=gen).tolist()
    a, b = [], []
    for k in g:
        members = bank.groups[k]
        if cfg.multiview and len(members) > 1:
            i, j = torch.randperm(len(members), generator=gen)[:2].tolist()
            a.append(members[i]); b.append(members[j])
        else:
            i = members[int(torch.randint(len(members), (1,), generator=gen))]
            a.append(i); b.append(i)
    tilt = math.radians(cfg.max_tilt_deg)

    def view(idx: list[int]) -> torch.Tensor:
        start, end = augment.random_span(len(idx), cfg.min_crop, gen)
        x = bank.crop(torch.tensor(idx), start, end, cfg.window)
        x = augment.spatial(x, max_tilt=tilt, jitter=cfg.jitter, shear=cfg.shear, depth_scale=cfg.depth_scale,
                            generator=gen)
        return augment.limb_drift(x, cfg.limb_noise, generator=gen) if cfg.limb_noise > 0 else x
    return view(a), view(b)


def contrastive_step(net: torch.nn.Module, opt: torch.optim.Optimizer, sched, x1: torch.Tensor, x2: torch.Tensor,
                     cfg: TrainConfig, device: str, mined: int = 0, labels: torch.Tensor | None = None) -> float:
    """One optimiser step of the FoCoViL loss on two views ``x1``/``x2`` of the same items; returns the loss."""
    z = net(torch.cat([x1, x2]).to(device))
    loss = focal_contrastive_loss(z[: len(x1)], z[len(x1):], tau=cfg.tau, gamma=cfg.gamma, beta=cfg.beta,
                                  mined=mined, labels=labels)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step(); sched.step()
    return float(loss.item())


def validate(model: FoCoViL, cfg: TrainConfig, device: str) -> dict:
    """kNN-1 on the held-out pairs of the protocol (``val``), or {} for protocols without one."""
    if cfg.protocol != "val":
        return {}
    out = {}
    for pair in eval_pairs(cfg.protocol, cfg.nwucla):
        g, q = ClipBank(pair.gallery).full(cfg.window), ClipBank(pair.query).full(cfg.window)
        eg, eq = embed(model.encoder, g, device=device), embed(model.encoder, q, device=device)
        yg = np.array([c.label for c in pair.gallery]); yq = np.array([c.label for c in pair.query])
        out[pair.name] = accuracy(knn1(eg, yg, eq), yq)
    out["mean"] = float(np.mean(list(out.values())))
    model.train()
    return out


def _setup_distributed() -> tuple[int, int, str]:
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


def train(cfg: TrainConfig, resume: bool = False) -> dict:
    rank, world, device = _setup_distributed()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out)
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.json").write_text(json.dumps(to_dict(cfg), indent=2))
    bank = ClipBank(load_training_clips(cfg))
    model = build_model(cfg).to(device)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=cfg.lr, total_steps=cfg.steps, pct_start=0.05)
    gen = torch.Generator().manual_seed(cfg.seed * 1000 + rank)
    step, history = 0, []
    ckpt = out / "checkpoint.pt"
    if resume and ckpt.exists():
        state = torch.load(ckpt, map_location=device, weights_only=False)
        model.load_state_dict(state["model"]); opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"]); gen.set_state(state["gen"])
        step, history = state["step"], state["history"]
        log.info("resumed from %s at step %d", ckpt, step)
    net = DistributedDataParallel(model) if world > 1 else model
    model.train()
    t0 = time.time()
    bar = tqdm(total=cfg.steps, initial=step, desc="train", disable=rank != 0, dynamic_ncols=True)
    while step < cfg.steps:
        x1, x2 = sample_batch(bank, cfg, gen)
        loss = contrastive_step(net, opt, sched, x1, x2, cfg, device, mined=cfg.mined if step >= cfg.steps // 3 else 0)
        step += 1
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}")
        if rank == 0 and (step % cfg.eval_every == 0 or step == cfg.steps):
            v = validate(model, cfg, device)
            history.append({"step": step, "loss": loss, "seconds": time.time() - t0, **v})
            if v:
                bar.write(f"step {step}: val kNN-1 {v['mean']:.3f} {v}")
        if rank == 0 and (step % cfg.ckpt_every == 0 or step == cfg.steps):
            tmp = ckpt.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                        "gen": gen.get_state(), "step": step, "history": history, "config": to_dict(cfg)}, tmp)
            os.replace(tmp, ckpt)
    bar.close()
    result = {"config": to_dict(cfg), "steps": step, "train_seconds": time.time() - t0, "world_size": world,
              "device": device, "n_clips": len(bank), "n_performances": len(bank.groups), "history": history}
    if rank == 0:
        tmp = out / "model.tmp"
        torch.save({"model": model.state_dict(), "config": to_dict(cfg), "train": result}, tmp)
        os.replace(tmp, out / "model.pt")
        (out / "train.json").write_text(json.dumps(result, indent=2))
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return result


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    cfg = parse(argv, description=__doc__.splitlines()[0])
    try:
        result = train(cfg, resume=getattr(cfg, "resume", False))
    except (FileNotFoundError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    last = result["history"][-1] if result["history"] else {}
    print(json.dumps({"out": cfg.out, "train_seconds": round(result["train_seconds"], 1), **{k: v for k, v in last.items()}}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
