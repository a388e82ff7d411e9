"""fer_utils.viz and fer_utils.book: figures have the promised structure; notebook helpers degrade."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fer_utils import book, viz
from fer_utils.dataset import CLASS_NAMES


def test_class_balance_bars_and_labels():
    counts = pd.DataFrame([[1, 2, 3, 4, 5, 6, 7], [7, 6, 5, 4, 3, 2, 1]], index=["Training", "PublicTest"],
                          columns=list(CLASS_NAMES))
    fig = viz.class_balance(counts, title="t")
    ax = fig.axes[0]
    assert len(ax.patches) == 14 and ax.get_ylabel() == "images" and ax.get_title() == "t"
    heights = [p.get_height() for p in ax.patches[:7]]
    assert heights == [1, 2, 3, 4, 5, 6, 7]
    pct = viz.class_balance(counts, percent=True).axes[0]
    assert sum(p.get_height() for p in pct.patches[:7]) == pytest.approx(100)


def test_grids():
    imgs = np.zeros((5, 48, 48), np.uint8)
    fig = viz.image_grid(imgs, titles=list("abcde"), ncols=3)
    assert len(fig.axes) == 6 and fig.axes[0].get_title() == "a"
    labels = np.array([0, 1, 2, 3, 4])
    fig = viz.class_montage(imgs, labels, per_class=2)
    assert len(fig.axes) == 14
    assert fig.axes[0].get_ylabel() == "angry"


def test_confusion_heatmap_normalises_rows():
    fig = viz.confusion_heatmap(np.array([[3, 1], [0, 4]]), ["a", "b"], ["a", "b"], normalize=True)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts == ["75", "25", "0", "100"]


def test_filters_and_feature_maps_of_a_model():
    from fer_utils import models

    m = models.plain_cnn(3, width=8)
    fig = viz.conv_filters(m, "conv1")
    assert sum(bool(ax.images) for ax in fig.axes) == 8
    fig = viz.feature_maps(m, np.zeros((48, 48), np.uint8), ["relu1", "relu2"], per_layer=4)
    assert len(fig.axes) == 2 * 5
    assert fig.axes[5].get_ylabel() == "relu2\n24×24×16"  # before its pooling


def test_glue_without_myst_nb_still_shows(monkeypatch):
    import builtins

    shown = []
    real_import = builtins.__import__

    def fake_import(name, *a, **k):
        if name == "myst_nb":
            raise ImportError("no myst_nb in Colab")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    monkeypatch.setattr("IPython.display.display", lambda v: shown.append(v))
    book.glue("x", 42, display=False)
    book.glue("y", 43, display=True)
    assert shown == [43]


def test_training_run_marks_the_rate_cuts_and_the_log():
    from fer_utils import sources

    history = {"accuracy": [0.3, 0.5, 0.6, 0.7], "val_accuracy": [0.3, 0.45, 0.55, 0.56],
               "lr": [1e-3, 1e-3, 1e-4, 1e-4]}
    fig = viz.training_run(history, title="t")
    ax = fig.axes[0]
    cuts = [ln for ln in ax.lines if ln.get_linestyle() == ":"]
    assert [ln.get_xdata()[0] for ln in cuts] == [3]          # the first epoch at the lower rate
    assert ax.get_xlim()[1] == 4 + 3
    cosine = {**history, "lr": [1e-3, 8e-4, 3e-4, 0.0]}       # lower every epoch: no cut drawn
    ax = viz.training_run(cosine, mark_cuts=False).axes[0]
    assert not [ln for ln in ax.lines if ln.get_linestyle() == ":"] and len(ax.lines) == 2
    log = sources.MINI_XCEPTION_LOG
    fig = viz.training_run(history, reference_log=log)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sum(lab.startswith("reference log") for lab in labels) == 4
    assert ax.get_xlim()[1] == log["epochs"] + 3
    other = {"val_accuracy": [0.2] * 6}
    fig = viz.training_run(history, others={"layers": other}, label="affine")
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels[:2] == ["affine: Training (augmented)", "affine: PublicTest"]
    assert "layers: PublicTest" in labels and ax.get_xlim()[1] == 6 + 3
    viz._plt().close("all")
