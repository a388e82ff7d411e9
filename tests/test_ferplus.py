"""fer_utils.ferplus: label modes on hand-made vote rows, the file reader, row alignment."""
from __future__ import annotations

import numpy as np
import pytest

from fer_utils import ferplus as fp
from fer_utils.data import load_fer2013
from fer_utils.dataset import CLASS_NAMES, DataFormatError, ProtocolError

C = {n: i for i, n in enumerate(fp.VOTE_NAMES)}


def votes(**kw) -> np.ndarray:
    """One vote row from class=count keywords (course names; 'nf' = not a face)."""
    row = np.zeros(len(fp.VOTE_NAMES), np.int64)
    for k, v in kw.items():
        row[C["not a face" if k == "nf" else k]] = v
    return row


ROWS = np.stack([
    votes(neutral=6, happy=3, surprise=1),            # 0 clear neutral
    votes(happy=4, surprise=4, sad=2),                # 1 tie happy/surprise
    votes(unknown=6, happy=4),                        # 2 unknown wins
    votes(nf=10),                                     # 3 not a face
    votes(contempt=6, neutral=4),                     # 4 contempt
    votes(angry=5, disgust=3, fear=1, sad=1),         # 5 two strong classes + noise
    votes(fear=1, sad=1, angry=1, happy=1, surprise=1, neutral=1, disgust=1, contempt=1,
          unknown=1, nf=1),                           # 6 all single votes
])


def test_majority():
    lab = fp.make_labels(ROWS, "majority", n_classes=8)
    # row 0: single 'surprise' vote removed, 6 of 9 > half -> neutral
    assert lab.labels[0] == CLASS_NAMES.index("neutral")
    # row 1: 4 of 10 is not more than half -> unknown -> dropped
    assert lab.labels[1] == -1 and not lab.keep[1]
    assert lab.labels[2] == -1 and lab.labels[3] == -1
    assert lab.labels[4] == 7  # contempt kept as class 7 with 8 classes
    assert lab.labels[5] == CLASS_NAMES.index("angry")  # 5 of 8 after removing singles
    assert lab.labels[6] == -1  # nothing left after removing single votes
    assert lab.dropped == {"unknown": 3, "not a face": 1}
    np.testing.assert_array_equal(lab.targets[0], np.eye(8)[6])
    assert lab.targets[1].sum() == 0


def test_seven_classes_drop_contempt():
    lab = fp.make_labels(ROWS, "majority", n_classes=7)
    assert lab.labels[4] == -1 and lab.dropped["contempt"] == 1
    assert lab.targets.shape == (len(ROWS), 7)
    assert lab.class_names == CLASS_NAMES


def test_crossentropy_distributions():
    lab = fp.make_labels(ROWS, "crossentropy", n_classes=8)
    t = lab.targets
    # row 1: the tied top pair covers 8 of 10 >= 75 %: an even split
    assert t[1, C["happy"]] == pytest.approx(0.5) and t[1, C["surprise"]] == pytest.approx(0.5)
    assert t[1, C["sad"]] == 0
    # row 5: anger (5) is below 75 % of 8, so disgust (3) joins: 5/8 and 3/8
    assert t[5, C["angry"]] == pytest.approx(5 / 8) and t[5, C["disgust"]] == pytest.approx(3 / 8)
    # row 2: unknown is the top class -> dropped
    assert not lab.keep[2] and lab.dropped["unknown"] >= 1
    np.testing.assert_allclose(t[lab.keep].sum(axis=1), 1.0)


def test_crossentropy_seven_classes_renormalises_without_contempt():
    row = votes(happy=5, contempt=3, neutral=2)
    lab8 = fp.make_labels(row[None], "crossentropy", n_classes=8)
    assert lab8.targets[0, 7] > 0
    lab7 = fp.make_labels(row[None], "crossentropy", n_classes=7)
    assert lab7.keep[0]
    assert lab7.targets[0, C["happy"]] == pytest.approx(1.0)


def test_probability_samples_from_the_kept_distribution():
    many = np.repeat(ROWS[1:2], 4000, axis=0)
    lab = fp.make_labels(many, "probability", n_classes=8, seed=1)
    assert set(np.unique(lab.labels)) == {C["happy"], C["surprise"]}
    assert np.mean(lab.labels == C["happy"]) == pytest.approx(0.5, abs=0.03)
    assert ((lab.targets == 0) | (lab.targets == 1)).all()  # one-hot
    again = fp.make_labels(many, "probability", n_classes=8, seed=1)
    np.testing.assert_array_equal(lab.labels, again.labels)


def test_multi_target():
    lab = fp.make_labels(ROWS, "multi_target", n_classes=8)
    # row 5: anger 5/8 and disgust 3/8 both >= 30 % -> equal weights
    assert lab.targets[5, C["angry"]] == pytest.approx(0.5)
    assert lab.targets[5, C["disgust"]] == pytest.approx(0.5)


def test_plurality_breaks_ties_in_file_column_order():
    lab = fp.make_labels(ROWS, "plurality", n_classes=8)
    # happiness comes before surprise in fer2013new.csv
    assert lab.labels[1] == C["happy"]
    # row 6: every column has one vote -> neutral, the file's first column
    assert lab.labels[6] == C["neutral"]
    assert lab.labels[3] == -1 and lab.dropped["not a face"] == 1
    assert fp.count_ties(ROWS) == 2


