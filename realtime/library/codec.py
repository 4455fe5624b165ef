"""Raw windows and embeddings to and from their blobs: float32 little-endian, checked before writing."""
from __future__ import annotations

import numpy as np

from focovil.realtime.skeleton import NUM_JOINTS


def window_blob(window: np.ndarray) -> tuple[bytes, int, int]:
    """``(blob, frames, joints)`` of a canonical skeleton window ``[T, J, 3]``; ValueError if it is not one."""
    w = np.asarray(window, dtype=np.float32)
    if w.ndim != 3 or w.shape[1:] != (NUM_JOINTS, 3) or w.shape[0] < 1:
        raise ValueError(f"a prototype window must be a canonical skeleton window [T, {NUM_JOINTS}, 3], got {w.shape}")
    if not np.isfinite(w).all():
        raise ValueError("the prototype window contains NaN or inf")
    return np.ascontiguousarray(w, dtype="<f4").tobytes(), int(w.shape[0]), int(w.shape[1])


def window_from_blob(blob: bytes | None, frames: int, joints: int) -> np.ndarray | None:
    """The stored window, or None when the blob does not match its shape (a damaged row)."""
    if blob is None or joints != NUM_JOINTS or frames < 1 or len(blob) != frames * joints * 3 * 4:
        return None
    return np.frombuffer(blob, dtype="<f4").reshape(frames, joints, 3).astype(np.float32)


def vector_blob(vector: np.ndarray, dim: int) -> bytes:
    """The blob of one embedding of size ``dim``; ValueError for another size or non-finite values."""
    v = np.asarray(vector, dtype=np.float32).reshape(-1)
    if v.shape[0] != dim:
        raise ValueError(f"embedding has size {v.shape[0]}, the encoder's embedding size is {dim}")
    if not np.isfinite(v).all():
        raise ValueError("the embedding contains NaN or inf")
    return np.ascontiguousarray(v, dtype="<f4").tobytes()
