"""How a run trains: the input pipeline, the optimizer, and the resumable fit loop.

An experiment (:mod:`fer_utils.experiment`: its config, key and artifact) is trained here:

* **the input pipeline** (:func:`make_dataset`): a ``tf.data`` stream of epochs of raw
  images, each epoch's order and on-the-fly augmentation (:func:`augmenter`) and random
  erasing (:func:`random_erase`) drawn from the seed and the epoch's number;
* **the optimizer and loss** of a config's optimisation fields (:func:`make_optimizer`,
  :func:`make_loss`), and the ``tf.distribute`` strategy of its ``strategy`` field
  (:func:`distribution`);
* **the resumable fit loop** (:func:`fit_resumable`): early stopping, learning-rate plateau
  or schedule, best-model keeping, and a checkpoint after every epoch in
  :func:`checkpoint_dir` (outside ``data/``), from which an interrupted run continues;
  :func:`fit_images` is that loop for a config of labelled face images.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_utils import models, paths, runtime

STRATEGIES = ("none", "mirrored", "multi-worker")
#: How a config's augmentation (rotation, shift, zoom, flip) is drawn (:func:`augmenter`)
AUGMENT_STYLES = ("layers", "affine")


# --------------------------------------------------------------------------------------
# the input pipeline
# --------------------------------------------------------------------------------------

def augmenter(config):
    """The on-the-fly augmentation of ``config`` (rotation, shift, zoom, horizontal flip), or
    None when the config asks for none. Called as ``augment(batch, training=True)``.

    ``config.augment_style`` says how:

    ``"layers"``  Keras's preprocessing layers one after the other (``RandomRotation``,
                  ``RandomTranslation``, ``RandomZoom``, ``RandomFlip``): each resamples the
                  face with bilinear interpolation, and three resamplings blur it (measured
                  on the first 512 Training faces of FER-2013 with :func:`sharpness`: 28.8
                  without augmentation, 12.5 with it, 29.1 with ``"affine"``), so the
                  network trains on softer faces than it is tested on. Every course model
                  before the campaign's ``realtime/mx-ref-affine``.
    ``"affine"``  one affine map per face (:class:`AffineAugment`), as Keras 2's
                  ``ImageDataGenerator`` drew it for the reference mini-Xception: zoom drawn
                  for each axis on its own, nearest-neighbour sampling, no blur.
    """
    if config.augment_style == "affine":
        if not (config.rotation or config.shift or config.zoom or config.flip):
            return None
        return AffineAugment(rotation=config.rotation, shift=config.shift, zoom=config.zoom,
                             flip=config.flip, seed=config.seed)
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


def sharpness(images: np.ndarray) -> float:
    """Mean absolute Laplacian (3×3, OpenCV's) of grey images ``(N, H, W)`` or
    ``(N, H, W, 1)``: how much fine detail they keep. Blurring lowers it."""
    import cv2

    x = np.asarray(images, np.float32)
    x = x[..., 0] if x.ndim == 4 else x
    return float(np.mean([np.abs(cv2.Laplacian(im, cv2.CV_32F)).mean() for im in x]))


class AffineAugment:
    """Random rotation, shift, zoom and horizontal flip of a batch ``(B, H, W, C)`` as one
    affine map per image, sampled with nearest neighbour (edges repeat the nearest pixel).

    The draws follow Keras 2's ``ImageDataGenerator``, which trained the reference
    mini-Xception: an angle uniform in ±``rotation`` degrees, a shift uniform in ±``shift``
    of each side, a zoom factor uniform in 1 ± ``zoom`` for each axis on its own (so the
    aspect ratio changes too), composed into one map and applied once with order-0
    (nearest-neighbour) interpolation; then a horizontal flip with probability 1/2. One
    resampling and no interpolation keep the face as sharp as the test faces.

    The draws are stateless: a call's maps depend only on its ``key`` (a shape-``(2,)``
    integer tensor; by default one made from ``seed``), never on earlier calls, so
    :func:`make_dataset` can augment batches in parallel and still give every batch of
    every epoch the same draws on every run.
    """

    #: draws depend on the call's key alone (see :func:`make_dataset`)
    stateless = True

    def __init__(self, *, rotation: float = 10.0, shift: float = 0.1, zoom: float = 0.1,
                 flip: bool = True, seed: int = 0) -> None:
        self.rotation, self.shift, self.zoom, self.flip = rotation, shift, zoom, flip
        self.seed = seed

    def _key(self, key):
        import tensorflow as tf

        return tf.constant([self.seed + 5, 0], tf.int64) if key is None else key

    def matrices(self, b, h, w, key=None):
        """The ``(b, 8)`` projective transforms (output pixel → input pixel, the layout of
        ``keras.ops.image.affine_transform``) of ``b`` random draws for ``h`` × ``w`` images,
        drawn from ``key``."""
        import tensorflow as tf

        u = tf.random.stateless_uniform([5, b], self._key(key), -1.0, 1.0)
        theta = u[0] * (self.rotation * np.pi / 180.0)
        zx, zy = 1.0 + u[1] * self.zoom, 1.0 + u[2] * self.zoom
        hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
        tx, ty = u[3] * self.shift * wf, u[4] * self.shift * hf
        cos, sin = tf.cos(theta), tf.sin(theta)
        m00, m01, m10, m11 = cos * zx, -sin * zy, sin * zx, cos * zy   # rotation · zoom
        cx, cy = (wf - 1.0) / 2.0, (hf - 1.0) / 2.0                     # about the centre
        a2 = cx - m00 * cx - m01 * cy + tx
        b2 = cy - m10 * cx - m11 * cy + ty
        zero = tf.zeros([b])
        return tf.stack([m00, m01, a2, m10, m11, b2, zero, zero], axis=1)

    def __call__(self, x, training: bool = True, key=None):
        if not training:
            return x
        import keras
        import tensorflow as tf

        key = self._key(key)
        x = tf.cast(x, tf.float32)
        b, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
        if self.rotation or self.shift or self.zoom:
            x = keras.ops.image.affine_transform(x, self.matrices(b, h, w, key),
                                                 interpolation="nearest", fill_mode="nearest")
        if self.flip:
            flip = tf.random.stateless_uniform([b], tf.random.experimental.stateless_fold_in(
                key, 1)) < 0.5
            x = tf.where(flip[:, None, None, None], tf.reverse(x, axis=[2]), x)
        return x


def steps_per_epoch(n: int, batch_size: int) -> int:
    """Batches in one epoch of ``n`` images (the last one may be short)."""
    return int(np.ceil(n / batch_size))


def make_dataset(images: np.ndarray, targets: np.ndarray, *, batch_size: int, shuffle: bool,
                 augment=None, seed: int = 0, weights: np.ndarray | None = None,
                 erasing: float = 0.0, epochs: int | None = 1, first_epoch: int = 0):
    """A ``tf.data`` pipeline of raw images ``(N, 48, 48, 1) float32`` and targets.

    It yields ``epochs`` passes over the images (``None``: endlessly; fit such a stream with
    ``steps_per_epoch=``:func:`steps_per_epoch`), numbered from ``first_epoch``. Pass ``e``'s
    order (with ``shuffle``) and its random draws (``augment``, then random erasing with
    probability ``erasing``: :func:`random_erase`) depend on ``seed``, ``e`` and the batch's
    place alone. So the same seed gives the same batches, and a run resumed at epoch ``e``
    (``first_epoch=e``) sees the batches that the uninterrupted run saw, not the first
    epoch's again. A stateless ``augment`` (:class:`AffineAugment`) runs on several batches
    at once; Keras's preprocessing layers draw from their own state, so they run one batch
    at a time (parallel calls would take their draws in thread order, and no two runs would
    see the same images) and repeat from their seed only within one uninterrupted pipeline.
    """
    import tensorflow as tf

    x = images[..., None] if images.ndim == 3 else images
    parts = (x, targets) if weights is None else (x, targets, weights)
    if not shuffle and augment is None and not erasing and epochs == 1:
        def cast(*t):
            return (tf.cast(t[0], tf.float32),) + t[1:]

        return (tf.data.Dataset.from_tensor_slices(parts).batch(batch_size)
                .map(cast, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE))
    tensors = tuple(tf.constant(p) for p in parts)
    n = len(x)
    root = tf.constant([seed, 0x5EED], tf.int64)
    fold = tf.random.experimental.stateless_fold_in

    def one_epoch(e):
        order = tf.range(n, dtype=tf.int64)
        if shuffle:
            order = tf.random.experimental.stateless_shuffle(order, fold(root, e))
        batches = tf.data.Dataset.from_tensor_slices(order).batch(batch_size).enumerate()
        return batches.map(lambda i, idx: (fold(fold(root, e), i + 1), idx))

    stream = (tf.data.Dataset.counter(first_epoch) if epochs is None
              else tf.data.Dataset.range(first_epoch, first_epoch + epochs))
    stateless = augment is None or getattr(augment, "stateless", False)

    def load(key, idx):
        batch = [tf.gather(t, idx) for t in tensors]
        xb = tf.cast(batch[0], tf.float32)
        if augment is not None:
            xb = (augment(xb, training=True, key=fold(key, 2)) if stateless
                  else augment(xb, training=True))
        if erasing:
            xb = random_erase(xb, erasing, fold(key, 3))
        return (xb,) + tuple(batch[1:])

    ds = stream.flat_map(one_epoch)
    ds = (ds.map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True) if stateless
          else ds.map(load))
    return ds.prefetch(tf.data.AUTOTUNE)


def random_erase(x, probability: float, key):
    """Random erasing (Zhong et al., 2020) of a batch ``(B, H, W, C)`` of 0–255 images: with
    ``probability``, a rectangle of 2–25 % of the image with aspect ratio 0.3–3.3 is filled
    with uniform noise. The draws are stateless, from ``key`` (a shape-``(2,)`` integer
    tensor), so a key repeats them."""
    import tensorflow as tf

    b, h, w = tf.shape(x)[0], tf.shape(x)[1], tf.shape(x)[2]
    hf, wf = tf.cast(h, tf.float32), tf.cast(w, tf.float32)
    u = tf.random.stateless_uniform([5, b], key)
    area = (0.02 + 0.23 * u[0]) * hf * wf
    log_lo, log_hi = np.log(0.3), np.log(3.3)
    ratio = tf.exp(log_lo + (log_hi - log_lo) * u[1])
    eh = tf.minimum(tf.sqrt(area * ratio), hf)
    ew = tf.minimum(tf.sqrt(area / ratio), wf)
    y0 = u[2] * (hf - eh)
    x0 = u[3] * (wf - ew)
    rows = tf.range(hf)[None, :, None]
    cols = tf.range(wf)[None, None, :]
    inside = ((rows >= y0[:, None, None]) & (rows < (y0 + eh)[:, None, None])
              & (cols >= x0[:, None, None]) & (cols < (x0 + ew)[:, None, None]))
    inside &= (u[4] < probability)[:, None, None]
    noise = tf.random.stateless_uniform(tf.shape(x), tf.random.experimental.stateless_fold_in(
        key, 1), 0.0, 255.0)
    return tf.where(inside[..., None], noise, x)


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


# --------------------------------------------------------------------------------------
# optimisation
# --------------------------------------------------------------------------------------

def make_optimizer(config, steps_per_epoch: int, replicas: int = 1):
    """The optimizer of ``config``: Adam or SGD (Nesterov, momentum 0.9), with a constant rate
    (the plateau schedule changes it between epochs) or a cosine decay with warm-up. Under a
    distribution strategy the rate is scaled by the number of replicas (the linear rule)."""
    import keras

    rate = config.learning_rate * replicas
    if config.schedule == "cosine":
        warm = config.warmup_epochs * steps_per_epoch
        total = max(1, config.epochs * steps_per_epoch - warm)
        rate = keras.optimizers.schedules.CosineDecay(
            rate / 10 if warm else rate, total, alpha=0.0,
            warmup_target=rate if warm else None, warmup_steps=warm)
    decay = config.weight_decay or None
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(rate, momentum=0.9, nesterov=True, weight_decay=decay)
    return keras.optimizers.Adam(rate, weight_decay=decay)


def make_loss(config):
    """Categorical cross-entropy with ``config.label_smoothing``."""
    import keras

    return keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)


# --------------------------------------------------------------------------------------
# the resumable fit loop
# --------------------------------------------------------------------------------------

#: A run whose full checkpoint (its weights twice, last and best, and the optimizer's state, in
#: float32) would take more than this keeps a compact one (:func:`save_compact`): the same
#: arrays in float16, under half the size, so a long run of a larger network (the recipe's
#: 1.77 M-parameter VGG-style net: 21 MB in full, 10.6 MB compact) can be committed and
#: continued on the next machine. Resuming from it rounds the weights and the optimizer's
#: moments to float16 once per resumption (a relative change of at most 5e-4).
COMPACT_ABOVE_BYTES = 10_000_000


def checkpoint_bytes(model) -> int:
    """Bytes of a full float32 checkpoint of a compiled ``model``: its weights twice (last and
    best) and its optimizer's state (built here if it is not yet)."""

    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    n = 2 * sum(int(np.prod(v.shape)) for v in model.weights)
    n += sum(int(np.prod(v.shape)) for v in model.optimizer.variables)
    return 4 * n


