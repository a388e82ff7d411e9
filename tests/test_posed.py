"""fer_utils.posed: JAFFE and CK+ layouts (generated fixture files), subject-independent splits."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fer_utils import posed as P
from fer_utils.dataset import CLASS_NAMES, DataFormatError

SUBJECTS = ["KA", "KL", "KM"]


def _face(seed: int, size: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (size, size), dtype=np.uint8)


@pytest.fixture
def jaffe(tmp_path):
    root = tmp_path / "jaffe" / "jaffedbase"
    root.mkdir(parents=True)
    n = 0
    for s in SUBJECTS:
        for code in P.JAFFE_CODES:
            Image.fromarray(_face(n, 64)).save(root / f"{s}.{code}1.{n + 1}.tiff")
            n += 1
    (root / "README").write_text("not an image")
    Image.fromarray(_face(99, 64)).save(root / "holiday.tiff")  # image with a foreign name
    return root.parent


def test_jaffe_names_give_subject_and_label(jaffe):
    ds = P.load_jaffe(jaffe)
    assert len(ds) == 21 and ds.name == "JAFFE"
    assert sorted(set(ds.subjects)) == SUBJECTS
    assert set(ds.class_counts().values()) == {3}
    i = list(ds.files).index("jaffedbase/KL.SU1.14.tiff")
    assert ds.subjects[i] == "KL" and CLASS_NAMES[ds.labels[i]] == "surprise"
    assert ds.images[i].shape == (64, 64) and ds.images[i].dtype == np.uint8
    assert ds.skipped == {"unrecognised file name": 1}
    assert ds.resized(48).shape == (21, 48, 48)


def test_jaffe_missing_or_empty(tmp_path):
    with pytest.raises(FileNotFoundError):
        P.load_jaffe(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataFormatError, match="KA.AN1.39"):
        P.load_jaffe(tmp_path / "empty")


@pytest.fixture
def ckplus(tmp_path):
    """Official layout: 3 subjects, each with a labelled 4-frame sequence and an unlabelled one."""
    root = tmp_path / "CK+"
    codes = {"S005": 3, "S010": 5, "S011": 2}  # disgust, happy, contempt
    for k, (subj, code) in enumerate(codes.items()):
        for seq in ("001", "002"):
            folder = root / "cohn-kanade-images" / subj / seq
            folder.mkdir(parents=True)
            for f in range(1, 5):
                Image.fromarray(_face(10 * k + f, 80)).save(folder / f"{subj}_{seq}_{f:08d}.png")
        emo = root / "Emotion" / subj / "001"
        emo.mkdir(parents=True)
        (emo / f"{subj}_001_00000004_emotion.txt").write_text(f"   {code:.7e}\n")
    return root


def test_ckplus_official_layout(ckplus):
    ds = P.load_ckplus(ckplus)
    assert ds.name == "CK+"
    # S005 disgust + neutral, S010 happy + neutral, S011 contempt dropped but its neutral kept
    assert len(ds) == 5 and ds.skipped == {"contempt": 1}
    got = sorted(zip(ds.subjects.tolist(), [CLASS_NAMES[k] for k in ds.labels]))
    assert got == [("S005", "disgust"), ("S005", "neutral"), ("S010", "happy"),
                   ("S010", "neutral"), ("S011", "neutral")]
    peak = ds.files[(ds.subjects == "S005") & (ds.labels == CLASS_NAMES.index("disgust"))][0]
    assert peak.endswith("S005_001_00000004.png")
    more = P.load_ckplus(ckplus, peak_frames=2, neutral_first=False)
    assert len(more) == 4 and "neutral" not in [CLASS_NAMES[k] for k in more.labels]


@pytest.fixture
def ck48(tmp_path):
    root = tmp_path / "CK+48"
    for k, folder in enumerate(("anger", "happy", "contempt", "sadness")):
        (root / folder).mkdir(parents=True)
        for j, subj in enumerate(("S010", "S022")):
            Image.fromarray(_face(k * 10 + j, 48)).save(root / folder / f"{subj}_00{k}_0000001{j}.png")
    (root / "happy" / "Thumbs.db").write_bytes(b"x")
    return root


def test_ck48_layout(ck48):
    ds = P.load_ckplus(ck48)
    assert ds.name == "CK+48" and len(ds) == 6 and ds.skipped == {"contempt": 2}
    assert sorted(set(ds.subjects)) == ["S010", "S022"]
    names = {CLASS_NAMES[k] for k in ds.labels}
    assert names == {"angry", "happy", "sad"}


def test_ckplus_unknown_layout(tmp_path):
    (tmp_path / "photos").mkdir()
    with pytest.raises(DataFormatError, match="CK\\+48"):
        P.load_ckplus(tmp_path / "photos")


def test_subject_split_keeps_people_apart():
    subjects = np.repeat(np.array([f"S{i:03d}" for i in range(10)]), 7)
    tr, te = P.subject_split(subjects, test_size=0.3, seed=3)
    assert len(tr) + len(te) == 70 and not set(subjects[tr]) & set(subjects[te])
    assert len(set(subjects[te])) == 3
    tr2, te2 = P.subject_split(subjects, test_size=0.3, seed=3)
    assert (te == te2).all()
    with pytest.raises(ValueError, match="two subjects"):
        P.subject_split(["A"] * 5)


def test_subject_folds_are_leave_subjects_out():
    subjects = np.repeat(np.array(list("ABCDEFGHIJ")), 3)
    folds = P.subject_folds(subjects, k=10)
    assert len(folds) == 10
    held = [set(subjects[te]) for _, te in folds]
    assert all(len(h) == 1 for h in held) and set().union(*held) == set("ABCDEFGHIJ")
    for tr, te in folds:
        assert not set(subjects[tr]) & set(subjects[te])
