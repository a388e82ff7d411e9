"""fer_utils.affectnet on fixtures made here (AffectNet cannot be shared): both layouts, the
code mapping, counted drops, face boxes, lazy decoding."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fer_utils import affectnet as A
from fer_utils.dataset import DataFormatError
from fer_utils.ferplus import CLASS_NAMES_8

# code → expected course class name; 8–10 are dropped
EXPECTED = {0: "neutral", 1: "happy", 2: "sad", 3: "surprise", 4: "fear", 5: "disgust",
            6: "angry", 7: "contempt"}


def _photo(path, value=100, size=(120, 100)):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = np.full((size[1], size[0], 3), value, np.uint8)
    img[20:60, 30:70] = 255 - value  # the "face" region the csv box points at
    Image.fromarray(img).save(path)


@pytest.fixture
def release(tmp_path):
    root = tmp_path / "affectnet"
    for split, codes in (("train_set", range(11)), ("val_set", (1, 6, 9))):
        for k, code in enumerate(codes):
            stem = f"{split[:2]}{k}"
            _photo(root / split / "images" / f"{stem}.jpg", value=10 * code)
            ann = root / split / "annotations"
            ann.mkdir(parents=True, exist_ok=True)
            np.save(ann / f"{stem}_exp.npy", np.array(str(code)))
            np.save(ann / f"{stem}_val.npy", np.array(str(0.1 * code - 0.5)))
            np.save(ann / f"{stem}_aro.npy", np.array("0.25"))
            np.save(ann / f"{stem}_lnd.npy", np.zeros(136))
    (root / "train_set" / "images" / "tr3.jpg").unlink()  # an annotation without its image
    return root


@pytest.fixture
def csv_release(tmp_path):
    root = tmp_path / "affectnet-csv"
    lines = [",".join(A.CSV_COLUMNS[:5] + ("facial_landmarks",) + A.CSV_COLUMNS[5:])]
    for k, code in enumerate([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 1]):
        rel = f"{k % 3}/img{k}.png"
        if k != 11:  # the last record's image is missing
            _photo(root / "Manually_Annotated_Images" / rel, value=20 * (code % 8))
        lines.append(f"{rel},30,20,40,40,\"1;2;3\",{code},{0.1 * code - 0.5:.2f},0.3")
    lines.append("bad.png,x,20,40,40,\"\",1,0.1,0.1")
    (root / "training.csv").write_text("\n".join(lines) + "\n")
    (root / "validation.csv").write_text(lines[0] + "\n1/img1.png,30,20,40,40,\"\",6,0.0,0.0\n")
    return root


def test_the_folder_release(release):
    ds = A.load_affectnet(release)
    assert ds.layout == "release" and len(ds) == 8 - 1 + 2  # codes 0-7 minus the missing, val 1 and 6
    assert dict(ds.dropped) == {"none": 1, "uncertain": 2, "no-face": 1, "missing image": 1}
    names = [CLASS_NAMES_8[i] for i in ds.labels]
    assert names.count("contempt") == 1 and "angry" in names
    assert set(ds.usage) == {"Training", "Validation"}
    assert ds.image(0).shape == (48, 48) and ds.image(0).dtype == np.uint8
    assert np.allclose(ds.arousal, 0.25)


def test_the_csv_release_applies_the_face_box(csv_release):
    ds = A.load_affectnet(csv_release)
    assert ds.layout == "csv" and len(ds) == 8 + 1
    assert dict(ds.dropped) == {"none": 1, "uncertain": 1, "no-face": 1, "missing image": 2}
    for i in range(8):  # the box holds the inverted square only
        code = [c for c, n in EXPECTED.items() if n == CLASS_NAMES_8[ds.labels[i]]][0]
        face = ds.image(i, size=None)
        assert face.shape == (40, 40) and abs(int(face.mean()) - (255 - 20 * code)) <= 2
    assert ds.class_counts()["contempt"] == 1
    batches = list(ds.batches(batch_size=4))
    assert [len(b[0]) for b in batches] == [4, 4, 1] and batches[0][0].shape[1:] == (48, 48)


def test_layout_errors_say_what_was_expected(tmp_path):
    with pytest.raises(FileNotFoundError, match="requested from its authors"):
        A.load_affectnet(tmp_path / "nowhere")
    (tmp_path / "x").mkdir()
    with pytest.raises(DataFormatError, match="train_set/ and val_set/"):
        A.load_affectnet(tmp_path / "x")
    (tmp_path / "x" / "training.csv").write_text("a,b\n1,2\n")
    with pytest.raises(DataFormatError, match="no column"):
        A.load_affectnet(tmp_path / "x")
