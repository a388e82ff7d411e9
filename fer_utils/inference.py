"""Inference with the course's saved models: find a model file, load it, score images.

What ``predict``, ``saliency``, ``evaluate`` and the chapters use to run a trained model;
training itself is :mod:`fer_utils.train`. Every model takes raw 48×48 grey FER-2013 images
(:mod:`fer_utils.models`), so nothing here normalises anything.
"""
from __future__ import annotations

import json
import time
import zipfile
from pathlib import Path

import numpy as np

from fer_utils import bench, paths
from fer_utils.dataset import FERDataset
from fer_utils.experiment import model_location
from fer_utils.labels import label_set
from fer_utils.landmarks import dataset_landmarks
from fer_utils.masks import LANDMARK_REGIONS, mask_images
from fer_utils.metrics import classification_metrics
from fer_utils.models import INPUT_SHAPE, PORTABLE_SPEC, load_portable, reference_inputs
from fer_utils.sample import make_sample


def evaluation_indices(ds: FERDataset, split: str, labels: str = "fer", limit: int | None = None,
                       seed: int = 0) -> np.ndarray:
    """The images of ``split`` a model trained on ``labels`` is scored on: those the label set
    keeps, stratified to ``limit`` with ``seed`` (an artifact's ``eval_limit`` and ``seed``: the
    same subset its ``metrics.json`` used)."""
    return label_set(ds, labels).indices(ds.usage, split, limit, seed, scoring=True)


