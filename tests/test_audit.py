"""fer_utils.audit on a hand-built dataset with known blanks, duplicates and leakage."""
from __future__ import annotations

import numpy as np

from fer_utils import audit
from fer_utils.dataset import CLASS_NAMES, FERDataset


def make(images, labels, usage):
    return FERDataset(images=np.asarray(images, np.uint8), labels=np.asarray(labels),
                      usage=np.asarray(usage), rows=np.arange(len(labels)), source="hand-made")


def hand_made():
    rng = np.random.default_rng(3)
    a, b, c, d = (rng.integers(1, 255, (48, 48)) for _ in range(4))
    blank = np.zeros((48, 48))
    images = [a, a, b, b, c, blank, blank, d, d, d]
    labels = [3, 3, 0, 1, 6, 4, 2, 5, 5, 5]
    usage = ["Training", "PrivateTest", "Training", "Training", "PublicTest",
             "Training", "PublicTest", "PublicTest", "PublicTest", "PrivateTest"]
    return make(images, labels, usage)


def test_class_counts_add_up():
    ds = hand_made()
    table = audit.class_counts(ds)
    assert list(table.columns) == [*CLASS_NAMES, "total"]
    assert list(table.index) == ["Training", "PublicTest", "PrivateTest", "total"]
    assert table.loc["total", "total"] == len(ds)
    assert table.loc["Training", "total"] == 4
    assert table.loc["PublicTest", "surprise"] == 2
    assert (table.drop(index="total").drop(columns="total").sum().values == ds.class_counts()).all()


def test_blank_images():
    np.testing.assert_array_equal(audit.blank_images(hand_made()), [5, 6])


def test_duplicate_groups_and_flags():
    ds = hand_made()
    groups = audit.duplicate_groups(ds)
    assert [g.tolist() for g in groups] == [[0, 1], [2, 3], [5, 6], [7, 8, 9]]
    table = audit.duplicate_table(ds, groups)
    assert table["cross_split"].tolist() == [True, False, True, True]
    assert table["conflicting"].tolist() == [False, True, True, False]
    assert table["blank"].tolist() == [False, False, True, False]
    assert table.loc[0, "splits"] == "Training, PrivateTest"
    assert table.loc[1, "labels"] == "angry, disgust"


def test_summary_counts_leakage():
    s = audit.summarize_duplicates(hand_made())
    assert s.n_images == 10
    assert s.n_groups == 4 and s.n_rows_in_groups == 9
    assert s.n_distinct == 5  # a, b, c, blank, d
    assert s.n_cross_split_groups == 3 and s.n_conflicting_groups == 2
    # PublicTest rows whose pixels are also in Training: the blank (row 6); PrivateTest: row 1
    assert s.test_rows_seen_in_training == {"PublicTest": 1, "PrivateTest": 1}


def test_hash_is_content_only():
    x = np.arange(48 * 48, dtype=np.uint8).reshape(48, 48)
    h = audit.image_hashes(np.stack([x, x.copy(), x.T]))
    assert h[0] == h[1] != h[2]
