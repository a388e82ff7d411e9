"""Timing helpers for the benchmark scripts (``scripts/benchmark_*.py``).

Benchmarks are measurements of *this* machine, written to JSON under ``data/benchmarks/``
together with a description of the machine. They are not tests: nothing asserts a speed.
"""
from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path

import numpy as np

from fer_utils import paths


def machine() -> dict:
    """CPU count, platform and library versions, stored with every benchmark."""
    import tensorflow as tf
    return {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
            "tensorflow": tf.__version__, "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "<unset>")}


def seconds_per_epoch(model, images: np.ndarray, labels: np.ndarray, *, batch_size: int = 64,
                      steps: int = 40, augment=None, n_epoch_images: int = 28_709) -> float:
    """Seconds for one training epoch of ``n_epoch_images``, extrapolated from ``steps`` steps.

    The first two steps (graph tracing) are not timed.
    """
    from fer_utils.train import make_dataset

    n_cls = model.output_shape[-1]
    ds = make_dataset(images, np.eye(n_cls, dtype=np.float32)[labels], batch_size=batch_size,
                      shuffle=True, augment=augment).repeat()
    it = iter(ds)
    for _ in range(2):
        x, y = next(it)
        model.train_on_batch(x, y)
    t = time.perf_counter()
    for _ in range(steps):
        x, y = next(it)
        model.train_on_batch(x, y)
    per_step = (time.perf_counter() - t) / steps
    return per_step * int(np.ceil(n_epoch_images / batch_size))


def time_call(fn, *, repeat: int = 3) -> float:
    """Best wall time of ``repeat`` calls of ``fn()`` (seconds)."""
    best = float("inf")
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def per_call_ms(fn, *, n: int = 100, warmup: int = 5) -> float:
    """Median milliseconds of one ``fn()`` call over ``n`` calls, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times) * 1000)


def save(name: str, result: dict) -> Path:
    """Write ``data/benchmarks/<name>.json`` with the machine description added."""
    out = paths.artifacts_dir() / "benchmarks" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), **result}, indent=1))
    return out


def load(name: str) -> dict | None:
    """A saved benchmark, or None: from the artifacts folder, else the committed one in
    ``<repo>/data/benchmarks`` (benchmarks are measurements, the same in quick mode)."""
    for folder in (paths.artifacts_dir(), paths.committed_dir()):
        f = folder / "benchmarks" / f"{name}.json"
        if f.is_file():
            return json.loads(f.read_text())
    return None
