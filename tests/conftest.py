"""Fixtures: small FER-2013 files in every downloadable format, generated per test session."""
from __future__ import annotations

import csv
import gzip
import io
import tarfile

import numpy as np
import pytest

from fer_utils.dataset import CLASS_NAMES

N_ROWS = 30
USAGE = ["Training"] * 20 + ["PublicTest"] * 5 + ["PrivateTest"] * 5


@pytest.fixture(autouse=True)
def _isolated_dirs(tmp_path, monkeypatch):
    """Each test gets its own empty data and cache folders (no real data, no shared cache),
    and no network: nothing is downloaded in a test (a test that needs a download fakes it)."""
    import urllib.error
    import urllib.request

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError(f"tests do not use the network ({url})")

    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "no-data-here"))
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(urllib.request, "urlopen", no_network)


@pytest.fixture(scope="session")
def truth():
    """The ground truth written into every fixture file."""
    rng = np.random.default_rng(42)
    images = rng.integers(0, 256, size=(N_ROWS, 48, 48), dtype=np.uint8)
    labels = np.arange(N_ROWS) % len(CLASS_NAMES)
    return {"images": images, "labels": labels, "usage": np.array(USAGE)}


def csv_text(truth, header=("emotion", "pixels", "Usage"), rows=None) -> str:
    """A FER-2013 csv as text; ``rows`` may replace records (a list of lists of strings)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(header)
    if rows is None:
        rows = []
        for img, lab, use in zip(truth["images"], truth["labels"], truth["usage"]):
            rec = {"emotion": str(lab), "pixels": " ".join(map(str, img.ravel())), "Usage": use}
            rows.append([rec[h.strip()] for h in header])
    w.writerows(rows)
    return out.getvalue()


@pytest.fixture(scope="session")
def fixture_files(tmp_path_factory, truth):
    """Paths of the same 30 images in each format readers download."""
    d = tmp_path_factory.mktemp("fer-formats")
    text = csv_text(truth)
    plain = d / "fer2013.csv"
    plain.write_text(text)
    gz = d / "gz" / "fer2013.csv.gz"
    gz.parent.mkdir()
    gz.write_bytes(gzip.compress(text.encode()))
    tgz = d / "tar" / "fer2013.tar.gz"
    tgz.parent.mkdir()
    with tarfile.open(tgz, "w:gz") as tar:
        data = text.encode()
        info = tarfile.TarInfo("fer2013/fer2013.csv")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        for extra in ("fer2013/README", "fer2013/fer2013.bib"):
            info = tarfile.TarInfo(extra)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
    icml = d / "icml" / "icml_face_data.csv"
    icml.parent.mkdir()
    icml.write_text(csv_text(truth, header=("emotion", " Usage", " pixels")))
    return {"csv": plain, "csv.gz": gz, "tar.gz": tgz, "icml": icml}


@pytest.fixture(scope="session")
def image_folders(tmp_path_factory, truth):
    """The Kaggle image-folder layout of the same images: train/<class>/, test/<class>/."""
    from PIL import Image

    root = tmp_path_factory.mktemp("fer-folders") / "fer2013"
    for i, (img, lab, use) in enumerate(zip(truth["images"], truth["labels"], truth["usage"])):
        split = "train" if use == "Training" else "test"
        folder = root / split / CLASS_NAMES[lab]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / f"{use}_{i:05d}.png")
    return root


@pytest.fixture(scope="module")
def sample():
    """The offline sample (the same every call), for tests that train on it."""
    from fer_utils.sample import make_sample

    return make_sample()


@pytest.fixture
def arts(tmp_path, monkeypatch):
    """An empty artifacts folder of the test's own (FER_ARTIFACTS_DIR)."""
    monkeypatch.setenv("FER_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    return tmp_path / "artifacts"
