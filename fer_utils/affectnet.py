"""AffectNet (Mollahosseini, Hasani & Mahoor, 2019), read lazily in the layouts readers have.

AffectNet holds about a million face photos, 290,000 of them annotated by hand with one of
eleven codes, valence, arousal and 68 landmarks. It cannot be redistributed: readers request
it from its authors (Chapter 1 says how). Two layouts are read:

``"release"`` — the folder release: ``train_set/`` and ``val_set/``, each with
``images/<id>.jpg`` and ``annotations/<id>_exp.npy``, ``<id>_val.npy``, ``<id>_aro.npy``,
``<id>_lnd.npy`` (the images are already cropped to the face).

``"csv"`` — the manually annotated set's ``training.csv`` / ``validation.csv``
(``subDirectory_filePath, face_x, face_y, face_width, face_height, facial_landmarks,
expression, valence, arousal``) beside ``Manually_Annotated_Images/``; the face box is
applied when an image is read.

AffectNet's codes are 0 neutral, 1 happy, 2 sad, 3 surprise, 4 fear, 5 disgust, 6 anger,
7 contempt, 8 none, 9 uncertain, 10 no-face. The eight emotions are mapped onto the course's
class order (:data:`fer_utils.ferplus.CLASS_NAMES_8`: FER-2013's seven, then contempt); the
last three are dropped and counted (:attr:`AffectNet.dropped`), as are records whose image
file is missing. Images are decoded only when asked for (:meth:`AffectNet.image`,
:meth:`AffectNet.batches`), never all at once.
"""
from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer_utils.dataset import DataFormatError
from fer_utils.faces import read_image, to_gray
from fer_utils.ferplus import CLASS_NAMES_8

#: AffectNet's expression codes, in its own order
CODES = ("neutral", "happy", "sad", "surprise", "fear", "disgust", "anger", "contempt",
         "none", "uncertain", "no-face")
#: AffectNet code → course class index (CLASS_NAMES_8); codes 8–10 have none
TO_COURSE = {0: CLASS_NAMES_8.index("neutral"), 1: CLASS_NAMES_8.index("happy"),
             2: CLASS_NAMES_8.index("sad"), 3: CLASS_NAMES_8.index("surprise"),
             4: CLASS_NAMES_8.index("fear"), 5: CLASS_NAMES_8.index("disgust"),
             6: CLASS_NAMES_8.index("angry"), 7: CLASS_NAMES_8.index("contempt")}
SPLITS = {"train_set": "Training", "val_set": "Validation",
          "training.csv": "Training", "validation.csv": "Validation"}
CSV_COLUMNS = ("subDirectory_filePath", "face_x", "face_y", "face_width", "face_height",
               "expression", "valence", "arousal")


@dataclass
class AffectNet:
    """The index of an AffectNet copy: one entry per usable face, images not yet decoded.

    Attributes
    ----------
    files : list of Path
    labels : ndarray (N,) int64, course class indices (:data:`CLASS_NAMES_8`)
    valence, arousal : ndarray (N,) float32, in [-1, 1]
    boxes : ndarray (N, 4) int64 ``(x, y, w, h)``, or -1 where the image is already a face
    usage : ndarray (N,) str, ``Training`` or ``Validation``
    dropped : Counter, why records were left out (``"none"``, ``"uncertain"``, ``"no-face"``,
        ``"missing image"``, ``"bad record"``)
    layout : str
    """

    files: list
    labels: np.ndarray
    valence: np.ndarray
    arousal: np.ndarray
    boxes: np.ndarray
    usage: np.ndarray
    dropped: Counter = field(default_factory=Counter)
    layout: str = ""
    class_names: tuple = CLASS_NAMES_8

    def __len__(self) -> int:
        return len(self.files)

    def class_counts(self) -> dict[str, int]:
        return {n: int(c) for n, c in zip(self.class_names,
                                          np.bincount(self.labels, minlength=len(self.class_names)))}

    def image(self, i: int, size: int | None = 48) -> np.ndarray:
        """Face ``i``, cropped to its box when it has one, as grey ``uint8`` (``size``×``size``,
        or as stored when ``size`` is None)."""
        import cv2

        img = read_image(self.files[i], max_side=10**5)
        x, y, w, h = (int(v) for v in self.boxes[i])
        if w > 0 and h > 0:
            img = img[max(0, y):y + h, max(0, x):x + w]
        grey = to_gray(img)
        return grey if size is None else cv2.resize(grey, (size, size), interpolation=cv2.INTER_AREA)

    def batches(self, batch_size: int = 256, size: int = 48, indices=None):
        """``(images, labels)`` batches decoded on the fly (a million photos never sit in
        memory): feed them to a model or to :mod:`fer_utils.distributed`."""
        order = np.arange(len(self)) if indices is None else np.asarray(indices)
        for s in range(0, len(order), batch_size):
            part = order[s:s + batch_size]
            yield np.stack([self.image(int(i), size) for i in part]), self.labels[part]


