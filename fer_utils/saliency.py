"""Saliency maps: which pixels does a model's decision depend on? (Kroening et al.'s question)

Four methods, all returning one non-negative ``(N, H, W)`` map per image (larger = more
important for the explained class), for any Keras model that takes ``(N, H, W, C)`` images:

* :func:`gradients` — vanilla gradients, ``|∂ score / ∂ pixel|`` (Simonyan et al. 2014);
* :func:`smoothgrad` — gradients averaged over noisy copies of the image (Smilkov et al. 2017);
* :func:`grad_cam` — Grad-CAM (Selvaraju et al. 2017): a convolutional layer's feature maps
  weighted by their mean gradient, ReLU, upsampled. Works for ``Sequential``, functional and
  *nested* models (a layer inside a sub-model, e.g. a ``keras.applications`` base), by
  capturing the layer's output during the forward pass instead of rebuilding the graph;
* :func:`occlusion` — the drop of the class probability when a square patch is covered,
  averaged over every patch covering a pixel (Zeiler & Fergus 2014). No gradients: it
  measures what the model *uses* by removing it.

The explained class is the model's prediction unless ``classes`` is given. "Score" is the
class probability (the model's output); with ``logits=True`` (softmax as the last layer) the
pre-softmax score is used for gradients.

Faithfulness (:func:`masking_drop`, :func:`deletion_curve`) asks whether the pixels a map marks
are the ones the model needs; the ground-truth scores (:func:`mass_inside`,
:func:`pointing_game`) ask whether a map points at the region that really carries the class
— measurable on the offline sample, whose classes live in known regions.
"""
from __future__ import annotations

import contextlib
import datetime
import json
from collections.abc import Sequence

import numpy as np

from fer_utils.dataset import CLASS_NAMES
from fer_utils.inference import evaluate_model, predict_proba
from fer_utils.masks import SIMPLE

METHODS = ("gradients", "smoothgrad", "grad_cam", "occlusion")

#: Chapter 7's large models, name → course config (its section "VGG-16 and ResNet-50" and the
#: scorecard read them here). The training campaign's one-sitting runs take their places when
#: they end: ``saliency/vgg16-convbn-long`` did (2026-12-06), ``saliency/resnet50-long`` too
#: (2026-12-07).
LARGE_MODELS = {"VGG-16 (BN)": "saliency/vgg16-convbn-long", "ResNet-50": "saliency/resnet50-long"}


def describe_long_runs(arts: dict) -> str:
    """The sentence that names which of Chapter 7's large models (``arts``: name → artifact,
    or anything with a ``config`` and ``metrics``) are the training campaign's one-sitting runs,
    how long each trained and what their configs add (warm-up, augmentation); ``""`` when none
    is."""
    from fer_utils import campaign  # imported here: it pulls in the whole training stack

    sitting = {e.train_config().name: e for e in campaign.QUEUE if e.sitting_hours}
    long = [name for name, art in arts.items() if art.config.name in sitting]
    if not long:
        return ""

    def additions(c) -> str:
        what = [f"a {c.warmup_epochs}-epoch warm-up"] if c.warmup_epochs else []
        if c.augment_style == "affine":
            what.append("one affine map per face as augmentation (the reference "
                        "mini-Xception's, Chapter 4)")
        return " and ".join(what)

    runs, extra = [], {}
    for name in long:
        c = arts[name].config
        extra[name] = additions(c)
        seconds = (getattr(arts[name], "metrics", None) or {}).get("train_seconds")
        took = f", {seconds / 3600:.1f} hours of training" if seconds else ""
        runs.append((name, f"`{sitting[c.name].config}`{took}"))
    shared = len(set(extra.values())) == 1   # the same additions: said once, after the runs
    parts = [f"{name} ({what}" + (f"; {extra[name]}" if extra[name] and not shared else "") + ")"
             for name, what in runs]
    text = (f"The course's training campaign trained {' and '.join(parts)} in one sitting "
            f"{'each' if len(long) > 1 else ''}").rstrip()
    if shared and extra[long[0]]:
        text += f", {'both' if len(long) == 2 else 'each'} with " if len(long) > 1 else ", with "
        text += extra[long[0]]
    return text + "."


class SaliencyError(ValueError):
    """A request that cannot work with this model (a wrong layer name, a wrong input shape)."""


# --------------------------------------------------------------------------------------
# inputs and layers
# --------------------------------------------------------------------------------------

