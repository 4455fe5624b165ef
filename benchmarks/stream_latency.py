"""What the event stream (``focovil --serve``) costs recognition, and what a bad client can do to it.

A real clip looped and paced to real time (``Session.frames(realtime=True)``: frames come as a
camera's would) runs the app's own loop; every result goes to an :class:`EventServer` on loopback
(every result, with its skeleton: more and larger messages than the command's label changes only,
the same path). Clients are separate processes: a reader for the whole run; from ``--stall-at``, a
client that reads its hello and then stops reading for ``--stall-s`` seconds; from ``--vanish-at``,
one that is killed (SIGKILL) after its hello. Measured:

* ``frame_to_label_ms``: from the frame leaving its source (``FrameResult.captured_at``) to its
  result being published; ``frame_to_client_ms``: to the reader's receipt of that message. Joined by
  (track, time), not by fields added to the messages. Clocks: ``time.perf_counter`` (CLOCK_MONOTONIC,
  one clock for every process on Linux). Goal: p95 at most +5 ms. Split: ``label_to_server_send_ms``
  (until the server's thread starts sending it: websockets' send, wrapped here) and
  ``label_to_client_ms`` (until the reader has it);
* frame-to-label during the stall vs the rest of the run (the first 2 s left out: warming up;
  goal: p95 changed by under 5 %), per labelled window and per frame (``frame_ms``: capture to
  processed); the longest client queue, drops and the process's RSS through the run; that the
  killed client is dropped, with nothing logged;
* ``flood``: a client that never reads while 20 000 skeleton messages are published as fast as
  possible: the cost of a publish, the queue (bounded), RSS before and after.

``python benchmarks/stream_latency.py [--video V] [--seconds 30] [--out docs/experiments/stream_latency.json]``;
``--quick``: 5 s (a stall from 2.5 s for 1.5 s, the vanishing client at 4 s), a flood of 2,000.
"""
from __future__ import annotations

import argparse
import base64
import gc
import json
import logging
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from focovil.realtime.messages import Result  # noqa: E402
from focovil.realtime.paths import DEFAULT_ENCODER, DEMO_CLIP, SHIPPED_LIBRARY  # noqa: E402
from focovil.realtime.session import Session  # noqa: E402
from focovil.realtime.stream import EventServer  # noqa: E402
from benchmarks.common import add_quick  # noqa: E402
from benchmarks.stats import percentiles  # noqa: E402

CLIENT = r"""
import json, socket, sys, time
from websockets.sync.client import connect
url, port, mode, stall_s, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4]), sys.argv[5]
sock = socket.socket()
if mode == "stall":       # a small receive buffer: the server's buffers fill, then its queue
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
sock.connect(("127.0.0.1", port))
rows = []
with connect(url, sock=sock, proxy=None, max_queue=1 if mode == "stall" else 16) as ws:
    ws.recv()
    open(out + ".hello", "w").close()
    if mode == "vanish":
        time.sleep(600)
    if mode == "stall":
        time.sleep(stall_s)
    try:
        for m in ws:
            t = time.perf_counter()
            d = json.loads(m)
            rows.append([t, d.get("type"), d.get("track"), d.get("time")])
    except Exception as e:
        rows.append([time.perf_counter(), "error: " + type(e).__name__, None, None])
json.dump(rows, open(out, "w"))
"""


