"""FER-2013: loading every form a reader downloads, validating it, caching it, splitting it.

FER-2013 (Goodfellow et al. 2013) has 35,887 grey 48×48 faces, each labelled with one of
seven emotions and assigned to one of three splits (the csv's ``Usage`` column):
``Training`` (28,709), ``PublicTest`` (3,589) and ``PrivateTest`` (3,589). The standard
protocol trains on Training, selects models and stops early on PublicTest, and reports
PrivateTest once per model.

Formats read by :func:`load_fer2013`
------------------------------------
* ``fer2013.csv`` (header ``emotion,pixels,Usage``) and the same file gzip-compressed
  (``fer2013.csv.gz``);
* ``icml_face_data.csv`` from the Kaggle challenge page (header ``emotion, Usage, pixels``)
  and the challenge's ``train.csv`` (``emotion,pixels``: Training only);
* the challenge archive ``fer2013.tar.gz`` (it holds ``fer2013/fer2013.csv``);
* the image-folder layout of the popular Kaggle re-upload: ``train/<class>/*.png|jpg`` and
  ``test/<class>/...``. That layout has **no row order** and no PublicTest/PrivateTest
  columns (test files named ``PublicTest_*``/``PrivateTest_*`` keep their split; others
  become ``Test``), so FERPlus labels cannot be attached to it.

Parsing the 301 MB csv takes several seconds; the parsed arrays are cached (compressed
``.npz`` in :func:`fer_utils.paths.cache_dir`) and a second load takes well under 2 s.

When no dataset is found, :func:`load_fer2013` falls back to the offline sample of
:mod:`fer_utils.sample` and says so loudly (``dataset.is_sample`` is then ``True``).
"""
from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import logging
import tarfile
import warnings
from pathlib import Path

import numpy as np

from fer_utils import paths, sample
from fer_utils.dataset import (
    CLASS_NAMES,
    IMAGE_SIZE,
    N_PIXELS,
    OFFICIAL_ROWS,
    SPLITS,
    SPLITS_AND_TEST,
    DataFormatError,
    FERDataset,
    LoadReport,
)

log = logging.getLogger(__name__)

_CACHE_VERSION = 2
#: :attr:`FERDataset.fingerprint` of the Kaggle FER-2013 (``fer2013.csv``, 35,887 rows, in any
#: of its downloaded forms): the data of the book's committed artifacts.
FER2013_FINGERPRINT = "979419998496acf1"

# Folder names seen in public image-folder copies of FER-2013, mapped to class names.
_CLASS_ALIASES = {
    "angry": "angry", "anger": "angry",
    "disgust": "disgust", "disgusted": "disgust",
    "fear": "fear", "fearful": "fear",
    "happy": "happy", "happiness": "happy",
    "sad": "sad", "sadness": "sad",
    "surprise": "surprise", "surprised": "surprise",
    "neutral": "neutral",
}
_SPLIT_FOLDERS = {"train": "Training", "training": "Training",
                  "test": "Test", "validation": "Test", "val": "Test"}
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".tif", ".tiff"}


_CSV_CANDIDATES = (
    "fer2013.csv", "fer2013.csv.gz", "fer2013/fer2013.csv", "fer2013/fer2013.csv.gz",
    "icml_face_data.csv", "fer2013/icml_face_data.csv",
    "fer2013.tar.gz", "fer2013/fer2013.tar.gz", "fer2013.tgz",
)


def find_fer2013(root: str | Path | None = None) -> Path | None:
    """Locate FER-2013 under ``root`` (default: :func:`fer_utils.paths.data_dir`).

    Looks, in order, for the csv forms (``fer2013.csv``, ``.csv.gz``, ``icml_face_data.csv``,
    ``fer2013.tar.gz``), directly in ``root`` or in ``root/fer2013``, then for image folders
    (``train/`` + ``test/``). Returns the first found, or ``None``.
    """
    root = Path(root).expanduser() if root is not None else paths.data_dir()
    if root.is_file():
        return root
    for rel in _CSV_CANDIDATES:
        if (root / rel).is_file():
            return root / rel
    for base in (root, root / "fer2013"):
        if _is_image_folder_root(base):
            return base
    return None