def _half(value):
    a = np.asarray(value)
    return a.astype(np.float16) if a.dtype.kind == "f" else a


def save_compact(model, path: Path, *, optimizer: bool) -> None:
    """Write ``model``'s weights (and with ``optimizer`` its optimizer's variables) to ``path``
    (``.npz``), floating-point arrays in float16."""
    import keras

    arrays = {f"w{i:04d}": _half(keras.ops.convert_to_numpy(v)) for i, v in enumerate(model.weights)}
    if optimizer:
        arrays.update({f"o{i:04d}": _half(keras.ops.convert_to_numpy(v))
                       for i, v in enumerate(model.optimizer.variables)})
    with open(path, "wb") as fh:
        np.savez(fh, **arrays)


def load_compact(model, path: Path) -> None:
    """Assign what :func:`save_compact` wrote to ``model`` (built the same way; its optimizer
    too, when the file holds one). A file that does not fit the model is a ``ValueError``."""

    with np.load(path) as z:
        weights = sorted(k for k in z.files if k.startswith("w"))
        slots = sorted(k for k in z.files if k.startswith("o"))
        if slots and not model.optimizer.built:
            model.optimizer.build(model.trainable_variables)
        targets = list(model.weights) + (list(model.optimizer.variables) if slots else [])
        arrays = [z[k] for k in weights + slots]
    if len(targets) != len(arrays) or any(tuple(t.shape) != a.shape for t, a in zip(targets, arrays)):
        raise ValueError(f"{path.name}: the checkpoint does not fit the model built for it")
    for t, a in zip(targets, arrays):
        t.assign(a.astype(t.dtype))


