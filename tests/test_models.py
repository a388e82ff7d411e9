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
