"""fer_utils.models: shapes, pre-processing inside the model, depth and bad arguments."""
from __future__ import annotations

import numpy as np
import pytest

from fer_utils import models


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
