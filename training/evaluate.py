"""Evaluate an exported encoder against the two baselines in the same run.

``python -m focovil.training.evaluate --weights W --data D --protocol cross-view --json OUT``

Protocols:
* ``cross-view`` (NW-UCLA): gallery v01+v02 (labelled), queries v03; kNN-1 (cosine) and a linear
  probe (logistic regression on frozen embeddings). Refuses an encoder whose metadata says it
  trained on view 3 (``--allow-seen-view`` to measure it anyway; the output then says so).
* ``val``: held-out subjects of v01+v02, cross-view (for choosing settings).
* ``novel-nwucla``: actions held out of the encoder's training; one-shot (one v01 prototype per
  action) and kNN-1 (gallery v01+v02) on v03.
* ``novel-kg``: Kinder-Gator motions held out of the encoder's training; one-shot and kNN-1
  across people (a query's own person never supplies its prototype / neighbour).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from focovil.realtime.encoder import EncoderFileError, EncoderMeta, load_encoder
from focovil.realtime.files import atomic_text
from focovil.training.plots import pyplot, save_figure
from focovil.training.config import DEFAULT_KG, DEFAULT_NWUCLA
from focovil.training.data import load_kinder_gator, load_nwucla
from focovil.training.data.nwucla import CLASS_NAMES, DatasetError
from focovil.training.data.splits import eval_pairs
from focovil.training.protocols import (NOVEL_KG_MOTIONS, NOVEL_NWUCLA_LABELS, aligned_joints, gallery_query, invariant_joints,
                                leave_one_subject_out_knn1, one_shot, raw_joints)

PROTOCOLS = ("cross-view", "val", "novel-nwucla", "novel-kg")


def _methods(weights: str | None, device: str | None) -> tuple[dict, EncoderMeta | None]:
    methods = {"raw_joints": raw_joints, "aligned_joints": aligned_joints, "invariant_joints": invariant_joints}
    meta = None
    if weights:
        enc = load_encoder(weights, device=device)
        methods["encoder"] = enc.embed
        meta = enc.meta
    return methods, meta


def evaluate(weights: str | None, protocol: str, data: str = DEFAULT_NWUCLA, kg: str = DEFAULT_KG,
             window: int = 32, allow_seen_view: bool = False, device: str | None = None) -> dict:
    methods, meta = _methods(weights, device)
    if meta is not None:
        window = int(meta.window)
    seen_v3 = meta is not None and 3 in meta.saw_view
    training_data = meta.training_data if meta is not None else None
    if protocol in ("cross-view", "novel-nwucla") and seen_v3 and not allow_seen_view:
        raise SystemExit(f"error: {weights} was trained on view 3 ({training_data}); its cross-view "
                         "numbers would not be honest. Use the protocol encoder, or --allow-seen-view to measure anyway.")
    report: dict = {"protocol": protocol, "weights": weights, "window": window,
                    "encoder_training_data": training_data, "encoder_saw_test_view": seen_v3,
                    "results": {}}
    if protocol in ("cross-view", "val"):
        for pair in eval_pairs(protocol, data):
            for name, fn in methods.items():
                r = gallery_query(fn, pair.gallery, pair.query, window, CLASS_NAMES)
                report["results"].setdefault(name, {})[pair.name] = r
        for name, res in report["results"].items():
            res["knn1"] = float(np.mean([r["knn1"] for r in res.values()]))
            res["linear"] = float(np.mean([r["linear"] for r in res.values() if isinstance(r, dict)]))
    elif protocol == "novel-nwucla":
        labels = set(NOVEL_NWUCLA_LABELS)
        trained_without = {int(v) for v in str(meta.excluded_labels if meta else "").split(",") if v.strip()}
        if weights and not labels <= trained_without:
            report["warning"] = f"encoder did not exclude actions {sorted(labels - trained_without)} from training"
        gal = [c for c in load_nwucla(data, views=(1, 2)) if c.label in labels]
        sup = [c for c in gal if c.view == 1]
        qry = [c for c in load_nwucla(data, views=(3,)) if c.label in labels]
        for name, fn in methods.items():
            r = gallery_query(fn, gal, qry, window, CLASS_NAMES, linear=False)
            r.update(one_shot(fn, sup, qry, window))
            report["results"][name] = r
        report["held_out_actions"] = [CLASS_NAMES[k] for k in sorted(labels)]
    elif protocol == "novel-kg":
        motions = set(NOVEL_KG_MOTIONS)
        config = meta.config if meta is not None else {}
        excluded = {m.strip() for m in str(config.get("exclude_motions", "")).split(",") if m.strip()}
        if weights and config.get("kinder_gator") and not motions <= excluded:
            report["warning"] = "encoder trained on Kinder-Gator without holding out these motions"
        clips = load_kinder_gator(kg, fps=float(meta.fps) if meta is not None else 15.0, motions=motions)
        for name, fn in methods.items():
            r = one_shot(fn, clips, clips, window, exclude_same_subject=True)
            r["knn1"] = leave_one_subject_out_knn1(fn, clips, window)
            report["results"][name] = r
        report["held_out_motions"] = sorted(motions)
    else:
        raise SystemExit(f"error: unknown protocol {protocol!r}; choose from {PROTOCOLS}")
    return report


def plot_confusion(report: dict, png: str | Path) -> None:
    plt = pyplot()
    res = report["results"]
    names = [n for n in ("encoder", "aligned_joints", "raw_joints") if n in res]
    fig, axes = plt.subplots(1, len(names), figsize=(6.2 * len(names), 5.6))
    axes = np.atleast_1d(axes)
    for ax, name in zip(axes, names):
        pair = next(v for v in res[name].values() if isinstance(v, dict))
        cm = np.array(pair["confusion_knn1"], dtype=float)
        cmn = cm / np.maximum(cm.sum(1, keepdims=True), 1)
        ax.imshow(cmn, cmap="Blues", vmin=0, vmax=1)
        for i in range(len(cm)):
            for j in range(len(cm)):
                if cm[i, j]:
                    ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7, color="white" if cmn[i, j] > 0.5 else "black")
        ax.set_xticks(range(len(CLASS_NAMES)), CLASS_NAMES, rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(CLASS_NAMES)), CLASS_NAMES, fontsize=8)
        ax.set_title(f"{name}: kNN-1 {res[name]['knn1']:.1%}", fontsize=10)
        ax.set_xlabel("predicted"); ax.set_ylabel("true")
    fig.suptitle(f"NW-UCLA {report['protocol']} (kNN-1 confusion)")
    save_figure(fig, png, dpi=110)


def summary(report: dict) -> dict:
    keys = ("knn1", "linear", "one_shot")
    return {name: {k: round(r[k], 4) for k in keys if k in r} for name, r in report["results"].items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", help="exported encoder file (omit to measure only the baselines)")
    ap.add_argument("--data", default=DEFAULT_NWUCLA, help="NW-UCLA all_sqe folder")
    ap.add_argument("--kinder-gator", default=DEFAULT_KG, help="kinder_gator.npz (novel-kg protocol)")
    ap.add_argument("--protocol", default="cross-view", choices=PROTOCOLS)
    ap.add_argument("--json", help="write the full report here")
    ap.add_argument("--png", help="confusion-matrix plot (default: next to --json)")
    ap.add_argument("--allow-seen-view", action="store_true")
    ap.add_argument("--device", help="cpu or cuda (default: cuda when present)")
    a = ap.parse_args(argv)
    try:
        report = evaluate(a.weights, a.protocol, a.data, a.kinder_gator, allow_seen_view=a.allow_seen_view, device=a.device)
    except (EncoderFileError, DatasetError, FileNotFoundError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.json:
        atomic_text(a.json, json.dumps(report, indent=1))
    png = a.png or (str(Path(a.json).with_suffix(".png")) if a.json else None)
    if png and a.protocol in ("cross-view", "val"):
        plot_confusion(report, png)
    print(json.dumps(summary(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
