"""Where things live.

One setting decides where the datasets are: the environment variable ``FER_DATA_DIR``.
When it is unset the course looks in ``~/fer_data``. Inside that folder the loaders look for

* FER-2013 in any form a reader downloads (see :func:`fer_utils.data.find_fer2013`):
  ``fer2013/fer2013.csv[.gz]``, ``fer2013.tar.gz``, ``icml_face_data.csv`` or the image
  folders ``train/<class>/`` + ``test/<class>/``, either directly in the folder or in a
  ``fer2013/`` sub-folder;
* FERPlus labels: ``ferplus/fer2013new.csv`` or ``fer2013new.csv``.

Parsed arrays are cached in ``FER_CACHE_DIR`` (default ``~/.cache/fer_utils``), never next
to the data, so a read-only data folder works. Trained models and their metrics live in the
repository's ``data/`` folder (:func:`artifacts_dir`), which is committed.
"""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

DATA_ENV = "FER_DATA_DIR"
CACHE_ENV = "FER_CACHE_DIR"
ARTIFACTS_ENV = "FER_ARTIFACTS_DIR"
DEFAULT_DATA_DIR = Path("~/fer_data")
DEFAULT_CACHE_DIR = Path("~/.cache/fer_utils")


def data_dir() -> Path:
    """The dataset folder: ``$FER_DATA_DIR``, else ``~/fer_data`` (it may not exist)."""
    value = os.environ.get(DATA_ENV, "").strip()
    return Path(value).expanduser() if value else DEFAULT_DATA_DIR.expanduser()


def cache_dir() -> Path:
    """Folder for parsed-array caches: ``$FER_CACHE_DIR``, else ``~/.cache/fer_utils``."""
    value = os.environ.get(CACHE_ENV, "").strip()
    path = Path(value).expanduser() if value else DEFAULT_CACHE_DIR.expanduser()
    return output_dir(path, flag=f"{CACHE_ENV} ({path})" if value else "the cache folder")


def repo_root() -> Path:
    """The course repository (the folder holding ``_config.yml``) for an editable install;
    for an installed wheel, the folder above the package (``site-packages``)."""
    return Path(__file__).resolve().parent.parent


def in_checkout() -> bool:
    """Whether the package runs from a checkout of the course (an editable install), where
    ``data/`` is the repository's committed folder; otherwise it was installed from a wheel."""
    return (repo_root() / "_toc.yml").is_file()


#: where a wheel carries the book's committed artifacts (``data/`` of the repository)
PACKAGED_DATA = Path(__file__).resolve().parent / "_book_data"
#: where an installed (non-checkout) package writes what it trains
DEFAULT_USER_ARTIFACTS = Path("~/.local/share/fer_utils/artifacts")


def committed_dir() -> Path:
    """The book's committed artifacts and benchmarks: ``<repo>/data`` in a checkout, the copy
    inside the package (:data:`PACKAGED_DATA`) in a wheel install (Colab's first cell)."""
    return repo_root() / "data" if in_checkout() else PACKAGED_DATA


def lookup_dirs() -> tuple[Path, Path]:
    """Where a finished result is looked up, in order: the book's committed artifacts
    (:func:`committed_dir`), then the reader's own (:func:`artifacts_dir`)."""
    return committed_dir(), artifacts_dir()


