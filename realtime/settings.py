"""Every default of the live app in one place: recognition settings and the window's stored choices.

The command line, the window, the worker, the benchmarks and the tests all build from these
dataclasses, so a default changed here changes everywhere (the classifier's own defaults come from
:class:`Settings` too). :data:`STORED` is the one table of what the window keeps between runs.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields


@dataclass
class Settings:
    """How windows become labels.

    ``strictness`` (0-100, :mod:`realtime.strictness`) sets the "unknown" threshold through the
    encoder's measured table; ``threshold`` (a raw similarity) overrides it, for experiments only.
    A window whose motion energy is below ``idle_motion_m`` (:mod:`realtime.motion`) is "idle"
    unless a still prototype matches it."""
    window_s: float = 1.8        # live window duration; resampled to the encoder's T frames
    stride_s: float = 0.2        # a new label every stride_s seconds
    max_gap_s: float = 0.5       # longer stretches with nobody in view reset the window
    min_coverage: float = 0.6    # a window with a person in less of its time is not classified
    k: int = 5                   # nearest prototypes that vote
    # Strictness 25: best balance of recorded actions named right and never-recorded ones rejected
    # on camera skeletons held out of every other choice (TotalCapture freestyle3, the app recipe's
    # three seeds trained without it; `python -m focovil.training.choose strictness`,
    # docs/experiments/strictness_default.json)
    strictness: float = 25.0
    threshold: float | None = None
    idle_motion_m: float = 0.03  # metres of motion energy (realtime.motion) below which a window is idle
    persons: int = 1             # people per frame the pose model looks for (each gets a track and a label)
    # Frames per second given to pose (0: every frame; None: :meth:`pose_rate` decides). The others are
    # passed over before decoding (realtime.source.FrameSource.thin); windows keep their true timing.
    pose_fps: float | None = None
    pose_gpu: bool = False       # MediaPipe's GPU delegate (a physical GPU and its EGL driver; realtime.pose)
    # With persons > 1: look again where a person was lost, the others painted out (realtime.redetect).
    # Off: finds overlapping people far more often but made more id switches on the two-camera capture
    # and on the arm wrestlers (benchmarks/overlap.py, README "Several people: tracks").
    redetect: bool = False
    # EMA weight of the past in the label's vote share: time constant 1 / (1 - 0.6) = 2.5 windows
    # (0.5 s at the default stride). One odd window never flips the label; two in a row may.
    smoothing: float = 0.6
    hysteresis: float = 0.15     # a switch of label needs this lead in smoothed vote share


    def pose_rate(self) -> float:
        """The pose rate in effect: ``pose_fps`` if given; else 10 fps for one person, every frame for
        several. 10: the lowest rate within 1 point of every frame on held-out camera skeletons (`python
        -m focovil.training.choose pose-rate`, docs/experiments/pose_rate_choice.json), 0.45x the CPU
        of every frame through the real video path at the same accuracy (benchmarks/pipeline_cost.py).
        Several people: at 10 or 15 fps MediaPipe stopped finding the second, partly seen person of the
        arm-wrestling clip (34 of 280 frames with both at every frame, 0 of 100 at 10 fps)."""
        if self.pose_fps is not None:
            return float(self.pose_fps)
        return SINGLE_PERSON_POSE_FPS if self.persons == 1 else 0.0


SINGLE_PERSON_POSE_FPS = 10.0


def build_settings(*layers: Mapping[str, object] | None) -> Settings:
    """The one way to :class:`Settings`: the defaults, then each layer in turn, a later one winning; a
    None value (or a key that is no setting, such as a stored recording choice) leaves what is below.
    The callers' layers: the command line and the API give what was given for this run; the window
    gives that, then its boxes (which show the stored choices, or a value given for this run)."""
    names = {f.name for f in fields(Settings)}
    values: dict[str, object] = {}
    for layer in layers:
        values.update({k: v for k, v in (layer or {}).items() if k in names and v is not None})
    return Settings(**values)


@dataclass
class RecordingDefaults:
    """The window's recording controls and source choices."""
    record_s: float = 3.0        # length of a timed recording
    countdown_s: int = 3         # "get ready" before it starts
    loop: bool = True            # play video files in a loop
    source: str = ""             # last source chosen ("": camera 0 if there is one, else the demo clip)


@dataclass
class StreamDefaults:
    """The window's event stream (``realtime.stream``, the Settings tab): off until turned on."""
    serve: bool = False          # serve label changes to other programs (on this machine only: 127.0.0.1)
    serve_port: int = 8765


# What the window stores between runs (QSettings): key -> (type, default), as in the dataclasses.
STORED: dict[str, tuple[type, object]] = {
    **{f.name: (float, f.default) for f in fields(Settings) if f.name in ("window_s", "stride_s", "smoothing", "strictness")},
    "persons": (int, Settings().persons),
    **{f.name: (f.type if isinstance(f.type, type) else {"float": float, "int": int, "bool": bool, "str": str}[f.type],
                f.default) for cls in (RecordingDefaults, StreamDefaults) for f in fields(cls)},
}
