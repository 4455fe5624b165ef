"""The PyQt5 window on the real demo clip, offscreen; plus one start under Xvfb with the xcb platform."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
pytest.importorskip("PyQt5.QtWidgets", reason="PyQt5 not installed (pip install PyQt5 pytest-qt)")
pytest.importorskip("pytestqt", reason="pytest-qt not installed")

from realtime.app import DEMO_CLIP, SHIPPED_LIBRARY  # noqa: E402
from realtime.gui.window import MainWindow  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "docs" / "screenshots"


@pytest.fixture()
def window(qtbot, tmp_path):
    from PyQt5.QtCore import QSettings
    lib = tmp_path / "lib.sqlite3"
    shutil.copyfile(SHIPPED_LIBRARY, lib)
    store = QSettings(str(tmp_path / "gui.ini"), QSettings.IniFormat)
    w = MainWindow(library_path=lib, source=str(DEMO_CLIP), store=store)
    w.rec_countdown.setValue(0)
    qtbot.addWidget(w)
    w.resize(1280, 820)
    w.show()
    yield w
    w.close()


def shot(widget, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert widget.grab().save(str(SHOTS / name))


def test_window_recognises_the_demo_clip(qtbot, window):
    assert "drink water" in window.library_labels()
    window.start()
    qtbot.waitUntil(lambda: window.current_label not in (None, "no person"), timeout=60000)
    qtbot.waitUntil(lambda: window.skeleton._window is not None, timeout=30000)
    qtbot.wait(1500)   # a few more windows, some stats
    assert window.label_view.text() == window.current_label
    assert window.recent
    assert "fps" in window.fps_view.text() and "pose" in window.lat_view.text()
    assert "cpu" in window.device_view.text() or "cuda" in window.device_view.text()
    shot(window, "main_window.png")
    worker = window.worker
    assert worker is not None and worker.isRunning()
    window.close()
    assert window.worker is None and not worker.isRunning()


def test_recording_adds_prototypes(qtbot, window):
    before = window.library_labels()
    window.start()
    qtbot.waitUntil(lambda: window.encoder is not None, timeout=60000)
    window.rec_label.setText("gui test action")
    window.rec_seconds.setValue(1.5)
    window.begin_recording()
    qtbot.waitUntil(lambda: window.recording is not None, timeout=60000)
    assert window.save_btn.isEnabled()
    window.tabs.setCurrentIndex(0)
    shot(window, "record_captured.png")
    added = window.save_recording()
    assert added >= 1
    assert window.library_labels()["gui test action"] == added
    assert len(window.library_labels()) == len(before) + 1
    assert window.stop()


def test_delete_and_rename(qtbot, window):
    labels = window.library_labels()
    assert window.rename_label("drink water", "drinking")
    after = window.library_labels()
    assert "drink water" not in after and after["drinking"] == labels["drink water"]
    assert window.delete_label("drinking") == labels["drink water"]
    assert "drinking" not in window.library_labels()
    assert window.lib_table.rowCount() == len(labels) - 1
    window.tabs.setCurrentIndex(1)
    shot(window, "library_panel.png")
    assert not window.rename_label("no such label", "x")
    assert window.banner.isVisible() and "no such label" in window.banner.text()


def test_export_import(window, tmp_path):
    out = tmp_path / "export.sqlite3"
    assert window.export_library(str(out)) and out.is_file()
    n = sum(window.library_labels().values())
    window.delete_label("falling")
    assert window.import_library(str(out)) >= 1
    assert sum(window.library_labels().values()) == n


def test_settings_kept_between_runs(qtbot, tmp_path):
    from PyQt5.QtCore import QSettings
    ini = str(tmp_path / "gui.ini")
    lib = tmp_path / "lib.sqlite3"
    shutil.copyfile(SHIPPED_LIBRARY, lib)
    w = MainWindow(library_path=lib, store=QSettings(ini, QSettings.IniFormat))
    qtbot.addWidget(w)
    w.set_threshold.setValue(0.42)
    w.set_window.setValue(2.5)
    w.set_stride.setValue(0.3)
    w.set_smoothing.setValue(0.2)
    w.close()
    w2 = MainWindow(library_path=lib, store=QSettings(ini, QSettings.IniFormat))
    qtbot.addWidget(w2)
    s = w2.settings()
    assert (s.threshold, s.window_s, s.stride_s, s.smoothing) == pytest.approx((0.42, 2.5, 0.3, 0.2))
    w2.set_threshold.setValue(-0.01)
    assert w2.settings().threshold is None     # "auto": the encoder's own threshold
    w2.close()


@pytest.mark.parametrize("case", ["bad file", "missing file", "bad encoder"])
def test_errors_are_shown_in_the_window(qtbot, tmp_path, case):
    from PyQt5.QtCore import QSettings
    lib = tmp_path / "lib.sqlite3"
    shutil.copyfile(SHIPPED_LIBRARY, lib)
    bad = tmp_path / "broken.avi"
    bad.write_bytes(b"not a video at all" * 100)
    enc = None
    source = str(bad) if case == "bad file" else str(tmp_path / "nope.mp4") if case == "missing file" else str(DEMO_CLIP)
    if case == "bad encoder":
        enc = tmp_path / "enc.pt"
        enc.write_bytes(b"junk")
    w = MainWindow(library_path=lib, encoder_path=enc, source=source, store=QSettings(str(tmp_path / "g.ini"), QSettings.IniFormat))
    qtbot.addWidget(w)
    w.show()
    w.start()
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=60000)
    qtbot.waitUntil(lambda: w.worker is None, timeout=10000)
    text = w.banner.text()
    assert text.startswith("Cannot") and "Traceback" not in text
    assert w.start_btn.isEnabled()
    if case == "bad file":
        shot(w, "error_bad_file.png")
    w.close()


def test_no_camera_is_a_readable_error(qtbot, tmp_path):
    from PyQt5.QtCore import QSettings
    lib = tmp_path / "lib.sqlite3"
    shutil.copyfile(SHIPPED_LIBRARY, lib)
    w = MainWindow(library_path=lib, source=97, store=QSettings(str(tmp_path / "g.ini"), QSettings.IniFormat))
    qtbot.addWidget(w)
    w.show()
    w.start()
    qtbot.waitUntil(lambda: w.banner.isVisible(), timeout=60000)
    assert "camera" in w.banner.text().lower()
    w.close()


XCB_SCRIPT = r"""
import os, sys
import cv2   # as the pipeline does: sets QT_QPA_PLATFORM_PLUGIN_PATH to cv2's Qt plugins
import realtime.gui.window as gw
from PyQt5.QtCore import QSettings, QTimer
from PyQt5.QtWidgets import QApplication
app = QApplication([])
assert app.platformName() == "xcb", app.platformName()
w = gw.MainWindow(library_path=sys.argv[1], store=QSettings(sys.argv[2], QSettings.IniFormat))
w.show()
QTimer.singleShot(500, w.close)
QTimer.singleShot(800, app.quit)
app.exec_()
print("XCB-OK", os.environ["QT_QPA_PLATFORM_PLUGIN_PATH"])
"""


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="Xvfb not installed (apt-get install xvfb)")
def test_starts_on_a_real_x_display_despite_cv2(tmp_path):
    """Regression: cv2's import points Qt at its own xcb plugin, which aborts PyQt5's Qt."""
    lib = tmp_path / "lib.sqlite3"
    shutil.copyfile(SHIPPED_LIBRARY, lib)
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb", "PYTHONPATH": str(ROOT)}
    env.pop("QT_QPA_PLATFORM_PLUGIN_PATH", None)
    cmd = ["xvfb-run", "-a", sys.executable, "-c", XCB_SCRIPT, str(lib), str(tmp_path / "g.ini")]
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0 and "XCB-OK" in r.stdout, r.stdout + r.stderr
    assert "PyQt5" in r.stdout
    # the same without the fix aborts: proves the test can see the bug
    broken = "import cv2\nfrom PyQt5.QtWidgets import QApplication\nQApplication([])\nprint('XCB-OK')\n"
    r = subprocess.run(["xvfb-run", "-a", sys.executable, "-c", broken], env=env, capture_output=True, text=True,
                       timeout=120, cwd=ROOT)
    assert "XCB-OK" not in r.stdout and "xcb" in r.stderr


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="xvfb-run not installed (Debian package xvfb)")
def test_main_command_opens_the_window_on_a_real_x_display(tmp_path):
    """The README's main command, as a desktop user runs it: stays up on xcb instead of aborting."""
    import signal
    import time
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    for var in ("QT_QPA_PLATFORM", "QT_QPA_PLATFORM_PLUGIN_PATH", "DISPLAY"):
        env.pop(var, None)
    proc = subprocess.Popen(["xvfb-run", "-a", sys.executable, "main.py"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    time.sleep(15)
    alive = proc.poll() is None
    os.killpg(proc.pid, signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert alive, f"main.py exited early: {out[-1000:]} {err[-2000:]}"
    assert "could not load the Qt platform plugin" not in err and "Traceback" not in err, err[-2000:]
