"""The card at the top right: the current label, its similarity and vote, runners-up, recent labels."""
from __future__ import annotations

import math

from PyQt5.QtCore import Qt
from PyQt5.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QProgressBar, QVBoxLayout, QWidget

from focovil.realtime.classify import IDLE, NO_PERSON, UNKNOWN, state_of

from .style import set_state


def quiet(label: str) -> str:
    """The style state of a label: "quiet" (greyed) for "unknown" and "no person", "idle" (blue-grey)
    for a person standing still, "" for an action."""
    return {UNKNOWN: "quiet", NO_PERSON: "quiet", IDLE: "idle"}.get(label, "")


def detail_of(p) -> str:
    """The line under the label: why this answer, in words and numbers."""
    sim = "–" if not math.isfinite(p.similarity) else f"{p.similarity:.2f}"
    motion = "" if not math.isfinite(p.motion) else f"   ·   motion {100 * p.motion:.1f} cm"
    state = state_of(p.label)
    if state == NO_PERSON:
        return "nobody in view"
    if state == IDLE:
        return f"standing still, not doing an action{motion}"
    if state == UNKNOWN:
        return f"not one of your actions   ·   best similarity {sim}{motion}"
    return f"similarity {sim}   ·   vote {p.score:.0%}{motion}"


class LabelCard(QFrame):
    RECENT = 8

    def __init__(self, parent=None) -> None:
        super().__init__(parent, objectName="card")
        self.recent: list[str] = []
        self.current_label: str | None = None
        cv = QVBoxLayout(self)
        cv.addWidget(QLabel("Current action", objectName="section"))
        self.label_view = QLabel("—", objectName="current", wordWrap=True)
        self.label_view.setProperty("state", "quiet")
        cv.addWidget(self.label_view)
        self.detail_view = QLabel("press Start", objectName="detail")
        cv.addWidget(self.detail_view)
        self.confidence = QProgressBar(maximum=100, value=0, format="confidence %p%")
        cv.addWidget(self.confidence)
        self.people_title = QLabel("People in view", objectName="section")
        self.people_view = QLabel("", objectName="note", wordWrap=True, textFormat=Qt.RichText)
        cv.addWidget(self.people_title)
        cv.addWidget(self.people_view)
        self.show_people([])
        cv.addSpacing(4)
        cv.addWidget(QLabel("Runners-up", objectName="section"))
        grid = QGridLayout()
        self.runner_labels, self.runner_bars = [], []
        for i in range(3):
            lab = QLabel("", objectName="note")
            bar = QProgressBar(maximum=100, value=0, textVisible=False, objectName="small")
            bar.setFixedHeight(8)
            bar.hide()
            grid.addWidget(lab, i, 0)
            grid.addWidget(bar, i, 1)
            self.runner_labels.append(lab)
            self.runner_bars.append(bar)
        self.runner_labels[0].setText("none yet")
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(1, 3)
        cv.addLayout(grid)
        cv.addSpacing(4)
        cv.addWidget(QLabel("Recent", objectName="section"))
        row = QHBoxLayout()
        row.setSpacing(4)
        row.setContentsMargins(0, 0, 0, 0)
        self.recent_chips = [QLabel("", objectName="chip") for _ in range(self.RECENT)]
        for chip in self.recent_chips:
            chip.hide()
            row.addWidget(chip)
        row.addStretch(1)
        recent_box = QWidget()
        recent_box.setLayout(row)
        cv.addWidget(recent_box)

    def show_people(self, people: list[tuple[int, str, bool]]) -> None:
        """Every tracked person: ``(track, current label, followed)``; shown when more than one."""
        from .video import track_colour
        rows = [f'<span style="color:{track_colour(k).name()}">\u25cf</span> person {k}: {label or "…"}'
                + (" <i>(followed: the label above, recording)</i>" if followed else "") for k, label, followed in people]
        self.people_view.setText("<br>".join(rows))
        many = len(people) > 1
        self.people_title.setVisible(many)
        self.people_view.setVisible(many)

    def show_waiting(self, text: str) -> None:
        """Someone is in view but has no label yet (too few frames of them in the window)."""
        self.label_view.setText("\u2026")
        set_state(self.label_view, "quiet")
        self.detail_view.setText(text)
        self.confidence.setValue(0)
        self.confidence.setFormat("no action named")

    def set_detail(self, text: str) -> None:
        self.detail_view.setText(text)

    def stopped(self) -> None:
        if self.current_label is None:
            self.detail_view.setText("press Start")

    def show_prediction(self, p) -> None:
        self.current_label = p.label
        self.label_view.setText(p.label)
        set_state(self.label_view, quiet(p.label))
        self.detail_view.setText(detail_of(p))
        action = state_of(p.label) == "action"
        self.confidence.setValue(int(round(100 * p.score)) if action else 0)
        self.confidence.setFormat("confidence %p%" if action else "no action named")
        others = [(lab, s) for lab, s in p.topk if lab != p.label][:3]
        for i in range(3):
            lab, s = others[i] if i < len(others) else ("", 0.0)
            self.runner_labels[i].setText(f"{lab}  {s:.0%}" if lab else ("none: the vote is unanimous" if i == 0 else ""))
            self.runner_bars[i].setValue(int(round(100 * s)))
            self.runner_bars[i].setVisible(bool(lab))
        if not self.recent or self.recent[-1] != p.label:
            self.recent = (self.recent + [p.label])[-self.RECENT:]
            for chip, lab in zip(self.recent_chips, list(reversed(self.recent)) + [""] * self.RECENT):
                chip.setText(lab)
                chip.setVisible(bool(lab))
                set_state(chip, quiet(lab))