def artifacts_dir(committed: bool = False) -> Path:
    """Training artifacts: ``$FER_ARTIFACTS_DIR``; else, in a checkout, ``<repo>/data``
    (committed), and in a wheel install a user folder (``~/.local/share/fer_utils/artifacts``),
    never ``site-packages``.

    In quick mode (``FER_QUICK=1``) the default is ``<cache>/quick-artifacts`` instead, so
    the small models of test runs never land next to the book's models. ``committed=True``
    asks for the book's own results (:func:`committed_dir`; the scorecard, chapters in quick
    mode), which train nothing.
    """
    value = os.environ.get(ARTIFACTS_ENV, "").strip()
    if value:
        return Path(value).expanduser()
    if committed:
        return committed_dir()
    if os.environ.get("FER_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}:
        return cache_dir() / "quick-artifacts"
    return repo_root() / "data" if in_checkout() else DEFAULT_USER_ARTIFACTS.expanduser()


def checkpoints_dir() -> Path:
    """Checkpoints of training runs in progress (:func:`fer_utils.fitting.checkpoint_dir`):
    ``<repo>/checkpoints`` when artifacts go to the repository's ``data/`` (a small checkpoint
    may be committed, so a long run continues on the next machine), else a hidden
    ``.checkpoints`` folder beside the artifacts. Never inside ``data/``."""
    artifacts = artifacts_dir()
    if in_checkout() and artifacts == repo_root() / "data":
        return repo_root() / "checkpoints"
    return artifacts / ".checkpoints"


def temp_sibling(path: os.PathLike | str) -> Path:
    """A unique temporary name beside ``path``, with the same suffix, for atomic writes.

    Write there, then ``Path.replace`` it onto ``path``: two processes that fill the same
    cache at once (tests in parallel, two notebooks) never share a half-written file.
    """
    import uuid

    path = Path(path)
    return path.with_name(f".{path.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp{path.suffix}")


@contextlib.contextmanager
def atomic_path(path: os.PathLike | str):
    """Write a file all at once: yields a :func:`temp_sibling` to write to, which replaces
    ``path`` when the block succeeds and is removed when it fails. A reader (another process,
    a run resumed after a kill) sees the old file or the new one, never half of one.

    >>> with atomic_path(cache_file) as tmp:      # doctest: +SKIP
    ...     np.save(tmp, maps)
    """
    path = Path(path)
    tmp = temp_sibling(path)
    try:
        yield tmp
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)


def display_path(path: os.PathLike | str) -> str:
    """A path as it may be shown to readers: relative to the data folder, never absolute.

    Committed notebook outputs must not show machine paths; ``$FER_DATA_DIR/...`` says
    where a file is without revealing whose machine it was.
    """
    path = Path(path)
    for base, label in ((data_dir(), f"${DATA_ENV}"), (cache_dir(), f"${CACHE_ENV}")):
        try:
            return f"{label}/{path.resolve().relative_to(base.resolve()).as_posix()}"
        except ValueError:
            continue
    return path.name


def output_dir(path: os.PathLike | str, *, flag: str = "output folder") -> Path:
    """A folder for a command's outputs, created if needed; a path that cannot be one (a file,
    a folder under a file, no permission) is a ``ValueError`` in one line naming ``flag``."""
    path = Path(path).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise ValueError(f"{flag} {path}: a file is in the way (it or a folder above it is a "
                         "file, not a folder); choose another folder") from None
    except PermissionError:
        raise ValueError(f"{flag} {path}: cannot create it (permission denied)") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"{flag} {path}: cannot write there (permission denied)")
    return path


def output_file(path: os.PathLike | str, *, flag: str = "output file") -> Path:
    """A file a command will write: its folder is made by :func:`output_dir`, and the path
    itself must not be a folder. Same one-line errors."""
    path = Path(path).expanduser()
    if path.is_dir():
        raise ValueError(f"{flag} {path}: is a folder; give a file name")
    output_dir(path.parent if str(path.parent) else ".", flag=flag)
    return path


def unique_stems(names: list[str]) -> list[str]:
    """One output name per input file: its stem, with ``-2``, ``-3`` … added to the stems that
    several inputs share (``a/face.jpg`` and ``b/face.jpg`` → ``face``, ``face-2``), so no
    output overwrites another's."""
    seen: dict[str, int] = {}
    taken = {Path(n).stem for n in names}
    out = []
    for n in names:
        stem = Path(n).stem
        if stem in seen:
            k = seen[stem] + 1
            while f"{stem}-{k}" in taken:
                k += 1
            seen[stem] = k
            taken.add(f"{stem}-{k}")
            out.append(f"{stem}-{k}")
        else:
            seen[stem] = 1
            out.append(stem)
    return out

