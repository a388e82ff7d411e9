"""fer_utils.mapnet: ES-MAP vs image experiments, protocols, artifacts."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from fer_utils import esmap, landmarks, mapnet
from fer_utils.sample import make_sample


@pytest.fixture(scope="module")
def small():
    ds = make_sample(sizes={"Training": 140, "PublicTest": 40, "PrivateTest": 40})
    with landmarks.FaceMesh() as mesh:
        marks = landmarks.extract_batch(ds.images, mesh, progress=False)
    return ds, marks


def test_protocol_splits():
    usage = np.array(["Training"] * 60 + ["PublicTest"] * 20 + ["PrivateTest"] * 20)
    labels = np.arange(100) % 7
    tr, va, te = mapnet.protocol_split(usage, labels, "fer2013")
    assert (usage[tr] == "Training").all() and (usage[va] == "PublicTest").all()
    assert (usage[te] == "PrivateTest").all()
    tr, va, te = mapnet.protocol_split(usage, labels, "random-30-70", seed=1)
    assert va is None and len(tr) == 30 and len(te) == 70
    assert not set(tr) & set(te) and len(set(tr) | set(te)) == 100
    tr2, _, _ = mapnet.protocol_split(usage, labels, "random-30-70", seed=2)
    assert set(tr2) != set(tr)
    with pytest.raises(ValueError, match="protocol"):
        mapnet.protocol_split(usage, labels, "kfold")


def test_config_is_validated():
    with pytest.raises(ValueError, match="input"):
        mapnet.MapConfig(input="landmarks")
    with pytest.raises(ValueError, match="protocol"):
        mapnet.MapConfig(protocol="70-30")
    with pytest.raises(ValueError, match="model"):
        mapnet.MapConfig(model="vgg99")
    with pytest.raises(ValueError, match="schedule"):
        mapnet.MapConfig(schedule="one-cycle")
    with pytest.raises(ValueError, match="label_smoothing"):
        mapnet.MapConfig(label_smoothing=1.0)


def test_schedule_fields_key_only_when_used():
    """The optimisation fields came later: at their defaults they leave the key as it was."""
    from fer_utils.experiment import DataRef, artifact_key

    data = DataRef("fer2013", "0" * 16)
    plain = mapnet.MapConfig(name="x")
    assert not {"schedule", "warmup_epochs", "label_smoothing"} & set(plain.key_dict())
    cosine = plain.replace(schedule="cosine", warmup_epochs=1, label_smoothing=0.1)
    assert artifact_key(cosine, data) != artifact_key(plain, data)
    assert cosine.key_dict()["schedule"] == "cosine"


def test_inputs_have_the_shapes_the_models_expect(small):
    ds, marks = small
    idx = np.flatnonzero(marks.found)[:5]
    base = esmap.fit_baseline(marks.points[marks.found], ds.labels[marks.found])
    assert mapnet.make_inputs("image", idx, ds.images, marks.points, base).shape == (5, 48, 48, 1)
    assert mapnet.make_inputs("esmap-pooled", idx, ds.images, marks.points,
                              base).shape == (5, 52, 52, 1)
    ref = mapnet.make_inputs("esmap-reference", idx, ds.images, marks.points, base)
    assert ref.shape == (5, 62, 62, 3) and ref.dtype == np.uint8


@pytest.mark.parametrize("protocol", mapnet.PROTOCOLS)
def test_run_writes_metrics_uses_only_training_neutrals_and_reloads(small, tmp_path,
                                                                    monkeypatch, protocol):
    ds, marks = small
    seen = {}
    real = esmap.fit_baseline

    def spy(points, labels, **kw):
        seen["n"] = len(points)
        return real(points, labels, **kw)

    monkeypatch.setattr(esmap, "fit_baseline", spy)
    config = mapnet.MapConfig(name="t", input="esmap-pooled", protocol=protocol, epochs=2,
                              schedule="cosine", warmup_epochs=1, label_smoothing=0.1)
    art = mapnet.run(config, ds, marks, root=tmp_path, progress=False)
    m = art.metrics
    assert seen["n"] == m["n_train"]  # the baseline saw the training part only
    assert m["epochs_trained"] == 2 and len(art.history["loss"]) == 2
    assert art.history["lr"][1] < art.history["lr"][0]  # the cosine schedule decays
    assert m["model_kept"] == "yes" and (art.path / "model.json").is_file()
    assert not (art.path / "checkpoint").exists()
    n_test = 40 if protocol == "fer2013" else 154
    assert m["test_all"]["n"] == n_test
    assert m["test"]["n"] + m["test_all"]["n_undetected"] == n_test
    assert m["test_all"]["accuracy"] <= m["test"]["accuracy"] + 1e-9
    assert m["n_validation"] == (0 if protocol == "random-30-70" else int(
        marks.found[ds.usage == "PublicTest"].sum()))
    # a second call loads the artifact instead of training
    monkeypatch.setattr("keras.Model.fit", lambda *a, **k: pytest.fail("retrained"))
    again = mapnet.run(config, ds, marks, root=tmp_path, progress=False)
    assert again.metrics == m
    model = again.load_model()
    assert model.input_shape == (None, 52, 52, 1)
    # testing the stored model again gives the stored metrics
    got = mapnet.evaluate(again, ds, marks)
    assert got["test_all"] == m["test_all"]
    assert {k: got["test"][k] for k in ("n", "accuracy", "confusion")} == \
        {k: m["test"][k] for k in ("n", "accuracy", "confusion")}
    on_real = dataclasses.replace(again, metrics={**m, "data": "fer2013",
                                                  "data_fingerprint": "0" * 16})
    with pytest.raises(ValueError, match="was trained on other data"):
        mapnet.evaluate(on_real, ds, marks)


def test_landmarks_must_match_the_dataset(small, tmp_path):
    ds, marks = small
    with pytest.raises(ValueError, match="landmark rows"):
        mapnet.run(mapnet.MapConfig(epochs=1), ds, marks.subset(slice(0, 10)), root=tmp_path,
                   progress=False)


def test_the_chapter_loads_committed_runs_in_quick_mode_else_trains_the_quick_one(
        small, tmp_path, monkeypatch):
    ds, marks = small
    monkeypatch.setenv("FER_ARTIFACTS_DIR", str(tmp_path))   # stands for data/
    monkeypatch.setenv("FER_QUICK", "1")
    config = mapnet.MapConfig(name="t", input="esmap-pooled", protocol="fer2013", epochs=3)
    quick = mapnet.load_or_run(config, ds, marks, progress=False)   # nothing committed
    assert quick.config == config.quick() and quick.metrics["epochs_trained"] == 2
    book = mapnet.run(config, ds, marks, progress=False)             # the book's run
    assert book.path.parent == tmp_path / "esmap" and book.metrics["epochs_trained"] == 3
    monkeypatch.setattr("keras.Model.fit", lambda *a, **k: pytest.fail("retrained"))
    assert mapnet.load_or_run(config, ds, marks, progress=False).path == book.path


def test_repeated_runs_keep_their_metrics_only(small, tmp_path):
    ds, marks = small
    config = mapnet.MapConfig(name="t", input="esmap-pooled", protocol="fer2013", epochs=1, seed=1)
    art = mapnet.run(config, ds, marks, root=tmp_path, progress=False)
    assert art.metrics["model_kept"].startswith("no: a repeated run")
    assert not (art.path / "model.weights.npz").exists() and "test" in art.metrics
    with pytest.raises(FileNotFoundError, match="keeps metrics only"):
        art.load_model()
    with pytest.raises(FileNotFoundError, match="keeps metrics only"):
        mapnet.evaluate(art, ds, marks)


def test_the_cli_tests_an_esmap_folder_its_own_way(small, tmp_path, capsys):
    """`evaluate --model <ES-MAP folder>` refuses options that do not apply, and says when the
    folder keeps metrics only (both before any data is loaded)."""
    from fer_utils import cli

    ds, marks = small
    config = mapnet.MapConfig(name="t", input="image", protocol="fer2013", epochs=1, seed=1)
    art = mapnet.run(config, ds, marks, root=tmp_path, progress=False)
    assert mapnet.MapArtifact.from_folder(art.path).metrics == art.metrics
    assert cli.main(["evaluate", "--model", str(art.path), "--split", "PublicTest"]) == 2
    assert "own protocol's test part" in capsys.readouterr().err
    assert cli.main(["evaluate", "--model", str(art.path)]) == 2
    assert "keeps metrics only" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="not a finished experiment"):
        mapnet.MapArtifact.from_folder(tmp_path)
