"""fer_utils.experiment: the key, typed configs, finished-only artifacts, the recipe options."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from fer_utils import experiment, fitting, paths
from fer_utils import train as T
from fer_utils.data import FER2013_FINGERPRINT
from fer_utils.experiment import DataRef, ExperimentConfig, artifact_key
from fer_utils.sample import make_sample
from tests.test_train import TINY  # one tiny config for both modules


def test_fingerprint_is_content():
    a, b = make_sample(), make_sample()
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 16
    b.labels[0] = (b.labels[0] + 1) % 7
    b.__dict__.pop("_fingerprint", None)
    assert a.fingerprint != b.fingerprint
    assert a.subset(np.arange(len(a))).fingerprint == a.fingerprint
    assert a.subset(np.arange(100)).fingerprint != a.fingerprint


def test_a_field_added_later_does_not_rekey_until_used():
    @dataclass(frozen=True)
    class Old(ExperimentConfig):
        name: str = "x"

    @dataclass(frozen=True)
    class New(ExperimentConfig):
        name: str = "x"
        new_option: float = 0.0
        ADDED_IN: ClassVar[dict[str, int]] = {"new_option": experiment.KEY_SCHEMA + 1}

    ref = DataRef("fer2013", FER2013_FINGERPRINT)
    assert artifact_key(New(), ref) == artifact_key(Old(), ref)
    assert artifact_key(New(new_option=0.5), ref) != artifact_key(Old(), ref)
    with pytest.raises(TypeError, match="DataRef"):
        artifact_key(Old(), "fer2013")


@pytest.mark.parametrize("field, value, message", [
    ("epochs", "two", "'epochs' must be a whole number"),
    ("epochs", 2.5, "'epochs' must be a whole number"),
    ("epochs", 0, "'epochs' must be at least 1"),
    ("augment", "yes", "'augment' must be true or false"),
    ("learning_rate", "fast", "'learning_rate' must be a number"),
    ("learning_rate", -1, "'learning_rate' must be positive"),
    ("model_args", [3], "'model_args' must be an object"),
    ("train_limit", "all", "'train_limit' must be a whole number"),
    ("schedule", "step", "unknown schedule 'step'"),
    ("label_smoothing", 1.5, "'label_smoothing' must be in"),
])
def test_config_fields_are_checked_by_type(field, value, message):
    with pytest.raises(ValueError, match=message):
        T.TrainConfig.from_dict({field: value})


def test_ints_are_accepted_for_floats_and_none_for_limits():
    c = T.TrainConfig.from_dict({"learning_rate": 1, "train_limit": None})
    assert c.learning_rate == 1.0 and isinstance(c.learning_rate, float)


def test_a_failed_training_leaves_nothing(sample, arts, monkeypatch):
    from fer_utils import models

    def broken(*a, **k):
        raise RuntimeError("model build failed")

    monkeypatch.setattr(models, "build", broken)
    with pytest.raises(RuntimeError, match="build failed"):
        T.train(TINY, sample, progress=False)
    assert not arts.exists() or not [p for p in arts.iterdir() if not p.name.startswith(".")]
    assert not fitting.checkpoint_dir(experiment.artifact_key(TINY, DataRef.of(sample))).exists()


def test_a_second_process_waits_for_the_first_and_loads_its_result(tmp_path, capfd):
    """:func:`experiment.find_or_run` under the key's lock: while another holder has it, the
    caller says whose turn it is, waits, then finds the finished result instead of running."""
    import threading

    done = tmp_path / "done"
    holding, release = threading.Event(), threading.Event()

    def first():
        with experiment.exclusive("k-sample-0123456789"):
            holding.set()
            release.wait(10)
            done.write_text("first")

    t = threading.Thread(target=first)
    t.start()
    assert holding.wait(10)
    threading.Timer(0.5, release.set).start()
    got = experiment.find_or_run("k-sample-0123456789",
                                 lambda: done.read_text() if done.exists() else None,
                                 lambda: pytest.fail("ran again"))
    t.join()
    assert got == "first"
    assert "k-sample-0123456789: process " in capfd.readouterr().err
    # without a holder nothing waits, and retrain runs even when a result exists
    assert experiment.find_or_run("k-sample-0123456789", lambda: "found", lambda: "ran",
                                  retrain=True) == "ran"


def _train_tiny(queue) -> None:
    """One of two processes that train the same config at the same time (spawned)."""
    from fer_utils.sample import make_sample

    art = T.train(TINY, make_sample(), progress=False)
    queue.put((str(art.path), art.metrics["train_seconds"]))


def test_two_processes_training_one_config_train_it_once(arts):
    """Two notebooks that quick-train the same config at once shared its checkpoint folder,
    and one removed the other's temporary file (``FileNotFoundError`` in quick mode with a
    cold cache). Now the second waits for the first and loads its artifact."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_train_tiny, args=(queue,)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0, 0]
    (path_a, seconds_a), (path_b, seconds_b) = queue.get(timeout=5), queue.get(timeout=5)
    assert path_a == path_b and seconds_a == seconds_b   # one run, loaded by the other
    assert [p.name for p in arts.iterdir() if not p.name.startswith(".")] == [Path(path_a).name]


