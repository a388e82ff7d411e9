"""fer_utils.transfer: the two phases freeze and unfreeze what they say."""
from __future__ import annotations

import json

import numpy as np
import pytest

import fer_utils  # noqa: F401
from fer_utils import transfer
from fer_utils.sample import make_sample

keras = pytest.importorskip("keras")


def tiny_pretrained():
    """A model shaped like a keras.applications one: a nested base, then a new head."""
    L = keras.layers
    base = keras.Sequential([keras.Input((48, 48, 1)), L.Rescaling(1 / 255),
                             L.Conv2D(4, 3, name="b1"), L.BatchNormalization(name="bn"),
                             L.Conv2D(4, 3, name="b2"), L.GlobalAveragePooling2D()], name="base")
    inp = keras.Input((48, 48, 1))
    return keras.Model(inp, L.Dense(7, activation="softmax", name="head")(base(inp)),
                       name="tiny_scratch")


def test_head_phase_leaves_the_base_alone_and_top_phase_tunes_only_the_top():
    ds = make_sample()
    model = tiny_pretrained()
    base = model.get_layer("base")
    before = {w.path: w.numpy().copy() for w in base.weights}
    seen = {}
    real_fit = transfer._fit

    def spy(m, *args, **kwargs):  # snapshot the base after each phase
        out = real_fit(m, *args, **kwargs)
        seen[len(seen)] = {w.path: w.numpy().copy() for w in base.weights}
        return out

    transfer._fit = spy
    try:
        metrics, tuned = transfer.fine_tune(ds, model, head_epochs=1, fine_epochs=1, unfreeze=3,
                                            train_limit=200, eval_limit=100, augment=False,
                                            progress=False)
    finally:
        transfer._fit = real_fit
    assert tuned is model and metrics["weights"] == "scratch"
    assert metrics["trainable"] == {"head": 2, "top blocks": 4}  # head; head + conv b2
    after_head, after_top = seen[0], seen[1]
    for path, w in before.items():
        np.testing.assert_array_equal(after_head[path], w)  # phase 1: base frozen
    changed = {p for p in before if not np.array_equal(after_top[p], before[p])}
    assert changed and all("b2" in p for p in changed)  # phase 2: only the top conv learned
    assert metrics["PrivateTest"]["n"] == 100 and 0 <= metrics["PrivateTest"]["accuracy"] <= 1
    json.dumps(metrics)  # JSON-ready
