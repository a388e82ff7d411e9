"""Config-driven training with artifacts: train once, load ever after.

An experiment is a :class:`TrainConfig` (a small dataclass, saved as JSON). :func:`train`
looks for its **artifact**, a folder under :func:`fer_utils.paths.artifacts_dir` named after
the config and the data it ran on. If the artifact is complete it is loaded. Otherwise the
model is trained under the course protocol:

* fit on **Training** (optionally augmented: rotation, shift, zoom, horizontal flip;
  optionally class-weighted);
* after every epoch, evaluate on **PublicTest**: keep the best model, lower the learning rate
  on a plateau, stop early when PublicTest stops improving;
* a checkpoint after every epoch (model with optimizer state, plus the callback state), so an
  interrupted run resumes where it stopped;
* finally, evaluate the best model **once** on **PrivateTest**.

The artifact holds ``model.keras`` (the best model), ``config.json``, ``history.json`` and
``metrics.json`` (PublicTest and PrivateTest metrics, parameters, timing, data source).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from typing import ClassVar
from pathlib import Path

import numpy as np

from fer_utils import paths, runtime
from fer_utils.data import CLASS_NAMES, FERDataset, load_fer2013

LABEL_SETS = ("fer", "fer-clean", "ferplus-majority", "ferplus-crossentropy")
_CHECKPOINT = "checkpoint"
#: Models larger than this are not kept in an artifact (metrics and history are): VGG-16 and
#: ResNet-50 weigh 60–100 MB, too much to commit. Re-run the config to get the model.
MAX_MODEL_BYTES = 8_000_000


@dataclass(frozen=True)
class ExperimentConfig:
    """What every experiment config of the course shares (:class:`TrainConfig`,
    :class:`fer_utils.mapnet.MapConfig`): the training budget and schedule, the seed, the
    subset sizes, and how a config is read, written, changed and made quick. Every field is
    part of the artifact key. Subclasses add what is trained on what, and may change defaults.

    Attributes
    ----------
    epochs, batch_size, learning_rate : training length, batch and Adam's initial rate.
    patience, lr_patience, lr_factor : early stopping and learning-rate schedule.
    seed : int
        Seeds NumPy, Python and TensorFlow (weights, shuffling, augmentation).
    train_limit, eval_limit : int or None
        Use at most this many images of Training / of each evaluation split (a stratified
        subset). ``None`` uses all.
    """

    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int = 6
    lr_patience: int = 3
    lr_factor: float = 0.5
    seed: int = 0
    train_limit: int | None = None
    eval_limit: int | None = None

    #: quick mode (:meth:`quick`): at most this many training images, evaluation images per
    #: split and epochs
    QUICK_LIMITS: ClassVar[tuple[int, int, int]] = (1500, 300, 2)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict):
        """Build from a dict, rejecting unknown keys by name."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown config key(s) {unknown}; valid keys: {sorted(known)}")
        return cls(**d)

    @classmethod
    def from_json(cls, path: str | Path):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such config file")
        try:
            d = json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path.name}: not valid JSON ({exc})") from None
        return cls.from_dict(d)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def quick(self):
        """The quick-mode version (tests, CI) within :attr:`QUICK_LIMITS`. A different config,
        so it never overwrites a real artifact."""
        n_train, n_eval, epochs = self.QUICK_LIMITS
        return self.replace(train_limit=min(self.train_limit or 10**9, n_train),
                            eval_limit=min(self.eval_limit or 10**9, n_eval),
                            epochs=min(self.epochs, epochs))

    def for_runtime(self):
        """:meth:`quick` when ``FER_QUICK`` is set, else the config itself (for notebooks)."""
        return self.quick() if runtime.quick_mode() else self