def _is_image_folder_root(path: Path) -> bool:
    if not path.is_dir():
        return False
    names = {p.name.lower() for p in path.iterdir() if p.is_dir()}
    return bool(names & {"train", "training"})


# --------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------

def load_fer2013(path: str | Path | None = None, *, allow_sample: bool = True,
                 on_error: str = "raise", cache: bool = True, progress: bool = True) -> FERDataset:
    """Load FER-2013 from any downloaded form, or the offline sample if there is none.

    Parameters
    ----------
    path : str or Path, optional
        A file (csv, csv.gz, tar.gz) or folder (the data folder, or an image-folder root).
        Default: search :func:`fer_utils.paths.data_dir` (``$FER_DATA_DIR``).
    allow_sample : bool
        When no data is found, return the offline sample (announced with a warning) instead
        of raising ``FileNotFoundError``. An explicit ``path`` that does not exist always raises.
    on_error : {"raise", "skip"}
        What to do with a malformed record. ``"raise"`` stops at the first one with a
        :class:`DataFormatError` naming file and row; ``"skip"`` leaves it out, counts it in
        ``dataset.report`` and warns once with the total.
    cache : bool
        Reuse (and write) the parsed-array cache for csv sources.
    progress : bool
        Show a progress bar while parsing.

    Returns
    -------
    FERDataset
    """
    if on_error not in {"raise", "skip"}:
        raise ValueError(f"on_error must be 'raise' or 'skip', not {on_error!r}")
    if path is not None:
        p = Path(path).expanduser()
        if not p.exists():
            raise FileNotFoundError(
                f"{p}: no such file or folder. Pass the downloaded fer2013.csv(.gz), "
                "fer2013.tar.gz or image-folder root, or set FER_DATA_DIR (see README, "
                "'Getting the data').")
        found = find_fer2013(p)
        if found is None:
            raise FileNotFoundError(
                f"no FER-2013 found in {p}: expected fer2013.csv, fer2013.csv.gz, "
                "fer2013.tar.gz, icml_face_data.csv or train/<class>/ + test/<class>/ folders")
    else:
        found = find_fer2013()
        if found is None:
            if not allow_sample:
                raise FileNotFoundError(
                    f"no FER-2013 found in {paths.data_dir()} (FER_DATA_DIR); download it from "
                    "Kaggle (see README, 'Getting the data') or set FER_DATA_DIR.")
            return sample.load_sample(announce=True)

    if found.is_dir():
        ds = read_image_folders(found, on_error=on_error, progress=progress)
    else:
        ds = _cached(found, on_error, progress) if cache else read_fer2013_csv(
            found, on_error=on_error, progress=progress)
    if ds.report.n_skipped:
        warnings.warn(f"{ds.report.n_skipped:,} records of {paths.display_path(found)} were "
                      f"skipped; see dataset.report:\n{ds.report.summary()}", stacklevel=2)
    return ds


def _cached(path: Path, on_error: str, progress: bool) -> FERDataset:
    st = path.stat()
    # <where>-<what>: one cache per data file; a changed file or cache format replaces it
    where = hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]
    what = hashlib.sha1(json.dumps(
        [st.st_size, st.st_mtime_ns, on_error, _CACHE_VERSION]).encode()).hexdigest()[:8]
    cache_file = paths.cache_dir() / f"fer2013-{where}-{what}.npz"
    if cache_file.exists():
        try:
            with np.load(cache_file, allow_pickle=False) as z:
                return FERDataset(
                    images=z["images"], labels=z["labels"].astype(np.int64),
                    usage=np.asarray(SPLITS_AND_TEST)[z["usage"]], rows=z["rows"].astype(np.int64),
                    source=str(z["source"]), report=LoadReport.from_json(str(z["report"])))
        except Exception as exc:  # a corrupt cache is rebuilt, not trusted
            log.warning("ignoring unreadable cache %s (%s)", cache_file.name, exc)
    ds = read_fer2013_csv(path, on_error=on_error, progress=progress)
    with paths.atomic_path(cache_file) as tmp:
        np.savez_compressed(
            tmp, images=ds.images, labels=ds.labels.astype(np.int8),
            usage=np.array([SPLITS_AND_TEST.index(u) for u in ds.usage], dtype=np.int8),
            rows=ds.rows.astype(np.int32), source=ds.source, report=ds.report.to_json())
    for stale in paths.cache_dir().glob(f"fer2013-{where}-*.npz"):
        if stale != cache_file:
            stale.unlink(missing_ok=True)
    return ds


