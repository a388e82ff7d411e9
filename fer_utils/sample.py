"""The offline sample: what every chapter runs on when no FER-2013 has been downloaded.

What it is
----------
* **Procedurally drawn faces** (48×48 grey, like FER-2013), made on the fly from a seed; no
  downloaded data. Each face has an *identity* (face shape, skin and hair tone, eye spacing,
  mouth width, brow thickness), a *pose* (rotation, scale, shift), *lighting* (gradient,
  gamma, background) and *noise* (sensor noise, blur, an occluding patch on some faces).
* Its **expression** is set by parameters in the spirit of FACS action units (AU):
  brow raise (AU1+2), brow lowering / knitting (AU4), upper-lid raise (AU5), lid tightening
  and cheek raise (AU6/7), nose wrinkle and upper-lip raise (AU9/10), lip-corner pull
  (AU12) and depression (AU15), lip stretch (AU20), lip press (AU23/24) and jaw drop
  (AU25/26). Each of the seven classes is a template of these (e.g. surprise = AU1+2+5+26),
  shown at a random intensity, so weak expressions look nearly neutral and classes that
  share action units (fear/surprise, anger/disgust, sadness/neutral) are confusable as in
  real data.
* A **ground truth of where the class lives**: every image comes with a region map
  (``extras["regions"]``, values in :data:`REGION_NAMES`) and :data:`CLASS_REGIONS` says
  which regions the class's action units move. The saliency chapter scores explanation
  methods against it.
* **Label noise and crowd votes**: ``labels`` is what one simulated annotator said (as
  FER-2013 had one label per image); ``extras["true_labels"]`` is the class that was drawn;
  ``extras["votes"]`` holds ten annotators' votes in the FERPlus layout, so the FERPlus
  code paths run too (:func:`fer_utils.ferplus.votes_for`).
* Splits ``Training``/``PublicTest``/``PrivateTest`` with **disjoint identities**, and class
  frequencies shaped like FER-2013's (happy most common, disgust rare).
* A few **real photographs** (:func:`sample_photos`): public-domain portraits shipped inside
  installed packages (Grace Hopper in matplotlib, the astronaut Eileen Collins in
  scikit-image), for the face-detection and landmark steps that need real faces.

What it is not
--------------
Not FER-2013, not real faces, not a benchmark: accuracies on it say that a pipeline works
and learns, nothing about how well it reads human expressions. Real faces vary in ways
these drawings do not (age, ethnicity, hair, glasses, spontaneous expressions, context).
"""
from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass

import numpy as np

from fer_utils.dataset import CLASS_NAMES, FERDataset, LoadReport

REGION_NAMES: tuple[str, ...] = ("background", "skin", "hair", "brows", "eyes", "nose",
                                 "mouth", "occluder")
"""Values of the region map: index → name."""

CLASS_REGIONS: dict[str, tuple[str, ...]] = {
    "angry": ("brows", "eyes", "mouth"),
    "disgust": ("nose", "mouth"),
    "fear": ("brows", "eyes", "mouth"),
    "happy": ("eyes", "mouth"),
    "sad": ("brows", "mouth"),
    "surprise": ("brows", "eyes", "mouth"),
    "neutral": (),
}
"""Regions moved by each class's action units (neutral moves none)."""

# Action-unit templates at full intensity. Keys:
# brow_raise  px up of both brows (AU1+2 > 0, AU4 < 0)    brow_inner  px up of inner ends
# eye_open    lid opening factor (AU5 > 1, AU6/7 < 1)      wrinkle     nose wrinkle (AU9)
# lip_raise   upper-lip raise px (AU10)                    curve       lip-corner lift px (AU12 > 0, AU15 < 0)
# open        lips apart px (AU25/26)                      width       mouth width factor
#                                                                      (AU20 > 1, AU23/24 < 1)
_AU_TEMPLATES: dict[str, dict[str, float]] = {
    "angry":    dict(brow_raise=-4.0, brow_inner=-5.0, eye_open=0.55, curve=-1.5, width=0.8, glabella=1.0),
    "disgust":  dict(brow_raise=-1.5, brow_inner=-1.0, eye_open=0.8, wrinkle=1.0, lip_raise=4.0, curve=-3.0),
    "fear":     dict(brow_raise=4.0, brow_inner=4.0, eye_open=1.55, curve=-1.5, open=4.0, width=1.25),
    "happy":    dict(eye_open=0.7, curve=7.0, open=2.5, width=1.15),
    "sad":      dict(brow_inner=6.0, brow_raise=-0.5, eye_open=0.85, curve=-5.0, width=0.95),
    "surprise": dict(brow_raise=7.0, brow_inner=1.0, eye_open=1.7, open=11.0, width=0.72),
    "neutral":  dict(),
}
_NEUTRAL_AU = dict(brow_raise=0.0, brow_inner=0.0, eye_open=1.0, wrinkle=0.0, lip_raise=0.0,
                   curve=0.0, open=0.0, width=1.0, glabella=0.0)

