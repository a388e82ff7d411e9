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

The artifact holds the best model in the portable form (``model.json`` + ``model.weights.npz``,
:func:`fer_utils.models.save_portable`), ``config.json``, ``history.json`` and
``metrics.json`` (PublicTest and PrivateTest metrics, parameters, timing, data source).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer_utils import experiment, paths, runtime
from fer_utils.data import FERDataset, load_fer2013, stratified_limit
from fer_utils.experiment import (  # noqa: F401  (the core's names, re-exported for readers of train)
    MAX_MODEL_BYTES,
    OPTIMIZERS,
    SCHEDULES,
    Artifact,
    DataRef,
    ExperimentConfig,
    artifact_key,
    committed_or_run,
    large_model_path,
    make_loss,
    make_optimizer,
    save_inference_model,
)

# inference and label sets live in their own modules; re-exported for the chapters
from fer_utils.inference import (  # noqa: F401
    evaluate_model,
    evaluation_indices,
    load_model_file,
    model_file,
    predict_proba,
)
from fer_utils.labels import LABEL_SETS, evaluation_labels, prepare_labels  # noqa: F401

STRATEGIES = ("none", "mirrored", "multi-worker")


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
        :data:`fer_utils.masks.MASKS`; ``"none"`` by default).
    optimizer : {"adam", "sgd"}
        Adam, or SGD with Nesterov momentum 0.9; ``weight_decay`` (decoupled) for either.
    schedule : {"plateau", "cosine"}
        ``"plateau"``: divide the rate by ``1/lr_factor`` after ``lr_patience`` epochs without
        progress on PublicTest. ``"cosine"``: a cosine decay over all ``epochs`` (after
        ``warmup_epochs`` of linear warm-up), blind to PublicTest.
    label_smoothing : float
        Cross-entropy against targets mixed with the uniform distribution.
    erasing : float
        Probability of random erasing: a random rectangle (2–25 % of the face) of an
        augmented training image is filled with noise.
    strategy : {"none", "mirrored", "multi-worker"}
        ``tf.distribute``: one device; every local GPU (or CPU device); or every machine of
        the cluster described by ``TF_CONFIG``. ``batch_size`` and ``learning_rate`` are per
        replica: the global batch and rate are multiplied by the number of replicas
        (:func:`distribution`). Left out of the artifact key when ``"none"``.
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
    optimizer: str = "adam"
    weight_decay: float = 0.0
    schedule: str = "plateau"
    warmup_epochs: int = 0
    label_smoothing: float = 0.0
    erasing: float = 0.0
    strategy: str = experiment.since(3, "none")

    def __post_init__(self) -> None:
        super().__post_init__()
        experiment.check_optimization(self)
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if not 0 <= self.erasing < 1:
            raise ValueError(f"config field 'erasing' must be in [0, 1), not {self.erasing}")
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
    def named(cls, name: str) -> TrainConfig:
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


def data_id(ds: FERDataset) -> DataRef:
    """The data an experiment runs on, by name and content (part of the artifact key)."""
    return DataRef.of(ds)


def find_artifact(config: TrainConfig, data: DataRef, root: Path | None = None) -> Artifact | None:
    """The complete artifact of ``config`` on ``data``, or None."""
    return experiment.find_artifact(config, data, root or paths.artifacts_dir())