def _prepare(model, images: np.ndarray) -> np.ndarray:
    """Images as float32 ``(N, H, W, C)`` matching the model's input, or a clear error.

    Accepts a batch ``(N, H, W, C)``, a grey batch ``(N, H, W)`` for one-channel models, and a
    single image ``(H, W, C)`` or ``(H, W)``.
    """
    x = np.asarray(images, dtype=np.float32)
    expected = tuple(model.input_shape[1:])

    def fits(shape, want) -> bool:
        return len(shape) == len(want) and all(e is None or e == s for e, s in zip(want, shape))

    grey = expected[-1] == 1
    if fits(x.shape, expected):
        x = x[None]
    elif grey and fits(x.shape[1:], expected[:-1]):
        x = x[..., None]
    elif grey and fits(x.shape, expected[:-1]):
        x = x[None, ..., None]
    if not fits(x.shape[1:], expected):
        raise SaliencyError(f"the model takes inputs of shape {expected} (without the batch), "
                            f"but the images are {tuple(np.shape(images))}: resize or convert "
                            "them as in training (e.g. 48×48 grey)")
    return x


def _walk(layer, prefix: str = ""):
    """Every layer inside ``layer`` (depth first) with its path (``"base/conv5_block3_out"``)."""
    for sub in getattr(layer, "layers", []):
        path = f"{prefix}{sub.name}"
        yield path, sub
        if getattr(sub, "layers", None):
            yield from _walk(sub, path + "/")


def _is_spatial(layer) -> bool:
    """Layers whose output is a feature map (convolutions, their blocks' adds/activations)."""
    import keras

    conv = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D)
    if isinstance(layer, conv):
        return True
    try:
        shape = layer.output.shape
    except (AttributeError, ValueError, RuntimeError):
        return False
    return len(shape) == 4 and not getattr(layer, "layers", None)


def conv_layers(model) -> list[str]:
    """Paths of the layers :func:`grad_cam` can explain (4-D feature-map outputs), in order."""
    return [path for path, layer in _walk(model) if _is_spatial(layer)]


def find_layer(model, name: str | None = None):
    """``(path, layer)`` by name or path.

    The default is the last *convolutional* layer (Conv2D, SeparableConv2D,
    DepthwiseConv2D), the usual Grad-CAM choice, taken after the batch norm, activation and
    residual add that directly follow it (``conv4`` → ``relu4``; ResNet-50's
    ``conv5_block3_out``); without a convolution, the last layer with a feature-map output.
    Dropout and noise layers, which do nothing at test time, are never the default.

    Raises
    ------
    SaliencyError
        No such layer, or one without a feature-map output; the message lists the choices.
    """
    choices = conv_layers(model)
    if not choices:
        raise SaliencyError(f"{model.name} has no convolutional layer for Grad-CAM")
    if name is None:
        import keras

        conv = (keras.layers.Conv2D, keras.layers.SeparableConv2D, keras.layers.DepthwiseConv2D)
        skip = (keras.layers.Dropout, keras.layers.SpatialDropout2D, keras.layers.GaussianNoise)
        layers = dict(_walk(model))
        convs = [p for p in choices if isinstance(layers[p], conv)]
        rest = [p for p in choices if not isinstance(layers[p], skip)]
        name = (convs or rest or choices)[-1]
        # A convolution followed by its batch norm, activation (and a residual add) is
        # explained after them: Grad-CAM assumes rectified feature maps, and on a raw
        # pre-BN output the weighted sum is often negative everywhere (an all-zero map).
        follow = (keras.layers.BatchNormalization, keras.layers.Activation, keras.layers.ReLU,
                  keras.layers.LeakyReLU, keras.layers.ELU, keras.layers.PReLU, keras.layers.Add)
        for nxt in choices[choices.index(name) + 1:]:
            if isinstance(layers[nxt], follow):
                name = nxt
            elif not isinstance(layers[nxt], skip):
                break
    for path, layer in _walk(model):
        if name in (path, layer.name):
            if path not in choices:
                raise SaliencyError(f"layer {name!r} has no feature-map output; Grad-CAM needs "
                                    f"one of: {', '.join(choices)}")
            return path, layer
    raise SaliencyError(f"no layer named {name!r} in {model.name}; Grad-CAM can use: "
                        f"{', '.join(choices)}")


