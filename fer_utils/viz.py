"""Plots shared by the chapters: one class order, one palette, titles and labelled axes.

Every function returns the matplotlib ``Figure`` it drew (the notebooks glue or show it).
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fer_utils.dataset import CLASS_NAMES

# Colour-blind-safe palette (seaborn "colorblind", surprise darkened to read on white),
# fixed per class across the book.
CLASS_COLORS: dict[str, str] = {
    "angry": "#d55e00", "disgust": "#029e73", "fear": "#cc78bc", "happy": "#de8f05",
    "sad": "#0173b2", "surprise": "#a6761d", "neutral": "#949494", "contempt": "#ca9161",
}


def _plt():
    import matplotlib.pyplot as plt
    return plt


def class_balance(counts, *, title: str = "Images per class and split", percent: bool = False):
    """Grouped bars of a split × class table (e.g. :func:`fer_utils.audit.class_counts`).

    ``counts`` is a DataFrame with splits as rows and classes as columns; ``total``
    rows/columns are ignored. With ``percent`` each split is shown as shares of that split.
    """
    plt = _plt()
    table = counts.drop(index="total", errors="ignore").drop(columns="total", errors="ignore")
    if percent:
        table = table.div(table.sum(axis=1), axis=0) * 100
    classes = list(table.columns)
    splits = list(table.index)
    fig, ax = plt.subplots(figsize=(8, 3.6))
    width = 0.8 / len(splits)
    x = np.arange(len(classes))
    hatches = ["", "//", "..", "xx"]
    for k, split in enumerate(splits):
        ax.bar(x + (k - (len(splits) - 1) / 2) * width, table.loc[split].values, width,
               color=[CLASS_COLORS.get(c, "grey") for c in classes], edgecolor="black",
               linewidth=0.5, hatch=hatches[k % len(hatches)], label=split)
    ax.set_xticks(x, classes)
    ax.set_xlabel("class")
    ax.set_ylabel("share of split (%)" if percent else "images")
    ax.set_title(title)
    ax.legend(title="split (hatching)", frameon=False)
    for patch in ax.get_legend().get_patches():
        patch.set_facecolor("white")
    fig.tight_layout()
    return fig


def image_grid(images: np.ndarray, *, titles: Sequence[str] | None = None, ncols: int = 8,
               title: str | None = None, size: float = 1.1, cmap: str = "gray"):
    """Images in a grid with optional per-image titles (grey 0–255 shown as is)."""
    plt = _plt()
    n = len(images)
    nrows = max(1, int(np.ceil(n / ncols)))
    lines = max((t.count("\n") + 1 for t in titles), default=0) if titles is not None else 0
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(ncols * size, nrows * size * (1.05 + 0.22 * lines)))
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i], cmap=cmap, vmin=0, vmax=255 if images[i].dtype == np.uint8 else None)
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def class_montage(images: np.ndarray, labels: np.ndarray, *, per_class: int = 8,
                  class_names: Sequence[str] = CLASS_NAMES, seed: int = 0,
                  title: str = "Random images per class"):
    """``per_class`` random images of each class, one row per class (course order)."""
    plt = _plt()
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(class_names), per_class,
                             figsize=(per_class * 0.95, len(class_names) * 1.0), squeeze=False)
    for c, name in enumerate(class_names):
        idx = np.flatnonzero(labels == c)
        pick = rng.choice(idx, size=min(per_class, len(idx)), replace=False) if len(idx) else []
        for j, ax in enumerate(axes[c]):
            ax.set_xticks([])
            ax.set_yticks([])
            for s in ax.spines.values():
                s.set_visible(False)
            if j < len(pick):
                ax.imshow(images[pick[j]], cmap="gray", vmin=0, vmax=255)
        axes[c, 0].set_ylabel(name, rotation=0, ha="right", va="center",
                              color=CLASS_COLORS.get(name, "black"), fontweight="bold")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_heatmap(matrix: np.ndarray, row_names: Sequence[str], col_names: Sequence[str], *,
                      normalize: bool = True, title: str = "", xlabel: str = "predicted",
                      ylabel: str = "true", ax=None):
    """A confusion-style matrix as an annotated heatmap (rows normalised to % if asked)."""
    import seaborn as sns

    plt = _plt()
    m = np.asarray(matrix, dtype=float)
    if normalize:
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.nan_to_num(100 * m / m.sum(axis=1, keepdims=True))
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.0 + 0.75 * len(col_names), 0.8 + 0.6 * len(row_names)))
    sns.heatmap(m, annot=True, fmt=".0f",
                cmap="Blues", xticklabels=col_names, yticklabels=row_names, ax=ax,
                cbar_kws={"label": "% of row" if normalize else "count"},
                annot_kws={"fontsize": 8})
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if fig is not None:
        fig.tight_layout()
    return fig if fig is not None else ax.figure


def conv_filters(model, layer: str, *, max_filters: int = 32, title: str = ""):
    """The 3×3 kernels of a convolution layer's first input channel, one small image each."""
    plt = _plt()
    w = np.asarray(model.get_layer(layer).get_weights()[0])  # (k, k, in, out)
    n = min(max_filters, w.shape[-1])
    ncols = min(n, 16)
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.6, nrows * 0.7), squeeze=False)
    lim = np.abs(w[:, :, 0, :n]).max()
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(w[:, :, 0, i], cmap="RdBu_r", vmin=-lim, vmax=lim)
    fig.suptitle(title or f"{layer}: learned 3×3 kernels (red +, blue −)")
    fig.tight_layout()
    return fig


