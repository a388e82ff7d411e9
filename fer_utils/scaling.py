"""Back-of-the-envelope projections for a dataset larger than one machine (the "Scaling up" page).

Every projection starts from a rate measured here (``data/benchmarks/scaling.json``, written
by ``scripts/benchmark_scaling.py``) and scales it linearly with the number of workers. That
is an assumption, and an optimistic one: the functions take an ``efficiency`` (the share of
linear speed-up that survives coordination) so a reader can plug in what they measure on their
own cluster. Nothing here runs on a cluster; it is arithmetic, kept in one place and tested.
"""
from __future__ import annotations

from dataclasses import dataclass

from fer_utils import esmap, landmarks

#: AffectNet (Mollahosseini et al., 2019): about 290,000 hand-annotated faces, about 1 M in all
AFFECTNET_ANNOTATED = 290_000
AFFECTNET_ALL = 1_000_000
_FLOAT32 = 4


def map_bytes(reduce: str = "full", pool: int = esmap.POOL) -> int:
    """Bytes of one ES-MAP stored as float32: ``"full"`` 468×468 (876 kB) or ``"pooled"``
    (468/``pool`` squared: 52×52, 10.8 kB, with the default pool of 9)."""
    if reduce not in ("full", "pooled"):
        raise ValueError(f"reduce must be 'full' or 'pooled', not {reduce!r}")
    side = landmarks.N_LANDMARKS if reduce == "full" else landmarks.N_LANDMARKS // pool
    return side * side * _FLOAT32


def storage_gb(n_images: int, reduce: str = "full", pool: int = esmap.POOL) -> float:
    """Storage of ``n_images`` ES-MAPs in gigabytes (10⁹ bytes), uncompressed."""
    return n_images * map_bytes(reduce, pool) / 1e9


def hours(n_items: int, per_second_per_worker: float, workers: int = 1,
          efficiency: float = 1.0) -> float:
    """Wall-clock hours to process ``n_items`` at a measured per-worker rate, on ``workers``
    workers of which ``efficiency`` (0–1] of the linear speed-up survives."""
    if per_second_per_worker <= 0 or workers < 1 or not 0 < efficiency <= 1:
        raise ValueError("need a positive rate, at least one worker and 0 < efficiency <= 1")
    return n_items / (per_second_per_worker * workers * efficiency) / 3600


@dataclass(frozen=True)
class Rates:
    """Rates measured on this machine (from ``scaling.json``)."""

    landmark_ms: float            # ms per face, one worker (one FaceMesh, one core)
    ray_efficiency: float         # 2-worker Ray speed-up / 2, on this machine
    train_images_per_second: float  # one training process (all this machine's cores)
    cores: int                    # cores of the machine that measured them

    @classmethod
    def from_benchmark(cls, result: dict) -> Rates:
        serial = next(r for r in result["landmarks"] if r["workers"] == 1)
        ray = max((r for r in result["landmarks"] if r["workers"] > 1), key=lambda r: r["workers"])
        speedup = ray["images_per_second"] / serial["images_per_second"]
        return cls(landmark_ms=serial["ms_per_image"],
                   ray_efficiency=min(1.0, speedup / ray["workers"]),
                   train_images_per_second=result["training"]["none"]["images_per_second"],
                   cores=int(result["machine"]["cpus"]))


def projection(rates: Rates, n_images: int, machines=(1, 4, 16, 64)) -> list[dict]:
    """Landmark hours and hours per training epoch for ``n_images`` on N machines like this one
    (one landmark worker per core; one training replica per machine), plus map storage.

    Landmark hours use the measured Ray efficiency; training hours assume linear scaling (not
    measured here: this machine has one CPU and no GPU), so they are a floor, not a promise.
    """
    rows = []
    for n in machines:
        rows.append({
            "machines": n,
            "landmark workers": n * rates.cores,
            "landmarks (hours)": hours(n_images, 1000 / rates.landmark_ms, n * rates.cores,
                                       rates.ray_efficiency if n * rates.cores > 1 else 1.0),
            "one training epoch (hours)": hours(n_images, rates.train_images_per_second, n),
        })
    return rows