def _open_csv_text(path: Path) -> tuple[io.TextIOBase, str, list]:
    """Open the csv inside ``path`` (plain, gzip or tar.gz) as text; return (stream, form, closers)."""
    name = path.name.lower()
    closers: list = []
    try:
        if name.endswith((".tar.gz", ".tgz", ".tar")):
            tar = tarfile.open(path, "r:*")
            closers.append(tar)
            member = next((m for m in tar.getmembers()
                           if m.isfile() and m.name.lower().endswith(".csv")), None)
            if member is None:
                raise DataFormatError(f"{path.name}: the archive holds no .csv file; expected "
                                      "fer2013/fer2013.csv (the challenge's fer2013.tar.gz)")
            raw = tar.extractfile(member)
            stream = gzip.GzipFile(fileobj=raw) if member.name.endswith(".gz") else raw
            form = f"{path.name} (member {member.name})"
        elif name.endswith(".gz"):
            stream = gzip.open(path, "rb")
            form = path.name
        else:
            stream = open(path, "rb")
            form = path.name
    except (tarfile.ReadError, EOFError, OSError) as exc:
        for c in closers:
            c.close()
        raise DataFormatError(f"{path.name}: cannot open as {'archive' if 'tar' in name else 'file'}"
                              f" ({exc}); the download may be incomplete: download it again") from exc
    closers.append(stream)
    # utf-8-sig: a byte-order mark (Excel's "CSV UTF-8") is not part of the first column name
    # surrogateescape: a byte that is not UTF-8 reaches the row it sits in, which then names it
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="surrogateescape", newline="")
    return text, form, closers