@contextlib.contextmanager
def _capture(layer, store: dict):
    """Record ``layer``'s output while the model runs (works at any nesting depth)."""
    original = layer.call

    def call(*args, **kwargs):
        out = original(*args, **kwargs)
        store["out"] = out
        return out

    layer.call = call
    try:
        yield store
    finally:
        del layer.call  # back to the class's method


# --------------------------------------------------------------------------------------
# the methods
# --------------------------------------------------------------------------------------

def _scores(model, x, classes, logits: bool):
    import tensorflow as tf

    out = model(x, training=False)
    if logits:
        out = tf.math.log(tf.clip_by_value(out, 1e-12, 1.0))  # log-softmax = logits + const
    return tf.gather(out, classes, axis=1, batch_dims=1)


def _classes(model, x: np.ndarray, classes) -> np.ndarray:
    if classes is None:
        probs = np.concatenate([np.asarray(model(x[s:s + 256], training=False))
                                for s in range(0, len(x), 256)])
        return probs.argmax(axis=1)
    c = np.asarray(classes, np.int64)
    return np.full(len(x), int(c)) if c.ndim == 0 else c


def gradients(model, images: np.ndarray, classes=None, *, logits: bool = False,
              batch_size: int = 64) -> np.ndarray:
    """Vanilla gradients: max over channels of ``|∂ score / ∂ x|``, shape (N, H, W)."""
    import tensorflow as tf

    x = _prepare(model, images)
    cls = _classes(model, x, classes)
    out = []
    for s in range(0, len(x), batch_size):
        xb = tf.convert_to_tensor(x[s:s + batch_size])
        with tf.GradientTape() as tape:
            tape.watch(xb)
            score = _scores(model, xb, cls[s:s + batch_size], logits)
        g = tape.gradient(score, xb)
        out.append(np.abs(g.numpy()).max(axis=-1))
    return np.concatenate(out)


def smoothgrad(model, images: np.ndarray, classes=None, *, samples: int = 25,
               noise: float = 0.15, logits: bool = False, seed: int = 0,
               batch_size: int = 64) -> np.ndarray:
    """SmoothGrad: mean of :func:`gradients` over ``samples`` copies with Gaussian noise of
    standard deviation ``noise`` × (the image's max − min)."""
    x = _prepare(model, images)
    cls = _classes(model, x, classes)
    rng = np.random.default_rng(seed)
    spread = (x.max(axis=(1, 2, 3), keepdims=True) - x.min(axis=(1, 2, 3), keepdims=True))
    total = np.zeros(x.shape[:3], np.float64)
    for _ in range(samples):
        noisy = x + rng.normal(0, 1, x.shape).astype(np.float32) * noise * spread
        total += gradients(model, noisy, cls, logits=logits, batch_size=batch_size)
    return (total / samples).astype(np.float32)


def grad_cam(model, images: np.ndarray, classes=None, *, layer: str | None = None,
             batch_size: int = 64) -> np.ndarray:
    """Grad-CAM maps (N, H, W) in [0, 1] per image, upsampled to the input size.

    ``layer`` is a layer name or path (``"sub_model/conv"``); default the last feature-map
    layer. An unknown name raises :class:`SaliencyError` listing the valid ones.
    """
    import tensorflow as tf

    x = _prepare(model, images)
    path, target = find_layer(model, layer)
    cls = _classes(model, x, classes)
    h, w = x.shape[1:3]
    out = []
    for s in range(0, len(x), batch_size):
        xb = tf.convert_to_tensor(x[s:s + batch_size])
        with _capture(target, {}) as store, tf.GradientTape() as tape:
            tape.watch(xb)  # record every op from the input on (layers without weights too)
            score = _scores(model, xb, cls[s:s + batch_size], False)
        if "out" not in store:
            raise SaliencyError(f"layer {path!r} did not run for this input")
        fmap = store["out"]
        g = tape.gradient(score, fmap)
        if g is None:
            raise SaliencyError(f"the class score does not depend on layer {path!r}")
        weights = tf.reduce_mean(g, axis=(1, 2), keepdims=True)
        cam = tf.nn.relu(tf.reduce_sum(weights * fmap, axis=-1))[..., None]
        cam = tf.image.resize(cam, (h, w), method="bilinear")[..., 0].numpy()
        top = cam.reshape(len(cam), -1).max(axis=1).reshape(-1, 1, 1)
        out.append(np.divide(cam, top, out=np.zeros_like(cam), where=top > 0))
    return np.concatenate(out).astype(np.float32)


