"""Face-region masks (Kroening et al.): cover part of a face and see what a model loses.

Two families, both returning boolean arrays that are ``True`` where the face is **covered**:

* **simple** masks, as Kroening et al. define them, by image rows — ``"forehead"`` the top quarter,
  ``"eyes"`` the second quarter (eyes and brows), ``"mouth"`` the bottom half (nose and
  mouth) — at any image size (:func:`simple_mask`);
* **landmark** masks (``"lm-forehead"``, ``"lm-eyes"``, ``"lm-mouth"``) that follow each face:
  the convex hull of the region's Face Mesh landmarks (:data:`LANDMARK_REGIONS`), widened by
  a margin (:func:`landmark_mask`). Faces without landmarks fall back to the simple mask of the
  same region, and :class:`MaskSet` counts them.

:func:`apply` covers images in NumPy; :func:`tf_apply` does the same inside a ``tf.data``
pipeline, so a mask can be used at training time (one model per mask) and at test time (a
model trained on whole faces, tested on covered ones).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from fer_utils.landmarks import REGIONS

#: Simple masks: covered rows as fractions of the image height (Kroening et al., Fig. 5).
SIMPLE: dict[str, tuple[float, float]] = {
    "forehead": (0.0, 0.25),
    "eyes": (0.25, 0.5),
    "mouth": (0.5, 1.0),
}
#: Landmark masks: the Face Mesh regions (:data:`fer_utils.landmarks.REGIONS`) each covers.
LANDMARK_REGIONS: dict[str, tuple[str, ...]] = {
    "lm-forehead": ("forehead",),
    "lm-eyes": ("eyes", "brows"),
    "lm-mouth": ("nose", "mouth"),
}
#: Every mask name; ``"none"`` covers nothing.
MASKS = ("none",) + tuple(SIMPLE) + tuple(LANDMARK_REGIONS)
#: What each mask is called in tables (Kroening et al.'s names).
LABELS = {"none": "no mask", "forehead": "forehead (top 1/4)", "eyes": "eyes (2nd 1/4)",
          "mouth": "nose and mouth (bottom 1/2)", "lm-forehead": "forehead (landmarks)",
          "lm-eyes": "eyes + brows (landmarks)", "lm-mouth": "nose + mouth (landmarks)"}


def _check(name: str) -> None:
    if name not in MASKS:
        raise ValueError(f"unknown mask {name!r}; choose one of {', '.join(MASKS)}")


def _size(size) -> tuple[int, int]:
    h, w = (size, size) if np.isscalar(size) else tuple(size)[:2]
    if int(h) < 4 or int(w) < 4:
        raise ValueError(f"image size must be at least 4×4, got {h}×{w}")
    return int(h), int(w)


def simple_mask(name: str, size: int | tuple[int, int] = 48) -> np.ndarray:
    """``(H, W)`` bool: the rows Kroening et al. cover for ``name`` (``"none"``: nothing).

    Row boundaries are rounded to the nearest pixel, so at 48 px ``"forehead"`` covers rows
    0–11, ``"eyes"`` 12–23 and ``"mouth"`` 24–47; at 128 px (the source) 0–31, 32–63, 64–127.
    Landmark mask names give their simple fallback.
    """
    _check(name)
    h, w = _size(size)
    out = np.zeros((h, w), bool)
    if name == "none":
        return out
    top, bottom = SIMPLE[name.removeprefix("lm-")]
    out[int(round(top * h)):int(round(bottom * h))] = True
    return out


def landmark_mask(points: np.ndarray, name: str, size: int | tuple[int, int] = 48, *,
                  margin: float = 0.04) -> np.ndarray | None:
    """``(H, W)`` bool covering the convex hull of a region's landmarks, or None without them.

    ``points`` are one face's (468, 3) Face Mesh landmarks in :mod:`fer_utils.landmarks`'
    units (x and y as fractions of the image width); ``margin`` widens the hull by that
    fraction of the width on every side (eyelids and lips move beyond their landmarks).
    """
    import cv2

    if name not in LANDMARK_REGIONS:
        raise ValueError(f"{name!r} is not a landmark mask; choose one of "
                         f"{', '.join(LANDMARK_REGIONS)}")
    h, w = _size(size)
    pts = np.asarray(points, np.float64)
    if pts.shape[-2:] != (468, 3) or np.isnan(pts).any():
        return None
    out = np.zeros((h, w), np.uint8)
    for region in LANDMARK_REGIONS[name]:
        xy = pts[REGIONS[region], :2] * w  # both axes are in units of the width
        hull = cv2.convexHull(np.round(xy).astype(np.int32))
        cv2.fillConvexPoly(out, hull, 1)
    r = int(round(margin * w))
    if r > 0:
        out = cv2.dilate(out, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1,) * 2))
    return out.astype(bool)


@dataclass
class MaskSet:
    """Per-image masks for a dataset, with the images that fell back to the simple mask.

    Attributes
    ----------
    name : str
        The mask (one of :data:`MASKS`).
    masks : ndarray (N, H, W) bool
        ``True`` where covered.
    fallback : ndarray (N,) bool
        Images without landmarks that got the simple mask instead (landmark masks only).
    """

    name: str
    masks: np.ndarray
    fallback: np.ndarray

    def __len__(self) -> int:
        return len(self.masks)

    @property
    def n_fallback(self) -> int:
        return int(self.fallback.sum())

    @property
    def covered(self) -> np.ndarray:
        """Fraction of each image covered."""
        return self.masks.reshape(len(self.masks), -1).mean(axis=1)

    def summary(self) -> str:
        line = (f"{LABELS[self.name]}: {len(self):,} images, {100 * self.covered.mean():.1f} % "
                "of each covered on average")
        if self.name in LANDMARK_REGIONS:
            line += f"; {self.n_fallback:,} without landmarks used the simple mask"
        return line


def region_masks(name: str, n: int, size: int | tuple[int, int] = 48,
                 points: np.ndarray | None = None, *, margin: float = 0.04) -> MaskSet:
    """Masks for ``n`` images: simple masks repeated, or one landmark mask per face.

    Landmark masks need ``points`` ``(n, 468, 3)`` (NaN rows where no face was found: those
    images fall back to the simple mask and are counted in :attr:`MaskSet.fallback`).
    """
    _check(name)
    h, w = _size(size)
    if name not in LANDMARK_REGIONS:
        return MaskSet(name, np.broadcast_to(simple_mask(name, (h, w)), (n, h, w)),
                       np.zeros(n, bool))
    if points is None:
        raise ValueError(f"mask {name!r} follows the face: pass its landmarks (points=...), "
                         "e.g. landmarks.dataset_landmarks(images).points")
    points = np.asarray(points)
    if len(points) != n:
        raise ValueError(f"{len(points)} landmark sets for {n} images")
    fallback_mask = simple_mask(name, (h, w))
    out = np.empty((n, h, w), bool)
    fallback = np.zeros(n, bool)
    for i, p in enumerate(points):
        m = landmark_mask(p, name, (h, w), margin=margin)
        if m is None:
            m, fallback[i] = fallback_mask, True
        out[i] = m
    return MaskSet(name, out, fallback)


def apply(images: np.ndarray, masks: np.ndarray, fill: float | str = 0.0) -> np.ndarray:
    """Copies of ``images`` (N, H, W[, C]) with the masked pixels set to ``fill``.

    ``masks`` is (H, W) for all images or (N, H, W) per image. ``fill`` is a value (0, black,
    as Kroening et al.) or ``"mean"`` (each image's mean over its uncovered pixels).
    """
    images = np.asarray(images)
    masks = np.asarray(masks, bool)
    if masks.shape[-2:] != images.shape[1:3]:
        raise ValueError(f"masks of size {masks.shape[-2:]} do not fit images of size "
                         f"{images.shape[1:3]}")
    m = np.broadcast_to(masks, images.shape[:3])
    covered = np.broadcast_to(m[..., None] if images.ndim == 4 else m, images.shape)
    if isinstance(fill, str):
        if fill != "mean":
            raise ValueError(f"fill must be a number or 'mean', not {fill!r}")
        axes = tuple(range(1, images.ndim))
        value = (np.where(covered, 0, images).sum(axis=axes, dtype=np.float64)
                 / np.maximum((~covered).sum(axis=axes), 1))
        fill = value.reshape((-1,) + (1,) * (images.ndim - 1))
    return np.where(covered, fill, images).astype(images.dtype)


def mask_images(images: np.ndarray, name: str, *, points: np.ndarray | None = None,
                fill: float | str = 0.0) -> tuple[np.ndarray, MaskSet]:
    """Cover a whole image array with one mask: ``(masked images, MaskSet)``.

    Landmark masks need the faces' Face Mesh landmarks, ``points`` (N, 468, 3), e.g.
    ``fer_utils.landmarks.dataset_landmarks(images).points`` (cached on disk). ``"none"``
    returns the images unchanged.

    Raises
    ------
    ValueError
        An unknown mask, or a landmark mask without ``points``.
    """
    _check(name)
    images = np.asarray(images)
    if name in LANDMARK_REGIONS and points is None:
        raise ValueError(f"the mask {name!r} covers a region found by landmarks: pass "
                         "points=fer_utils.landmarks.dataset_landmarks(images).points")
    ms = region_masks(name, len(images), images.shape[1:3], points)
    if name == "none":
        return images, ms
    return apply(images, ms.masks, fill), ms


def tf_apply(x, masks, fill: float = 0.0):
    """TensorFlow version of :func:`apply` for a ``tf.data`` map: ``x`` (B, H, W, C) and
    ``masks`` (B, H, W) or (H, W) boolean; returns ``x`` with covered pixels set to ``fill``."""
    import tensorflow as tf

    m = tf.cast(masks, tf.bool)
    if m.shape.rank == 2:
        m = m[None]
    m = m[..., None]
    return tf.where(m, tf.cast(fill, x.dtype), x)


def mask_figure(image: np.ndarray, points: np.ndarray | None = None,
                names: Sequence[str] | None = None, *, fill: float = 0.0):
    """One face under every mask (simple in the first row, landmark masks in the second when
    ``points`` are given)."""
    import matplotlib.pyplot as plt

    img = np.asarray(image)
    names = list(names or (["none"] + list(SIMPLE) + (list(LANDMARK_REGIONS)
                                                       if points is not None else [])))
    cols = 1 + len(SIMPLE)
    rows = 1 if len(names) <= cols else 2
    fig, axes = plt.subplots(rows, cols, figsize=(2.2 * cols, 2.4 * rows), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    slots = [(0, i) for i in range(cols)] + [(1, i) for i in range(1, cols)]
    for (r, c), name in zip(slots, names):
        if name in LANDMARK_REGIONS:
            m = landmark_mask(points, name, img.shape[:2])
            m = simple_mask(name, img.shape[:2]) if m is None else m
        else:
            m = simple_mask(name, img.shape[:2])
        axes[r, c].imshow(apply(img[None], m, fill)[0], cmap="gray", vmin=0, vmax=255)
        axes[r, c].set_title(LABELS[name], fontsize=8)
    fig.tight_layout()
    return fig
