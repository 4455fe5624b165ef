"""Loads an exported FoCoViL encoder file (contract 2), checks its metadata, embeds windows.

Runs on the GPU when torch sees one, else on the CPU. A file that is not a FoCoViL encoder, or whose
joint layout or shapes differ from what this app feeds, is refused with a message naming the file.
"""
from __future__ import annotations

import dataclasses
import json
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from focovil.realtime.skeleton import JOINTS, LAYOUT_NAME, NUM_JOINTS

FORMAT = "focovil-encoder/1"
METADATA_FILE = "metadata.json"      # the name of the metadata in the TorchScript file's _extra_files


BATCH = 256     # windows per forward pass when many are embedded at once: memory stays bounded


def in_batches(fn: Callable[[np.ndarray], np.ndarray], windows: np.ndarray, batch: int = BATCH) -> np.ndarray:
    """The one batch loop: ``fn`` over ``windows`` ``batch`` at a time, the rows concatenated (for the
    app's encoder files and for training's torch modules alike)."""
    x = np.asarray(windows, dtype=np.float32)
    if len(x) <= batch:
        return fn(x)
    return np.concatenate([fn(x[i:i + batch]) for i in range(0, len(x), batch)])


class EncoderFileError(ValueError):
    """The encoder file is missing, not TorchScript, or not the kind/shape this app needs."""


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class EncoderMeta:
    """What an encoder file says about itself (contract 2's metadata), one field per key.

    Written by ``training.export`` (and retraining, and the benchmarks that build encoders), read
    here by the app. Keys this version does not know are kept in ``extra`` and written back as
    they were, so an older app never strips what a newer exporter recorded.
    """
    window: int                                   # frames per window (the encoder's T)
    fps: float                                    # the rate those frames are sampled at
    embedding_dim: int                            # D of the unit embeddings [B, D]
    format: str = FORMAT
    joint_layout: str = LAYOUT_NAME
    joints: list[str] = field(default_factory=lambda: list(JOINTS))
    num_joints: int = NUM_JOINTS
    arch: str = ""
    training_data: list[str] = field(default_factory=list)   # in words, one entry per source
    protocol: str = ""                            # cross-view | val | all | ... (which NW-UCLA views trained)
    train_views: list[int] = field(default_factory=list)
    excluded_labels: str = ""                     # NW-UCLA class ids kept out of training (comma list)
    config: dict = field(default_factory=dict)    # the training settings (training.config.TrainConfig)
    train_seconds: float = 0.0
    train_device: str = "cpu"
    metrics: dict = field(default_factory=dict)   # measured numbers: unknown_threshold, cross-view, ...
    code_version: str = "unknown"
    exported_at: str = ""
    hybrid: dict | None = None                    # hand-made parts {"weight", "pca_dims", "motion_weight"} or {"head": {"blocks", "dims"}}
    parts: list | None = None                     # what the embedding is made of: each part's weight and what chose it
    retrained_from: dict | None = None            # {"file", "sha256"} of the base a retrained file came from
    retrain: dict | None = None                   # the retraining settings
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict) -> "EncoderMeta":
        known = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        missing = [k for k in ("window", "fps", "embedding_dim") if k not in d]
        if missing:
            raise ValueError(f"encoder metadata lacks {', '.join(missing)}")
        return cls(**{k: v for k, v in d.items() if k in known}, extra={k: v for k, v in d.items() if k not in known})

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        d = {k: v for k, v in d.items() if v is not None}
        return json.loads(json.dumps({**d, **self.extra}))      # a deep copy, plain JSON types only

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    def replace(self, **changes: Any) -> "EncoderMeta":
        return dataclasses.replace(EncoderMeta.from_dict(self.to_dict()), **changes)

    @property
    def unknown_threshold(self) -> float | None:
        """The "unknown" similarity threshold measured for this encoder (None: never calibrated)."""
        v = self.metrics.get("unknown_threshold")
        return None if v is None else float(v)

    @property
    def saw_view(self) -> set[int]:
        """NW-UCLA views the encoder trained on (view 3 there means no honest cross-view number)."""
        return set(range(1, 4)) if self.protocol == "all" else {int(v) for v in self.train_views}


