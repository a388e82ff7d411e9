"""Bringing FER-2013 into a Colab session, only when the reader asks for it.

Colab starts without the dataset, and the dataset may not be redistributed, so nothing is
fetched unless the reader chooses a source in the chapter's first cell:

``None`` (the default)
    fetch nothing; say what was found and how to get the real data (the chapter then runs on
    the offline sample and says so).
``"drive"``
    mount the reader's Google Drive (Google asks for consent) and use ``MyDrive/fer_data``,
    laid out as the README's "Getting the data" describes.
``"kaggle"``
    download the challenge archive with the reader's own Kaggle API token (from the
    ``KAGGLE_USERNAME``/``KAGGLE_KEY`` environment variables, ``~/.kaggle/kaggle.json`` or
    Colab's *Secrets* panel), after the reader has accepted the competition's rules.

Either way ``FER_DATA_DIR`` is pointed at the folder, so every loader finds it. FERPlus's
label file is public (MIT licence) and is fetched too unless ``ferplus=False``.

>>> from fer_utils import colab
>>> colab.get_data("drive")              # doctest: +SKIP
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

from fer_utils import paths, runtime
from fer_utils.data import find_fer2013

SOURCES = ("drive", "kaggle")
KAGGLE_COMPETITION = "challenges-in-representation-learning-facial-expression-recognition-challenge"
KAGGLE_FILE = "fer2013.tar.gz"
KAGGLE_RULES = f"https://www.kaggle.com/c/{KAGGLE_COMPETITION}/rules"
FERPLUS_URL = "https://raw.githubusercontent.com/microsoft/FERPlus/master/fer2013new.csv"
DRIVE_MOUNT = Path("/content/drive")
DRIVE_FOLDER = DRIVE_MOUNT / "MyDrive" / "fer_data"
LOCAL_FOLDER = Path("/content/fer_data")


class DataSourceError(RuntimeError):
    """The chosen source cannot deliver the data; the message says what to do."""


def _found(folder: Path | None = None) -> Path | None:
    return find_fer2013(folder)


def _use(folder: Path) -> None:
    os.environ[paths.DATA_ENV] = str(folder)


def _help() -> str:
    return ("To use the real FER-2013 in Colab, set DATA_SOURCE in the chapter's first cell and "
            "run it again:\n"
            f"  DATA_SOURCE = \"drive\"   your Google Drive, folder {DRIVE_FOLDER.relative_to(DRIVE_MOUNT)}"
            " (fer2013/fer2013.csv.gz or .tar.gz, ferplus/fer2013new.csv)\n"
            "  DATA_SOURCE = \"kaggle\"  your Kaggle API token (Colab: Secrets KAGGLE_USERNAME and "
            f"KAGGLE_KEY), after accepting the rules at {KAGGLE_RULES}")


def kaggle_credentials() -> dict[str, str] | None:
    """The reader's Kaggle token from the environment, ``~/.kaggle`` or Colab's Secrets."""
    user, key = os.environ.get("KAGGLE_USERNAME"), os.environ.get("KAGGLE_KEY")
    if user and key:
        return {"username": user, "key": key}
    token = Path(os.environ.get("KAGGLE_CONFIG_DIR", "~/.kaggle")).expanduser() / "kaggle.json"
    if token.is_file():
        try:
            d = json.loads(token.read_text())
            if d.get("username") and d.get("key"):
                return {"username": d["username"], "key": d["key"]}
        except (OSError, ValueError):
            pass
    if runtime.in_colab():
        try:
            from google.colab import userdata  # Colab asks the reader to grant access

            user, key = userdata.get("KAGGLE_USERNAME"), userdata.get("KAGGLE_KEY")
            if user and key:
                return {"username": user, "key": key}
        except Exception:  # a secret that is missing or not granted
            return None
    return None


def _download_kaggle(folder: Path, creds: dict[str, str]) -> Path:
    exe = shutil.which("kaggle")
    if exe is None:
        raise DataSourceError("the kaggle command is not installed: run  %pip install kaggle")
    target = folder / "fer2013"
    target.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, KAGGLE_USERNAME=creds["username"], KAGGLE_KEY=creds["key"])
    run = subprocess.run([exe, "competitions", "download", "-c", KAGGLE_COMPETITION,
                          "-f", KAGGLE_FILE, "-p", str(target)],
                         capture_output=True, text=True, env=env)
    if run.returncode != 0:
        last = (run.stderr or run.stdout).strip().splitlines()[-1:] or ["no message"]
        hint = (f" Accept the competition's rules first: {KAGGLE_RULES}"
                if "403" in last[0] or "rules" in last[0].lower() else "")
        raise DataSourceError(f"Kaggle download failed: {last[0]}.{hint}")
    for z in target.glob("*.zip"):  # Kaggle zips some single-file downloads
        with zipfile.ZipFile(z) as archive:
            archive.extractall(target)
        z.unlink()
    return target


def _download_ferplus(folder: Path) -> Path | None:
    import urllib.request

    out = folder / "ferplus" / "fer2013new.csv"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        urllib.request.urlretrieve(FERPLUS_URL, out)
    except OSError as err:
        print(f"FERPlus labels not fetched ({err}); the FERPlus parts will say so.")
        return None
    return out


def replaced_since(loaded: set[str], since: float) -> list[str]:
    """Distributions whose files an install replaced at or after ``since`` (a ``time.time()``)
    while one of their modules was already loaded (``loaded``: ``set(sys.modules)`` taken
    before the install). Such a module stays the old version in this process: the runtime
    must restart to use the new one. Returns ``["name version", ...]``."""
    import importlib.metadata as md

    tops = {name.split(".")[0] for name in loaded}
    owners = md.packages_distributions()
    changed = set()
    for top in tops:
        for dist_name in owners.get(top, []):
            try:
                dist = md.distribution(dist_name)
            except md.PackageNotFoundError:
                continue
            meta = next((f for f in dist.files or [] if f.name == "METADATA"), None)
            if meta is None:
                continue
            try:
                mtime = Path(dist.locate_file(meta)).stat().st_mtime
            except OSError:
                continue
            if mtime >= since:
                changed.add(f"{dist.metadata['Name']} {dist.version}")
    return sorted(changed)


def restart_if_replaced(loaded: set[str], since: float, *, restart=None) -> list[str]:
    """The set-up cell's check after its ``%pip install``: if the install replaced a package
    this runtime had already imported (:func:`replaced_since`), say which and restart the
    runtime (in Colab: end the kernel process, which Colab restarts at once; the reader runs
    the cell again, and the install then changes nothing). Elsewhere, only say so.
    Returns the replaced distributions (an empty list: nothing to do)."""
    changed = replaced_since(loaded, since)
    if changed:
        print(f"The install replaced {', '.join(changed)}, which this runtime had already "
              "loaded. Restarting the runtime so that it uses the new version: run this cell "
              "again afterwards (Runtime > Run all continues the chapter).")
        if restart is not None:
            restart()
        elif runtime.in_colab():
            import signal

            os.kill(os.getpid(), signal.SIGKILL)
    return changed


def get_data(source: str | None = None, *, folder: str | Path | None = None,
             ferplus: bool = True) -> Path | None:
    """Make FER-2013 available in this session from the reader's chosen source.

    Parameters
    ----------
    source : {None, "drive", "kaggle"}
        Where the reader allows the data to come from (module docstring). ``None`` fetches
        nothing and explains the choices.
    folder : path, optional
        Where the data lives (default ``MyDrive/fer_data`` for ``"drive"``,
        ``/content/fer_data`` for ``"kaggle"``).
    ferplus : bool
        Also fetch FERPlus's public label file when it is missing.

    Returns
    -------
    Path or None
        The data folder, now in ``FER_DATA_DIR``; None when no data is available (the
        chapters then run on the offline sample).

    Raises
    ------
    ValueError
        An unknown ``source``.
    DataSourceError
        ``"drive"`` outside Colab, ``"kaggle"`` without a token, or a failed download.
    """
    if source is not None and source not in SOURCES:
        raise ValueError(f"DATA_SOURCE must be None or one of {SOURCES}, got {source!r}")
    already = _found()
    if already is not None and source is None:
        print(f"FER-2013 found ({paths.display_path(already)}).")
        return paths.data_dir()
    if source is None:
        print("No FER-2013 in this session: the chapter runs on the offline sample.\n" + _help())
        return None
    if source == "drive":
        if not runtime.in_colab():
            raise DataSourceError("DATA_SOURCE='drive' works in Colab only; elsewhere set "
                                  "FER_DATA_DIR to your data folder (README, 'Getting the data')")
        from google.colab import drive  # Google asks the reader for consent

        drive.mount(str(DRIVE_MOUNT))
        folder = Path(folder) if folder else DRIVE_FOLDER
    else:
        creds = kaggle_credentials()
        if creds is None:
            raise DataSourceError(
                "no Kaggle API token: create one at https://www.kaggle.com/settings (API, "
                "'Create New Token'), then add KAGGLE_USERNAME and KAGGLE_KEY to Colab's Secrets "
                f"(the key icon) or upload kaggle.json to ~/.kaggle; accept the rules at "
                f"{KAGGLE_RULES}")
        folder = Path(folder) if folder else LOCAL_FOLDER
        if _found(folder) is None:
            print("Downloading the challenge archive from Kaggle with your token ...")
            _download_kaggle(folder, creds)
    _use(folder)
    if ferplus:
        _download_ferplus(folder)
    if _found(folder) is None:
        print(f"No FER-2013 in {folder}: the chapter runs on the offline sample.\n"
              "Put fer2013/fer2013.csv.gz (or fer2013.csv, fer2013.tar.gz) and "
              "ferplus/fer2013new.csv there, or choose another source.\n" + _help())
        return None
    print(f"FER-2013 ready in {folder}; FER_DATA_DIR points there.")
    return folder
