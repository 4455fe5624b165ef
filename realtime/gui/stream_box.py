"""The event stream's switch and port in the Settings tab: it owns the window's :class:`EventServer`.

The server lives as long as the switch is on, not as long as a run: a client may connect before
Start and stays connected across runs (each Start sends it a new hello, ``EventServer.reset``).
"""
from __future__ import annotations

from PyQt5.QtCore import QTimer, pyqtSignal
from PyQt5.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QSpinBox, QWidget

from focovil.realtime.session import AppError
from focovil.realtime.settings import StreamDefaults
from focovil.realtime.stream import DEFAULT_HOST, EventServer

from .worker import message_for


class StreamBox(QWidget):
    """On: label changes as JSON on ``ws://127.0.0.1:PORT`` (README: Event stream). ``changed``: a
    choice to store; ``error``: a one-line message (the port is taken...), the switch goes back off."""

    changed = pyqtSignal()
    error = pyqtSignal(str)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.server: EventServer | None = None
        self.host, self.skeletons = DEFAULT_HOST, False     # the command line's --serve HOST:PORT, --serve-skeletons
        self.enabled = QCheckBox("Serve labels to other programs")
        self.enabled.setToolTip("Each change of a person's label goes out as a JSON message over WebSocket, "
                                "for other programs on this computer (README: Event stream)")
        self.port = QSpinBox(minimum=1, maximum=65535, value=StreamDefaults.serve_port, prefix="port ")
        self.port.setToolTip("Change it while the stream is off")
        self.status = QLabel("", objectName="note")     # one row: the tab's other rows keep their room
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.enabled)
        row.addWidget(self.port)
        row.addWidget(self.status, 1)
        self.enabled.toggled.connect(lambda _on: self._apply())
        self._timer = QTimer(self, interval=1000)
        self._timer.timeout.connect(self._show_status)
        self._show_status()

    def stored(self) -> dict:
        return {"serve": self.enabled.isChecked(), "serve_port": self.port.value()}

    def restore(self, values: dict) -> None:
        """Shows stored (or given) values and starts the stream if it is on."""
        self.host = values.get("serve_host", self.host)
        self.skeletons = bool(values.get("serve_skeletons", self.skeletons))
        self.port.setValue(int(values.get("serve_port", self.port.value())))
        self.enabled.blockSignals(True)
        self.enabled.setChecked(bool(values.get("serve", False)))
        self.enabled.blockSignals(False)
        if self.enabled.isChecked() != (self.server is not None):
            self._apply(announce=False)

    def close_server(self) -> None:
        srv, self.server = self.server, None
        if srv is not None:
            srv.close(drain_s=0.5)      # the window waits for no stalled client

    def _apply(self, announce: bool = True) -> None:
        self.close_server()
        if self.enabled.isChecked():
            try:
                self.server = EventServer(self.host, self.port.value(), skeletons=self.skeletons)
            except AppError as e:
                self.enabled.blockSignals(True)
                self.enabled.setChecked(False)
                self.enabled.blockSignals(False)
                self.error.emit(message_for(e))
        self.port.setEnabled(self.server is None)
        if self.server is not None:
            self._timer.start()
        else:
            self._timer.stop()
        self._show_status()
        if announce:
            self.changed.emit()

    def _show_status(self) -> None:
        srv = self.server
        if srv is None:
            self.status.setText("")
            return
        n = srv.clients
        self.status.setText(f"{n} client{'s' if n != 1 else ''}")
        self.status.setToolTip(f"Serving on {srv.url}")
