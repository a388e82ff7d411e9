"""The portable model form (fer_utils.models.save_portable / load_portable) and the committed
models in it: every one loads and gives the probabilities the offline environment recorded
(data/benchmarks/model-probabilities.json, written by scripts/migrate_model_format.py and,
for each model the campaign finishes, by fer_utils.inference.record_reference), within
1e-4, in whatever environment runs this (offline, and Colab's Keras 3.13 in make test-colab).
Image models are compared on 16 faces stored in that file (drawn by the offline sample, not
FER-2013's), ES-MAP models on seeded inputs of their shape."""
from __future__ import annotations

import json

import numpy as np
import pytest

from fer_utils import bench, experiment, inference, models, paths
from fer_utils.inference import load_model_file, model_file, predict_proba

REFERENCE = bench.load(inference.REFERENCE_PROBABILITIES)
COMMITTED = sorted(p.parent for p in paths.committed_dir().glob(f"**/{models.PORTABLE_SPEC}"))


def _proba(model, x):
    if tuple(x.shape[1:]) == models.INPUT_SHAPE:
        return predict_proba(model, x)
    return np.asarray(model(x, training=False))


def test_every_committed_model_is_portable_and_none_is_a_keras_file():
    assert len(COMMITTED) >= 30
    assert not list(paths.committed_dir().glob("**/model.keras"))
    for folder in COMMITTED:
        assert (folder / models.PORTABLE_WEIGHTS).is_file()


@pytest.mark.parametrize("folder", COMMITTED, ids=lambda p: p.name)
def test_committed_model_gives_the_recorded_probabilities(folder):
    key = paths.display_path(folder)
    assert REFERENCE is not None and key in REFERENCE["models"], (
        f"{key} has no recorded probabilities: record them in the offline environment with "
        "fer_utils.inference.record_reference(folder) (the campaign does when a run ends)")
    spec = json.loads((folder / models.PORTABLE_SPEC).read_text())
    model = load_model_file(model_file(folder))
    faces = np.asarray(REFERENCE["faces"], np.float32)  # the same pixels everywhere
    x = faces if tuple(model.input_shape[1:]) == models.INPUT_SHAPE else models.reference_inputs(spec)
    got = _proba(model, x)
    want = np.asarray(REFERENCE["models"][key])
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, atol=1e-4, rtol=0)
    assert np.allclose(got.sum(axis=1), 1, atol=1e-4)


def test_round_trip_keeps_the_function(tmp_path):
    model = models.build("mini_xception", input_size=48, l2_scope="reference", n_classes=8)
    x = models.reference_inputs({"kwargs": {}}, 4)
    models.save_portable(model, tmp_path, "mini_xception",
                         {"input_size": 48, "l2_scope": "reference", "n_classes": 8})
    again = models.load_portable(tmp_path)
    np.testing.assert_array_equal(_proba(model, x), _proba(again, x))
    spec = json.loads((tmp_path / models.PORTABLE_SPEC).read_text())
    assert spec["builder"] == "mini_xception" and spec["format"] == models.PORTABLE_FORMAT
    assert len(spec["weights"]) == len(model.weights)


def test_a_spec_that_does_not_rebuild_the_model_is_refused_when_saving(tmp_path):
    model = models.build("mini_xception", input_size=48)
    with pytest.raises(ValueError, match="differ from weight"):
        models.save_portable(model, tmp_path, "mini_xception", {"input_size": 48, "n_classes": 8})


def test_damaged_portable_files_are_value_errors(tmp_path):
    model = models.build("cnn", depth=3, width=8)
    models.save_portable(model, tmp_path, "cnn", {"depth": 3, "width": 8})
    (tmp_path / models.PORTABLE_WEIGHTS).write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="unreadable weights"):
        load_model_file(tmp_path / models.PORTABLE_SPEC)
    (tmp_path / models.PORTABLE_SPEC).write_text("{")
    with pytest.raises(ValueError, match="not a portable model spec"):
        load_model_file(tmp_path / models.PORTABLE_SPEC)
    (tmp_path / models.PORTABLE_SPEC).write_text(json.dumps({"format": 99, "builder": "cnn",
                                                              "kwargs": {}, "weights": []}))
    with pytest.raises(ValueError, match="format 99"):
        load_model_file(tmp_path / models.PORTABLE_SPEC)


def test_an_artifact_is_written_in_the_portable_form(tmp_path):
    model = models.build("cnn", depth=3, width=8)
    out = tmp_path / "cnn-d3-sample-0000000000"
    experiment.finish_artifact(out, model, {"config": {}}, {},
                               spec={"builder": "cnn", "kwargs": {"depth": 3, "width": 8}})
    assert sorted(p.name for p in out.iterdir()) == [
        "config.json", "history.json", "metrics.json", models.PORTABLE_SPEC, models.PORTABLE_WEIGHTS]
    assert experiment.model_location(out) == out / models.PORTABLE_SPEC


def test_record_reference_adds_one_model_and_keeps_the_others(tmp_path):
    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        args = {"input_size": 48, "l2_scope": "reference", "n_classes": 7}
        models.save_portable(models.build("mini_xception", **args), folder, "mini_xception", args)
    first = json.loads(inference.record_reference(folders[0], root=tmp_path).read_text())
    key_a, key_b = (paths.display_path(f) for f in folders)
    assert list(first["models"]) == [key_a] and len(first["faces"]) == 16
    again = json.loads(inference.record_reference(folders[1], root=tmp_path).read_text())
    assert again["faces"] == first["faces"] and again["models"][key_a] == first["models"][key_a]
    got = _proba(models.load_portable(folders[1]), np.asarray(again["faces"], np.float32))
    np.testing.assert_allclose(got, again["models"][key_b], atol=1e-6)
    with pytest.raises(FileNotFoundError, match="not a portable model"):
        inference.record_reference(tmp_path, root=tmp_path)
