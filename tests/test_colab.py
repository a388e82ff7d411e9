"""fer_utils.colab: nothing is fetched unless the reader chooses a source; clear messages.

Colab and Kaggle are replaced by fakes: no test touches the network or a real Drive.
"""
from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from fer_utils import colab, paths


@pytest.fixture
def no_kaggle_env(monkeypatch, tmp_path):
    for var in ("KAGGLE_USERNAME", "KAGGLE_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-kaggle"))
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)


@pytest.fixture
def fake_colab(monkeypatch, tmp_path):
    """A google.colab with a drive that 'mounts' into tmp_path and a Secrets store."""
    mounted, secrets = [], {}
    drive = types.SimpleNamespace(mount=lambda where: mounted.append(where))
    userdata = types.SimpleNamespace(get=lambda name: secrets[name])
    pkg = types.ModuleType("google.colab")
    pkg.drive, pkg.userdata = drive, userdata
    google = types.ModuleType("google")
    google.colab = pkg
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", pkg)
    monkeypatch.setattr(colab, "DRIVE_MOUNT", tmp_path / "drive")
    monkeypatch.setattr(colab, "DRIVE_FOLDER", tmp_path / "drive" / "MyDrive" / "fer_data")
    return types.SimpleNamespace(mounted=mounted, secrets=secrets)


def _offline_ferplus(monkeypatch):
    fetched = []
    monkeypatch.setattr(colab, "_download_ferplus", lambda folder: fetched.append(folder))
    return fetched


def test_default_fetches_nothing_and_explains(capsys, no_kaggle_env, monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("nothing may run"))
    assert colab.get_data() is None
    out = capsys.readouterr().out
    assert "offline sample" in out and 'DATA_SOURCE = "drive"' in out and "kaggle" in out


def test_data_already_there_is_used(tmp_path, monkeypatch, capsys):
    (tmp_path / "fer2013").mkdir()
    (tmp_path / "fer2013" / "fer2013.csv").write_text("emotion,pixels,Usage\n")
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path))
    assert colab.get_data() == tmp_path
    assert "$FER_DATA_DIR" in capsys.readouterr().out  # no machine path in the message


def test_unknown_source_lists_the_choices():
    with pytest.raises(ValueError, match=r"None or one of \('drive', 'kaggle'\)"):
        colab.get_data("dropbox")


