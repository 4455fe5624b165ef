"""Encoder identity: an encoder is the sha256 of its file, never its path."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class EncoderKey:
    """What the library records about an encoder file; embeddings are keyed by its ``sha256``.

    ``meta`` is the file's metadata as plain JSON (``EncoderMeta.to_dict()``), stored as it came.
    """
    sha256: str
    name: str
    dim: int
    window: int
    meta: dict

    @classmethod
    def from_row(cls, sha256: str, name: str, dim: int, window: int, metadata: str) -> "EncoderKey":
        """From the columns of the ``encoders`` table."""
        return cls(sha256=sha256, name=name, dim=int(dim), window=int(window), meta=json.loads(metadata))


_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def file_sha256(path: str | Path) -> str:
    """sha256 of a file (cached by path, size and mtime: the app asks for it on every index build)."""
    p = Path(path).resolve()
    st = p.stat()
    key = (str(p), st.st_size, st.st_mtime_ns)
    if key not in _SHA_CACHE:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _SHA_CACHE[key] = h.hexdigest()
    return _SHA_CACHE[key]


def encoder_key(encoder: Any) -> EncoderKey:
    """An :class:`EncoderKey` from an ``EncoderRuntime`` (``.path`` + ``.meta``) or an ``EncoderKey``."""
    if isinstance(encoder, EncoderKey):
        return encoder
    try:
        path, meta = Path(encoder.path), encoder.meta
        dim, window = int(meta.embedding_dim), int(meta.window)
    except AttributeError as e:
        raise TypeError(f"expected an EncoderRuntime (realtime.encoder.load_encoder) or EncoderKey, got {type(encoder).__name__}") from e
    return EncoderKey(sha256=file_sha256(path), name=path.name, dim=dim, window=window, meta=meta.to_dict())