def occlusion(model, images: np.ndarray, classes=None, *, patch: int = 8, stride: int = 4,
              fill: float = 0.0, batch_size: int = 256) -> np.ndarray:
    """Occlusion sensitivity (N, H, W): mean drop of the class probability over the
    ``patch``×``patch`` squares (moved by ``stride``, filled with ``fill``) covering each
    pixel. Negative drops (covering helped) are kept in the mean and clipped at 0 at the end.
    """
    x = _prepare(model, images)
    cls = _classes(model, x, classes)
    n, h, w = x.shape[:3]
    if not 1 <= patch <= min(h, w) or stride < 1:
        raise SaliencyError(f"patch must be 1–{min(h, w)} and stride ≥ 1, got {patch}, {stride}")
    ys = list(range(0, h - patch + 1, stride))
    xs = list(range(0, w - patch + 1, stride))
    if ys[-1] != h - patch:
        ys.append(h - patch)
    if xs[-1] != w - patch:
        xs.append(w - patch)
    spots = [(y, z) for y in ys for z in xs]
    base = np.asarray(model(x, training=False))[np.arange(n), cls]
    drop = np.zeros((n, h, w))
    count = np.zeros((h, w))
    for i in range(n):
        variants = np.repeat(x[i:i + 1], len(spots), axis=0)
        for k, (y, z) in enumerate(spots):
            variants[k, y:y + patch, z:z + patch] = fill
        probs = np.concatenate([np.asarray(model(variants[s:s + batch_size], training=False))
                                for s in range(0, len(variants), batch_size)])[:, cls[i]]
        for (y, z), p in zip(spots, probs):
            drop[i, y:y + patch, z:z + patch] += base[i] - p
    for y, z in spots:
        count[y:y + patch, z:z + patch] += 1
    return np.clip(drop / count, 0, None).astype(np.float32)


def explain(method: str, model, images: np.ndarray, classes=None, **kwargs) -> np.ndarray:
    """Run one of :data:`METHODS` by name."""
    funcs = {"gradients": gradients, "smoothgrad": smoothgrad, "grad_cam": grad_cam,
             "occlusion": occlusion}
    if method not in funcs:
        raise SaliencyError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
    return funcs[method](model, images, classes, **kwargs)


# --------------------------------------------------------------------------------------
# summaries
# --------------------------------------------------------------------------------------

def normalise(maps: np.ndarray) -> np.ndarray:
    """Each map divided by its sum (a distribution over pixels; all-zero maps stay zero)."""
    m = np.asarray(maps, np.float64)
    total = m.reshape(len(m), -1).sum(axis=1).reshape(-1, 1, 1)
    return np.divide(m, total, out=np.zeros_like(m), where=total > 0)


