"""``python -m realtime.gui``: the desktop window."""
from __future__ import annotations

import argparse
import json
import math
import signal
import sys

from realtime.gui import use_pyqt5_plugins


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m realtime.gui", description="FoCoViL live action recognition window")
    ap.add_argument("--library", help="prototype library (default: the user's library)")
    ap.add_argument("--encoder", help="exported encoder file (default: weights/focovil_app.pt)")
    ap.add_argument("--pose-model", help="MediaPipe pose_landmarker .task bundle")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--video", help="start with this video file")
    src.add_argument("--camera", type=int, help="start with this camera index")
    ap.add_argument("--start", action="store_true", help="start recognising at once")
    args = ap.parse_args(argv)

    use_pyqt5_plugins()   # again, in case something imported cv2 afresh; harmless
    from PyQt5.QtCore import QTimer
    from PyQt5.QtWidgets import QApplication

    from realtime.gui.window import MainWindow
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("FoCoViL")
    source = args.video if args.video else args.camera
    win = MainWindow(args.library, args.encoder, args.pose_model, source)
    win.label_changed.connect(_echo)
    # Ctrl+C in the terminal or a SIGTERM closes the window as its close button does (the worker
    # stops, the library is closed); the timer lets Python's signal handlers run during Qt's loop.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: win.close())
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(250)
    win.show()
    if args.start:
        win.start()
    return app.exec_()


def _echo(label: str, similarity: float) -> None:
    """Each change of label, one JSON line on stdout, for whoever follows the window from a script."""
    sim = round(similarity, 4) if math.isfinite(similarity) else None
    print(json.dumps({"label": label, "similarity": sim}), flush=True)


if __name__ == "__main__":
    sys.exit(main())