def test_drive_outside_colab_is_a_clear_error(no_kaggle_env, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    with pytest.raises(colab.DataSourceError, match="Colab only"):
        colab.get_data("drive")


def test_drive_mounts_and_points_fer_data_dir_there(fake_colab, monkeypatch, capsys):
    fetched = _offline_ferplus(monkeypatch)
    folder = colab.DRIVE_FOLDER
    (folder / "fer2013").mkdir(parents=True)
    (folder / "fer2013" / "fer2013.csv.gz").write_bytes(b"")
    assert colab.get_data("drive") == folder
    assert fake_colab.mounted == [str(colab.DRIVE_MOUNT)]
    assert paths.data_dir() == folder and fetched == [folder]


def test_drive_without_the_files_says_what_to_put_there(fake_colab, monkeypatch, capsys):
    _offline_ferplus(monkeypatch)
    assert colab.get_data("drive") is None
    out = capsys.readouterr().out
    assert "fer2013/fer2013.csv.gz" in out and "offline sample" in out


def test_kaggle_without_a_token_says_how_to_get_one(no_kaggle_env):
    with pytest.raises(colab.DataSourceError, match="no Kaggle API token.*Secrets.*rules"):
        colab.get_data("kaggle")


def test_kaggle_token_sources(no_kaggle_env, tmp_path, monkeypatch, fake_colab):
    assert colab.kaggle_credentials() is None   # a missing secret is not an error
    fake_colab.secrets.update(KAGGLE_USERNAME="ann", KAGGLE_KEY="s3cret")
    assert colab.kaggle_credentials() == {"username": "ann", "key": "s3cret"}
    token = tmp_path / "no-kaggle" / "kaggle.json"
    token.parent.mkdir()
    token.write_text(json.dumps({"username": "bob", "key": "k"}))
    assert colab.kaggle_credentials()["username"] == "bob"
    monkeypatch.setenv("KAGGLE_USERNAME", "eve")
    monkeypatch.setenv("KAGGLE_KEY", "e")
    assert colab.kaggle_credentials()["username"] == "eve"


def test_kaggle_download_uses_the_token_and_unzips(no_kaggle_env, tmp_path, monkeypatch):
    import zipfile

    _offline_ferplus(monkeypatch)
    monkeypatch.setenv("KAGGLE_USERNAME", "ann")
    monkeypatch.setenv("KAGGLE_KEY", "s3cret")
    monkeypatch.setattr(colab.shutil, "which", lambda name: "/usr/bin/kaggle")
    calls = []

    def fake_run(cmd, **kw):
        calls.append((cmd, kw["env"]))
        target = Path(cmd[cmd.index("-p") + 1])
        with zipfile.ZipFile(target / "fer2013.tar.gz.zip", "w") as z:
            z.writestr("fer2013.tar.gz", b"archive bytes")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(colab.subprocess, "run", fake_run)
    folder = tmp_path / "fer_data"
    assert colab.get_data("kaggle", folder=folder) == folder
    cmd, env = calls[0]
    assert cmd[1:5] == ["competitions", "download", "-c", colab.KAGGLE_COMPETITION]
    assert env["KAGGLE_KEY"] == "s3cret" and "s3cret" not in " ".join(cmd)
    assert (folder / "fer2013" / "fer2013.tar.gz").is_file()
    assert not list((folder / "fer2013").glob("*.zip"))


def test_kaggle_refusal_points_to_the_rules(no_kaggle_env, tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "ann")
    monkeypatch.setenv("KAGGLE_KEY", "s3cret")
    monkeypatch.setattr(colab.shutil, "which", lambda name: "/usr/bin/kaggle")
    monkeypatch.setattr(colab.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(
        cmd, 1, "", "403 - Forbidden - You must accept this competition's rules"))
    with pytest.raises(colab.DataSourceError, match="Kaggle download failed: 403.*rules"):
        colab.get_data("kaggle", folder=tmp_path / "d")


def test_kaggle_cli_missing(no_kaggle_env, tmp_path, monkeypatch):
    monkeypatch.setenv("KAGGLE_USERNAME", "ann")
    monkeypatch.setenv("KAGGLE_KEY", "s3cret")
    monkeypatch.setattr(colab.shutil, "which", lambda name: None)
    with pytest.raises(colab.DataSourceError, match="pip install kaggle"):
        colab.get_data("kaggle", folder=tmp_path / "d")


def _fake_distribution(root, name="fakepkg_rf", version="1.0"):
    """A minimal installed distribution (module + .dist-info) under ``root``."""
    (root / f"{name}.py").write_text(f"__version__ = '{version}'\n")
    info = root / f"{name}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "top_level.txt").write_text(f"{name}\n")
    (info / "RECORD").write_text(f"{name}.py,,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n")
    return info


def test_a_package_replaced_after_it_was_imported_asks_for_a_restart(tmp_path, monkeypatch, capsys):
    import importlib
    import os
    import sys
    import time

    info = _fake_distribution(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    importlib.import_module("fakepkg_rf")
    monkeypatch.delitem(sys.modules, "fakepkg_rf")
    monkeypatch.setitem(sys.modules, "fakepkg_rf", importlib.import_module("fakepkg_rf"))
    loaded, t0 = set(sys.modules), time.time()
    restarts = []
    # nothing replaced since: nothing to do
    assert colab.restart_if_replaced(loaded, t0, restart=lambda: restarts.append(1)) == []
    os.utime(info / "METADATA", (t0 + 1, t0 + 1))  # "pip install" rewrote it
    assert colab.restart_if_replaced(loaded, t0, restart=lambda: restarts.append(1)) == ["fakepkg_rf 1.0"]
    assert restarts == [1] and "Restarting the runtime" in capsys.readouterr().out
    # a package installed by the cell but imported only after it needs no restart
    assert colab.replaced_since(loaded - {"fakepkg_rf"}, t0) == []
