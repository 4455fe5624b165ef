"""One embedding per NW-UCLA-style JSON file: ``python -m focovil.training.embed --weights W --data D --out E.npz``.

The ``.npz`` holds ``embeddings [N, D]``, ``names``, ``labels`` (dataset label, 1-based as in the
files), ``views`` and the encoder metadata, so anyone can recompute kNN and linear numbers with
their own code. Files too short to embed are listed in ``skipped``.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from focovil.realtime.encoder import EncoderFileError, load_encoder
from focovil.realtime.files import atomic_write
from focovil.training.data import ClipBank
from focovil.training.data.nwucla import DatasetError, read_file


def embed_folder(weights: str, data: str, device: str | None = None) -> dict:
    enc = load_encoder(weights, device=device)
    files = sorted(Path(data).glob("*.json"))
    if not files:
        raise DatasetError(f"{data}: no .json files")
    clips, skipped = [], []
    for f in files:
        c = read_file(f)
        (clips.append(c) if c is not None else skipped.append(f.stem))
    windows = ClipBank(clips).full(enc.window_frames).numpy()
    emb = enc.embed(windows)
    return {"embeddings": emb.astype(np.float32), "names": np.array([c.name for c in clips]),
            "labels": np.array([c.label + 1 for c in clips]), "views": np.array([c.view for c in clips]),
            "skipped": np.array(skipped), "metadata": enc.meta.to_json()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", required=True)
    ap.add_argument("--data", required=True, help="folder of aAA_sSS_eEE_vVV.json files")
    ap.add_argument("--out", required=True, help=".npz to write")
    ap.add_argument("--device")
    a = ap.parse_args(argv)
    try:
        res = embed_folder(a.weights, a.data, a.device)
    except (EncoderFileError, DatasetError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    out = Path(a.out)
    atomic_write(out, lambda tmp: np.savez_compressed(tmp, **res), suffix=".npz")
    print(json.dumps({"out": str(out), "n": int(len(res["names"])), "dim": int(res["embeddings"].shape[1]),
                      "skipped": res["skipped"].tolist()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
