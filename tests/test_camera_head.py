"""The camera head (training.camera_head): fitted on MediaPipe's same-instant windows, written into a
real TorchScript encoder file the app loads, kept by retraining, and never fitted on freestyle3
unless asked for the final fit."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from focovil.training import camera_head
from focovil.training.data import totalcapture as tc
from focovil.training.exported import Exported
from focovil.training.model import Encoder


@pytest.fixture(scope="module")
def root(totalcapture_root):
    return totalcapture_root


@pytest.fixture(scope="module")
def fitted(root):
    from focovil.training.config import TrainConfig
    from focovil.training.train import build_model
    torch.manual_seed(0)
    enc = build_model(TrainConfig(width=16, dim=32, align_level=True)).encoder.eval()
    windows, groups = camera_head.instant_windows(("freestyle2",), root)
    return enc, windows, groups, camera_head.fit(enc, ("encoder", "motion", "positions"), 24, 0.1, windows, groups)


def test_instants_are_shared_by_cameras_and_the_validation_sequence_is_refused(root, fitted):
    _, windows, groups, _ = fitted
    _, count = np.unique(groups, return_counts=True)
    assert len(windows) == len(groups) and np.median(count) >= 6      # most instants seen by 6+ of the 8 cameras
    with pytest.raises(tc.HoldOutError):
        camera_head.instant_windows((tc.VALIDATION,), root)


def test_the_head_pulls_one_instants_cameras_together(fitted):
    """Within-instant over total scatter falls from the raw inputs to the head's space: the fit keeps
    the directions cameras agree on (the largest generalised eigenvalues, not the smallest)."""
    enc, windows, groups, module = fitted
    bare = camera_head.head_module(enc, module.head_blocks)
    ratio = {}
    for name, h in (("raw", camera_head.head_inputs(bare, windows)),
                    ("head", camera_head.head_inputs(bare, windows) @ module.head_axes.double().numpy())):
        _, st, sw = camera_head.scatters(h, groups)
        ratio[name] = np.trace(sw) / np.trace(st)
    assert ratio["head"] < 0.5 * ratio["raw"], ratio


def test_a_headed_file_is_a_real_encoder_file_the_app_loads(fitted, tmp_path):
    from focovil.realtime.encoder import load_encoder
    from focovil.training.export import _write
    from focovil.realtime.encoder import EncoderMeta
    _, windows, _, module = fitted
    from focovil.training.config import TrainConfig, to_dict
    meta = EncoderMeta(window=32, fps=15.0, embedding_dim=0, arch="tcn", training_data=["test"],
                       config=to_dict(TrainConfig(width=16, dim=32, align_level=True)))
    _write(module, meta, {}, tmp_path / "head.pt", calibrate=False, chosen_on="a test")
    rt = load_encoder(tmp_path / "head.pt", device="cpu")
    e = rt.embed(windows[:50])
    # unit vectors (24 components, ~0.2 each) from the file and from the module in memory: float32, ~1e-7 apart;
    # a head lost or fitted on other windows moves them by > 1e-2
    assert e.shape == (50, 24) and np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-5)
    assert np.allclose(e, module(torch.as_tensor(windows[:50])).detach().numpy(), atol=1e-5)
    assert rt.meta.hybrid["head"] == {"blocks": ["encoder", "motion", "positions"], "dims": 24}
    assert [p["part"] for p in rt.meta.parts] == ["camera head"] and rt.meta.parts[0]["chosen_on"] == "a test"
    # retraining starts from the file's encoder and keeps its head: before any step, the same embedding
    from focovil.training.retrain import candidate_module
    from focovil.training.retrain_inputs import load_base
    again = candidate_module(load_base(tmp_path / "head.pt"))
    assert np.allclose(again(torch.as_tensor(windows[:50])).detach().numpy(), e, atol=1e-5)


def test_a_head_takes_the_whole_embedding():
    enc = Encoder(width=16, dim=32).eval()
    with pytest.raises(ValueError, match="whole embedding"):
        Exported(enc, motion_weight=0.1, head_mean=torch.zeros(4), head_axes=torch.zeros(4, 2), head_blocks=("encoder",))
    with pytest.raises(ValueError, match="unknown camera-head inputs"):
        Exported(enc, head_blocks=("depth",))


def test_the_final_fit_alone_trains_on_the_validation_sequence(root):
    clips = tc.training_clips(root, final=True, segment_s=1.0, hop_s=5.0)
    assert {c.name.split("/")[0] for c in clips} == set(tc.SEQUENCES)
    assert tc.VALIDATION not in {c.name.split("/")[0] for c in tc.training_clips(root, segment_s=1.0, hop_s=5.0)}


def test_the_chosen_head_keeps_other_people_then_records_once_best_with_same_instant_breaking_ties():
    r = lambda once, inst: {"record_once": {"mean": once}, "same_instant": {"mean": inst}}  # noqa: E731
    results = {"joint motion": r(0.9, 0.9), "head a, 32 dims, shrink 0.1": r(0.580, 0.60),
               "head b, 64 dims, shrink 0.1": r(0.577, 0.70), "head c, 64 dims, shrink 1": r(0.570, 0.80)}
    assert camera_head.choose(results) == "head b, 64 dims, shrink 0.1"
    # a head that loses more than PEOPLE_POINTS of across-people one-shot against the encoder is out
    people = {"encoder alone": 0.60, "joint motion": 0.2, "head a, 32 dims, shrink 0.1": 0.595,
              "head b, 64 dims, shrink 0.1": 0.55, "head c, 64 dims, shrink 1": 0.60}
    results = {n: {**results.get(n, r(0.5, 0.5)), "across_people": {"mean": p}} for n, p in people.items()}
    assert camera_head.choose(results) == "head a, 32 dims, shrink 0.1"
    assert camera_head.settings_of("head encoder+motion, 64 dims, shrink 0.01") == {
        "inputs": ["encoder", "motion"], "dims": 64, "shrink": 0.01, "more_bodies": False}


def test_vicon_seen_by_a_camera_lands_where_mediapipe_puts_the_body(root):
    """The error-free rendering agrees with MediaPipe's own skeletons of the same frames to within what
    pose_error measured (about 10-15 cm a joint), faces the same way, and the validation motion is
    never rendered."""
    from focovil.realtime.skeleton import facing_direction
    from focovil.training.data import vicon_views as vv
    cam = tc.load_cameras(root)[1]
    stream = tc.load_sequence("freestyle2", root, cameras=(1,))[1]
    vicon = tc.load_vicon("freestyle2", root)
    k = np.arange(len(stream.times)) + vv.OFFSET
    ok = stream.present & (k >= 0) & (k < len(vicon))
    truth, mp = vv.in_camera(vicon[k[ok]], cam), stream.skeletons[ok]
    err = np.linalg.norm((mp - mp[:, :1]) - (truth - truth[:, :1]), axis=-1).mean()
    assert 0.05 < err < 0.2, err
    assert facing_direction(truth) @ facing_direction(mp) > 0.9
    res = {c: np.zeros((10, 20, 3), np.float32) for c in tc.CAMERAS}
    with pytest.raises(tc.HoldOutError):
        vv.rendered_streams(tc.SUBJECT, tc.VALIDATION, res, np.random.default_rng(0), root)
    assert (tc.SUBJECT, tc.VALIDATION) not in vv.vicon_subjects_sequences(root)
    assert {s for s, _ in vv.vicon_subjects_sequences(root)} == {"S1", "S3", "S4", "S5"}


def test_the_apps_default_strictness_is_what_its_search_chose():
    import json
    from pathlib import Path
    from focovil.realtime.settings import Settings
    search = json.loads(Path("docs/experiments/strictness_default.json").read_text())
    assert Settings().strictness == search["chosen"]["strictness"]


def test_a_sweep_is_drawn_again_from_its_json(tmp_path):
    out = tmp_path / "round3.png"
    assert camera_head.main(["--replot", "docs/experiments/camera_head_round3.json", "--plot", str(out)]) == 0
    assert out.stat().st_size > 10_000
    with pytest.raises(SystemExit):
        camera_head.main(["--plot", str(out)])          # neither a sweep to run nor one to draw
