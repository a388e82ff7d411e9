"""What scaling out buys here: landmark throughput with 1 and 2 workers (serial and a local
Ray cluster) and training images/s with and without tf.distribute's mirrored strategy.

    python scripts/benchmark_scaling.py           # writes data/benchmarks/scaling.json

Landmarks: the first 4,096 FER-2013 faces (the offline sample's faces without the data), in
shards of 256: in this process, then on a local Ray cluster of 2 workers (the cluster's
start-up timed apart: it is paid once per session, not per image; the actors' FaceMesh start
is inside the job's time). Training: the recipe's VGG-style network on random 48×48 images, batch 64 per
replica, one process each, with two logical CPU devices for the mirrored run (this machine has
no second GPU). Run it on an otherwise idle machine.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time

TRAIN = """
import json, sys, time
import numpy as np, tensorflow as tf
mirrored = sys.argv[1] == "mirrored"
if mirrored:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
from fer_utils import fitting, models
strategy, replicas = fitting.distribution("mirrored" if mirrored else "none")
with strategy.scope() if strategy else __import__("contextlib").nullcontext():
    model = models.build("vgg_net")
    model.compile("adam", "categorical_crossentropy")
batch = 64 * replicas
rng = np.random.default_rng(0)
x = rng.integers(0, 256, (batch * 8, 48, 48, 1)).astype("float32")
y = np.eye(7, dtype="float32")[rng.integers(0, 7, len(x))]
data = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch).repeat()
model.fit(data, steps_per_epoch=3, epochs=1, verbose=0)            # tracing
t = time.perf_counter()
model.fit(data, steps_per_epoch=20, epochs=1, verbose=0)
ips = 20 * batch / (time.perf_counter() - t)
print(json.dumps({"replicas": replicas, "images_per_second": round(ips, 1)}))
"""


N_IMAGES = 4096


def _row(workers, report, seconds, startup):
    row = {"workers": workers, "where": report.where, "images": report.n_images,
           "found": report.counts.get("face"),
           "cluster_start_seconds": round(startup, 1), "seconds": round(seconds, 1),
           "images_per_second": round(report.n_images / seconds, 1),
           "ms_per_image": round(1000 * seconds / report.n_images, 2)}
    print(row, flush=True)
    return row


def main() -> None:
    import fer_utils  # noqa: F401
    from fer_utils import bench, distributed
    from fer_utils.data import load_fer2013

    ds = load_fer2013(progress=False)
    images = ds.images[:N_IMAGES]
    rows = []
    with tempfile.TemporaryDirectory() as out:            # serial: one FaceMesh, this process
        t = time.perf_counter()
        report = distributed.extract_landmarks(images, out, workers=1, shard_size=256,
                                               progress=False)
        rows.append(_row(1, report, time.perf_counter() - t, startup=0.0))
    import ray

    for workers in (2,):                                  # a local Ray cluster, started first
        t = time.perf_counter()
        ray.init(num_cpus=workers, include_dashboard=False, logging_level="ERROR",
                 log_to_driver=False)
        startup = time.perf_counter() - t
        try:
            with tempfile.TemporaryDirectory() as out:
                t = time.perf_counter()
                report = distributed.extract_landmarks(images, out, workers=workers,
                                                       shard_size=256, progress=False)
                rows.append(_row(workers, report, time.perf_counter() - t, startup))
        finally:
            ray.shutdown()
    training = {}
    for mode in ("none", "mirrored"):
        out = subprocess.run([sys.executable, "-c", TRAIN, mode], capture_output=True, text=True,
                             env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), timeout=1800)
        training[mode] = json.loads(out.stdout.strip().splitlines()[-1])
        print(mode, training[mode], flush=True)
    print("written to", bench.save("scaling", {"data": ds.source, "landmarks": rows,
                                               "training": training}))


if __name__ == "__main__":
    main()
