"""Audit a dataset before trusting it: class balance, blank images, duplicates, leakage.

FER-2013 was gathered by web image search, so it holds blank frames and many byte-identical
copies of the same picture, some in more than one split (a test image that also sits in
Training inflates test accuracy) and some with different labels (label noise made visible).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fer_utils.dataset import FERDataset


def class_counts(ds: FERDataset, *, totals: bool = True) -> pd.DataFrame:
    """Images per split (rows, protocol order) and class (columns, course order).

    With ``totals`` a ``total`` row and column are added.
    """
    table = pd.DataFrame(
        [np.bincount(ds.labels[ds.usage == s], minlength=len(ds.class_names)) for s in ds.splits],
        index=pd.Index(ds.splits, name="split"), columns=list(ds.class_names))
    if totals:
        table.loc["total"] = table.sum(axis=0)
        table["total"] = table.sum(axis=1)
    return table


def blank_images(ds: FERDataset) -> np.ndarray:
    """Indices of constant images (every pixel the same value; FER-2013's are all zero)."""
    flat = ds.images.reshape(len(ds), -1)
    return np.flatnonzero(flat.min(axis=1) == flat.max(axis=1))


def image_hashes(images: np.ndarray) -> np.ndarray:
    """A 128-bit content hash per image (hex strings), equal exactly for identical pixels."""
    return np.array([hashlib.blake2b(np.ascontiguousarray(im).tobytes(), digest_size=16).hexdigest()
                     for im in images])


def duplicate_groups(ds: FERDataset) -> list[np.ndarray]:
    """Groups of two or more byte-identical images, as arrays of dataset indices.

    Groups are sorted by their first index; indices inside a group are ascending.
    """
    hashes = image_hashes(ds.images)
    _, inverse, counts = np.unique(hashes, return_inverse=True, return_counts=True)
    order = np.argsort(inverse, kind="stable")
    bounds = np.cumsum(counts)[:-1]
    groups = [g for g in np.split(order, bounds) if len(g) > 1]
    return sorted(groups, key=lambda g: int(g[0]))


def duplicate_table(ds: FERDataset, groups: list[np.ndarray] | None = None) -> pd.DataFrame:
    """One row per duplicate group: size, csv rows, splits, labels, and two flags.

    ``cross_split`` marks a group present in more than one split (leakage);
    ``conflicting`` marks a group whose copies carry different labels.
    """
    groups = duplicate_groups(ds) if groups is None else groups
    recs = []
    for g in groups:
        splits = sorted(set(ds.usage[g].tolist()), key=_split_order)
        labels = sorted(set(ds.labels[g].tolist()))
        recs.append({"size": len(g), "rows": ds.rows[g].tolist(), "splits": ", ".join(splits),
                     "labels": ", ".join(ds.class_names[i] for i in labels),
                     "blank": bool(ds.images[g[0]].max() == ds.images[g[0]].min()),
                     "cross_split": len(splits) > 1, "conflicting": len(labels) > 1})
    return pd.DataFrame(recs, columns=["size", "rows", "splits", "labels", "blank",
                                       "cross_split", "conflicting"])


def _split_order(name: str) -> int:
    order = ("Training", "PublicTest", "PrivateTest", "Test")
    return order.index(name) if name in order else len(order)


@dataclass
class DuplicateSummary:
    """Headline numbers of :func:`summarize_duplicates`."""

    n_images: int
    n_distinct: int
    n_groups: int
    n_rows_in_groups: int
    n_cross_split_groups: int
    n_conflicting_groups: int
    test_rows_seen_in_training: dict[str, int]

    def as_dict(self) -> dict:
        return dict(self.__dict__)


def summarize_duplicates(ds: FERDataset, groups: list[np.ndarray] | None = None) -> DuplicateSummary:
    """Count duplicates and the leakage they cause.

    ``test_rows_seen_in_training[split]`` is the number of images of that evaluation split
    whose exact pixels also occur in Training.
    """
    groups = duplicate_groups(ds) if groups is None else groups
    table = duplicate_table(ds, groups)
    in_groups = int(table["size"].sum()) if len(table) else 0
    train_hashes = set()
    group_of = {}
    for gi, g in enumerate(groups):
        for i in g:
            group_of[int(i)] = gi
        if np.any(ds.usage[g] == "Training"):
            train_hashes.add(gi)
    seen = {}
    for split in ds.splits:
        if split == "Training":
            continue
        idx = np.flatnonzero(ds.usage == split)
        seen[split] = int(sum(1 for i in idx if group_of.get(int(i)) in train_hashes))
    return DuplicateSummary(
        n_images=len(ds), n_distinct=len(ds) - in_groups + len(groups), n_groups=len(groups),
        n_rows_in_groups=in_groups,
        n_cross_split_groups=int(table["cross_split"].sum()) if len(table) else 0,
        n_conflicting_groups=int(table["conflicting"].sum()) if len(table) else 0,
        test_rows_seen_in_training=seen)
