"""Retraining's report: ``report.json`` (what changed and why it was or was not promoted) and
``report.png`` (kNN-1 per label before and after, one panel per check)."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import numpy as np

from focovil.realtime.files import atomic_text
from focovil.training.plots import pyplot, save_figure


def plot_report(report: dict, path: Path) -> None:
    """Before/after kNN-1 per label, one panel per check."""
    plt = pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(13, 5.5))
    for ax, key, title in ((axes[0], "user", "your held-out recordings"),
                           (axes[1], "nwucla_val", "NW-UCLA validation (v02 of subjects 6-10)")):
        b, a = report["before"][key]["knn1_per_class"], report["after"][key]["knn1_per_class"]
        names = list(b)
        x = np.arange(len(names))
        ax.bar(x - 0.2, [100 * b[n] for n in names], 0.4, label=f"before {100 * report['before'][key]['knn1']:.1f} %")
        ax.bar(x + 0.2, [100 * a[n] for n in names], 0.4, label=f"after {100 * report['after'][key]['knn1']:.1f} %")
        ax.set_xticks(x, names, rotation=40, ha="right", fontsize=8)
        ax.set_ylim(0, 105); ax.set_ylabel("kNN-1 accuracy (%)"); ax.set_title(title); ax.legend(loc="lower right")
    fig.suptitle(textwrap.fill(("PROMOTED" if report["promoted"] else "NOT promoted") + " - " + report["summary"], 150),
                 fontsize=9)
    save_figure(fig, path, dpi=90)


def write_report(report: dict, work: Path) -> None:
    """``work/report.json`` and ``work/report.png``, each whole or absent."""
    atomic_text(work / "report.json", json.dumps(report, indent=1))
    plot_report(report, work / "report.png")
