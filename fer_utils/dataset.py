"""The in-memory dataset every loader returns: :class:`FERDataset`, its class and split
names, the load report and the data errors. Loaders (:mod:`fer_utils.data`) and the offline
sample (:mod:`fer_utils.sample`) both build on it.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from fer_utils import runtime

CLASS_NAMES: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""FER-2013's classes in label order (0 … 6). Every chapter uses this order."""

SPLITS: tuple[str, ...] = ("Training", "PublicTest", "PrivateTest")
"""The official splits, in csv order."""

IMAGE_SIZE = 48
N_PIXELS = IMAGE_SIZE * IMAGE_SIZE
OFFICIAL_ROWS = 35_887
TEST_SPLITS = frozenset({"PrivateTest", "Test"})
class DataFormatError(ValueError):
    """A data file is missing, malformed or of an unexpected shape; the message says where."""


class ProtocolError(RuntimeError):
    """A request that would break the evaluation protocol (e.g. peeking at PrivateTest)."""


@dataclass
class LoadReport:
    """What a loader read and what it skipped (nothing is dropped silently).

    Attributes
    ----------
    n_read : int
        Records (csv rows or image files) examined.
    skipped : list of (str, str)
        ``(where, why)`` for every record that was not loaded.
    notes : list of str
        Anything a reader should know about the source (missing splits, row counts).
    """

    n_read: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def n_skipped(self) -> int:
        return len(self.skipped)

    def summary(self) -> str:
        lines = [f"read {self.n_read:,} records, skipped {self.n_skipped:,}"]
        lines += [f"  skipped {where}: {why}" for where, why in self.skipped[:10]]
        if self.n_skipped > 10:
            lines.append(f"  … and {self.n_skipped - 10:,} more")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def to_json(self) -> str:
        return json.dumps({"n_read": self.n_read, "skipped": self.skipped, "notes": self.notes})

    @classmethod
    def from_json(cls, text: str) -> LoadReport:
        d = json.loads(text)
        return cls(d["n_read"], [tuple(s) for s in d["skipped"]], list(d["notes"]))


