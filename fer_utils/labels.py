"""The label sets an experiment can train on, and the labels it is scored with.

``"fer"``: FER-2013's labels. ``"fer-clean"``: FER-2013's labels on the images FERPlus's
majority vote accepts as one of the seven emotions. ``"ferplus-majority"`` and
``"ferplus-crossentropy"``: FERPlus's 8 classes (with contempt), as hard majority labels or
as the vote distribution. Every FERPlus set is scored with majority labels.
"""
from __future__ import annotations

import numpy as np

from fer_utils.data import CLASS_NAMES, FERDataset

LABEL_SETS = ("fer", "fer-clean", "ferplus-majority", "ferplus-crossentropy")


def prepare_labels(ds: FERDataset, labels: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """Targets for a label set: (hard labels (N,), soft targets (N, C), keep mask (N,), class names)."""
    if labels not in LABEL_SETS:
        raise ValueError(f"unknown label set {labels!r}; choose one of {', '.join(LABEL_SETS)}")
    n = len(CLASS_NAMES)
    if labels == "fer":
        return ds.labels, np.eye(n, dtype=np.float32)[ds.labels], np.ones(len(ds), bool), CLASS_NAMES
    from fer_utils import ferplus
    votes = ferplus.votes_for(ds)
    if labels == "fer-clean":
        keep = ferplus.make_labels(votes, "majority", n_classes=7).keep
        return ds.labels, np.eye(n, dtype=np.float32)[ds.labels], keep, CLASS_NAMES
    mode = labels.split("-", 1)[1]
    lab = ferplus.make_labels(votes, mode, n_classes=8)
    return lab.labels, lab.targets, lab.keep, lab.class_names


def evaluation_labels(ds: FERDataset, labels: str) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Labels for evaluation: FER labels (on the cleaned images for ``"fer-clean"``), or
    FERPlus **majority** for every FERPlus set."""
    if labels in ("fer", "fer-clean"):
        y, _, keep, names = prepare_labels(ds, labels)
        return y, keep, names
    y, _, keep, names = prepare_labels(ds, "ferplus-majority")
    return y, keep, names
