"""FERPlus: ten crowd votes per FER-2013 image, and the ways to turn them into labels.

Barsoum et al. (2016) had every FER-2013 image relabelled by 10 annotators choosing among
neutral, happiness, surprise, sadness, anger, disgust, fear, contempt, *unknown* and *NF*
(not a face). The file ``fer2013new.csv`` holds the votes **row by row in the order of
fer2013.csv**; its ``Image name`` column is *not* the row index (173 not-a-face rows have no
name and four names repeat), so this module always aligns by row position.

Label modes (:func:`make_labels`), following the original work's description
---------------------------------------------------------------------------
Every mode but ``plurality`` first removes single votes (a class with one vote is treated
as annotator noise).

``majority``
    The top class if it has more than half of the remaining votes, else *unknown*.
``probability``
    Keep the top classes (ties together, at most three) until they cover 75 % of the votes;
    if that does not reach more than half of the votes, or *unknown*/*NF* is among the top
    classes before any emotion, the image is *unknown*. The label is **sampled** from the
    kept vote distribution (a new draw for each call, reproducible with ``seed``).
``crossentropy``
    The same kept distribution, used as a **soft target**.
``multi_target``
    Every class with at least 30 % of the votes, weighted equally.
``plurality``
    The class with most raw votes (first in column order on ties; ties are counted by
    :func:`count_ties`). Not a training mode of the original work; used to compare
    FERPlus with the FER-2013 labels.

Images whose label is *unknown* or *NF* are dropped (``keep`` is False). With
``n_classes=7`` (the FER-2013 classes) images labelled *contempt* are dropped too and
contempt votes are removed from soft targets; ``n_classes=8`` keeps contempt as class 7.
Classes are always in the course order (:data:`fer_utils.dataset.CLASS_NAMES`, then contempt).
Evaluation of FERPlus-trained models uses ``majority``.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_utils import paths
from fer_utils.dataset import CLASS_NAMES, SPLITS, DataFormatError, FERDataset, ProtocolError

FILE_COLUMNS: tuple[str, ...] = ("neutral", "happiness", "surprise", "sadness", "anger",
                                 "disgust", "fear", "contempt", "unknown", "NF")
"""The vote columns of ``fer2013new.csv`` in file order."""

CLASS_NAMES_8: tuple[str, ...] = (*CLASS_NAMES, "contempt")
"""FER-2013's seven classes in course order, then FERPlus's contempt (index 7)."""

VOTE_NAMES: tuple[str, ...] = (*CLASS_NAMES_8, "unknown", "not a face")
"""Columns of :attr:`FERPlusVotes.votes`: the 8 emotions in course order, unknown, NF."""

UNKNOWN, NOT_A_FACE, CONTEMPT = 8, 9, 7
MODES = ("majority", "probability", "crossentropy", "multi_target", "plurality")

# file column -> course column
_FILE_TO_COURSE = np.array([CLASS_NAMES_8.index(n)
                            for n in ("neutral", "happy", "surprise", "sad", "angry", "disgust",
                                      "fear", "contempt")] + [UNKNOWN, NOT_A_FACE])


@dataclass
class FERPlusVotes:
    """Crowd votes aligned with FER-2013 rows.

    Attributes
    ----------
    votes : ndarray, shape (N, 10), int64
        Votes per class in :data:`VOTE_NAMES` order (8 emotions in course order, unknown, NF).
    usage : ndarray, shape (N,), str
        The split named in the FERPlus file.
    rows : ndarray, shape (N,), int64
        Row position in ``fer2013.csv``.
    source : str
        Where the votes came from (no machine path).
    """

    votes: np.ndarray
    usage: np.ndarray
    rows: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.votes)

    def subset(self, index) -> FERPlusVotes:
        return FERPlusVotes(self.votes[index], self.usage[index], self.rows[index], self.source)


@dataclass
class FERPlusLabels:
    """Labels made from votes by one mode.

    Attributes
    ----------
    targets : ndarray, shape (N, n_classes), float32
        One-hot rows (majority, probability, plurality) or distributions (crossentropy,
        multi_target); all-zero rows for dropped images.
    labels : ndarray, shape (N,), int64
        The arg-max class, ``-1`` where dropped.
    keep : ndarray, shape (N,), bool
        False for images dropped as unknown, not a face, or contempt (7-class).
    dropped : dict
        How many images were dropped for each reason.
    mode : str
    class_names : tuple of str
    """

    targets: np.ndarray
    labels: np.ndarray
    keep: np.ndarray
    dropped: dict[str, int]
    mode: str
    class_names: tuple[str, ...]


def find_ferplus(root: str | Path | None = None) -> Path | None:
    """``ferplus/fer2013new.csv`` or ``fer2013new.csv`` under the data folder, or None."""
    root = Path(root).expanduser() if root is not None else paths.data_dir()
    if root.is_file():
        return root
    for rel in ("ferplus/fer2013new.csv", "fer2013new.csv", "FERPlus/fer2013new.csv"):
        if (root / rel).is_file():
            return root / rel
    return None


def load_ferplus(path: str | Path | None = None) -> FERPlusVotes:
    """Read ``fer2013new.csv`` (microsoft/FERPlus) into votes in course order.

    Raises
    ------
    FileNotFoundError
        No file found; the message says where to get it.
    DataFormatError
        A malformed row (wrong field count, non-integer or negative votes, unknown Usage),
        named by row.
    """
    found = find_ferplus(path)
    if found is None:
        where = path if path is not None else f"{paths.data_dir()} (FER_DATA_DIR)"
        raise FileNotFoundError(
            f"no fer2013new.csv in {where}: get it from the microsoft/FERPlus repository "
            "(file fer2013new.csv) and put it in $FER_DATA_DIR/ferplus/ (see README)")
    with open(found, newline="", encoding="utf-8") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        expected = ["Usage", "Image name", *FILE_COLUMNS]
        if header != expected:
            raise DataFormatError(f"{found.name}: header {header} is not FERPlus's {expected}")
        votes, usage = [], []
        for row, rec in enumerate(reader):
            where = f"{found.name} row {row} (line {row + 2})"
            if len(rec) != len(expected):
                raise DataFormatError(f"{where}: {len(rec)} fields, expected {len(expected)}; "
                                      "the file is damaged: download it again")
            if rec[0] not in SPLITS:
                raise DataFormatError(f"{where}: unknown Usage {rec[0]!r} (expected one of "
                                      f"{', '.join(SPLITS)})")
            try:
                v = [int(x) for x in rec[2:]]
            except ValueError:
                raise DataFormatError(f"{where}: votes {rec[2:]} are not all integers") from None
            if min(v) < 0:
                raise DataFormatError(f"{where}: negative vote count")
            votes.append(v)
            usage.append(rec[0])
    file_votes = np.asarray(votes, dtype=np.int64)
    course = np.zeros_like(file_votes)
    course[:, _FILE_TO_COURSE] = file_votes
    return FERPlusVotes(votes=course, usage=np.asarray(usage),
                        rows=np.arange(len(course), dtype=np.int64),
                        source=f"FERPlus votes ({found.name})")


def align(ds: FERDataset, votes: FERPlusVotes) -> FERPlusVotes:
    """The votes of exactly the images of ``ds``, in the same order (matched by csv row).

    Raises
    ------
    ProtocolError
        ``ds`` has no csv row order (image-folder layout): FERPlus cannot be attached.
    DataFormatError
        Rows out of range, or the splits of the two files disagree (not the same csv).
    """
    if not ds.has_row_order:
        raise ProtocolError(
            "FERPlus votes are aligned with fer2013.csv by row position, and this dataset "
            f"({ds.source}) has no row order. Load FER-2013 from fer2013.csv, .csv.gz or "
            "fer2013.tar.gz to use FERPlus labels.")
    if ds.rows.max() >= len(votes):
        raise DataFormatError(f"dataset row {ds.rows.max()} beyond the {len(votes):,} FERPlus rows")
    out = votes.subset(ds.rows)
    mismatch = np.flatnonzero(out.usage != ds.usage)
    if mismatch.size:
        r = int(ds.rows[mismatch[0]])
        raise DataFormatError(
            f"FERPlus and FER-2013 disagree on the split of {mismatch.size:,} rows (first: row "
            f"{r}, {out.usage[mismatch[0]]} vs {ds.usage[mismatch[0]]}); they are not the same "
            "csv order")
    return out


def _argmax_file_order(a: np.ndarray) -> np.ndarray:
    """Row-wise arg-max (course columns) breaking ties by ``fer2013new.csv`` column order."""
    order = np.array([c for c in _FILE_TO_COURSE if c < a.shape[1]])
    return order[a[:, order].argmax(axis=1)]


def votes_for(ds: FERDataset, path: str | Path | None = None) -> FERPlusVotes:
    """FERPlus votes for the images of ``ds``, in its order.

    For FER-2013 this reads ``fer2013new.csv`` (``path`` or the data folder) and aligns it
    by row; for the offline sample it returns the sample's simulated votes.
    """
    if "votes" in ds.extras:
        return FERPlusVotes(votes=ds.extras["votes"], usage=ds.usage, rows=ds.rows,
                            source="simulated annotators of the offline sample")
    return align(ds, load_ferplus(path))


def plurality(votes: FERPlusVotes | np.ndarray) -> np.ndarray:
    """The most-voted column of every image, shape (N,), as an index into :data:`VOTE_NAMES`.

    Unlike ``make_labels(..., "plurality")`` nothing is dropped: unknown (8) and not a face (9)
    are answers too. Ties go to the column that comes first in ``fer2013new.csv``.
    """
    v = votes.votes if isinstance(votes, FERPlusVotes) else np.asarray(votes)
    return _argmax_file_order(v)


def agreement_with_fer(ds: FERDataset, votes: FERPlusVotes | np.ndarray | None = None
                       ) -> tuple[float, int]:
    """How often FERPlus's plurality vote equals FER-2013's label.

    Only images whose plurality is one of FER-2013's seven classes are compared (contempt,
    unknown and not-a-face have no counterpart). Returns ``(agreement, n_compared)``.
    """
    plural = plurality(votes_for(ds) if votes is None else votes)
    comparable = plural < len(ds.class_names)
    n = int(comparable.sum())
    if n == 0:
        raise ValueError("no image has a plurality vote among FER-2013's classes")
    return float(np.mean(plural[comparable] == ds.labels[comparable])), n


def count_ties(votes: FERPlusVotes | np.ndarray) -> int:
    """Images whose highest raw vote count is shared by two or more columns."""
    v = votes.votes if isinstance(votes, FERPlusVotes) else np.asarray(votes)
    top = v.max(axis=1, keepdims=True)
    return int(np.sum((v == top).sum(axis=1) > 1))


def _kept_distribution(v: np.ndarray) -> np.ndarray:
    """Probability/cross-entropy rule for one row of cleaned votes (course order, 10 cols)."""
    total = v.sum()
    kept = np.zeros_like(v)
    rest = v.copy()
    covered, count = 0, 0
    while covered < 0.75 * total and count < 3:
        top = rest.max()
        if top <= 0:
            break
        tied = np.flatnonzero(rest == top)
        if np.any(tied >= UNKNOWN):
            # unknown / not-a-face at this level: stop, keeping only emotions found before it;
            # if none came before, the image is unknown (or not a face)
            if kept.sum() == 0:
                kept[tied[tied >= UNKNOWN]] = 1
                return kept
            break
        kept[tied] = rest[tied]
        rest[tied] = 0
        covered += top * len(tied)
        count += len(tied)
    if kept.sum() <= 0.5 * total or count > 3:
        kept[:] = 0
        kept[UNKNOWN] = 1
    return kept


def make_labels(votes: FERPlusVotes | np.ndarray, mode: str = "majority", *,
                n_classes: int = 8, seed: int | None = 0) -> FERPlusLabels:
    """Turn votes into training targets.

    Parameters
    ----------
    votes : FERPlusVotes or ndarray, shape (N, 10)
        Votes in :data:`VOTE_NAMES` order.
    mode : {"majority", "probability", "crossentropy", "multi_target", "plurality"}
        See the module docstring.
    n_classes : {8, 7}
        8 keeps contempt as a class; 7 maps to FER-2013's classes and drops contempt.
    seed : int or None
        Random seed for ``probability`` sampling.
    """
    if mode not in MODES:
        raise ValueError(f"unknown FERPlus mode {mode!r}; choose one of {', '.join(MODES)}")
    if n_classes not in (7, 8):
        raise ValueError(f"n_classes must be 7 (FER-2013 classes) or 8 (with contempt), not {n_classes}")
    v = np.array(votes.votes if isinstance(votes, FERPlusVotes) else votes, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != len(VOTE_NAMES):
        raise ValueError(f"votes must have shape (N, {len(VOTE_NAMES)}), got {v.shape}")
    n = len(v)
    dist = np.zeros_like(v)
    if mode == "plurality":
        dist[np.arange(n), _argmax_file_order(v)] = 1.0
    else:
        clean = np.where(v <= 1, 0.0, v)  # single votes are noise
        total = clean.sum(axis=1)
        if mode == "majority":
            top = clean.argmax(axis=1)
            ok = clean.max(axis=1) > 0.5 * total
            dist[np.arange(n)[ok], top[ok]] = 1.0
            dist[~ok, UNKNOWN] = 1.0
        elif mode in ("probability", "crossentropy"):
            for i in range(n):
                dist[i] = _kept_distribution(clean[i])
        else:  # multi_target
            sel = (clean >= 0.3 * total[:, None]) & (clean > 0)
            covered = np.where(sel, clean, 0).sum(axis=1)
            dist = sel.astype(np.float64)
            dist[covered <= 0.5 * total] = 0.0
            dist[covered <= 0.5 * total, UNKNOWN] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = dist / dist.sum(axis=1, keepdims=True)
    dist = np.nan_to_num(dist)
    if mode == "probability":
        rng = np.random.default_rng(seed)
        cum = dist.cumsum(axis=1)
        pick = (rng.random((n, 1)) < cum).argmax(axis=1)
        dist = np.zeros_like(dist)
        dist[np.arange(n), pick] = 1.0

    winner = _argmax_file_order(dist)
    dropped = {"unknown": int(np.sum(winner == UNKNOWN)),
               "not a face": int(np.sum(winner == NOT_A_FACE))}
    keep = winner < CONTEMPT + 1
    if n_classes == 7:
        dropped["contempt"] = int(np.sum(winner == CONTEMPT))
        keep &= winner != CONTEMPT
        dist = dist[:, :7]
    else:
        dist = dist[:, :8]
    dist = np.where(keep[:, None], dist, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        dist = np.nan_to_num(dist / dist.sum(axis=1, keepdims=True))
    labels = np.where(keep, _argmax_file_order(dist), -1)
    names = CLASS_NAMES_8[:n_classes]
    return FERPlusLabels(targets=dist.astype(np.float32), labels=labels.astype(np.int64),
                         keep=keep, dropped=dropped, mode=mode, class_names=names)
