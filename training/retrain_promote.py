"""Promotion and rollback of a retrained encoder, each one SQLite transaction on the library.

Promotion writes ``<library>.encoders/focovil-v{N}.pt`` (the base is copied there first, so the
previous encoder is always kept) and then, in ONE transaction, embeds every prototype with it and
points the library at it (``Library.activate_encoder``). :func:`rollback` points it back at the
previous version the same way. Files are written through ``realtime.files`` (whole or absent).
"""
from __future__ import annotations

import os
import re
import time
from pathlib import Path

from focovil.realtime.encoder import load_encoder
from focovil.realtime.files import atomic_copy
from focovil.realtime.library import Library, file_sha256
from focovil.training.retrain_inputs import Base, RetrainError


def versions(folder: Path) -> dict[int, Path]:
    out = {}
    for p in folder.glob("focovil-v*.pt"):
        m = re.fullmatch(r"focovil-v(\d+)\.pt", p.name)
        if m:
            out[int(m.group(1))] = p
    return out


def promote(lib: Library, base: Base, candidate: Path, note: dict) -> dict:
    """Versioned copy of the candidate, then re-embed + switch the pointer in one transaction.

    The base is copied into the versions folder first (if it is not there already), so the previous
    encoder is always kept next to the library. On any error the files written here are removed
    and the library is left exactly as it was.
    """
    folder = lib.encoders_dir()
    folder.mkdir(parents=True, exist_ok=True)
    active = lib.active_encoder()
    written = []
    try:
        vers = versions(folder)
        prev_file = next((p for p in vers.values() if file_sha256(p) == base.sha256), None)
        if prev_file is None:
            prev_file = folder / f"focovil-v{max(vers, default=0) + 1}.pt"
            atomic_copy(base.path, prev_file); written.append(prev_file)
            vers = versions(folder)
        prev = dict(active) if active is not None else {
            "file": str(prev_file), "sha256": base.sha256, "version": int(prev_file.stem.split("-v")[1]),
            "history": [], "copied_from": str(base.path)}
        prev["file"] = os.path.relpath(Path(prev["file"]).resolve(), lib.path.parent.resolve())
        history = prev.pop("history", [])
        n = max(vers) + 1
        new_file = folder / f"focovil-v{n}.pt"
        atomic_copy(candidate, new_file); written.append(new_file)
        enc = load_encoder(new_file, device="cpu")
        record = {"file": str(new_file), "version": n, "history": history + [prev],
                  "promoted_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **note}
        lib.activate_encoder(enc, record)
    except BaseException:
        for p in written:
            p.unlink(missing_ok=True)
        raise
    return lib.active_encoder()


def rollback(lib: Library) -> dict:
    """Points the library back at the encoder it had before the last promotion (re-embedded, one transaction)."""
    active = lib.active_encoder()
    if active is None or not active.get("history"):
        raise RetrainError(f"library {lib.path} has no earlier encoder to roll back to"
                           + ("" if active is None else f" (it is on version {active.get('version')})"))
    prev = dict(active["history"][-1])
    path = (lib.path.parent / prev["file"]).resolve()
    if not path.is_file() or file_sha256(path) != prev["sha256"]:
        raise RetrainError(f"the previous encoder {path} is missing or changed; nothing was changed")
    enc = load_encoder(path, device="cpu")
    prev.update(file=str(path), history=active["history"][:-1], rolled_back_from=active.get("version"),
                rolled_back_at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
    lib.activate_encoder(enc, prev)
    return lib.active_encoder()