# Which classes a hurried annotator confuses a class with (FER-2013's common confusions).
_CONFUSIONS = {"angry": ("disgust", "sad", "neutral"), "disgust": ("angry", "sad"),
               "fear": ("surprise", "sad"), "happy": ("neutral",), "sad": ("neutral", "fear", "angry"),
               "surprise": ("fear", "happy"), "neutral": ("sad", "angry")}
# Class frequencies shaped like FER-2013 (disgust rare, happy common).
_CLASS_P = np.array([0.138, 0.04, 0.143, 0.25, 0.169, 0.112, 0.148])
SAMPLE_SPLITS = {"Training": 2500, "PublicTest": 500, "PrivateTest": 500}

_S = 96  # drawing canvas (2× the output size, downsampled with area averaging)


@dataclass
class _Identity:
    face_w: float
    face_h: float
    skin: float
    hair: float
    bald: bool
    eye_sep: float
    eye_w: float
    eye_h: float
    eye_y: float
    brow_gap: float
    brow_thick: int
    nose_len: float
    mouth_w: float
    mouth_y: float
    lip: float


def _identity(rng: np.random.Generator) -> _Identity:
    skin = rng.uniform(95, 205)
    return _Identity(
        face_w=rng.uniform(29, 35), face_h=rng.uniform(37, 43), skin=skin,
        hair=rng.uniform(15, 90) if rng.random() < 0.8 else rng.uniform(150, 220),
        bald=rng.random() < 0.15, eye_sep=rng.uniform(13, 16.5), eye_w=rng.uniform(5.5, 7.0),
        eye_h=rng.uniform(2.6, 3.4), eye_y=rng.uniform(-9, -5), brow_gap=rng.uniform(6.5, 8.5),
        brow_thick=int(rng.integers(2, 5)), nose_len=rng.uniform(11, 15),
        mouth_w=rng.uniform(11, 15), mouth_y=rng.uniform(21, 25), lip=skin * rng.uniform(0.45, 0.65))


