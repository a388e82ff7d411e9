"""fer_utils.data: every download format, the cache, the sample fallback, the protocol guard, bad input."""
from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
import time

import numpy as np
import pytest

from fer_utils import data, paths
from fer_utils.data import load_fer2013
from fer_utils.dataset import DataFormatError, ProtocolError
from tests.conftest import csv_text


def assert_matches(ds, truth):
    np.testing.assert_array_equal(ds.images, truth["images"])
    np.testing.assert_array_equal(ds.labels, truth["labels"])
    np.testing.assert_array_equal(ds.usage, truth["usage"])
    np.testing.assert_array_equal(ds.rows, np.arange(len(truth["labels"])))
    assert not ds.is_sample


@pytest.mark.parametrize("form", ["csv", "csv.gz", "tar.gz", "icml"])
def test_every_csv_form_reads_the_same_images(form, fixture_files, truth):
    ds = load_fer2013(fixture_files[form], progress=False)
    assert_matches(ds, truth)
    assert ds.split_sizes() == {"Training": 20, "PublicTest": 5, "PrivateTest": 5}
    assert "30 rows read; the official fer2013.csv has 35,887" in ds.report.summary()


def test_data_dir_setting_is_the_one_place(fixture_files, truth, tmp_path, monkeypatch):
    root = tmp_path / "mydata"
    (root / "fer2013").mkdir(parents=True)
    shutil.copy(fixture_files["csv.gz"], root / "fer2013" / "fer2013.csv.gz")
    monkeypatch.setenv("FER_DATA_DIR", str(root))
    assert paths.data_dir() == root
    assert data.find_fer2013() == root / "fer2013" / "fer2013.csv.gz"
    assert_matches(load_fer2013(progress=False), truth)


def test_image_folder_layout(image_folders, truth):
    ds = load_fer2013(image_folders, progress=False)
    assert not ds.has_row_order
    assert (ds.rows == -1).all()
    # files named PublicTest_*/PrivateTest_* keep their split
    assert ds.split_sizes() == {"Training": 20, "PublicTest": 5, "PrivateTest": 5}
    # same images and labels, in a different (folder) order
    key = lambda imgs, labs: sorted((im.tobytes(), int(l)) for im, l in zip(imgs, labs))
    assert key(ds.images, ds.labels) == key(truth["images"], truth["labels"])
    assert any("no csv row order" in n for n in ds.report.notes)


def test_image_folder_without_prefixes_is_one_test_split(tmp_path, truth):
    from PIL import Image

    for i, split in enumerate(["train", "train", "test"]):
        folder = tmp_path / split / "happy"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(truth["images"][i]).save(folder / f"img{i}.jpg", quality=100)
    ds = load_fer2013(tmp_path, progress=False)
    assert ds.split_sizes() == {"Training": 2, "Test": 1}
    assert any("no PublicTest" in n for n in ds.report.notes)
    with pytest.raises(ProtocolError):
        ds.split("Test")


def test_second_load_uses_the_cache(fixture_files, truth, monkeypatch):
    first = load_fer2013(fixture_files["csv.gz"], progress=False)
    cached = list(paths.cache_dir().glob("fer2013-*.npz"))
    assert len(cached) == 1

    def boom(*a, **k):
        raise AssertionError("the csv was parsed again")

    monkeypatch.setattr(data, "read_fer2013_csv", boom)
    t = time.perf_counter()
    second = load_fer2013(fixture_files["csv.gz"], progress=False)
    assert time.perf_counter() - t < 2
    assert_matches(second, truth)
    assert second.source == first.source


def test_cache_is_rebuilt_when_the_file_changes(tmp_path, truth):
    f = tmp_path / "fer2013.csv"
    f.write_text(csv_text(truth))
    assert len(load_fer2013(f, progress=False)) == 30
    shorter = csv_text(truth).splitlines()[:11]
    f.write_text("\n".join(shorter) + "\n")
    os.utime(f, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert len(load_fer2013(f, progress=False)) == 10
    # the stale cache of the old file is gone; another data file keeps its own
    assert len(list(paths.cache_dir().glob("fer2013-*.npz"))) == 1
    other = tmp_path / "other" / "fer2013.csv"
    other.parent.mkdir()
    other.write_text(csv_text(truth))
    load_fer2013(other, progress=False)
    assert len(list(paths.cache_dir().glob("fer2013-*.npz"))) == 2


def test_corrupt_cache_is_ignored(fixture_files, truth):
    load_fer2013(fixture_files["csv"], progress=False)
    (cache,) = paths.cache_dir().glob("fer2013-*.npz")
    cache.write_bytes(b"not an npz")
    assert_matches(load_fer2013(fixture_files["csv"], progress=False), truth)


def test_no_data_falls_back_to_the_announced_sample():
    with pytest.warns(UserWarning, match="OFFLINE SAMPLE"):
        ds = load_fer2013()
    assert ds.is_sample
    assert set(ds.splits) == {"Training", "PublicTest", "PrivateTest"}
    assert "offline sample" in data.describe(ds)


def test_no_data_without_sample_says_what_to_do():
    with pytest.raises(FileNotFoundError, match="FER_DATA_DIR"):
        load_fer2013(allow_sample=False)


def test_explicit_missing_path_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="Getting the data"):
        load_fer2013(tmp_path / "nope.csv")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no FER-2013 found"):
        load_fer2013(tmp_path / "empty")


