"""From a photo to model-ready faces: read an image safely, find faces, crop them like FER-2013.

Two detectors, both offline:

``"haar"``
    OpenCV's Viola–Jones cascade ``haarcascade_frontalface_default.xml`` (shipped inside
    OpenCV), the detector of Baral et al.'s real-time demo. Frontal faces only.
``"mediapipe"``
    MediaPipe's BlazeFace short-range detector: legacy ``mp.solutions.face_detection`` with the
    model inside the mediapipe 0.10.21 wheel (offline), or on newer MediaPipe (Colab) the
    Tasks ``FaceDetector`` with the same network from the Face Landmarker bundle. Handles
    turned heads and poor light better.

:func:`crop_faces` turns each box into what every course model takes: a 48×48 grey image
with values 0–255 (normalisation happens inside the model, see :mod:`fer_utils.models`).
The box is enlarged first, by an amount measured per detector (:data:`CROP_SPECS`), because
FER-2013's faces include some forehead, chin and cheek around the box a detector returns.

:func:`read_image` is the only way the course reads a user's file: it accepts what people
have (JPEG, PNG, BMP, TIFF, WebP; grey, RGB, RGBA, palette, 16-bit; EXIF-rotated phone photos)
and turns everything it cannot use into an :class:`ImageError` with a readable message.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_utils import landmarks, paths
from fer_utils.runtime import quiet_native

DETECTORS = ("haar", "mediapipe")
MAX_PIXELS = 80_000_000  # larger files are refused before decoding (≈ 240 MB as RGB)
MAX_SIDE = 2048  # larger images are shrunk after decoding: detection needs no more
FACE_SIZE = 48


class ImageWarning(UserWarning):
    """An image was read, but not all of it (the first frame of an animation)."""


class ImageError(ValueError):
    """A file that cannot be used as an image (with the reason)."""


class DetectorError(RuntimeError):
    """A face detector that cannot run here (with what to install or choose instead)."""


# --------------------------------------------------------------------------------------
# reading
# --------------------------------------------------------------------------------------

def read_image(path: str | Path, *, max_side: int = MAX_SIDE) -> np.ndarray:
    """Read an image file as RGB ``uint8`` ``(H, W, 3)``, safely.

    * grey, palette, RGBA (composited on white), CMYK and 16-bit images are converted;
    * phone photos are turned upright from their EXIF orientation;
    * images larger than ``max_side`` on their longer side are shrunk to it.

    Raises
    ------
    ImageError
        Missing, empty, not an image, truncated or corrupt, or over :data:`MAX_PIXELS`.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder, not an image")
    if path.stat().st_size == 0:
        raise ImageError(f"{path.name}: the file is empty")
    try:
        with Image.open(path) as im:
            w, h = im.size
            if w * h > MAX_PIXELS:
                raise ImageError(f"{path.name}: {w}×{h} pixels is too large "
                                 f"(limit {MAX_PIXELS // 1_000_000} megapixels); shrink it first")
            frames = getattr(im, "n_frames", 1)
            if frames > 1:
                warnings.warn(f"{path.name}: an animation of {frames} frames; only the first "
                              "is read", ImageWarning, stacklevel=2)
            if im.format == "JPEG" and max(w, h) > 2 * max_side:
                # decode at 1/2, 1/4 or 1/8 scale, still at least the final size: a
                # 79-megapixel photo never sits in memory whole
                scale = max_side / max(w, h)
                im.draft("RGB", (max(1, int(w * scale)), max(1, int(h * scale))))
            im.load()
            im = ImageOps.exif_transpose(im)
            rgb = to_rgb(im)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(f"{path.name}: not an image file (or a format Pillow cannot read)") from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{path.name}: refused as too large ({exc})") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{path.name}: unreadable or truncated image ({exc})") from None
    return shrink(rgb, max_side)


