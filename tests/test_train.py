"""fer_utils.train and the train/evaluate commands: cache, resume, JSON, bad input."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from fer_utils import cli, experiment, fitting, inference
from fer_utils import train as T
from fer_utils.experiment import DataRef

TINY = T.TrainConfig(name="tiny", model_args={"depth": 3, "width": 8}, epochs=2, batch_size=32,
                     train_limit=200, eval_limit=None, patience=5)


def test_config_json_roundtrip_and_unknown_keys(tmp_path):
    f = tmp_path / "c.json"
    f.write_text(json.dumps(TINY.to_dict()))
    assert T.TrainConfig.from_json(f) == TINY
    with pytest.raises(ValueError, match=r"unknown config key\(s\) \['lr'\]"):
        T.TrainConfig.from_dict({"lr": 0.1})
    with pytest.raises(ValueError, match="unknown label set 'votes'"):
        T.TrainConfig(labels="votes")
    with pytest.raises(ValueError, match="unknown model"):
        T.TrainConfig(model="vgg99")
    with pytest.raises(FileNotFoundError):
        T.TrainConfig.from_json(tmp_path / "missing.json")


def test_artifact_key_depends_on_config_and_data(sample):
    ref = DataRef.of(sample)
    k = experiment.artifact_key(TINY, ref)
    assert k == experiment.artifact_key(T.TrainConfig.from_dict(TINY.to_dict()), ref)
    assert k != experiment.artifact_key(TINY, DataRef("sample", "0" * 16))
    assert k != experiment.artifact_key(TINY.replace(seed=1), ref)
    assert k.startswith("tiny-sample-")
    # the key follows the content of the data, not its name: a subset is other data
    part = sample.subset(np.arange(900))
    assert DataRef.of(part).name == "sample" and experiment.artifact_key(TINY, DataRef.of(part)) != k


def test_train_writes_the_artifact_then_loads_it(sample, arts, monkeypatch):
    art = T.train(TINY, sample, progress=False)
    for f in ("model.json", "model.weights.npz", "metrics.json", "history.json", "config.json"):
        assert (art.path / f).is_file()
    assert not (art.path / "checkpoint").exists()
    m = art.metrics
    assert m["data"] == "sample" and m["epochs_trained"] == 2 and m["n_train"] == 200
    assert m["PrivateTest"]["n"] == 500 and set(m["PrivateTest"]["per_class"]) == set(m["class_names"])
    assert len(art.history["loss"]) == 2 and "val_accuracy" in art.history

    from fer_utils import models
    monkeypatch.setattr(models, "build", lambda *a, **k: pytest.fail("retrained"))
    again = T.train(TINY, sample, progress=False)
    assert again.path == art.path and again.metrics == m


def test_chapters_load_the_committed_artifact_in_quick_mode_else_train_the_quick_one(
        sample, arts, monkeypatch):
    monkeypatch.setenv("FER_QUICK", "1")
    quick = T.load_or_train(TINY, sample, quick={"epochs": 1}, progress=False)  # none committed
    assert quick.config == TINY.quick().replace(epochs=1) and quick.metrics["epochs_trained"] == 1
    book = T.train(TINY, sample, progress=False)   # the book's run (FER_ARTIFACTS_DIR = data/)
    from fer_utils import models
    monkeypatch.setattr(models, "build", lambda *a, **k: pytest.fail("retrained"))
    assert T.load_or_train(TINY, sample, progress=False).path == book.path
    monkeypatch.setenv("FER_QUICK", "0")          # a full run: train() itself, which loads it
    assert T.load_or_train(TINY, sample, progress=False).path == book.path


def test_a_residual_network_trains_with_onednn_on(sample, arts):
    """oneDNN crashed the process while training mini-Xception at 64 pixels (its strided 1×1
    shortcut: fer_utils/runtime.py). The builder now avoids that op; the tests run with oneDNN
    on, so this short training at 64 pixels is the regression test of every `make test`."""
    assert os.environ["TF_ENABLE_ONEDNN_OPTS"] == "1"
    cfg = T.TrainConfig(name="mx-tiny", model="mini_xception", model_args={"input_size": 64},
                        epochs=1, batch_size=32, train_limit=128, eval_limit=64)
    art = T.train(cfg, sample, progress=False)
    assert art.metrics["epochs_trained"] == 1 and art.metrics["params"] == 58_423
    assert art.metrics["engine"].endswith("oneDNN on")


def _interrupt_after_each_epoch(monkeypatch):
    """Make every epoch end with a KeyboardInterrupt once its checkpoint is written (a run killed
    between epochs); returns the real callback factory, to put back for the resumed run."""
    original = fitting._protocol_callback

    def interrupting(config, ckpt, state, bar, on_epoch=None):
        cb = original(config, ckpt, state, bar, on_epoch)
        inner = cb.on_epoch_end

        def on_epoch_end(epoch, logs=None):
            inner(epoch, logs)
            raise KeyboardInterrupt("simulated interruption")

        cb.on_epoch_end = on_epoch_end
        return cb

    monkeypatch.setattr(fitting, "_protocol_callback", interrupting)
    return original


def test_interrupted_run_resumes(sample, arts, monkeypatch):
    original = _interrupt_after_each_epoch(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        T.train(TINY, sample, progress=False)
    key = experiment.artifact_key(TINY, DataRef.of(sample))
    assert not (arts / key).exists(), "an unfinished run writes no artifact"
    ckpt = fitting.checkpoint_dir(key)
    first = json.loads((ckpt / "state.json").read_text())
    assert first["epoch"] == 1
    monkeypatch.setattr(fitting, "_protocol_callback", original)
    art = T.train(TINY, sample, progress=False)
    assert not ckpt.exists(), "the checkpoint goes when the run ends"
    assert art.metrics["epochs_trained"] == 2
    assert art.history["loss"][0] == first["history"]["loss"][0]
    assert len(art.history["loss"]) == 2


def test_a_resumed_run_ends_where_the_uninterrupted_run_ends(sample, arts, monkeypatch):
    """With a stateless augmentation the batches of epoch e depend on the seed and e alone, and
    the checkpoint keeps the dropout layers' random states: interrupted after every epoch or
    not, the run trains to the same weights."""
    cfg = TINY.replace(augment_style="affine", erasing=0.2)
    whole = T.train(cfg, sample, progress=False)
    original = _interrupt_after_each_epoch(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        T.train(cfg, sample, progress=False, retrain=True)
    ckpt = fitting.checkpoint_dir(experiment.artifact_key(cfg, DataRef.of(sample)))
    assert json.loads((ckpt / "state.json").read_text())["rng"]   # dropout's states are kept
    monkeypatch.setattr(fitting, "_protocol_callback", original)
    resumed = T.train(cfg, sample, progress=False, retrain=True)   # from the checkpoint
    assert not ckpt.exists() and resumed.metrics["epochs_trained"] == 2
    assert resumed.history["loss"] == whole.history["loss"]
    assert resumed.history["val_accuracy"] == whole.history["val_accuracy"]


def test_a_large_run_keeps_a_compact_checkpoint_and_resumes_from_it(sample, arts, monkeypatch):
    """Above COMPACT_ABOVE_BYTES a run's checkpoint is float16 arrays (last.npz with the
    optimizer, best.npz), small enough to commit; the run resumes from it and finishes."""
    monkeypatch.setattr(fitting, "COMPACT_ABOVE_BYTES", 1000)  # every model is large now
    original = _interrupt_after_each_epoch(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        T.train(TINY, sample, progress=False)
    ckpt = fitting.checkpoint_dir(experiment.artifact_key(TINY, DataRef.of(sample)))
    assert sorted(p.name for p in ckpt.iterdir()) == ["best.npz", "last.npz", "state.json"]
    first = json.loads((ckpt / "state.json").read_text())
    assert first["compact"] and first["epoch"] == 1
    with np.load(ckpt / "last.npz") as z:
        assert all(z[k].dtype == np.float16 for k in z.files if k.startswith("w"))
        assert any(k.startswith("o") for k in z.files)  # the optimizer's state is kept
    monkeypatch.setattr(fitting, "_protocol_callback", original)
    art = T.train(TINY, sample, progress=False)
    assert art.metrics["epochs_trained"] == 2 and len(art.history["loss"]) == 2
    assert art.history["loss"][0] == first["history"]["loss"][0]
    assert not ckpt.exists()
    model = art.load_model()  # the best epoch's weights, as float16 values
    w = next(v for v in model.weights if v.path.endswith("kernel")).numpy()
    assert np.array_equal(w, w.astype(np.float16).astype(np.float32))


def test_ferplus_labels_train_eight_classes(sample, arts):
    art = T.train(TINY.replace(labels="ferplus-crossentropy", epochs=1), sample, progress=False)
    assert len(art.metrics["class_names"]) == 8
    assert art.metrics["PrivateTest"]["n"] < 500  # unknown / not-a-face images are dropped


def test_cli_train_and_evaluate_reproduce_the_artifact(tmp_path, arts, capsys):
    cfg = tmp_path / "tiny.json"
    cfg.write_text(json.dumps(TINY.replace(epochs=1).to_dict()))
    assert cli.main(["train", str(cfg), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "artifact:" in out and "PrivateTest: accuracy" in out
    (folder,) = [p for p in arts.iterdir() if p.is_dir()]
    stored = json.loads((folder / "metrics.json").read_text())["PrivateTest"]
    assert cli.main(["evaluate", "--model", str(folder), "--split", "PrivateTest", "--json",
                     "--data", "sample"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1, "exactly one JSON object on stdout"
    got = json.loads(lines[0])
    for key in ("n", "accuracy", "macro_precision", "macro_recall", "macro_f1", "weighted_precision",
                "weighted_recall", "weighted_f1", "per_class", "confusion"):
        assert got[key] == stored[key], key
    assert set(got["per_class"]["angry"]) == {"precision", "recall", "f1", "support"}


def test_cli_bad_input(tmp_path, arts, capsys):
    assert cli.main(["evaluate", "--model", str(tmp_path / "nope.keras")]) == 2
    assert "no model file" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"depth": 3}')
    assert cli.main(["train", str(bad)]) == 2
    assert "unknown config key" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["evaluate", "--model", "x", "--split", "Validation"])
    assert "invalid choice" in capsys.readouterr().err
    # a model for another input shape
    import keras

    from fer_utils import models
    wrong = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.Flatten(), keras.layers.Dense(7)])
    wrong.save(tmp_path / "wrong.keras")
    assert cli.main(["evaluate", "--model", str(tmp_path / "wrong.keras"), "--data", "sample"]) == 2
    assert "expects inputs of shape (64, 64, 3)" in capsys.readouterr().err
    other8 = models.plain_cnn(3, width=8, n_classes=8)
    other8.save(tmp_path / "eight.keras")
    assert cli.main(["evaluate", "--model", str(tmp_path / "eight.keras"), "--labels", "fer",
                     "--data", "sample"]) == 2
    assert "predicts 8 classes" in capsys.readouterr().err
    (tmp_path / "junk.keras").write_text("not a model")
    assert cli.main(["evaluate", "--model", str(tmp_path / "junk.keras"), "--data", "sample"]) == 2
    assert "not a Keras model" in capsys.readouterr().err


def test_named_configs_ship_with_the_package():
    for depth in (3, 4, 5, 6):
        for seed in (0, 1, 2):
            c = T.TrainConfig.named(f"ablation/cnn-d{depth}-s{seed}")
            assert c.model_args["depth"] == depth and c.seed == seed
    with pytest.raises(FileNotFoundError, match="known: ablation/cnn-d3-s0"):
        T.TrainConfig.named("ablation/cnn-d9")


def test_mini_xception_matches_the_paper():
    from fer_utils import models
    m = models.mini_xception()
    assert models.count_params(m) == 58_423 and m.input_shape == (None, 48, 48, 1)
    assert models.count_params(models.mini_xception(input_size=48)) == 58_423
    assert models.mini_xception(n_classes=8).output_shape == (None, 8)
    names = [layer.name for layer in m.layers]
    assert sum(n.endswith("_add") for n in names) == 4 and "gap" in names
    assert not any(type(layer).__name__ == "Dense" for layer in m.layers)
    with pytest.raises(ValueError, match="input_size must be at least 32"):
        models.mini_xception(input_size=24)
    table = models.layer_table(m)
    assert table["params"].sum() == 58_423


def test_mask_is_part_of_the_key_and_checked():
    ref = DataRef("sample", "0" * 16)
    assert experiment.artifact_key(TINY.replace(mask="eyes"), ref) != experiment.artifact_key(TINY, ref)
    with pytest.raises(ValueError, match="unknown mask 'scarf'; choose one of none"):
        T.TrainConfig(mask="scarf")


def test_masked_training_and_masked_evaluation(sample, arts, capsys):
    from fer_utils import masks

    art = T.train(TINY.replace(mask="mouth", epochs=1), sample, progress=False)
    assert art.metrics["mask"] == {"name": "mouth", "covered": 0.5, "fallback": 0}
    # evaluating with the training mask reproduces the artifact; without it, it differs
    same = inference.evaluate_model(art.path, sample, "PrivateTest", mask="mouth")
    assert same["accuracy"] == art.metrics["PrivateTest"]["accuracy"]
    assert cli.main(["evaluate", "--model", str(art.path), "--mask", "mouth", "--json",
                     "--data", "sample"]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert got["mask"] == "mouth" and got["accuracy"] == pytest.approx(same["accuracy"])
    # an artifact folder is evaluated with its training mask by default; --mask overrides it
    assert cli.main(["evaluate", "--model", str(art.path), "--json", "--data", "sample"]) == 0
    default = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert default["mask"] == "mouth" and default["accuracy"] == got["accuracy"]
    assert cli.main(["evaluate", "--model", str(art.path), "--mask", "none", "--json",
                     "--data", "sample"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["mask"] == "none"
    unmasked = T.train(TINY.replace(epochs=1), sample, progress=False)
    model = unmasked.load_model()
    covered = masks.mask_images(sample.images, "mouth")[0]
    from fer_utils.metrics import classification_metrics

    idx = np.flatnonzero(sample.usage == "PrivateTest")
    pred = inference.predict_proba(model, covered[idx]).argmax(1)
    direct = classification_metrics(sample.labels[idx], pred, art.metrics["class_names"])
    assert inference.evaluate_model(model, sample, mask="mouth")["accuracy"] == direct["accuracy"]


def test_large_models_keep_metrics_only(sample, arts, monkeypatch):
    monkeypatch.setattr(experiment, "MAX_MODEL_BYTES", 1000)  # every model is "large" now
    cfg = TINY.replace(name="big", epochs=1)
    art = T.train(cfg, sample, progress=False)
    assert not (art.path / "model.weights.npz").exists() and art.metrics["model_kept"].startswith("no:")
    assert "PrivateTest" in art.metrics
    # the machine that trained it keeps a copy outside the repository
    local = experiment.large_model_path(art.path.name) / "model.json"
    assert art.model_path == local and local.is_file()
    assert inference.model_file(art.path) == local          # `evaluate --model <artifact>` finds it
    assert art.load_model().count_params() == art.metrics["params"]
    local.unlink()                                    # a reader's checkout: metrics only
    again = experiment.find_artifact(cfg, DataRef.of(sample), art.path.parent)
    assert again is not None and again.metrics == art.metrics  # found without a model file
    assert not again.has_model
    with pytest.raises(FileNotFoundError, match="keeps metrics only"):
        again.load_model()
    with pytest.raises(FileNotFoundError, match="keeps metrics only"):
        inference.model_file(art.path)


MIRRORED = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from fer_utils import inference
from fer_utils import train as T
from fer_utils.sample import make_sample
ds = make_sample()
cfg = T.TrainConfig(name="mirror", model_args={"depth": 3, "width": 8}, epochs=2, batch_size=32,
                    train_limit=600, strategy="mirrored")
art = T.train(cfg, ds, progress=False)
again = inference.evaluate_model(art.path, ds, "PrivateTest")
print(json.dumps({"replicas": art.metrics["replicas"], "loss": art.history["loss"],
                  "stored": art.metrics["PrivateTest"]["accuracy"], "again": again["accuracy"],
                  "key_has_strategy": "mirrored" in json.dumps(cfg.key_dict()),
                  "none_in_key": "strategy" in T.TrainConfig().key_dict()}))
"""


def test_mirrored_training_on_two_cpu_devices(tmp_path):
    """tf.distribute: two logical CPU devices, the global batch and rate scaled; the run
    learns and its artifact re-evaluates to its stored metrics."""
    import subprocess
    import sys

    env = dict(os.environ, FER_ARTIFACTS_DIR=str(tmp_path / "artifacts"))
    out = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True, text=True,
                         env=env, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["replicas"] == 2 and got["loss"][1] < got["loss"][0]
    assert got["again"] == got["stored"]
    assert got["key_has_strategy"] and not got["none_in_key"]  # old artifacts keep their keys
