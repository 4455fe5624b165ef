"""Training settings: one dataclass, filled from defaults, an optional JSON file, then flags."""
from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

DEFAULT_NWUCLA = "../shared/data/nw-ucla/all_sqe"
DEFAULT_KG = "../shared/data/kinder-gator/kinder_gator.npz"
DEFAULT_TOTALCAPTURE = "../shared/data/totalcapture_mediapipe"


@dataclass
class TrainConfig:
    out: str = "runs/focovil"
    protocol: str = "cross-view"          # cross-view | val | all   (which NW-UCLA views may train)
    nwucla: str = DEFAULT_NWUCLA
    kinder_gator: str = ""                # path to kinder_gator.npz to add its clips (unlabelled use)
    totalcapture: str = ""                # TotalCapture MediaPipe folder: its training sequences' camera pairs join in
    totalcapture_share: float = 0.0       # share of each batch drawn from those pairs (0: drawn like any other clip)
    totalcapture_final: bool = False      # all four sequences, the validation one too: only for a shipped file whose settings are chosen
    init: str = ""                        # an encoder file whose learned encoder the run starts from (fine-tuning)
    exclude_labels: str = ""              # NW-UCLA class ids (0-based, comma list) kept out of training
    exclude_motions: str = ""             # Kinder-Gator motion names (comma list) kept out of training
    arch: str = "tcn"                     # tcn | gru | stgcn
    stream: str = "joint"                 # joint | bone (child - parent) | direction (unit bones) | invariant | motion | trajectory (no static pose)
    width: int = 64
    dim: int = 256
    proj_dim: int = 128
    dropout: float = 0.1
    align: bool = True
    align_frames: int = 0                 # 0 = whole window
    yaw_jitter_deg: float = 0.0           # training-only random yaw after alignment (facing estimate error)
    align_level: bool = False             # also turn the mean torso direction upright (camera pitch/roll)
    retarget: bool = False                # one canonical body: bone lengths of align.TEMPLATE (every sensor alike)
    multiview: bool = True                # False: positives are two augmentations of one clip
    bones: bool = False                   # add bone vectors (child - parent) to the input features
    window: int = 32                      # frames per window (the encoder's T)
    fps: float = 15.0                     # the encoder's frame rate (NW-UCLA, estimated)
    min_crop: float = 0.7
    same_span: bool = False               # both views of a pair cropped at the same fraction of the clip (in step)
    max_tilt_deg: float = 15.0
    jitter: float = 0.01
    shear: float = 0.0
    depth_scale: float = 0.0              # extra depth (z) scale in +-, camera frame: Kinect depth/fit errors
    limb_drift: float = 0.0               # probability of a drifting limb (occluded-limb tracking errors)
    limb_depth: float = 0.0               # probability of a limb's depth mirrored/stretched (monocular errors)
    tau: float = 0.1
    gamma: float = 1.0
    beta: float = 0.0
    mined: int = 0                        # neighbour positives per anchor (0 = instance pairs only)
    batch: int = 128                      # performances per step (2 windows each)
    steps: int = 1500
    lr: float = 2e-3
    weight_decay: float = 1e-4
    seed: int = 0
    eval_every: int = 250
    ckpt_every: int = 250
    threads: int = 0                      # torch CPU threads; 0 = torch's default


# Settings that were renamed: the name older recipes, checkpoints and encoder files use -> today's.
RENAMED = {"limb_noise": "limb_drift"}


def config_from(d: dict, strict: bool = True) -> TrainConfig:
    """A :class:`TrainConfig` from a stored dict (a checkpoint's, an encoder file's, a recipe), older
    names read as today's; unknown keys are an error, or (``strict=False``) left out."""
    d = {RENAMED.get(k, k): v for k, v in d.items()}
    known = {f.name for f in fields(TrainConfig)}
    unknown = sorted(set(d) - known)
    if unknown and strict:
        raise ValueError(f"unknown training setting(s): {', '.join(unknown)}")
    return TrainConfig(**{k: v for k, v in d.items() if k in known})


def parse(argv: list[str] | None = None, description: str = "") -> TrainConfig:
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("--config", help="JSON file of settings (flags override it)")
    ap.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt if present")
    for f in fields(TrainConfig):
        kw = {"type": (lambda s: s.lower() in ("1", "true", "yes")) if f.type in (bool, "bool") else
              {"int": int, "float": float, "str": str}.get(str(f.type), str)}
        ap.add_argument("--" + f.name.replace("_", "-"), dest=f.name, default=None, **kw)
    args = ap.parse_args(argv)
    cfg = TrainConfig()
    if args.config:
        try:
            cfg = config_from(json.loads(Path(args.config).read_text()))
        except ValueError as e:
            raise SystemExit(f"{args.config}: {e}") from e
    for f in fields(TrainConfig):
        v = getattr(args, f.name)
        if v is not None:
            setattr(cfg, f.name, v)
    cfg.resume = args.resume  # type: ignore[attr-defined]
    return cfg


def to_dict(cfg: TrainConfig) -> dict:
    return asdict(cfg)