def _draw_face(ident: _Identity, au: dict[str, float], rng: np.random.Generator
               ) -> tuple[np.ndarray, np.ndarray]:
    """Draw one face on the 96×96 canvas; returns (image float32, region map uint8)."""
    import cv2

    img = np.zeros((_S, _S), np.float32)
    reg = np.zeros((_S, _S), np.uint8)
    cx, cy = _S / 2, _S / 2 + 2
    aa = cv2.LINE_AA

    def pt(x, y):
        return (int(round(x * 4)), int(round(y * 4)))  # 2 bits of sub-pixel precision

    def ell(canvas, x, y, ax, ay, val, thick=-1):
        cv2.ellipse(canvas, pt(x, y), pt(ax, ay), 0, 0, 360, float(val), thick,
                    aa if canvas.dtype == np.float32 else cv2.LINE_8, shift=2)

    # hair, then face
    if not ident.bald:
        ell(img, cx, cy - ident.face_h * 0.25, ident.face_w + 4, ident.face_h * 0.85, ident.hair)
        ell(reg, cx, cy - ident.face_h * 0.25, ident.face_w + 4, ident.face_h * 0.85, 2)
    ell(img, cx, cy, ident.face_w, ident.face_h, ident.skin)
    ell(reg, cx, cy, ident.face_w, ident.face_h, 1)
    dark = min(ident.hair, ident.skin * 0.45)

    eye_y = cy + ident.eye_y
    for s in (-1, 1):
        ex = cx + s * ident.eye_sep
        # brows (AU1+2 raise, AU4 lowers and knits the inner end)
        inner = (ex - s * 5.5, eye_y - ident.brow_gap - au["brow_raise"] - au["brow_inner"])
        mid = (ex, eye_y - ident.brow_gap - 1.5 - au["brow_raise"] - 0.4 * au["brow_inner"])
        outer = (ex + s * 7.5, eye_y - ident.brow_gap - au["brow_raise"] + 1.0)
        poly = np.array([pt(*inner), pt(*mid), pt(*outer)], np.int32)
        cv2.polylines(img, [poly], False, float(dark), ident.brow_thick, aa, shift=2)
        cv2.polylines(reg, [poly], False, 3, ident.brow_thick + 4, cv2.LINE_8, shift=2)
        # eyes (AU5 widens, AU6/7 narrow)
        eh = max(0.6, ident.eye_h * au["eye_open"])
        ell(reg, ex, eye_y, ident.eye_w + 2, eh + 2.5, 4)
        ell(img, ex, eye_y, ident.eye_w, eh, min(250.0, ident.skin + 55))
        ell(img, ex, eye_y, min(2.6, eh), min(2.6, eh), 25)
        ell(img, ex, eye_y, ident.eye_w, eh, dark, 1)
    if au["glabella"] > 0:  # vertical frown lines between the brows
        for dx in (-1.5, 1.5):
            cv2.line(img, pt(cx + dx, eye_y - ident.brow_gap - 2), pt(cx + dx * 0.7, eye_y - 2),
                     float(ident.skin * (1 - 0.35 * au["glabella"])), 1, aa, shift=2)
    # nose (AU9 wrinkles the bridge and flares the nostrils)
    ny0, ny1 = eye_y + 2, eye_y + ident.nose_len
    cv2.fillConvexPoly(reg, np.array([pt(cx - 5, ny0), pt(cx + 5, ny0), pt(cx + 7, ny1 + 3),
                                      pt(cx - 7, ny1 + 3)], np.int32), 5, cv2.LINE_8, shift=2)
    cv2.line(img, pt(cx + 1.5, ny0), pt(cx + 2.5, ny1), float(ident.skin * 0.75), 1, aa, shift=2)
    flare = 1.0 + 0.5 * au["wrinkle"]
    for s in (-1, 1):
        ell(img, cx + s * 2.6 * flare, ny1, 1.5 * flare, 1.0, ident.skin * 0.4)
    if au["wrinkle"] > 0:
        for k in range(3):
            y = ny0 + 1.5 + 2.0 * k
            cv2.line(img, pt(cx - 3.5, y), pt(cx + 3.5, y + 0.6),
                     float(ident.skin * (1 - 0.3 * au["wrinkle"])), 1, aa, shift=2)
    # mouth: two lip curves through the corners (AU12 lifts, AU15 drops the corners,
    # AU20 stretches, AU23/24 narrows, AU10 raises the upper lip, AU25/26 opens)
    my = cy + ident.mouth_y
    mw = ident.mouth_w * au["width"]
    t = np.linspace(-1, 1, 21)
    corner = my - au["curve"]
    bow = au["curve"] * 0.35
    upper = corner + (1 - t**2) * (au["curve"] + bow - au["lip_raise"] - au["open"] * 0.35)
    lower = corner + (1 - t**2) * (au["curve"] + bow + au["open"] * 0.65 + 1.2)
    xs = cx + t * mw
    up = np.stack([xs, upper], 1)
    lo = np.stack([xs, lower], 1)[::-1]
    lips = np.array([pt(x, y) for x, y in np.concatenate([up, lo])], np.int32)
    top = min(upper.min(), corner) - 3
    cv2.fillConvexPoly(reg, np.array([pt(cx - mw - 3, top), pt(cx + mw + 3, top),
                                      pt(cx + mw + 3, lower.max() + 3), pt(cx - mw - 3, lower.max() + 3)],
                                     np.int32), 6, cv2.LINE_8, shift=2)
    if au["open"] + au["lip_raise"] > 1.0:
        cv2.fillPoly(img, [lips], 30.0, aa, shift=2)   # mouth cavity
        if au["open"] > 4:                              # teeth
            ty = upper.min() + 1.2
            cv2.line(img, pt(cx - mw * 0.6, ty), pt(cx + mw * 0.6, ty), 215.0, 2, aa, shift=2)
    cv2.polylines(img, [lips], True, float(ident.lip), 2, aa, shift=2)
    return img, reg