def read_fer2013_csv(path: str | Path, *, on_error: str = "raise",
                     progress: bool = True) -> FERDataset:
    """Parse a FER-2013 csv (plain, ``.gz`` or inside ``fer2013.tar.gz``), without caching.

    Columns are found by name (``emotion``, ``pixels``, ``Usage``; spaces around names are
    ignored), so both ``fer2013.csv`` and ``icml_face_data.csv`` work; a file without
    ``Usage`` is taken as the Training split. See :func:`load_fer2013` for ``on_error``.
    """
    from tqdm.auto import tqdm

    path = Path(path)
    text, form, closers = _open_csv_text(path)
    report = LoadReport()
    images: list[np.ndarray] = []
    labels: list[int] = []
    usage: list[str] = []
    rows: list[int] = []

    def bad(row: int, why: str, exc: Exception | None = None, rec: list | None = None) -> None:
        where = f"{path.name} row {row} (line {row + 2})"
        if rec is not None and any(0xDC80 <= ord(c) <= 0xDCFF for f in rec for c in f):
            why = "it holds bytes that are not UTF-8 text; the file is damaged or not FER-2013"
        if on_error == "raise":
            raise DataFormatError(
                f"{where}: {why}. Fix or re-download the file, or load with "
                "on_error='skip' to leave such rows out (they are counted).") from exc
        report.skipped.append((f"row {row}", why))

    try:
        reader = csv.reader(text)
        try:
            header = next(reader)
        except StopIteration:
            raise DataFormatError(f"{path.name}: the file is empty; download it again") from None
        except (EOFError, OSError, gzip.BadGzipFile) as exc:
            form = "gzip" if path.name.lower().endswith("gz") else "text"
            raise DataFormatError(f"{path.name}: cannot be read as {form} "
                                  f"({exc}); the download is incomplete or not FER-2013: "
                                  "download it again") from None
        except UnicodeDecodeError as exc:
            raise DataFormatError(f"{path.name}: the header is not text ({exc.reason}); this "
                                  "is not a FER-2013 csv") from None
        cols = {h.strip().lower(): i for i, h in enumerate(header)}
        if "pixels" not in cols:
            raise DataFormatError(f"{path.name}: no 'pixels' column in header {header!r}; "
                                  "expected the FER-2013 csv (emotion,pixels,Usage)")
        if "emotion" not in cols:
            raise DataFormatError(f"{path.name}: no 'emotion' column (header {header!r}): this is "
                                  "the unlabelled challenge test.csv; use fer2013.csv instead")
        i_emo, i_pix, i_use = cols["emotion"], cols["pixels"], cols.get("usage")
        if i_use is None:
            report.notes.append("no Usage column: every row taken as Training")
        n_cols = len(header)
        bar = tqdm(desc=f"parsing {path.name}", unit=" rows", total=OFFICIAL_ROWS,
                   disable=not progress, leave=False)
        row = -1
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", "string or file could not be read",
                                        DeprecationWarning)
                for row, rec in enumerate(reader):
                    bar.update()
                    report.n_read += 1
                    if len(rec) != n_cols:
                        bad(row, f"{len(rec)} fields, expected {n_cols} ({', '.join(header)}); "
                            "the row is truncated or has stray commas", rec=rec)
                        continue
                    emo = rec[i_emo].strip()
                    if not emo.isdigit() or int(emo) >= len(CLASS_NAMES):
                        bad(row, f"unknown label {emo!r} (expected 0–6: {', '.join(CLASS_NAMES)})", rec=rec)
                        continue
                    split = rec[i_use].strip() if i_use is not None else "Training"
                    if split not in SPLITS:
                        bad(row, f"unknown Usage {split!r} (expected one of {', '.join(SPLITS)})", rec=rec)
                        continue
                    # fast C parser; it stops early (and warns) at a non-number, caught by the size
                    pixels = rec[i_pix]
                    px = np.fromstring(pixels, dtype=np.int32, sep=" ")
                    if px.size == N_PIXELS and not pixels.replace(" ", "").isdigit():
                        px = px[:0]  # a token such as "12.7", "1e2" or "255x" (the C parser
                        # reads its leading digits and stops, even at the very last value)
                    if px.size != N_PIXELS:
                        n_tok = len(rec[i_pix].split())
                        bad(row, "pixel values are not all whole numbers" if n_tok == N_PIXELS
                            else f"{n_tok} pixel values, expected {N_PIXELS} (48×48); the row is "
                            "truncated or not FER-2013", rec=rec)
                        continue
                    if px.min() < 0 or px.max() > 255:
                        bad(row, "pixel values outside 0–255")
                        continue
                    images.append(px.astype(np.uint8).reshape(IMAGE_SIZE, IMAGE_SIZE))
                    labels.append(int(emo))
                    usage.append(split)
                    rows.append(row)
        except (EOFError, OSError, gzip.BadGzipFile, tarfile.ReadError) as exc:
            msg = (f"the file ends abruptly after {row + 1:,} rows ({exc}); it is truncated: "
                   "download it again")
            if on_error == "raise":
                raise DataFormatError(f"{path.name}: {msg}") from exc
            report.skipped.append(("end of file", msg))
        except csv.Error as exc:
            bad(row + 1, f"csv syntax error ({exc})", exc)
        except UnicodeDecodeError as exc:
            msg = (f"a byte that is not UTF-8 text after row {row:,} (line {row + 2:,}; "
                   f"{exc.reason}); the file is damaged or not FER-2013: download it again")
            if on_error == "raise":
                raise DataFormatError(f"{path.name}: {msg}") from None
            report.skipped.append(("rest of file", msg))
        finally:
            bar.close()
    finally:
        for c in reversed(closers):
            c.close()
    if not images:
        raise DataFormatError(f"{path.name}: no valid FER-2013 rows were read")
    if report.n_read != OFFICIAL_ROWS:
        report.notes.append(f"{report.n_read:,} rows read; the official fer2013.csv has "
                            f"{OFFICIAL_ROWS:,}")
    return FERDataset(images=np.stack(images), labels=np.asarray(labels, dtype=np.int64),
                      usage=np.asarray(usage), rows=np.asarray(rows, dtype=np.int64),
                      source=f"FER-2013 csv ({form})", report=report)