def predict_proba(model, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities for raw images ``(N, 48, 48)`` or ``(N, 48, 48, 1)``.

    Raises
    ------
    ValueError
        The model does not take FER-2013's ``(48, 48, 1)`` raw images.
    """
    expected = tuple(model.input_shape[1:])
    x = images[..., None] if images.ndim == 3 else images
    if expected != tuple(x.shape[1:]):
        raise ValueError(f"the model expects inputs of shape {expected}, but the data is "
                         f"{tuple(x.shape[1:])} (FER-2013 images are (48, 48, 1) grey): was it "
                         "trained for another dataset?")
    out = [model(x[s:s + batch_size].astype(np.float32), training=False).numpy()
           for s in range(0, len(x), batch_size)]
    return np.concatenate(out) if out else np.zeros((0, model.output_shape[-1]), np.float32)


def score(model, images: np.ndarray, y: np.ndarray, class_names) -> dict:
    """:func:`fer_utils.metrics.classification_metrics` of ``model``'s predictions for raw
    ``images`` against the labels ``y``, with ``seconds``, the time the predictions took."""
    t0 = time.perf_counter()
    pred = predict_proba(model, images).argmax(axis=1)
    seconds = time.perf_counter() - t0
    return {**classification_metrics(y, pred, class_names), "seconds": round(seconds, 2)}


_NOT_KERAS = ("{name}: not a Keras model (a .keras file is a zip archive; this one is damaged or "
              "something else): train or download it again")


def model_file(model: str | Path) -> Path:
    """The model file of a model given as a file or an artifact folder: the folder's portable
    spec ``model.json``, its older ``model.keras``, or for a large model's artifact the copy
    its trainer keeps in the cache (:func:`fer_utils.experiment.model_location`).

    Raises
    ------
    FileNotFoundError
        Neither a model file nor a folder holding one.
    ValueError
        A file that cannot be a model: neither a ``.json`` spec nor a zip archive (what a
        ``.keras`` file is). Checked here, so that a command fails before it loads any data.
    """
    path = Path(model)
    if path.is_dir():
        path = model_location(path) or path / PORTABLE_SPEC
    if not path.is_file():
        raise FileNotFoundError(f"{model}: no model file (expected an artifact folder holding "
                                "model.json and model.weights.npz, a model.json, or a .keras "
                                "file; a large model's artifact keeps metrics only, and its model "
                                "only on the machine that trained it)")
    if path.suffix != ".json" and not zipfile.is_zipfile(path):
        raise ValueError(_NOT_KERAS.format(name=path.name))
    return path


def load_model_file(path: str | Path):
    """Load a saved model for inference: the course's portable form (``model.json``, rebuilt by
    :func:`fer_utils.models.load_portable`, on any Keras 3 the course supports) or a ``.keras``
    file (loads only in a Keras that reads its saver's config). An unreadable file is a
    ``ValueError``."""
    path = Path(path)
    if path.suffix == ".json":
        return load_portable(path)
    import keras

    if not zipfile.is_zipfile(path):
        raise ValueError(_NOT_KERAS.format(name=path.name))
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # any unreadable file is the user's to fix
        raise ValueError(f"{path.name}: not a readable Keras model "
                         f"({type(exc).__name__}: {exc})") from None


def evaluate_model(model, ds: FERDataset, split: str = "PrivateTest", labels: str = "fer",
                   mask: str = "none", *, limit: int | None = None, seed: int = 0) -> dict:
    """Metrics of a saved model (path, artifact folder or ``keras.Model``) on one split.

    ``labels`` is a training label set; FERPlus sets are evaluated with majority labels, as
    in :func:`train`. ``mask`` covers a face region of every test image first
    (:data:`fer_utils.masks.MASKS`; a model trained with a mask is evaluated with the same
    mask by passing it again). ``limit`` and ``seed`` score the stratified subset that a
    config with ``eval_limit=limit`` was scored on (:func:`evaluation_indices`).
    The result is :func:`fer_utils.metrics.classification_metrics`'s dict,
    the same that an artifact's ``metrics.json`` stores.

    Raises
    ------
    FileNotFoundError, ValueError
        Missing or unreadable model file; unknown split or label set; a model whose input or
        number of classes does not fit the data.
    """
    if split not in ds.splits:
        raise ValueError(f"no split {split!r} in {ds.source}; it has {list(ds.splits)}")
    lab = label_set(ds, labels)
    y, names = lab.eval_y, lab.eval_names
    if not hasattr(model, "predict"):
        model = load_model_file(model_file(model))
    if model.output_shape[-1] != len(names):
        raise ValueError(f"the model predicts {model.output_shape[-1]} classes but the label set "
                         f"{labels!r} has {len(names)} ({', '.join(names)})")
    idx = lab.indices(ds.usage, split, limit, seed, scoring=True)
    images = ds.images[idx]
    if mask != "none":
        points = None
        if mask in LANDMARK_REGIONS:  # landmarks of the whole set: the cached ones are reused
            points = dataset_landmarks(ds.images, progress=False).points[idx]
        images = mask_images(images, mask, points=points)[0]
    pred = predict_proba(model, images).argmax(axis=1)
    return classification_metrics(y[idx], pred, names)


#: The sets of test-time views (:func:`tta_views`): ``"six"``, the face, its mirror image and
#: four copies moved 2 pixels up, down, left and right; ``"ten-crop"``, the classic ten crops:
#: the face and the four corners of a crop 4 pixels smaller (moved 2 pixels diagonally, edges
#: repeated, so nothing is resampled), each also mirrored.
TTA_KINDS = ("six", "ten-crop")


def tta_kind(tta) -> str | None:
    """The view set a ``tta`` argument names: ``False``/``None`` → None (no test-time
    augmentation), ``True`` → ``"six"`` (what the stored ensembles mean by it), or a name in
    :data:`TTA_KINDS`."""
    if tta is None or tta is False:
        return None
    if tta is True:
        return "six"
    if tta not in TTA_KINDS:
        raise ValueError(f"unknown test-time augmentation {tta!r}; choose one of "
                         f"{', '.join(TTA_KINDS)}")
    return tta


def tta_views(images: np.ndarray, *, flip: bool = True, shift: int = 2,
              kind: str = "six") -> list[np.ndarray]:
    """The test-time views of raw images ``(N, 48, 48[, 1])`` (:data:`TTA_KINDS`): the images,
    their mirror images (``flip``), and copies moved by ``shift`` pixels (edges repeated) up,
    down, left and right (``"six"``) or diagonally, to the four corners (``"ten-crop"``, each
    mirrored too): the transformations training augmentation applies."""
    x = images[..., None] if images.ndim == 3 else images
    kind, s, (h, w) = tta_kind(kind), shift, x.shape[1:3]
    offsets = {"six": ((0, s), (2 * s, s), (s, 0), (s, 2 * s)),            # up, down, left, right
               "ten-crop": ((0, 0), (0, 2 * s), (2 * s, 0), (2 * s, 2 * s))}[kind]  # corners
    padded = np.pad(x, ((0, 0), (s, s), (s, s), (0, 0)), mode="edge")
    moved = [padded[:, dy:dy + h, dx:dx + w] for dy, dx in offsets] if s else []
    if kind == "ten-crop":                                       # every crop mirrored too
        return [x, *moved] + ([c[:, :, ::-1] for c in [x, *moved]] if flip else [])
    return [x] + ([x[:, :, ::-1]] if flip else []) + moved


def predict_proba_tta(model, images: np.ndarray, *, flip: bool = True, shift: int = 2,
                      kind: str = "six") -> np.ndarray:
    """Class probabilities averaged over :func:`tta_views` (test-time augmentation)."""
    views = tta_views(images, flip=flip, shift=shift, kind=kind)
    return np.mean([predict_proba(model, v) for v in views], axis=0)


def ensemble_proba(models: list, images: np.ndarray, *, tta: bool | str = False) -> np.ndarray:
    """The mean of the members' class probabilities, each over the test-time views ``tta``
    names (:func:`tta_kind`: none, ``True``/``"six"`` or ``"ten-crop"``)."""
    if not models:
        raise ValueError("an ensemble needs at least one model")
    kind = tta_kind(tta)
    if kind is None:
        return np.mean([predict_proba(m, images) for m in models], axis=0)
    return np.mean([predict_proba_tta(m, images, kind=kind) for m in models], axis=0)


# --------------------------------------------------------------------------------------
# reference probabilities: what every environment must reproduce for each committed model
# --------------------------------------------------------------------------------------

#: The benchmark (:func:`fer_utils.bench.file`) holding every committed model's reference
#: probabilities, which ``tests/test_model_format.py`` checks offline and in the Colab replica.
REFERENCE_PROBABILITIES = "model-probabilities"


def reference_faces(n: int = 16) -> np.ndarray:
    """The faces the image models are compared on: the offline sample's first ``n`` PrivateTest
    faces (drawn, not FER-2013's), stored with the probabilities so every environment uses
    the very same pixels."""
    ds = make_sample()
    return ds.images[np.flatnonzero(ds.usage == "PrivateTest")[:n]].astype(np.uint8)


def reference_probabilities(folders, faces: np.ndarray) -> dict:
    """Each portable model's probabilities on its reference inputs (the offline environment's,
    which every other environment must reproduce within 1e-4), keyed by
    :func:`fer_utils.paths.display_path`: ``faces`` for the models that take 48×48 faces,
    :func:`fer_utils.models.reference_inputs` for the ES-MAP models."""
    rows = {}
    for folder in map(Path, folders):
        spec = json.loads((folder / PORTABLE_SPEC).read_text())
        model = load_model_file(folder / PORTABLE_SPEC)
        if tuple(model.input_shape[1:]) == INPUT_SHAPE:
            p = predict_proba(model, faces.astype(np.float32))
        else:
            p = np.asarray(model(reference_inputs(spec), training=False))
        rows[paths.display_path(folder)] = np.round(p.astype(np.float64), 7).tolist()
    return rows


def record_reference(folder: str | Path, root: Path | None = None) -> Path:
    """Add the portable model in ``folder`` to the stored reference probabilities
    (:data:`REFERENCE_PROBABILITIES` under ``root``, default the artifacts folder: ``data/``
    in a checkout), keeping the stored faces and every other model's record as they are; a
    first record draws the faces (:func:`reference_faces`). The campaign calls it when a run
    ends, so a new committed model comes with its record. Returns the file written."""
    folder = Path(folder)
    if not (folder / PORTABLE_SPEC).is_file():
        raise FileNotFoundError(f"{folder.name}: no {PORTABLE_SPEC} (not a portable model)")
    stored = bench.load(REFERENCE_PROBABILITIES, root) or {}
    faces = np.asarray(stored["faces"], np.uint8) if "faces" in stored else reference_faces()
    records = {**stored.get("models", {}), **reference_probabilities([folder], faces)}
    return bench.save(REFERENCE_PROBABILITIES, {"faces": faces.tolist(), "models": records}, root)