def class_averages(maps: np.ndarray, labels: np.ndarray, predicted: np.ndarray | None = None,
                   n_classes: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Per-class mean of normalised maps over correctly classified images (all images of the
    class when ``predicted`` is None). Returns ``(means (C, H, W), counts (C,))``."""
    labels = np.asarray(labels)
    keep = np.ones(len(labels), bool) if predicted is None else labels == np.asarray(predicted)
    norm = normalise(maps)
    means = np.full((n_classes,) + norm.shape[1:], np.nan)
    counts = np.zeros(n_classes, np.int64)
    for k in range(n_classes):
        idx = keep & (labels == k)
        counts[k] = idx.sum()
        if counts[k]:
            means[k] = norm[idx].mean(axis=0)
    return means, counts


def correct_per_class(model, images: np.ndarray, labels: np.ndarray, per_class: int, *,
                      seed: int = 0, n_classes: int = 7) -> np.ndarray:
    """Indices of up to ``per_class`` correctly classified images of each class (random,
    seeded; grouped by class): the faces whose maps are averaged per emotion. A class the
    model never gets right contributes none."""

    labels = np.asarray(labels)
    right = np.flatnonzero(predict_proba(model, images).argmax(axis=1) == labels)
    rng = np.random.default_rng(seed)
    parts = [rng.choice(idx, min(per_class, len(idx)), replace=False)
             for k in range(n_classes) if len(idx := right[labels[right] == k])]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def average_figure(rows: dict, images: np.ndarray, labels: np.ndarray, class_names=None):
    """A grid of per-class average maps: one row per entry of ``rows`` (``{name: maps}`` or
    ``{name: (maps, images, labels)}`` when rows explain different faces), one column per
    class, each panel the mean normalised map over the mean face, with its count. Classes
    without faces in a row are left blank; a class whose maps are all zero shows its mean face
    marked "every map zero"."""
    import matplotlib.pyplot as plt

    names = list(class_names or CLASS_NAMES)
    rows = {k: v if isinstance(v, tuple) else (v, images, labels) for k, v in rows.items()}
    present = sorted({int(k) for _, _, y in rows.values() for k in np.unique(y)})
    fig, axes = plt.subplots(len(rows), len(present), squeeze=False,
                             figsize=(1.7 * len(present), 1.8 * len(rows)))
    for r, (name, (maps, x, y)) in enumerate(rows.items()):
        means, counts = class_averages(maps, y, n_classes=len(names))
        for c, k in enumerate(present):
            peak = np.nanmax(means[k]) if counts[k] else 0.0
            if counts[k] and peak > 0:
                overlay(axes[r, c], x[y == k].mean(axis=0), means[k] / peak,
                        title=f"{names[k]} (n={counts[k]})")
            elif counts[k]:   # every map zero (Grad-CAM found no positive evidence): say so
                overlay(axes[r, c], x[y == k].mean(axis=0), np.zeros_like(means[k]),
                        title=f"{names[k]} (n={counts[k]})")
                axes[r, c].text(0.5, 0.5, "every map\nzero", ha="center", va="center",
                                fontsize=8, color="white", transform=axes[r, c].transAxes)
            else:   # blank, but keep the axes so that the row label below stays visible
                ax = axes[r, c]
                ax.set_xticks([])
                ax.set_yticks([])
                for spine in ax.spines.values():
                    spine.set_visible(False)
                ax.text(0.5, 0.5, f"{names[k]}\nnone correct", ha="center", va="center",
                        fontsize=8, color="0.5", transform=ax.transAxes)
        axes[r, 0].set_ylabel(name, fontsize=9)
    fig.tight_layout()
    return fig


def row_profile(maps: np.ndarray, bands: dict[str, tuple[float, float]] | None = None) -> dict:
    """Share of saliency mass per horizontal band of the image (default: the three simple
    mask bands of :mod:`fer_utils.masks`), averaged over the maps that are not all zero (an
    empty map has no mass to share)."""

    bands = bands or SIMPLE
    norm = normalise(maps)
    norm = norm[norm.sum(axis=(1, 2)) > 0]
    if not len(norm):
        return {name: float("nan") for name in bands}
    h = norm.shape[1]
    return {name: float(norm[:, int(round(a * h)):int(round(b * h))].sum(axis=(1, 2)).mean())
            for name, (a, b) in bands.items()}


def mass_inside(maps: np.ndarray, regions: np.ndarray) -> np.ndarray:
    """Fraction of each map's mass inside a boolean region ``(N, H, W)``; NaN for empty maps."""
    m = np.asarray(maps, np.float64)
    r = np.asarray(regions, bool)
    total = m.reshape(len(m), -1).sum(axis=1)
    inside = (m * r).reshape(len(m), -1).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, inside / total, np.nan)


def pointing_game(maps: np.ndarray, regions: np.ndarray, *, tolerance: int = 1) -> np.ndarray:
    """Whether each map's maximum falls inside its region (dilated by ``tolerance`` pixels)."""
    import cv2

    m = np.asarray(maps)
    r = np.asarray(regions, np.uint8)
    hits = np.zeros(len(m), bool)
    kernel = np.ones((2 * tolerance + 1,) * 2, np.uint8)
    for i in range(len(m)):
        y, x = np.unravel_index(np.argmax(m[i]), m[i].shape)
        region = cv2.dilate(r[i], kernel) if tolerance else r[i]
        hits[i] = bool(region[y, x])
    return hits


def random_maps(shape: Sequence[int], seed: int = 0) -> np.ndarray:
    """Uniform random maps: the chance level for every score above."""
    return np.random.default_rng(seed).random(tuple(shape)).astype(np.float32)


