"""The window's choices kept between runs (QSettings, by ``realtime.settings.STORED``): restored into
the panels at start, stored whenever they change; a value given on the command line for this run
only is not stored while it stands."""
from __future__ import annotations

from PyQt5.QtCore import QSettings

from focovil.realtime.settings import STORED


class StoredChoices:
    """``panels``: the widgets whose ``stored()`` / ``restore(values)`` hold the choices."""

    def __init__(self, store: QSettings, panels: tuple, overrides: dict | None = None) -> None:
        self.store, self.panels = store, panels
        self.overrides = dict(overrides or {})

    def current(self) -> dict:
        return {k: v for panel in self.panels for k, v in panel.stored().items()}

    def restore(self) -> None:
        values = {key: self.store.value(key, default, kind) for key, (kind, default) in STORED.items()}
        values.update(self.overrides)
        for panel in self.panels:
            panel.restore(values)
        self.overrides = {k: v for k, v in self.current().items() if k in self.overrides}   # as shown

    def save(self) -> None:
        for key, value in self.current().items():
            if key not in self.overrides or value != self.overrides[key]:
                self.store.setValue(key, value)
        self.store.sync()