def load_affectnet(root: str | Path) -> AffectNet:
    """Index an AffectNet copy in either layout (found from what ``root`` holds)."""
    root = Path(root).expanduser()
    if not root.exists():
        raise FileNotFoundError(f"{root}: no such folder. AffectNet is requested from its "
                                "authors (Chapter 1, 'Getting AffectNet').")
    if any((root / s / "annotations").is_dir() for s in ("train_set", "val_set")):
        return _read_release(root)
    if any((root / f).is_file() for f in ("training.csv", "validation.csv")):
        return _read_csv(root)
    raise DataFormatError(f"{root.name}: expected train_set/ and val_set/ with images/ and "
                          "annotations/ (the folder release), or training.csv / validation.csv "
                          "beside Manually_Annotated_Images/ (the csv release)")


def _code(value, dropped: Counter) -> int | None:
    """A course class index for an AffectNet code, or None (counted as dropped)."""
    try:
        code = int(float(value))
    except (TypeError, ValueError):
        dropped["bad record"] += 1
        return None
    if code in TO_COURSE:
        return TO_COURSE[code]
    dropped[CODES[code] if 0 <= code < len(CODES) else "bad record"] += 1
    return None


def _build(rows: list, dropped: Counter, layout: str) -> AffectNet:
    if not rows:
        raise DataFormatError(f"no usable AffectNet record (dropped: {dict(dropped)})")
    files, labels, val, aro, boxes, usage = zip(*rows)
    return AffectNet(list(files), np.asarray(labels, np.int64), np.asarray(val, np.float32),
                     np.asarray(aro, np.float32), np.asarray(boxes, np.int64).reshape(-1, 4),
                     np.asarray(usage), dropped, layout)


def _read_release(root: Path) -> AffectNet:
    rows, dropped = [], Counter()
    for split_dir in ("train_set", "val_set"):
        ann = root / split_dir / "annotations"
        if not ann.is_dir():
            continue
        for exp in sorted(ann.glob("*_exp.npy")):
            stem = exp.name[: -len("_exp.npy")]
            label = _code(np.load(exp).item(), dropped)
            if label is None:
                continue
            image = next((p for p in (root / split_dir / "images").glob(f"{stem}.*")), None)
            if image is None:
                dropped["missing image"] += 1
                continue
            try:
                v = float(np.load(ann / f"{stem}_val.npy").item())
                a = float(np.load(ann / f"{stem}_aro.npy").item())
            except (OSError, ValueError):
                dropped["bad record"] += 1
                continue
            rows.append((image, label, v, a, (-1, -1, -1, -1), SPLITS[split_dir]))
    return _build(rows, dropped, "release")


def _read_csv(root: Path) -> AffectNet:
    rows, dropped = [], Counter()
    images = root / "Manually_Annotated_Images"
    for name in ("training.csv", "validation.csv"):
        path = root / name
        if not path.is_file():
            continue
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise DataFormatError(f"{name}: no column(s) {missing}; expected AffectNet's "
                                      f"{', '.join(CSV_COLUMNS)}")
            for rec in reader:
                label = _code(rec["expression"], dropped)
                if label is None:
                    continue
                image = images / rec["subDirectory_filePath"]
                if not image.is_file():
                    dropped["missing image"] += 1
                    continue
                try:
                    box = tuple(int(float(rec[k])) for k in ("face_x", "face_y", "face_width",
                                                              "face_height"))
                    v, a = float(rec["valence"]), float(rec["arousal"])
                except ValueError:
                    dropped["bad record"] += 1
                    continue
                rows.append((image, label, v, a, box, SPLITS[name]))
    return _build(rows, dropped, "csv")
