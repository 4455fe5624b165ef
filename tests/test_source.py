"""realtime/source.py: frames with real timestamps from video files, image folders and cameras.

Video cases use a real NTU RGB+D clip; there is no camera on the test machines, so the camera cases
that need one (a camera that stalls or disappears) use a fake capture object injected by parameter.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from focovil.realtime.source import Frame, SourceError, open_source

DRINK = "data/videos/ntu_S001C001P001R001A001_drink_water.avi"  # 1920x1080, 30 fps, 103 frames


@pytest.fixture(scope="module")
def drink_video(shared_dir: Path) -> Path:
    return shared_dir / DRINK


def test_real_video_yields_every_frame_with_increasing_timestamps_at_30fps(drink_video: Path) -> None:
    times, indices = [], []
    with open_source(drink_video) as src:
        assert src.fps == pytest.approx(30.0)
        assert drink_video.name in src.description
        for frame in src:  # images not kept: 103 full-HD frames would be 600 MB
            assert isinstance(frame, Frame) and frame.image.shape == (1080, 1920, 3)
            times.append(frame.t)
            indices.append(frame.index)
    assert len(times) == 103 and indices == list(range(103))
    dt = np.diff(times)
    assert times[0] == 0.0 and (dt > 0).all()
    assert np.allclose(dt, 1 / 30, atol=1e-6)  # AVI positions that run ahead / drop to 0 are absorbed
    assert src.warnings == []


def test_image_folder_is_sorted_by_name_with_numbers_and_timed_by_the_given_fps(drink_video: Path,
                                                                              tmp_path: Path) -> None:
    cap = cv2.VideoCapture(str(drink_video))
    frames = [cv2.resize(cap.read()[1], (192, 108)) for _ in range(3)]
    cap.release()
    for name, image in zip(("f1.png", "f2.png", "f10.png"), frames):  # plain sort would put f10 second
        cv2.imwrite(str(tmp_path / name), image)
    (tmp_path / "notes.txt").write_text("not an image")
    with open_source(tmp_path, fps=12.5) as src:
        got = list(src)
    assert src.fps == 12.5 and src.warnings == []
    assert [f.t for f in got] == pytest.approx([0.0, 0.08, 0.16], abs=1e-6)   # seconds (k / 12.5): a frame is 80 ms
    assert [f.index for f in got] == [0, 1, 2]
    for f, expected in zip(got, frames):
        np.testing.assert_array_equal(f.image, expected)  # PNG is lossless: same frame, same order


def test_missing_file_raises_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.mp4"
    with pytest.raises(SourceError, match="not found: .*nope.mp4"):
        open_source(missing)


@pytest.mark.parametrize("content", [b"", b"hello, this is not a video\n" * 20], ids=["empty", "text"])
def test_file_that_cannot_be_decoded_raises_naming_it(tmp_path: Path, content: bytes) -> None:
    fake = tmp_path / "clip.mp4"
    fake.write_bytes(content)
    with pytest.raises(SourceError, match=r"cannot decode video .*clip\.mp4"):
        open_source(fake)


def test_folder_without_images_raises(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("x")
    with pytest.raises(SourceError, match="has no images"):
        open_source(tmp_path)


@pytest.mark.parametrize("spec", [99, "99"])
def test_camera_that_cannot_be_opened_raises_a_clear_error(spec: int | str) -> None:
    with pytest.raises(SourceError, match=r"^camera 99 could not be opened \(.+\)"):
        open_source(spec)


def test_truncated_video_yields_the_readable_frames_then_warns(drink_video: Path, tmp_path: Path) -> None:
    data = drink_video.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    with open_source(cut) as src:
        times = [f.t for f in src]
    assert 0 < len(times) < 103 and (np.diff(times) > 0).all()
    assert len(src.warnings) == 1
    assert f"read {len(times)} frames but the header says 103" in src.warnings[0]


class FakeCamera:
    """cv2.VideoCapture stand-in: delivers ``frames`` small frames, then read() fails forever."""

    def __init__(self, frames: int) -> None:
        self.left = frames
        self.reads = 0
        self.released = False

    def isOpened(self) -> bool:
        return True

    def read(self) -> tuple[bool, np.ndarray | None]:
        return self.retrieve() if self.grab() else (False, None)

    def grab(self) -> bool:
        self.reads += 1
        if self.left <= 0:
            return False
        self.left -= 1
        return True

    def retrieve(self) -> tuple[bool, np.ndarray | None]:
        self.decoded = getattr(self, "decoded", 0) + 1
        return True, np.zeros((4, 6, 3), np.uint8)

    def get(self, prop: int) -> float:
        return 0.0

    def set(self, prop: int, value: float) -> bool:
        self.asked = {**getattr(self, "asked", {}), prop: value}
        return False

    def release(self) -> None:
        self.released = True


def test_camera_that_disappears_ends_the_stream_with_a_warning() -> None:
    cam = FakeCamera(frames=5)
    with open_source(3, capture_factory=lambda index: cam, stall_timeout_s=0.05) as src:
        frames = list(src)
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert frames[0].t == 0.0 and (np.diff([f.t for f in frames]) > 0).all()
    assert src.warnings == ["camera 3 stopped delivering frames after 5 frames"]
    assert cam.released


def test_camera_without_a_first_frame_is_an_error_after_the_timeout_without_busy_looping() -> None:
    cam = FakeCamera(frames=0)
    with pytest.raises(SourceError, match=r"camera 2 opened but delivered no frame within 0.2 s"):
        open_source(2, capture_factory=lambda index: cam, first_frame_timeout_s=0.2)
    assert cam.reads <= 15  # polls with a sleep, not thousands of reads
    assert cam.released


def test_one_reading_of_a_source_name(tmp_path, monkeypatch):
    from focovil.realtime.source import parse_source
    assert parse_source("Camera 1") == parse_source(" 1 ") == parse_source(1) == 1
    assert parse_source("clip.mp4") == "clip.mp4"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "0").write_bytes(b"")
    assert parse_source("0") == "0"          # a file named 0 is a file, not camera 0
    with pytest.raises(TypeError):
        parse_source(True)


@pytest.mark.parametrize("pose_fps, expected", [(15.0, 52), (10.0, 35), (30.0, 103), (0.0, 103)])
def test_pose_rate_delivers_that_many_frames_a_second_at_their_true_times(drink_video: Path, pose_fps, expected) -> None:
    """The 30 fps clip (103 frames) thinned to ``pose_fps``: the frames kept are the file's own, with their
    own timestamps, about ``pose_fps`` a second; the rest are passed over undecoded."""
    with open_source(drink_video) as every:
        all_frames = {f.index: f for f in every}
    with open_source(drink_video).thin(pose_fps) as src:
        kept = list(src)
    assert len(kept) == expected and src.frames_skipped == 103 - expected
    assert all(f.t == all_frames[f.index].t and np.array_equal(f.image, all_frames[f.index].image) for f in kept)
    if pose_fps:
        gaps = np.diff([f.t for f in kept])
        assert abs(np.mean(gaps) - 1 / pose_fps) < 0.1 / pose_fps


def test_pose_rate_on_a_25fps_source_keeps_15_a_second_not_12_5(tmp_path: Path) -> None:
    for i in range(50):                                          # 2 s of a 25 fps image folder
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((4, 6, 3), i, np.uint8))
    with open_source(tmp_path, fps=25.0).thin(15.0) as src:
        kept = list(src)
    assert len(kept) == 30 and src.frames_skipped == 20


def test_a_thinned_camera_grabs_every_frame_and_decodes_only_those_it_delivers() -> None:
    cam = FakeCamera(frames=40)
    with open_source(1, capture_factory=lambda index: cam, stall_timeout_s=0.05).thin(0) as src:
        n = len(list(src))
    assert n == 40 and cam.decoded == 40                     # no pose rate: every frame decoded
    cam = FakeCamera(frames=40)
    with open_source(1, capture_factory=lambda index: cam, stall_timeout_s=0.05).thin(0.001) as src:
        kept = list(src)
    assert len(kept) == 1 and cam.decoded == 1 and src.frames_skipped == 39   # only the first is due
    assert cam.asked == {cv2.CAP_PROP_FRAME_WIDTH: 640, cv2.CAP_PROP_FRAME_HEIGHT: 480}   # the size pose needs
    with pytest.raises(ValueError, match="pose rate"):
        src.thin(-1)
