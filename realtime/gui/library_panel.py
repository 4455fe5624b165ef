"""The Library tab: labels and their prototype counts; delete, rename (or merge), import, export;
which encoder the session runs on."""
from __future__ import annotations

from PyQt5.QtCore import Qt, pyqtSignal
from PyQt5.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QHeaderView, QInputDialog, QLabel,
                             QMessageBox, QPushButton, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget)

from focovil.realtime.library import Library, LibraryError
from focovil.realtime.session import AppError, Session


class LibraryPanel(QWidget):
    """Works on ``session.library`` (None until :meth:`open` succeeds)."""

    changed = pyqtSignal()        # prototypes were removed, renamed or imported: the index must catch up
    error = pyqtSignal(str)       # a readable message for the banner
    message = pyqtSignal(str)     # a short note for the status bar

    def __init__(self, session: Session, parent=None) -> None:
        super().__init__(parent)
        self.session = session
        self.library: Library | None = None
        v = QVBoxLayout(self)
        self.table = QTableWidget(0, 2)
        self.table.setHorizontalHeaderLabels(["Label", "Prototypes"])
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.Stretch)
        self.table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeToContents)
        self.table.verticalHeader().hide()
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setMinimumHeight(170)
        v.addWidget(self.table)
        row = QHBoxLayout()
        for text, slot in (("Delete", self._delete_clicked), ("Rename…", self._rename_clicked),
                           ("Import…", self._import_clicked), ("Export…", self._export_clicked)):
            row.addWidget(QPushButton(text, clicked=slot))
        v.addLayout(row)
        self.note = QLabel("", objectName="note", wordWrap=True)
        v.addWidget(self.note)
        self.encoder_note = QLabel("", objectName="note", wordWrap=True)
        v.addWidget(self.encoder_note)

    def open(self) -> bool:
        """Opens the session's library (a failure goes to ``error``) and shows it."""
        try:
            self.library = self.session.library
        except AppError as e:
            self.error.emit(f"Cannot open the library: {e}")
        self.refresh()
        self.show_encoder()
        return self.library is not None

    def show_encoder(self) -> None:
        """The encoder in use (loaded: its file, device and size; before Start: the file it will load)."""
        s = self.session
        if s.encoder_loaded:
            e = s.encoder
            text, tip = f"Encoder: {e.path.name} on {e.device} · {e.dim}-d embeddings, windows of {e.window_frames} frames", \
                str(e.path)
        elif self.library is not None:
            path = s.encoder_path
            text, tip = f"Encoder: {path.name} (loads on Start)", str(path)
        else:
            text, tip = "Encoder: none (no library is open)", ""
        self.encoder_note.setText(text)
        self.encoder_note.setToolTip(tip)

    def refresh(self) -> None:
        rows = self.library.list_labels() if self.library is not None else []
        self.table.setRowCount(len(rows))
        for i, (name, count) in enumerate(rows):
            self.table.setItem(i, 0, QTableWidgetItem(name))
            item = QTableWidgetItem(str(count))
            item.setTextAlignment(Qt.AlignRight | Qt.AlignVCenter)
            self.table.setItem(i, 1, item)
        total = sum(c for _, c in rows)
        where = f" in {self.library.path.name}" if self.library is not None else ""
        self.note.setText(f"{len(rows)} labels, {total} prototypes{where}")
        self.note.setToolTip(str(self.library.path) if self.library is not None else "")

    def labels(self) -> dict[str, int]:
        return dict(self.library.list_labels()) if self.library is not None else {}

    def _changed(self, message: str = "") -> None:
        self.refresh()
        self.changed.emit()
        if message:
            self.message.emit(message)

    # ------------------------------------------------------------ the operations
    def delete_label(self, name: str) -> int:
        try:
            n = self.library.delete_label(name)
        except LibraryError as e:
            self.error.emit(str(e))
            return 0
        self._changed(f"Deleted \u201c{name}\u201d ({n} prototype{'s' if n != 1 else ''})")
        return n

    def rename_label(self, old: str, new: str, merge: bool = False) -> bool:
        try:
            self.library.rename_label(old, new, merge=merge)
        except (LibraryError, ValueError) as e:
            self.error.emit(str(e))
            return False
        self._changed()
        return True

    def import_library(self, path: str) -> int:
        encoder = self.session.encoder if self.session.encoder_loaded else None
        try:
            n = self.library.import_from(path, encoder=encoder)
        except (LibraryError, OSError, ValueError) as e:
            self.error.emit(f"Could not import {path}: {e}")
            return 0
        self._changed(f"Imported {n} prototypes from {path}")
        return n

    def export_library(self, path: str) -> bool:
        try:
            out = self.library.export_to(path)
        except (LibraryError, OSError) as e:
            self.error.emit(f"Could not export to {path}: {e}")
            return False
        self.message.emit(f"Exported the library to {out}")
        return True

    # ------------------------------------------------------------ the buttons
    def _selected_label(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).text() if rows and self.library is not None else None

    def _delete_clicked(self) -> None:
        name = self._selected_label()
        if name is None:
            return
        if QMessageBox.question(self, "Delete label", f"Delete \u201c{name}\u201d and all its prototypes?") \
                == QMessageBox.Yes:
            self.delete_label(name)

    def _rename_clicked(self) -> None:
        old = self._selected_label()
        if old is None:
            return
        new, ok = QInputDialog.getText(self, "Rename label", f"New name for \u201c{old}\u201d:", text=old)
        if not ok or not new.strip() or new.strip() == old:
            return
        merge = new.strip() in self.labels()
        if merge and QMessageBox.question(self, "Merge labels", f"\u201c{new}\u201d exists. Move the prototypes "
                                          f"of \u201c{old}\u201d into it?") != QMessageBox.Yes:
            return
        self.rename_label(old, new, merge=merge)

    def _import_clicked(self) -> None:
        self._with_file(QFileDialog.getOpenFileName, "Import a library", "", "Libraries (*.sqlite3 *.db);;All files (*)",
                        self.import_library)

    def _export_clicked(self) -> None:
        self._with_file(QFileDialog.getSaveFileName, "Export the library", "library.sqlite3", "Libraries (*.sqlite3)",
                        self.export_library)

    def _with_file(self, dialog, title: str, start: str, kinds: str, action) -> None:
        """Asks for a file with ``dialog`` (open or save) and hands the chosen path to ``action``."""
        if self.library is None:
            return
        path, _ = dialog(self, title, start, kinds)
        if path:
            action(path)
