"""Transfer learning in two phases (Belhekar et al.'s ResNet-50 approach, done the careful way).

1. **Head only.** The pretrained base is frozen; only the new classification head learns, with
   a normal learning rate, so that the random head does not wreck the pretrained features.
2. **Top blocks.** The base's last ``unfreeze`` layers are unfrozen (batch-norm layers stay
   frozen) and everything trainable learns with a small learning rate, early-stopped on
   PublicTest; PrivateTest is evaluated once at the end.

:func:`fine_tune` needs ImageNet weights to mean anything, which must be downloadable (Colab:
yes; the course's CPU machine: no). Without them, ``weights="auto"`` falls back to random
initialisation and the result says ``"weights": "scratch"``: the two phases then only train
a randomly initialised network in an odd order, which the chapter says plainly.
"""
from __future__ import annotations

import time

from fer_utils import fitting
from fer_utils import metrics as M
from fer_utils import models as models_
from fer_utils.inference import predict_proba
from fer_utils.labels import label_set
from fer_utils.train import TrainConfig  # its default augmentation


def _fit(model, train_ds, val_ds, epochs: int, steps: int, *, patience: int | None,
         progress: bool) -> dict:
    import keras

    callbacks = []
    if patience is not None:
        callbacks.append(keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=patience,
                                                       restore_best_weights=True))
    hist = model.fit(train_ds, validation_data=val_ds, epochs=epochs, steps_per_epoch=steps,
                     verbose=0, shuffle=False, callbacks=callbacks)
    if progress:
        print(f"  {len(hist.history['loss'])} epochs, best PublicTest accuracy "
              f"{max(hist.history['val_accuracy']):.3f}", flush=True)
    return {k: [float(v) for v in vals] for k, vals in hist.history.items()}


def fine_tune(ds, model="resnet50", *, weights: str | None = "auto", head_epochs: int = 3,
              fine_epochs: int = 10, unfreeze: int = 30, head_lr: float = 1e-3,
              fine_lr: float = 1e-5, batch_size: int = 32, patience: int = 3,
              train_limit: int | None = None, eval_limit: int | None = None, seed: int = 0,
              augment: bool = True, progress: bool = True) -> tuple[dict, object]:
    """Fine-tune a pretrained network on FER-2013 in two phases; return its metrics.

    Parameters
    ----------
    ds : FERDataset
    model : str or keras.Model
        ``"resnet50"`` or ``"vgg16"`` (built at 48×48 grey with ``weights``), or a model that
        contains its base as a nested ``keras.Model``.
    weights : None, "imagenet" or "auto"
        See :func:`fer_utils.models.resnet50`; the origin is in the result.
    head_epochs, fine_epochs, unfreeze, head_lr, fine_lr
        Phase 1 length and learning rate; phase 2 length (early-stopped with ``patience``),
        number of base layers unfrozen and learning rate.
    train_limit, eval_limit
        Stratified subsets for quick runs (as :class:`fer_utils.train.TrainConfig`).

    Returns
    -------
    (metrics, model): a JSON-ready dict with ``weights`` (``"imagenet"`` or ``"scratch"``),
    ``history`` per phase, ``trainable`` weight counts per phase, ``PublicTest`` and
    ``PrivateTest`` metrics; and the fine-tuned ``keras.Model``.
    """
    import keras

    keras.utils.set_random_seed(seed)
    if isinstance(model, str):
        model = models_.build(model, input_shape=(48, 48, 1), weights=weights)
    origin = "imagenet" if "imagenet" in model.name else "scratch"
    labels = label_set(ds, "fer")
    tr = labels.indices(ds.usage, "Training", train_limit, seed)
    va = labels.indices(ds.usage, "PublicTest", eval_limit, seed)
    aug = fitting.augmenter(TrainConfig(seed=seed)) if augment else None

    def train_stream(first_epoch):  # the second phase goes on to new epochs' batches
        return fitting.make_dataset(ds.images[tr], labels.targets[tr], batch_size=batch_size,
                                    shuffle=True, seed=seed, augment=aug, epochs=None,
                                    first_epoch=first_epoch)

    steps = fitting.steps_per_epoch(len(tr), batch_size)
    val_ds = fitting.make_dataset(ds.images[va], labels.targets[va], batch_size=256, shuffle=False)

    result = {"model": model.name, "weights": origin, "n_train": int(len(tr)),
              "history": {}, "trainable": {}, "seconds": {}}
    for phase, layers, lr, epochs, stop in (("head", False, head_lr, head_epochs, None),
                                            ("top blocks", unfreeze, fine_lr, fine_epochs,
                                             patience)):
        result["trainable"][phase] = models_.set_base_trainable(model, layers)
        model.compile(optimizer=keras.optimizers.Adam(lr), loss="categorical_crossentropy",
                      metrics=["accuracy"])
        if progress:
            print(f"phase '{phase}': {result['trainable'][phase]} trainable weight tensors",
                  flush=True)
        t0 = time.perf_counter()
        done = sum(len(h["loss"]) for h in result["history"].values())
        result["history"][phase] = _fit(model, train_stream(done), val_ds, epochs, steps,
                                        patience=stop, progress=progress)
        result["seconds"][phase] = round(time.perf_counter() - t0, 1)
    for split in ("PublicTest", "PrivateTest"):
        idx = labels.indices(ds.usage, split, eval_limit, seed, scoring=True)
        pred = predict_proba(model, ds.images[idx]).argmax(axis=1)
        result[split] = M.classification_metrics(labels.eval_y[idx], pred, labels.eval_names)
    return result, model
