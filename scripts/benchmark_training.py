"""The training engine's speed: images/s and seconds per FER-2013 epoch of every course model
under oneDNN off, oneDNN on, and XLA (``jit_compile=True``), plus the full input pipeline.

    python scripts/benchmark_training.py          # writes data/benchmarks/training.json

Each (model, engine) pair runs in its own Python process, because the oneDNN setting is read
once, when TensorFlow is imported. The same model code, batch (64) and random 48×48 images
are used everywhere; the first steps (tracing, compiling) are not timed. Run it on an
otherwise idle machine: it measures this machine, one process at a time.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

#: model label → (builder, keyword arguments): the course's models at their book settings
MODELS = {
    "cnn-d4": ("cnn", {"depth": 4, "width": 32}),
    "cnn-d6": ("cnn", {"depth": 6, "width": 32}),
    "mini-xception-48": ("mini_xception", {"input_size": 48}),
    "mini-xception-64": ("mini_xception", {"input_size": 64}),
    "vgg-net": ("vgg_net", {}),
    "vgg16": ("vgg16", {"input_shape": (48, 48, 1)}),
    "resnet50": ("resnet50", {"input_shape": (48, 48, 1)}),
}
#: engine label → (TF_ENABLE_ONEDNN_OPTS, jit_compile)
ENGINES = {"onednn-off": ("0", False), "onednn-on": ("1", False), "xla": ("1", True)}
EPOCH = 28_709
BATCH = 64


def measure(label: str, engine: str, seconds: float, pipeline: str) -> dict:
    """Run in the child process: train ``label`` under the engine already set; images/s."""
    import numpy as np

    import fer_utils  # noqa: F401
    from fer_utils import fitting, models, runtime, train

    kind, kwargs = MODELS[label]
    model = models.build(kind, **kwargs)
    runtime.check_training_safe(model)
    model.compile("adam", "categorical_crossentropy", jit_compile=ENGINES[engine][1])
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (2048, 48, 48), dtype=np.uint8).astype(np.float32)
    y = np.eye(7, dtype=np.float32)[rng.integers(0, 7, len(x))]
    if pipeline == "model":  # the model alone: batches already in memory
        import tensorflow as tf

        batches = [(tf.constant(x[i:i + BATCH, ..., None]), tf.constant(y[i:i + BATCH]))
                   for i in range(0, len(x), BATCH)]
        it = (batches[i % len(batches)] for i in range(10**9))
    else:  # the course's tf.data pipeline, with or without augmentation
        cfg = train.TrainConfig()
        ds = fitting.make_dataset(x, y, batch_size=BATCH, shuffle=True,
                                augment=fitting.augmenter(cfg) if pipeline == "augment" else None)
        it = iter(ds.repeat())
    for _ in range(3):  # tracing / compiling, not timed
        model.train_on_batch(*next(it))
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or steps < 3:
        model.train_on_batch(*next(it))
        steps += 1
    dt = time.perf_counter() - t0
    ips = steps * BATCH / dt
    return {"model": label, "engine": engine, "pipeline": pipeline, "params": model.count_params(),
            "steps": steps, "images_per_second": round(ips, 1),
            "seconds_per_epoch": round(EPOCH / ips, 1)}


def run_child(label: str, engine: str, seconds: float, pipeline: str) -> dict:
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS=ENGINES[engine][0], TF_CPP_MIN_LOG_LEVEL="2")
    cmd = [sys.executable, __file__, "--child", label, engine, str(seconds), pipeline]
    out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return {"model": label, "engine": engine, "pipeline": pipeline,
                "error": f"exit {out.returncode}: {last[:200]}"}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=15, help="timed seconds per pair")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        label, engine, seconds, pipeline = args.child
        print(json.dumps(measure(label, engine, float(seconds), pipeline)))
        return
    from tqdm import tqdm

    from fer_utils import bench

    jobs = [(m, e, "model") for m in args.models for e in ENGINES]
    # the input pipeline against the model alone, for the real-time and the recipe model
    jobs += [(m, "onednn-on", p) for m in ("mini-xception-48", "vgg-net") if m in args.models
             for p in ("plain", "augment")]
    rows = []
    for job in tqdm(jobs, desc="model × engine", unit="run"):
        label, engine, pipeline = job
        rows.append(run_child(label, engine, args.seconds, pipeline))
        tqdm.write(json.dumps(rows[-1]))
    print("written to", bench.save("training", {
        "batch_size": BATCH, "epoch_images": EPOCH, "seconds_per_run": args.seconds,
        "note": "random 48x48 images; one process per (model, engine); idle machine",
        "runs": rows}))


if __name__ == "__main__":
    main()
