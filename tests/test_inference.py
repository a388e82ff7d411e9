"""fer_utils.inference: finding, loading and running the course's saved models."""
from __future__ import annotations

import numpy as np
import pytest

from fer_utils import inference, metrics, models, paths
from fer_utils.experiment import DataRef, find_named


@pytest.fixture(scope="module")
def tiny():
    return models.build("cnn", depth=3, width=4)


@pytest.fixture(scope="module")
def committed():
    art = find_named(paths.committed_dir(), "cnn-d3-s0", DataRef.official_fer2013())
    assert art is not None, "Chapter 3's models are committed with the book"
    return art


def test_probabilities_for_raw_images_and_a_clear_error_for_other_inputs(tiny):
    x = np.random.default_rng(0).integers(0, 255, (5, 48, 48)).astype(np.uint8)
    p = inference.predict_proba(tiny, x)
    assert p.shape == (5, 7) and np.allclose(p.sum(1), 1, atol=1e-5)
    assert np.allclose(inference.predict_proba(tiny, x[..., None], batch_size=2), p, atol=1e-6)
    assert inference.predict_proba(tiny, x[:0]).shape == (0, 7)
    with pytest.raises(ValueError, match=r"expects inputs of shape \(48, 48, 1\)"):
        inference.predict_proba(tiny, np.zeros((2, 64, 64)))


def test_score_is_classification_metrics_with_the_time(tiny):
    x = np.random.default_rng(1).integers(0, 255, (12, 48, 48)).astype(np.uint8)
    y = np.arange(12) % 7
    names = tuple("abcdefg")
    got = inference.score(tiny, x, y, names)
    want = metrics.classification_metrics(y, inference.predict_proba(tiny, x).argmax(1), names)
    assert {k: v for k, v in got.items() if k != "seconds"} == want and got["seconds"] >= 0


def test_a_model_is_found_in_its_artifact_folder_and_errors_say_what_is_expected(committed, tmp_path):
    assert inference.model_file(committed.path).name == models.PORTABLE_SPEC
    assert inference.model_file(committed.path / models.PORTABLE_SPEC) == committed.path / "model.json"
    with pytest.raises(FileNotFoundError, match="no model file"):
        inference.model_file(tmp_path)
    (tmp_path / "broken.keras").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not a Keras model"):
        inference.load_model_file(tmp_path / "broken.keras")
    with pytest.raises(ValueError, match="broken.keras: not a Keras model"):
        inference.model_file(tmp_path / "broken.keras")   # found before any data is loaded


def test_evaluate_rejects_a_file_that_is_no_model_before_it_needs_any_data(tmp_path, monkeypatch,
                                                                           capsys):
    from fer_utils import cli

    monkeypatch.setenv("FER_DATA_DIR", str(tmp_path / "no-data-here"))
    (tmp_path / "notes.txt").write_text("hello")
    assert cli.main(["evaluate", "--model", str(tmp_path / "notes.txt")]) != 0
    err = capsys.readouterr().err
    assert "notes.txt: not a Keras model" in err and "FER-2013" not in err


def test_evaluate_model_reproduces_the_stored_figures_on_a_stratified_subset(committed):
    """The committed model re-scored on the sample; the same numbers twice, and the errors."""
    from fer_utils.sample import make_sample

    ds = make_sample()
    m = inference.evaluate_model(committed.path, ds, "PrivateTest", limit=60, seed=0)
    assert m["n"] == 60 and 0 <= m["accuracy"] <= 1
    again = inference.evaluate_model(committed.load_model(), ds, "PrivateTest", limit=60, seed=0)
    assert again["accuracy"] == m["accuracy"]
    idx = inference.evaluation_indices(ds, "PrivateTest", "fer", 60, 0)
    assert len(idx) == 60 and (ds.usage[idx] == "PrivateTest").all()
    with pytest.raises(ValueError, match="no split 'Test'"):
        inference.evaluate_model(committed.path, ds, "Test")
    with pytest.raises(ValueError, match="predicts 7 classes but the label set"):
        inference.evaluate_model(committed.path, ds, "PrivateTest", labels="ferplus-majority")


def test_test_time_views_and_the_ensemble_mean(tiny):
    x = np.arange(2 * 48 * 48, dtype=np.float32).reshape(2, 48, 48)
    views = inference.tta_views(x)
    assert len(views) == 6 and all(v.shape == (2, 48, 48, 1) for v in views)
    assert np.array_equal(views[1][:, :, ::-1], views[0])                 # the mirror image
    assert np.array_equal(views[2][:, 2:], views[0][:, :-2])               # moved down 2 pixels
    assert len(inference.tta_views(x, flip=False, shift=0)) == 1
    p = inference.predict_proba(tiny, x)
    assert np.allclose(inference.ensemble_proba([tiny, tiny], x), p, atol=1e-6)
    tta = inference.predict_proba_tta(tiny, x)
    assert np.allclose(tta, np.mean([inference.predict_proba(tiny, v) for v in views], 0))
    with pytest.raises(ValueError, match="at least one model"):
        inference.ensemble_proba([], x)
    # the classic ten crops: the face and its four corner crops (moved 2 pixels diagonally,
    # edges repeated), each mirrored too
    ten = inference.tta_views(x, kind="ten-crop")
    assert len(ten) == 10 and np.array_equal(ten[0], views[0])
    assert np.array_equal(ten[1][:, 2:, 2:], views[0][:, :-2, :-2])         # down and right
    assert np.array_equal(ten[4][:, :-2, :-2], views[0][:, 2:, 2:])         # up and left
    assert all(np.array_equal(ten[5 + i], ten[i][:, :, ::-1]) for i in range(5))
    assert len(inference.tta_views(x, kind="ten-crop", flip=False)) == 5
    assert np.allclose(inference.ensemble_proba([tiny], x, tta="ten-crop"),
                       np.mean([inference.predict_proba(tiny, v) for v in ten], 0), atol=1e-6)
    assert np.allclose(inference.ensemble_proba([tiny], x, tta=True), tta, atol=1e-6)
    assert inference.tta_kind(False) is None and inference.tta_kind(True) == "six"
    with pytest.raises(ValueError, match="unknown test-time augmentation 'twelve'"):
        inference.ensemble_proba([tiny], x, tta="twelve")