def feature_maps(model, image: np.ndarray, layers: Sequence[str], *, per_layer: int = 8):
    """Activations of ``layers`` for one raw image ``(48, 48)``: a row of maps per layer."""
    import keras

    plt = _plt()
    probe = keras.Model(model.input, [model.get_layer(n).output for n in layers])
    outs = probe(image[None, ..., None].astype(np.float32), training=False)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    fig, axes = plt.subplots(len(layers), per_layer + 1,
                             figsize=((per_layer + 1) * 0.95, len(layers) * 1.05), squeeze=False)
    for r, (name, out) in enumerate(zip(layers, outs)):
        out = np.asarray(out)[0]
        axes[r, 0].imshow(image, cmap="gray", vmin=0, vmax=255)
        axes[r, 0].set_ylabel(f"{name}\n{out.shape[0]}×{out.shape[1]}×{out.shape[2]}", fontsize=7)
        for c in range(per_layer + 1):
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
        for c in range(min(per_layer, out.shape[-1])):
            axes[r, c + 1].imshow(out[..., c], cmap="viridis")
    fig.suptitle("Feature maps: what the first channels of each layer respond to")
    fig.tight_layout()
    return fig


def _hex_to_rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return tuple(int(color[i:i + 2], 16) for i in (0, 2, 4))


def draw_predictions(image: np.ndarray, predictions, *, thickness: int | None = None) -> np.ndarray:
    """A copy of an RGB image with a box and "emotion p" label per face (OpenCV drawing).

    ``predictions``: :class:`fer_utils.predict.FacePrediction` objects (or anything with
    ``box``, ``emotion`` and ``probabilities``). Used by the ``predict --annotate`` and
    ``webcam`` commands; colours are the book's class colours.
    """
    import cv2

    out = np.ascontiguousarray(image.copy() if image.ndim == 3 else np.repeat(image[..., None], 3, 2))
    h = out.shape[0]
    t = thickness or max(1, h // 240)
    for p in predictions:
        x, y, w, hh = (int(v) for v in p.box)
        color = _hex_to_rgb(CLASS_COLORS.get(p.emotion, "#ffffff"))
        cv2.rectangle(out, (x, y), (x + w, y + hh), color, t)
        text = f"{p.emotion} {p.probabilities[p.emotion]:.2f}"
        scale = max(0.4, h / 900)
        (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, t)
        y0 = max(th + base, y)
        cv2.rectangle(out, (x, y0 - th - base), (x + tw, y0), color, -1)
        cv2.putText(out, text, (x, y0 - base), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), t,
                    cv2.LINE_AA)
    return out


def prediction_figure(image: np.ndarray, predictions, *, title: str = ""):
    """The photo with boxes, and per face its 48×48 crop and a probability bar chart."""
    plt = _plt()
    n = max(1, len(predictions))
    fig = plt.figure(figsize=(9, 2.6 * n + 0.4))
    grid = fig.add_gridspec(n, 3, width_ratios=[2.2, 0.8, 2.0])
    ax = fig.add_subplot(grid[:, 0])
    ax.imshow(draw_predictions(image, predictions))
    ax.set_axis_off()
    ax.set_title(title or f"{len(predictions)} face(s) found", fontsize=10)
    for i, p in enumerate(predictions):
        crop_ax = fig.add_subplot(grid[i, 1])
        if getattr(p, "crop", None) is not None:
            crop_ax.imshow(p.crop, cmap="gray", vmin=0, vmax=255)
        crop_ax.set_axis_off()
        crop_ax.set_title(f"face {i + 1}: 48×48 input", fontsize=8)
        bar_ax = fig.add_subplot(grid[i, 2])
        names = list(p.probabilities)
        values = [p.probabilities[k] for k in names]
        bar_ax.barh(names, values, color=[CLASS_COLORS.get(k, "#777777") for k in names])
        bar_ax.set_xlim(0, 1)
        bar_ax.invert_yaxis()
        bar_ax.set_xlabel("probability", fontsize=8)
        bar_ax.tick_params(labelsize=8)
        bar_ax.spines[["top", "right"]].set_visible(False)
    if not predictions:
        fig.add_subplot(grid[0, 1:]).text(0.5, 0.5, "no face detected", ha="center", va="center")
        fig.axes[-1].set_axis_off()
    fig.tight_layout()
    return fig