def test_private_test_needs_final_flag(fixture_files):
    ds = load_fer2013(fixture_files["csv"], progress=False)
    assert len(ds.split("Training")) == 20
    assert len(ds.split("PublicTest")) == 5
    with pytest.raises(ProtocolError, match="final evaluation"):
        ds.split("PrivateTest")
    assert len(ds.split("PrivateTest", final=True)) == 5
    with pytest.raises(KeyError, match="no split 'Validation'"):
        ds.split("Validation")


# ---------------------------------------------------------------- bad input

def _rows(truth):
    return [[str(l), " ".join(map(str, im.ravel())), u]
            for im, l, u in zip(truth["images"], truth["labels"], truth["usage"])]


@pytest.mark.parametrize("damage, message", [
    (lambda r: r[3].__setitem__(1, " ".join(r[3][1].split()[:1000])), "row 3 .*1000 pixel values"),
    (lambda r: r[4].__setitem__(0, "9"), "row 4 .*unknown label '9'"),
    (lambda r: r[5].__setitem__(0, "happy"), "row 5 .*unknown label 'happy'"),
    (lambda r: r[6].__setitem__(2, "Validation"), "row 6 .*unknown Usage 'Validation'"),
    (lambda r: r[7].append("extra"), "row 7 .*4 fields, expected 3"),
    (lambda r: r[8].__setitem__(1, r[8][1].replace("1", "x", 1)), "row 8 .*not all whole numbers"),
    (lambda r: r[9].__setitem__(1, "300 " + " ".join(r[9][1].split()[1:])), "row 9 .*outside 0–255"),
])
def test_malformed_rows_are_named(tmp_path, truth, damage, message):
    rows = _rows(truth)
    damage(rows)
    f = tmp_path / "fer2013.csv"
    f.write_text(csv_text(truth, rows=rows))
    with pytest.raises(DataFormatError, match=message):
        load_fer2013(f, progress=False)
    # skip mode: the bad row is left out, counted and reported
    with pytest.warns(UserWarning, match="1 records .* skipped"):
        ds = load_fer2013(f, on_error="skip", progress=False)
    assert len(ds) == 29 and ds.report.n_skipped == 1
    assert ds.report.skipped[0][0].startswith("row ")


def test_truncated_gzip(tmp_path, truth):
    blob = gzip.compress(csv_text(truth).encode())
    f = tmp_path / "fer2013.csv.gz"
    f.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataFormatError, match="truncated"):
        load_fer2013(f, progress=False)
    with pytest.warns(UserWarning):
        ds = load_fer2013(f, on_error="skip", progress=False)
    assert 0 < len(ds) < 30
    assert ds.report.n_skipped >= 1


def test_truncated_last_row(tmp_path, truth):
    text = csv_text(truth)
    f = tmp_path / "fer2013.csv"
    f.write_text(text[: len(text) - 3000])
    with pytest.raises(DataFormatError, match="row 29 .*truncated"):
        load_fer2013(f, progress=False)


def test_archive_without_csv(tmp_path):
    f = tmp_path / "fer2013.tar.gz"
    with tarfile.open(f, "w:gz") as tar:
        info = tarfile.TarInfo("fer2013/README")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    with pytest.raises(DataFormatError, match="holds no .csv"):
        load_fer2013(f, progress=False)


def test_not_an_archive(tmp_path):
    f = tmp_path / "fer2013.tar.gz"
    f.write_text("<html>Not found</html>")
    with pytest.raises(DataFormatError, match="download it again"):
        load_fer2013(f, progress=False)


def test_empty_and_unlabelled_files(tmp_path):
    empty = tmp_path / "a" / "fer2013.csv"
    empty.parent.mkdir()
    empty.write_text("")
    with pytest.raises(DataFormatError, match="empty"):
        load_fer2013(empty, progress=False)
    test_csv = tmp_path / "b" / "fer2013.csv"
    test_csv.parent.mkdir()
    test_csv.write_text("pixels\n" + " ".join(["0"] * 2304) + "\n")
    with pytest.raises(DataFormatError, match="unlabelled"):
        load_fer2013(test_csv, progress=False)


def test_file_without_usage_is_training(tmp_path, truth):
    f = tmp_path / "train.csv"
    f.write_text(csv_text(truth, header=("emotion", "pixels")))
    ds = data.read_fer2013_csv(f, progress=False)
    assert ds.split_sizes() == {"Training": 30}
    assert any("no Usage column" in n for n in ds.report.notes)


def test_image_folder_bad_files(tmp_path, truth):
    from PIL import Image

    good = tmp_path / "train" / "sad"
    good.mkdir(parents=True)
    Image.fromarray(truth["images"][0]).save(good / "a.png")
    Image.fromarray(np.zeros((64, 64), np.uint8)).save(good / "big.png")
    (good / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n trunc")
    with pytest.raises(DataFormatError, match="train/sad/big.png: image is 64×64"):
        load_fer2013(tmp_path, progress=False)
    with pytest.warns(UserWarning, match="2 records"):
        ds = load_fer2013(tmp_path, on_error="skip", progress=False)
    assert len(ds) == 1
    reasons = dict(ds.report.skipped)
    assert "not a readable image" in reasons["train/sad/broken.png"]
    (tmp_path / "train" / "bored").mkdir()
    with pytest.raises(DataFormatError, match="unknown class folder"):
        load_fer2013(tmp_path, progress=False)
