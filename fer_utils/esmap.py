"""Emotional-state heatmaps (ES-MAPs, Yang & Chen): landmark distances relative to a neutral face.

The pipeline, for a face with 468 landmarks (:mod:`fer_utils.landmarks`):

1. :func:`pairwise_distances` — the 468×468 matrix of 3-D Euclidean distances between all
   landmark pairs, divided by its largest entry (the paper's "linear normalisation"; the
   reference code's min–max scaling, whose minimum is the zero diagonal).
2. :func:`fit_baseline` — the mean normalised matrix of *neutral* faces: one global mean over
   the neutral faces of the training split, or one per subject where a dataset identifies its
   subjects (JAFFE, CK+). The reference code took the global mean over the *test* folder's
   neutral faces; the course never lets test images into the baseline.
3. :func:`esmaps` — matrix minus baseline, clipped to ±0.1 (:data:`CLIP`, as the reference
   does implicitly), then optionally reduced (:data:`REDUCTIONS`):

   ``"full"``       the 468×468 map itself (219,024 values, 876 kB as float32);
   ``"pooled"``     ``k×k`` average pooling (default 9 → 52×52, 10.8 kB);
   ``"reference"``  what the reference code's CNN actually saw: the map coloured with
                    ``RdBu_r`` and squeezed into about 62×62 RGB pixels (11.5 kB as uint8).

Full maps for the 28,709 training images would need 25 GB; :func:`tf_dataset` makes them on
the fly from the landmarks instead (a batch at a time). Distances are computed by a compiled
loop — :func:`reference_distances` keeps the reference double loop for the speed comparison
and for tests.
"""
from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer_utils import landmarks
from fer_utils.dataset import CLASS_NAMES

CLIP = 0.1
REDUCTIONS = ("full", "pooled", "reference")
POOL = 9  # 468 / 9 = 52
REFERENCE_SIZE = 62  # pixels of the reference code's heatmap inside its 100×100 PNG
CMAP = "RdBu_r"


# --------------------------------------------------------------------------------------
# distances
# --------------------------------------------------------------------------------------

def _pairwise_kernel(pts, out, tops):  # pragma: no cover  (compiled by numba)
    """Fill ``out[n]`` with the distances of face ``pts[n]`` (each pair computed once, in
    float64, written to both triangles) and ``tops[n]`` with its largest distance."""
    m = pts.shape[1]
    for n in range(pts.shape[0]):
        top = 0.0
        for i in range(m):
            out[n, i, i] = 0.0
            for j in range(i + 1, m):
                dx = pts[n, i, 0] - pts[n, j, 0]
                dy = pts[n, i, 1] - pts[n, j, 1]
                dz = pts[n, i, 2] - pts[n, j, 2]
                d = np.sqrt(dx * dx + dy * dy + dz * dz)
                out[n, i, j] = d
                out[n, j, i] = d
                top = max(top, d)
        tops[n] = top


@functools.cache
def _kernel():
    """:func:`_pairwise_kernel` compiled with numba on first use (cached on disk too, so later
    processes skip the compilation)."""
    import numba

    return numba.njit(cache=True, nogil=True)(_pairwise_kernel)


def pairwise_distances(points: np.ndarray, *, normalise: bool = True) -> np.ndarray:
    """Euclidean distances between all landmark pairs.

    Parameters
    ----------
    points : ndarray (468, 3) or (N, 468, 3)
        Landmarks; a face with NaN points gives an all-NaN matrix.
    normalise : bool
        Divide each matrix by its largest distance (values in [0, 1]).

    Returns
    -------
    ndarray (468, 468) or (N, 468, 468), float32; symmetric with an exact zero diagonal.

    Notes
    -----
    A compiled loop (numba) computes each pair once, in float64, and writes both triangles:
    it agrees with the reference double loop to float32 rounding (1e-7) and was about twice
    as fast here as SciPy's ``cdist`` and four times as fast as NumPy broadcasting
    (``scripts/benchmark_esmap.py``). The first call in a fresh environment compiles it (a
    few seconds, cached on disk). The shorter Gram form |p_i|² + |p_j|² − 2 p_i·p_j would
    lose up to 1e-4 (relative) on close landmark pairs through cancellation in float32.
    """
    pts = np.asarray(points, dtype=np.float64)
    single = pts.ndim == 2
    if single:
        pts = pts[None]
    if pts.ndim != 3 or pts.shape[2] != 3:
        raise ValueError(f"points must be (468, 3) or (N, 468, 3), got {np.shape(points)}")
    n, m = len(pts), pts.shape[1]
    out = np.empty((n, m, m), np.float32)
    tops = np.empty(n)
    missing = np.isnan(pts).any(axis=(1, 2))
    _kernel()(np.where(missing[:, None, None], 0.0, pts), out, tops)
    out[missing] = np.nan  # a face without landmarks
    if normalise:
        with np.errstate(invalid="ignore", divide="ignore"):
            out /= tops.astype(np.float32)[:, None, None]
    return out[0] if single else out


