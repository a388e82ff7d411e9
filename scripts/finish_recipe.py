"""After the recipe's trainings: calibration, test-time augmentation and ensembles.

    FER_DATA_DIR=… python scripts/finish_recipe.py

* **Calibration** of each given model (default: the recipe's models and the real-time
  default): a temperature fitted on PublicTest, expected calibration error before and after
  on PrivateTest, stored in the artifact's ``metrics.json`` under ``"calibration"`` (no
  prediction changes; ``predict`` then reports calibrated scores).
* **Test-time augmentation** of the best recipe model and **an ensemble** whose members are
  chosen greedily on PublicTest among the committed FER-2013-label models that keep their
  model (PrivateTest is looked at once, for the chosen ensemble): written by
  :func:`fer_utils.ensemble.build` under ``data/ensembles/``.
* Each recipe model's TensorFlow Lite size and milliseconds per face (one thread).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import fer_utils  # noqa: F401
from fer_utils import bench, calibration, ensemble, experiment, paths, train
from fer_utils.data import load_fer2013
from fer_utils.experiment import DataRef
from fer_utils.inference import load_model_file, model_file, predict_proba
from fer_utils.labels import evaluation_labels
from fer_utils.predict import DEFAULT_CONFIG


def calibrate(folder: Path, ds) -> dict:
    """Compute the artifact's calibration (a stored one is recomputed) and store it."""
    stored = folder / "metrics.json"
    m = json.loads(stored.read_text())
    m["calibration"] = calibration.of_artifact(folder, ds, recompute=True)
    stored.write_text(json.dumps(m, indent=1))
    return m["calibration"]


def greedy_members(candidates: list[Path], ds, first: Path, max_members: int = 4) -> list[Path]:
    """Add, one at a time, the candidate that most raises the ensemble's PublicTest accuracy."""
    y, keep, _ = evaluation_labels(ds, "fer")
    idx = np.flatnonzero((ds.usage == "PublicTest") & keep)
    probs = {c: predict_proba(load_model_file(model_file(c)), ds.images[idx]) for c in candidates}
    chosen = [first]
    best = float((probs[first].argmax(1) == y[idx]).mean())
    while len(chosen) < max_members:
        gains = {c: float((np.mean([probs[m] for m in chosen + [c]], 0).argmax(1) == y[idx]).mean())
                 for c in candidates if c not in chosen}
        if not gains:
            break
        pick = max(gains, key=gains.get)
        if gains[pick] <= best:
            break
        chosen.append(pick)
        best = gains[pick]
        print(f"  + {pick.name}: PublicTest {100 * best:.2f} %", flush=True)
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recipe", nargs="+", default=["recipe/vgg-net-s0"])
    args = parser.parse_args()
    ds = load_fer2013(allow_sample=False, progress=False)
    root = paths.committed_dir()
    recipe = [experiment.find_artifact(train.TrainConfig.named(n), DataRef.of(ds), root)
              for n in args.recipe]
    recipe = [a for a in recipe if a is not None]
    if not recipe:
        raise SystemExit("no finished recipe artifact: train it first (scripts/run_recipe.sh)")
    default = experiment.find_artifact(train.TrainConfig.named(DEFAULT_CONFIG), DataRef.of(ds), root)
    for art in recipe + [default]:
        c = calibrate(art.path, ds)
        print(f"{art.path.name}: T = {c['temperature']}, ECE {c['ece_before']} -> {c['ece_after']}")
    best = max(recipe, key=lambda a: a.metrics["PublicTest"]["accuracy"])
    out = ensemble.build(f"{best.config.name}-tta", [best.path], ds, tta=True, root=root)
    print("TTA:", out.name, json.loads((out / "metrics.json").read_text())["PrivateTest"]["accuracy"])
    members = greedy_members(ensemble.candidates(root, DataRef.of(ds)), ds, best.path)
    out = ensemble.build("recipe-ensemble", members, ds, tta=True, root=root)
    print("ensemble:", out.name, json.loads((out / "metrics.json").read_text())["PrivateTest"]["accuracy"])
    from fer_utils import predict

    timings = {}
    face = ds.images[:1].astype(np.float32)
    for art in recipe:  # the TFLite file goes to the cache, not data/ (it would double the size)
        clf = predict.Classifier(art.path, backend="tflite")
        ms = bench.per_call_ms(lambda c=clf: c.predict(face), n=300)
        size = len(predict.tflite_bytes(clf.model)) / 1e6
        timings[art.path.name] = {"tflite_mb": round(size, 2), "ms_per_face": round(ms, 3)}
    print("written to", bench.save("recipe", {"tflite": timings}))


if __name__ == "__main__":
    main()