def test_checkpoints_live_outside_the_committed_data(monkeypatch):
    monkeypatch.delenv("FER_ARTIFACTS_DIR", raising=False)
    monkeypatch.setenv("FER_QUICK", "0")
    assert paths.checkpoints_dir() == paths.repo_root() / "checkpoints"
    assert paths.artifacts_dir() not in fitting.checkpoint_dir("k").parents


def test_recipe_options_train(sample, arts):
    cfg = TINY.replace(name="recipe", model="vgg_net", model_args={"widths": [8, 8, 16, 16]},
                       optimizer="sgd", learning_rate=0.01, weight_decay=1e-4, schedule="cosine",
                       warmup_epochs=1, label_smoothing=0.1, erasing=0.5, epochs=2)
    art = T.train(cfg, sample, progress=False)
    lr = art.history["lr"]
    assert art.metrics["epochs_trained"] == 2 and len(lr) == 2
    assert lr[1] < lr[0] <= 0.01 + 1e-9  # warm-up reached the peak, then the cosine decays


def test_committed_artifacts_sit_under_their_key():
    """Every committed artifact's folder name is its key (after the schema-2 migration)."""
    ref = DataRef.official_fer2013()
    root = paths.repo_root() / "data"
    for metrics_file in root.glob("*/metrics.json"):
        m = json.loads(metrics_file.read_text())
        assert m["data_fingerprint"] == FER2013_FINGERPRINT
        assert metrics_file.parent.name == artifact_key(T.TrainConfig.from_dict(m["config"]), ref)
    from fer_utils import mapnet

    for metrics_file in (root / "esmap").glob("*/metrics.json"):
        m = json.loads(metrics_file.read_text())
        config = mapnet.MapConfig.from_dict(m["config"])
        assert metrics_file.parent.name == artifact_key(config, ref)


def test_scores_view_reads_metrics_without_nested_lookups(sample, arts):
    art = T.train(TINY.replace(epochs=1), sample, progress=False)
    s = art.scores
    assert s.accuracy("PrivateTest") == art.metrics["PrivateTest"]["accuracy"]
    assert s.f1("PublicTest", "weighted") == art.metrics["PublicTest"]["weighted_f1"]
    assert s.n() == art.metrics["PrivateTest"]["n"]
    assert list(s.per_class().index) == art.metrics["class_names"]
    with pytest.raises(KeyError, match="no scores for 'Validation'"):
        s.accuracy("Validation")
    with pytest.raises(ValueError, match="average must be"):
        s.f1(average="micro")


def test_finished_metrics_scans_one_folder_level_and_filters_by_data(tmp_path):
    for name, fp in (("a", "f1"), ("b", "f2")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps({"data_fingerprint": fp}))
    (tmp_path / "ensembles" / "c").mkdir(parents=True)                # one level down: not scanned
    (tmp_path / "ensembles" / "c" / "metrics.json").write_text("{}")
    assert list(experiment.finished_metrics(tmp_path)) == [tmp_path / "a", tmp_path / "b"]
    only = experiment.finished_metrics(tmp_path, DataRef("fer2013", "f2"))
    assert only == {tmp_path / "b": {"data_fingerprint": "f2"}}
