"""The live event stream (``focovil --serve [HOST:]PORT``, the window's Settings tab): labels to other programs.

A WebSocket server (the ``websockets`` library) on its own asyncio loop in a daemon thread, so that
recognition never waits for a listener: :meth:`EventServer.publish` only appends to each client's
bounded queue (full: its oldest message is dropped and counted) and wakes the loop. A client that
stops reading fills its own queue and nothing else (the socket's write buffer is capped by
``websockets``' ``write_limit``); one that vanishes is dropped without a word. What goes out is the
one message schema (``realtime.messages``): a ``hello`` on connect (the schema version and each
track's present (state, label), for a late joiner), then the ``Result.message()`` of every result
that changes its track's (state, label) (``label_changes``), and at the end of a file the summary.
"""
from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import socket
import threading
from collections import deque
from typing import Iterable

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from focovil.realtime.messages import SCHEMA_VERSION, Result, label_changes
from focovil.realtime.session import AppError

DEFAULT_HOST = "127.0.0.1"   # this machine only, unless a host is given
QUEUE_SIZE = 256             # messages per client: ~50 s of one track changing label every window (0.2 s)
MAX_CLIENTS = 32             # with QUEUE_SIZE: at most ~8 MB of queued skeleton messages in all
PRESENT_S = 2.5              # hello: the tracks heard in the last seconds of stream time (a live one: every stride)
FORGET_S = 60.0              # a track unheard this long (stream time) is forgotten: memory stays bounded
CLOSE_TIMEOUT_S = 1.0        # closing a client that does not answer: then the socket is cut


def parse_address(text: str) -> tuple[str, int]:
    """``"[HOST:]PORT"`` -> (host, port); no host: :data:`DEFAULT_HOST`. IPv6 hosts in brackets
    (``[::1]:8765``); ``0.0.0.0:PORT`` serves every interface. A bad one: :class:`AppError`."""
    s = str(text).strip()
    host, sep, port = s.rpartition(":")
    if not sep:
        host = DEFAULT_HOST
    elif host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host or ":" in host and not s.startswith("[") or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise AppError(f"an event stream address is [HOST:]PORT with a port from 1 to 65535 (8765, "
                       f"0.0.0.0:8765, [::1]:8765), not {text!r}", "serve")
    return host, int(port)


def bind_error(host: str, port: int, e: OSError) -> str:
    """One line for a server that cannot listen: why, in words."""
    if isinstance(e, socket.gaierror):
        why = f"unknown host {host!r}"
    elif e.errno == errno.EADDRINUSE:
        why = f"port {port} is already in use (by another program, or another focovil); choose another port"
    elif e.errno == errno.EADDRNOTAVAIL:
        why = f"{host} is not an address of this machine"
    elif e.errno == errno.EACCES:
        why = f"no permission to listen on port {port} (ports below 1024 need administrator rights)"
    else:
        why = e.strerror or str(e)
    return f"cannot serve events on {host}:{port}: {why}"


class _Client:
    __slots__ = ("ws", "queue", "wake", "dropped")

    def __init__(self, ws: ServerConnection, size: int) -> None:
        self.ws = ws
        self.queue: deque[str] = deque(maxlen=size)
        self.wake = asyncio.Event()
        self.dropped = 0