@dataclass(frozen=True)
class TrainConfig(ExperimentConfig):
    """One image-classification experiment (:func:`train`). Every field is part of the
    artifact key; the budget fields are :class:`ExperimentConfig`'s.

    Attributes
    ----------
    name : str
        A readable prefix for the artifact folder (e.g. ``"cnn-d4"``).
    model : str
        Builder in :data:`fer_utils.models.BUILDERS`.
    model_args : dict
        Keyword arguments for the builder (e.g. ``{"depth": 4, "width": 32}``).
    labels : {"fer", "fer-clean", "ferplus-majority", "ferplus-crossentropy"}
        Training targets. ``"fer"``: FER-2013's labels. ``"fer-clean"``: FER-2013's labels
        on the images FERPlus's majority vote accepts as one of the seven emotions (unknown,
        not-a-face and contempt removed). FERPlus sets: 8 classes, images without a valid
        majority label dropped; ``crossentropy`` trains on the vote distribution.
    augment : bool
        Random rotation (±``rotation`` degrees), shift (±``shift`` of the size), zoom
        (±``zoom``) and horizontal flip, on the fly.
    class_weights : bool
        Weight the loss by inverse class frequency ("balanced").
    monitor : {"val_accuracy", "val_loss"}
        PublicTest quantity for model choice, early stopping and plateau detection.
    mask : str
        Cover a face region in every image, for training and evaluation alike (one of
        :data:`fer_utils.masks.MASKS`; ``"none"`` by default). Left out of the artifact key
        when ``"none"``, so configs written before masks existed keep their artifacts.
    """

    name: str = "cnn"
    model: str = "cnn"
    model_args: dict = field(default_factory=dict)
    labels: str = "fer"
    augment: bool = True
    rotation: float = 10.0
    shift: float = 0.1
    zoom: float = 0.1
    flip: bool = True
    class_weights: bool = False
    monitor: str = "val_accuracy"
    mask: str = "none"

    def __post_init__(self) -> None:
        from fer_utils.masks import MASKS
        if self.mask not in MASKS:
            raise ValueError(f"unknown mask {self.mask!r}; choose one of {', '.join(MASKS)}")
        if self.labels not in LABEL_SETS:
            raise ValueError(f"unknown label set {self.labels!r}; choose one of {', '.join(LABEL_SETS)}")
        if self.monitor not in ("val_accuracy", "val_loss"):
            raise ValueError(f"monitor must be 'val_accuracy' or 'val_loss', not {self.monitor!r}")
        from fer_utils.models import BUILDERS
        if self.model not in BUILDERS:
            raise ValueError(f"unknown model {self.model!r}; available: {', '.join(sorted(BUILDERS))}")

    @classmethod
    def named(cls, name: str) -> "TrainConfig":
        """A config shipped with the course, e.g. ``"ablation/cnn-d4-s0"``.

        Looked up in the package (``fer_utils/configs``), so it works wherever the package
        is installed (Colab included).
        """
        for folder in config_dirs():
            f = folder / f"{name}.json"
            if f.is_file():
                return cls.from_json(f)
        known = sorted({p.relative_to(d).with_suffix("").as_posix()
                        for d in config_dirs() for p in d.glob("**/*.json")})
        raise FileNotFoundError(f"no config named {name!r}; known: {', '.join(known) or 'none'}")


def config_dirs() -> list[Path]:
    """Folders holding the course's named experiment configs."""
    return [d for d in (Path(__file__).parent / "configs",) if d.is_dir()]


def data_id(ds: FERDataset) -> str:
    """A short identifier of the data an experiment runs on (part of the artifact key)."""
    if ds.is_sample:
        return "sample"
    return "fer2013" if ds.has_row_order else "fer2013-folders"


def artifact_key(config: TrainConfig, data: str) -> str:
    """Folder name of an experiment's artifact: ``<name>-<data>-<10 hex of the config hash>``."""
    d = config.to_dict()
    if d.get("mask") == "none":  # added later: unmasked configs keep their old keys
        del d["mask"]
    blob = json.dumps({"config": d, "data": data}, sort_keys=True)
    return f"{config.name}-{data}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}"


@dataclass
class Artifact:
    """A trained experiment on disk."""

    path: Path
    config: TrainConfig
    metrics: dict
    history: dict

    @property
    def model_path(self) -> Path | None:
        """The model file: in the artifact, or — for a model too large to commit — the local
        copy that training left in the cache (:func:`large_model_path`); None if neither."""
        for path in (self.path / "model.keras", large_model_path(self.path.name)):
            if path.is_file():
                return path
        return None

    @property
    def has_model(self) -> bool:
        return self.model_path is not None

    def load_model(self):
        import fer_utils  # noqa: F401
        import keras
        if not self.has_model:
            raise FileNotFoundError(
                f"{self.path.name} keeps metrics only ({self.metrics.get('model_kept', 'no model')}); "
                "train the config again (python -m fer_utils train ... --retrain) to get the model")
        return keras.models.load_model(self.model_path)

    @property
    def display(self) -> str:
        """The artifact's path relative to the repository (for messages and notebooks)."""
        try:
            return self.path.resolve().relative_to(paths.repo_root().resolve()).as_posix()
        except ValueError:
            return self.path.name


