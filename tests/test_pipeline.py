"""Record once from one camera, recognise from another: real video, real MediaPipe, FAISS and SQLite."""

import numpy as np
import pytest

from focovil.realtime.capture import Segment
from focovil.realtime.classify import NO_PERSON
from focovil.realtime.encoder import load_encoder
from focovil.realtime.library import Library
from focovil.realtime.paths import DEFAULT_ENCODER
from focovil.realtime.pipeline import Recognizer, segment_windows
from focovil.realtime.session import Session
from focovil.realtime.settings import Settings

MULTI = "data/videos/ntu_multiview"


@pytest.fixture(scope="module")
def encoder():
    return load_encoder(DEFAULT_ENCODER, device="cpu")


@pytest.fixture(scope="module")
def skeletons(shared_dir):
    clips = {"fall_cam1": f"{MULTI}/S001C001P006R001A043_rgb.avi", "fall_cam2": f"{MULTI}/S001C002P006R001A043_rgb.avi",
             "pickup": f"{MULTI}/S001C001P004R001A006_rgb.avi", "drink": "data/videos/ntu_S001C001P001R001A001_drink_water.avi"}
    session = Session()   # only its frame path: no library or encoder is opened for capturing
    return {k: (seg.times, seg.skeletons) for k, seg in ((k, session.capture(shared_dir / v)) for k, v in clips.items())}


@pytest.fixture()
def library(tmp_path, encoder, skeletons):
    lib = Library(tmp_path / "lib.sqlite3")
    for label, key in (("falling", "fall_cam1"), ("pick up", "pickup"), ("drink water", "drink")):
        for w in segment_windows(*skeletons[key], encoder.window_frames, Settings().window_s):
            lib.add_prototype(label, w, source=key, encoder=encoder)
    yield lib
    lib.close()


def stream(rec: Recognizer, times: np.ndarray, skels: np.ndarray) -> list:
    out = []
    for t, s in zip(times, skels):
        out += rec.push(float(t), None if np.isnan(s).any() else s)
    return out


def test_fall_recorded_on_camera_1_is_recognised_on_camera_2(encoder, library, skeletons):
    results = stream(Recognizer(encoder, library), *skeletons["fall_cam2"])
    labels = [r.prediction.label for r in results]
    assert labels and all(lab == "falling" for lab in labels), labels


def test_each_recorded_clip_is_recognised_as_itself(encoder, library, skeletons):
    for key, label in (("pickup", "pick up"), ("drink", "drink water")):
        labels = [r.prediction.label for r in stream(Recognizer(encoder, library), *skeletons[key])]
        assert labels and max(set(labels), key=labels.count) == label


def test_nobody_in_view_gives_no_person_not_a_stale_label(encoder, library, skeletons):
    rec = Recognizer(encoder, library)
    times, skels = skeletons["fall_cam2"]
    first = stream(rec, times, skels)
    assert first[-1].prediction.label == "falling"
    later = stream(rec, times[-1] + 0.1 + times, np.full_like(skels, np.nan))
    assert later and all(r.prediction.label == NO_PERSON and not r.prediction.person for r in later)


def test_recording_shorter_than_a_window_still_makes_one_prototype(encoder, skeletons):
    times, skels = skeletons["fall_cam1"]
    windows = segment_windows(times[:20], skels[:20], encoder.window_frames, 1.8)
    assert len(windows) == 1 and windows[0].shape == (encoder.window_frames, 20, 3)
    with pytest.raises(ValueError, match="at least 2 frames"):
        segment_windows(times[:5], np.full_like(skels[:5], np.nan), encoder.window_frames, 1.8)


def test_another_encoder_reads_the_library_without_writing_to_it(library, skeletons, tmp_path):
    """``--encoder FILE``: the stored windows are embedded in memory for the recognizer; the library
    keeps only its own encoder's embeddings, and a recording made meanwhile stores none of the other's."""
    other = load_encoder(DEFAULT_ENCODER.with_name("focovil_protocol.pt"), device="cpu")
    before = ([k.sha256 for k in library.encoders()], len(library))
    with Session(library, encoder=other) as s:
        rec = s.recognizer
        assert len(rec.labels) == before[1]            # every stored window, embedded in memory
        labels = [r.prediction.label for r in stream(rec, *skeletons["fall_cam2"])]
        assert labels and max(set(labels), key=labels.count) == "falling"
        s.save("falling", Segment(*skeletons["fall_cam1"], source="fall_cam1"))   # a recording meanwhile
    assert len(Recognizer(other, library).labels) == len(library) > before[1]   # searched too, from memory
    assert [k.sha256 for k in library.encoders()] == before[0]      # nothing stored for the other encoder
    assert library.missing_embeddings(other) == [p.id for p in library.prototypes()]
