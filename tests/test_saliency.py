"""fer_utils.saliency: the four methods on models with known answers, any model structure,
clear errors, and the scores (mass inside, pointing game, masking drop)."""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest

import fer_utils  # noqa: F401  (the oneDNN choice, on, before TensorFlow loads)
from fer_utils import saliency as S

keras = pytest.importorskip("keras")

SIZE = 16
WINDOW = np.zeros((SIZE, SIZE), np.float32)
WINDOW[4:8, 9:13] = 1.0  # the only pixels the toy model looks at


@keras.saving.register_keras_serializable(package="tests")
class Window(keras.layers.Layer):
    """Multiplies its input by a fixed window (a model that can only see those pixels)."""

    def call(self, x):
        return x * keras.ops.convert_to_tensor(WINDOW)[None, :, :, None]


def toy_model():
    """Class 1 grows with the brightness inside WINDOW; nothing outside matters."""
    inp = keras.Input((SIZE, SIZE, 1))
    seen = Window(name="window")(inp)
    pooled = keras.layers.GlobalAveragePooling2D()(seen)
    dense = keras.layers.Dense(2, name="head")
    out = keras.layers.Softmax()(dense(pooled))
    model = keras.Model(inp, out, name="toy")
    dense.set_weights([np.array([[-20.0, 20.0]], np.float32), np.array([0.5, -0.5], np.float32)])
    return model


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    return rng.uniform(0.2, 1.0, (6, SIZE, SIZE)).astype(np.float32)


def test_gradients_and_smoothgrad_live_only_in_the_window(images):
    model = toy_model()
    for maps in (S.gradients(model, images, 1), S.smoothgrad(model, images, 1, samples=4)):
        assert maps.shape == (6, SIZE, SIZE) and (maps >= 0).all()
        assert (maps[:, WINDOW == 0] == 0).all() and (maps[:, WINDOW == 1] > 0).all()


def test_occlusion_finds_the_window(images):
    model = toy_model()
    occ = S.occlusion(model, images, 1, patch=4, stride=2)
    assert occ.shape == (6, SIZE, SIZE)
    far = np.ones((SIZE, SIZE), bool)
    far[1:11, 6:16] = False  # every patch touching the window covers only this area
    assert (occ[:, far] < 1e-5).all() and (occ[:, WINDOW == 1] > 1e-3).all()
    with pytest.raises(S.SaliencyError, match="patch must be"):
        S.occlusion(model, images, 1, patch=40)


def test_grad_cam_on_a_custom_layer_matches_the_window(images):
    model = toy_model()
    cam = S.grad_cam(model, images, 1, layer="window")
    assert cam.shape == (6, SIZE, SIZE) and cam.max() == pytest.approx(1.0)
    assert (cam[:, WINDOW == 0] < 1e-6).all()
    assert S.pointing_game(cam, np.broadcast_to(WINDOW > 0, cam.shape), tolerance=0).all()


def _manual_grad_cam(model, layer_name, x, cls):
    """Grad-CAM written out for a flat functional model (the textbook two-output model)."""
    import tensorflow as tf

    probe = keras.Model(model.inputs[0], [model.get_layer(layer_name).output, model.outputs[0]])
    with tf.GradientTape() as tape:
        fmap, out = probe(x, training=False)
        score = tf.gather(out, cls, axis=1, batch_dims=1)
    g = tape.gradient(score, fmap)
    cam = tf.nn.relu(tf.reduce_sum(tf.reduce_mean(g, (1, 2), keepdims=True) * fmap, -1))
    cam = tf.image.resize(cam[..., None], x.shape[1:3])[..., 0].numpy()
    top = cam.reshape(len(cam), -1).max(1).reshape(-1, 1, 1)
    return np.divide(cam, top, out=np.zeros_like(cam), where=top > 0)  # all-zero maps stay 0