@dataclass
class FERDataset:
    """FER-2013 (or a stand-in with the same structure) held in memory.

    Attributes
    ----------
    images : ndarray, shape (N, 48, 48), uint8
        Grey images, row-major as in the csv.
    labels : ndarray, shape (N,), int64
        Class index into :data:`CLASS_NAMES`.
    usage : ndarray, shape (N,), str
        Split of each image (``Training``, ``PublicTest``, ``PrivateTest``; ``Test`` for
        image folders without that distinction).
    rows : ndarray, shape (N,), int64
        Row position in ``fer2013.csv`` (0-based, header excluded); ``-1`` when the source
        has no row order (image folders).
    source : str
        Human-readable description of where the data came from (no machine paths).
    is_sample : bool
        True for the offline sample made by :mod:`fer_utils.sample`.
    report : LoadReport
        What was read and skipped.
    extras : dict
        Per-image arrays a source may add (the offline sample adds ``regions`` and
        ``true_labels``); subsets carry them along.
    """

    images: np.ndarray
    labels: np.ndarray
    usage: np.ndarray
    rows: np.ndarray
    source: str
    is_sample: bool = False
    report: LoadReport = field(default_factory=LoadReport)
    extras: dict[str, np.ndarray] = field(default_factory=dict)
    class_names: tuple[str, ...] = CLASS_NAMES

    def __post_init__(self) -> None:
        n = len(self.images)
        if self.images.shape[1:] != (IMAGE_SIZE, IMAGE_SIZE) or self.images.dtype != np.uint8:
            raise DataFormatError(
                f"images must be (N, 48, 48) uint8, got {self.images.shape} {self.images.dtype}")
        for name in ("labels", "usage", "rows"):
            if len(getattr(self, name)) != n:
                raise DataFormatError(f"{name} has {len(getattr(self, name))} entries for {n} images")

    def __len__(self) -> int:
        return len(self.images)

    @property
    def fingerprint(self) -> str:
        """A content hash of the dataset (images, labels, splits, csv rows and class names):
        16 hex digits of SHA-256, the same for the same data in any downloaded form. Part of
        every artifact key (:class:`fer_utils.experiment.DataRef`). Computed once (~0.2 s
        for FER-2013)."""
        cached = self.__dict__.get("_fingerprint")
        if cached is None:
            h = hashlib.sha256()
            h.update(np.ascontiguousarray(self.images, dtype=np.uint8).tobytes())
            for arr in (self.labels, self.rows):
                h.update(np.ascontiguousarray(arr, dtype=np.int64).tobytes())
            h.update("\n".join(map(str, self.usage)).encode())
            h.update("\n".join(self.class_names).encode())
            cached = self.__dict__["_fingerprint"] = h.hexdigest()[:16]
        return cached

    def __repr__(self) -> str:
        splits = ", ".join(f"{s}={n:,}" for s, n in self.split_sizes().items())
        return f"FERDataset({len(self):,} images from {self.source}; {splits})"

    @property
    def has_row_order(self) -> bool:
        """Whether images carry their ``fer2013.csv`` row (needed to attach FERPlus)."""
        return bool(len(self.rows)) and bool(np.all(self.rows >= 0))

    @property
    def splits(self) -> tuple[str, ...]:
        """The splits present, in protocol order."""
        present = set(np.unique(self.usage).tolist())
        ordered = [s for s in (*SPLITS, "Test") if s in present]
        return tuple(ordered + sorted(present - set(ordered)))

    def split_sizes(self) -> dict[str, int]:
        return {s: int(np.sum(self.usage == s)) for s in self.splits}

    def subset(self, index: np.ndarray | Sequence[int]) -> FERDataset:
        """A new dataset with the images selected by a boolean mask or integer indices."""
        index = np.asarray(index)
        return FERDataset(
            images=self.images[index], labels=self.labels[index], usage=self.usage[index],
            rows=self.rows[index], source=self.source, is_sample=self.is_sample,
            report=self.report, extras={k: v[index] for k, v in self.extras.items()},
            class_names=self.class_names)

    def split(self, name: str, *, final: bool = False) -> FERDataset:
        """The images of one split.

        Parameters
        ----------
        name : str
            ``Training``, ``PublicTest``, ``PrivateTest`` (or ``Test`` for image folders).
        final : bool
            Must be ``True`` to obtain a test split (``PrivateTest``/``Test``). The protocol
            reports the test split once per finished model; model choices, early stopping and
            tuning use ``PublicTest``. The flag makes a peek deliberate and visible in code.
        """
        if name not in self.splits:
            raise KeyError(f"no split {name!r} in this dataset; it has {list(self.splits)}")
        if name in TEST_SPLITS and not final:
            raise ProtocolError(
                f"{name} is for the final evaluation of a finished model only: call "
                f"split({name!r}, final=True) there. Use 'PublicTest' for model selection "
                "and early stopping.")
        return self.subset(self.usage == name)

    def class_counts(self) -> np.ndarray:
        """Images per class, shape (n_classes,)."""
        return np.bincount(self.labels, minlength=len(self.class_names))

    def quick_subset(self, per_split: dict[str, int] | None = None, seed: int = 0) -> FERDataset:
        """A small random subset for quick mode, in the original row order.

        ``per_split`` maps a split to the number of images kept (default 1,500 Training and
        300 of every other split, the sizes of :meth:`TrainConfig.quick`). Blank (all-zero)
        images are always kept, so the code that must report them still meets them. Landmark
        extraction, ES-MAPs and masks then touch a few thousand images instead of 35,887.
        """
        per_split = per_split or {s: (1500 if s == "Training" else 300) for s in self.splits}
        rng = np.random.default_rng(seed)
        keep = self.images.reshape(len(self), -1).max(axis=1) == 0
        for split, n in per_split.items():
            idx = np.flatnonzero(self.usage == split)
            keep[rng.choice(idx, size=min(n, len(idx)), replace=False)] = True
        return self.subset(np.flatnonzero(keep))

    def for_runtime(self) -> FERDataset:
        """:meth:`quick_subset` in quick mode (``FER_QUICK=1``) for real data, else ``self``."""
        return self.quick_subset() if runtime.quick_mode() and not self.is_sample else self


SPLITS_AND_TEST: tuple[str, ...] = (*SPLITS, "Test")


def stratified_limit(idx: np.ndarray, labels: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """At most ``limit`` of ``idx``, stratified by ``labels[idx]`` and seeded (sorted indices).

    How every experiment of the course takes a smaller training or evaluation set
    (``train_limit``, ``eval_limit``): the class balance of the full split is kept."""
    if limit is None or limit >= len(idx):
        return idx
    n_classes = len(np.unique(labels[idx]))
    if limit < n_classes or len(idx) - limit < n_classes:
        # too few to keep or to leave out one of each class (e.g. 300 of 301 images):
        # stratifying is impossible, and a seeded random subset differs from it by a few images
        return np.sort(np.random.default_rng(seed).choice(idx, size=limit, replace=False))
    from sklearn.model_selection import train_test_split
    keep, _ = train_test_split(idx, train_size=limit, stratify=labels[idx], random_state=seed)
    return np.sort(keep)


def split_indices(usage: np.ndarray, split: str, labels: np.ndarray, keep: np.ndarray | None = None,
                  limit: int | None = None, seed: int = 0) -> np.ndarray:
    """The images of ``split`` (``usage`` is a dataset's), those ``keep`` marks only, at most
    ``limit`` of them stratified by ``labels`` with ``seed`` (:func:`stratified_limit`)."""
    chosen = usage == split if keep is None else (usage == split) & keep
    return stratified_limit(np.flatnonzero(chosen), labels, limit, seed)
