"""fer_utils.labels: the label sets, built once per run, and the labels a model is scored with."""
from __future__ import annotations

import numpy as np
import pytest

from fer_utils import ferplus, labels


def test_label_sets_select_the_right_images(sample):
    """fer / fer-clean / FERPlus sets: which images each keeps, and their targets."""
    votes = ferplus.votes_for(sample)
    maj7 = ferplus.make_labels(votes, "majority", n_classes=7)
    maj8 = ferplus.make_labels(votes, "majority", n_classes=8)
    s = labels.label_set(sample, "fer")
    assert s.keep.all() and len(s.class_names) == 7 and (s.targets.argmax(1) == sample.labels).all()
    s = labels.label_set(sample, "fer-clean")
    assert (s.keep == maj7.keep).all() and s.keep.sum() < len(sample)
    assert (s.y == sample.labels).all()
    s = labels.label_set(sample, "ferplus-majority")
    assert len(s.class_names) == 8 and (s.keep == maj8.keep).all()
    assert (s.y[s.keep] == maj8.labels[s.keep]).all() and np.allclose(s.targets[s.keep].sum(1), 1)
    s = labels.label_set(sample, "ferplus-crossentropy")
    t = s.targets[s.keep]
    assert np.allclose(t.sum(1), 1) and (t.max(1) < 1).any()  # soft targets
    # evaluation of every FERPlus set uses majority labels; fer-clean keeps its subset
    assert (s.eval_keep == maj8.keep).all() and (s.eval_y[s.eval_keep] == maj8.labels[s.eval_keep]).all()
    ye, ke, _ = labels.evaluation_labels(sample, "ferplus-crossentropy")
    assert (ke == maj8.keep).all() and (ye[ke] == maj8.labels[ke]).all()
    ye, ke, _ = labels.evaluation_labels(sample, "fer-clean")
    assert (ke == maj7.keep).all()
    with pytest.raises(ValueError, match="unknown label set"):
        labels.label_set(sample, "ferplus-votes")


def test_the_votes_are_read_once_per_label_set(sample, monkeypatch):
    """Both views of a FERPlus set come from one reading of the votes (the issue: each build
    re-read fer2013new.csv)."""
    calls = []
    real = ferplus.votes_for
    monkeypatch.setattr(ferplus, "votes_for", lambda ds: calls.append(1) or real(ds))
    s = labels.label_set(sample, "ferplus-crossentropy")
    assert len(calls) == 1 and s.eval_names == s.class_names


def test_indices_select_a_split_stratified_and_for_scoring(sample):
    s = labels.label_set(sample, "fer-clean")
    tr = s.indices(sample.usage, "Training")
    assert (sample.usage[tr] == "Training").all() and s.keep[tr].all()
    assert len(tr) == int(((sample.usage == "Training") & s.keep).sum())
    few = s.indices(sample.usage, "Training", limit=40, seed=0)
    assert len(few) == 40 and set(few) <= set(tr)
    assert (few == s.indices(sample.usage, "Training", limit=40, seed=0)).all()  # repeatable
    scored = s.indices(sample.usage, "PrivateTest", scoring=True)
    assert s.eval_keep[scored].all() and (sample.usage[scored] == "PrivateTest").all()
