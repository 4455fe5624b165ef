"""Playing a source: pausing, pacing a file to its own clock, looping it with its timestamps running on.

A camera paces itself; a file is read as fast as pose can take it unless ``realtime`` asks for its own
clock (the window, a soak test). :func:`play` is the one place that does this for every entry point.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

from focovil.realtime.source import Frame, FrameSource


@dataclass
class Control:
    """How a caller steers a running stream from another thread: ``stop`` ends the stream at the
    next frame; while ``paused`` no frame is read (``while_paused`` is called every few ms);
    ``on_open`` hears the opened source (everything is open then, before the first frame);
    ``on_warnings`` hears the problems a looped source met on each pass."""
    stop: bool = False
    paused: bool = False
    while_paused: Callable[[], None] | None = None
    on_open: Callable[[FrameSource], None] | None = None
    on_warnings: Callable[[list[str]], None] | None = None


@dataclass
class Played:
    """What the sources played so far met: their warnings, and the frames passed over at the pose rate."""
    warnings: list[str] = field(default_factory=list)
    frames_skipped: int = 0


def play(src: FrameSource, reopen: Callable[[], FrameSource], is_file: bool, loop: bool, realtime: bool,
         ctl: Control, played: Played) -> Iterator[Frame]:
    """The frames of ``src`` (closed at the end), paused and paced as ``ctl`` and ``realtime`` say;
    with ``loop`` a file is opened again (``reopen``) at its end, its timestamps continuing."""
    offset, wall0, t0 = 0.0, None, None
    counted = None                      # the source whose skipped frames were added already
    try:
        while True:
            last_t = None
            for f in src:
                if ctl.paused:
                    paused_at = time.perf_counter()
                    while ctl.paused and not ctl.stop:
                        if ctl.while_paused is not None:
                            ctl.while_paused()
                        time.sleep(0.03)
                    if wall0 is not None:
                        wall0 += time.perf_counter() - paused_at
                if ctl.stop:
                    return
                t = f.t + offset
                if is_file and realtime:
                    if wall0 is None:
                        wall0, t0 = time.perf_counter(), t
                    ahead = (t - t0) - (time.perf_counter() - wall0)
                    if ahead > 0:
                        time.sleep(min(ahead, 0.5))
                last_t = t
                yield Frame(f.image, t, f.index)
            played.warnings.extend(src.warnings)
            if not (is_file and loop) or ctl.stop or last_t is None:
                return
            if src.warnings and ctl.on_warnings is not None:
                ctl.on_warnings(list(src.warnings))
            played.frames_skipped += src.frames_skipped
            counted = src
            src.close()
            offset = last_t + 1.0 / max(src.fps, 1.0)
            src = reopen()
    finally:
        if src is not counted:
            played.frames_skipped += src.frames_skipped
        src.close()
