"""fer_utils.fitting: the input pipeline, the optimizer, the resumable fit loop and its
checkpoints. (Whole runs through it, interrupted and resumed, are in test_train.py.)"""
from __future__ import annotations

import numpy as np
import pytest

from fer_utils import fitting, models


def test_compact_checkpoint_that_does_not_fit_the_model_is_refused(tmp_path):
    from fer_utils import models

    a, b = models.build("cnn", depth=3, width=8), models.build("cnn", depth=4, width=8)
    fitting.save_compact(a, tmp_path / "a.npz", optimizer=False)
    with pytest.raises(ValueError, match="does not fit"):
        fitting.load_compact(b, tmp_path / "a.npz")


def test_the_recipes_network_needs_the_compact_form():
    from fer_utils import models

    model = models.build("vgg_net")
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    assert fitting.checkpoint_bytes(model) > fitting.COMPACT_ABOVE_BYTES
    small = models.build("mini_xception", input_size=64, l2_scope="reference")
    small.compile(optimizer="adam", loss="categorical_crossentropy")
    assert fitting.checkpoint_bytes(small) < fitting.COMPACT_ABOVE_BYTES


def test_random_erasing_fills_rectangles_with_noise():
    import tensorflow as tf

    x = tf.zeros((64, 48, 48, 1))
    key = tf.constant([0, 1], tf.int64)
    out = fitting.random_erase(x, 1.0, key).numpy()
    changed = (out != 0).reshape(64, -1).mean(1)
    assert (changed > 0.01).all() and (changed < 0.3).all()
    assert np.array_equal(out, fitting.random_erase(x, 1.0, key).numpy())    # a key repeats it
    assert not np.array_equal(out, fitting.random_erase(x, 1.0, key + 1).numpy())
    assert (fitting.random_erase(x, 0.0, key).numpy() == 0).all()


def test_the_pipeline_batches_casts_and_repeats_its_shuffle_and_augmentation():
    from fer_utils.train import TrainConfig

    x = np.arange(10 * 48 * 48, dtype=np.uint8).reshape(10, 48, 48) % 251
    y = np.eye(7, dtype=np.float32)[np.arange(10) % 7]
    first = [b for b in fitting.make_dataset(x, y, batch_size=4, shuffle=True, seed=1)]
    assert [tuple(b[0].shape) for b in first] == [(4, 48, 48, 1), (4, 48, 48, 1), (2, 48, 48, 1)]
    assert first[0][0].dtype.name == "float32"
    again = [b for b in fitting.make_dataset(x, y, batch_size=4, shuffle=True, seed=1)]
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(first, again))    # seeded order
    plain = [b for b in fitting.make_dataset(x, y, batch_size=10, shuffle=False)][0]
    assert np.array_equal(plain[0].numpy()[..., 0], x.astype(np.float32))   # untouched
    weighted = next(iter(fitting.make_dataset(x, y, batch_size=10, shuffle=False,
                                              weights=np.ones(10, np.float32))))
    assert len(weighted) == 3                                               # x, y, weights
    cfg = TrainConfig(seed=0)
    assert len(fitting.augmenter(cfg).layers) == 4
    assert fitting.augmenter(cfg.replace(rotation=0.0, shift=0.0, zoom=0.0, flip=False)) is None
    aug = next(iter(fitting.make_dataset(x, y, batch_size=10, shuffle=False,
                                         augment=fitting.augmenter(cfg))))[0].numpy()
    assert aug.shape == (10, 48, 48, 1) and not np.array_equal(aug[..., 0], x)


