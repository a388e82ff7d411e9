"""Landmark extraction as a job that scales from one process to a Ray cluster.

One Face Mesh finds landmarks in ~6.6 ms per FER-2013 face here: about three hours per
million faces, before decoding full-size photos. :func:`extract_landmarks` cuts the source into
shards of ``shard_size`` images and gives each shard to a worker holding its own Face Mesh:

* serially, in this process (``workers=1``, no ``address``: the default);
* on a local Ray cluster (``workers=N``: ``ray.init()`` starts one on this machine);
* on a running cluster (``address="ray://host:10001"`` or ``"auto"``), unchanged.

Each shard is written as ``shard-00000.npz`` (:meth:`fer_utils.landmarks.LandmarkSet.save`
plus the shard's image indices) the moment it is done, so a job that stops (a lost worker, a
killed process) continues with the shards that are missing. Every undetected face is counted
by its reason. :func:`load_shards` reads a finished job back as one ``LandmarkSet``, in
source order, which :mod:`fer_utils.esmap` and the chapters take like any other.

Images are read lazily, inside the workers: a source is a FER-2013 csv (decoded once, 48×48
arrays are small) or a folder of image files (each decoded where it is processed), so a
million photos never sit in one process's memory.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from fer_utils import faces, landmarks
from fer_utils.data import load_fer2013

_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")


@dataclass
class JobReport:
    """What a landmark job did: shards written now and found done, images, statuses, time."""

    n_images: int
    n_shards: int
    shards_done_before: int
    counts: dict = field(default_factory=dict)
    seconds: float = 0.0
    workers: int = 1
    where: str = "this process"

    def summary(self) -> str:
        found = self.counts.get(landmarks.STATUS[landmarks.OK], 0)
        missed = ", ".join(f"{n:,} {k}" for k, n in self.counts.items()
                           if n and k != landmarks.STATUS[landmarks.OK])
        return (f"{found:,} of {self.n_images:,} faces with landmarks ({missed or 'no failures'}); "
                f"{self.n_shards} shards ({self.shards_done_before} already done); "
                f"{self.seconds:.1f} s on {self.workers} worker(s) in {self.where}")


def source_items(source) -> tuple[str, list]:
    """What a job reads: ``("array", images)`` for an array or a FER-2013 file, or
    ``("files", paths)`` for a folder of image files (decoded later, by the workers)."""
    if isinstance(source, np.ndarray):
        return "array", source
    path = Path(source)
    if path.is_dir() and not any(path.glob("*.csv*")):
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in _IMAGE_SUFFIXES)
        if not files:
            raise FileNotFoundError(f"{path}: no image files ({', '.join(_IMAGE_SUFFIXES)})")
        return "files", [str(p) for p in files]

    return "array", load_fer2013(path, allow_sample=False, progress=False).images


def _shard_file(out: Path, i: int) -> Path:
    return out / f"shard-{i:05d}.npz"


def _done(file: Path) -> bool:
    try:
        with np.load(file, allow_pickle=False) as z:
            return "points" in z and "index" in z
    except (OSError, ValueError):
        return False


class _Worker:
    """One Face Mesh, reused for every shard it is given (a Ray actor, or this process)."""

    def __init__(self, backend: str, upscale: int | None, model_path: str | None) -> None:
        self.mesh = landmarks.FaceMesh(backend, upscale=upscale, model_path=model_path)

    def run(self, kind: str, items, index: np.ndarray, file: str) -> list[int]:
        images = items if kind == "array" else [faces.read_image(p) for p in items]
        part = landmarks.extract_batch(images, self.mesh, progress=False)
        landmarks.save_shard(part, index, file)
        return np.bincount(part.status, minlength=len(landmarks.STATUS)).tolist()

    def close(self) -> None:
        self.mesh.close()


def extract_landmarks(source, out: str | Path, *, address: str | None = None,
                      workers: int = 1, shard_size: int = 1024, backend: str = "auto",
                      upscale: int | None = None, model_path: str | None = None,
                      progress: bool = True) -> JobReport:
    """Landmarks of every image of ``source`` as shards in ``out`` (see the module docstring).

    ``workers=1`` without ``address`` runs here; otherwise on Ray (``address=None`` starts a
    local cluster of ``workers`` processes). Shards already in ``out`` are kept.
    """
    from tqdm.auto import tqdm

    kind, items = source_items(source)
    backend = landmarks.resolve_backend(backend)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    n = len(items)
    shards = [(i, np.arange(s, min(s + shard_size, n))) for i, s in enumerate(range(0, n, shard_size))]
    todo = [(i, idx) for i, idx in shards if not _done(_shard_file(out, i))]
    (out / "job.json").write_text(json.dumps({"n_images": n, "shard_size": shard_size,
                                              "backend": backend, "upscale": upscale}))
    counts = np.zeros(len(landmarks.STATUS), np.int64)
    t0 = time.perf_counter()
    bar = tqdm(total=len(todo), desc="landmark shards", unit=" shard", disable=not progress)

    def part_of(idx):
        return items[idx] if kind == "array" else [items[j] for j in idx]

    if address is None and workers <= 1:
        worker = _Worker(backend, upscale, model_path)
        try:
            for i, idx in todo:
                counts += worker.run(kind, part_of(idx), idx, str(_shard_file(out, i)))
                bar.update()
        finally:
            worker.close()
        where = "this process"
    else:
        import ray
        from ray.util import ActorPool

        started = not ray.is_initialized()
        if started:
            ray.init(address=address, num_cpus=None if address else workers,
                     include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        try:
            n_actors = workers if address is None else max(1, workers)
            Actor = ray.remote(num_cpus=1)(_Worker)
            pool = ActorPool([Actor.remote(backend, upscale, model_path) for _ in range(n_actors)])
            jobs = pool.map_unordered(
                lambda a, job: a.run.remote(kind, part_of(job[1]), job[1],
                                            str(_shard_file(out, job[0]))), todo)
            for c in jobs:
                counts += c
                bar.update()
            where = f"a Ray cluster ({address or 'local'})"
        finally:
            if started:
                ray.shutdown()
    bar.close()
    report = JobReport(n, len(shards), len(shards) - len(todo),
                       {name: int(c) for name, c in zip(landmarks.STATUS, counts)},
                       time.perf_counter() - t0, max(1, workers), where)
    if len(todo) < len(shards):  # count the shards done before too
        report.counts = load_shards(out).counts()
    return report


def load_shards(out: str | Path) -> landmarks.LandmarkSet:
    """A finished job's landmarks as one :class:`~fer_utils.landmarks.LandmarkSet`, in
    source order; ``FileNotFoundError`` naming the missing shards of an unfinished one."""
    out = Path(out)
    job = out / "job.json"
    if not job.is_file():
        raise FileNotFoundError(f"{out}: not a landmark job folder (no job.json)")
    meta = json.loads(job.read_text())
    n, size = meta["n_images"], meta["shard_size"]
    n_shards = -(-n // size)
    missing = [i for i in range(n_shards) if not _done(_shard_file(out, i))]
    if missing:
        raise FileNotFoundError(f"{out}: {len(missing)} of {n_shards} shards are missing (e.g. "
                                f"{_shard_file(out, missing[0]).name}); run the job again to "
                                "finish it")
    parts, order = [], []
    for i in range(n_shards):
        part, index = landmarks.load_shard(_shard_file(out, i))
        parts.append(part)
        order.append(index)
    whole = landmarks.LandmarkSet.concatenate(parts)
    index = np.concatenate(order)
    return whole.subset(np.argsort(index, kind="stable"))