def _rng_variables(model) -> list:
    """The model's random-number states (the seed generators of its dropout layers): Keras
    does not save them with a model, so a checkpoint keeps them itself."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def rng_state(model) -> list:
    """The model's random-number states as lists of integers (JSON-ready)."""
    import keras

    return [keras.ops.convert_to_numpy(v).tolist() for v in _rng_variables(model)]


def set_rng_state(model, states: list) -> None:
    """Put back what :func:`rng_state` returned, so that a resumed run's dropout draws the
    masks that the uninterrupted run drew. A list that does not fit is a ``ValueError``."""
    variables = _rng_variables(model)
    if len(variables) != len(states):
        raise ValueError(f"{len(states)} random-number states for {len(variables)} in the model")
    for v, s in zip(variables, states):
        v.assign(np.asarray(s, dtype=v.dtype))


@dataclass(frozen=True)
class FitRules:
    """How a fit picks, stops and schedules: the quantity watched (``val_accuracy``,
    ``val_loss``, or ``accuracy`` when nothing is held out), early-stopping ``patience``,
    and the plateau schedule (``lr_patience``, ``lr_factor``; ``lr_factor=1`` for none)."""

    monitor: str = "val_accuracy"
    patience: int = 6
    lr_patience: int = 3
    lr_factor: float = 0.5


