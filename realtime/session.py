"""One running recognition session: the library, the encoder, pose, settings, recognizer and timing.

Every entry point (the command line, the window and its worker thread, retraining, the benchmarks)
goes through :class:`Session`: it opens its parts as :mod:`realtime.parts` resolves them, and owns
the one source -> pose -> recognizer loop (:meth:`Session.frames`), the one capture of a segment
built on it (:class:`Capture`, :meth:`Session.capture`), the one segment -> prototypes write
(:meth:`Session.save`) and the one per-stage timing record (:class:`StageTimes`).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Iterator

import numpy as np

from focovil.realtime.capture import Capture, Segment
from focovil.realtime.encoder import EncoderFileError, EncoderRuntime, load_encoder
from focovil.realtime.library import Library, LibraryError
from focovil.realtime.parts import (AppError, active_encoder_path, camera_available, describe_source, open_library,
                                    open_pose, open_thinned, resolve_encoder_path)
from focovil.realtime.pipeline import Recognizer, live_windows, segment_windows
from focovil.realtime.playback import Control, Played, play
from focovil.realtime.results import FrameResult
from focovil.realtime.settings import Settings
from focovil.realtime.source import FrameSource, parse_source
from focovil.realtime.timing import StageTimes
from focovil.realtime.tracking import Follow, Tracker
from focovil.realtime.window import Window

__all__ = ["AppError", "Capture", "Control", "Segment", "Session", "StageTimes", "active_encoder_path",
           "camera_available", "describe_source", "open_library", "parse_source", "resolve_encoder_path"]


class Session:
    """Owns a library (opened here unless given), its encoder, the pose model and the recognizer.

    Parts are opened when first needed (capturing needs neither library nor encoder). Close it (or use
    ``with``): the library is closed if this session opened it. ``cpu_threads``: torch's CPU threads
    (the live app uses 1, see ``load_encoder``; None leaves torch's default, for batch work).
    The library stores embeddings only of its own encoder (promoted, or the shipped default), made when
    the recognizer opens; with an ``encoder`` given (``--encoder FILE``) they are made in memory only.
    """

    def __init__(self, library: Library | str | Path | None = None, encoder: EncoderRuntime | str | Path | None = None,
                 pose_model: str | Path | None = None, settings: Settings | None = None, verbose: bool = False,
                 device: str | None = None, timing_keep: int | None = None, cpu_threads: int | None = 1) -> None:
        self.settings = settings or Settings()
        self.pose_model, self.verbose, self.device, self.cpu_threads = pose_model, verbose, device, cpu_threads
        self._library = library if isinstance(library, Library) else None
        self._library_path = None if isinstance(library, Library) else library
        self._owns_library = not isinstance(library, Library)
        self._encoder = encoder if isinstance(encoder, EncoderRuntime) else None
        self._encoder_path = None if isinstance(encoder, EncoderRuntime) else encoder
        self.own_encoder = encoder is None     # the library's own: its embeddings are stored
        self._recognizer: Recognizer | None = None
        self.timing = StageTimes(timing_keep)
        self.follow = Follow()                 # .selected: the track the user picked (the window: a click)
        self.played = Played()                 # every run's source warnings and frames skipped at the pose rate
        self._pending_settings = self._pending_refresh = False

    # ------------------------------------------------------------------ parts
    @property
    def library(self) -> Library:
        if self._library is None:
            self._library = open_library(self._library_path)
        return self._library

    @property
    def encoder_path(self) -> Path:
        """The file the encoder is (or will be) loaded from."""
        if self._encoder is not None:
            return self._encoder.path
        return resolve_encoder_path(self._encoder_path, self.library)

    @property
    def encoder(self) -> EncoderRuntime:
        if self._encoder is None:
            try:
                self._encoder = load_encoder(self.encoder_path, device=self.device, cpu_threads=self.cpu_threads)
            except EncoderFileError as e:
                raise AppError(str(e), "encoder") from e
        return self._encoder

    @property
    def encoder_loaded(self) -> bool:
        return self._encoder is not None

    @property
    def recognizer(self) -> Recognizer:
        if self._recognizer is None:
            enc, lib = self.encoder, self.library
            try:
                if self.own_encoder:       # the one write on opening: what the library lacks for its encoder
                    lib.ensure_embedded(enc)
                self._recognizer = Recognizer(enc, lib, self.settings)
            except LibraryError as e:
                raise AppError(f"cannot use the library {lib.path}: {e}", "library") from e
        return self._recognizer

    def pose(self):
        """A new pose estimator on this session's model and settings (:func:`realtime.parts.open_pose`)."""
        return open_pose(self.settings, self.pose_model, self.verbose)

    def source(self, spec: str | int | Path) -> FrameSource:
        return open_thinned(spec, self.settings)

    def apply(self, settings: Settings) -> None:
        """New settings take effect from the next frame (the window restarts). Safe from another
        thread than the one running :meth:`frames`: the loop picks them up between frames."""
        self.settings = settings
        self._pending_settings = True

    def refresh(self) -> None:
        """The library changed: embed what is new and rebuild the index, between frames."""
        self._pending_refresh = True

    def _catch_up(self) -> None:
        rec = self._recognizer
        if rec is None:
            return
        if self._pending_settings:
            self._pending_settings = False
            rec.apply(self.settings)
        if self._pending_refresh:
            self._pending_refresh = False
            rec.refresh()

    # ------------------------------------------------------------------ the loop
    def frames(self, spec: str | int | Path, *, recognize: bool = True, loop: bool = False, realtime: bool = False,
               control: Control | None = None) -> Iterator[FrameResult]:
        """The one source -> pose -> recognizer loop: a :class:`FrameResult` per frame of ``spec``.

        ``recognize=False`` stops after pose (capturing needs no library or encoder). ``loop`` plays a
        file again from the start, its timestamps continuing; ``realtime`` paces a file to its own
        clock (a camera is paced by itself). Timing goes to :attr:`timing`, the source's warnings to
        :attr:`warnings`.
        """
        rec = self.recognizer if recognize else None
        ctl = control or Control()
        spec = parse_source(spec)
        src = self.source(spec)
        try:
            pose = self.pose()
        except AppError:
            src.close()
            raise
        if rec is not None:        # a new stream: a fresh window and vote (its clock may restart at 0)
            self._pending_settings = True
            self._catch_up()
        try:
            if ctl.on_open is not None:
                ctl.on_open(src)
            tracker = Tracker()
            for frame in play(src, lambda: self.source(spec), not isinstance(spec, int), loop, realtime, ctl,
                              self.played):
                self._catch_up()
                t0 = time.perf_counter()
                poses = pose.detect_all(frame.image, int(round(frame.t * 1000)))
                t1 = time.perf_counter()
                h, w = frame.image.shape[:2]
                people, ended = tracker.update(frame.t, poses, w / max(h, 1))
                followed = self.follow.pick(people)
                windows = rec.push_people(frame.t, people, ended, bool(tracker.tracks)) if rec else []
                t2 = time.perf_counter()
                inner = sum(w.encode_ms + w.search_ms for w in windows)
                fr = FrameResult(frame.t, frame.index, frame.image, followed.pose if followed else None, windows,
                                 people=people, pose_ms=(t1 - t0) * 1e3, overhead_ms=max((t2 - t1) * 1e3 - inner, 0.0),
                                 selected=followed.track if followed else None, captured_at=frame.captured_at)
                self.timing.add(fr)
                yield fr
        finally:
            pose.close()

    def windows(self, spec: str | int | Path) -> Iterator[Window]:
        """The raw canonical windows of ``spec`` exactly as the recognizer classifies them (the live
        duration and stride, the same gap policy and coverage rule), without classifying them."""
        stream = ((fr.t, None if fr.pose is None else fr.pose.skeleton) for fr in self.frames(spec, recognize=False))
        yield from live_windows(stream, self.encoder.window_frames, self.settings)

    # ------------------------------------------------------------------ recording
    def capture(self, spec: str | int | Path, start: float = 0.0, end: float = float("inf"),
                person: int | str | None = None) -> Segment:
        """The skeletons of ``spec``'s frames from ``start`` to ``end`` seconds (a camera: from now),
        of ``person`` (a track id, ``"largest"``, or None: the followed person, ``tracking.Follow``)."""
        try:
            return Capture(source=describe_source(spec)).take(self.frames(spec, recognize=False), start, end, person)
        except ValueError as e:
            raise AppError(f"{describe_source(spec)}: {e}", "recording") from e

    def save(self, label: str, segment: Segment) -> list[int]:
        """The one segment -> prototypes write: one prototype per window of the live duration (raw
        windows stored, embedded with the library's own encoder), and the index catches up."""
        if not len(segment.times):
            raise AppError(f"nothing was recorded from {segment.source or 'the source'}", "recording")
        try:
            windows = segment_windows(segment.times, segment.skeletons, self.encoder.window_frames, self.settings.window_s)
        except ValueError as e:
            raise AppError(f"{segment.source or 'the recording'}: {e}", "recording") from e
        try:
            enc = self.encoder if self.own_encoder else None    # another encoder's vectors are never stored
            ids = [self.library.add_prototype(label, w, source=segment.source, start_s=float(segment.times[0]),
                                              end_s=float(segment.times[-1]), encoder=enc) for w in windows]
        except (ValueError, LibraryError) as e:
            raise AppError(f"could not save the recording: {e}", "recording") from e
        self.refresh()
        return ids

    def preview(self, segment: Segment) -> np.ndarray:
        """The whole segment as one window, as the encoder sees it after view alignment."""
        try:
            whole = segment_windows(segment.times, segment.skeletons, self.encoder.window_frames, float("inf"))[0]
        except ValueError as e:
            raise AppError(str(e), "recording") from e
        return self.encoder.align(whole[None])[0]

    # ------------------------------------------------------------------ closing
    def close(self) -> None:
        if self._owns_library and self._library is not None:
            self._library.close()
        self._library = None
        self._recognizer = None

    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
