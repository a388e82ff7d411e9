"""The label sets an experiment can train on, and the labels it is scored with.

``"fer"``: FER-2013's labels. ``"fer-clean"``: FER-2013's labels on the images FERPlus's
majority vote accepts as one of the seven emotions. ``"ferplus-majority"`` and
``"ferplus-crossentropy"``: FERPlus's 8 classes (with contempt), as hard majority labels or
as the vote distribution. Every FERPlus set is scored with majority labels.

:func:`label_set` builds both views of one label set, what a run trains on and what it is
scored with, from one reading of the FERPlus votes: a training run builds it once.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fer_utils import ferplus
from fer_utils.dataset import CLASS_NAMES, FERDataset, split_indices

LABEL_SETS = ("fer", "fer-clean", "ferplus-majority", "ferplus-crossentropy")


@dataclass(frozen=True)
class LabelSet:
    """One label set over the images of a dataset (every array has one row per image).

    Attributes
    ----------
    name : str
        One of :data:`LABEL_SETS`.
    y, targets, keep, class_names
        What a run trains on: hard labels ``(N,)``, targets ``(N, C)`` (one-hot, or the vote
        distribution for ``"ferplus-crossentropy"``), which images the set keeps, the classes.
    eval_y, eval_keep, eval_names
        What a model trained on it is scored with: the same for FER-2013's sets, FERPlus
        **majority** labels for every FERPlus set.
    """

    name: str
    y: np.ndarray
    targets: np.ndarray
    keep: np.ndarray
    class_names: tuple
    eval_y: np.ndarray
    eval_keep: np.ndarray
    eval_names: tuple

    def indices(self, usage: np.ndarray, split: str, limit: int | None = None, seed: int = 0,
                *, scoring: bool = False) -> np.ndarray:
        """The images of ``split`` (``usage`` is the dataset's) this set keeps, for training
        or, with ``scoring``, for scoring, stratified to ``limit`` with ``seed``."""
        y, keep = (self.eval_y, self.eval_keep) if scoring else (self.y, self.keep)
        return split_indices(usage, split, y, keep, limit, seed)


def label_set(ds: FERDataset, labels: str) -> LabelSet:
    """Both views of the label set ``labels`` on ``ds`` (FERPlus votes read once).

    Raises
    ------
    ValueError
        An unknown label set.
    """
    if labels not in LABEL_SETS:
        raise ValueError(f"unknown label set {labels!r}; choose one of {', '.join(LABEL_SETS)}")
    one_hot = np.eye(len(CLASS_NAMES), dtype=np.float32)[ds.labels]
    if labels == "fer":
        keep = np.ones(len(ds), bool)
        return LabelSet(labels, ds.labels, one_hot, keep, CLASS_NAMES, ds.labels, keep, CLASS_NAMES)

    votes = ferplus.votes_for(ds)
    if labels == "fer-clean":
        keep = ferplus.make_labels(votes, "majority", n_classes=7).keep
        return LabelSet(labels, ds.labels, one_hot, keep, CLASS_NAMES, ds.labels, keep, CLASS_NAMES)
    major = ferplus.make_labels(votes, "majority", n_classes=8)
    lab = major if labels == "ferplus-majority" else ferplus.make_labels(votes, "crossentropy",
                                                                         n_classes=8)
    return LabelSet(labels, lab.labels, lab.targets, lab.keep, lab.class_names,
                    major.labels, major.keep, major.class_names)


@dataclass(frozen=True)
class RunSplit:
    """What one training run of the course protocol uses (:func:`run_split`): its label set,
    the Training images it fits, the PublicTest images it watches, and the images of each
    test split it is scored on, ``scored[split]``."""

    labels: LabelSet
    train: np.ndarray
    val: np.ndarray
    scored: dict


def run_split(ds: FERDataset, labels: str, *, train_limit: int | None = None,
              eval_limit: int | None = None, seed: int = 0,
              scored: tuple[str, ...] = ("PublicTest", "PrivateTest")) -> RunSplit:
    """The label set ``labels`` on ``ds``, built once, and the images of a run under the
    course protocol: Training (stratified to ``train_limit``), PublicTest (to ``eval_limit``)
    and the ``scored`` splits (to ``eval_limit``, with the labels a model is scored with).

    Raises
    ------
    ValueError
        An unknown label set, or no Training or PublicTest images for it.
    """
    s = label_set(ds, labels)
    train = split_indices(ds.usage, "Training", s.y, s.keep, train_limit, seed)
    val = split_indices(ds.usage, "PublicTest", s.y, s.keep, eval_limit, seed)
    if len(train) == 0 or len(val) == 0:
        raise ValueError(f"no Training or PublicTest images for labels {labels!r} in {ds.source}")
    return RunSplit(s, train, val, {split: split_indices(ds.usage, split, s.eval_y, s.eval_keep,
                                                         eval_limit, seed) for split in scored})


def evaluation_labels(ds: FERDataset, labels: str) -> tuple[np.ndarray, np.ndarray, tuple]:
    """``(labels, keep, class names)`` a model trained on ``labels`` is scored with: FER-2013's
    (on the cleaned images for ``"fer-clean"``), or FERPlus **majority** for every FERPlus set
    (:attr:`LabelSet.eval_y`)."""
    s = label_set(ds, labels)
    return s.eval_y, s.eval_keep, s.eval_names