def seed_everything(seed: int) -> None:
    import random

    import keras

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (seeds code that uses the legacy global generator)
    keras.utils.set_random_seed(seed)


def _cpu_seconds() -> float:
    """CPU seconds this process has used so far (all threads, user and system)."""
    t = os.times()
    return t.user + t.system


def _protocol_callback(rules: FitRules, ckpt: Path, state: dict, bar, on_epoch=None):
    """Early stopping, LR on plateau, best-model keeping and checkpointing, resumable.

    The history also records, per epoch, the cumulative wall seconds (``seconds``) and CPU
    seconds (``cpu_seconds``) of the run, across resumptions: time to accuracy. ``on_epoch``,
    if given, is called as ``on_epoch(state, logs)`` once the epoch's checkpoint is written."""
    import keras

    better = (lambda a, b: a < b) if rules.monitor.endswith("loss") else (lambda a, b: a > b)

    class Protocol(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            state["_t0"] = time.perf_counter()
            state["_c0"] = _cpu_seconds()

        def on_epoch_end(self, epoch, logs=None):
            logs = dict(logs or {})
            opt = self.model.optimizer
            lr = float(keras.ops.convert_to_numpy(opt.learning_rate))
            logs["lr"] = lr
            for k, v in logs.items():
                state["history"].setdefault(k, []).append(float(v))
            value = float(logs[rules.monitor])
            if state["best"] is None or better(value, state["best"]):
                state.update(best=value, best_epoch=epoch + 1, wait=0, lr_wait=0)
                if state.get("compact"):
                    with paths.atomic_path(ckpt / "best.npz") as tmp:
                        save_compact(self.model, tmp, optimizer=False)
                else:
                    with paths.atomic_path(ckpt / "best.keras") as tmp:
                        save_inference_model(self.model, tmp)  # no optimizer state: a third the size
            else:
                state["wait"] += 1
                state["lr_wait"] += 1
                if state["lr_wait"] >= rules.lr_patience and rules.lr_factor != 1:
                    if isinstance(opt._learning_rate, keras.Variable):  # not a schedule
                        opt.learning_rate.assign(lr * rules.lr_factor)
                    state["lr_wait"] = 0
            state["epoch"] = epoch + 1
            state["seconds"] += time.perf_counter() - state.pop("_t0", time.perf_counter())
            state["cpu_seconds"] = (state.get("cpu_seconds", 0.0)
                                    + _cpu_seconds() - state.pop("_c0", _cpu_seconds()))
            state["history"].setdefault("seconds", []).append(round(state["seconds"], 1))
            state["history"].setdefault("cpu_seconds", []).append(round(state["cpu_seconds"], 1))
            # atomic saves, the state last: a run killed while saving (a background training,
            # a session that ends) resumes from the previous complete checkpoint
            if state.get("compact"):
                with paths.atomic_path(ckpt / "last.npz") as tmp:
                    save_compact(self.model, tmp, optimizer=True)
            else:
                with paths.atomic_path(ckpt / "last.keras") as tmp:
                    self.model.save(tmp)
            state["rng"] = rng_state(self.model)
            with paths.atomic_path(ckpt / "state.json") as tmp:
                tmp.write_text(json.dumps(state))
            bar.update(1)
            bar.set_postfix(loss=f"{logs['loss']:.3f}", acc=f"{logs.get('accuracy', 0):.3f}",
                            val_acc=f"{logs.get('val_accuracy', 0):.3f}")
            if state["wait"] >= rules.patience:
                self.model.stop_training = True
            if on_epoch is not None:
                on_epoch(state, logs)

    return Protocol()


def fit_resumable(build_model, fit_data: dict, *, epochs: int, rules: FitRules, ckpt: Path,
                  desc: str, progress: bool = True, final: str = "best", scope=None,
                  on_epoch=None):
    """Fit with the course protocol, resuming from ``ckpt`` when it holds a checkpoint.

    ``build_model()`` returns a compiled model (called only when there is nothing to resume);
    ``fit_data`` holds the arguments of ``model.fit`` (``x``, ``y``, ``validation_data``,
    ``batch_size``, ``shuffle``, ``steps_per_epoch``); ``x`` may be a function of the first
    epoch to run that returns the training stream from that epoch on (:func:`make_dataset`
    with ``epochs=None``), so a resumed run sees the batches the uninterrupted run would; the
    checkpoint keeps the model's random-number states too (:func:`rng_state`). Returns
    ``(model, state)``: the ``final`` model (``"best"`` on the watched quantity, or ``"last"``)
    and the run's state (epochs, best epoch, seconds, history). The checkpoint stays until
    the caller has written the artifact; a run that fails before its first epoch is over
    removes it. ``on_epoch(state, logs)`` is called after
    every epoch's checkpoint (the campaign's log line). ``scope`` (a ``tf.distribute`` strategy's
    scope) is entered to build or load the model, so checkpoints resume under a strategy too.
    A model whose full checkpoint would exceed :data:`COMPACT_ABOVE_BYTES` keeps a compact one
    (``last.npz``, ``best.npz``: :func:`save_compact`), rebuilt with ``build_model()``.

    Raises
    ------
    fer_utils.runtime.OneDNNUnsafeModel
        The model holds the layer pattern that crashes oneDNN, and oneDNN is on.
    """
    import keras
    from tqdm.auto import tqdm

    fresh = not (ckpt / "state.json").is_file()
    ckpt.mkdir(parents=True, exist_ok=True)
    try:
        state = {"epoch": 0, "best": None, "best_epoch": 0, "wait": 0, "lr_wait": 0,
                 "seconds": 0.0, "history": {}}
        with scope if scope is not None else contextlib.nullcontext():
            saved = None if fresh else json.loads((ckpt / "state.json").read_text())
            if saved is not None and saved.get("compact") and (ckpt / "last.npz").is_file():
                state, model = saved, build_model()
                load_compact(model, ckpt / "last.npz")
            elif saved is not None and (ckpt / "last.keras").is_file():
                state, model = saved, keras.models.load_model(ckpt / "last.keras")
            else:
                model = build_model()
                state["compact"] = checkpoint_bytes(model) > COMPACT_ABOVE_BYTES
            if state.get("rng") is not None:   # checkpoints before 2026-12-06 have none
                set_rng_state(model, state["rng"])
        runtime.check_training_safe(model)
        done = state["epoch"] >= epochs or state["wait"] >= rules.patience
        with tqdm(total=epochs, initial=state["epoch"], desc=desc, unit="epoch",
                  disable=not progress) as bar:
            if not done:
                if callable(fit_data.get("x")):
                    fit_data = dict(fit_data, x=fit_data["x"](state["epoch"]))
                model.fit(**fit_data, epochs=epochs, initial_epoch=state["epoch"], verbose=0,
                          callbacks=[_protocol_callback(rules, ckpt, state, bar, on_epoch)])
        if state["epoch"] == 0:
            raise ValueError("training ran no epoch (is there training data?)")
    except BaseException:
        if fresh and not (ckpt / "state.json").is_file():
            shutil.rmtree(ckpt, ignore_errors=True)  # nothing to resume: leave nothing behind
        raise
    if state.get("compact"):
        with scope if scope is not None else contextlib.nullcontext():
            final_model = build_model()
        load_compact(final_model, ckpt / f"{final}.npz")
    else:
        final_model = keras.models.load_model(ckpt / f"{final}.keras", compile=False)
    return final_model, state


def remove_checkpoint(ckpt: Path) -> None:
    """Remove a finished run's checkpoint folder (and the parent when it is left empty)."""
    shutil.rmtree(ckpt, ignore_errors=True)
    try:
        ckpt.parent.rmdir()
    except OSError:
        pass


def checkpoint_dir(key: str) -> Path:
    """Where a run in progress keeps its checkpoint: ``<repo>/checkpoints/<key>`` in a
    checkout (small ones may be committed, so a run continues on another machine), else
    ``<cache>/checkpoints/<key>``. Never under ``data/``: a run that fails leaves nothing
    among the finished artifacts."""
    base = paths.checkpoints_dir()
    return base / key


def save_inference_model(model, path: str | Path) -> None:
    """Save weights and architecture without the optimizer state (a third of the size).

    The artifact is for inference and evaluation; resuming uses the checkpoint instead.
    """
    slim = model.__class__.from_config(model.get_config())  # never compiled: no optimizer
    slim.set_weights(model.get_weights())
    slim.save(path)


def fit_images(config, images: np.ndarray, labels, train_idx: np.ndarray, val_idx: np.ndarray, *,
               ckpt: Path, desc: str, progress: bool = True, on_epoch=None):
    """Fit the network of ``config`` (a :class:`fer_utils.train.TrainConfig`) on the labelled
    face images ``images[train_idx]``, watching ``images[val_idx]``, under the config's
    augmentation, class weights, optimisation fields and strategy, resumably in ``ckpt``.

    ``labels`` is the run's :class:`fer_utils.labels.LabelSet`. Returns ``(best model, state,
    replicas)`` as :func:`fit_resumable`, plus the number of replicas trained on.
    """
    seed_everything(config.seed)
    strategy, replicas = distribution(config.strategy)
    weights = None
    n_classes = len(labels.class_names)
    if config.class_weights:
        counts = np.bincount(labels.y[train_idx], minlength=n_classes).astype(float)
        w = len(train_idx) / (n_classes * np.maximum(counts, 1))
        weights = w[labels.y[train_idx]].astype(np.float32)
    augment = augmenter(config) if config.augment else None

    def train_stream(first_epoch):
        return make_dataset(images[train_idx], labels.targets[train_idx],
                            batch_size=config.batch_size * replicas, shuffle=True,
                            augment=augment, seed=config.seed, weights=weights,
                            erasing=config.erasing if config.augment else 0.0,
                            epochs=None, first_epoch=first_epoch)

    val_ds = make_dataset(images[val_idx], labels.targets[val_idx], batch_size=256, shuffle=False)
    steps = steps_per_epoch(len(train_idx), config.batch_size * replicas)

    def build():
        model = models.build(config.model, n_classes=n_classes, **config.model_args)
        model.compile(optimizer=make_optimizer(config, steps, replicas), loss=make_loss(config),
                      metrics=["accuracy"])
        return model

    rules = FitRules(config.monitor, config.patience, config.lr_patience,
                     config.lr_factor if config.schedule == "plateau" else 1.0)
    best, state = fit_resumable(
        build, {"x": train_stream, "validation_data": val_ds, "shuffle": False,
                "steps_per_epoch": steps},
        epochs=config.epochs, rules=rules, ckpt=ckpt, desc=desc, progress=progress,
        scope=strategy.scope() if strategy is not None else None, on_epoch=on_epoch)
    return best, state, replicas