def reference_distances(points: np.ndarray) -> np.ndarray:
    """The reference implementation's double loop over landmark pairs (slow; for comparison).

    Normalised like :func:`pairwise_distances`: divided by the largest distance.
    """
    import math

    pts = [tuple(map(float, p)) for p in np.asarray(points)]
    m = len(pts)
    d = [[0.0] * m for _ in range(m)]
    for i in range(m):
        xi, yi, zi = pts[i]
        for j in range(m):
            xj, yj, zj = pts[j]
            d[i][j] = math.sqrt((xi - xj) ** 2 + (yi - yj) ** 2 + (zi - zj) ** 2)
    top = max(max(row) for row in d)
    return (np.array(d) / top).astype(np.float32)


def condensed(maps: np.ndarray) -> np.ndarray:
    """Upper triangles (above the diagonal) of square maps as vectors: (N, M·(M−1)/2).

    The maps are symmetric, so this keeps every value once (109,278 for 468 landmarks).
    """
    maps = np.asarray(maps)
    iu = np.triu_indices(maps.shape[-1], k=1)
    return maps[..., iu[0], iu[1]]


# --------------------------------------------------------------------------------------
# baselines
# --------------------------------------------------------------------------------------

@dataclass
class Baseline:
    """Mean normalised distance matrix of neutral faces: one global, optionally one per subject.

    ``subject_maps[s]`` is used for subject ``s`` when present; everything else (datasets
    without subjects, subjects without a neutral image) uses ``global_map``.
    """

    global_map: np.ndarray
    n_global: int
    subject_maps: dict = field(default_factory=dict)
    n_subject: dict = field(default_factory=dict)
    source: str = ""

    @property
    def kind(self) -> str:
        return "per subject" if self.subject_maps else "global"

    def for_items(self, subjects: Sequence | None, n: int) -> tuple[np.ndarray, np.ndarray]:
        """(stack of distinct baseline maps, index of each item's map) for ``n`` items."""
        if not self.subject_maps or subjects is None:
            return self.global_map[None], np.zeros(n, np.int64)
        keys = list(self.subject_maps)
        stack = np.stack([self.global_map] + [self.subject_maps[k] for k in keys])
        lookup = {k: i + 1 for i, k in enumerate(keys)}
        return stack, np.array([lookup.get(s, 0) for s in subjects], np.int64)

    def save(self, path: str | Path) -> None:
        keys = list(self.subject_maps)
        np.savez_compressed(
            path, global_map=self.global_map, n_global=self.n_global,
            subject_keys=np.array([str(k) for k in keys]),
            subject_maps=(np.stack([self.subject_maps[k] for k in keys]) if keys
                          else np.zeros((0,) + self.global_map.shape, np.float32)),
            n_subject=np.array([self.n_subject[k] for k in keys], np.int64),
            source=self.source)

    @classmethod
    def load(cls, path: str | Path) -> Baseline:
        with np.load(path, allow_pickle=False) as z:
            keys = [str(k) for k in z["subject_keys"]]
            return cls(z["global_map"].astype(np.float32), int(z["n_global"]),
                       {k: m for k, m in zip(keys, z["subject_maps"])},
                       {k: int(c) for k, c in zip(keys, z["n_subject"])}, str(z["source"]))