def masking_drop(model, images: np.ndarray, labels: np.ndarray, maps: np.ndarray, *,
                 fraction: float = 0.1, fill: float = 0.0, seed: int = 0) -> dict:
    """Accuracy after covering the ``fraction`` most salient pixels of each image, beside
    covering the same number of random pixels: a faithful map hurts more than random."""
    x = _prepare(model, images)
    n, h, w = x.shape[:3]
    k = max(1, int(round(fraction * h * w)))
    order = np.argsort(-np.asarray(maps).reshape(n, -1), axis=1)[:, :k]
    rng = np.random.default_rng(seed)
    rand = np.stack([rng.choice(h * w, k, replace=False) for _ in range(n)])

    def accuracy(idx) -> float:
        xm = x.reshape(n, h * w, -1).copy()
        np.put_along_axis(xm, idx[..., None].repeat(xm.shape[-1], -1), fill, axis=1)
        probs = np.concatenate([np.asarray(model(xm[s:s + 256].reshape((-1,) + x.shape[1:]),
                                                 training=False))
                                for s in range(0, n, 256)])
        return float((probs.argmax(1) == np.asarray(labels)).mean())

    probs = np.concatenate([np.asarray(model(x[s:s + 256], training=False))
                            for s in range(0, n, 256)])
    return {"fraction": fraction, "intact": float((probs.argmax(1) == labels).mean()),
            "salient covered": accuracy(order), "random covered": accuracy(rand)}