def _render(ident: _Identity, au: dict[str, float], bg: float, rng: np.random.Generator,
            occlude: bool) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    face, reg = _draw_face(ident, au, rng)
    img = np.where(reg > 0, face, bg).astype(np.float32)
    img = np.where((reg == 0) & (face > 0), face, img)
    # pose: rotation, scale, shift
    angle, scale = rng.normal(0, 7), rng.uniform(0.9, 1.12)
    m = cv2.getRotationMatrix2D((_S / 2, _S / 2), angle, scale)
    m[:, 2] += rng.normal(0, 3, size=2)
    img = cv2.warpAffine(img, m, (_S, _S), flags=cv2.INTER_LINEAR, borderValue=float(bg))
    reg = cv2.warpAffine(reg, m, (_S, _S), flags=cv2.INTER_NEAREST, borderValue=0)
    if occlude:  # a hand, cup or microphone in front of part of the face
        x, y = rng.uniform(15, 80, size=2)
        ax, ay = rng.uniform(8, 18), rng.uniform(6, 14)
        val = rng.uniform(40, 220)
        mask = np.zeros_like(reg)
        cv2.ellipse(mask, (int(x), int(y)), (int(ax), int(ay)), float(rng.uniform(0, 180)), 0, 360, 1, -1)
        img[mask > 0] = val
        reg[mask > 0] = 7
    # lighting: a linear gradient, then gamma
    yy, xx = np.mgrid[0:_S, 0:_S] / _S - 0.5
    phi = rng.uniform(0, 2 * np.pi)
    img = img * (1 + rng.uniform(0, 0.6) * (np.cos(phi) * xx + np.sin(phi) * yy))
    img = 255 * (np.clip(img, 0, 255) / 255) ** rng.uniform(0.7, 1.4)
    out = cv2.resize(img, (48, 48), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.3:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.4, 0.9))
    out = out + rng.normal(0, rng.uniform(2, 10), out.shape)
    regions = reg[1::2, 1::2]
    return np.clip(np.round(out), 0, 255).astype(np.uint8), regions


def _annotate(true_label: int, intensity: float, rng: np.random.Generator) -> int:
    """One simulated annotator's vote (0–6 emotion, 7 contempt, 8 unknown)."""
    u = rng.random()
    if u < 0.02:
        return 8
    if u < 0.035:
        return 7
    p_right = 0.5 + 0.45 * intensity
    if rng.random() < p_right:
        return true_label
    name = CLASS_NAMES[true_label]
    return CLASS_NAMES.index(rng.choice(_CONFUSIONS[name]))