def test_grad_cam_agrees_with_the_textbook_form_and_works_on_sequential_and_nested():
    keras.utils.set_random_seed(0)
    L = keras.layers
    x = np.random.default_rng(1).uniform(0, 255, (5, 24, 24, 1)).astype(np.float32)
    functional_in = keras.Input((24, 24, 1))
    h = L.Conv2D(6, 3, activation="relu", name="c1")(L.Rescaling(1 / 255)(functional_in))
    h = L.Conv2D(8, 3, activation="relu", name="c2")(L.MaxPooling2D()(h))
    functional = keras.Model(functional_in, L.Dense(3, activation="softmax")(
        L.GlobalAveragePooling2D()(h)))
    cls = np.array([0, 1, 2, 0, 1])
    np.testing.assert_allclose(S.grad_cam(functional, x, cls, layer="c2"),
                               _manual_grad_cam(functional, "c2", x, cls), atol=1e-5)

    sequential = keras.Sequential([keras.Input((24, 24, 1)), L.Rescaling(1 / 255),
                                   L.Conv2D(4, 3, activation="relu", name="s1"),
                                   L.GlobalAveragePooling2D(), L.Dense(3, activation="softmax")])
    assert S.grad_cam(sequential, x).shape == (5, 24, 24)  # default: last conv layer
    assert S.conv_layers(sequential)[-1] == "s1"  # (the 4-D Rescaling output counts too)

    inner = keras.Sequential([keras.Input((24, 24, 1)), L.Conv2D(4, 3, name="inner_conv"),
                              L.ReLU(name="inner_relu")], name="base")
    outer_in = keras.Input((24, 24, 1))
    nested = keras.Model(outer_in, L.Dense(3, activation="softmax")(
        L.GlobalAveragePooling2D()(inner(outer_in))), name="nested")
    assert S.find_layer(nested)[0] == "base/inner_relu"  # the last convolution's activation
    assert "base/inner_relu" in S.conv_layers(nested)
    cam = S.grad_cam(nested, x, layer="base/inner_conv")
    assert cam.shape == (5, 24, 24) and np.isfinite(cam).all() and cam.max() <= 1.0
    assert (S.grad_cam(nested, x, layer="inner_conv") == cam).all()  # name or path


def test_clear_errors_list_the_choices(images):
    model = toy_model()
    with pytest.raises(S.SaliencyError, match="no layer named 'conv9'.*window"):
        S.grad_cam(model, images, layer="conv9")
    with pytest.raises(S.SaliencyError, match="no feature-map output.*window"):
        S.grad_cam(model, images, layer="head")
    with pytest.raises(S.SaliencyError, match=r"takes inputs of shape \(16, 16, 1\).*\(6, 20, 20\)"):
        S.gradients(model, np.zeros((6, 20, 20)))
    with pytest.raises(S.SaliencyError, match="choose one of gradients"):
        S.explain("lime", model, images)
    # shapes that are accepted: a grey batch, one image with or without its channel
    assert S.gradients(model, images[0]).shape == (1, SIZE, SIZE)
    assert S.gradients(model, images[0][..., None]).shape == (1, SIZE, SIZE)


def test_scores_against_a_known_region(images):
    region = np.broadcast_to(WINDOW > 0, (6, SIZE, SIZE))
    perfect = region.astype(np.float32)
    assert S.mass_inside(perfect, region) == pytest.approx(np.ones(6))
    rand = S.random_maps((6, SIZE, SIZE))
    assert S.mass_inside(rand, region).mean() == pytest.approx(region.mean(), abs=0.05)
    assert np.isnan(S.mass_inside(np.zeros((1, SIZE, SIZE)), region[:1])).all()
    assert S.pointing_game(perfect, region).all()
    model = toy_model()
    labels = np.ones(6, np.int64)
    drop = S.masking_drop(model, images, labels, S.gradients(model, images, 1), fraction=0.0625)
    assert drop["intact"] == 1.0 and drop["salient covered"] == 0.0  # the window is gone
    assert drop["random covered"] > drop["salient covered"]
    frac, prob = S.deletion_curve(model, images, S.gradients(model, images, 1), 1, steps=4)
    assert frac[0] == 0 and prob[0] > prob[1] and prob[1] == pytest.approx(prob[-1], abs=1e-6)


def test_class_averages_use_only_correct_predictions():
    maps = np.ones((4, 3, 3))
    maps[1, 0, 0] = 10
    means, counts = S.class_averages(maps, np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]),
                                     n_classes=3)
    assert counts.tolist() == [1, 2, 0] and np.isnan(means[2]).all()
    np.testing.assert_allclose(means[0], np.full((3, 3), 1 / 9))
    prof = S.row_profile(np.ones((2, 48, 48)))
    assert prof == pytest.approx({"forehead": 0.25, "eyes": 0.25, "mouth": 0.5})

    assert np.isnan(list(S.row_profile(np.zeros((2, 48, 48))).values())).all()  # nothing to share
    with_empty = np.concatenate([np.ones((1, 48, 48)), np.zeros((1, 48, 48))])
    assert S.row_profile(with_empty) == pytest.approx(prof)   # an empty map has no mass to share