def deletion_curve(model, images: np.ndarray, maps: np.ndarray, classes=None, *,
                   steps: int = 10, fill: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Mean class probability as the most salient pixels are deleted in ``steps`` equal
    parts: ``(fractions (steps+1,), probability (steps+1,))``. A faithful map makes it fall
    fast (small area under the curve)."""
    x = _prepare(model, images)
    cls = _classes(model, x, classes)
    n, h, w = x.shape[:3]
    order = np.argsort(-np.asarray(maps).reshape(n, -1), axis=1)
    fractions = np.linspace(0, 1, steps + 1)
    probs = []
    for f in fractions:
        k = int(round(f * h * w))
        xm = x.reshape(n, h * w, -1).copy()
        if k:
            np.put_along_axis(xm, order[:, :k, None].repeat(xm.shape[-1], -1), fill, axis=1)
        p = np.concatenate([np.asarray(model(xm[s:s + 256].reshape((-1,) + x.shape[1:]),
                                             training=False))
                            for s in range(0, n, 256)])
        probs.append(p[np.arange(n), cls].mean())
    return fractions, np.array(probs)


def deletion_area(curve: tuple[np.ndarray, np.ndarray]) -> float:
    """Area under a :func:`deletion_curve` ``(fractions, probabilities)`` by the trapezoid
    rule (lower: the map found what the model uses). The same number on NumPy 1 and 2
    (``np.trapz`` is gone from NumPy 2, ``np.trapezoid`` missing from NumPy 1)."""
    f, p = (np.asarray(a, dtype=float) for a in curve)
    return float(np.sum(np.diff(f) * (p[1:] + p[:-1]) / 2))

def overlay(ax, image: np.ndarray, sal: np.ndarray, *, alpha: float = 0.5, title: str = "",
            cmap: str = "inferno") -> None:
    """Show a grey image with a saliency map over it."""
    img = np.asarray(image).squeeze()
    ax.imshow(img, cmap="gray", vmin=0, vmax=255 if img.max() > 1.5 else 1)
    ax.imshow(sal, cmap=cmap, alpha=alpha)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)


# --------------------------------------------------------------------------------------
# the large models' readings, kept beside their artifacts
# --------------------------------------------------------------------------------------

#: Chapter 7's readings of a large model (masked accuracies, Grad-CAM maps), stored in its
#: artifact folder: the model stays out of git (60-95 MB) and a fresh machine has none, so
#: the readings are measured once, where the model is, and read from there everywhere else.
READINGS_FILE = "readings.npz"
#: What Chapter 7 reads of each large model (:func:`chapter_readings`): these masks, on a random
#: 1,000 of PrivateTest's 3,589 faces (VGG-16 is slow on two cores), and Grad-CAM maps of up to
#: 40 correctly classified faces of each emotion (7 in quick mode, on quick mode's few faces).
READINGS_MASKS = ("none", "forehead", "eyes", "mouth")
READINGS_FACES = 1000
READINGS_PER_CLASS = {False: 40, True: 7}


def large_readings(art, ds, mask_names: Sequence[str], per_class: int, *,
                   split: str = "PrivateTest", store: bool = True) -> dict | None:
    """What Chapter 7 measures of a large model on ``ds``'s ``split``: the accuracy with each
    mask of ``mask_names`` covering every face (:func:`fer_utils.inference.evaluate_model`) and
    the Grad-CAM maps of up to ``per_class`` correctly classified faces of each emotion
    (:func:`correct_per_class`).

    Measured with the model when ``art`` (an artifact) has it on this machine, and then
    written to ``art.path / READINGS_FILE`` (``store=True``; under 1 MB: each map scaled to
    its maximum as 8-bit, which :func:`normalise` and :func:`class_averages` do not see).
    Without the model, the stored readings are read back when they were measured on the same
    faces, split, masks and count; otherwise ``None``.

    Returns ``{"accuracy": {mask: accuracy}, "pick": indices into ds, "maps": (N, H, W),
    "measured": ISO date, "stored": whether read from the file}``.
    """
    identity = json.dumps({"data": ds.fingerprint, "split": split, "masks": list(mask_names),
                           "per_class": int(per_class)}, sort_keys=True)
    where = art.path / READINGS_FILE
    if not art.has_model:
        if not where.is_file():
            return None
        with np.load(where) as z:
            if str(z["identity"]) != identity:
                return None
            return {"accuracy": json.loads(str(z["accuracy"])), "pick": z["pick"].astype(np.int64),
                    "maps": z["maps"].astype(np.float32) / 255, "measured": str(z["measured"]),
                    "stored": True}
    model = art.load_model()
    accuracy = {m: float(evaluate_model(model, ds, split, mask=m)["accuracy"]) for m in mask_names}
    test = np.flatnonzero(ds.usage == split)
    pick = test[correct_per_class(model, ds.images[test], ds.labels[test], per_class)]
    maps = (grad_cam(model, ds.images[pick], ds.labels[pick]) if len(pick)
            else np.zeros((0, *ds.images.shape[1:3]), np.float32))
    peak = maps.reshape(len(maps), -1).max(axis=1, initial=0).reshape(-1, 1, 1)
    maps8 = np.round(255 * np.divide(maps, peak, out=np.zeros_like(maps), where=peak > 0))
    maps8 = maps8.astype(np.uint8)
    measured = datetime.date.today().isoformat()
    if store:
        np.savez_compressed(where, identity=identity, accuracy=json.dumps(accuracy), pick=pick,
                            maps=maps8, measured=measured)
    return {"accuracy": accuracy, "pick": pick, "maps": maps8.astype(np.float32) / 255,
            "measured": measured, "stored": False}


def describe_reading_sources(readings: dict, names) -> str:
    """Where Chapter 7's readings of its large models (``readings``: name → what
    :func:`large_readings` returned, or None) came from, one sentence per model of ``names``:
    measured here with the model, read back from the file the machine that trained it wrote,
    or missing (then the table and figure leave the model out)."""
    missing = [k for k in names if readings.get(k) is None]
    out = []
    for k, r in readings.items():
        if r is None:
            continue
        out.append(f"{k}'s readings were measured on {r['measured']} by the machine that trained "
                   "it, while its model was there, and stored beside its artifact (the model is "
                   "too large to commit)." if r["stored"] else
                   f"{k}'s readings were measured with its model, on the machine that ran this "
                   f"chapter ({r['measured']}), and stored beside its artifact for machines "
                   "without it (the model is too large to commit).")
    if missing:
        out.append(f"{' and '.join(missing)}'s model is not on the machine that ran this chapter "
                   "and no readings of it are stored, so the masking table and the Grad-CAM "
                   "figure below leave it out (the training campaign trains it again in one "
                   "sitting, after the rest of its queue, to store them).")
    return " ".join(out)


def chapter_readings(art, ds, *, quick: bool = False, store: bool = True):
    """Chapter 7's :func:`large_readings` of one large model: ``(faces, readings)``, where
    ``faces`` is the dataset they index (``ds`` itself in quick mode, else a seeded
    :data:`READINGS_FACES` of its PrivateTest). Called by the chapter and by the training
    campaign as soon as a one-sitting run ends, so that the readings are stored while the
    model is on the machine."""
    faces = ds if quick else ds.quick_subset({"PrivateTest": READINGS_FACES})
    return faces, large_readings(art, faces, READINGS_MASKS, READINGS_PER_CLASS[bool(quick)],
                                 store=store)
