"""Posed-expression datasets with subject identities: JAFFE and CK+.

Neither may be redistributed, so the course only reads what a reader obtained from the
authors (or from the Kaggle copies most people use). Both identify their subjects, which
matters twice:

* ES-MAP baselines can be *per subject* (each person's own neutral face, Yang & Chen's idea
  done properly) — see :func:`fer_utils.esmap.fit_baseline`;
* train/test splits must keep each subject on one side (:func:`subject_split`,
  :func:`subject_folds`): the same person in both halves makes a random split measure face
  recognition as much as expression recognition.

Layouts read
------------
JAFFE (:func:`load_jaffe`)
    ``KA.AN1.39.tiff``: subject ``KA``, expression ``AN`` (AN, DI, FE, HA, NE, SA, SU),
    take 1, file number 39. 213 images of 10 subjects, 256×256 grey. Any folder depth.
CK+ official (:func:`load_ckplus`)
    ``cohn-kanade-images/S005/001/S005_001_00000011.png`` image sequences (neutral → peak)
    and ``Emotion/S005/001/S005_001_00000011_emotion.txt`` holding one code
    (0 neutral, 1 anger, 2 contempt, 3 disgust, 4 fear, 5 happy, 6 sadness, 7 surprise) for
    the 327 labelled sequences. The last ``peak_frames`` frames get the label; the first frame
    of each labelled sequence is taken as that subject's neutral face.
CK+48 (:func:`load_ckplus`, detected automatically)
    ``CK+48/<class>/S010_004_00000017.png`` with class folders ``anger``, ``contempt``,
    ``disgust``, ``fear``, ``happy``, ``sadness``, ``surprise`` (no neutral class).

Contempt (CK+ only) is not one of the course's seven classes: those images are left out and
counted in :attr:`PosedDataset.skipped`.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer_utils.dataset import CLASS_NAMES, DataFormatError
from fer_utils.faces import read_image, to_gray

JAFFE_CODES = {"AN": "angry", "DI": "disgust", "FE": "fear", "HA": "happy", "NE": "neutral",
               "SA": "sad", "SU": "surprise"}
CKPLUS_CODES = {0: "neutral", 1: "angry", 2: "contempt", 3: "disgust", 4: "fear", 5: "happy",
                6: "sad", 7: "surprise"}
CK48_FOLDERS = {"anger": "angry", "contempt": "contempt", "disgust": "disgust", "fear": "fear",
                "happy": "happy", "happiness": "happy", "sadness": "sad", "sad": "sad",
                "surprise": "surprise", "neutral": "neutral"}
_JAFFE_NAME = re.compile(r"^([A-Z]{2})\.([A-Z]{2})(\d+)\.(\d+)\.(tiff?|png|jpe?g|bmp)$", re.I)
_CK_NAME = re.compile(r"^(S\d{3})_(\d{3})_(\d{8})\.(png|jpe?g|bmp|tiff?)$", re.I)
_IMAGE_EXT = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"}


@dataclass
class PosedDataset:
    """Grey face images with labels, subjects and the file each came from.

    ``images`` keep their own size (JAFFE 256×256, CK+ 640×490, CK+48 48×48) as a list of
    ``uint8`` arrays; :meth:`resized` gives a ``(N, s, s)`` array.
    """

    name: str
    images: list
    labels: np.ndarray
    subjects: np.ndarray
    files: np.ndarray
    skipped: dict = field(default_factory=dict)
    class_names: tuple = CLASS_NAMES

    def __len__(self) -> int:
        return len(self.images)

    def __repr__(self) -> str:
        return (f"PosedDataset({self.name}: {len(self)} images, "
                f"{len(np.unique(self.subjects))} subjects)")

    def subset(self, index) -> PosedDataset:
        index = np.flatnonzero(np.asarray(index)) if np.asarray(index).dtype == bool else index
        return PosedDataset(self.name, [self.images[i] for i in index], self.labels[index],
                            self.subjects[index], self.files[index], self.skipped,
                            self.class_names)

    def class_counts(self) -> dict[str, int]:
        return {c: int(np.sum(self.labels == k)) for k, c in enumerate(self.class_names)}

    def resized(self, size: int = 48) -> np.ndarray:
        """All images resized to ``size × size`` (area interpolation), ``(N, size, size)`` uint8."""
        import cv2

        return np.stack([cv2.resize(im, (size, size), interpolation=cv2.INTER_AREA)
                         for im in self.images]) if self.images else np.zeros((0, size, size),
                                                                              np.uint8)


def _read_grey(path: Path) -> np.ndarray:
    return to_gray(read_image(path))


class _Collect:
    """Images read so far by a loader, their labels, subjects and files, and what was skipped."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.rows: list[tuple] = []
        self.skipped: Counter = Counter()

    def add(self, file: Path, emotion: str, subject: str) -> None:
        """Read ``file`` as one image of ``emotion``; emotions outside FER-2013's seven (CK+'s
        contempt) are counted as skipped instead."""
        if emotion not in CLASS_NAMES:
            self.skipped[emotion] += 1
            return
        self.rows.append((_read_grey(file), CLASS_NAMES.index(emotion), subject,
                          file.relative_to(self.root).as_posix()))

    def dataset(self, name: str, empty: str) -> PosedDataset:
        if not self.rows:
            raise DataFormatError(empty)
        images, labels, subjects, files = zip(*self.rows)
        return PosedDataset(name, list(images), np.array(labels), np.array(subjects),
                            np.array(files), dict(self.skipped))