def fit_baseline(points: np.ndarray, labels: np.ndarray, *, neutral: int | None = None,
                 subjects: Sequence | None = None, source: str = "",
                 batch: int = 256) -> Baseline:
    """Average the normalised distance matrices of the neutral faces given.

    Pass the *training* images only. Faces without landmarks (NaN) are left out. With
    ``subjects``, a per-subject mean is kept for each subject that has a neutral face.
    """

    neutral = CLASS_NAMES.index("neutral") if neutral is None else neutral
    points = np.asarray(points)
    ok = (np.asarray(labels) == neutral) & ~np.isnan(points).any(axis=(1, 2))
    idx = np.flatnonzero(ok)
    if not len(idx):
        raise ValueError("no neutral face with landmarks to build a baseline from")
    total = np.zeros((points.shape[1],) * 2)
    per: dict = {}
    counts: dict = {}
    subj = None if subjects is None else np.asarray(subjects)
    for s in range(0, len(idx), batch):
        chunk = idx[s:s + batch]
        d = pairwise_distances(points[chunk])
        total += d.sum(axis=0, dtype=np.float64)
        if subj is not None:
            for k, m in zip(subj[chunk], d):
                per[k] = per.get(k, 0.0) + m.astype(np.float64)
                counts[k] = counts.get(k, 0) + 1
    return Baseline((total / len(idx)).astype(np.float32), int(len(idx)),
                    {k: (v / counts[k]).astype(np.float32) for k, v in per.items()},
                    counts, source)


# --------------------------------------------------------------------------------------
# ES-MAPs
# --------------------------------------------------------------------------------------

def esmaps(points: np.ndarray, baseline: Baseline, *, subjects: Sequence | None = None,
           clip: float | None = CLIP, reduce: str = "full", pool: int = POOL,
           batch: int = 256) -> np.ndarray:
    """ES-MAPs of faces: normalised distances − neutral baseline, clipped, reduced.

    Returns (N, S, S) float32 for ``"full"`` (S = 468) and ``"pooled"`` (S = 468 / pool), or
    (N, 62, 62, 3) uint8 for ``"reference"``. Faces without landmarks give NaN maps
    (zeros for ``"reference"``); keep :attr:`LandmarkSet.found` to leave them out.
    A single face (468, 3) gives a single map.
    """
    if reduce not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduce!r}; choose one of {REDUCTIONS}")
    pts = np.asarray(points)
    single = pts.ndim == 2
    if single:
        pts = pts[None]
    stack, which = baseline.for_items(subjects, len(pts))
    outs = []
    for s in range(0, len(pts), batch):
        d = pairwise_distances(pts[s:s + batch]) - stack[which[s:s + batch]]
        if clip is not None:
            d = np.clip(d, -clip, clip)
        if reduce == "pooled":
            d = pool_maps(d, pool)
        elif reduce == "reference":
            d = reference_image(d, clip=clip or CLIP)
        outs.append(d)
    out = np.concatenate(outs) if outs else np.zeros((0,), np.float32)
    return out[0] if single else out


