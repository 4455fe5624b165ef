"""``python -m focovil.realtime.gui`` and the ``focovil`` command's window: options -> a running window.

:func:`run_window` takes the shared options (``realtime.options.add_session_options``: library,
encoder, pose model, --window/--stride/--strictness/--persons, verbose) plus the source (``video``, ``camera``);
:func:`build_window` is the part that makes the window from them, without running the event loop.
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys

from focovil.realtime.gui import use_pyqt5_plugins
from focovil.realtime.options import add_session_options, given_settings, session_from
from focovil.realtime.paths import DEMO_CLIP
from focovil.realtime.settings import STORED


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="python -m focovil.realtime.gui", description="FoCoViL live action recognition window")
    add_session_options(ap)
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--video", help="start with this video file")
    src.add_argument("--camera", type=int, help="start with this camera index")
    ap.add_argument("--start", action="store_true", help="start recognising at once")
    return ap


def stored_overrides(args: argparse.Namespace) -> dict:
    """The window's stored choices these options give for this run only (the settings with a box); the
    ``focovil`` command's ``--serve [HOST:]PORT`` (and ``--serve-skeletons``) turn the event stream on.
    The other given settings (--pose-fps, --redetect, ...) reach the window through its session's."""
    out = {k: v for k, v in given_settings(args).items() if k in STORED}
    if getattr(args, "serve", None):
        from focovil.realtime.stream import parse_address
        host, port = parse_address(args.serve)
        out.update(serve=True, serve_port=port, serve_host=host, serve_skeletons=bool(getattr(args, "serve_skeletons", False)))
    return out


def window_source(args: argparse.Namespace, store, start: bool) -> int | str | None:
    """The source the options name; else (a window that starts at once, or no source stored yet)
    camera 0 when there is one, else the shipped demo clip; else None: the one stored."""
    explicit = args.video if getattr(args, "video", None) else getattr(args, "camera", None)
    if explicit is not None:
        return explicit
    if start or not store.value("source", ""):
        from focovil.realtime.session import camera_available
        return 0 if camera_available(0) else str(DEMO_CLIP)
    return None


def build_window(args: argparse.Namespace, store=None, start: bool = False):
    """The :class:`~realtime.gui.main_window.MainWindow` for these options (a QApplication must exist)."""
    from PyQt5.QtCore import QSettings

    from focovil.realtime.gui.main_window import MainWindow
    store = store or QSettings("focovil", "focovil-gui")
    return MainWindow(session_from(args, timing_keep=60), window_source(args, store, start), store,
                      overrides=stored_overrides(args))


def run_window(args: argparse.Namespace, start: bool) -> int:
    """Shows the window for these options (recognising at once if ``start``) until it is closed."""
    use_pyqt5_plugins()   # again, in case something imported cv2 afresh; harmless
    from PyQt5.QtCore import QTimer
    from PyQt5.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("FoCoViL")
    win = build_window(args, start=start)
    win.result_changed.connect(_echo)
    # Ctrl+C in the terminal or a SIGTERM closes the window as its close button does (the worker
    # stops, the library is closed); the timer lets Python's signal handlers run during Qt's loop.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: win.close())
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(250)
    win.show()
    if start:
        win.start()
    return app.exec_()


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(name)s: %(message)s")
    return run_window(args, start=args.start)


def _echo(message: dict) -> None:
    """Each person's change of label, one JSON line on stdout for whoever follows the window from a
    script: the schema's result message (``realtime.messages``), as the headless lines."""
    print(json.dumps(message), flush=True)


if __name__ == "__main__":
    sys.exit(main())