def load_jaffe(root: str | Path) -> PosedDataset:
    """Read every JAFFE-named image under ``root`` (see the module docstring for the names)."""
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"no JAFFE folder at {root}")
    found = _Collect(root)
    for f in sorted(p for p in root.rglob("*") if p.is_file()):
        m = _JAFFE_NAME.match(f.name)
        if not m:
            if f.suffix.lower() in _IMAGE_EXT:
                found.skipped["unrecognised file name"] += 1
            continue
        code = m.group(2).upper()
        if code not in JAFFE_CODES:
            found.skipped[f"unknown expression code {code}"] += 1
            continue
        found.add(f, JAFFE_CODES[code], m.group(1).upper())
    return found.dataset("JAFFE", f"no JAFFE images (names like KA.AN1.39.tiff) under {root}")


def load_ckplus(root: str | Path, *, peak_frames: int = 1,
                neutral_first: bool = True) -> PosedDataset:
    """Read CK+ in the official layout or the CK+48 class-folder layout (auto-detected).

    Official layout: for each labelled sequence, the last ``peak_frames`` frames get the
    sequence's emotion, and with ``neutral_first`` its first frame is added as ``neutral``.
    """
    root = Path(root)
    if not root.exists():
        raise FileNotFoundError(f"no CK+ folder at {root}")
    images_dir = next((p for p in (root / "cohn-kanade-images", *root.rglob("cohn-kanade-images"))
                       if p.is_dir()), None)
    emotion_dir = next((p for p in root.rglob("Emotion") if p.is_dir()), None)
    if images_dir is not None and emotion_dir is not None:
        return _load_ck_official(images_dir, emotion_dir, root, peak_frames, neutral_first)
    folders = {p.name.lower(): p for p in root.rglob("*") if p.is_dir()
               and p.name.lower() in CK48_FOLDERS}
    if folders:
        return _load_ck_folders(folders, root)
    raise DataFormatError(
        f"{root} is neither official CK+ (cohn-kanade-images/ + Emotion/) nor CK+48 "
        f"(class folders {sorted(set(CK48_FOLDERS))})")


def _load_ck_official(images_dir: Path, emotion_dir: Path, root: Path, peak_frames: int,
                      neutral_first: bool) -> PosedDataset:
    found = _Collect(root)
    for txt in sorted(emotion_dir.rglob("*_emotion.txt")):
        try:
            code = int(float(txt.read_text().split()[0]))
            emotion = CKPLUS_CODES[code]
        except (IndexError, ValueError, KeyError):
            found.skipped["unreadable emotion file"] += 1
            continue
        subject, seq = txt.parent.parent.name, txt.parent.name
        frames = sorted((images_dir / subject / seq).glob("*.png"))
        if not frames:
            found.skipped["labelled sequence without images"] += 1
            continue
        chosen = [(f, emotion) for f in frames[-peak_frames:]]
        if neutral_first and len(frames) > peak_frames:
            chosen.insert(0, (frames[0], "neutral"))
        for f, emo in chosen:
            found.add(f, emo, subject)
    return found.dataset("CK+", f"no labelled CK+ sequences found under {root}")


def _load_ck_folders(folders: dict, root: Path) -> PosedDataset:
    found = _Collect(root)
    for name, folder in sorted(folders.items()):
        emotion = CK48_FOLDERS[name]
        for f in sorted(folder.iterdir()):
            if f.suffix.lower() not in _IMAGE_EXT:
                continue
            m = _CK_NAME.match(f.name)
            if not m:
                found.skipped["unrecognised file name"] += 1
                continue
            found.add(f, emotion, m.group(1).upper())
    return found.dataset("CK+48", f"no CK+48 images (S###_###_########.png) under {root}")


# --------------------------------------------------------------------------------------
# subject-independent splits
# --------------------------------------------------------------------------------------

def subject_split(subjects: Sequence, *, test_size: float = 0.3,
                  seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` with every subject entirely on one side.

    ``test_size`` is the fraction of *subjects* held out (at least one).
    """
    subjects = np.asarray(subjects)
    people = np.unique(subjects)
    if len(people) < 2:
        raise ValueError("a subject-independent split needs at least two subjects")
    rng = np.random.default_rng(seed)
    n_test = min(len(people) - 1, max(1, round(test_size * len(people))))
    held = rng.choice(people, size=n_test, replace=False)
    test = np.isin(subjects, held)
    return np.flatnonzero(~test), np.flatnonzero(test)


def subject_folds(subjects: Sequence, k: int = 10) -> list[tuple[np.ndarray, np.ndarray]]:
    """``k`` folds of ``(train, test)`` indices, each subject in exactly one test fold.

    With ``k`` equal to the number of subjects this is leave-one-subject-out (JAFFE: 10).
    """
    from sklearn.model_selection import GroupKFold

    subjects = np.asarray(subjects)
    k = min(k, len(np.unique(subjects)))
    return [(tr, te) for tr, te in GroupKFold(n_splits=k).split(subjects, groups=subjects)]