def pct(a) -> dict:
    return percentiles(a, extra=("max", "n"))


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Problems(logging.Handler):
    """Counts what the server's libraries log at WARNING or above (a dropped client must log nothing)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(f"{record.name}: {record.getMessage()}")


def spawn(url: str, port: int, mode: str, stall_s: float, out: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CLIENT, url, str(port), mode, str(stall_s), str(out)],
                            stderr=subprocess.PIPE, text=True)


def wait_file(path: Path, timeout: float = 30) -> None:
    end = time.time() + timeout
    while not path.exists():
        if time.time() > end:
            raise TimeoutError(path)
        time.sleep(0.02)


def stalled_socket(port: int) -> socket.socket:
    """A WebSocket client that completes the handshake and never reads (a tiny receive buffer)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(f"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    return s


def flood(n: int = 20000) -> dict:
    """A client that never reads, and messages as fast as publish takes them (Python's garbage
    collections meanwhile are timed: a pause there is the caller's, whatever it calls)."""
    gc_ms, began = [], [0.0]

    def timed(phase: str, info: dict) -> None:
        if phase == "start":
            began[0] = time.perf_counter()
        else:
            gc_ms.append((time.perf_counter() - began[0]) * 1e3)
    skeleton = np.random.default_rng(0).normal(size=(20, 3)).round(4).tolist()
    big = Result(1.0, 1, "action", "drink water", 0.9, 1.0, 0.0, skeleton=skeleton).message()
    with EventServer(port=0) as srv:
        s = stalled_socket(srv.port)
        while srv.clients < 1:
            time.sleep(0.01)
        rss0, cost = rss_mb(), []
        gc.callbacks.append(timed)
        for i in range(n):
            t = time.perf_counter()
            srv.publish({**big, "time": i})
            cost.append((time.perf_counter() - t) * 1e6)
        gc.callbacks.remove(timed)
        time.sleep(0.3)
        out = {"messages": n, "message_bytes": len(json.dumps(big)), "publish_us": pct(cost), "clients": srv.clients,
               "queue_len": srv.queued, "queue_size": srv.queue_size, "dropped": srv.dropped,
               "rss_mb_before": round(rss0, 1), "rss_mb_after": round(rss_mb(), 1),
               "gc_pause_ms_max": round(max(gc_ms, default=0.0), 3)}
        s.close()
    return out


class SendTimes:
    """Instrumentation: when the server's thread starts sending each result (wraps websockets' send)."""

    def __init__(self) -> None:
        from websockets.asyncio.server import ServerConnection
        self.at: dict[tuple, float] = {}
        orig = ServerConnection.send

        async def send(conn, message, *args, **kwargs):
            if '"type": "result"' in message[:40]:
                d = json.loads(message)
                self.at.setdefault((d["track"], d["time"]), time.perf_counter())
            return await orig(conn, message, *args, **kwargs)
        ServerConnection.send = send


def run(a: argparse.Namespace, tmp: Path) -> dict:
    """The paced clip through the app's loop, publishing; the clients as the options say."""
    sent: dict[tuple, tuple] = {}      # (track, time) -> (captured_at, published_at, seconds into the run)
    d = {"sent": sent, "frames": [], "queue": [], "rss": [], "counts": {}}
    shutil.copy(SHIPPED_LIBRARY, tmp / "lib.sqlite3")
    with Session(tmp / "lib.sqlite3", DEFAULT_ENCODER) as s, EventServer(port=0, skeletons=True) as srv:
        s.recognizer  # noqa: B018  (loaded before the clock starts)
        d["reader"] = spawn(srv.url, srv.port, "read", 0, tmp / "read.json")
        wait_file(tmp / "read.json.hello")
        stall = vanish = killed_at = None
        t0, last_sample = None, 0.0
        for fr in s.frames(a.video, loop=True, realtime=True):
            bodies = {p.track: p.pose.skeleton for p in fr.people}
            results = [Result.of(w, bodies.get(w.track)) for w in fr.windows]
            now = time.perf_counter()
            t0 = t0 or fr.captured_at
            el = fr.captured_at - t0
            for r in results:
                sent[(r.track, r.time)] = (fr.captured_at, now, el)
                srv.publish(r.message())
            d["frames"].append((el, (now - fr.captured_at) * 1e3, bool(results)))
            if stall is None and el >= a.stall_at:
                stall = d["stall"] = spawn(srv.url, srv.port, "stall", a.stall_s, tmp / "stall.json")
            if vanish is None and el >= a.vanish_at:
                vanish = spawn(srv.url, srv.port, "vanish", 0, tmp / "vanish.json")
                wait_file(tmp / "vanish.json.hello")
                d["counts"]["clients_with_the_vanishing_one"] = with_it = srv.clients
                vanish.send_signal(signal.SIGKILL)
                vanish.wait()
                killed_at = time.perf_counter()
            if killed_at and "vanished_dropped_after_s" not in d["counts"] and srv.clients < with_it:
                d["counts"]["vanished_dropped_after_s"] = round(time.perf_counter() - killed_at, 3)
            if now - last_sample >= 0.25:
                last_sample = now
                d["queue"].append(srv.queued)
                d["rss"].append((el, rss_mb()))
            if el >= a.seconds:
                break
        d["counts"].update(dropped=srv.dropped, clients_at_end=srv.clients)
    return d


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--video", default=str(DEMO_CLIP))
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--stall-at", type=float, default=10.0)
    ap.add_argument("--stall-s", type=float, default=10.0)
    ap.add_argument("--vanish-at", type=float, default=21.0)
    ap.add_argument("--out", default=None, help="also write the JSON here")
    add_quick(ap, "5 s, a stall from 2.5 s for 1.5 s, the vanishing client at 4 s, a flood of 2,000")
    return ap


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    if a.quick:
        a.seconds, a.stall_at, a.stall_s, a.vanish_at = 5.0, 2.5, 1.5, 4.0
    problems = Problems()
    for name in ("websockets", "asyncio", "focovil"):
        logging.getLogger(name).addHandler(problems)
    send_times = SendTimes()
    with tempfile.TemporaryDirectory() as tmp:
        d = run(a, Path(tmp))
        clients = {"reader": d["reader"], "stalled": d.get("stall")}
        rows, errors = {}, {}
        for name, p in clients.items():
            if p is not None:
                p.wait(30)
                errors[name] = p.stderr.read().strip()
                f = Path(tmp) / ("read.json" if name == "reader" else "stall.json")
                rows[name] = json.loads(f.read_text()) if f.exists() else []
    sent = d["sent"]
    label = {k: (pub - cap) * 1e3 for k, (cap, pub, _) in sent.items()}
    got = {(tr, tm): t for t, kind, tr, tm in rows["reader"] if kind == "result" and (tr, tm) in sent}
    both = [k for k in label if k in got]
    stall_end = a.stall_at + a.stall_s

    def label_ms(during: bool) -> dict:        # the first 2 s: warming up
        return pct(v for k, v in label.items() if 2.0 <= sent[k][2] and (a.stall_at <= sent[k][2] < stall_end) == during)

    def frame_ms(during: bool) -> dict:
        return pct(ms for el, ms, _ in d["frames"] if 2.0 <= el and (a.stall_at <= el < stall_end) == during)
    rest, stalled = label_ms(False), label_ms(True)
    out = {
        "video": Path(a.video).name, "seconds": a.seconds, "paced": "real time, looped", "cores": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(), "results": len(sent), "received_by_reader": len(both),
        "published": "every result with its skeleton (the command: label changes only; the same path)",
        "frame_to_label_ms": pct(label[k] for k in both),
        "frame_to_client_ms": pct((got[k] - sent[k][0]) * 1e3 for k in both),
        "p95_added_by_stream_ms": None,
        "label_to_server_send_ms": pct((send_times.at[k] - sent[k][1]) * 1e3 for k in both if k in send_times.at),
        "label_to_client_ms": pct((got[k] - sent[k][1]) * 1e3 for k in both),
        "stall": {"from_s": a.stall_at, "seconds": a.stall_s, "frame_to_label_ms_rest": rest,
                  "frame_to_label_ms_during": stalled,
                  "p95_change_pct": round(100 * (stalled["p95"] / rest["p95"] - 1), 2) if rest and stalled else None,
                  "frame_ms_rest": frame_ms(False), "frame_ms_during": frame_ms(True),
                  "stalled_client_got_afterwards": len([r for r in rows.get("stalled", []) if r[1] == "result"]),
                  "queue_len_max": max(d["queue"]), "dropped": d["counts"]["dropped"]},
        "rss_mb": {f"at_{t:.1f}s": round(next(mb for el, mb in d["rss"] if el >= t), 1)
                   for t in (2.0, a.stall_at, stall_end, d["rss"][-1][0])},
        "vanished": {k: d["counts"].get(k) for k in ("clients_with_the_vanishing_one", "vanished_dropped_after_s",
                                                     "clients_at_end")},
        "logged_problems": problems.records, "client_errors": {k: v for k, v in errors.items() if v},
        "flood": flood(2000 if a.quick else 20000),
    }
    out["p95_added_by_stream_ms"] = round(out["frame_to_client_ms"]["p95"] - out["frame_to_label_ms"]["p95"], 3)
    text = json.dumps(out, indent=1)
    print(text)
    if a.out:
        Path(a.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
