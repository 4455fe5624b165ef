"""Train a FoCoViL encoder without labels: ``python -m focovil.training.train [--config C] [--flags]``.

Each step draws ``batch`` performances; a performance seen by several cameras gives one window
from each of two different cameras (the multi-view positive pair), a single-view clip gives two
augmented crops of itself. Runs on CUDA when present, else CPU; under ``torchrun`` it trains with
DDP (gloo on CPU, nccl on GPU), each process drawing its own performances and computing the loss
over its own batch. The loop itself is ``training.loop``'s, shared with ``training.retrain``;
``train.json`` records a checksum of every rank's final parameters (all equal under DDP).
"""
from __future__ import annotations

import json
import logging
import math
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from focovil.realtime.files import atomic_text, atomic_write
from focovil.training import augment, loop
from focovil.training.config import TrainConfig, parse, to_dict
from focovil.training.data import ClipBank, load_kinder_gator
from focovil.training.data.splits import eval_pairs, train_clips
from focovil.training.metrics import accuracy, embed, knn1
from focovil.training.model import FoCoViL


def build_model(cfg: TrainConfig) -> FoCoViL:
    return FoCoViL(proj_dim=cfg.proj_dim, arch=cfg.arch, width=cfg.width, dim=cfg.dim, align=cfg.align,
                   align_frames=cfg.align_frames, dropout=cfg.dropout, align_level=cfg.align_level,
                   yaw_jitter=math.radians(cfg.yaw_jitter_deg), bones=cfg.bones, stream=cfg.stream,
                   retarget=cfg.retarget)


def _ids(s: str) -> set[int]:
    return {int(v) for v in s.split(",") if v.strip()}


def load_training_clips(cfg: TrainConfig) -> list:
    clips = train_clips(cfg.protocol, cfg.nwucla, exclude_labels=_ids(cfg.exclude_labels)) if cfg.nwucla else []
    if cfg.kinder_gator:
        excl = {m.strip() for m in cfg.exclude_motions.split(",") if m.strip()}
        clips += load_kinder_gator(cfg.kinder_gator, fps=cfg.fps, exclude_motions=excl)
    if cfg.totalcapture:
        from focovil.training.data.totalcapture import training_clips       # refuses the validation sequence
        clips += training_clips(cfg.totalcapture, fps=cfg.fps, final=cfg.totalcapture_final)
    return clips


def draw_groups(bank: ClipBank, cfg: TrainConfig, gen: torch.Generator) -> list[int]:
    """The performances of one batch: uniform over all of them, or ``totalcapture_share`` of the
    batch from the TotalCapture camera pairs and the rest from the other sources (uniform when a run
    has no camera pairs, e.g. a recipe's ``totalcapture`` emptied on the command line)."""
    pick = lambda pool, n: [pool[i] for i in torch.randint(len(pool), (n,), generator=gen).tolist()]  # noqa: E731
    tc = ([k for k, m in enumerate(bank.groups) if bank.clips[m[0]].source == "totalcapture"]
          if cfg.totalcapture_share > 0 else [])
    if not tc:
        return pick(range(len(bank.groups)), cfg.batch)
    rest = [k for k, m in enumerate(bank.groups) if bank.clips[m[0]].source != "totalcapture"]
    n_tc = int(round(cfg.batch * cfg.totalcapture_share)) if rest else cfg.batch
    return pick(tc, n_tc) + (pick(rest, cfg.batch - n_tc) if rest else [])


def sample_batch(bank: ClipBank, cfg: TrainConfig, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Two windows per drawn performance: ``([B, T, J, 3], [B, T, J, 3])``."""
    g = draw_groups(bank, cfg, gen)
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

    span = augment.random_span(len(a), cfg.min_crop, gen) if cfg.same_span else None

    def view(idx: list[int]) -> torch.Tensor:
        start, end = span if span is not None else augment.random_span(len(idx), cfg.min_crop, gen)
        x = bank.crop(torch.tensor(idx), start, end, cfg.window)
        x = augment.spatial(x, max_tilt=tilt, jitter=cfg.jitter, shear=cfg.shear, depth_scale=cfg.depth_scale,
                            generator=gen)
        if cfg.limb_depth > 0:
            x = augment.limb_depth(x, cfg.limb_depth, generator=gen)
        return augment.limb_drift(x, cfg.limb_drift, generator=gen) if cfg.limb_drift > 0 else x
    return view(a), view(b)


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


def train(cfg: TrainConfig, resume: bool = False) -> dict:
    d = loop.start(cfg.seed, cfg.threads)
    out = Path(cfg.out)
    if d.rank == 0:
        atomic_text(out / "config.json", json.dumps(to_dict(cfg), indent=2))
    bank = ClipBank(load_training_clips(cfg))
    model = build_model(cfg)
    if cfg.init:
        from focovil.training.retrain_inputs import load_base
        base = load_base(cfg.init).model.encoder.state_dict()
        mine = model.encoder.state_dict()
        if set(base) != set(mine) or any(base[k].shape != mine[k].shape for k in mine):
            raise ValueError(f"--init {cfg.init}: its encoder is not this recipe's architecture (arch, width, dim, "
                             f"stream must match; e.g. the app file trains with training/recipes/app_cameras.json)")
        model.encoder.load_state_dict(base)
    model = model.to(d.device)

    def next_batch(step: int, gen: torch.Generator) -> loop.Batch:
        x1, x2 = sample_batch(bank, cfg, gen)
        return loop.Batch(x1, x2, mined=cfg.mined if step >= cfg.steps // 3 else 0)

    def hook(step: int, loss: float, seconds: float) -> dict | None:
        if d.rank != 0 or not (step % cfg.eval_every == 0 or step == cfg.steps):
            return None
        v = validate(model, cfg, d.device)
        if v:
            tqdm.write(f"step {step}: val kNN-1 {v['mean']:.3f} {v}")
        return {"step": step, "loss": loss, "seconds": seconds, **v}

    r = loop.run(model, [{"params": list(model.parameters()), "lr": cfg.lr}], d, cfg=cfg, steps=cfg.steps,
                 pct_start=0.05, seed=cfg.seed, next_batch=next_batch, ckpt=out / "checkpoint.pt",
                 ckpt_every=cfg.ckpt_every, extra_state={"config": to_dict(cfg)}, resume=resume, hook=hook)
    result = {"config": to_dict(cfg), "steps": r.step, "train_seconds": r.seconds, "world_size": d.world,
              "device": d.device, "n_clips": len(bank), "n_performances": len(bank.groups),
              "param_sha256_per_rank": r.param_sha256, "history": r.history}
    if d.rank == 0:
        state = {"model": model.state_dict(), "config": to_dict(cfg), "train": result}
        atomic_write(out / "model.pt", lambda tmp: torch.save(state, tmp))
        atomic_text(out / "train.json", json.dumps(result, indent=2))
    loop.finish(d)
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