class EventServer:
    """Serves the event stream on ``host:port`` (port 0: a free one, see :attr:`port`) until :meth:`close`.

    ``skeletons``: publishers attach each person's skeleton (said in the hello). Thread-safe:
    any thread may publish. Raises :class:`AppError` (``what`` ``"serve"``) when it cannot listen."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = 0, *, skeletons: bool = False,
                 queue_size: int = QUEUE_SIZE, max_clients: int = MAX_CLIENTS) -> None:
        self.host, self.skeletons, self.queue_size, self.max_clients = host, skeletons, queue_size, max_clients
        self.dropped = 0                                  # messages dropped from full queues, all clients
        self._lock = threading.Lock()
        self._clients: set[_Client] = set()
        self._last: dict[int, tuple[str, str]] = {}       # label_changes' memory: track -> (state, label)
        self._heard: dict[int, dict] = {}                 # track -> its latest {track, state, label, time}
        self._newest: float | None = None                 # the latest stream time heard
        self._closing = False
        self._connected = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="focovil-events", daemon=True)
        self._thread.start()
        try:
            self._server = asyncio.run_coroutine_threadsafe(self._listen(host, port), self._loop).result(30)
        except OSError as e:
            self._stop_loop()
            raise AppError(bind_error(host, port, e), "serve") from None
        self.port: int = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    @property
    def clients(self) -> int:
        return len(self._clients)

    @property
    def queued(self) -> int:
        """The longest client queue now (at most ``queue_size``)."""
        with self._lock:
            return max((len(c.queue) for c in self._clients), default=0)

    # ---------------------------------------------------------------- publishing (any thread)
    def publish(self, message: dict) -> None:
        """Queues ``message`` (a JSON object) for every client; never blocks on a client."""
        with self._lock:
            if self._closing or not self._clients:
                return
            self._enqueue(json.dumps(message))
        self._wake()

    def publish_results(self, results: Iterable[Result]) -> int:
        """Publishes the results that change their track's (state, label) (``label_changes``, its memory
        kept here); every result updates the present a new client's hello gives. Returns how many went out."""
        results = list(results)
        if not results:
            return 0
        with self._lock:
            if self._closing:
                return 0
            for r in results:
                self._heard[r.track] = {"track": r.track, "state": r.state, "label": r.label, "time": r.time}
                self._newest = r.time if self._newest is None else max(self._newest, r.time)
            changed = list(label_changes(results, self._last))
            if self._clients:
                for r in changed:
                    self._enqueue(json.dumps(r.message()))
            self._forget()
        if changed:
            self._wake()
        return len(changed)

    def reset(self) -> None:
        """A new run (the window's Start): labels and tracks start afresh, and every client hears a
        new hello (no tracks yet), so its first labels are announced again."""
        with self._lock:
            self._last.clear()
            self._heard.clear()
            self._newest = None
            if self._clients and not self._closing:
                self._enqueue(json.dumps(self._hello()))
        self._wake()

    def wait_for_client(self, timeout: float) -> bool:
        """Waits up to ``timeout`` seconds until a client has had its hello; True if one has."""
        return self._connected.wait(timeout)

    def _enqueue(self, text: str) -> None:          # the lock is held
        for c in self._clients:
            if len(c.queue) == self.queue_size:
                c.dropped += 1
                self.dropped += 1
            c.queue.append(text)

    def _forget(self) -> None:                      # the lock is held
        if len(self._heard) > 1 and self._newest is not None:
            for k in [k for k, v in self._heard.items() if k and v["time"] < self._newest - FORGET_S]:
                del self._heard[k]
                self._last.pop(k, None)

    def _hello(self) -> dict:                       # the lock is held
        now = self._newest
        tracks = [dict(v) for _, v in sorted(self._heard.items()) if now is None or v["time"] >= now - PRESENT_S]
        return {"schema": SCHEMA_VERSION, "type": "hello", "time": now, "tracks": tracks, "skeletons": self.skeletons}

    def _wake(self) -> None:
        with contextlib.suppress(RuntimeError):     # the loop is already closed
            self._loop.call_soon_threadsafe(self._wake_all)

    def _wake_all(self) -> None:
        for c in list(self._clients):
            c.wake.set()

    # ---------------------------------------------------------------- the server (its own thread)
    async def _listen(self, host: str, port: int):
        # No compression: messages are small, and a compressor per client costs memory and latency.
        return await serve(self._handler, host, port, compression=None, close_timeout=CLOSE_TIMEOUT_S,
                           max_size=2 ** 16, max_queue=4)

    async def _handler(self, ws: ServerConnection) -> None:
        client = _Client(ws, self.queue_size)
        with self._lock:
            full = len(self._clients) >= self.max_clients or self._closing
            if not full:
                hello = json.dumps(self._hello())
                self._clients.add(client)
        if full:
            await ws.close(1013, f"at most {self.max_clients} clients")
            return
        sender = asyncio.ensure_future(self._send(ws, client, hello))
        try:
            async for _ in ws:           # a client has nothing to say; this notices when it leaves
                pass
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._clients.discard(client)
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
                await sender

    async def _send(self, ws: ServerConnection, client: _Client, hello: str) -> None:
        await ws.send(hello)
        self._connected.set()
        while True:
            await client.wake.wait()
            client.wake.clear()
            while True:
                with self._lock:
                    if not client.queue:
                        break
                    text = client.queue.popleft()
                await ws.send(text)
            if self._closing:            # all sent: a normal close
                await ws.close()
                return

    # ---------------------------------------------------------------- closing
    def close(self, drain_s: float = 2.0) -> None:
        """Sends what is queued (up to ``drain_s`` seconds: a stalled client is not waited for longer),
        closes every connection and stops the thread. Idempotent."""
        with self._lock:
            if self._closing:
                return
            self._closing = True
        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(self._shutdown(drain_s), self._loop).result(drain_s + 3 * CLOSE_TIMEOUT_S + 2)
        self._stop_loop()

    async def _shutdown(self, drain_s: float) -> None:
        self._wake_all()

        async def drained() -> None:
            while self._clients:
                await asyncio.sleep(0.01)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(drained(), drain_s)
        for c in list(self._clients):    # still not drained: it stopped reading, and a close frame
            c.ws.transport.abort()       # would wait behind its full buffer: the socket is cut
        self._server.close()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._server.wait_closed(), 3 * CLOSE_TIMEOUT_S)
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in rest:
            t.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        if not self._thread.is_alive():
            self._loop.close()

    def __enter__(self) -> "EventServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
