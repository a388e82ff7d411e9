"""fer_utils.ensemble: choosing members on PublicTest, scoring and storing an ensemble."""
from __future__ import annotations

import json

import numpy as np
import pytest

from fer_utils import ensemble, labels, paths
from fer_utils.experiment import DataRef, find_named


def test_greedy_selection_with_replacement_and_its_errors():
    y = np.array([0, 1, 1, 0])
    strong = np.array([[.9, .1], [.2, .8], [.6, .4], [.7, .3]])      # 3 of 4
    other = np.array([[.4, .6], [.1, .9], [.1, .9], [.9, .1]])       # 3 of 4, other mistakes
    chosen, trace = ensemble.greedy_select(y, [strong, other])
    assert chosen[0] == 0 and trace[0] == 0.75 and trace[-1] == max(trace) == 1.0
    assert ensemble.greedy_select(y, [strong], steps=0) == ([0], [0.75])
    with pytest.raises(ValueError, match="no candidate"):
        ensemble.greedy_select(y, [])
    with pytest.raises(ValueError, match="steps must be >= 0"):
        ensemble.greedy_select(y, [strong], steps=-1)


def test_what_an_extra_candidate_adds_to_the_selection():
    y = np.array([0, 1, 1, 0])
    strong = np.array([[.9, .1], [.2, .8], [.6, .4], [.7, .3]])      # 3 of 4
    same = strong * .9 + .05                                          # the same mistakes
    other = np.array([[.4, .6], [.1, .9], [.1, .9], [.9, .1]])       # 3 of 4, other mistakes
    got = ensemble.what_it_adds(y, [strong, same], [other])
    assert (got["without"], got["with"], got["gain"]) == (0.75, 1.0, 0.25)
    assert got["draws_of_extra"] == [got["chosen_with"].count(2)] and got["draws_of_extra"][0] >= 1
    assert got["members_without"] == len(got["chosen_without"]) == 1
    # a copy of a candidate adds nothing
    same_again = ensemble.what_it_adds(y, [strong, other], [strong])
    assert same_again["gain"] == 0.0 and same_again["with"] == same_again["without"] == 1.0
    with pytest.raises(ValueError, match="no extra candidate"):
        ensemble.what_it_adds(y, [strong], [])


def test_members_must_be_finished_share_labels_and_use_no_mask(tmp_path, sample):
    root, ref = paths.committed_dir(), DataRef.official_fer2013()
    fer = find_named(root, "cnn-d3-s0", ref).path
    ferplus = find_named(root, "mx-ferplus", ref).path
    masked = find_named(root, "cnn-d4-s0-eyes", ref).path
    with pytest.raises(ValueError, match="one label set and use no mask"):
        ensemble.score([fer, ferplus], sample)
    with pytest.raises(ValueError, match="one label set and use no mask"):
        ensemble.score([fer, masked], sample)
    with pytest.raises(FileNotFoundError, match="not a finished artifact"):
        ensemble.score([fer, tmp_path], sample)


def test_an_ensemble_is_stored_found_and_read_back(tmp_path, sample):
    root, ref = paths.committed_dir(), DataRef.official_fer2013()
    members = [find_named(root, n, ref).path for n in ("cnn-d3-s0", "cnn-d4-s0")]
    out = ensemble.build("pair", members, sample, root=tmp_path)
    m = json.loads((out / "metrics.json").read_text())
    assert m["ensemble"] == [p.name for p in members] and not m["tta"]
    assert {"PublicTest", "PrivateTest"} <= set(m) and 0 <= m["PrivateTest"]["accuracy"] <= 1
    assert ensemble.find(tmp_path, "pair", DataRef.of(sample), members=m["ensemble"]) == m
    assert ensemble.find(tmp_path, "pair", DataRef.of(sample), tta=True) is None
    folders, tta = ensemble.members_of(out)
    assert [f.name for f in folders] == m["ensemble"] and tta is False
    # with ten-crop test-time augmentation: stored under its own name, found by it
    ten = ensemble.build("pair", members, sample, tta="ten-crop", root=tmp_path)
    assert ten != out and json.loads((ten / "metrics.json").read_text())["tta"] == "ten-crop"
    assert ensemble.members_of(ten)[1] == "ten-crop"
    assert ensemble.find(tmp_path, "pair", DataRef.of(sample), tta="ten-crop")["tta"] == "ten-crop"
    assert ensemble.find(tmp_path, "pair", DataRef.of(sample), tta=True) is None
    with pytest.raises(ValueError, match="unknown test-time augmentation"):
        ensemble.build("pair", members, sample, tta="nine", root=tmp_path)


def test_stored_probabilities_are_the_members_mean_on_every_image(tmp_path, sample):
    import shutil

    from fer_utils import inference

    root, ref = paths.committed_dir(), DataRef.official_fer2013()
    members = []
    for name in ("cnn-d3-s0", "cnn-d4-s0"):  # copies: members sit beside ensembles/
        src = find_named(root, name, ref).path
        shutil.copytree(src, tmp_path / src.name)
        members.append(tmp_path / src.name)
    data = DataRef.of(sample)
    with pytest.raises(FileNotFoundError, match="no ensemble 'pair' with stored probabilities"):
        ensemble.stored_probabilities("pair", data, (tmp_path,))
    folder = ensemble.build("pair", [members[0], members[0], members[1]], sample, root=tmp_path)
    ensemble.write_probabilities(folder, sample, batch=500)
    teacher = ensemble.stored_probabilities("pair", data, (tmp_path / "none", tmp_path))
    p = [inference.predict_proba(inference.load_model_file(inference.model_file(m)), sample.images)
         for m in members]
    assert teacher.probabilities.shape == (len(sample), 7)
    assert np.allclose(teacher.probabilities, (2 * p[0] + p[1]) / 3, atol=2e-3)  # float16
    assert teacher.info["members"] == [members[0].name, members[0].name, members[1].name]
    with pytest.raises(ValueError, match="other data"):
        ensemble.stored_probabilities("pair", DataRef("sample", "0" * 16), (tmp_path,))
    assert ensemble.candidates(tmp_path, ref) == sorted(members)  # models of FER-2013 …
    assert ensemble.candidates(tmp_path, data) == []               # … not of the sample
    pool = ensemble.candidates(root, ref)
    assert find_named(root, "cnn-d4-s0-eyes", ref).path not in pool  # masked: not a member


def test_a_teacher_mixes_into_the_targets_only(sample):
    s = labels.label_set(sample, "fer")
    rng = np.random.default_rng(0)
    teacher = rng.dirichlet(np.ones(7), size=len(sample))
    d = ensemble.Teacher(teacher, {}).distil(s, 0.25)
    assert np.allclose(d.targets, 0.75 * s.targets + 0.25 * teacher, atol=1e-6)
    assert (d.keep == s.keep).all() and (d.eval_y == s.eval_y).all() and d.y is s.y
    sharp = ensemble.Teacher(teacher, {}).distil(s, 1.0, temperature=0.5).targets  # squared
    assert np.allclose(sharp, teacher ** 2 / (teacher ** 2).sum(1, keepdims=True), atol=1e-6)
    with pytest.raises(ValueError, match="teacher's probabilities have shape"):
        ensemble.Teacher(teacher[:, :6], {}).distil(s, 0.5)
