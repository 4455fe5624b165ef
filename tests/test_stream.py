"""The event stream (``focovil --serve``): real processes, a real client, slow and vanishing clients, errors."""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from focovil.realtime.messages import SCHEMA_VERSION, Result, label_changes
from focovil.realtime.paths import DEMO_CLIP, SHIPPED_LIBRARY
from focovil.realtime.session import AppError
from focovil.realtime.session import Session
from focovil.realtime.stream import EventServer, parse_address
from benchmarks.stream_latency import stalled_socket  # the same never-reading client as the benchmark

ROOT = Path(__file__).resolve().parent.parent
try:
    import pytestqt  # noqa: F401
    HAVE_QT = True
except ImportError:
    HAVE_QT = False

# A client as another program would write it: connect (retrying until the server is up), then
# "read": every message until the server closes, written to OUT as a JSON list; "stall": never read;
# "vanish": read the hello, then exit without closing. OUT.connected: it connected.
CLIENT = r"""
import json, os, sys, time
from websockets.sync.client import connect
url, mode, out = sys.argv[1:4]
deadline = time.time() + 120
while True:
    try:
        ws = connect(url, proxy=None, open_timeout=5, max_queue=1 if mode == "stall" else 16)
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(0.05)
with ws:
    if mode == "stall":
        open(out + ".connected", "w").close()
        time.sleep(600)
    hello = json.loads(ws.recv())
    open(out + ".connected", "w").close()
    if mode == "vanish":
        os._exit(0)
    got = [hello] + [json.loads(m) for m in ws]
json.dump(got, open(out, "w"))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def focovil(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "main.py", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def client(url: str, mode: str, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CLIENT, url, mode, str(out)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for(cond, timeout: float) -> None:
    end = time.time() + timeout
    while not cond():
        assert time.time() < end, "timed out"
        time.sleep(0.05)


@pytest.fixture()
def library(tmp_path) -> str:
    """A copy of the shipped demo library, as the CLI makes on first use."""
    dst = tmp_path / "lib.sqlite3"
    shutil.copy(SHIPPED_LIBRARY, dst)
    return str(dst)


def test_a_client_gets_every_label_change_while_a_stalled_and_a_vanished_client_change_nothing(tmp_path, library):
    port, lines = free_port(), tmp_path / "lines.jsonl"
    url = f"ws://127.0.0.1:{port}"
    app = focovil("--headless", "--video", str(DEMO_CLIP), "--out", str(lines), "--library", library,
                  "--serve", f"127.0.0.1:{port}", "--serve-wait", "60")
    reader = client(url, "read", tmp_path / "read.json")
    stalled = vanished = None
    try:
        wait_for(lambda: (tmp_path / "read.json.connected").exists() or reader.poll() is not None, 90)
        stalled, vanished = client(url, "stall", tmp_path / "s"), client(url, "vanish", tmp_path / "v")
        out, err = app.communicate(timeout=120)
        assert app.returncode == 0, err[-3000:]
        assert "Traceback" not in err and "rror" not in err, err
        assert reader.wait(30) == 0, reader.stderr.read()[-3000:]
        assert vanished.wait(30) == 0, vanished.stderr.read()[-3000:]
    finally:
        for p in (app, reader, stalled, vanished):
            if p is not None and p.poll() is None:
                p.kill()
    got = json.loads((tmp_path / "read.json").read_text())
    rows = [json.loads(x) for x in lines.read_text().splitlines()]
    expected = [r.message() for r in label_changes(Result.from_message(x) for x in rows[:-1])]
    assert got[0]["type"] == "hello" and got[0]["schema"] == SCHEMA_VERSION and got[0]["tracks"] == []
    assert [m for m in got if m["type"] == "result"] == expected and expected
    assert got[-1] == rows[-1] and got[-1]["type"] == "summary"       # the file's end: its summary
    assert all(x["skeleton"] is None for x in rows[:-1])
    assert (tmp_path / "s.connected").exists() and (tmp_path / "v.connected").exists()   # during the run
    assert json.loads(out)["windows"] == len(rows) - 1


def test_serve_skeletons_adds_each_persons_skeleton_to_the_stream_not_to_the_lines(tmp_path, library):
    port, lines = free_port(), tmp_path / "lines.jsonl"
    app = focovil("--headless", "--video", str(DEMO_CLIP), "--out", str(lines), "--library", library,
                  "--serve", str(port), "--serve-skeletons", "--serve-wait", "60")
    reader = client(f"ws://127.0.0.1:{port}", "read", tmp_path / "read.json")
    try:
        _, err = app.communicate(timeout=120)
        assert app.returncode == 0 and reader.wait(30) == 0, err[-3000:] + reader.stderr.read()[-3000:]
    finally:
        for p in (app, reader):
            if p.poll() is None:
                p.kill()
    got = json.loads((tmp_path / "read.json").read_text())
    rows = [json.loads(x) for x in lines.read_text().splitlines()]
    results = [m for m in got if m["type"] == "result"]
    assert got[0]["skeletons"] is True and results and all(x["skeleton"] is None for x in rows[:-1])
    assert all(len(m["skeleton"]) == 20 and all(len(j) == 3 for j in m["skeleton"]) for m in results)
    assert [{**m, "skeleton": None} for m in results] == \
        [r.message() for r in label_changes(Result.from_message(x) for x in rows[:-1])]


def test_port_in_use_and_bad_addresses_are_one_line_errors(library):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        app = focovil("--headless", "--video", str(DEMO_CLIP), "--library", library, "--serve", f"127.0.0.1:{port}")
        _, err = app.communicate(timeout=120)
    assert app.returncode == 2 and err.count("\n") == 1 and err.startswith("error: ") and f"port {port}" in err, err
    assert "in use" in err
    app = focovil("--headless", "--video", str(DEMO_CLIP), "--library", library, "--serve", "localhost:http")
    _, err = app.communicate(timeout=120)
    assert app.returncode == 2 and err.count("\n") == 1 and "[HOST:]PORT" in err and "'localhost:http'" in err, err


def test_addresses():
    assert parse_address("8765") == ("127.0.0.1", 8765)                 # this machine only, by default
    assert parse_address("0.0.0.0:9000") == ("0.0.0.0", 9000)
    assert parse_address("[::1]:9000") == ("::1", 9000)
    for bad in ("", "abc", "0", "65536", ":80", "host:", "::1:80", "1.2.3.4:-1"):
        with pytest.raises(AppError, match=r"\[HOST:\]PORT") as e:
            parse_address(bad)
        assert e.value.what == "serve"
    with pytest.raises(AppError, match="not an address of this machine"):
        EventServer("192.0.2.1", free_port())               # TEST-NET-1: never this machine's
    with pytest.raises(AppError, match="unknown host"):
        EventServer("no-such-host.invalid", free_port())


def test_publish_never_blocks_on_a_client_that_stopped_reading():
    with EventServer(port=0, queue_size=16) as srv:
        s = stalled_socket(srv.port)
        wait_for(lambda: srv.clients == 1, 10)
        big = {"schema": SCHEMA_VERSION, "type": "result", "pad": "x" * 4000}
        took = []
        for i in range(3000):                  # ~12 MB: more than the socket buffers take (a few MB)
            t = time.perf_counter()
            srv.publish({**big, "i": i})
            took.append(time.perf_counter() - t)
        assert srv.queued <= 16 and srv.dropped > 1000     # bounded: the oldest go
        took.sort()                                         # blocking would be for ever: a busy machine, a
        assert took[1500] < 0.001 and took[-1] < 1.0, took[-5:]   # garbage collection may take a while
        s.close()                                           # and when it vanishes it is dropped
        wait_for(lambda: srv.clients == 0, 10)
        s = stalled_socket(srv.port)                         # one still stalled at the end: close cuts it
        wait_for(lambda: srv.clients == 1, 10)
        for i in range(100):
            srv.publish({**big, "i": i})
        t = time.perf_counter()
    assert time.perf_counter() - t < 6
    s.close()
    srv.publish(big)                                         # after close: nothing, no error


def test_a_late_client_hears_the_present_and_then_only_changes():
    from websockets.sync.client import connect

    def result(t: float, track: int, label: str) -> Result:
        return Result(time=t, track=track, state="action", label=label, similarity=0.9, score=1.0, start=t - 1.8)
    with EventServer(port=0) as srv:
        srv.publish_results([result(1.0, 1, "wave"), result(1.0, 2, "sit")])
        srv.publish_results([result(1.2, 1, "wave"), result(1.2, 2, "stand")])
        with connect(srv.url, proxy=None, open_timeout=5) as ws:
            hello = json.loads(ws.recv(5))
            assert hello["type"] == "hello" and hello["time"] == 1.2
            assert [(x["track"], x["label"]) for x in hello["tracks"]] == [(1, "wave"), (2, "stand")]
            assert srv.publish_results([result(1.4, 1, "wave"), result(1.4, 2, "wave")]) == 1
            msg = json.loads(ws.recv(5))
            assert (msg["track"], msg["label"], msg["time"]) == (2, "wave", 1.4)
            assert Result.from_message(msg) == result(1.4, 2, "wave")
            srv.reset()                                      # a new run: a new hello, labels afresh
            assert json.loads(ws.recv(5))["tracks"] == []
            assert srv.publish_results([result(0.2, 1, "wave")]) == 1


@pytest.mark.skipif(not HAVE_QT, reason="pytest-qt not installed")
def test_the_window_serves_its_labels(qtbot, tmp_path):
    """The Settings tab's switch: on (stored), a client gets the window's label changes; a port in use
    turns it back off with the reason in the banner."""
    from PyQt5.QtCore import QSettings
    from websockets.sync.client import connect

    from focovil.realtime.gui.main_window import MainWindow
    lib = tmp_path / "lib.sqlite3"
    shutil.copyfile(SHIPPED_LIBRARY, lib)
    store = QSettings(str(tmp_path / "gui.ini"), QSettings.IniFormat)
    w = MainWindow(Session(lib, timing_keep=60), source=str(DEMO_CLIP), store=store)
    qtbot.addWidget(w)
    box = w.settings_panel.stream
    assert box.server is None and not box.enabled.isChecked()        # off until turned on
    box.port.setValue(free_port())
    box.enabled.setChecked(True)
    assert box.server is not None and store.value("serve", type=bool) and not box.port.isEnabled()
    got: list[dict] = []

    def listen() -> None:
        with connect(box.server.url, proxy=None, open_timeout=5) as ws:
            got.extend(json.loads(m) for m in ws)
    t = threading.Thread(target=listen, daemon=True)
    t.start()
    qtbot.waitUntil(lambda: box.server.clients == 1, timeout=10000)
    w.source_bar.loop_box.setChecked(False)
    w.start()
    qtbot.waitUntil(lambda: any(m["type"] == "result" and m["label"] == "drink water" for m in got), timeout=60000)
    w.tabs.setCurrentWidget(w.settings_panel)
    w.resize(1280, 820)
    w.show()
    shots = Path(os.environ.get("FOCOVIL_SCREENSHOTS") or tmp_path)
    assert w.settings_panel.grab().save(str(shots / "settings_panel_stream.png"))
    assert box.status.text() == "1 client" and box.server.url in box.status.toolTip()
    w.close()
    t.join(10)
    assert not t.is_alive() and got[0]["type"] == "hello"
    with socket.socket() as busy:                               # the stored port, now taken
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        store.setValue("serve_port", busy.getsockname()[1])
        w2 = MainWindow(Session(lib, timing_keep=60), source=str(DEMO_CLIP), store=store)
        qtbot.addWidget(w2)
        assert w2.settings_panel.stream.server is None and not w2.settings_panel.stream.enabled.isChecked()
        assert w2.banner.text().startswith("Cannot start the event stream") and "in use" in w2.banner.text()
        w2.close()
