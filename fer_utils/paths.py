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
    path.mkdir(parents=True, exist_ok=True)
    return path


def repo_root() -> Path:
    """The course repository (the folder holding ``_config.yml``) for an editable install."""
    here = Path(__file__).resolve().parent.parent
    return here


def artifacts_dir(committed: bool = False) -> Path:
    """Training artifacts: ``$FER_ARTIFACTS_DIR``, else ``<repo>/data`` (committed).

    In quick mode (``FER_QUICK=1``) the default is ``<cache>/quick-artifacts`` instead, so
    the small models of test runs never land next to the book's models. ``committed=True``
    ignores quick mode: for readers of the book's results (the scorecard) that train nothing.
    """
    value = os.environ.get(ARTIFACTS_ENV, "").strip()
    if value:
        return Path(value).expanduser()
    if not committed and os.environ.get("FER_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}:
        return cache_dir() / "quick-artifacts"
    return repo_root() / "data"


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