def find_artifact(config: TrainConfig, data: str, root: Path | None = None) -> Artifact | None:
    """The complete artifact of ``config`` on ``data``, or None."""
    path = (root or paths.artifacts_dir()) / artifact_key(config, data)
    if not all((path / f).is_file() for f in ("metrics.json", "history.json")):
        return None
    metrics = json.loads((path / "metrics.json").read_text())
    if not (path / "model.keras").is_file() and not str(metrics.get("model_kept", "")).startswith("no"):
        return None  # an unfinished artifact
    return Artifact(path, config, metrics, json.loads((path / "history.json").read_text()))


# --------------------------------------------------------------------------------------
# data preparation
# --------------------------------------------------------------------------------------

def stratified_limit(idx: np.ndarray, labels: np.ndarray, limit: int | None, seed: int) -> np.ndarray:
    """At most ``limit`` of ``idx``, stratified by ``labels[idx]`` and seeded (sorted indices).

    How every experiment of the course takes a smaller training or evaluation set
    (``train_limit``, ``eval_limit``): the class balance of the full split is kept."""
    if limit is None or limit >= len(idx):
        return idx
    n_classes = len(np.unique(labels[idx]))
    if limit < n_classes or len(idx) - limit < n_classes:
        # too few to keep or to leave out one of each class (e.g. 300 of 301 images):
        # stratifying is impossible, and a seeded random subset differs from it by a few images
        return np.sort(np.random.default_rng(seed).choice(idx, size=limit, replace=False))
    from sklearn.model_selection import train_test_split
    keep, _ = train_test_split(idx, train_size=limit, stratify=labels[idx], random_state=seed)
    return np.sort(keep)


def prepare_labels(ds: FERDataset, labels: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple]:
    """Targets for a label set: (hard labels (N,), soft targets (N, C), keep mask (N,), class names)."""
    if labels not in LABEL_SETS:
        raise ValueError(f"unknown label set {labels!r}; choose one of {', '.join(LABEL_SETS)}")
    n = len(CLASS_NAMES)
    if labels == "fer":
        return ds.labels, np.eye(n, dtype=np.float32)[ds.labels], np.ones(len(ds), bool), CLASS_NAMES
    from fer_utils import ferplus
    votes = ferplus.votes_for(ds)
    if labels == "fer-clean":
        keep = ferplus.make_labels(votes, "majority", n_classes=7).keep
        return ds.labels, np.eye(n, dtype=np.float32)[ds.labels], keep, CLASS_NAMES
    mode = labels.split("-", 1)[1]
    lab = ferplus.make_labels(votes, mode, n_classes=8)
    return lab.labels, lab.targets, lab.keep, lab.class_names


def evaluation_labels(ds: FERDataset, labels: str) -> tuple[np.ndarray, np.ndarray, tuple]:
    """Labels for evaluation: FER labels (on the cleaned images for ``"fer-clean"``), or
    FERPlus **majority** for every FERPlus set."""
    if labels in ("fer", "fer-clean"):
        y, _, keep, names = prepare_labels(ds, labels)
        return y, keep, names
    y, _, keep, names = prepare_labels(ds, "ferplus-majority")
    return y, keep, names


def augmenter(config: TrainConfig):
    """The on-the-fly augmentation of ``config`` (rotation, shift, zoom, horizontal flip) as a
    seeded ``keras.Sequential``, or None when the config asks for none."""
    import keras
    L = keras.layers
    layers = []
    if config.rotation:
        layers.append(L.RandomRotation(config.rotation / 360.0, fill_mode="nearest", seed=config.seed))
    if config.shift:
        layers.append(L.RandomTranslation(config.shift, config.shift, fill_mode="nearest",
                                          seed=config.seed + 1))
    if config.zoom:
        layers.append(L.RandomZoom(config.zoom, fill_mode="nearest", seed=config.seed + 2))
    if config.flip:
        layers.append(L.RandomFlip("horizontal", seed=config.seed + 3))
    return keras.Sequential(layers, name="augment") if layers else None