def test_the_optimizer_follows_the_config_and_scales_with_replicas():
    from fer_utils.train import TrainConfig

    adam = fitting.make_optimizer(TrainConfig(learning_rate=1e-3), steps_per_epoch=10)
    assert type(adam).__name__ == "Adam" and np.isclose(float(adam.learning_rate), 1e-3)
    sgd = fitting.make_optimizer(TrainConfig(optimizer="sgd", learning_rate=0.01,
                                             weight_decay=5e-4), 10, replicas=2)
    assert type(sgd).__name__ == "SGD" and sgd.nesterov and np.isclose(sgd.momentum, 0.9)
    assert np.isclose(float(sgd.learning_rate), 0.02) and np.isclose(sgd.weight_decay, 5e-4)
    cos = fitting.make_optimizer(TrainConfig(schedule="cosine", epochs=4, warmup_epochs=1,
                                             learning_rate=0.01), steps_per_epoch=5)
    sched = cos._learning_rate  # a schedule: warm-up to the peak, then down to zero
    assert np.isclose(float(sched(5)), 0.01) and float(sched(0)) < 0.01 and float(sched(20)) < 1e-6
    loss = fitting.make_loss(TrainConfig(label_smoothing=0.1))
    assert np.isclose(loss.get_config()["label_smoothing"], 0.1)
    assert fitting.distribution("none") == (None, 1)
    with pytest.raises(ValueError, match="unknown strategy"):
        fitting.distribution("tpu")


def test_augmentation_repeats_from_its_seed():
    """Two pipelines built from the same seed give the same augmented batches, so a run can be
    repeated (the augmentation's random draws must not depend on thread timing)."""
    from fer_utils.train import TrainConfig

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (300, 48, 48)).astype(np.float32)
    y = np.eye(7, dtype=np.float32)[rng.integers(0, 7, 300)]
    cfg = TrainConfig(seed=0, erasing=0.5)

    def batches():
        ds = fitting.make_dataset(x, y, batch_size=32, shuffle=True, seed=0,
                                  augment=fitting.augmenter(cfg), erasing=cfg.erasing)
        return np.concatenate([b[0].numpy() for b in ds])

    first = batches()
    assert np.array_equal(first, batches())
    assert not np.array_equal(first[..., 0], x)


def _epochs(ds):
    return [np.concatenate([b[i].numpy() for b in ds]) for i in (0, 1)]


@pytest.mark.parametrize("style", ["affine", "layers"])
def test_each_epoch_draws_from_the_seed_and_its_number_so_a_resumed_run_sees_new_batches(style):
    """Epoch e of the stream is the same whether the stream starts at 0 or at e (a resumed
    run), epochs differ from each other, and each epoch holds every face once."""
    from fer_utils.train import TrainConfig

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (70, 48, 48)).astype(np.float32)
    y = np.eye(70, dtype=np.float32)                                    # a face's own label
    cfg = TrainConfig(seed=3, erasing=0.3, augment_style=style)

    def stream(first, epochs):
        return fitting.make_dataset(x, y, batch_size=16, shuffle=True, seed=3, erasing=0.3,
                                    augment=fitting.augmenter(cfg), epochs=epochs,
                                    first_epoch=first)

    steps = fitting.steps_per_epoch(70, 16)
    endless = list(stream(0, None).take(3 * steps))
    assert [tuple(b[0].shape) for b in endless[:steps]] == [(16, 48, 48, 1)] * 4 + [(6, 48, 48, 1)]
    epochs = [_epochs(endless[i * steps:(i + 1) * steps]) for i in range(3)]
    for _, lab in epochs:
        assert sorted(lab.argmax(1)) == list(range(70))                   # every face once
    assert not np.array_equal(epochs[0][1], epochs[1][1])                # a new order
    resumed = _epochs(stream(2, 1))                                      # resumed at epoch 2
    assert np.array_equal(resumed[1], epochs[2][1])                      # its order
    if style == "affine":                                                # and its draws
        assert np.array_equal(resumed[0], epochs[2][0])
    # the same faces in the same places are drawn anew in another epoch
    order0, order1 = epochs[0][1].argmax(1), epochs[1][1].argmax(1)
    same = np.flatnonzero(order0 == order1)
    img0 = epochs[0][0][np.argsort(order0)]
    img1 = epochs[1][0][np.argsort(order1)]
    assert not np.array_equal(img0, img1) and len(same) < 70


