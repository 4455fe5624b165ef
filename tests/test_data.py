"""Real-data loaders and the cross-view split."""
import json
import logging

import numpy as np
import pytest

from focovil.realtime.skeleton import NUM_JOINTS
from focovil.training.data import ClipBank, load_kinder_gator, load_nwucla, resample_frames
from focovil.training.data.nwucla import DatasetError, read_file
from focovil.training.data.splits import eval_pairs, train_clips


@pytest.fixture(scope="module")
def nwucla(shared_dir):
    return shared_dir / "data/nw-ucla/all_sqe"


def test_all_nwucla_files_load_and_the_one_frame_file_is_skipped_with_a_reason(nwucla, caplog, tmp_path):
    clips = load_nwucla(nwucla)
    assert len(clips) + 2 == 1484          # two real 1-frame files are skipped, never a crash
    # the reason is logged when a file is first read, and files are read once a process (another test of this
    # worker may have read them already): a copy of the file is read afresh
    one = tmp_path / "a02_s09_e04_v02.json"
    one.write_bytes((nwucla / one.name).read_bytes())
    with caplog.at_level(logging.WARNING):
        assert read_file(one) is None
    assert "a02_s09_e04_v02.json: 1 frame(s)" in caplog.text
    assert {c.view for c in clips} == {1, 2, 3} and {c.label for c in clips} == set(range(10))
    assert all(c.skeleton.shape[1:] == (NUM_JOINTS, 3) for c in clips)


def test_corrupt_or_truncated_json_names_the_file(tmp_path, nwucla):
    good = (nwucla / "a01_s01_e00_v01.json").read_text()
    bad = tmp_path / "a01_s01_e00_v01.json"
    bad.write_text(good[: len(good) // 2])
    with pytest.raises(DatasetError, match=str(bad)):
        read_file(bad)
    bad.write_text(json.dumps({"skeletons": [[[0, 0]] * 20] * 8, "label": 1}))
    with pytest.raises(DatasetError, match="a01_s01_e00_v01"):
        read_file(bad)


def test_cross_view_training_never_reads_view_3(nwucla):
    clips = train_clips("cross-view", nwucla)
    assert {c.view for c in clips} == {1, 2}
    (pair,) = eval_pairs("cross-view", nwucla)
    assert {c.view for c in pair.query} == {3} and {c.view for c in pair.gallery} == {1, 2}


def test_val_split_queries_are_unseen_in_training(nwucla):
    seen = {c.name for c in train_clips("val", nwucla)}
    (pair,) = eval_pairs("val", nwucla)
    assert not seen & {c.name for c in pair.query}
    assert all(c.view != 3 for c in pair.gallery + pair.query)


def test_multi_view_groups_join_cameras_of_one_performance(nwucla):
    bank = ClipBank(train_clips("cross-view", nwucla))
    multi = [g for g in bank.groups if len(g) > 1]
    assert len(multi) > 400
    for g in multi[:50]:
        cs = [bank.clips[i] for i in g]
        assert len({c.instance for c in cs}) == 1 and len({c.view for c in cs}) == len(cs)


def test_kinder_gator_resampled_to_15_fps(shared_dir):
    clips = load_kinder_gator(shared_dir / "data/kinder-gator/kinder_gator.npz", fps=15.0)
    assert len(clips) == 1159 and len({c.label_name for c in clips}) == 58
    lengths = np.array([len(c.skeleton) for c in clips])
    assert 60 < np.median(lengths) < 90      # about 5 s at 15 fps


def test_resample_frames_keeps_end_points():
    seq = np.arange(10, dtype=np.float32)[:, None, None] * np.ones((1, 2, 3), np.float32)
    out = resample_frames(seq, 4)
    assert out.shape == (4, 2, 3) and out[0, 0, 0] == 0 and out[-1, 0, 0] == 9


def test_the_training_crop_resamples_as_the_app_does(nwucla):
    """``ClipBank.crop`` (batched, torch) and the app's ``resample_by_time`` (one sequence, numpy) give
    the same frames for the same stretch of a real clip, so training sees windows as the app makes them."""
    import torch

    from focovil.realtime.window import resample_by_time
    clips = [c for c in load_nwucla(nwucla)[:40] if len(c.skeleton) > 20][:6]
    bank = ClipBank(clips)
    np.testing.assert_allclose(bank.full(32).numpy(), np.stack([resample_frames(c.skeleton, 32) for c in clips]),
                               atol=1e-5)      # metres: torch and numpy interpolate float32 (~1e-7); a frame off is cm
    start, end = torch.tensor([0.1, 0.25, 0.0, 0.5, 0.33, 0.7]), torch.tensor([0.6, 0.9, 0.3, 1.0, 0.34, 0.95])
    got = bank.crop(torch.arange(len(clips)), start, end, 20).numpy()
    for c, s, e, g in zip(clips, start.tolist(), end.tolist(), got):
        last = len(c.skeleton) - 1
        want = resample_by_time(np.arange(len(c.skeleton), dtype=np.float64), c.skeleton, 20, s * last, e * last)
        np.testing.assert_allclose(g, want, atol=1e-5)
