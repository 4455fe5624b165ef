"""Record once, recognise from another view, through the app's own library, index and classifier.

Every NW-UCLA view-1 clip is enrolled as a prototype (its label = its action) in a fresh SQLite
library; every view-3 clip is then classified by the FAISS index + k-NN classifier (one window per
clip, no smoothing). The same is done, in the same run, with an "encoder" that is only the view
alignment followed by the flattened joints (the view-aligned raw-joint baseline), so both numbers
go through identical code. Prints JSON.

``python benchmarks/record_once.py [--weights weights/focovil_protocol.pt weights/focovil_app.pt]``;
``--quick``: NW-UCLA subject 1 only (its view-1 clips enrolled, its view-3 clips queried).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from focovil.realtime.encoder import EncoderMeta, load_encoder  # noqa: E402
from focovil.realtime.session import Session  # noqa: E402
from focovil.realtime.settings import Settings  # noqa: E402
from focovil.realtime.skeleton import NUM_JOINTS  # noqa: E402
from focovil.training.data import ClipBank, load_nwucla  # noqa: E402
from focovil.training.export import save_encoder  # noqa: E402
from focovil.training.protocols import AlignedJoints  # noqa: E402
from benchmarks.common import add_quick, need, shared_default  # noqa: E402


def baseline_file(folder: Path, window: int) -> Path:
    meta = EncoderMeta(window=window, fps=15.0, embedding_dim=window * NUM_JOINTS * 3, arch="aligned-joints",
                       training_data=["none: view-aligned raw joints"], train_views=[])
    return save_encoder(AlignedJoints(), meta, folder / "aligned_joints.pt")


def record_once(weights: Path, gallery, query, workdir: Path) -> dict:
    t0 = time.perf_counter()
    nearest = Settings(k=1, threshold=-1.0, smoothing=0.0)     # plain 1-NN: no "unknown", no smoothing
    with Session(workdir / f"{weights.stem}.sqlite3", weights, settings=nearest, device="cpu", cpu_threads=None) as s:
        enc = s.encoder
        windows = ClipBank(gallery).full(enc.window_frames).numpy()
        for c, w, e in zip(gallery, windows, enc.embed(windows)):
            s.library.add_prototype(c.label_name, w, source=c.name, embedding=e, encoder=enc)
        rec = s.recognizer                                      # the app's index and classifier
        pred = []
        for w in ClipBank(query).full(enc.window_frames).numpy():
            rec.classifier.reset()
            pred.append(rec.classify(w)[0].label)
        labels, index_kind = rec.labels, rec.moving.index.kind
    truth = [c.label_name for c in query]
    return {"weights": str(weights), "training_data": enc.meta.training_data,
            "saw_view_3_in_training": 3 in enc.meta.saw_view,
            "accuracy": round(float(np.mean([p == t for p, t in zip(pred, truth)])), 4),
            "prototypes": len(labels), "queries": len(query), "index": index_kind, "seconds": round(time.perf_counter() - t0, 2)}


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", nargs="+", default=[str(ROOT / "weights/focovil_protocol.pt"), str(ROOT / "weights/focovil_app.pt")])
    ap.add_argument("--data", default=shared_default("data/nw-ucla/all_sqe"))
    add_quick(ap, "NW-UCLA subject 1 only")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    need(a.data, what="NW-UCLA's skeletons")
    subjects = (1,) if a.quick else None
    gallery, query = load_nwucla(a.data, views=(1,), subjects=subjects), load_nwucla(a.data, views=(3,), subjects=subjects)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        window = load_encoder(a.weights[0], device="cpu").window_frames
        results = [record_once(baseline_file(tmp, window), gallery, query, tmp)]
        results += [record_once(Path(w), gallery, query, tmp) for w in a.weights]
    print(json.dumps({"protocol": "NW-UCLA: enrol every view-1 clip, classify every view-3 clip (k=1)"
                      + (" of subject 1 (--quick)" if a.quick else ""),
                      "results": results}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
