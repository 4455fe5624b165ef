"""Loads an exported FoCoViL encoder file (contract 2), checks its metadata, embeds windows.

Runs on the GPU when torch sees one, else on the CPU. A file that is not a FoCoViL encoder, or whose
joint layout or shapes differ from what this app feeds, is refused with a message naming the file.
"""
from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from realtime.skeleton import JOINTS, LAYOUT_NAME, NUM_JOINTS

FORMAT = "focovil-encoder/1"


class EncoderFileError(ValueError):
    """The encoder file is missing, not TorchScript, or not the kind/shape this app needs."""


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class EncoderRuntime:
    path: Path
    module: torch.jit.ScriptModule
    meta: dict
    device: str

    @property
    def window(self) -> int:
        return int(self.meta["window"])

    @property
    def fps(self) -> float:
        return float(self.meta["fps"])

    @property
    def dim(self) -> int:
        return int(self.meta["embedding_dim"])

    def _run(self, fn, windows: np.ndarray) -> np.ndarray:
        x = np.asarray(windows, dtype=np.float32)
        if x.ndim == 3:
            x = x[None]
        if x.shape[1:] != (self.window, NUM_JOINTS, 3):
            raise ValueError(f"encoder {self.path.name} takes windows [B, {self.window}, {NUM_JOINTS}, 3], got {x.shape}")
        with torch.inference_mode():
            return fn(torch.from_numpy(x).to(self.device)).float().cpu().numpy()

    def embed(self, windows: np.ndarray) -> np.ndarray:
        """``[B, T, J, 3]`` (or one ``[T, J, 3]``) canonical windows -> ``[B, D]`` unit vectors."""
        return self._run(self.module, windows)

    def align(self, windows: np.ndarray) -> np.ndarray:
        """The windows as the encoder sees them after view alignment."""
        return self._run(self.module.align, windows)


def load_encoder(path: str | Path, device: str | None = None, cpu_threads: int | None = None) -> EncoderRuntime:
    """``cpu_threads``: torch's (process-wide) CPU thread count. The live app passes 1: one window
    at a time gains nothing from more, and torch's spinning threads fighting MediaPipe's for the
    cores raised encode p95 from 2 ms to 30 ms in ``benchmarks/pipeline_latency.py``."""
    path = Path(path)
    if not path.is_file():
        raise EncoderFileError(f"encoder file {path} not found")
    extra = {"metadata.json": ""}
    device = device or default_device()
    if cpu_threads and device == "cpu":
        torch.set_num_threads(cpu_threads)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = torch.jit.load(str(path), map_location=device, _extra_files=extra)
    except Exception as e:  # torch raises RuntimeError/ValueError/zipfile errors for non-TorchScript files
        raise EncoderFileError(f"{path} is not a TorchScript encoder file ({type(e).__name__}: {str(e).splitlines()[0][:200]})") from e
    try:
        meta = json.loads(extra["metadata.json"])
    except json.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise EncoderFileError(f"{path} has no FoCoViL encoder metadata (format {FORMAT!r}); export it with training.export")
    if meta.get("joint_layout") != LAYOUT_NAME or meta.get("joints") != list(JOINTS):
        raise EncoderFileError(f"{path} expects joint layout {meta.get('joint_layout')!r}, this app feeds {LAYOUT_NAME!r}")
    module.eval()
    rt = EncoderRuntime(path=path, module=module, meta=meta, device=device)
    probe = np.zeros((1, rt.window, NUM_JOINTS, 3), dtype=np.float32) + np.linspace(0, 1, NUM_JOINTS * 3, dtype=np.float32).reshape(NUM_JOINTS, 3)
    try:
        for _ in range(3):   # TorchScript's profiling executor optimises the graph over the first calls
            out = rt.embed(probe)
    except Exception as e:
        raise EncoderFileError(f"{path}: the model does not accept its own declared input [1, {rt.window}, {NUM_JOINTS}, 3] ({str(e).splitlines()[0][:200]})") from e
    if out.shape != (1, rt.dim):
        raise EncoderFileError(f"{path}: metadata says embedding size {rt.dim}, the model outputs {out.shape[1:]}")
    return rt
