"""fer_utils.clusters: separation numbers, embeddings and the linear probe on known answers."""
from __future__ import annotations

import numpy as np
import pytest

from fer_utils import clusters as C


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(7), 40)
    centres = rng.normal(0, 10, (7, 60))
    return centres[labels] + rng.normal(0, 1, (len(labels), 60)), labels


def test_separated_blobs_score_high_and_shuffled_labels_score_chance(blobs):
    x, y = blobs
    s = C.separation(x, y)
    assert s["silhouette"] > 0.5 and s["knn_accuracy"] > 0.95
    assert s["chance"] == pytest.approx(1 / 7) and s["n"] == 280
    shuffled = np.random.default_rng(1).permutation(y)
    r = C.separation(x, shuffled)
    assert r["silhouette"] < 0.05 and r["knn_accuracy"] < 0.3


@pytest.mark.parametrize("method", ["umap", "tsne"])
def test_embeddings_are_2d_and_keep_the_blobs_apart(blobs, method):
    x, y = blobs
    e = C.embed(x, method, pca=20)
    assert e.shape == (280, 2)
    assert C.separation(e, y)["knn_accuracy"] > 0.9


def test_unknown_embedding(blobs):
    with pytest.raises(ValueError, match="umap"):
        C.embed(blobs[0], "pca3d")


def test_linear_probe(blobs):
    x, y = blobs
    m = C.linear_probe(x[::2], y[::2], x[1::2], y[1::2], pca=10)
    assert m["accuracy"] > 0.95 and m["n"] == 140


def test_plot_embeddings(blobs):
    import matplotlib

    matplotlib.use("Agg")
    x, y = blobs
    fig = C.plot_embeddings({"a": x[:, :2], "b": x[:, 2:4]}, y,
                            scores={"a": C.separation(x[:, :2], y)})
    assert len(fig.axes) == 2 and "silhouette" in fig.axes[0].get_title()
