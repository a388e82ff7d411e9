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

from fer_utils import fitting, paths


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
    n_cls = model.output_shape[-1]
    ds = fitting.make_dataset(images, np.eye(n_cls, dtype=np.float32)[labels], batch_size=batch_size,
                              shuffle=True, augment=augment, epochs=None)
    return dataset_seconds_per_epoch(model, ds, batch_size=batch_size, steps=steps,
                                     n_epoch_images=n_epoch_images)


def dataset_seconds_per_epoch(model, ds, *, batch_size: int, steps: int = 40,
                              n_epoch_images: int = 28_709) -> float:
    """:func:`seconds_per_epoch` for a ready ``tf.data`` pipeline ``ds`` of ``(x, y)`` batches
    of ``batch_size`` (repeated as needed); the first two steps are not timed."""
    it = iter(ds.repeat())
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


def file(name: str, root: Path | None = None) -> Path:
    """Where the benchmark ``name`` lives: ``<root>/benchmarks/<name>.json``, ``root`` being
    :func:`fer_utils.paths.artifacts_dir` (``data/`` in a checkout) unless given."""
    return (paths.artifacts_dir() if root is None else Path(root)) / "benchmarks" / f"{name}.json"


def save(name: str, result: dict, root: Path | None = None) -> Path:
    """Write the benchmark ``name`` (:func:`file`) with the machine description added."""
    out = file(name, root)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine(), **result}, indent=1))
    return out


def load(name: str, root: Path | None = None) -> dict | None:
    """A saved benchmark, or None: from ``root`` when given; else from the artifacts folder,
    then the committed one in ``<repo>/data/benchmarks`` (benchmarks are measurements, the
    same in quick mode)."""
    roots = [root] if root is not None else [paths.artifacts_dir(), paths.committed_dir()]
    for folder in roots:
        f = file(name, folder)
        if f.is_file():
            return json.loads(f.read_text())
    return None


#: How benchmark keys read in a table (``readable``); a key not listed keeps its name with
#: spaces for underscores
LABELS = {
    "ms_per_face_48px": "Face Mesh, ms per 48×48 face",
    "faces_per_s_48px": "Face Mesh, 48×48 faces per second",
    "ms_per_face_512px": "Face Mesh, ms per 512×512 face",
    "detection_rate_sample": "share of faces with landmarks (sample)",
    "reference_loop_ms": "reference double loop over a NumPy array, ms per face",
    "reference_loop_over_mediapipe_landmarks_ms":
        "reference double loop over MediaPipe's landmark objects, ms per face",
    "vectorised_ms_one_face": "compiled loop, ms for one face",
    "vectorised_ms_per_face_batched": "compiled loop, ms per face in a batch",
    "speed_up_one_face": "speed-up over the NumPy-array loop, one face (×)",
    "speed_up_batched": "speed-up over the NumPy-array loop, batched (×)",
    "speed_up_vs_mediapipe_loop_one_face": "speed-up over the landmark-object loop, one face (×)",
    "speed_up_vs_mediapipe_loop_batched": "speed-up over the landmark-object loop, batched (×)",
    "ms_per_face": "ms per face", "maps_per_s": "maps per second", "bytes_per_map": "bytes per map",
    "baseline_mb": "memory before (MB)", "peak_mb": "peak memory (MB)", "n": "faces",
    "mode": "how maps are made",
}


def readable(table):
    """A benchmark table (pandas Series or DataFrame) with human labels for its index and
    columns (:data:`LABELS`), for display in the book."""
    def name(key):
        return LABELS.get(key, str(key).replace("_", " ")) if isinstance(key, str) else key

    table = table.rename(index=name)
    return table.rename(columns=name) if hasattr(table, "columns") else table
