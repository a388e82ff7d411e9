"""Facial landmarks: MediaPipe Face Mesh's 468 3-D points, one face per image.

Two back-ends behind one class, :class:`FaceMesh`, and ``"auto"`` (the default), which takes
the legacy one where this MediaPipe has it and Tasks elsewhere (:func:`resolve_backend`):

``"legacy"``
    ``mediapipe.solutions.face_mesh`` with ``refine_landmarks=True``, as the ES-MAP reference
    code uses it. Its models are inside the mediapipe 0.10.21 wheel, so it works offline: the
    course's offline environment (Python 3.10/3.11).
``"tasks"``
    MediaPipe Tasks' ``FaceLandmarker``, the only route in MediaPipe 0.10.30 and later, where
    ``mp.solutions`` is gone: Colab (Python 3.12/3.13). It needs the model bundle
    ``face_landmarker.task`` (3.7 MB), found by :func:`task_model_path`: a path you pass,
    ``$FER_FACE_LANDMARKER``, or the copy fetched once from Google's versioned address
    (:data:`TASK_MODEL_URL`) into the cache and checked against :data:`TASK_MODEL_SHA256`.
    On 600 PublicTest faces it finds a face in 544, the legacy mesh in 562; where both find
    one, the normalised 3-D distances correlate at a median 0.998 (Chapter 5 measures all faces).

Both return 478 points with iris refinement; the course keeps the first 468 (the mesh proper,
what the reference code uses). Coordinates are MediaPipe's normalised ones, made isotropic:
``x`` and ``z`` in units of the image width, ``y`` rescaled to the same unit (identical to
MediaPipe's numbers for square images such as FER-2013).

Failures are never silent. Every image gets a status (:data:`STATUS`): a face, no face found,
a blank (constant) image, or an input that is not an image. :class:`LandmarkSet` keeps the
points (NaN where no face was found) with those statuses, so detection rates per split and
per class are one call (:meth:`LandmarkSet.detection_table`).

Landmark regions (:data:`REGIONS`) name the points of the eyes, brows, nose, mouth, jaw and
forehead; they come from MediaPipe's connection sets (forehead and jaw from the geometry of
the mesh, see :data:`REGIONS`).
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer_utils import esmap, paths
from fer_utils.dataset import CLASS_NAMES
from fer_utils.runtime import quiet_native

N_LANDMARKS = 468
BACKENDS = ("auto", "legacy", "tasks")
TASK_MODEL_ENV = "FER_FACE_LANDMARKER"
TASK_MODEL_URL = ("https://storage.googleapis.com/mediapipe-models/face_landmarker/"
                  "face_landmarker/float16/1/face_landmarker.task")
#: sha256 of the bundle at :data:`TASK_MODEL_URL` (version 1, float16); a fetched file that
#: differs is refused. Not shipped in the package: see the README, "MediaPipe on Colab".
TASK_MODEL_SHA256 = "64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff"
#: Status codes of :class:`LandmarkSet` (index = code).
STATUS = ("face", "no face found", "blank image", "not an image")
OK, NO_FACE, BLANK, BAD_INPUT = range(4)
MIN_SIDE = 16  # smaller images are refused: Face Mesh cannot resolve a face there
_CACHE_VERSION = 1


class LandmarkError(RuntimeError):
    """A landmark back-end that cannot run here (with what to install or pass instead)."""


# --------------------------------------------------------------------------------------
# regions
# --------------------------------------------------------------------------------------

def _connection_points(*names: str) -> np.ndarray:
    """Landmark indices of MediaPipe connection sets (copied here so that no import is needed)."""
    return np.array(sorted({i for n in names for i in _CONNECTIONS[n]}), dtype=np.int64)


# Points of MediaPipe's FACEMESH_* connection sets (mediapipe 0.10.21,
# mediapipe/python/solutions/face_mesh_connections.py); tests check them against the
# installed mediapipe when it has the legacy API.
_CONNECTIONS: dict[str, tuple[int, ...]] = {
    "FACEMESH_LEFT_EYE": (249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388,
                          390, 398, 466),
    "FACEMESH_RIGHT_EYE": (7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161,
                           163, 173, 246),
    "FACEMESH_LEFT_EYEBROW": (276, 282, 283, 285, 293, 295, 296, 300, 334, 336),
    "FACEMESH_RIGHT_EYEBROW": (46, 52, 53, 55, 63, 65, 66, 70, 105, 107),
    "FACEMESH_NOSE": (1, 2, 4, 5, 6, 19, 45, 48, 64, 94, 97, 98, 115, 168, 195, 197, 220, 275,
                      278, 294, 326, 327, 344, 440),
    "FACEMESH_LIPS": (0, 13, 14, 17, 37, 39, 40, 61, 78, 80, 81, 82, 84, 87, 88, 91, 95, 146,
                      178, 181, 185, 191, 267, 269, 270, 291, 308, 310, 311, 312, 314, 317, 318,
                      321, 324, 375, 402, 405, 409, 415),
    "FACEMESH_FACE_OVAL": (10, 21, 54, 58, 67, 93, 103, 109, 127, 132, 136, 148, 149, 150,
                           152, 162, 172, 176, 234, 251, 284, 288, 297, 323, 332, 338, 356, 361,
                           365, 377, 378, 379, 389, 397, 400, 454),
}

#: Landmark indices per facial region. Eyes, brows, nose and mouth are MediaPipe's connection
#: sets. MediaPipe has no forehead or jaw set: ``forehead`` is every mesh point lying above
#: the brows by more than 2 % of the face height, and ``jaw`` the face-oval points below the
#: top of the lips, both measured on the two packaged portraits
#: (:func:`fer_utils.sample.sample_photos`); a test re-derives them.
REGIONS: dict[str, np.ndarray] = {
    "forehead": np.array([10, 54, 67, 69, 103, 104, 108, 109, 151, 284, 297, 299, 332, 333,
                          337, 338]),
    "brows": _connection_points("FACEMESH_LEFT_EYEBROW", "FACEMESH_RIGHT_EYEBROW"),
    "eyes": _connection_points("FACEMESH_LEFT_EYE", "FACEMESH_RIGHT_EYE"),
    "nose": _connection_points("FACEMESH_NOSE"),
    "mouth": _connection_points("FACEMESH_LIPS"),
    "jaw": np.array([58, 136, 148, 149, 150, 152, 172, 176, 365, 377, 378, 379, 397, 400]),
}
REGION_NAMES = tuple(REGIONS)


def region_labels() -> np.ndarray:
    """The region of each of the 468 landmarks (``"other"`` for points in no region)."""
    labels = np.full(N_LANDMARKS, "other", dtype=object)
    for name, idx in REGIONS.items():
        labels[idx] = name
    return labels


def region_order() -> np.ndarray:
    """A permutation of the 468 landmarks that groups them by region (regions in
    :data:`REGION_NAMES` order, then the rest), so that a distance map reordered with it
    shows each region as one block of rows and columns."""
    used = np.concatenate([REGIONS[n] for n in REGION_NAMES])
    rest = np.setdiff1d(np.arange(N_LANDMARKS), used)
    return np.concatenate([used, rest])


# --------------------------------------------------------------------------------------
# one image
# --------------------------------------------------------------------------------------

class FaceMesh:
    """Find 468 3-D landmarks of the largest face in an image.

    Parameters
    ----------
    backend : ``"auto"``, ``"legacy"`` or ``"tasks"``
        See the module docstring. ``"legacy"`` needs mediapipe ≤ 0.10.21-style
        ``mp.solutions``; ``"tasks"`` needs the model bundle (:func:`task_model_path`).
    model_path : path, optional
        The ``face_landmarker.task`` bundle for the ``"tasks"`` back-end (default:
        :func:`task_model_path`).
    upscale : int, optional
        Enlarge images whose shorter side is below this many pixels first (bicubic).
        FER-2013's 48×48 faces are found about as often either way (see the chapter), so the
        default, like the reference code, is to use images as they are.
    min_confidence : float
        Face detection threshold (MediaPipe's default 0.5).

    Call it on a grey ``(H, W)`` or RGB ``(H, W, 3)`` image (uint8, or float in 0–1 / 0–255);
    :meth:`detect` returns ``(points, status)``, calling the object returns the points or
    ``None``. Use it as a context manager, or call :meth:`close`, to free the graph.

    >>> with FaceMesh() as mesh:                       # doctest: +SKIP
    ...     points = mesh(image)                       # (468, 3) float32, or None
    """

    def __init__(self, backend: str = "auto", *, model_path: str | Path | None = None,
                 upscale: int | None = None, min_confidence: float = 0.5):
        backend = resolve_backend(backend)
        self.backend = backend
        self.upscale = upscale
        self.min_confidence = min_confidence
        self.model_path = None
        self._first_face = True
        if backend == "legacy":
            self._impl = _legacy_mesh(min_confidence)
        else:
            self.model_path = task_model_path(model_path)
            self._impl = _tasks_mesh(self.model_path, min_confidence)

    def detect(self, image) -> tuple[np.ndarray | None, int]:
        """``(points, status)``: points ``(468, 3)`` float32 or ``None``; status in :data:`STATUS`."""
        try:
            rgb = _as_rgb(image)
        except ValueError:
            return None, BAD_INPUT
        if rgb.max() == rgb.min():
            return None, BLANK
        if self.upscale and min(rgb.shape[:2]) < self.upscale:
            import cv2

            f = self.upscale / min(rgb.shape[:2])
            rgb = cv2.resize(rgb, (round(rgb.shape[1] * f), round(rgb.shape[0] * f)),
                             interpolation=cv2.INTER_CUBIC)
        h, w = rgb.shape[:2]
        if self._first_face:
            # MediaPipe logs a native warning ("Using NORM_RECT without IMAGE_DIMENSIONS")
            # the first time it sees a face; it is harmless for single images.

            with quiet_native():
                faces = self._run(rgb)
            self._first_face = not faces
        else:
            faces = self._run(rgb)
        if not faces:
            return None, NO_FACE
        return landmarks_to_array(faces[0], w, h), OK

    def _run(self, rgb: np.ndarray) -> list:
        if self.backend == "legacy":
            result = self._impl.process(rgb)
            return [f.landmark for f in (result.multi_face_landmarks or [])]
        import mediapipe as mp

        result = self._impl.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        return list(result.face_landmarks or [])

    def __call__(self, image) -> np.ndarray | None:
        return self.detect(image)[0]

    def close(self) -> None:
        with quiet_native():  # the Tasks back-end's LiteRT reports the accelerator it destroys
            self._impl.close()

    def __enter__(self) -> FaceMesh:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        extra = f", upscale={self.upscale}" if self.upscale else ""
        return f"FaceMesh({self.backend!r}{extra})"


def landmarks_to_array(landmarks: Sequence, width: int, height: int) -> np.ndarray:
    """MediaPipe landmark objects (with ``.x .y .z``) → ``(468, 3)`` float32, isotropic units.

    Only the first 468 points are kept (the 10 iris points of refined meshes are dropped);
    ``y`` is rescaled by ``height / width`` so that all three axes share the image width
    as unit.
    """
    pts = np.array([(p.x, p.y, p.z) for p in list(landmarks)[:N_LANDMARKS]], dtype=np.float64)
    if pts.shape != (N_LANDMARKS, 3):
        raise LandmarkError(f"expected at least {N_LANDMARKS} landmarks, got {len(pts)}")
    pts[:, 1] *= height / width
    return pts.astype(np.float32)


def _as_rgb(image) -> np.ndarray:
    """Any reasonable image array → contiguous RGB uint8; ``ValueError`` otherwise."""
    a = np.asarray(image)
    if a.dtype == object or a.size == 0 or not (np.issubdtype(a.dtype, np.number)
                                                 or a.dtype == bool):
        raise ValueError("not an image array")
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[..., :3]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise ValueError(f"expected (H, W) or (H, W, 3), got shape {a.shape}")
    if min(a.shape[:2]) < MIN_SIDE:
        raise ValueError(f"image is {a.shape[1]}×{a.shape[0]}; need at least {MIN_SIDE} px")
    if a.dtype != np.uint8:
        a = a.astype(np.float64)
        if not np.all(np.isfinite(a)):
            raise ValueError("image has NaN or infinite values")
        if a.max() <= 1.0:
            a = a * 255.0
        a = np.clip(np.rint(a), 0, 255).astype(np.uint8)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    return np.ascontiguousarray(a)


def _legacy_mesh(min_confidence: float):
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        import mediapipe as mp
        face_mesh = mp.solutions.face_mesh
    except (ImportError, AttributeError):
        raise LandmarkError(
            "this mediapipe has no legacy Face Mesh (mp.solutions was removed in 0.10.30): "
            "either install the course's pin (pip install 'mediapipe==0.10.21') or use "
            "backend='tasks' with the face_landmarker.task model "
            f"({TASK_MODEL_URL})") from None

    with quiet_native():  # absl/TFLite start-up lines; the first call prints more
        mesh = face_mesh.FaceMesh(static_image_mode=True, refine_landmarks=True,
                                  max_num_faces=1, min_detection_confidence=min_confidence)
        mesh.process(np.zeros((64, 64, 3), np.uint8))
    return mesh


def has_legacy_mesh() -> bool:
    """Whether this MediaPipe still has the legacy ``mp.solutions`` (0.10.21 and older)."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        import mediapipe as mp
    except ImportError:
        return False
    return hasattr(mp, "solutions")


def resolve_backend(backend: str) -> str:
    """``"legacy"`` or ``"tasks"`` for a back-end name: ``"auto"`` is the legacy Face Mesh
    where this MediaPipe has it (the offline environment), else Tasks (Colab)."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown landmark backend {backend!r}; choose one of {BACKENDS}")
    if backend == "auto":
        return "legacy" if has_legacy_mesh() else "tasks"
    return backend


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def task_model_path(model_path: str | Path | None = None, *, fetch: bool = True) -> Path:
    """The ``face_landmarker.task`` bundle for the Tasks back-end: ``model_path`` if given,
    else ``$FER_FACE_LANDMARKER``, else the cached copy (``<cache>/mediapipe/``), fetched once
    from :data:`TASK_MODEL_URL` when ``fetch`` and checked against :data:`TASK_MODEL_SHA256`.

    Raises
    ------
    LandmarkError
        A path that is not a file; no network (offline: say where to put the file); a fetched
        file whose sha256 differs (it is not kept).
    """

    value = model_path or os.environ.get(TASK_MODEL_ENV, "").strip()
    if value:
        path = Path(value).expanduser()
        if not path.is_file():
            raise LandmarkError(f"no FaceLandmarker model file at {path}; download it from "
                                f"{TASK_MODEL_URL}")
        return path
    cached = paths.cache_dir() / "mediapipe" / "face_landmarker.task"
    if cached.is_file() and _sha256(cached) == TASK_MODEL_SHA256:
        return cached
    if not fetch:
        raise LandmarkError(f"no FaceLandmarker model: set ${TASK_MODEL_ENV} to a copy of "
                            f"{TASK_MODEL_URL} (python -m fer_utils esmap: --landmarker PATH)")
    import urllib.request

    cached.parent.mkdir(parents=True, exist_ok=True)
    try:
        with paths.atomic_path(cached) as tmp:
            with urllib.request.urlopen(TASK_MODEL_URL, timeout=60) as r:  # a fixed https URL
                tmp.write_bytes(r.read())
            got = _sha256(tmp)
            if got != TASK_MODEL_SHA256:
                raise LandmarkError(f"the file fetched from {TASK_MODEL_URL} has sha256 {got[:16]}…, "
                                    f"not {TASK_MODEL_SHA256[:16]}…; it was not kept")
    except OSError as exc:
        raise LandmarkError(f"could not fetch MediaPipe's FaceLandmarker model ({exc}); offline, "
                            f"copy {TASK_MODEL_URL} here and set ${TASK_MODEL_ENV} to its "
                            "path (python -m fer_utils esmap: --landmarker PATH)") from None
    return cached


def _tasks_mesh(path: Path, min_confidence: float):
    os.environ.setdefault("GLOG_minloglevel", "2")
    try:
        import mediapipe as mp
        vision = mp.tasks.vision
    except (ImportError, AttributeError) as exc:
        raise LandmarkError(f"MediaPipe Tasks is not available here ({exc}); "
                            "pip install mediapipe") from None

    options = vision.FaceLandmarkerOptions(
        base_options=mp.tasks.BaseOptions(model_asset_path=str(path)),
        running_mode=vision.RunningMode.IMAGE, num_faces=1,
        min_face_detection_confidence=min_confidence,
        min_face_presence_confidence=min_confidence)
    try:
        with quiet_native():
            return vision.FaceLandmarker.create_from_options(options)
    except (RuntimeError, ValueError) as exc:
        raise LandmarkError(f"{path.name} is not a usable FaceLandmarker model ({exc}); "
                            f"download {TASK_MODEL_URL}") from None


def extract_landmarks(image, backend: str = "auto", **kwargs) -> np.ndarray | None:
    """Landmarks of one image with a throw-away :class:`FaceMesh` (for many images, keep one)."""
    with FaceMesh(backend, **kwargs) as mesh:
        return mesh(image)


# --------------------------------------------------------------------------------------
# many images
# --------------------------------------------------------------------------------------

@dataclass
class LandmarkSet:
    """Landmarks of a batch of images, with what happened to each image.

    Attributes
    ----------
    points : ndarray (N, 468, 3) float32
        NaN for images without a face.
    status : ndarray (N,) int8
        Index into :data:`STATUS` (0 = a face was found).
    seconds : float
        Time spent in Face Mesh (for the speed report).
    settings : dict
        Back-end and upscaling used.
    """

    points: np.ndarray
    status: np.ndarray
    seconds: float = 0.0
    settings: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.status)

    @property
    def found(self) -> np.ndarray:
        """Boolean mask of images with a face."""
        return self.status == OK

    @property
    def detection_rate(self) -> float:
        return float(self.found.mean()) if len(self) else float("nan")

    def counts(self) -> dict[str, int]:
        """Images per status, e.g. ``{"face": 32650, "no face found": 3225, ...}``."""
        return {name: int(np.sum(self.status == code)) for code, name in enumerate(STATUS)}

    def summary(self) -> str:
        c = self.counts()
        per = 1000 * self.seconds / max(1, len(self))
        parts = ", ".join(f"{n:,} {k}" for k, n in c.items() if n and k != STATUS[OK])
        return (f"landmarks for {c[STATUS[OK]]:,} of {len(self):,} images "
                f"({100 * self.detection_rate:.1f} %); " + (parts or "no failures")
                + f"; {per:.1f} ms per image")

    def subset(self, index) -> LandmarkSet:
        return LandmarkSet(self.points[index], self.status[index], self.seconds, self.settings)

    def detection_table(self, labels: np.ndarray, groups: np.ndarray | None = None,
                        class_names: Sequence[str] | None = None):
        """Detection rate (%) per class (columns) and group (rows, e.g. the split), with totals.

        Returns a pandas DataFrame; a second DataFrame of counts is in ``.attrs["n"]``.
        """
        import pandas as pd

        names = list(class_names or CLASS_NAMES)
        groups = np.full(len(self), "all") if groups is None else np.asarray(groups)
        order = list(dict.fromkeys(groups.tolist()))
        rate, n = {}, {}
        for g in [*order, "total"]:
            sel = np.ones(len(self), bool) if g == "total" else groups == g
            row_r, row_n = {}, {}
            for k, name in enumerate([*names, "all"]):
                m = sel & ((labels == k) if name != "all" else True)
                row_n[name] = int(m.sum())
                row_r[name] = 100 * float(self.found[m].mean()) if m.any() else float("nan")
            rate[g], n[g] = row_r, row_n
        table = pd.DataFrame(rate).T
        table.attrs["n"] = pd.DataFrame(n).T
        return table

    def save(self, path: str | Path) -> None:
        with paths.atomic_path(path) as tmp:
            np.savez_compressed(tmp, points=self.points, status=self.status,
                                seconds=np.float64(self.seconds),
                                settings=json.dumps(self.settings))

    @classmethod
    def load(cls, path: str | Path) -> LandmarkSet:
        with np.load(path, allow_pickle=False) as z:
            return cls(z["points"], z["status"], float(z["seconds"]),
                       json.loads(str(z["settings"])))

    @classmethod
    def concatenate(cls, parts: Sequence[LandmarkSet]) -> LandmarkSet:
        if not parts:
            return cls(np.zeros((0, N_LANDMARKS, 3), np.float32), np.zeros(0, np.int8))
        return cls(np.concatenate([p.points for p in parts]),
                   np.concatenate([p.status for p in parts]),
                   sum(p.seconds for p in parts), parts[0].settings)


def save_shard(part: LandmarkSet, index: np.ndarray, path: str | Path) -> None:
    """One shard of a distributed job (:mod:`fer_utils.distributed`): the landmarks of some
    images and their indices in the source, written all at once."""

    with paths.atomic_path(path) as tmp:
        np.savez_compressed(tmp, points=part.points, status=part.status,
                            seconds=np.float64(part.seconds),
                            settings=json.dumps(part.settings), index=np.asarray(index, np.int64))


def load_shard(path: str | Path) -> tuple[LandmarkSet, np.ndarray]:
    """A shard written by :func:`save_shard`: ``(landmarks, source indices)``."""
    with np.load(path, allow_pickle=False) as z:
        return (LandmarkSet(z["points"], z["status"], float(z["seconds"]),
                            json.loads(str(z["settings"]))), z["index"])


def extract_batch(images, mesh: FaceMesh | None = None, *, progress: bool = True,
                  desc: str = "Face Mesh", **mesh_kwargs) -> LandmarkSet:
    """Landmarks for a sequence of images (arrays), each failure counted with its reason.

    ``mesh`` is reused when given; otherwise one is made from ``mesh_kwargs``
    (``backend``, ``upscale``, ``model_path``...) and closed at the end.
    """
    from tqdm.auto import tqdm

    own = mesh is None
    mesh = mesh or FaceMesh(**mesh_kwargs)
    n = len(images)
    points = np.full((n, N_LANDMARKS, 3), np.nan, np.float32)
    status = np.zeros(n, np.int8)
    spent = 0.0
    try:
        for i in tqdm(range(n), desc=desc, unit=" img", disable=not progress or n < 50,
                      mininterval=1.0):
            t = time.perf_counter()
            p, status[i] = mesh.detect(images[i])
            spent += time.perf_counter() - t
            if p is not None:
                points[i] = p
    finally:
        if own:
            mesh.close()
    return LandmarkSet(points, status, spent,
                       {"backend": mesh.backend, "upscale": mesh.upscale})


def dataset_landmarks(images: np.ndarray, *, backend: str = "auto", upscale: int | None = None,
                      model_path: str | Path | None = None, cache: bool = True,
                      progress: bool = True, chunk: int = 4096,
                      cached_only: bool = False) -> LandmarkSet | None:
    """Landmarks for a whole image array (e.g. ``load_fer2013().images``), cached on disk.

    Work is done in chunks of ``chunk`` images; each finished chunk is saved in
    ``$FER_CACHE_DIR/landmarks/`` under a key made of its pixels and the settings, so a second
    call (or a run interrupted half-way) reuses everything already computed. FER-2013's
    35,887 images take about 5 min once on two cores. With ``cached_only``, nothing is
    computed: the result is None unless every chunk is already cached.
    """
    from tqdm.auto import tqdm

    images = np.asarray(images)
    backend = resolve_backend(backend)
    settings = {"backend": backend, "upscale": upscale, "v": _CACHE_VERSION}
    folder = paths.cache_dir() / "landmarks"
    folder.mkdir(parents=True, exist_ok=True)
    blocks = []  # (block, cache file, cached LandmarkSet or None)
    for start in range(0, len(images), chunk):
        block = np.ascontiguousarray(images[start:start + chunk])
        key = hashlib.sha1(block.tobytes() + str(block.shape).encode()
                           + json.dumps(settings, sort_keys=True).encode()).hexdigest()[:20]
        file = folder / f"{key}.npz"
        part = None
        if cache and file.exists():
            try:
                part = LandmarkSet.load(file)
            except Exception:  # a damaged cache file is recomputed
                part = None
        blocks.append((block, file, part))
    todo = sum(len(b) for b, _, p in blocks if p is None)
    if cached_only and todo:
        return None
    parts: list[LandmarkSet] = []
    mesh = None
    try:
        # a bar only for the work left: a fully cached dataset prints nothing
        bar = tqdm(total=todo, desc=f"Face Mesh ({backend})", unit=" img",
                   disable=not progress or todo < 50, mininterval=1.0)
        for block, file, part in blocks:
            if part is None:
                mesh = mesh or FaceMesh(backend, model_path=model_path, upscale=upscale)
                part = extract_batch(block, mesh, progress=False)
                if cache:
                    part.save(file)
                bar.update(len(block))
            parts.append(part)
        bar.close()
    finally:
        if mesh is not None:
            mesh.close()
    out = LandmarkSet.concatenate(parts)
    out.settings = {"backend": backend, "upscale": upscale}
    return out


def compare_backends(a: LandmarkSet, b: LandmarkSet, *, chunk: int = 256) -> dict:
    """How far two landmark sets of the same images (e.g. the legacy and the Tasks Face Mesh)
    are apart, over every image where both found a face.

    Returns a dict: ``n`` images, ``found_a``/``found_b``/``found_both`` counts;
    ``xy_median``/``xy_p95``, the distance between corresponding points in normalised image
    coordinates; and the per-face Pearson correlation of the normalised 3-D pairwise distances
    (what an ES-MAP is made of, :func:`fer_utils.esmap.pairwise_distances`):
    ``distance_corr_median``/``_p5``/``_min``. Work runs in chunks of ``chunk`` faces (a
    face's distance matrix is 0.9 MB)."""

    if len(a) != len(b):
        raise ValueError(f"the two landmark sets cover {len(a)} and {len(b)} images: not the same images")
    both = np.flatnonzero(a.found & b.found)
    xy = np.linalg.norm(a.points[both, :, :2] - b.points[both, :, :2], axis=-1)
    corr = np.empty(len(both))
    for s in range(0, len(both), chunk):
        idx = both[s:s + chunk]
        da = esmap.condensed(esmap.pairwise_distances(a.points[idx])).astype(np.float64)
        db = esmap.condensed(esmap.pairwise_distances(b.points[idx])).astype(np.float64)
        da -= da.mean(axis=1, keepdims=True)
        db -= db.mean(axis=1, keepdims=True)
        corr[s:s + len(idx)] = (da * db).sum(1) / np.sqrt((da * da).sum(1) * (db * db).sum(1))
    return {"n": int(len(a)), "found_a": int(a.found.sum()), "found_b": int(b.found.sum()),
            "found_both": int(len(both)), "xy_median": float(np.median(xy)),
            "xy_p95": float(np.percentile(xy, 95)),
            "distance_corr_median": float(np.median(corr)),
            "distance_corr_p5": float(np.percentile(corr, 5)), "distance_corr_min": float(corr.min())}


# --------------------------------------------------------------------------------------
# pictures
# --------------------------------------------------------------------------------------

REGION_COLORS = {"forehead": "#e69f00", "brows": "#56b4e9", "eyes": "#009e73",
                 "nose": "#f0e442", "mouth": "#d55e00", "jaw": "#cc79a7", "other": "#bbbbbb"}


def draw(ax, image: np.ndarray, points: np.ndarray, *, regions: bool = True,
         highlight: str | None = None, size: float = 4.0) -> None:
    """Show ``image`` with its landmarks on ``ax``, coloured by region (or one region lit)."""
    img = np.asarray(image)
    w = img.shape[1]
    ax.imshow(img, cmap="gray" if img.ndim == 2 else None, vmin=0, vmax=255)
    labels = region_labels()
    xy = points[:, :2] * w  # back to pixels (both axes are in width units)
    for name, color in REGION_COLORS.items():
        m = labels == name
        if highlight is not None:
            color = REGION_COLORS[name] if name == highlight else "#999999"
        elif not regions:
            color = "#00ff88"
        ax.scatter(xy[m, 0], xy[m, 1], s=size if name != highlight else 2 * size, c=color,
                   linewidths=0, label=name if regions else None)
    ax.set_xticks([])
    ax.set_yticks([])
