"""fer_utils.paths: where data, caches, artifacts and checkpoints live, and atomic writes."""
from __future__ import annotations

import numpy as np
import pytest

from fer_utils import paths


def test_default_data_dir_when_unset(monkeypatch):
    monkeypatch.delenv("FER_DATA_DIR")
    assert paths.data_dir() == paths.DEFAULT_DATA_DIR.expanduser()


def test_display_path_hides_the_machine(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path))
    shown = paths.display_path(tmp_path / "fer2013" / "fer2013.csv.gz")
    assert shown == "$FER_DATA_DIR/fer2013/fer2013.csv.gz"
    assert str(tmp_path) not in paths.display_path("/somewhere/else/file.csv")


def test_quick_mode_artifacts_stay_out_of_the_repository(monkeypatch):
    monkeypatch.delenv("FER_ARTIFACTS_DIR", raising=False)
    monkeypatch.setenv("FER_QUICK", "1")
    assert paths.artifacts_dir() == paths.cache_dir() / "quick-artifacts"
    # readers of the book's results (the scorecard) still see the committed ones
    assert paths.artifacts_dir(committed=True) == paths.repo_root() / "data"
    monkeypatch.setenv("FER_QUICK", "0")
    assert paths.artifacts_dir() == paths.repo_root() / "data"


def test_temp_sibling_is_unique_and_keeps_the_suffix(tmp_path):
    target = tmp_path / "landmarks-abc.npz"
    a, b = paths.temp_sibling(target), paths.temp_sibling(target)
    assert a != b and a.parent == tmp_path and a.suffix == ".npz" and a.name.startswith(".")
    np.savez_compressed(a, x=np.arange(3))    # numpy keeps a name that already ends in .npz
    a.replace(target)
    assert np.load(target)["x"].tolist() == [0, 1, 2] and not a.exists()


def test_atomic_path_replaces_on_success_and_leaves_the_old_file_on_failure(tmp_path):
    target = tmp_path / "cache.npy"
    with paths.atomic_path(target) as tmp:
        np.save(tmp, np.arange(3))
    assert np.load(target).tolist() == [0, 1, 2]
    with pytest.raises(RuntimeError):
        with paths.atomic_path(target) as tmp:
            np.save(tmp, np.arange(5))
            raise RuntimeError("killed while writing")
    assert np.load(target).tolist() == [0, 1, 2]          # the old file, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache.npy"]   # no leftovers


def test_artifacts_follow_the_setting_and_checkpoints_never_go_into_data(tmp_path, monkeypatch):
    monkeypatch.delenv("FER_QUICK", raising=False)
    monkeypatch.delenv(paths.ARTIFACTS_ENV, raising=False)
    assert paths.artifacts_dir() == paths.repo_root() / "data"         # a checkout: committed
    assert paths.checkpoints_dir() == paths.repo_root() / "checkpoints"
    monkeypatch.setenv(paths.ARTIFACTS_ENV, str(tmp_path / "mine"))
    assert paths.artifacts_dir() == tmp_path / "mine"
    assert paths.artifacts_dir(committed=True) == tmp_path / "mine"     # the setting wins
    assert paths.checkpoints_dir() == tmp_path / "mine" / ".checkpoints"
    monkeypatch.delenv(paths.ARTIFACTS_ENV)
    assert paths.artifacts_dir(committed=True) == paths.committed_dir() == paths.repo_root() / "data"


def test_output_folders_are_made_and_files_refused_with_the_flag_named(tmp_path):
    made = paths.output_dir(tmp_path / "a" / "b", flag="--out")
    assert made.is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="--out"):
        paths.output_dir(tmp_path / "file", flag="--out")
    with pytest.raises(ValueError, match="is a folder"):
        paths.output_file(tmp_path, flag="--save")
    assert paths.unique_stems(["x/face.jpg", "y/face.jpg", "face-2.png", "z.png"]) == [
        "face", "face-3", "face-2", "z"]


def test_results_are_looked_up_in_the_book_first_then_the_readers_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_ARTIFACTS_DIR", str(tmp_path))
    assert paths.lookup_dirs() == (paths.committed_dir(), tmp_path)