# --------------------------------------------------------------------------------------
# data preparation
# --------------------------------------------------------------------------------------

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
                 augment=None, seed: int = 0, weights: np.ndarray | None = None,
                 erasing: float = 0.0):
    """A ``tf.data`` pipeline of raw images ``(N, 48, 48, 1) float32`` and targets.

    Shuffling is seeded and reshuffled every epoch; augmentation (``augment``, then random
    erasing with probability ``erasing``: :func:`random_erase`) runs on the fly.
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
    if erasing:
        gen = tf.random.Generator.from_seed(seed + 4)
        ds = ds.map(lambda *t: (random_erase(t[0], erasing, gen),) + t[1:])
    return ds.prefetch(tf.data.AUTOTUNE)


def random_erase(x, probability: float, gen):
    """Random erasing (Zhong et al., 2020) of a batch ``(B, H, W, C)`` of 0–255 images: with
    ``probability``, a rectangle of 2–25 % of the image with aspect ratio 0.3–3.3 is filled
    with uniform noise. ``gen`` is a ``tf.random.Generator`` (seeded, so runs repeat)."""
    import tensorflow as tf

    b, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    area = gen.uniform([b], 0.02, 0.25) * hf * wf
    ratio = tf.exp(gen.uniform([b], tf.math.log(0.3), tf.math.log(3.3)))
    eh = tf.minimum(tf.sqrt(area * ratio), hf)
    ew = tf.minimum(tf.sqrt(area / ratio), wf)
    y0 = gen.uniform([b]) * (hf - eh)
    x0 = gen.uniform([b]) * (wf - ew)
    rows = tf.range(hf)[None, :, None]
    cols = tf.range(wf)[None, None, :]
    inside = ((rows >= y0[:, None, None]) & (rows < (y0 + eh)[:, None, None])
              & (cols >= x0[:, None, None]) & (cols < (x0 + ew)[:, None, None]))
    inside &= (gen.uniform([b]) < probability)[:, None, None]
    noise = gen.uniform(tf.shape(x), 0.0, 255.0)
    return tf.where(inside[..., None], noise, x)


# --------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------

def train(config: TrainConfig, ds: FERDataset | None = None, *, root: Path | None = None,
          retrain: bool = False, progress: bool = True, on_epoch=None) -> Artifact:
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
    on_epoch : callable, optional
        ``on_epoch(state, logs)`` after every epoch (:func:`fer_utils.experiment.fit_resumable`).

    The artifact folder appears only when the run has succeeded; until then the run's
    checkpoint (:func:`fer_utils.experiment.checkpoint_dir`) lets it resume.
    """
    runtime.configure_onednn()
    ds = load_fer2013() if ds is None else ds
    did = data_id(ds)
    root = root or paths.artifacts_dir()
    if not retrain:
        found = find_artifact(config, did, root)
        if found is not None:
            return found

    from fer_utils import metrics as M
    from fer_utils import models

    key = artifact_key(config, did)
    out = root / key
    y, targets, keep, class_names = prepare_labels(ds, config.labels)
    tr = np.flatnonzero((ds.usage == "Training") & keep)
    va = np.flatnonzero((ds.usage == "PublicTest") & keep)
    tr = stratified_limit(tr, y, config.train_limit, config.seed)
    va = stratified_limit(va, y, config.eval_limit, config.seed)
    if len(tr) == 0 or len(va) == 0:
        raise ValueError(f"no Training or PublicTest images for labels {config.labels!r} in "
                         f"{ds.source}")

    images, mask_info = ds.images, None
    if config.mask != "none":
        from fer_utils.masks import mask_images

        images, ms = mask_images(ds.images, config.mask)
        mask_info = {"name": config.mask, "covered": round(float(ms.covered.mean()), 4),
                     "fallback": ms.n_fallback}

    experiment.seed_everything(config.seed)
    strategy, replicas = distribution(config.strategy)
    weights = None
    if config.class_weights:
        counts = np.bincount(y[tr], minlength=len(class_names)).astype(float)
        w = len(tr) / (len(class_names) * np.maximum(counts, 1))
        weights = w[y[tr]].astype(np.float32)
    train_ds = make_dataset(images[tr], targets[tr], batch_size=config.batch_size * replicas,
                            shuffle=True, augment=augmenter(config) if config.augment else None,
                            seed=config.seed, weights=weights,
                            erasing=config.erasing if config.augment else 0.0)
    val_ds = make_dataset(images[va], targets[va], batch_size=256, shuffle=False)
    steps = int(np.ceil(len(tr) / (config.batch_size * replicas)))

    def build():
        model = models.build(config.model, n_classes=len(class_names), **config.model_args)
        model.compile(optimizer=make_optimizer(config, steps, replicas),
                      loss=make_loss(config), metrics=["accuracy"])
        return model

    plateau = config.schedule == "plateau"
    rules = experiment.FitRules(config.monitor, config.patience, config.lr_patience,
                                config.lr_factor if plateau else 1.0)
    ckpt = experiment.checkpoint_dir(key)
    best, state = experiment.fit_resumable(
        build, {"x": train_ds, "validation_data": val_ds, "shuffle": False},
        epochs=config.epochs, rules=rules, ckpt=ckpt, desc=key, progress=progress,
        scope=strategy.scope() if strategy is not None else None, on_epoch=on_epoch)

    y_eval, _, eval_names = evaluation_labels(ds, config.labels)
    result = {"config": config.to_dict(), "data": did.name, "data_fingerprint": did.fingerprint,
              "key_schema": experiment.KEY_SCHEMA, "source": ds.source,
              "class_names": list(eval_names), "params": models.count_params(best),
              "epochs_trained": state["epoch"], "best_epoch": state["best_epoch"],
              "train_seconds": round(state["seconds"], 1),
              "train_cpu_seconds": round(state.get("cpu_seconds", 0.0), 1),
              "seconds_per_epoch": round(state["seconds"] / max(1, state["epoch"]), 2),
              "engine": runtime.onednn_status(), "replicas": replicas, "n_train": int(len(tr))}
    if mask_info is not None:
        result["mask"] = mask_info
    for split in ("PublicTest", "PrivateTest"):
        idx = evaluation_indices(ds, split, config.labels, config.eval_limit, config.seed)
        t0 = time.perf_counter()
        pred = predict_proba(best, images[idx]).argmax(axis=1)
        result[split] = M.classification_metrics(y_eval[idx], pred, eval_names)
        result[split]["seconds"] = round(time.perf_counter() - t0, 2)
    spec = {"builder": config.model, "kwargs": {**config.model_args, "n_classes": len(class_names)}}
    experiment.finish_artifact(out, best, result, state["history"], spec=spec)
    experiment.remove_checkpoint(ckpt)
    return Artifact(out, config, result, state["history"])


def distribution(name: str):
    """``(tf.distribute strategy or None, number of replicas)`` for a config's ``strategy``:
    ``"none"`` → one device; ``"mirrored"`` → every local GPU, else every logical CPU device;
    ``"multi-worker"`` → the cluster in ``TF_CONFIG`` (each machine runs the same command)."""
    if name == "none":
        return None, 1
    import tensorflow as tf

    if name == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        devices = [d.name for d in gpus or tf.config.list_logical_devices("CPU")]
        strategy = tf.distribute.MirroredStrategy(devices)
    elif name == "multi-worker":
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    else:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    return strategy, int(strategy.num_replicas_in_sync)


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
