"""From neighbours to a live label: weighted vote, "unknown", smoothing with hysteresis, "no person"."""
from __future__ import annotations

import numpy as np
import pytest

from focovil.realtime.classify import (DEFAULT_THRESHOLD, IDLE, NO_PERSON, UNKNOWN, Classifier, Prediction, threshold_for)
from focovil.realtime.settings import Settings
from focovil.realtime.strictness import meaning, threshold_at
from focovil.realtime.encoder import EncoderMeta
from focovil.realtime.index import build_index
from focovil.realtime.settings import Settings


VOTE_SHARE_TOL = 1e-9    # shares of the vote are float64 softmaxes: np.exp's vector code differs between CPUs by
                         # ~1e-16; a wrong weight, temperature or k moves a share by more than 1e-3
SIMILARITY_TOL = 1e-9    # a similarity interpolated in float64 between two stored thresholds (error ~1e-16)


def step(clf: Classifier, label: str, sim: float = 0.97) -> Prediction:
    """A window whose 5 neighbours are all ``label`` at similarity ``sim``."""
    return clf.update(np.full(5, sim), [label] * 5)


def test_vote_is_a_softmax_over_the_k_nearest_similarities():
    from focovil.realtime.classify import VOTE_TEMPERATURE
    clf = Classifier(k=5, threshold=0.5, smoothing=0.0)
    p = clf.update(np.array([0.95, 0.93, 0.92, 0.91, 0.90, 0.99]), ["a", "b", "b", "a", "b", "c"])
    # top 5: c .99, a .95, b .93, b .92, a .91 (the 6th, b .90, is beyond k); weight exp((s - .99) / T)
    w = {"c": 1.0, "a": np.exp(-0.04 / VOTE_TEMPERATURE) + np.exp(-0.08 / VOTE_TEMPERATURE),
         "b": np.exp(-0.06 / VOTE_TEMPERATURE) + np.exp(-0.07 / VOTE_TEMPERATURE)}
    total = sum(w.values())
    assert p.label == "c" and p.person
    shares = dict(p.topk)
    for lab in "abc":
        assert shares[lab] == pytest.approx(w[lab] / total, abs=VOTE_SHARE_TOL)
    assert p.score == pytest.approx(shares["c"], abs=VOTE_SHARE_TOL) and p.similarity == 0.99   # the best score, copied
    assert [lab for lab, _ in p.topk] == ["c", "a", "b"]


def test_near_ties_share_the_vote_and_two_close_matches_beat_one():
    clf = Classifier(k=5, threshold=0.5, smoothing=0.0)
    p = clf.update(np.array([0.990, 0.989, 0.991]), ["a", "a", "b"])
    assert p.label == "a" and 0.5 < p.score < 0.75


def test_best_match_below_threshold_is_unknown_and_weak_neighbours_do_not_vote():
    clf = Classifier(threshold=0.9, smoothing=0.0)
    p = clf.update(np.array([0.89, 0.88]), ["a", "a"])
    assert p.label == UNKNOWN and p.person and p.similarity == 0.89                       # copied: exact
    p = clf.update(np.array([0.95, 0.89, 0.88, 0.87]), ["a", "b", "b", "b"])
    assert p.label == "a" and p.score == pytest.approx(1.0, abs=VOTE_SHARE_TOL)


def test_no_person_is_reported_at_once_and_the_old_label_does_not_come_back():
    clf = Classifier()
    for _ in range(10):
        assert step(clf, "wave").label == "wave"
    p = clf.update(None, None)
    assert p == Prediction(NO_PERSON, 0.0, [], person=False)
    assert step(clf, "sit").label == "sit"  # a new person: no stale "wave" to outvote first


def test_one_odd_window_does_not_flicker_but_a_real_change_switches_within_a_few_windows():
    clf = Classifier()  # the app's defaults (realtime.settings.Settings): smoothing 0.6, hysteresis 0.15
    assert (clf.smoothing, clf.hysteresis) == (Settings().smoothing, Settings().hysteresis)
    labels = [step(clf, lab).label for lab in ["wave"] * 5 + ["sit"] + ["wave"] * 3 + ["sit"] + ["wave"] * 3]
    assert set(labels) == {"wave"}
    labels = [step(clf, "sit").label for _ in range(8)]
    assert labels[0] == "wave" and labels[-1] == "sit"
    assert labels.index("sit") <= 5
    assert labels[labels.index("sit"):] == ["sit"] * (8 - labels.index("sit"))  # and it stays