def test_the_fit_loop_stops_early_keeps_the_best_epoch_and_lowers_the_rate(tmp_path):
    """On data it cannot learn, the watched accuracy stops improving: the plateau lowers the
    rate, early stopping ends the run, and the model returned is the best epoch's."""
    fitting.seed_everything(0)
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (64, 48, 48, 1)).astype(np.float32)
    y = np.eye(7, dtype=np.float32)[rng.integers(0, 7, 64)]

    def build():
        m = models.build("cnn", depth=3, width=4)
        m.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
        return m

    rules = fitting.FitRules("val_loss", patience=2, lr_patience=1, lr_factor=0.5)
    best, state = fitting.fit_resumable(
        build, {"x": x, "y": y, "validation_data": (x[:16], y[:16] * 0 + np.eye(7)[0]),
                "batch_size": 32}, epochs=30, rules=rules, ckpt=tmp_path / "ck", desc="t",
        progress=False)
    h = state["history"]
    assert state["epoch"] < 30 and state["wait"] >= 2                        # stopped early
    assert state["best_epoch"] == 1 + int(np.argmin(h["val_loss"]))
    assert min(h["lr"]) < h["lr"][0]                                          # the plateau acted
    assert len(h["cpu_seconds"]) == state["epoch"] and h["seconds"] == sorted(h["seconds"])
    assert (tmp_path / "ck" / "state.json").is_file() and best.count_params() > 0
    fitting.remove_checkpoint(tmp_path / "ck")
    assert not (tmp_path / "ck").exists()


def test_affine_augmentation_draws_one_sharp_map_per_face_from_its_seed():
    import tensorflow as tf

    from fer_utils.train import TrainConfig

    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (16, 48, 48, 1)).astype(np.float32)   # fine detail everywhere
    cfg = TrainConfig(seed=0, augment_style="affine")
    aug = fitting.augmenter(cfg)
    assert isinstance(aug, fitting.AffineAugment)
    out = np.asarray(aug(x, training=True))
    assert out.shape == x.shape and not np.array_equal(out, x)
    # nearest neighbour: every output pixel is a pixel of its own input face
    assert all(np.isin(out[i], x[i]).all() for i in range(len(x)))
    again = np.asarray(fitting.augmenter(cfg)(x, training=True))
    assert np.array_equal(out, again)                                  # the seed repeats it
    key = tf.constant([7, 8], tf.int64)
    keyed = np.asarray(aug(x, training=True, key=key))
    assert np.array_equal(keyed, np.asarray(aug(x, training=True, key=key)))
    assert not np.array_equal(keyed, out)                              # another key, new draws
    assert np.array_equal(np.asarray(aug(x, training=False)), x)
    # one resampling without interpolation keeps the detail that the layer chain blurs
    layers = np.asarray(fitting.augmenter(cfg.replace(augment_style="layers"))(x, training=True))
    base = fitting.sharpness(x)
    assert fitting.sharpness(out) > 0.9 * base > fitting.sharpness(layers)
    # identity draws give the face back
    still = fitting.AffineAugment(rotation=0.0, shift=0.0, zoom=0.0, flip=False)
    assert np.array_equal(np.asarray(still(x)), x)
    m = np.asarray(fitting.AffineAugment(zoom=0.1, rotation=0.0, shift=0.0).matrices(500, 48, 48))
    assert np.abs(m[:, 0] - m[:, 4]).max() > 0.05                       # zoom per axis
    assert m[:, 0].min() >= 0.9 - 1e-6 and m[:, 0].max() <= 1.1 + 1e-6
    assert fitting.augmenter(cfg.replace(rotation=0.0, shift=0.0, zoom=0.0, flip=False)) is None
    with pytest.raises(ValueError, match="augment_style"):
        TrainConfig(augment_style="blurry")