def to_rgb(im) -> np.ndarray:
    """Any Pillow image → RGB ``uint8`` (16-bit grey scaled, transparency on white)."""
    from PIL import Image

    if im.mode in ("I;16", "I;16B", "I;16L") or (im.mode == "I" and im.format == "PNG"):
        # 16-bit grey: 0–65535 scaled to 0–255 (files that hold 8-bit values in a 16-bit
        # container, all ≤ 255, are kept as they are)
        a = np.asarray(im, dtype=np.float64)
        if a.max() > 255:
            a = a / 257.0
        return np.repeat(np.clip(a.round(), 0, 255).astype(np.uint8)[..., None], 3, axis=2)
    if im.mode in ("I", "F"):
        a = np.asarray(im, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(a)
        return np.repeat(a.astype(np.uint8)[..., None], 3, axis=2)
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        im = im.convert("RGBA")
        background = Image.new("RGBA", im.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(background, im).convert("RGB"))
    return np.asarray(im.convert("RGB"))


def shrink(image: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    """``image`` scaled down so that its longer side is at most ``max_side`` (never up)."""
    import cv2

    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return image
    return cv2.resize(image, (max(1, round(w * scale)), max(1, round(h * scale))),
                      interpolation=cv2.INTER_AREA)


def to_gray(image: np.ndarray) -> np.ndarray:
    """RGB (or already grey) ``uint8`` → grey ``uint8`` ``(H, W)``."""
    import cv2

    if image.ndim == 2:
        return image
    if image.ndim == 3 and image.shape[2] == 1:
        return image[..., 0]
    if image.ndim == 3 and image.shape[2] in (3, 4):
        return cv2.cvtColor(np.ascontiguousarray(image[..., :3]), cv2.COLOR_RGB2GRAY)
    raise ValueError(f"expected an image (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), got {image.shape}")


# --------------------------------------------------------------------------------------
# detection
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Face:
    """One detected face: its box ``(x, y, w, h)`` in pixels and the detector's score."""

    box: tuple[int, int, int, int]
    score: float = 1.0


class FaceDetector:
    """A reusable face detector (load once, call on many frames).

    Parameters
    ----------
    kind : {"haar", "mediapipe"}
    min_size : int
        Smallest face side in pixels (Haar; smaller MediaPipe boxes are dropped too).
    scale_factor, min_neighbors : float, int
        Haar's pyramid step and vote threshold. The source demo used 1.3 and 5 (fast); the
        default 1.1 finds more faces in still photos at about twice the time.
    min_confidence : float
        MediaPipe's score threshold.
    tile : bool
        MediaPipe also searches overlapping square tiles of the image (:func:`tiles`), so
        that group photos work; ``False`` looks at the whole image only (one call, fastest).
    tile_min : int
        Smallest tile side in pixels.

    Examples
    --------
    >>> detector = FaceDetector("haar")
    >>> faces = detector(rgb_image)          # doctest: +SKIP
    >>> [f.box for f in faces]               # doctest: +SKIP
    [(212, 96, 180, 180)]
    """

    def __init__(self, kind: str = "haar", *, min_size: int = 24, scale_factor: float = 1.1,
                 min_neighbors: int = 5, min_confidence: float = 0.5, tile: bool = True,
                 tile_min: int = 96) -> None:
        if kind not in DETECTORS:
            raise ValueError(f"unknown detector {kind!r}; choose one of {', '.join(DETECTORS)}")
        self.kind, self.min_size = kind, min_size
        self.tile, self.tile_min = tile, tile_min
        self.scale_factor, self.min_neighbors = scale_factor, min_neighbors
        self.min_confidence = min_confidence
        if kind == "haar":
            import cv2
            xml = Path(cv2.data.haarcascades) / "haarcascade_frontalface_default.xml"
            self._impl = cv2.CascadeClassifier(str(xml))
            if self._impl.empty():
                raise DetectorError(f"OpenCV could not load its Haar cascade {xml}")
        else:
            self._impl = _mediapipe_detector(min_confidence)

    def __call__(self, image: np.ndarray) -> list[Face]:
        """Faces in an RGB or grey ``uint8`` image, largest first."""
        if image.size == 0:
            return []
        if self.kind == "haar":
            gray = to_gray(image)
            boxes = self._impl.detectMultiScale(gray, scaleFactor=self.scale_factor,
                                                minNeighbors=self.min_neighbors,
                                                minSize=(self.min_size, self.min_size))
            faces = [Face(tuple(int(v) for v in b)) for b in np.asarray(boxes).reshape(-1, 4)]
        else:
            faces = self._mediapipe(image)
        return sorted(faces, key=lambda f: -f.box[2] * f.box[3])

    def _mediapipe(self, image: np.ndarray) -> list[Face]:
        """MediaPipe's short-range detector sees the whole image squeezed to 128×128, so the
        faces of a group photo (five in a row, a 2×2 grid) come out too small or squashed to
        be found. It therefore also looks at overlapping square tiles (:func:`tiles`) and
        merges what it finds (:func:`merge_faces`)."""
        rgb = image if image.ndim == 3 and image.shape[2] == 3 else np.repeat(
            to_gray(image)[..., None], 3, axis=2)
        faces = []
        windows = tiles(rgb.shape[:2], self.tile_min) if self.tile else [
            (0, 0, rgb.shape[1], rgb.shape[0])]
        for i, (x, y, w, h) in enumerate(windows):
            part = np.ascontiguousarray(rgb[y:y + h, x:x + w])
            for det in self._impl.process(part).detections or []:
                if i and det.score[0] < max(self.min_confidence, TILE_CONFIDENCE):
                    continue  # small tiles see more false faces: only confident ones count
                rb = det.location_data.relative_bounding_box
                x0, y0 = max(0, round(rb.xmin * w)), max(0, round(rb.ymin * h))
                x1 = min(w, round((rb.xmin + rb.width) * w))
                y1 = min(h, round((rb.ymin + rb.height) * h))
                if x1 - x0 >= self.min_size and y1 - y0 >= self.min_size:
                    faces.append(Face((x + x0, y + y0, x1 - x0, y1 - y0), float(det.score[0])))
        return merge_faces(faces)

    def close(self) -> None:
        if self.kind == "mediapipe":
            self._impl.close()

    def __enter__(self) -> FaceDetector:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"FaceDetector({self.kind!r})"


#: score a detection in a tile (not the whole image) needs to count: the true faces of the
#: composed group photos score 0.93–0.97 there, the false ones 0.64–0.69
TILE_CONFIDENCE = 0.8


def tiles(shape: tuple[int, int], min_side: int = 96) -> list[tuple[int, int, int, int]]:
    """Windows ``(x, y, w, h)`` for a detector that works best on square images: the whole
    image; square tiles of side ``min(h, w)`` along its longer side (a row of faces); and
    tiles of half that side over the image (a grid of faces) when that is at least
    ``min_side``. Tiles overlap by half, so a face is whole in at least one of them."""
    h, w = shape
    out = [(0, 0, w, h)]
    side = min(h, w)
    for level, size in enumerate((side, side // 2)):
        if level and (size < min_side or max(h, w) > 2 * min(h, w)):
            break  # a long strip (a row of faces) needs no finer grid
        step = max(1, size // 2)
        xs = sorted({*range(0, w - size + 1, step), w - size})
        ys = sorted({*range(0, h - size + 1, step), h - size})
        out += [(x, y, size, size) for y in ys for x in xs if (x, y, size, size) != (0, 0, w, h)]
    return out


def merge_faces(faces: list[Face], overlap: float = 0.4) -> list[Face]:
    """One box per face from the detections of several windows: a box that overlaps a
    better-scored one by more than ``overlap`` of the smaller box's area is dropped."""
    kept: list[Face] = []
    for f in sorted(faces, key=lambda f: -(f.score or 0)):
        x, y, w, h = f.box
        for k in kept:
            kx, ky, kw, kh = k.box
            ix = max(0, min(x + w, kx + kw) - max(x, kx))
            iy = max(0, min(y + h, ky + kh) - max(y, ky))
            if ix * iy > overlap * min(w * h, kw * kh):
                break
        else:
            kept.append(f)
    return kept


def _mediapipe_detector(min_confidence: float):
    """MediaPipe's BlazeFace short-range detector: the legacy ``mp.solutions`` one where this
    MediaPipe has it (its model is in the 0.10.21 wheel), else the Tasks ``FaceDetector`` with
    the same network taken from the Face Landmarker bundle (:class:`_TasksDetector`)."""
    import os

    os.environ.setdefault("GLOG_minloglevel", "2")
    if not landmarks.has_legacy_mesh():
        try:
            return _TasksDetector(min_confidence)
        except landmarks.LandmarkError as exc:
            raise DetectorError(f"the 'mediapipe' detector: {exc}; or use --detector haar") from None
    import mediapipe as mp

    with quiet_native():  # absl start-up warnings; the first call prints more, so warm up
        det = mp.solutions.face_detection.FaceDetection(model_selection=0,
                                                        min_detection_confidence=min_confidence)
        det.process(np.zeros((64, 64, 3), np.uint8))
    return det


class _TasksDetector:
    """MediaPipe Tasks' ``FaceDetector`` behind the legacy detector's interface
    (``process(rgb).detections``, each with ``score`` and a relative bounding box), so
    :class:`FaceDetector` reads both alike. Its model is the ``face_detector.tflite`` inside
    the Face Landmarker bundle (:func:`fer_utils.landmarks.task_model_path`), extracted once."""

    def __init__(self, min_confidence: float) -> None:
        import zipfile

        import mediapipe as mp

        bundle = landmarks.task_model_path()
        model = paths.cache_dir() / "mediapipe" / "face_detector.tflite"
        with zipfile.ZipFile(bundle) as z:
            data = z.read("face_detector.tflite")
        if not model.is_file() or model.read_bytes() != data:
            model.parent.mkdir(parents=True, exist_ok=True)
            with paths.atomic_path(model) as tmp:
                tmp.write_bytes(data)
        vision = mp.tasks.vision
        options = vision.FaceDetectorOptions(
            base_options=mp.tasks.BaseOptions(model_asset_path=str(model)),
            running_mode=vision.RunningMode.IMAGE, min_detection_confidence=min_confidence)
        with quiet_native():  # LiteRT's start-up lines
            self._det = vision.FaceDetector.create_from_options(options)
        self._mp, self._first = mp, True

    def process(self, rgb: np.ndarray):
        from types import SimpleNamespace as NS

        h, w = rgb.shape[:2]
        image = self._mp.Image(image_format=self._mp.ImageFormat.SRGB, data=np.ascontiguousarray(rgb))
        if self._first:  # LiteRT warns once about the buffer's alignment (it copies it)
            with quiet_native():
                found = self._det.detect(image)
            self._first = False
        else:
            found = self._det.detect(image)
        dets = []
        for d in found.detections or []:
            b = d.bounding_box  # pixels in Tasks; relative in the legacy API
            box = NS(xmin=b.origin_x / w, ymin=b.origin_y / h, width=b.width / w, height=b.height / h)
            dets.append(NS(score=[d.categories[0].score],
                           location_data=NS(relative_bounding_box=box)))
        return NS(detections=dets)

    def close(self) -> None:
        with quiet_native():  # LiteRT reports the accelerator it destroys
            self._det.close()


def detect_faces(image: np.ndarray, detector: str | FaceDetector = "haar") -> list[Face]:
    """Faces in one image (a convenience around :class:`FaceDetector`)."""
    if isinstance(detector, FaceDetector):
        return detector(image)
    with FaceDetector(detector) as d:
        return d(image)


# --------------------------------------------------------------------------------------
# cropping
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CropSpec:
    """How a detector's box maps to a FER-2013-like crop.

    ``fill``: the fraction of the crop's side that the box's longer side covers. ``shift``:
    vertical offset of the crop's centre from the box's centre, in box heights (negative =
    up).
    """

    fill: float
    shift: float = 0.0


#: Measured with :func:`calibrate_crop` on 400 FER-2013 training images (upscaled ×4): in
#: FER-2013 the Haar box covers a median 84 % of the image side, centred; MediaPipe's box 88 %,
#: centred 6 % of its height lower (it includes the chin and less forehead). Cropping with
#: these specs gives faces framed as the training images were.
CROP_SPECS = {"haar": CropSpec(0.84, 0.0), "mediapipe": CropSpec(0.88, -0.06)}


def expand_box(box, image_shape, spec: CropSpec | str = "haar") -> tuple[int, int, int, int]:
    """The square crop around a detector's ``box`` (clipped to the image)."""
    spec = CROP_SPECS[spec] if isinstance(spec, str) else spec
    x, y, w, h = box
    H, W = image_shape[:2]
    side = max(w, h) / spec.fill
    cx, cy = x + w / 2, y + h / 2 + spec.shift * h
    x0, y0 = max(0, round(cx - side / 2)), max(0, round(cy - side / 2))
    x1, y1 = min(W, round(cx + side / 2)), min(H, round(cy + side / 2))
    return x0, y0, max(1, x1 - x0), max(1, y1 - y0)


def crop_face(image: np.ndarray, box, spec: CropSpec | str = "haar", *,
              size: int = FACE_SIZE) -> np.ndarray:
    """One face as the models take it: grey ``float32`` ``(size, size)`` with values 0–255."""
    import cv2

    gray = to_gray(image)
    x, y, w, h = expand_box(box, gray.shape, spec)
    patch = gray[y:y + h, x:x + w]
    interp = cv2.INTER_AREA if min(patch.shape) >= size else cv2.INTER_LINEAR
    return cv2.resize(patch, (size, size), interpolation=interp).astype(np.float32)


def crop_faces(image: np.ndarray, faces, spec: CropSpec | str = "haar", *,
               size: int = FACE_SIZE) -> np.ndarray:
    """All faces of one image, ``(n, size, size, 1)`` float32 (``n`` may be 0).

    ``spec`` is the detector's name (its measured :data:`CROP_SPECS`) or a :class:`CropSpec`.
    """
    crops = [crop_face(image, f.box if isinstance(f, Face) else f, spec, size=size)
             for f in faces]
    return (np.stack(crops)[..., None] if crops
            else np.zeros((0, size, size, 1), np.float32))


def calibrate_crop(images: np.ndarray, detector: str | FaceDetector = "haar", *,
                   upscale: int = 4) -> dict:
    """Where a detector puts its box on FER-2013-style images (to derive a :class:`CropSpec`).

    Each 48×48 image is upscaled (detectors miss faces that small) and the largest box is
    measured relative to the image. Returns the detection rate and the median box width,
    height and centre (fractions of the image side), plus the implied ``CropSpec``.
    """
    import cv2

    det = FaceDetector(detector) if isinstance(detector, str) else detector
    side = images.shape[1] * upscale
    rel = []
    for im in images:
        big = cv2.resize(np.asarray(im).squeeze().astype(np.uint8), (side, side),
                         interpolation=cv2.INTER_LINEAR)
        found = det(big)
        if found:
            x, y, w, h = found[0].box
            rel.append((w / side, h / side, (x + w / 2) / side, (y + h / 2) / side))
    if isinstance(detector, str):
        det.close()
    if not rel:
        return {"detected": 0.0, "n": len(images)}
    w, h, cx, cy = np.median(np.asarray(rel), axis=0)
    return {"detected": len(rel) / len(images), "n": len(images), "width": float(w),
            "height": float(h), "centre_x": float(cx), "centre_y": float(cy),
            "spec": CropSpec(round(float(max(w, h)), 2), round(float((0.5 - cy) / h), 2))}