def make_dataset(images: np.ndarray, targets: np.ndarray, *, batch_size: int, shuffle: bool,
                 augment=None, seed: int = 0, weights: np.ndarray | None = None):
    """A ``tf.data`` pipeline of raw images ``(N, 48, 48, 1) float32`` and targets.

    Shuffling is seeded and reshuffled every epoch; augmentation runs on the fly.
    """
    import tensorflow as tf

    x = images[..., None] if images.ndim == 3 else images
    parts = (x, targets) if weights is None else (x, targets, weights)
    ds = tf.data.Dataset.from_tensor_slices(parts)
    if shuffle:
        ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    def cast(*t):
        return (tf.cast(t[0], tf.float32),) + t[1:]

    ds = ds.map(cast, num_parallel_calls=tf.data.AUTOTUNE)
    if augment is not None:
        ds = ds.map(lambda *t: (augment(t[0], training=True),) + t[1:],
                    num_parallel_calls=tf.data.AUTOTUNE)
    return ds.prefetch(tf.data.AUTOTUNE)


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


def model_file(model: str | Path) -> Path:
    """The ``.keras`` file of a model given as a file or an artifact folder (for a large
    model's artifact, the local copy in :func:`large_model_path` where there is one).

    Raises
    ------
    FileNotFoundError
        Neither a file nor a folder holding ``model.keras``.
    """
    path = Path(model)
    if path.is_dir():
        kept, local = path / "model.keras", large_model_path(path.name)
        # a large model's artifact keeps metrics only: the copy kept by its trainer, if here
        path = local if not kept.is_file() and local.is_file() else kept
    if not path.is_file():
        raise FileNotFoundError(f"{model}: no model file (expected a .keras file or an "
                                "artifact folder holding model.keras; a large model's artifact "
                                "keeps metrics only, and its model only on the machine that "
                                "trained it)")
    return path


def large_model_path(key: str) -> Path:
    """Where a model over :data:`MAX_MODEL_BYTES` is kept on the machine that trained it
    (``<cache>/large-models/<artifact key>.keras``): outside the repository, never committed."""
    return paths.cache_dir() / "large-models" / f"{key}.keras"


def load_model_file(path: str | Path):
    """Load a saved Keras model for inference; an unreadable file is a ``ValueError``."""
    import keras

    path = Path(path)
    try:
        return keras.models.load_model(path, compile=False)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
        raise ValueError(f"{path.name}: not a readable Keras model "
                         f"({type(exc).__name__}: {exc})") from None


def evaluate_model(model, ds: FERDataset, split: str = "PrivateTest", labels: str = "fer",
                   mask: str = "none") -> dict:
    """Metrics of a saved model (path, artifact folder or ``keras.Model``) on one split.

    ``labels`` is a training label set; FERPlus sets are evaluated with majority labels, as
    in :func:`train`. ``mask`` covers a face region of every test image first
    (:data:`fer_utils.masks.MASKS`; a model trained with a mask is evaluated with the same
    mask by passing it again). The result is :func:`fer_utils.metrics.classification_metrics`'s dict,
    the same that an artifact's ``metrics.json`` stores.

    Raises
    ------
    FileNotFoundError, ValueError
        Missing or unreadable model file; unknown split or label set; a model whose input or
        number of classes does not fit the data.
    """
    from fer_utils import metrics as M

    if split not in ds.splits:
        raise ValueError(f"no split {split!r} in {ds.source}; it has {list(ds.splits)}")
    y, keep, names = evaluation_labels(ds, labels)
    if not hasattr(model, "predict"):
        model = load_model_file(model_file(model))
    if model.output_shape[-1] != len(names):
        raise ValueError(f"the model predicts {model.output_shape[-1]} classes but the label set "
                         f"{labels!r} has {len(names)} ({', '.join(names)})")
    idx = np.flatnonzero((ds.usage == split) & keep)
    images = ds.images[idx]
    if mask != "none":
        from fer_utils.masks import mask_images

        points = None
        if mask.startswith("lm-"):  # landmarks of the whole set: the cached ones are reused
            from fer_utils.landmarks import dataset_landmarks

            points = dataset_landmarks(ds.images, progress=False).points[idx]
        images = mask_images(images, mask, points=points)[0]
    pred = predict_proba(model, images).argmax(axis=1)
    return M.classification_metrics(y[idx], pred, names)


# --------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------

def save_inference_model(model, path: str | Path) -> None:
    """Save weights and architecture without the optimizer state (a third of the size).

    The artifact is for inference and evaluation; resuming uses the checkpoint instead.
    """
    slim = model.__class__.from_config(model.get_config())  # never compiled: no optimizer
    slim.set_weights(model.get_weights())
    slim.save(path)


def _seed_everything(seed: int) -> None:
    import random

    import keras
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)


