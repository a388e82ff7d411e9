"""Classification metrics (scikit-learn) and their plots.

For each class *c*: precision = TP/(TP+FP), recall = TP/(TP+FN), F1 = 2PR/(P+R).
The **macro** average weights every class equally (disgust counts as much as happy); the
**weighted** average weights each class by its support (number of true images), so on an
imbalanced set it mostly reflects the large classes. Accuracy equals the weighted recall.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fer_utils.viz import confusion_heatmap


def classification_metrics(y_true: np.ndarray, y_pred: np.ndarray,
                           class_names: Sequence[str]) -> dict:
    """All the metrics the course reports, as a JSON-ready dict.

    Parameters
    ----------
    y_true, y_pred : ndarray, shape (N,)
        Integer class indices into ``class_names``.
    class_names : sequence of str

    Returns
    -------
    dict
        ``n``, ``accuracy``, ``macro_precision``, ``macro_recall``, ``macro_f1``,
        ``weighted_precision``, ``weighted_recall``, ``weighted_f1``, ``per_class`` (name →
        precision/recall/f1/support) and ``confusion`` (list of lists, rows = true class).
        A class with no predictions gets precision 0 (scikit-learn's ``zero_division=0``).
    """
    from sklearn.metrics import confusion_matrix, precision_recall_fscore_support

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.shape != y_pred.shape or y_true.ndim != 1:
        raise ValueError(f"y_true and y_pred must be 1-D of equal length, got {y_true.shape} "
                         f"and {y_pred.shape}")
    labels = list(range(len(class_names)))
    out: dict = {"n": int(len(y_true)), "accuracy": float(np.mean(y_true == y_pred))}
    for avg in ("macro", "weighted"):
        p, r, f, _ = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=avg,
                                                     zero_division=0)
        out.update({f"{avg}_precision": float(p), f"{avg}_recall": float(r), f"{avg}_f1": float(f)})
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, average=None,
                                                 zero_division=0)
    out["per_class"] = {name: {"precision": float(p[i]), "recall": float(r[i]),
                               "f1": float(f[i]), "support": int(s[i])}
                        for i, name in enumerate(class_names)}
    out["confusion"] = confusion_matrix(y_true, y_pred, labels=labels).tolist()
    return out


def per_class_table(metrics: dict):
    """``per_class`` as a DataFrame (classes as rows) with macro and weighted rows added."""
    import pandas as pd

    table = pd.DataFrame(metrics["per_class"]).T[["precision", "recall", "f1", "support"]]
    table["support"] = table["support"].astype(int)
    n = int(table["support"].sum())
    for avg in ("macro", "weighted"):
        table.loc[f"{avg} avg"] = [metrics[f"{avg}_precision"], metrics[f"{avg}_recall"],
                                   metrics[f"{avg}_f1"], n]
    return table


def plot_confusion(metrics: dict, *, normalize: bool = True, title: str = "", ax=None):
    """The confusion matrix of :func:`classification_metrics` as a heatmap."""

    names = list(metrics["per_class"])
    return confusion_heatmap(np.array(metrics["confusion"]), names, names, normalize=normalize,
                             title=title or ("Confusion matrix (% of true class)" if normalize
                                             else "Confusion matrix (counts)"), ax=ax)


def plot_learning_curves(history: dict, *, title: str = "Learning curves"):
    """Loss and accuracy per epoch for training and PublicTest (validation)."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, key, label in ((axes[0], "loss", "cross-entropy loss"), (axes[1], "accuracy", "accuracy")):
        ax.plot(epochs, history[key], "o-", ms=3, label="Training")
        if f"val_{key}" in history:
            ax.plot(epochs, history[f"val_{key}"], "s-", ms=3, label="PublicTest")
        ax.set(xlabel="epoch", ylabel=label)
        ax.legend(frameon=False)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def binary_accuracy_trap(n_classes: int = 8, n: int = 1000, seed: int = 0) -> float:
    """Keras's ``binary_accuracy`` of a model that outputs all zeros, on one-hot labels.

    Each one-hot label has ``n_classes - 1`` zeros, and binary accuracy scores every output
    unit separately, so predicting nothing at all scores ``(n_classes - 1) / n_classes``:
    7/8 = 87.5 % for 8 classes. It is the metric trap behind Belhekar et al.'s flat "87.5 %".
    """
    import keras

    rng = np.random.default_rng(seed)
    y_true = np.eye(n_classes, dtype=np.float32)[rng.integers(0, n_classes, n)]
    y_pred = np.zeros_like(y_true)
    metric = keras.metrics.BinaryAccuracy()
    metric.update_state(y_true, y_pred)
    return float(metric.result())


def top_confusions(metrics: dict, k: int = 5):
    """The ``k`` largest off-diagonal cells of the row-normalised confusion matrix.

    Returns a DataFrame with ``true``, ``predicted``, ``share`` (fraction of the true class
    predicted as the other) and ``count``, largest share first.
    """
    import pandas as pd

    names = list(metrics["per_class"])
    m = np.asarray(metrics["confusion"], dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.nan_to_num(m / m.sum(axis=1, keepdims=True))
    rows = [{"true": names[i], "predicted": names[j], "share": share[i, j], "count": int(m[i, j])}
            for i in range(len(names)) for j in range(len(names)) if i != j]
    return pd.DataFrame(rows).sort_values("share", ascending=False).head(k).reset_index(drop=True)
