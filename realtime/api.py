"""The public Python API: recognise actions inside your own program.

    import focovil

    with focovil.open() as rec:                       # the default library (or open("my_library.sqlite3"))
        rec.record("wave", "wave.mp4", start=1.0, end=3.5)
        for r in rec.recognize("clip.mp4"):           # a video file, a camera index, an image folder
            print(r.time, r.track, r.state, r.label, r.similarity)

Results are :class:`~focovil.realtime.messages.Result` dataclasses, the same fields as the headless
JSON lines and the event stream. :class:`ActionRecognizer` is a thin layer over the one
:class:`~focovil.realtime.session.Session` the command line and the window also run on; problems
raise :class:`Error` with a one-line message.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from focovil.realtime.capture import Segment
from focovil.realtime.library import LibraryError
from focovil.realtime.messages import SCHEMA_VERSION, Result
from focovil.realtime.paths import DEMO_CLIP
from focovil.realtime.session import AppError, Control, Session
from focovil.realtime.settings import build_settings
from focovil.realtime.skeleton import NUM_JOINTS, from_mediapipe_world
from focovil.realtime.spotting import Occurrence, rules as spotting_rules, spot

Error = AppError
__all__ = ["ActionRecognizer", "DEMO_CLIP", "Error", "Occurrence", "Result", "RunStats", "SCHEMA_VERSION", "open"]


@dataclass
class RunStats:
    """What the last :meth:`ActionRecognizer.recognize` run saw, counted as it goes."""
    frames: int = 0                 # frames given to pose
    frames_with_person: int = 0
    results: int = 0
    frames_skipped: int = 0         # frames passed over at the pose rate (``pose_fps``), counted at the end


def open(library: str | Path | None = None, *, encoder: str | Path | None = None, pose_model: str | Path | None = None,
         strictness: float | None = None, persons: int | None = None, window_s: float | None = None,
         stride_s: float | None = None, pose_fps: float | None = None, pose_gpu: bool | None = None,
         redetect: bool | None = None, device: str | None = None, verbose: bool = False) -> "ActionRecognizer":
    """An :class:`ActionRecognizer` on ``library`` (a path; None: your default library, created from
    the shipped demo library on first use). Every other argument defaults to the app's own setting
    (``realtime.settings.build_settings``, as the command line and the window build theirs)."""
    given = dict(strictness=strictness, persons=persons, window_s=window_s, stride_s=stride_s, pose_fps=pose_fps,
                 pose_gpu=pose_gpu, redetect=redetect)
    return ActionRecognizer(Session(library, encoder, pose_model, build_settings(given), verbose=verbose,
                                    device=device))


class ActionRecognizer:
    """Recognise, record and manage labelled actions. Close it (or use ``with``) to close the library."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.stats = RunStats()

    # ---------------------------------------------------------------- recognising
    def recognize(self, source: str | int | Path, *, skeletons: bool = False, realtime: bool = False,
                  control: Control | None = None) -> Iterator[Result]:
        """Every label of ``source`` (a camera index, a video file or an image folder) as it comes:
        one :class:`Result` per window per tracked person (every ``stride_s`` seconds).
        ``skeletons``: attach each person's canonical skeleton; ``realtime``: pace a file to its clock."""
        self.stats = stats = RunStats()
        skipped_before = self.session.played.frames_skipped
        try:
            for fr in self.session.frames(source, realtime=realtime, control=control):
                stats.frames += 1
                stats.frames_with_person += fr.pose is not None
                bodies = {p.track: p.pose.skeleton for p in fr.people} if skeletons else {}
                for w in fr.windows:
                    stats.results += 1
                    yield Result.of(w, bodies.get(w.track))
        finally:
            stats.frames_skipped = self.session.played.frames_skipped - skipped_before

    def recognize_skeletons(self, skeletons: np.ndarray, times: np.ndarray | None = None, *, fps: float | None = None,
                            track: int = 0) -> list[Result]:
        """Labels of skeletons you already have: canonical ``[T, 20, 3]`` (``focovil.realtime.skeleton``)
        or MediaPipe's 33 world landmarks ``[T, 33, 3]`` (extra columns such as visibility are
        dropped), with ``times`` in seconds (or ``fps``). A frame of NaN means nobody in view. The
        stream starts afresh each call."""
        seq, t = _canonical(skeletons, times, fps)
        rec = self.session.recognizer
        rec.end(track)
        out = [Result.of(w) for ti, s in zip(t, seq)
               for w in rec.push(float(ti), s if np.isfinite(s).all() else None, track=track)]
        rec.end(track)
        return out

    def skeletons(self, source: str | int | Path, start: float = 0.0, end: float | None = None, *,
                  person: int | str | None = "largest") -> tuple[np.ndarray, np.ndarray]:
        """``(times [T], canonical skeletons [T, 20, 3])`` of ``source`` through the app's own pose path
        (MediaPipe; a frame with nobody in view is NaN), for your own analysis or :meth:`recognize_skeletons`."""
        seg = self.session.capture(source, start, float("inf") if end is None else end, person=person)
        return seg.times, seg.skeletons

    def segments(self, source: str | int | Path, *, windows: list[Result] | None = None,
                 **rules: float | None) -> list[Occurrence]:
        """Where each recorded action happens in ``source``: :class:`Occurrence` s (track, label, start,
        end, ...) by the spotting rules of ``focovil.realtime.spotting`` (``merge_gap_s``,
        ``min_duration_s``, ``start_offset_s``, ``end_offset_s``; None or absent: the default).
        ``windows``: a list that receives every window's :class:`Result` (e.g. for a timeline)."""
        try:
            chosen = spotting_rules(**rules)
        except ValueError as e:
            raise Error(str(e), "spotting") from e
        seen = windows if windows is not None else []
        seen.extend(self.recognize(source))
        return spot(seen, **chosen.as_dict())

    # ---------------------------------------------------------------- recording
    def record(self, label: str, source: str | int | Path, start: float = 0.0, end: float | None = None, *,
               seconds: float = 3.0, person: int | str | None = "largest") -> list[int]:
        """Adds prototypes of ``label`` from ``source``: a video from ``start`` to ``end`` seconds (None:
        its end), or a camera index for ``seconds`` from now; of ``person`` (a track id or
        ``"largest"``). Returns the new prototype ids."""
        if isinstance(source, int) or str(source).isdigit():
            seg = self.session.capture(int(source), 0.0, seconds, person=person)
        else:
            seg = self.session.capture(source, start, float("inf") if end is None else end, person=person)
        if not len(seg.times):
            raise Error(f"no frames between {start} s and {end} s in {seg.source}", "recording")
        return self.session.save(label, seg)

    def record_skeletons(self, label: str, skeletons: np.ndarray, times: np.ndarray | None = None, *,
                         fps: float | None = None, source: str = "skeletons") -> list[int]:
        """Adds prototypes of ``label`` from skeletons you already have (shapes as
        :meth:`recognize_skeletons`). Returns the new prototype ids."""
        seq, t = _canonical(skeletons, times, fps)
        return self.session.save(label, Segment(t, seq, source))

    # ---------------------------------------------------------------- the library
    @property
    def library_path(self) -> Path:
        return self.session.library.path

    def labels(self) -> dict[str, int]:
        """Every label and its number of prototypes."""
        return dict(self.session.library.list_labels())

    def rename(self, old: str, new: str, *, merge: bool = False) -> None:
        """Renames a label (onto an existing one only with ``merge``)."""
        self._library_call(self.session.library.rename_label, old, new, merge=merge)

    def delete(self, label: str) -> int:
        """Deletes a label's prototypes; returns how many."""
        return self._library_call(self.session.library.delete_label, label)

    def export_library(self, path: str | Path) -> Path:
        return self._library_call(self.session.library.export_to, path)

    def import_library(self, path: str | Path) -> int:
        """Adds another library file's prototypes (embedded with this encoder); returns how many."""
        return self._library_call(self.session.library.import_from, path, encoder=self.session.encoder)

    def _library_call(self, fn, *args, **kwargs):
        try:
            out = fn(*args, **kwargs)
        except (LibraryError, ValueError) as e:
            raise Error(str(e), "library") from e
        self.session.refresh()
        return out

    # ---------------------------------------------------------------- closing
    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "ActionRecognizer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _canonical(skeletons: np.ndarray, times: np.ndarray | None, fps: float | None) -> tuple[np.ndarray, np.ndarray]:
    """User skeletons -> (canonical ``[T, J, 3]`` float32, times ``[T]``), or :class:`Error` naming the problem."""
    a = np.asarray(skeletons, dtype=np.float32)
    if a.ndim != 3 or a.shape[1] not in (NUM_JOINTS, 33) or a.shape[2] < 3 or (a.shape[1] == NUM_JOINTS and a.shape[2] != 3):
        raise Error(f"skeletons must be [T, {NUM_JOINTS}, 3] canonical or [T, 33, 3+] MediaPipe world landmarks, "
                    f"got shape {list(a.shape)}", "skeletons")
    seq = from_mediapipe_world(a[..., :3]) if a.shape[1] == 33 else a
    if times is None:
        if not fps or fps <= 0:
            raise Error("give the skeletons' times (seconds) or their fps", "skeletons")
        t = np.arange(len(a)) / float(fps)
    else:
        t = np.asarray(times, dtype=np.float64).reshape(-1)
        if len(t) != len(a):
            raise Error(f"{len(t)} times for {len(a)} skeletons", "skeletons")
        if len(t) > 1 and not (np.diff(t) > 0).all():
            raise Error("skeleton times must increase", "skeletons")
    return seq, t