def test_faces_to_average_are_correct_ones_per_class_and_the_grid_shows_them():
    import matplotlib
    matplotlib.use("Agg")

    # a model that answers class 0 for dark images and class 1 for bright ones
    inputs = keras.Input((6, 6, 1))
    dense = keras.layers.Dense(3, activation="softmax")
    model = keras.Model(inputs, dense(keras.layers.GlobalAveragePooling2D()(inputs)))
    dense.set_weights([np.array([[-1.0, 1.0, 0.0]]), np.array([128.0, -128.0, -1000.0])])
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(0, 100, (4, 6, 6)), rng.uniform(155, 255, (4, 6, 6))])
    y = np.array([0, 0, 1, 0, 1, 1, 2, 1])      # predicted: 0 0 0 0 1 1 1 1
    pick = S.correct_per_class(model, x, y, per_class=1, n_classes=3)
    assert len(pick) == 2 and y[pick].tolist() == [0, 1]
    assert set(pick) <= {0, 1, 3, 4, 5, 7}                  # correct ones only
    assert (S.correct_per_class(model, x, y, per_class=1, n_classes=3) == pick).all()  # seeded
    assert len(S.correct_per_class(model, x, y, per_class=5, n_classes=3)) == 6
    maps = np.ones((8, 6, 6))
    fig = S.average_figure({"a": maps, "b": (maps[:4], x[:4], y[:4])}, x, y,
                           class_names=["x", "y", "z"])
    axes = np.array(fig.axes).reshape(2, 3)
    assert [a.get_ylabel() for a in axes[:, 0]] == ["a", "b"]
    assert axes[0, 2].get_title() == "z (n=1)"
    blank = axes[1, 2]                                   # no class-2 face in b: a blank panel
    assert "none correct" in blank.texts[0].get_text() and not blank.get_xticks().size
    assert not any(sp.get_visible() for sp in blank.spines.values())
    # a class whose every map is zero (Grad-CAM found no positive evidence): marked, no NaN warning
    flat = maps.copy()
    flat[y == 2] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = S.average_figure({"a": flat}, x, y, class_names=["x", "y", "z"])
    assert fig.axes[2].get_title() == "z (n=1)" and fig.axes[2].texts[0].get_text() == "every map\nzero"
    assert not fig.axes[0].texts                          # a class with a map: no mark


def test_the_readings_sentence_says_where_each_came_from():
    measured = {"measured": "2026-12-07", "stored": False}
    text = S.describe_reading_sources({"A": measured, "B": {**measured, "stored": True},
                                       "C": None}, ["A", "B", "C"])
    assert text.startswith("A's readings were measured with its model, on the machine that ran "
                           "this chapter (2026-12-07)")
    assert "B's readings were measured on 2026-12-07 by the machine that trained it" in text
    assert text.endswith("C's model is not on the machine that ran this chapter and no readings "
                         "of it are stored, so the masking table and the Grad-CAM figure below "
                         "leave it out (the training campaign trains it again in one sitting, "
                         "after the rest of its queue, to store them).")
    assert S.describe_reading_sources({"A": None}, ["A", "B"]).startswith("A and B's model")


def test_default_layer_is_the_last_rectified_convolution_not_a_dropout():
    from fer_utils import models

    cnn = models.plain_cnn(4)      # ... conv4 -> bn4 -> relu4 -> pool4 -> drop4 -> dense
    path, layer = S.find_layer(cnn)
    assert path == "relu4", path   # after its batch norm and activation, before pooling
    assert any("drop" in p for p in S.conv_layers(cnn))  # still a valid explicit choice
    # a convolution with nothing after it is its own default
    inputs = keras.Input((12, 12, 1))
    x = keras.layers.Conv2D(4, 3, name="only_conv")(inputs)
    plain = keras.Model(inputs, keras.layers.Dense(2)(keras.layers.Flatten()(x)))
    assert S.find_layer(plain)[0] == "only_conv"


def test_grad_cam_after_batch_norm_is_rarely_empty():
    """On the raw output of a convolution followed by batch norm, the gradient-weighted sum is
    often negative everywhere, and Grad-CAM's ReLU leaves an all-zero map: the default layer
    must sit after the activation (a trained model showed 74 % empty maps at conv4, 0 at relu4)."""
    from fer_utils import models

    keras.utils.set_random_seed(0)
    cnn = models.plain_cnn(4)
    x = np.random.default_rng(1).uniform(0, 255, (16, 48, 48)).astype(np.float32)
    cam = S.grad_cam(cnn, x)
    assert (cam.reshape(16, -1).max(axis=1) > 0).mean() >= 0.5


def test_methods_run_on_mini_xception():
    from fer_utils import models

    model = models.mini_xception(input_size=48)
    x = np.random.default_rng(0).uniform(0, 255, (2, 48, 48)).astype(np.float32)
    for method in S.METHODS:
        kwargs = {"samples": 2} if method == "smoothgrad" else {}
        m = S.explain(method, model, x, **kwargs)
        assert m.shape == (2, 48, 48) and np.isfinite(m).all() and (m >= 0).all()


