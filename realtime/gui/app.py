"""``python -m realtime.gui``: the desktop window."""
from __future__ import annotations

import argparse
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
    from PyQt5.QtWidgets import QApplication

    from realtime.gui.window import MainWindow
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("FoCoViL")
    source = args.video if args.video else args.camera
    win = MainWindow(args.library, args.encoder, args.pose_model, source)
    win.show()
    if args.start:
        win.start()
    return app.exec_()


if __name__ == "__main__":
    sys.exit(main())