def _protocol_callback(config: TrainConfig, ckpt: Path, state: dict, bar):
    """Early stopping, LR on plateau, best-model keeping and checkpointing, resumable."""
    import keras

    better = (lambda a, b: a > b) if config.monitor == "val_accuracy" else (lambda a, b: a < b)

    class Protocol(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            lr = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            logs["lr"] = lr
            for k, v in logs.items():
                state["history"].setdefault(k, []).append(float(v))
            value = float(logs[config.monitor])
            if state["best"] is None or better(value, state["best"]):
                state.update(best=value, best_epoch=epoch + 1, wait=0, lr_wait=0)
                with paths.atomic_path(ckpt / "best.keras") as tmp:
                    self.model.save(tmp)
            else:
                state["wait"] += 1
                state["lr_wait"] += 1
                if state["lr_wait"] >= config.lr_patience:
                    self.model.optimizer.learning_rate.assign(lr * config.lr_factor)
                    state["lr_wait"] = 0
            state["epoch"] = epoch + 1
            state["seconds"] += time.perf_counter() - state.pop("_t0", time.perf_counter())
            # atomic saves, the state last: a run killed while saving (a background training,
            # a session that ends) resumes from the previous complete checkpoint
            with paths.atomic_path(ckpt / "last.keras") as tmp:
                self.model.save(tmp)
            with paths.atomic_path(ckpt / "state.json") as tmp:
                tmp.write_text(json.dumps(state))
            bar.update(1)
            bar.set_postfix(loss=f"{logs['loss']:.3f}", acc=f"{logs.get('accuracy', 0):.3f}",
                            val_acc=f"{logs.get('val_accuracy', 0):.3f}")
            if state["wait"] >= config.patience:
                self.model.stop_training = True

        def on_epoch_begin(self, epoch, logs=None):
            state["_t0"] = time.perf_counter()

    return Protocol()


def train(config: TrainConfig, ds: FERDataset | None = None, *, root: Path | None = None,
          retrain: bool = False, progress: bool = True) -> Artifact:
    """Train ``config`` (or load its artifact if it exists) and return the artifact.

    Parameters
    ----------
    config : TrainConfig
    ds : FERDataset, optional
        The data; default :func:`fer_utils.data.load_fer2013` (real data or the sample).
    root : Path, optional
        Where artifacts live; default :func:`fer_utils.paths.artifacts_dir` (``data/``).
    retrain : bool
        Ignore an existing artifact and train again.
    progress : bool
        One progress bar over epochs (no per-step output).
    """
    runtime.disable_onednn()
    ds = load_fer2013() if ds is None else ds
    did = data_id(ds)
    root = root or paths.artifacts_dir()
    if not retrain:
        found = find_artifact(config, did, root)
        if found is not None:
            return found

    import keras
    from tqdm.auto import tqdm

    from fer_utils import metrics as M
    from fer_utils import models

    out = root / artifact_key(config, did)
    ckpt = out / _CHECKPOINT
    ckpt.mkdir(parents=True, exist_ok=True)
    (out / "config.json").write_text(json.dumps(config.to_dict(), indent=2))
    _seed_everything(config.seed)

    y, targets, keep, class_names = prepare_labels(ds, config.labels)
    tr = np.flatnonzero((ds.usage == "Training") & keep)
    va = np.flatnonzero((ds.usage == "PublicTest") & keep)
    tr = stratified_limit(tr, y, config.train_limit, config.seed)
    va = stratified_limit(va, y, config.eval_limit, config.seed)
    if len(tr) == 0 or len(va) == 0:
        raise ValueError(f"no Training or PublicTest images for labels {config.labels!r}")

    images, mask_info = ds.images, None
    if config.mask != "none":
        from fer_utils.masks import mask_images

        images, ms = mask_images(ds.images, config.mask)
        mask_info = {"name": config.mask, "covered": round(float(ms.covered.mean()), 4),
                     "fallback": ms.n_fallback}

    weights = None
    if config.class_weights:
        counts = np.bincount(y[tr], minlength=len(class_names)).astype(float)
        w = len(tr) / (len(class_names) * np.maximum(counts, 1))
        weights = w[y[tr]].astype(np.float32)
    train_ds = make_dataset(images[tr], targets[tr], batch_size=config.batch_size,
                            shuffle=True, augment=augmenter(config) if config.augment else None,
                            seed=config.seed, weights=weights)
    val_ds = make_dataset(images[va], targets[va], batch_size=256, shuffle=False)

    state = {"epoch": 0, "best": None, "best_epoch": 0, "wait": 0, "lr_wait": 0,
             "seconds": 0.0, "history": {}}
    if (ckpt / "state.json").is_file() and (ckpt / "last.keras").is_file():
        state = json.loads((ckpt / "state.json").read_text())
        model = keras.models.load_model(ckpt / "last.keras")
    else:
        model = models.build(config.model, n_classes=len(class_names), **config.model_args)
        model.compile(optimizer=keras.optimizers.Adam(config.learning_rate),
                      loss="categorical_crossentropy", metrics=["accuracy"])
    finished = state["epoch"] >= config.epochs or state["wait"] >= config.patience
    with tqdm(total=config.epochs, initial=state["epoch"], desc=out.name, unit="epoch",
              disable=not progress) as bar:
        if not finished:
            model.fit(train_ds, validation_data=val_ds, epochs=config.epochs, shuffle=False,
                      initial_epoch=state["epoch"], verbose=0,
                      callbacks=[_protocol_callback(config, ckpt, state, bar)])

    best = keras.models.load_model(ckpt / "best.keras")
    y_eval, keep_eval, eval_names = evaluation_labels(ds, config.labels)
    result = {"config": config.to_dict(), "data": did, "source": ds.source,
              "class_names": list(eval_names), "params": models.count_params(best),
              "epochs_trained": state["epoch"], "best_epoch": state["best_epoch"],
              "train_seconds": round(state["seconds"], 1),
              "seconds_per_epoch": round(state["seconds"] / max(1, state["epoch"]), 2),
              "n_train": int(len(tr))}
    if mask_info is not None:
        result["mask"] = mask_info
    for split in ("PublicTest", "PrivateTest"):
        idx = np.flatnonzero((ds.usage == split) & keep_eval)
        idx = stratified_limit(idx, y_eval, config.eval_limit, config.seed)
        t0 = time.perf_counter()
        pred = predict_proba(best, images[idx]).argmax(axis=1)
        result[split] = M.classification_metrics(y_eval[idx], pred, eval_names)
        result[split]["seconds"] = round(time.perf_counter() - t0, 2)
    save_inference_model(best, out / "model.keras")
    size = (out / "model.keras").stat().st_size
    if size > MAX_MODEL_BYTES:
        result["model_kept"] = (f"no: {size / 1e6:.0f} MB is too large to commit; the machine "
                                "that trained it keeps a copy in its cache")
        local = large_model_path(out.name)
        local.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(out / "model.keras", local)
    (out / "history.json").write_text(json.dumps(state["history"], indent=1))
    (out / "metrics.json").write_text(json.dumps(result, indent=1))
    shutil.rmtree(ckpt)  # the artifact keeps only the best model (small)
    return Artifact(out, config, result, state["history"])


def load_or_train(config: TrainConfig, ds: FERDataset | None = None, *, quick: dict | None = None,
                  **kwargs) -> Artifact:
    """What a chapter calls: the book's committed artifact of ``config`` on this data if it
    exists, else :func:`train` — the quick version in quick mode.

    In a full run this is :func:`train` itself (which loads what exists). In quick mode
    (``FER_QUICK=1``, the test suite) a committed artifact is used as a reader's checkout uses
    it, so the tests run the chapter's code on the book's own models; only where none exists
    (the offline sample, a config not yet trained) is :meth:`TrainConfig.quick` trained, with
    the extra changes in ``quick`` (e.g. ``{"epochs": 1}``). The training engine itself is
    tested by the unit tests. ``kwargs`` go to :func:`train`.
    """
    ds = load_fer2013() if ds is None else ds
    return committed_or_run(config, ds, find_artifact, paths.artifacts_dir(committed=True),
                            train, quick=quick, **kwargs)


def committed_or_run(config: ExperimentConfig, ds: FERDataset, find, committed_root: Path,
                     run, *, quick: dict | None = None, **kwargs):
    """The rule of :func:`load_or_train` and :func:`fer_utils.mapnet.load_or_run`, for any
    kind of experiment: in quick mode, ``find(config, data_id(ds), committed_root)`` if it
    finds the committed artifact, else ``run`` on the quick config (with the changes in
    ``quick``); in a full run, ``run(config, ds, **kwargs)``, which loads what exists."""
    if runtime.quick_mode():
        found = find(config, data_id(ds), committed_root)
        if found is not None:
            return found
        config = config.quick().replace(**(quick or {}))
    return run(config, ds, **kwargs)