def test_grad_cam_inside_a_keras_applications_base():
    from fer_utils import models

    vgg = models.vgg16(input_shape=(48, 48, 1))
    path, _ = S.find_layer(vgg)
    assert path.endswith("/block5_conv3")  # nested inside the VGG-16 base (ReLU built in)
    x = np.random.default_rng(0).uniform(0, 255, (2, 48, 48)).astype(np.float32)
    cam = S.grad_cam(vgg, x)
    assert cam.shape == (2, 48, 48) and np.isfinite(cam).all()


def test_describe_long_runs_names_the_campaigns_one_sitting_runs_from_their_configs():
    from types import SimpleNamespace

    from fer_utils.train import TrainConfig

    def art(name, seconds=None):
        return SimpleNamespace(config=TrainConfig.named(name),
                               metrics={"train_seconds": seconds} if seconds else {})

    assert S.describe_long_runs({"VGG-16 (BN)": art("saliency/vgg16-convbn")}) == ""
    text = S.describe_long_runs({"VGG-16 (BN)": art("saliency/vgg16-convbn-long", 6173.4),
                                        "ResNet-50": art("saliency/resnet50")})
    assert text == ("The course's training campaign trained VGG-16 (BN) "
                    "(`saliency/vgg16-convbn-long`, 1.7 hours of training) in one sitting, with "
                    "a 1-epoch warm-up and one affine map per face as augmentation (the reference "
                    "mini-Xception's, Chapter 4).")
    assert "ResNet-50" not in text
    both = S.describe_long_runs({"VGG-16 (BN)": art("saliency/vgg16-convbn-long"),
                                        "ResNet-50": art("saliency/resnet50-long")})
    # the same warm-up and augmentation: said once, for both
    assert "ResNet-50 (`saliency/resnet50-long`)" in both and "in one sitting each, both with" in both
    assert both.count("warm-up") == 1
    # different additions: each run says its own
    plain = SimpleNamespace(config=dataclasses.replace(TrainConfig.named("saliency/resnet50-long"),
        warmup_epochs=0, augment_style="layers"), metrics={})
    mixed = S.describe_long_runs({"VGG-16 (BN)": art("saliency/vgg16-convbn-long"), "ResNet-50": plain})
    assert "VGG-16 (BN) (`saliency/vgg16-convbn-long`; a 1-epoch warm-up" in mixed
    assert "ResNet-50 (`saliency/resnet50-long`)" in mixed and mixed.endswith("in one sitting each.")


def test_large_readings_are_measured_where_the_model_is_and_read_back_without_it(tmp_path):
    from types import SimpleNamespace

    from fer_utils.sample import make_sample

    ds = make_sample().quick_subset({"Training": 7, "PublicTest": 7, "PrivateTest": 70})
    inputs = keras.Input((48, 48, 1))
    conv = keras.layers.Conv2D(4, 3, activation="relu", name="conv")(inputs)
    out = keras.layers.Dense(7, activation="softmax")(keras.layers.GlobalAveragePooling2D()(conv))
    model = keras.Model(inputs, out)
    masks = ("none", "mouth")
    with_model = SimpleNamespace(path=tmp_path, has_model=True, load_model=lambda: model)
    measured = S.large_readings(with_model, ds, masks, per_class=3)
    assert not measured["stored"] and (tmp_path / S.READINGS_FILE).is_file()
    assert set(measured["accuracy"]) == set(masks)
    assert all(0 <= a <= 1 for a in measured["accuracy"].values())
    pick = measured["pick"]
    assert (ds.usage[pick] == "PrivateTest").all() and len(pick) == len(measured["maps"])
    predicted = S.predict_proba(model, ds.images[pick]).argmax(1)
    assert len(pick) and (predicted == ds.labels[pick]).all()    # correct faces only
    assert measured["maps"].min() >= 0 and measured["maps"].max() <= 1

    metrics_only = SimpleNamespace(path=tmp_path, has_model=False)
    stored = S.large_readings(metrics_only, ds, masks, per_class=3)
    assert stored["stored"] and stored["accuracy"] == measured["accuracy"]
    assert (stored["pick"] == pick).all() and np.array_equal(stored["maps"], measured["maps"])
    assert stored["measured"] == measured["measured"]
    # measured on other faces, masks or counts: not these readings
    assert S.large_readings(metrics_only, ds, ("none",), per_class=3) is None
    assert S.large_readings(metrics_only, ds, masks, per_class=4) is None
    other = make_sample().quick_subset({"Training": 7, "PublicTest": 7, "PrivateTest": 60})
    assert S.large_readings(metrics_only, other, masks, per_class=3) is None
    assert S.large_readings(SimpleNamespace(path=tmp_path / "none", has_model=False),
                            ds, masks, per_class=3) is None
