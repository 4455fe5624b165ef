"""What a running stream shows: each person's label at them in the video, the followed person's label
card and aligned window, and the status bar's rates. The window routes the worker's signals here."""
from __future__ import annotations

import numpy as np
from PyQt5.QtWidgets import QLabel, QStatusBar

from focovil.realtime.classify import NO_PERSON
from focovil.realtime.results import FrameResult

from .label_card import LabelCard
from .skeleton_view import SkeletonView
from .style import device_text, fmt_ms, pose_text
from .video import Overlay, VideoView


class LiveView:
    """Draws frames and stats on the window's video, skeleton panel, label card and status bar."""

    def __init__(self, video: VideoView, skeleton: SkeletonView, card: LabelCard, status: QStatusBar) -> None:
        self.video, self.skeleton, self.card = video, skeleton, card
        self.track_labels: dict[int, str] = {}     # each tracked person's current label
        self.aligned: dict[int, np.ndarray] = {}    # this frame's windows as the encoder sees them (worker)
        self.card_track: int | None = None          # whose label the card shows
        self.fps_view = QLabel("fps –")
        self.lat_view = QLabel("pose – · encode – · search – ms")
        self.device_view = QLabel("device –", objectName="device")
        self.pose_view = QLabel("pose –")
        self.pose_view.setToolTip("Pose model, frames a second given to pose, where it runs (--pose-model, "
                                  "--pose-fps, --pose-gpu, --redetect; People to follow in Settings)")
        for w in (self.pose_view, self.fps_view, self.lat_view, self.device_view):
            w.setContentsMargins(8, 0, 8, 0)
            status.addPermanentWidget(w)

    def show_frame(self, fr: FrameResult) -> None:
        """Each person's label at them; the followed person's (or, with nobody tracked, the
        scene's "no person") in the card and their aligned window in the skeleton panel."""
        if fr.selected is not None and fr.selected != self.card_track:    # someone else followed now
            self.card_track = fr.selected
            self.card.show_waiting(f"following person {fr.selected}: waiting for their first window")
            self.skeleton.clear(f"person {fr.selected}: waiting for their first window")
        for w in fr.windows:
            if w.track:      # a tracked person's "no person" is a gap in their detections: keep the last label
                if w.prediction.label != NO_PERSON or w.track not in self.track_labels:
                    self.track_labels[w.track] = "" if w.prediction.label == NO_PERSON else w.prediction.label
            if w.track and w.track == fr.selected and w.prediction.label == NO_PERSON:
                self.card.show_waiting(f"person {w.track} is in view, but too little of them yet for a label")
            elif w.track == (fr.selected or 0) or (not fr.people and w.track == 0):
                self.card.show_prediction(w.prediction)
                if w.track in self.aligned:
                    self.skeleton.set_window(self.aligned[w.track])
        self.aligned.clear()
        present = {p.track for p in fr.people}
        self.track_labels = {k: v for k, v in self.track_labels.items() if k in present}
        self.video.set_frame(fr.image, people=[Overlay(p.track, p.pose.image_landmarks, self.track_labels.get(p.track, ""),
                                                       p.track == fr.selected) for p in fr.people])
        self.card.show_people([(p.track, self.track_labels.get(p.track, ""), p.track == fr.selected)
                               for p in sorted(fr.people, key=lambda p: p.track)])

    def show_stats(self, s: dict) -> None:
        """The worker's medians per stage and the encoder's device."""
        fps = s.get("fps")
        self.fps_view.setText(f"{fps:.1f} fps" if fps else "fps –")
        self.lat_view.setText(f"pose {fmt_ms(s['pose_ms'])} · encode {fmt_ms(s['encode_ms'])} · "
                              f"search {fmt_ms(s['search_ms'])} · other {fmt_ms(s['overhead_ms'])} ms")
        self.lat_view.setToolTip("Median time per stage over the last frames")
        self.show_device(s["device"])

    def show_pose(self, settings, pose_model) -> None:
        """The pose in use (``Settings.pose_rate``, model, GPU): what the next Start runs with."""
        self.pose_view.setText(pose_text(settings, pose_model))

    def show_device(self, device: str, tooltip: str = "") -> None:
        self.device_view.setText(device_text(device))
        if tooltip:
            self.device_view.setToolTip(tooltip)