def pool_maps(maps: np.ndarray, k: int = POOL) -> np.ndarray:
    """``k×k`` average pooling of (…, M, M) maps; ``M`` must be divisible by ``k``."""
    maps = np.asarray(maps, dtype=np.float32)
    m = maps.shape[-1]
    if m % k:
        divisors = [d for d in range(2, m) if m % d == 0]
        raise ValueError(f"pool size {k} does not divide {m}; use one of {divisors}")
    shape = maps.shape[:-2] + (m // k, k, m // k, k)
    return maps.reshape(shape).mean(axis=(-3, -1))


def _colormap_lut(cmap: str = CMAP) -> np.ndarray:
    import matplotlib

    return (matplotlib.colormaps[cmap](np.linspace(0, 1, 256))[:, :3] * 255).round().astype(
        np.uint8)


def reference_image(maps: np.ndarray, *, clip: float = CLIP, size: int = REFERENCE_SIZE,
                    cmap: str = CMAP) -> np.ndarray:
    """Maps coloured with ``cmap`` over ``[-clip, clip]`` and shrunk to ``size``² RGB pixels.

    This is the input the reference code's ESH-Net received (its 100×100 PNGs hold the
    heatmap in about 62×62 pixels, tick labels aside): each pixel averages about 57 landmark
    pairs, so fine structure is lost. NaN maps become black images.
    """
    import cv2

    maps = np.asarray(maps, dtype=np.float32)
    single = maps.ndim == 2
    if single:
        maps = maps[None]
    lut = _colormap_lut(cmap)
    out = np.zeros((len(maps), size, size, 3), np.uint8)
    for i, m in enumerate(maps):
        if np.isnan(m).any():
            continue
        level = np.clip(np.rint((m + clip) / (2 * clip) * 255), 0, 255).astype(np.uint8)
        out[i] = cv2.resize(lut[level], (size, size), interpolation=cv2.INTER_AREA)
    return out[0] if single else out


# --------------------------------------------------------------------------------------
# consensus maps and their matches
# --------------------------------------------------------------------------------------

def consensus_maps(maps: np.ndarray, labels: np.ndarray, *, per_class: int = 50,
                   n_classes: int = 7, seed: int = 0) -> tuple[np.ndarray, dict]:
    """Per-class mean of ``per_class`` random maps (the paper's consensus heatmaps).

    Returns ``(consensus (n_classes, S, S), chosen {class: indices})``. Classes with fewer
    maps use all they have; NaN maps are never chosen.
    """
    maps = np.asarray(maps)
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    valid = ~np.isnan(maps.reshape(len(maps), -1)).any(axis=1)
    out = np.full((n_classes,) + maps.shape[1:], np.nan, np.float32)
    chosen = {}
    for k in range(n_classes):
        idx = np.flatnonzero((labels == k) & valid)
        if len(idx):
            pick = np.sort(rng.choice(idx, size=min(per_class, len(idx)), replace=False))
            chosen[k] = pick
            out[k] = maps[pick].mean(axis=0)
    return out, chosen


def correlation(maps: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Pearson correlation of each map with ``target`` (over all entries): close matches are
    near 1, outliers low or negative. NaN maps give NaN."""
    x = np.asarray(maps, np.float64).reshape(len(maps), -1)
    t = np.asarray(target, np.float64).ravel()
    x = x - x.mean(axis=1, keepdims=True)
    t = t - t.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        return (x @ t) / (np.linalg.norm(x, axis=1) * np.linalg.norm(t))


# --------------------------------------------------------------------------------------
# on the fly, for training
# --------------------------------------------------------------------------------------

def tf_dataset(points: np.ndarray, labels: np.ndarray, baseline: Baseline, *,
               subjects: Sequence | None = None, reduce: str = "pooled", pool: int = POOL,
               clip: float = CLIP, batch_size: int = 32, shuffle: bool = False,
               seed: int = 0, n_classes: int = 7):
    """A ``tf.data.Dataset`` of ``(es_map, one_hot)`` batches computed from landmarks on the fly.

    Nothing but the landmarks (N × 468 × 3 floats) is held in memory; each batch's maps are
    made when it is requested, in TensorFlow, with the same arithmetic as :func:`esmaps`.
    Maps come out as (B, S, S, 1) float32 for ``"full"``/``"pooled"`` and (B, 62, 62, 3)
    float32 in 0–255 for ``"reference"``. Faces without landmarks must be left out first.
    """
    import tensorflow as tf

    if reduce not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduce!r}; choose one of {REDUCTIONS}")
    pts = np.asarray(points, np.float32)
    if np.isnan(pts).any():
        raise ValueError("some faces have no landmarks (NaN): select LandmarkSet.found first")
    stack, which = baseline.for_items(subjects, len(pts))
    base = tf.constant(stack, tf.float32)
    lut = tf.constant(_colormap_lut(), tf.float32)

    def make(p, w, y):
        d2 = 0.0
        for k in range(3):  # coordinate by coordinate: no Gram-form cancellation
            diff = p[:, :, k, None] - p[:, None, :, k]
            d2 = d2 + diff * diff
        d = tf.sqrt(d2)
        d = d / tf.reduce_max(d, axis=[1, 2], keepdims=True)
        x = tf.clip_by_value(d - tf.gather(base, w), -clip, clip)[..., None]
        if reduce == "pooled":
            x = tf.nn.avg_pool2d(x, pool, pool, "VALID")
        elif reduce == "reference":
            level = tf.cast(tf.clip_by_value(tf.round((x[..., 0] + clip) / (2 * clip) * 255),
                                             0, 255), tf.int32)
            x = tf.image.resize(tf.gather(lut, level), (REFERENCE_SIZE, REFERENCE_SIZE),
                                method="area")
        return x, tf.one_hot(y, n_classes)

    ds = tf.data.Dataset.from_tensor_slices((pts, which, np.asarray(labels, np.int64)))
    if shuffle:
        ds = ds.shuffle(len(pts), seed=seed, reshuffle_each_iteration=True)
    return ds.batch(batch_size).map(make, num_parallel_calls=tf.data.AUTOTUNE).prefetch(2)


# --------------------------------------------------------------------------------------
# pictures
# --------------------------------------------------------------------------------------

def render(es_map: np.ndarray, ax=None, *, clip: float = CLIP, title: str = "",
           colorbar: bool = True, cmap: str = CMAP):
    """Draw one map (distance matrix, baseline or ES-MAP) with a diverging colormap.

    Distance matrices (all ≥ 0) are drawn with ``viridis`` from 0 to 1; signed maps with
    ``cmap`` over ``[-clip, clip]``. Returns the axes' image.
    """
    import matplotlib.pyplot as plt

    ax = ax or plt.subplots(figsize=(4, 3.4))[1]
    m = np.asarray(es_map)
    if np.nanmin(m) >= 0:
        im = ax.imshow(m, cmap="viridis", vmin=0, vmax=1, interpolation="nearest")
    else:
        im = ax.imshow(m, cmap=cmap, vmin=-clip, vmax=clip, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)
    if colorbar:
        ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return im


def pipeline_figure(image: np.ndarray, points: np.ndarray, baseline: Baseline, *,
                    clip: float = CLIP, title: str = ""):
    """The ES-MAP pipeline on one face, four panels: landmarks, distances, baseline, ES-MAP."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    landmarks.draw(axes[0], image, points, size=6 if np.asarray(image).shape[0] < 100 else 3)
    axes[0].set_title("468 landmarks (by region)", fontsize=10)
    d = pairwise_distances(points)
    render(d, axes[1], title="normalised distances")
    render(baseline.global_map, axes[2], title=f"neutral baseline ({baseline.n_global:,} faces)")
    render(esmaps(points, baseline, clip=clip), axes[3], clip=clip,
           title=f"ES-MAP (difference, clipped ±{clip})")
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    return fig


def consensus_figure(consensus: np.ndarray, maps: np.ndarray, labels: np.ndarray, *,
                     class_names=None, clip: float = CLIP, examples: int = 2):
    """Per emotion: the consensus map, its closest matches and its outliers (by correlation).

    ``maps`` and ``labels`` are the maps the consensus was built from (or others of the same
    kind); each row shows ``examples`` best and worst correlated maps of that emotion.
    """
    import matplotlib.pyplot as plt

    names = list(class_names or CLASS_NAMES)
    rows = [k for k in range(len(consensus)) if not np.isnan(consensus[k]).all()]
    fig, axes = plt.subplots(len(rows), 1 + 2 * examples, figsize=(2.1 * (1 + 2 * examples),
                                                                     2.1 * len(rows)),
                             squeeze=False)
    for r, k in enumerate(rows):
        idx = np.flatnonzero(labels == k)
        score = correlation(maps[idx], consensus[k])
        order = idx[np.argsort(-score)]
        sorted_scores = np.sort(score)[::-1]
        panels = [(consensus[k], f"{names[k]}: consensus")]
        panels += [(maps[order[i]], f"match r={sorted_scores[i]:.2f}") for i in range(examples)]
        panels += [(maps[order[-1 - i]], f"outlier r={sorted_scores[-1 - i]:.2f}")
                   for i in range(examples)]
        for ax, (m, t) in zip(axes[r], panels):
            render(m, ax, clip=clip, title=t, colorbar=False)
    fig.tight_layout()
    return fig
