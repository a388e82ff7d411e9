"""fer_utils.models: shapes, pre-processing inside the model, depth and bad arguments."""
from __future__ import annotations

import numpy as np
import pytest

from fer_utils import models
from fer_utils import models as M


@pytest.mark.parametrize("depth", [3, 4, 5, 6])
def test_plain_cnn_shapes(depth):
    m = models.plain_cnn(depth, width=8)
    assert m.input_shape == (None, 48, 48, 1)
    assert m.output_shape == (None, 7)
    assert len([l for l in m.layers if l.name.startswith("conv")]) == depth
    p = m.predict(np.zeros((2, 48, 48, 1), np.float32), verbose=0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_heads_and_depth():
    gap = [models.count_params(models.plain_cnn(d, width=8, head="gap")) for d in (3, 4, 5, 6)]
    assert gap == sorted(gap)  # with global pooling, parameters grow with depth
    dense = models.plain_cnn(4, width=8)
    assert dense.get_layer("fc") is not None and models.count_params(dense) > gap[1]


def test_rescaling_is_part_of_the_model():
    m = models.plain_cnn(3, width=8)
    assert any(l.name == "to_unit" for l in m.layers)
    m64 = models.plain_cnn(3, width=8, input_size=64)
    assert m64.input_shape == (None, 48, 48, 1)
    assert any(l.name == "resize" for l in m64.layers)


def test_bad_arguments():
    with pytest.raises(ValueError, match="depth"):
        models.plain_cnn(0)
    with pytest.raises(ValueError, match="head"):
        models.plain_cnn(3, head="mlp")
    with pytest.raises(ValueError, match="unknown model 'vgg99'"):
        models.build("vgg99")
    assert models.build("cnn", depth=3, width=8, n_classes=8).output_shape == (None, 8)


# ---------------------------------------------------------------- ES-MAP chapter models

def test_esh_net_matches_the_reference_parameter_count_at_80_pixels():
    from fer_utils import models as M

    # the reference's ≈1.06 M parameters = a 10×10×120 feature map before Dense(84)
    assert M.count_params(M.esh_net(input_shape=(80, 80, 3))) == 1_059_393
    m = M.esh_net()  # the reference heatmap as it reaches the network: 62×62 RGB
    assert m.input_shape == (None, 62, 62, 3) and m.output_shape == (None, 7)
    assert M.count_params(m) == 545_313
    pooled = M.esh_net(input_shape=(52, 52, 1), scale=10.0)
    x = np.random.default_rng(0).uniform(-0.1, 0.1, (2, 52, 52, 1)).astype("float32")
    p = pooled.predict(x, verbose=0)
    assert p.shape == (2, 7) and np.allclose(p.sum(axis=1), 1, atol=1e-5)


def test_convnet4_widths():
    from fer_utils import models as M

    full = M.convnet4()
    assert [l.filters for l in full.layers if l.name.startswith("conv")] == [128, 256, 512, 512]
    narrow = M.convnet4(width=32)
    assert [l.filters for l in narrow.layers if l.name.startswith("conv")] == [32, 64, 128, 128]
    assert M.count_params(narrow) < M.count_params(full) / 5


def test_resnet50_from_scratch_names_its_weights():
    from fer_utils import models as M

    m = M.resnet50(input_shape=(48, 48, 1))
    assert m.name == "resnet50_scratch" and m.output_shape == (None, 7)
    assert 23_000_000 < M.count_params(m) < 24_000_000
    assert "resnet50" in M.BUILDERS and "esh_net" in M.BUILDERS


def test_vgg16_variants_and_parameter_count():
    import keras

    m = M.vgg16(input_shape=(48, 48, 1))
    assert m.name == "vgg16_bn-dropout_scratch" and m.output_shape == (None, 7)
    conv = 14_714_688 - 3 * 3 * 2 * 64  # VGG-16's convolutions with one input channel
    head = (512 * 256) + 4 * 256 + (256 * 256) + 4 * 256 + (256 * 7 + 7)  # fc (no bias) + BN
    assert M.count_params(m) == conv + head
    types = {type(layer).__name__ for layer in m.layers}
    assert {"BatchNormalization", "Dropout"} <= types
    plain = M.vgg16(input_shape=(48, 48, 1), variant="plain")
    assert not {"BatchNormalization", "Dropout"} & {type(layer).__name__ for layer in plain.layers}
    with pytest.raises(ValueError, match="at least 32"):
        M.vgg16(input_shape=(24, 24, 1))
    with pytest.raises(ValueError, match="variant must be"):
        M.vgg16(variant="bn")
    assert isinstance(M.build("vgg16"), keras.Model)


def test_imagenet_weights_offline_give_a_clear_error_or_fall_back(monkeypatch):
    import keras

    real = keras.applications.VGG16

    def offline(*args, weights=None, **kwargs):
        if weights == "imagenet":
            raise OSError("URL fetch failure on https://storage.googleapis.com/...")
        return real(*args, weights=weights, **kwargs)

    offline.__name__ = "VGG16"
    monkeypatch.setattr(keras.applications, "VGG16", offline)
    with pytest.raises(M.WeightsUnavailable, match="pass weights=None"):
        M.vgg16(weights="imagenet")
    auto = M.vgg16(weights="auto")  # falls back, and says so in its name
    assert auto.name.endswith("_scratch")
    x = np.zeros((1, 48, 48, 1), np.float32)
    assert auto(x).shape == (1, 7)
    with pytest.raises(ValueError, match="weights must be"):
        M.vgg16(weights="places365")


def test_set_base_trainable_for_two_phase_fine_tuning():
    import keras

    m = M.resnet50(input_shape=(48, 48, 1))
    head_only = M.set_base_trainable(m, False)
    assert head_only == 2  # the new Dense layer's kernel and bias
    some = M.set_base_trainable(m, 10)
    base = next(layer for layer in m.layers if isinstance(layer, keras.Model))
    assert all(not layer.trainable for layer in base.layers[-10:]  # BN stays frozen
               if isinstance(layer, keras.layers.BatchNormalization))
    assert not any(layer.trainable for layer in base.layers[:-10])
    assert head_only < some < M.set_base_trainable(m, True)
    with pytest.raises(ValueError, match="no nested base"):
        M.set_base_trainable(M.plain_cnn(3), False)
