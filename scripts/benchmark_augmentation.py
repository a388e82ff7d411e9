"""Benchmark for Chapter 4's augmentation finding: how sharp the training faces stay, and
what each way of augmenting costs per epoch.

    FER_DATA_DIR=... python scripts/benchmark_augmentation.py   # data/benchmarks/augmentation.json

Measures, for the reference mini-Xception's config (``realtime/mx-ref``: 64×64 inside the
model, batch 32):

* the sharpness (:func:`fer_utils.fitting.sharpness`, mean absolute Laplacian) of the first 512
  Training faces as tested, after the chained Keras 3 layers (``augment_style="layers"``) and
  after one nearest-neighbour affine map (``"affine"``);
* seconds per training epoch (extrapolated from timed steps, input pipeline included) with no
  augmentation; with the layers mapped one batch at a time (as today: their draws come from
  their own state); with the layers mapped in parallel (the pipeline before 2026-12-05, whose
  random draws followed thread timing); with the affine map one batch at a time (the pipeline
  of 2026-12-05, timed with today's map); and with today's stateless affine map, in
  parallel. Run it on an otherwise idle machine (pause the campaign: ``kill -STOP <pid>``,
  then ``kill -CONT <pid>``).
"""
from __future__ import annotations

import argparse

import numpy as np

import fer_utils  # noqa: F401  (the oneDNN choice, on, before TensorFlow loads)
from fer_utils import bench, fitting, models
from fer_utils.data import load_fer2013
from fer_utils.train import TrainConfig


def _before_dataset(images, targets, *, batch_size, augment, parallel, seed=0):
    """The pipeline as it was before 2026-12-06: one seeded shuffle that reshuffles on each
    pass, then the augmentation mapped one batch at a time or with parallel calls (as before
    2026-12-05, whose random draws followed thread timing)."""
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((images[..., None], targets))
    ds = ds.shuffle(len(images), seed=seed, reshuffle_each_iteration=True).batch(batch_size)
    ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y), num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.map(lambda x, y: (augment(x, training=True), y),
                num_parallel_calls=tf.data.AUTOTUNE if parallel else None)
    return ds.prefetch(tf.data.AUTOTUNE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    ds = load_fer2013(allow_sample=False, progress=False)
    cfg = TrainConfig.named("realtime/mx-ref")
    train_idx = np.flatnonzero(ds.usage == "Training")
    faces = ds.images[train_idx[:512]][..., None].astype(np.float32)
    sharp = {"as tested": fitting.sharpness(faces)}
    for style in fitting.AUGMENT_STYLES:
        aug = fitting.augmenter(cfg.replace(augment_style=style))
        sharp[style] = round(fitting.sharpness(np.asarray(aug(faces, training=True))), 2)
    sharp["as tested"] = round(sharp["as tested"], 2)
    print("sharpness", sharp, flush=True)

    images = ds.images[train_idx[:4096]].astype(np.float32)
    targets = np.eye(7, dtype=np.float32)[ds.labels[train_idx[:4096]]]
    n, b = len(train_idx), cfg.batch_size
    layers, affine = fitting.augmenter(cfg), fitting.augmenter(cfg.replace(augment_style="affine"))
    today = dict(batch_size=b, shuffle=True, epochs=None)
    pipelines = {
        "no augmentation": lambda: fitting.make_dataset(images, targets, **today),
        "layers, one batch at a time": lambda: fitting.make_dataset(
            images, targets, augment=layers, **today),
        "layers, parallel calls (before)": lambda: _before_dataset(
            images, targets, batch_size=b, augment=layers, parallel=True),
        "affine, one batch at a time (before)": lambda: _before_dataset(
            images, targets, batch_size=b, augment=affine, parallel=False),
        "affine, stateless, parallel calls": lambda: fitting.make_dataset(
            images, targets, augment=affine, **today),
    }
    # rounds, each pipeline once per round; the file keeps every round and each pipeline's
    # best (a shared virtual machine's timings vary by about 10 % from one round to the next)
    rounds = {label: [] for label in pipelines}
    for r in range(args.rounds):
        for label, make in pipelines.items():
            model = models.build(cfg.model, n_classes=7, **cfg.model_args)
            model.compile(optimizer="adam", loss="categorical_crossentropy")
            t = round(bench.dataset_seconds_per_epoch(model, make(), batch_size=b,
                                                      steps=args.steps, n_epoch_images=n), 1)
            rounds[label].append(t)
            print(f"round {r + 1}: {label} {t} s per epoch", flush=True)
    print("written to", bench.save("augmentation", {
        "config": "realtime/mx-ref", "sharpness_first_512_training_faces": sharp,
        "seconds_per_epoch": {k: min(v) for k, v in rounds.items()},
        "seconds_per_epoch_each_round": rounds, "timed_steps": args.steps}))


if __name__ == "__main__":
    main()