def read_image_folders(root: str | Path, *, on_error: str = "raise",
                       progress: bool = True) -> FERDataset:
    """Read the image-folder layout: ``root/train/<class>/*`` and ``root/test/<class>/*``.

    Images must be 48×48 (grey, or colour that is converted to grey). Test files named
    ``PublicTest_*`` or ``PrivateTest_*`` keep that split; other test files become ``Test``.
    There is no csv row order (``rows`` is -1), so FERPlus cannot be attached.
    """
    from PIL import Image, UnidentifiedImageError
    from tqdm.auto import tqdm

    root = Path(root)
    files: list[tuple[Path, str, int]] = []
    for split_dir in sorted(p for p in root.iterdir() if p.is_dir()):
        split = _SPLIT_FOLDERS.get(split_dir.name.lower())
        if split is None:
            continue
        for class_dir in sorted(p for p in split_dir.iterdir() if p.is_dir()):
            cname = _CLASS_ALIASES.get(class_dir.name.lower())
            if cname is None:
                raise DataFormatError(
                    f"{split_dir.name}/{class_dir.name}: unknown class folder; expected one of "
                    f"{', '.join(CLASS_NAMES)}")
            for f in sorted(class_dir.iterdir()):
                if f.suffix.lower() in _IMAGE_SUFFIXES:
                    files.append((f, split, CLASS_NAMES.index(cname)))
    if not files:
        raise DataFormatError(f"{root.name}: no images in train/<class>/ or test/<class>/ folders")
    report = LoadReport(notes=["image-folder layout: no csv row order, so FERPlus labels cannot "
                               "be attached"])
    images, labels, usage = [], [], []
    for f, split, label in tqdm(files, desc=f"reading {root.name}/", disable=not progress,
                                leave=False):
        report.n_read += 1
        rel = f"{f.parent.parent.name}/{f.parent.name}/{f.name}"
        try:
            with Image.open(f) as im:
                arr = _grey(im)
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            if on_error == "raise":
                raise DataFormatError(f"{rel}: not a readable image ({exc}); remove or replace "
                                      "it") from None
            report.skipped.append((rel, "not a readable image"))
            continue
        if arr.shape != (IMAGE_SIZE, IMAGE_SIZE):
            why = f"image is {arr.shape[1]}×{arr.shape[0]}, expected 48×48"
            if on_error == "raise":
                raise DataFormatError(f"{rel}: {why}; resize it to 48×48 or remove it")
            report.skipped.append((rel, why))
            continue
        if split == "Test":
            for prefix in ("PublicTest", "PrivateTest"):
                if f.name.startswith(prefix + "_"):
                    split = prefix
        images.append(arr)
        labels.append(label)
        usage.append(split)
    if not images:
        reasons = "; ".join(f"{f}: {why}" for f, why in report.skipped[:3])
        raise DataFormatError(f"{root.name}: none of its {report.n_read:,} images could be used "
                              f"({reasons}{' …' if len(report.skipped) > 3 else ''})")
    if "Test" in usage:
        report.notes.append("test images without a PublicTest_/PrivateTest_ prefix are in split "
                            "'Test': there is no PublicTest for early stopping; hold out part "
                            "of Training instead")
    return FERDataset(images=np.stack(images).astype(np.uint8),
                      labels=np.asarray(labels, dtype=np.int64), usage=np.asarray(usage),
                      rows=np.full(len(images), -1, dtype=np.int64),
                      source=f"FER-2013 image folders ({root.name}/)", report=report)


def _grey(im) -> np.ndarray:
    """A Pillow image as grey ``uint8``: 16-bit grey is scaled, as :func:`fer_utils.faces.read_image`
    scales it (never clipped at 255); every other mode through Pillow's conversion."""
    if im.mode.startswith("I;16") or (im.mode == "I" and im.format == "PNG"):
        from fer_utils.faces import to_rgb  # faces builds on this module

        return to_rgb(im)[..., 0]
    return np.asarray(im.convert("L"))


def describe(ds: FERDataset) -> str:
    """A short Markdown paragraph saying what data a chapter runs on."""
    sizes = ", ".join(f"{s} {n:,}" for s, n in ds.split_sizes().items())
    if ds.is_sample:
        return ("**⚠ Running on the offline sample** — no FER-2013 was found (set `FER_DATA_DIR`, "
                "see the introduction). The sample is procedurally drawn faces, not FER-2013: "
                f"numbers below show the method, not the book's results. ({len(ds):,} images: {sizes})")
    return f"Data: {ds.source} — {len(ds):,} images ({sizes})."
