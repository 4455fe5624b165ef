"""Does the live pipeline keep working for hours? Memory, file descriptors, threads and latency.

Runs the app's own loop (``Session.frames``, looped real clip, the shipped encoder and library;
with ``--gui`` the whole window, offscreen, with its worker thread) for ``--minutes`` and samples
once a minute: resident memory, open file descriptors and threads of this process (Linux
``/proc``), and the frame time (pose + everything after it) of the frames of that minute, p50 / p95.
Prints JSON and writes a plot. Growth is measured against the end of the first minute (model
loading and first-use allocations are done by then):

* ``memory_growth``: last sample's resident memory / the first minute's, minus 1 (goal < 5 %);
* ``latency_p95_drift``: the last minute's p95 / the first minute's, minus 1 (goal < 10 %).

``python benchmarks/soak.py --minutes 30 [--gui] [--video V] [--json F] [--plot F.png]``; ``--quick``: a
sample every second instead of every minute, for 3 seconds.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path


ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from focovil.realtime.files import atomic_text  # noqa: E402
from focovil.realtime.paths import DEFAULT_ENCODER, DEMO_CLIP, SHIPPED_LIBRARY  # noqa: E402
from benchmarks.common import add_quick  # noqa: E402
from benchmarks.stats import percentiles  # noqa: E402


def process_sample() -> dict:
    """Resident memory (MiB), open file descriptors and threads of this process."""
    status = {}
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            key, _, value = line.partition(":")
            status[key] = value.strip()
        fds = len(os.listdir("/proc/self/fd"))
    except OSError:        # not Linux: the numbers this benchmark is about are not available
        return {"rss_mib": None, "fds": None, "threads": threading.active_count()}
    return {"rss_mib": round(int(status["VmRSS"].split()[0]) / 1024, 1), "fds": fds, "threads": int(status["Threads"])}


def pct(a: list[float]) -> dict:
    return percentiles(a, digits=2)


class Sampler:
    """Collects frame times and, once a period (a minute), a row of the report."""

    def __init__(self, period_s: float = 60.0) -> None:
        self.period_s = period_s
        self.rows: list[dict] = []
        self.frame_ms: list[float] = []
        self.frames = 0
        self.t0 = self.last = time.perf_counter()

    def frame(self, fr) -> None:
        self.frames += 1
        self.frame_ms.append(fr.pose_ms + fr.overhead_ms + sum(w.encode_ms + w.search_ms for w in fr.windows))

    def due(self) -> bool:
        return time.perf_counter() - self.last >= self.period_s

    def sample(self) -> None:
        now = time.perf_counter()
        self.rows.append({"minute": round((now - self.t0) / 60, 2), **process_sample(), "frames": self.frames,
                          "frame_ms": pct(self.frame_ms)})
        print(json.dumps(self.rows[-1]), file=sys.stderr, flush=True)
        self.frame_ms, self.frames, self.last = [], 0, now


def run_loop(video: str, samples: int, workdir: Path, period_s: float) -> Sampler:
    from focovil.realtime.session import Session
    sampler = Sampler(period_s)
    with Session(workdir / "lib.sqlite3", DEFAULT_ENCODER) as s:
        for fr in s.frames(video, loop=True):
            sampler.frame(fr)
            if sampler.due():
                sampler.sample()
                if len(sampler.rows) >= samples:
                    break
    return sampler


def run_gui(video: str, samples: int, workdir: Path, period_s: float) -> Sampler:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PyQt5.QtCore import QSettings, QTimer
    from PyQt5.QtWidgets import QApplication

    from focovil.realtime.gui.main_window import MainWindow
    from focovil.realtime.session import Session
    app = QApplication.instance() or QApplication([])
    sampler = Sampler(period_s)
    w = MainWindow(Session(workdir / "lib.sqlite3", timing_keep=60), source=video,
                   store=QSettings(str(workdir / "gui.ini"), QSettings.IniFormat))
    w.resize(1280, 820)
    w.show()
    w.source_bar.loop_box.setChecked(True)
    w.start()
    w.worker.frame_ready.connect(sampler.frame)

    def tick() -> None:
        if sampler.due():
            sampler.sample()
            if len(sampler.rows) >= samples:
                w.stop()
                w.close()
                app.quit()
    timer = QTimer()
    timer.timeout.connect(tick)
    timer.start(500)
    app.exec_()
    return sampler


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--video", default=str(DEMO_CLIP))
    ap.add_argument("--gui", action="store_true", help="the whole window (offscreen) instead of the loop alone")
    ap.add_argument("--json", help="write the report here")
    ap.add_argument("--plot", help="write the figure here (PNG)")
    add_quick(ap, "a sample every second, for 3 seconds")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    period_s = 1.0 if a.quick else 60.0
    seconds = 3.0 if a.quick else a.minutes * 60
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(SHIPPED_LIBRARY, Path(tmp) / "lib.sqlite3")
        sampler = (run_gui if a.gui else run_loop)(a.video, max(1, round(seconds / period_s)), Path(tmp), period_s)
    rows = sampler.rows
    first, last = rows[0], rows[-1]
    report = {"mode": "gui" if a.gui else "loop", "video": a.video, "minutes": last["minute"], "samples": rows}
    if first["rss_mib"]:
        report["memory_growth"] = round(last["rss_mib"] / first["rss_mib"] - 1, 4)
        report["fd_change"] = last["fds"] - first["fds"]
        report["thread_change"] = last["threads"] - first["threads"]
    report["latency_p95_drift"] = round(last["frame_ms"]["p95"] / first["frame_ms"]["p95"] - 1, 4)
    report["latency_p50_drift"] = round(last["frame_ms"]["p50"] / first["frame_ms"]["p50"] - 1, 4)
    if a.json:
        atomic_text(a.json, json.dumps(report, indent=1))
    if a.plot:
        plot(report, Path(a.plot))
    print(json.dumps({k: v for k, v in report.items() if k != "samples"}))
    return 0


def plot(report: dict, path: Path) -> None:
    from focovil.training.plots import pyplot, save_figure
    plt = pyplot()
    rows = report["samples"]
    m = [r["minute"] for r in rows]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    a1.plot(m, [r["rss_mib"] for r in rows], marker="o", label="resident memory (MiB)")
    a1.set_xlabel("minute")
    a1.set_ylabel("MiB")
    a1b = a1.twinx()
    a1b.plot(m, [r["fds"] for r in rows], color="#888", ls="--", label="open files")
    a1b.plot(m, [r["threads"] for r in rows], color="#c0392b", ls=":", label="threads")
    a1.set_ylim(0, 1.25 * max((r["rss_mib"] or 0) for r in rows) or 1)      # from zero: growth at its true size
    a1b.set_ylim(0, 2 * max(max(r["fds"] or 0, r["threads"]) for r in rows))
    a1b.set_ylabel("count")
    a1.set_title(f"memory growth after minute 1: {100 * report.get('memory_growth', 0):+.1f} %", fontsize=10)
    lines = a1.get_lines() + a1b.get_lines()
    a1.legend(lines, [ln.get_label() for ln in lines], loc="lower right", fontsize=8)
    a2.plot(m, [r["frame_ms"]["p50"] for r in rows], marker="o", label="p50")
    a2.plot(m, [r["frame_ms"]["p95"] for r in rows], marker="o", label="p95")
    a2.set_xlabel("minute")
    a2.set_ylabel("frame time (ms)")
    a2.set_ylim(0, None)
    a2.set_title(f"p95 drift: {100 * report['latency_p95_drift']:+.1f} %", fontsize=10)
    a2.legend(fontsize=8)
    fig.suptitle(f"Soak ({report['mode']}, {report['minutes']} min, {Path(report['video']).name} looped)", fontsize=10)
    save_figure(fig, path, dpi=100)


if __name__ == "__main__":
    sys.exit(main())