def test_without_smoothing_every_window_stands_alone():
    clf = Classifier(smoothing=0.0, hysteresis=0.0)
    assert [step(clf, lab).label for lab in "abab"] == list("abab")


def test_empty_library_and_empty_slots_give_unknown():
    clf = Classifier(smoothing=0.0)
    assert clf.update(np.zeros(0), []).label == UNKNOWN
    p = clf.update(np.array([-np.inf, -np.inf]), [None, None])
    assert p.label == UNKNOWN and np.isnan(p.similarity)
    with pytest.raises(ValueError, match="3 scores but 2 labels"):
        clf.update(np.ones(3), ["a", "b"])


def test_reset_forgets_history():
    clf = Classifier()
    for _ in range(5):
        step(clf, "wave")
    clf.reset()
    assert step(clf, "sit").label == "sit"


def _meta(metrics: dict) -> EncoderMeta:
    return EncoderMeta(window=32, fps=15.0, embedding_dim=8, metrics=metrics)


def test_threshold_comes_from_encoder_metadata_when_it_was_measured():
    assert threshold_for(_meta({"unknown_threshold": 0.8})) == 0.8          # a file from before strictness
    assert threshold_for(_meta({})) == DEFAULT_THRESHOLD == threshold_for(None)
    assert threshold_for(_meta({"unknown_threshold": 0.8}), Settings(threshold=0.3)) == 0.3   # raw override
    with pytest.raises(ValueError):
        Classifier(smoothing=1.0)


def test_strictness_reads_the_encoders_table_and_says_what_it_was_measured_to_do():
    table = {"levels": [0, 50, 100], "thresholds": [0.5, 0.7, 0.9], "named_right": [0.9, 0.6, 0.0],
             "rejected": [0.2, 0.7, 1.0], "data": "test data"}
    m = _meta({"strictness": table, "unknown_threshold": 0.8})
    assert threshold_at(m, 25) == pytest.approx(0.6, abs=SIMILARITY_TOL) and threshold_for(m, Settings(strictness=100)) == 0.9
    assert "names 75 % of recorded actions right" in meaning(m, 25) and "45 %" in meaning(m, 25)
    with pytest.raises(ValueError, match="strictness is 0-100"):
        threshold_at(m, 120)


def test_a_still_window_that_matches_no_still_prototype_is_idle_not_unknown():
    clf = Classifier(threshold=0.8, smoothing=0.0)
    assert clf.update(np.zeros(0), [], idle=True).label == IDLE             # no still prototypes at all
    assert clf.update(np.array([0.5]), ["stand"], idle=True).label == IDLE  # a still one, too far
    assert clf.update(np.array([0.9]), ["stand"], idle=True).label == "stand"
    assert Classifier().update(np.array([0.1]), ["wave"]).label == UNKNOWN


def test_with_a_real_faiss_index_nearest_prototypes_decide_the_label():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(3, 64))
    protos = centres[np.repeat(np.arange(3), 20)] + rng.normal(size=(60, 64)) * 0.1
    protos /= np.linalg.norm(protos, axis=1, keepdims=True)
    names = ["wave", "sit", "jump"]
    labels = [names[i] for i in np.repeat(np.arange(3), 20)]
    idx = build_index(protos)
    clf = Classifier(k=5, threshold=0.9)
    for _ in range(3):
        s, i = idx.search(centres[2] + rng.normal(size=64) * 0.05, 5)
        p = clf.update(s[0], [labels[j] if j >= 0 else None for j in i[0]])
    assert p.label == "jump" and p.score > 0.9
    s, i = idx.search(rng.normal(size=64), 5)  # nothing like any prototype
    assert Classifier().update(s[0], [labels[j] for j in i[0]]).label == UNKNOWN