@dataclass
class EncoderRuntime:
    path: Path
    module: torch.jit.ScriptModule
    meta: EncoderMeta
    device: str

    @property
    def window_frames(self) -> int:
        """Frames per window the encoder takes (its T; the live window's seconds are ``Settings.window_s``)."""
        return int(self.meta.window)

    @property
    def fps(self) -> float:
        return float(self.meta.fps)

    @property
    def dim(self) -> int:
        return int(self.meta.embedding_dim)

    def _run(self, fn, windows: np.ndarray) -> np.ndarray:
        x = np.asarray(windows, dtype=np.float32)
        if x.ndim == 3:
            x = x[None]
        if x.shape[1:] != (self.window_frames, NUM_JOINTS, 3):
            raise ValueError(f"encoder {self.path.name} takes windows [B, {self.window_frames}, {NUM_JOINTS}, 3], got {x.shape}")
        with torch.inference_mode():
            return in_batches(lambda b: fn(torch.from_numpy(b).to(self.device)).float().cpu().numpy(), x)

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """``[B, T, J, 3]`` (or one ``[T, J, 3]``) canonical windows -> ``[B, D]`` unit vectors (in
        batches of :data:`BATCH`, however many windows come)."""
        return self._run(self.module, windows)

    def align(self, windows: np.ndarray) -> np.ndarray:
        """The windows as the encoder sees them after view alignment."""
        return self._run(self.module.align, windows)


def read_metadata(path: Path, text: str) -> EncoderMeta:
    """The metadata text of an encoder file, checked against what this app feeds it."""
    try:
        raw = json.loads(text)
    except ValueError:              # not JSON, or bytes that are not UTF-8 (a damaged file)
        raw = None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise EncoderFileError(f"{path} has no FoCoViL encoder metadata (format {FORMAT!r}); export it with training.export")
    try:
        meta = EncoderMeta.from_dict(raw)
        int(meta.window), float(meta.fps), int(meta.embedding_dim)
    except (TypeError, ValueError) as e:
        raise EncoderFileError(f"{path}: bad encoder metadata ({e})") from e
    if meta.joint_layout != LAYOUT_NAME or meta.joints != list(JOINTS):
        raise EncoderFileError(f"{path} expects joint layout {meta.joint_layout!r}, this app feeds {LAYOUT_NAME!r}")
    return meta


def file_metadata(path: str | Path) -> EncoderMeta:
    """An encoder file's metadata without loading its model (a TorchScript file is a zip archive
    whose extra files sit under ``<archive>/extra/``): for showing what a file is, cheaply."""
    path = Path(path)
    try:
        with zipfile.ZipFile(path) as z:
            name = next(n for n in z.namelist() if n.endswith("/extra/" + METADATA_FILE))
            text = z.read(name).decode("utf-8")
    except (OSError, zipfile.BadZipFile, StopIteration, UnicodeDecodeError) as e:
        raise EncoderFileError(f"{path} is not a FoCoViL encoder file ({type(e).__name__})") from e
    return read_metadata(path, text)


def load_encoder(path: str | Path, device: str | None = None, cpu_threads: int | None = None) -> EncoderRuntime:
    """``cpu_threads``: torch's (process-wide) CPU thread count. The live app passes 1: one window
    at a time gains nothing from more, and torch's spinning threads fighting MediaPipe's for the
    cores raised encode p95 from 2 ms to 30 ms in ``benchmarks/pipeline_latency.py``."""
    path = Path(path)
    if not path.is_file():
        raise EncoderFileError(f"encoder file {path} not found")
    extra = {METADATA_FILE: ""}
    device = device or default_device()
    if cpu_threads and device == "cpu":
        torch.set_num_threads(cpu_threads)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except Exception as e:  # torch raises RuntimeError/ValueError/zipfile errors for non-TorchScript files
        raise EncoderFileError(f"{path} is not a TorchScript encoder file ({type(e).__name__}: {str(e).splitlines()[0][:200]})") from e
    meta = read_metadata(path, extra[METADATA_FILE])
    module.eval()
    rt = EncoderRuntime(path=path, module=module, meta=meta, device=device)
    probe = np.zeros((1, rt.window_frames, NUM_JOINTS, 3), dtype=np.float32) + np.linspace(0, 1, NUM_JOINTS * 3, dtype=np.float32).reshape(NUM_JOINTS, 3)
    try:
        for _ in range(3):   # TorchScript's profiling executor optimises the graph over the first calls
            out = rt.embed(probe)
    except Exception as e:
        raise EncoderFileError(f"{path}: the model does not accept its own declared input [1, {rt.window_frames}, {NUM_JOINTS}, 3] ({str(e).splitlines()[0][:200]})") from e
    if out.shape != (1, rt.dim):
        raise EncoderFileError(f"{path}: metadata says embedding size {rt.dim}, the model outputs {out.shape[1:]}")
    return rt
