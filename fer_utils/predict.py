"""Emotions for faces in photos and frames: a fast classifier plus a face detector.

:class:`Classifier` runs a saved course model through one of three back-ends, all giving the
same probabilities (to float rounding):

``"keras"``     an eager Keras call, ``model(x)`` (simple, slowest per call);
``"function"``  the model traced once into a ``tf.function`` graph;
``"tflite"``    a TensorFlow Lite interpreter (XNNPACK on CPU), fastest for one face at a
                time: the real-time default. The ``.tflite`` file is converted once and kept
                beside the model (or in the cache when the model's folder is read-only).

:class:`EmotionRecognizer` = detector + crop + classifier: ``recognizer(rgb_image)`` returns
one :class:`FacePrediction` per face. ``python -m fer_utils predict`` and ``webcam`` use it.

The default model is Chapter 4's Model 0, the reference mini-Xception trained to convergence on
FER-2013 labels, committed under ``data/``; :func:`default_model_path` finds it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer_utils import experiment, paths, runtime
from fer_utils import faces as F
from fer_utils.calibration import apply_temperature
from fer_utils.dataset import CLASS_NAMES
from fer_utils.experiment import DataRef
from fer_utils.inference import load_model_file, model_file
from fer_utils.models import PORTABLE_SPEC, PORTABLE_WEIGHTS

BACKENDS = ("keras", "function", "tflite")
#: Chapter 4's four mini-Xception models, by the name the chapter gives them, as course configs
#: (``fer_utils/configs``). Model 0, the course's real-time model on FER-2013's labels, is the
#: reference network with the reference's augmentation, trained to convergence by the campaign
#: (``realtime/mx-ref-affine``; it replaced ``realtime/mx-ref``, the same run with Keras 3's
#: blurring augmentation layers, by scoring higher on PublicTest). Model 2 is the same network
#: and training on FERPlus's majority labels (``realtime/mx-ref-ferplus``), so Models 0 and 2
#: differ only in their labels; Models 1 and 3 are still the first, 40-epoch runs of the
#: course's more regularised network.
MODELS = {"Model 0": "realtime/mx-ref-affine", "Model 1": "realtime/mx-fer-clean",
          "Model 2": "realtime/mx-ref-ferplus", "Model 3": "realtime/mx-ferplus-soft"}
#: The first runs of the models the campaign replaced in :data:`MODELS`: the same network and
#: training as the models still there, so Chapter 4 keeps them beside the label comparison,
#: and the recipe (Chapter 4b) starts from the first Model 0.
FIRST_RUNS = {"Model 0": "realtime/mx-fer", "Model 2": "realtime/mx-ferplus"}
#: The config of the model ``predict``, ``webcam`` and the widget app use when given none:
#: the one place to change the default model (Chapter 4's Model 0 today).
DEFAULT_CONFIG = MODELS["Model 0"]


def config_model_path(config: str) -> Path | None:
    """The model file of a course config's run on FER-2013 (``"realtime/mx-ref"``): committed,
    else trained here; None when neither has it."""
    name = config.rsplit("/", 1)[-1]
    for root in paths.lookup_dirs():
        art = experiment.find_named(root, name, DataRef.official_fer2013())
        if art is not None and art.model_path is not None:
            return art.model_path
    return None


def default_model_path() -> Path:
    """The committed default model (:data:`DEFAULT_CONFIG`: Chapter 4's Model 0).

    Raises
    ------
    FileNotFoundError
        No trained default model is present (say how to get one).
    """
    if (found := config_model_path(DEFAULT_CONFIG)) is not None:
        return found
    raise FileNotFoundError(
        f"the default model ({DEFAULT_CONFIG}) is not in this installation; pass --model "
        f"PATH, or train it with: python -m fer_utils train {DEFAULT_CONFIG}")


def resolve_model_path(model: str | Path | None) -> Path:
    """A model file (``model.json`` or ``.keras``) from a file, an artifact folder, or ``None``
    (the default model)."""
    if model is None:
        return default_model_path()
    return model_file(model)


def class_names_for(path: Path, n_outputs: int) -> tuple[str, ...]:
    """Class names of a model: from its artifact's metrics.json, else by output size."""
    import json

    m = path.parent / "metrics.json"
    if m.is_file():
        names = json.loads(m.read_text()).get("class_names")
        if names and len(names) == n_outputs:
            return tuple(names)
    if n_outputs == 7:
        return CLASS_NAMES
    if n_outputs == 8:
        return CLASS_NAMES + ("contempt",)
    return tuple(f"class_{i}" for i in range(n_outputs))


class Classifier:
    """A saved course model, ready to classify 48×48 grey faces quickly.

    Parameters
    ----------
    model : path, artifact folder, keras.Model or None
        ``None`` loads :func:`default_model_path`.
    backend : {"tflite", "function", "keras"}

    Examples
    --------
    >>> clf = Classifier(backend="tflite")                 # doctest: +SKIP
    >>> clf.predict(faces48).shape                         # (n, 7) probabilities  # doctest: +SKIP
    """

    def __init__(self, model=None, backend: str = "tflite", *, class_names=None) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        import keras

        if isinstance(model, keras.Model):
            self.path, self.model = None, model
        else:
            self.path = resolve_model_path(model)
            self.model = load_model_file(self.path)
        shape = tuple(self.model.input_shape[1:])
        if shape != (F.FACE_SIZE, F.FACE_SIZE, 1):
            raise ValueError(f"the model takes inputs {shape}, not 48×48×1 grey faces")
        n = int(self.model.output_shape[-1])
        self.class_names = tuple(class_names) if class_names else (
            class_names_for(self.path, n) if self.path else class_names_for(Path("."), n))
        self.backend = backend
        self.temperature = stored_temperature(self.path) if self.path else 1.0
        self._fn = None
        self._interp = None
        if backend == "function":
            import tensorflow as tf
            self._fn = tf.function(lambda x: self.model(x, training=False), reduce_retracing=True)
        elif backend == "tflite":
            self._interp = _tflite_interpreter(self.model, self.path)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Probabilities ``(n, classes)`` for faces ``(n, 48, 48[, 1])`` with values 0–255."""
        x = np.asarray(x, np.float32)
        if x.ndim == 2:
            x = x[None]
        if x.ndim == 3:
            x = x[..., None]
        if x.shape[1:] != (F.FACE_SIZE, F.FACE_SIZE, 1):
            raise ValueError(f"expected faces (n, 48, 48, 1), got {x.shape}")
        if len(x) == 0:
            return np.zeros((0, len(self.class_names)), np.float32)
        if self.backend == "keras":
            probs = np.asarray(self.model(x, training=False))
        elif self.backend == "function":
            probs = self._fn(x).numpy()
        else:
            probs = self._tflite(x)
        if self.temperature != 1.0:

            probs = apply_temperature(probs, self.temperature)
        return probs

    def _tflite(self, x: np.ndarray) -> np.ndarray:
        it = self._interp
        inp, out = it.get_input_details()[0], it.get_output_details()[0]
        if len(x) <= SINGLE_FACE_LOOP:
            # a few faces (a webcam frame): one invocation each at a batch of one, so a frame
            # whose face count changed does not re-allocate the interpreter
            if inp["shape"][0] != 1:
                it.resize_tensor_input(inp["index"], (1, *x.shape[1:]))
                it.allocate_tensors()
                inp, out = it.get_input_details()[0], it.get_output_details()[0]
            rows = []
            for face in x:
                it.set_tensor(inp["index"], face[None])
                it.invoke()
                rows.append(it.get_tensor(out["index"])[0].copy())
            return np.stack(rows)
        if tuple(inp["shape"]) != x.shape:
            it.resize_tensor_input(inp["index"], x.shape)
            it.allocate_tensors()
            inp, out = it.get_input_details()[0], it.get_output_details()[0]
        it.set_tensor(inp["index"], x)
        it.invoke()
        return it.get_tensor(out["index"]).copy()

    def __repr__(self) -> str:
        where = self.path.parent.name if self.path else self.model.name
        calibrated = f", temperature={self.temperature:.2f}" if self.temperature != 1.0 else ""
        return (f"Classifier({where!r}, backend={self.backend!r}, "
                f"classes={len(self.class_names)}{calibrated})")


def stored_temperature(model_path: Path) -> float:
    """The calibration temperature stored with a model (``metrics.json`` beside it, under
    ``"calibration"``, fitted on PublicTest by :mod:`fer_utils.calibration`); 1.0 if none.
    :class:`Classifier` applies it, so the probabilities it reports are calibrated."""
    import json

    stored = Path(model_path).parent / "metrics.json"
    try:
        return float(json.loads(stored.read_text())["calibration"]["temperature"])
    except (OSError, ValueError, KeyError, TypeError):
        return 1.0


#: TensorFlow Lite threads per interpreter (see :func:`_tflite_interpreter`)
TFLITE_THREADS = 1
#: up to this many faces are classified one invocation at a time (no re-allocation)
SINGLE_FACE_LOOP = 8


def tflite_bytes(model) -> bytes:
    """Convert a Keras model to a TensorFlow Lite flatbuffer (float32, weights frozen)."""
    import tensorflow as tf

    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def export_tflite(model_path: str | Path) -> Path:
    """Write ``model.tflite`` beside a model file (``model.json`` or ``model.keras``; commit it
    with the artifact)."""
    model_path = Path(model_path)
    out = model_path.with_name("model.tflite")
    out.write_bytes(tflite_bytes(load_model_file(model_path)))
    return out


def _tflite_interpreter(model, path: Path | None):
    import tensorflow as tf

    content = None
    if path is not None:
        beside = path.with_suffix(".tflite")
        if beside.is_file() and beside.stat().st_mtime >= path.stat().st_mtime:
            content = beside.read_bytes()
        else:
            h = hashlib.sha256(path.read_bytes())
            weights = path.with_name(PORTABLE_WEIGHTS)
            if path.name == PORTABLE_SPEC and weights.is_file():  # the spec alone names no weights
                h.update(weights.read_bytes())
            digest = h.hexdigest()[:16]
            cached = paths.cache_dir() / "tflite" / f"{digest}.tflite"
            if cached.is_file():
                content = cached.read_bytes()
            else:
                with runtime.quiet_native():
                    content = tflite_bytes(model)
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_bytes(content)
    else:
        with runtime.quiet_native():
            content = tflite_bytes(model)
    with runtime.quiet_native():  # deprecation notice, XNNPACK INFO line on first invoke
        # one thread: a face is ~0.2 ms of work, and on a busy machine two threads waited
        # for each other (9–295 ms per face, against 0.5–1.2 ms with one)
        it = tf.lite.Interpreter(model_content=content, num_threads=TFLITE_THREADS)
        it.allocate_tensors()
        x = np.zeros((1, F.FACE_SIZE, F.FACE_SIZE, 1), np.float32)
        it.resize_tensor_input(it.get_input_details()[0]["index"], x.shape)
        it.allocate_tensors()
        it.set_tensor(it.get_input_details()[0]["index"], x)
        it.invoke()
    it.allocate_tensors()
    return it


@dataclass
class FacePrediction:
    """One face: its box ``(x, y, w, h)``, the 48×48 crop, and class probabilities."""

    box: tuple[int, int, int, int]
    probabilities: dict[str, float]
    crop: np.ndarray = field(repr=False, default=None)
    label: str | None = None  # set when a rule other than the top probability decides

    @property
    def emotion(self) -> str:
        return self.label or max(self.probabilities, key=self.probabilities.get)

    def as_dict(self) -> dict:
        return {"box": [int(v) for v in self.box], "emotion": self.emotion,
                "probabilities": {k: round(float(v), 4) for k, v in self.probabilities.items()}}


class EmotionRecognizer:
    """Detector + crop + classifier. ``recognizer(image)`` → list of :class:`FacePrediction`.

    Parameters
    ----------
    model : path, folder, keras.Model or None (default model)
    detector : {"haar", "mediapipe"} or a :class:`fer_utils.faces.FaceDetector`
    backend : classifier back-end (default TensorFlow Lite)
    tile : bool
        MediaPipe also searches tiles of the image, so group photos work (about 10–40 ms a
        photo); ``False`` looks at the whole image only (about 2 ms: the webcam loop).
    """

    def __init__(self, model=None, detector: str | F.FaceDetector = "mediapipe",
                 backend: str = "tflite", *, tile: bool = True) -> None:
        self.classifier = model if isinstance(model, Classifier) else Classifier(model, backend)
        self.detector = (F.FaceDetector(detector, tile=tile) if isinstance(detector, str)
                         else detector)

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.classifier.class_names

    def __call__(self, image: np.ndarray, timings: dict | None = None) -> list[FacePrediction]:
        """Faces and probabilities; adds seconds spent to ``timings["detect"/"classify"]`` if given."""
        import time

        t0 = time.perf_counter()
        found = self.detector(image)
        t1 = time.perf_counter()
        crops = F.crop_faces(image, found, self.detector.kind)
        probs = self.classifier.predict(crops)
        if timings is not None:
            timings["detect"] = timings.get("detect", 0.0) + t1 - t0
            timings["classify"] = timings.get("classify", 0.0) + time.perf_counter() - t1
        return [FacePrediction(f.box, dict(zip(self.class_names, map(float, p))), c[..., 0])
                for f, p, c in zip(found, probs, crops)]

    def predict_file(self, path: str | Path) -> list[FacePrediction]:
        """Read a file safely (:func:`fer_utils.faces.read_image`) and recognise its faces."""
        return self(F.read_image(path))

    def close(self) -> None:
        self.detector.close()