@functools.lru_cache(maxsize=4)
def _make(seed: int, sizes: tuple[tuple[str, int], ...]) -> tuple:
    rng = np.random.default_rng(seed)
    n_ids = max(10, sum(n for _, n in sizes) // 20)
    idents = [_identity(rng) for _ in range(n_ids)]
    id_split = rng.permutation(n_ids)
    n_train = int(0.7 * n_ids)
    n_pub = (n_ids - n_train) // 2
    pools = {"Training": id_split[:n_train], "PublicTest": id_split[n_train:n_train + n_pub],
             "PrivateTest": id_split[n_train + n_pub:]}
    images, regions, true, labels, usage, votes, ids = [], [], [], [], [], [], []
    for split, n in sizes:
        for _ in range(n):
            c = int(rng.choice(len(CLASS_NAMES), p=_CLASS_P))
            intensity = float(rng.uniform(0.3, 1.0))
            au = dict(_NEUTRAL_AU)
            for k, v in _AU_TEMPLATES[CLASS_NAMES[c]].items():
                base = _NEUTRAL_AU[k]
                au[k] = base + (v - base) * intensity
            for k in ("brow_raise", "brow_inner", "curve", "open", "lip_raise"):
                au[k] += rng.normal(0, 0.8)
            au["open"] = max(0.0, au["open"])
            au["lip_raise"] = max(0.0, au["lip_raise"])
            au["eye_open"] *= rng.uniform(0.9, 1.1)
            ident_i = int(rng.choice(pools[split]))
            img, reg = _render(idents[ident_i], au, bg=float(rng.uniform(25, 225)), rng=rng,
                               occlude=rng.random() < 0.08)
            crowd = np.bincount([_annotate(c, intensity, rng) for _ in range(10)], minlength=10)
            images.append(img)
            regions.append(reg)
            true.append(c)
            labels.append(_annotate(c, intensity, rng))
            usage.append(split)
            votes.append(crowd)
            ids.append(ident_i)
    labels = np.array(labels)
    # a single annotator may say contempt/unknown: FER-2013 had no such label, so the
    # sample keeps the drawn class there (as FER-2013's curators forced one of 7 labels)
    labels = np.where(labels >= len(CLASS_NAMES), np.array(true), labels)
    return (np.stack(images), np.stack(regions), np.array(true), labels, np.array(usage),
            np.stack(votes), np.array(ids))


def make_sample(seed: int = 0, sizes: dict[str, int] | None = None) -> FERDataset:
    """Generate the offline sample (deterministic for a given seed and sizes).

    Parameters
    ----------
    seed : int
        Random seed; the default sample is ``seed=0``.
    sizes : dict, optional
        Images per split; default :data:`SAMPLE_SPLITS` (2,500 / 500 / 500).

    Returns
    -------
    FERDataset
        ``is_sample=True``; ``extras`` holds ``regions`` (N, 48, 48) uint8 region maps,
        ``true_labels`` (N,) the drawn class, ``identity`` (N,) the identity index and
        ``votes`` (N, 10) ten simulated annotators' votes in the FERPlus layout of
        :data:`fer_utils.ferplus.VOTE_NAMES` (read them with :func:`fer_utils.ferplus.votes_for`).
    """
    sizes = sizes or SAMPLE_SPLITS
    images, regions, true, labels, usage, votes, ids = _make(seed, tuple(sizes.items()))
    return FERDataset(
        images=images, labels=labels.astype(np.int64), usage=usage,
        rows=np.arange(len(images), dtype=np.int64),
        source=f"offline sample (procedural faces, seed {seed})", is_sample=True,
        report=LoadReport(n_read=len(images), notes=["generated offline; not FER-2013"]),
        extras={"regions": regions, "true_labels": true.astype(np.int64), "identity": ids,
                "votes": votes.astype(np.int64)})


SAMPLE_BANNER = (
    "No FER-2013 found (FER_DATA_DIR is unset or holds no fer2013.csv/.csv.gz/.tar.gz or image "
    "folders). Using the OFFLINE SAMPLE: procedurally drawn faces, not FER-2013. Results show "
    "that the code runs and learns; they are not the book's results. See README, 'Getting the data'.")


def load_sample(announce: bool = True) -> FERDataset:
    """The default offline sample, announced with a warning (what :func:`load_fer2013` falls back to)."""
    if announce:
        warnings.warn(SAMPLE_BANNER, UserWarning, stacklevel=3)
    return make_sample()


def sample_photos() -> dict[str, np.ndarray]:
    """Real public-domain portraits shipped inside installed packages, as RGB uint8 arrays.

    * ``grace_hopper``: Rear Admiral Grace Hopper, official U.S. Navy portrait (public
      domain), from matplotlib's sample data (``grace_hopper.jpg``, 600×512).
    * ``astronaut``: NASA portrait of astronaut Eileen Collins (public domain), from
      scikit-image (``skimage.data.astronaut()``, 512×512).
    """
    import matplotlib.cbook
    import skimage.data
    from PIL import Image

    with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as fh:
        hopper = np.asarray(Image.open(fh).convert("RGB"))
    return {"grace_hopper": hopper, "astronaut": np.asarray(skimage.data.astronaut())}


def group_photo(rows: int = 1, cols: int = 5, cell: tuple[int, int] = (128, 150)) -> tuple[np.ndarray, int]:
    """A composed group photo for detector tests: ``rows × cols`` head-and-shoulders cells
    (``cell`` = width, height in pixels) cut from :func:`sample_photos` (mirrored and
    brightened in turn so that no two neighbours are the same). Returns ``(RGB image, number
    of faces)``. Five in a row at the default cell size is 640×150 pixels, faces ~100 px."""
    import cv2

    photos = sample_photos()
    # head-and-shoulders windows around each portrait's face (x0, y0, x1, y1)
    windows = {"grace_hopper": (90, 20, 510, 512), "astronaut": (110, 0, 330, 260)}
    heads = []
    for name, (x0, y0, x1, y1) in windows.items():
        head = photos[name][y0:y1, x0:x1]
        heads += [head, head[:, ::-1]]
    w, h = cell
    tiles = []
    for i in range(rows * cols):
        head = heads[i % len(heads)].astype(np.float32) * (1.0 + 0.08 * (i // len(heads)))
        tiles.append(cv2.resize(np.clip(head, 0, 255).astype(np.uint8), (w, h),
                                interpolation=cv2.INTER_AREA))
    grid = [np.concatenate(tiles[r * cols:(r + 1) * cols], axis=1) for r in range(rows)]
    return np.concatenate(grid, axis=0), rows * cols