def test_bad_mode_and_shape():
    with pytest.raises(ValueError, match="unknown FERPlus mode 'vote'"):
        fp.make_labels(ROWS, "vote")
    with pytest.raises(ValueError, match="n_classes"):
        fp.make_labels(ROWS, n_classes=6)
    with pytest.raises(ValueError, match=r"shape \(N, 10\)"):
        fp.make_labels(ROWS[:, :8])


HEADER = "Usage,Image name,neutral,happiness,surprise,sadness,anger,disgust,fear,contempt,unknown,NF\n"


def test_reader_maps_columns_to_course_order(tmp_path):
    f = tmp_path / "fer2013new.csv"
    f.write_text(HEADER + "Training,fer0000000.png,1,2,3,4,0,0,0,0,0,0\n"
                 "PublicTest,,0,0,0,0,0,0,0,0,0,10\n")
    v = fp.load_ferplus(f)
    assert v.votes[0, C["neutral"]] == 1 and v.votes[0, C["happy"]] == 2
    assert v.votes[0, C["surprise"]] == 3 and v.votes[0, C["sad"]] == 4
    assert v.votes[1, C["not a face"]] == 10
    assert list(v.usage) == ["Training", "PublicTest"]


@pytest.mark.parametrize("body, message", [
    ("Training,x.png,1,2,3\n", "row 0 .*fields"),
    ("Training,x.png,1,2,three,4,0,0,0,0,0,0\n", "row 0 .*not all integers"),
    ("Train,x.png,1,2,3,4,0,0,0,0,0,0\n", "unknown Usage 'Train'"),
    ("Training,x.png,-1,2,3,4,0,0,0,0,0,0\n", "negative"),
])
def test_reader_names_bad_rows(tmp_path, body, message):
    f = tmp_path / "fer2013new.csv"
    f.write_text(HEADER + body)
    with pytest.raises(DataFormatError, match=message):
        fp.load_ferplus(f)


def test_reader_missing_file_and_wrong_header(tmp_path):
    with pytest.raises(FileNotFoundError, match="microsoft/FERPlus"):
        fp.load_ferplus()
    f = tmp_path / "fer2013new.csv"
    f.write_text("a,b\n1,2\n")
    with pytest.raises(DataFormatError, match="header"):
        fp.load_ferplus(f)


def _votes_for_fixture(n, usage):
    rng = np.random.default_rng(0)
    return fp.FERPlusVotes(votes=rng.integers(0, 4, size=(n, 10)), usage=np.asarray(usage),
                           rows=np.arange(n), source="test")


def test_align_by_row_position(fixture_files, truth):
    ds = load_fer2013(fixture_files["csv"], progress=False)
    v = _votes_for_fixture(30, truth["usage"])
    sub = ds.split("PublicTest")
    aligned = fp.align(sub, v)
    np.testing.assert_array_equal(aligned.votes, v.votes[20:25])
    np.testing.assert_array_equal(aligned.rows, np.arange(20, 25))


def test_align_refuses_image_folders_and_other_files(image_folders, fixture_files, truth):
    folders = load_fer2013(image_folders, progress=False)
    with pytest.raises(ProtocolError, match="no row order"):
        fp.align(folders, _votes_for_fixture(30, truth["usage"]))
    ds = load_fer2013(fixture_files["csv"], progress=False)
    wrong = _votes_for_fixture(30, ["PublicTest"] * 30)
    with pytest.raises(DataFormatError, match="disagree on the split"):
        fp.align(ds, wrong)
    with pytest.raises(DataFormatError, match="beyond"):
        fp.align(ds, _votes_for_fixture(10, truth["usage"][:10]))


def test_votes_for_the_sample():
    from fer_utils.sample import make_sample

    ds = make_sample(sizes={"Training": 40, "PublicTest": 10, "PrivateTest": 10})
    v = fp.votes_for(ds.split("PublicTest"))
    assert v.votes.shape == (10, 10) and (v.votes.sum(axis=1) == 10).all()


def test_plurality_keeps_unknown_and_not_a_face():
    p = fp.plurality(ROWS)
    assert p[2] == C["unknown"] and p[3] == C["not a face"] and p[4] == C["contempt"]
    assert p[1] == C["happy"]  # tie broken in file column order


def test_agreement_with_fer_compares_only_the_seven_classes():
    from types import SimpleNamespace

    # ROWS' pluralities: neutral, happy, unknown, not a face, contempt, angry, neutral
    labels = np.array([C["neutral"], C["sad"], 0, 0, 0, C["angry"], C["happy"]])
    ds = SimpleNamespace(labels=labels, class_names=CLASS_NAMES)
    agree, n = fp.agreement_with_fer(ds, ROWS)
    assert n == 4                                 # rows 0, 1, 5 and 6
    assert agree == pytest.approx(2 / 4)          # rows 0 and 5 agree
    with pytest.raises(ValueError, match="no image"):
        fp.agreement_with_fer(ds, ROWS[[2, 3, 4]])
