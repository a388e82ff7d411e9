"""How far MediaPipe's Tasks Face Mesh (Colab) is from the legacy one (offline), on all of FER-2013.

Both landmark sets come from the cache (``landmarks.dataset_landmarks``), so each is computed
once in the environment that has its MediaPipe:

    .venv/bin/python -c "from fer_utils import data, landmarks as L; L.dataset_landmarks(
        data.load_fer2013().images, backend='legacy')"
    .venv-colab/bin/python -c "...same with backend='tasks'"   (FER_FACE_LANDMARKER set)

then this script (either environment) compares them at three levels and writes
``data/benchmarks/landmark-backends.json`` (Chapter 5 reads it):

1. landmarks: faces found by each, point distances, per-face correlation of the normalised
   3-D distances (``landmarks.compare_backends``);
2. ES-MAPs: each backend's maps with its own neutral baseline (Training faces), per-face
   correlation of the maps, on the PrivateTest faces both find;
3. models: Chapter 5's committed ES-MAP models of the FER-2013 protocol, trained on legacy
   ES-MAPs, tested again on Tasks ES-MAPs (``mapnet.evaluate`` with the Tasks landmarks).
"""
from __future__ import annotations

import sys
import time

import numpy as np

import fer_utils  # noqa: F401  (the oneDNN choice before TensorFlow loads)
from fer_utils import bench, esmap, landmarks, mapnet, paths
from fer_utils.data import load_fer2013

MODELS = ("esh-ref-fer-s0", "esh-pool-fer-s0", "esh-img-fer-s0")


def esmap_agreement(ds, legacy, tasks, chunk: int = 256) -> dict:
    tr = ds.usage == "Training"
    base = {name: esmap.fit_baseline(m.points[tr & m.found], ds.labels[tr & m.found],
                                     source="training part")
            for name, m in (("legacy", legacy), ("tasks", tasks))}
    idx = np.flatnonzero((ds.usage == "PrivateTest") & legacy.found & tasks.found)
    corr, mad = [], []
    for s in range(0, len(idx), chunk):
        part = idx[s:s + chunk]
        a = esmap.condensed(esmap.esmaps(legacy.points[part], base["legacy"])).astype(np.float64)
        b = esmap.condensed(esmap.esmaps(tasks.points[part], base["tasks"])).astype(np.float64)
        mad.append(np.abs(a - b).mean(axis=1))
        a -= a.mean(axis=1, keepdims=True)
        b -= b.mean(axis=1, keepdims=True)
        corr.append((a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1)))
    corr, mad = np.concatenate(corr), np.concatenate(mad)
    return {"faces": int(len(idx)), "corr_median": float(np.median(corr)),
            "corr_p5": float(np.percentile(corr, 5)), "mean_abs_diff_median": float(np.median(mad)),
            "clip": esmap.CLIP,
            "baseline_neutral_faces": {k: int(v.n_global) for k, v in base.items()}}


def main() -> int:
    ds = load_fer2013(allow_sample=False, progress=False)
    sets = {b: landmarks.dataset_landmarks(ds.images, backend=b, cached_only=True, progress=False)
            for b in ("legacy", "tasks")}
    missing = [b for b, v in sets.items() if v is None]
    if missing:
        print(f"error: no cached {' and '.join(missing)} landmarks of FER-2013: compute them first "
              "(this script's docstring)", file=sys.stderr)
        return 2
    legacy, tasks = sets["legacy"], sets["tasks"]
    t0 = time.perf_counter()
    result = {"data": ds.source, "landmarks": landmarks.compare_backends(legacy, tasks)}
    print(result["landmarks"], f"{time.perf_counter() - t0:.0f} s")
    result["esmaps"] = esmap_agreement(ds, legacy, tasks)
    print(result["esmaps"])
    rows = []
    root = mapnet.artifacts_root()
    for folder in sorted(root.iterdir()):
        name = folder.name.split("-fer2013-")[0]
        if name not in MODELS or not (folder / "model.json").is_file():
            continue
        art = mapnet.MapArtifact.from_folder(folder, mapnet.MapConfig)
        again = mapnet.evaluate(art, ds, marks=tasks)
        rows.append({"model": name, "artifact": paths.display_path(folder),
                     "input": art.config.input,
                     "legacy_accuracy": art.metrics["test"]["accuracy"],
                     "legacy_faces": art.metrics["test"]["n"],
                     "tasks_accuracy": again["test"]["accuracy"], "tasks_faces": again["test"]["n"],
                     "legacy_accuracy_all": art.metrics["test_all"]["accuracy"],
                     "tasks_accuracy_all": again["test_all"]["accuracy"]})
        print(rows[-1])
    result["models"] = rows
    print("written to", bench.save("landmark-backends", result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