def training_run(history: dict, *, reference_log: dict | None = None, others: dict | None = None,
                 label: str = "ours", title: str = "", mark_cuts: bool = True):
    """A long run's training and PublicTest accuracy per epoch, with its learning-rate cuts
    (dotted), beside the milestones of a published training log and the PublicTest accuracy
    of other runs.

    Parameters
    ----------
    history : dict
        An artifact's history: ``accuracy``, ``val_accuracy`` and ``lr`` per epoch.
    reference_log : dict, optional
        Milestones as :data:`fer_utils.sources.MINI_XCEPTION_LOG` states them
        (``val_before_drop`` range, ``first_low_rate_epoch``, ``val_after_drop``, ``val_best``,
        ``epochs``, ``train_final``), drawn in red.
    others : dict, optional
        Name → history of other runs (``val_accuracy`` per epoch), drawn as thin lines.
    label : str
        The run's name in the legend.
    mark_cuts : bool
        Draw the epochs where the learning rate fell (right for a rate cut on plateaus; a
        cosine schedule lowers it every epoch, so pass False for one).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _plt()
    acc, val, lr = (np.asarray(history[k], float) for k in ("accuracy", "val_accuracy", "lr"))
    epoch = np.arange(1, len(val) + 1)
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    ax.plot(epoch, acc, color="0.55", lw=1, label=f"{label}: Training (augmented)")
    ax.plot(epoch, val, color="C0", lw=1.4, label=f"{label}: PublicTest")
    for i, e in enumerate(epoch[1:][np.diff(lr) < 0] if mark_cuts else []):
        ax.axvline(e, color="C0", ls=":", lw=0.8, label=f"{label}: learning rate cut" if i == 0 else None)
    last = len(epoch)
    for i, (name, other) in enumerate((others or {}).items()):
        v = np.asarray(other["val_accuracy"], float)
        ax.plot(np.arange(1, len(v) + 1), v, color=f"C{i + 1}", lw=0.9, alpha=0.8,
                label=f"{name}: PublicTest")
        last = max(last, len(v))
    if reference_log is not None:
        log, drop = reference_log, reference_log["first_low_rate_epoch"]
        ax.fill_between([41, drop - 1], *log["val_before_drop"], color="C3", alpha=0.15,
                        label="reference log: test accuracy, epochs 41 to its cut")
        ax.plot([drop], [log["val_after_drop"]], "v", color="C3",
                label="reference log: first epoch after its cut")
        ax.hlines(log["val_best"], drop, log["epochs"], color="C3", ls="--", lw=1,
                  label="reference log: best test accuracy")
        ax.plot([log["epochs"]], [log["train_final"]], "s", color="C3", mfc="none",
                label="reference log: final training accuracy")
        last = max(last, log["epochs"])
    ax.set(xlabel="epoch", ylabel="accuracy", xlim=(0, last + 3), title=title)
    ax.legend(frameon=False, fontsize=7, loc="lower right", ncol=2)
    fig.tight_layout()
    return fig


def accuracy_against_cpu_hours(histories: dict, *, line: tuple[float, str] | None = None,
                               title: str = ""):
    """PublicTest accuracy after every epoch against the CPU-hours spent so far, one line per
    run (``histories``: name → history with ``val_accuracy`` and cumulative ``cpu_seconds``),
    and an optional horizontal reference ``line`` (accuracy, label)."""
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    for name, h in histories.items():
        ax.plot(np.asarray(h["cpu_seconds"], float) / 3600, h["val_accuracy"], lw=1.3, label=name)
    if line is not None:
        ax.axhline(line[0], color="0.4", ls=":", lw=1, label=line[1])
    if not histories:
        ax.text(0.5, 0.5, "no run with CPU seconds per epoch yet", ha="center",
                transform=ax.transAxes, color="0.4")
    ax.set(xlabel="CPU-hours (two-core machine)", ylabel="PublicTest accuracy", title=title)
    if histories or line is not None:
        ax.legend(frameon=False, fontsize=8, loc="lower right")
    fig.tight_layout()
    return fig
