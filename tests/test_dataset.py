"""fer_utils.dataset: the in-memory dataset, its splits and subsets, stratified limits."""
from __future__ import annotations

import numpy as np
import pytest

from fer_utils import dataset
from fer_utils.dataset import DataFormatError, FERDataset, stratified_limit


def test_dataset_rejects_wrong_shapes():
    with pytest.raises(DataFormatError, match=r"\(N, 48, 48\) uint8"):
        dataset.FERDataset(images=np.zeros((2, 32, 32), np.uint8), labels=np.zeros(2, int),
                        usage=np.array(["Training"] * 2), rows=np.arange(2), source="t")


def test_quick_subset_keeps_blanks_and_row_order(monkeypatch):

    rng = np.random.default_rng(0)
    usage = np.array(["Training"] * 60 + ["PublicTest"] * 20 + ["PrivateTest"] * 20)
    images = rng.integers(1, 256, size=(100, 48, 48), dtype=np.uint8)
    images[[5, 70]] = 0                                    # two blank images
    ds = FERDataset(images=images, labels=np.arange(100) % 7, usage=usage,
                    rows=np.arange(100), source="test")
    small = ds.quick_subset({"Training": 10, "PublicTest": 3, "PrivateTest": 3})
    assert small.split_sizes() == {"Training": 11, "PublicTest": 4, "PrivateTest": 3}  # + blanks
    assert {5, 70} <= set(small.rows) and (np.diff(small.rows) > 0).all()
    np.testing.assert_array_equal(small.images, images[small.rows])
    monkeypatch.setenv("FER_QUICK", "0")
    assert ds.for_runtime() is ds
    monkeypatch.setenv("FER_QUICK", "1")
    assert len(ds.for_runtime()) == len(ds)      # 100 images: all fit in the default sizes
    sample = ds.subset(np.arange(100))
    sample.is_sample = True
    assert sample.for_runtime() is sample        # the offline sample is already small


def test_stratified_limit_keeps_the_balance_and_handles_near_complete_subsets():
    labels = np.repeat(np.arange(7), [400, 50, 300, 700, 500, 300, 250])
    idx = np.arange(len(labels))
    part = stratified_limit(idx, labels, 500, seed=0)
    assert len(part) == 500 and len(np.unique(part)) == 500 and (np.diff(part) > 0).all()
    share = np.bincount(labels[part], minlength=7) / 500
    assert np.abs(share - np.bincount(labels, minlength=7) / len(labels)).max() < 0.01
    assert (stratified_limit(idx, labels, 500, seed=0) == part).all()       # seeded
    assert (stratified_limit(idx, labels, None, seed=0) == idx).all()
    # all but one image: a stratified split cannot leave one of each class out
    almost = stratified_limit(idx, labels, len(idx) - 1, seed=0)
    assert len(almost) == len(idx) - 1 and set(almost) <= set(idx)
    assert len(stratified_limit(idx, labels, 3, seed=1)) == 3            # fewer than classes


def test_split_indices_select_one_split_the_kept_images_and_a_stratified_part(sample):
    idx = dataset.split_indices(sample.usage, "Training", sample.labels)
    assert (idx == np.flatnonzero(sample.usage == "Training")).all()
    keep = sample.labels != 1                       # e.g. a label set without "disgust"
    kept = dataset.split_indices(sample.usage, "Training", sample.labels, keep)
    assert set(kept) == set(idx[keep[idx]])
    part = dataset.split_indices(sample.usage, "Training", sample.labels, keep, limit=50, seed=3)
    assert len(part) == 50 and set(part) <= set(kept)
    assert (part == dataset.split_indices(sample.usage, "Training", sample.labels, keep,
                                          limit=50, seed=3)).all()


def test_a_test_split_is_only_given_on_purpose_and_subsets_keep_what_belongs_to_them(sample):
    with pytest.raises(dataset.ProtocolError, match="final=True"):
        sample.split("PrivateTest")
    with pytest.raises(KeyError, match="no split 'Validation'"):
        sample.split("Validation")
    test = sample.split("PrivateTest", final=True)
    assert set(test.usage) == {"PrivateTest"} and len(test) == sample.split_sizes()["PrivateTest"]
    assert test.fingerprint != sample.fingerprint and test.class_names == sample.class_names
    assert {k: len(v) for k, v in test.extras.items()} == {k: len(test) for k in sample.extras}
    assert sample.class_counts().sum() == len(sample)
