"""Move every committed model from ``model.keras`` to the portable form, and show it changed nothing.

A ``.keras`` file stores the saving Keras's layer configs, and Keras 3.13 (Colab's) cannot read
what Keras 3.15 wrote (``GlorotUniform.__init__() got an unexpected keyword argument
'input_axes'``). The portable form (``fer_utils.models.save_portable``: ``model.json`` names the
course builder and its arguments, ``model.weights.npz`` holds the weights) is rebuilt by the
course's own code on any Keras 3. For each artifact under ``data/`` that holds a ``model.keras``:

1. load it, rebuild it from its config with the course builder, copy the weights, and check
   the two give the same probabilities (max abs difference, written down);
2. write ``model.json`` + ``model.weights.npz``, load *that*, and score it again on the data its
   ``metrics.json`` was scored on: image models on PublicTest and PrivateTest, ES-MAP models on
   their protocol's test part (``mapnet.evaluate``; landmarks from the cache, made once);
3. remove ``model.keras`` (``model.tflite`` files are converted again from the portable model).

Then it writes the reference probabilities that ``tests/test_model_format.py`` checks in every
environment (offline and the Colab replica): ``data/benchmarks/model-probabilities.json``, and
the report ``data/benchmarks/model-format.json``. Run it with the real data (FER_DATA_DIR) from
the offline environment:  .venv/bin/python scripts/migrate_model_format.py
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import fer_utils  # noqa: F401  (the oneDNN choice before TensorFlow loads)
from fer_utils import bench, models, paths, predict
from fer_utils.inference import (
    REFERENCE_PROBABILITIES,
    evaluate_model,
    load_model_file,
    reference_faces,
    reference_probabilities,
)


def spec_from_metrics(metrics: dict, n_classes: int) -> dict:
    """The builder and arguments that made an artifact's model, from its ``metrics.json``: an
    ES-MAP experiment (``mapnet.run``) passes its input shape and scale; an image model
    (``train.train``) its ``model_args``."""
    from fer_utils import mapnet

    config = metrics["config"]
    kwargs = dict(config.get("model_args", {}), n_classes=n_classes)
    if "input_shape" in metrics:
        kwargs.update(input_shape=list(metrics["input_shape"]),
                      scale=mapnet.INPUT_SCALE[config["input"]])
    return {"builder": config["model"], "kwargs": kwargs}


def convert(folder: Path) -> dict:
    """Steps 1 and the writing of step 2 for one artifact folder."""
    import keras

    metrics = json.loads((folder / "metrics.json").read_text())
    old = keras.models.load_model(folder / "model.keras", compile=False)
    spec = spec_from_metrics(metrics, n_classes=int(old.output_shape[-1]))
    models.save_portable(old, folder, spec["builder"], spec["kwargs"])
    new = load_model_file(folder / models.PORTABLE_SPEC)
    x = models.reference_inputs(spec, 64)
    diff = float(np.abs(predict_proba_any(old, x) - predict_proba_any(new, x)).max())
    if diff > 1e-6:
        raise SystemExit(f"{folder.name}: the rebuilt model differs from model.keras by {diff}")
    return {"artifact": paths.display_path(folder), "builder": spec["builder"],
            "params": models.count_params(new), "max_abs_diff_vs_keras_file": diff,
            "keras_bytes": (folder / "model.keras").stat().st_size,
            "portable_bytes": (folder / models.PORTABLE_WEIGHTS).stat().st_size
            + (folder / models.PORTABLE_SPEC).stat().st_size}


def predict_proba_any(model, x: np.ndarray) -> np.ndarray:
    return np.asarray(model(x, training=False))


def rescore(folder: Path, ds) -> dict:
    """Step 2's scoring: the stored figures against the portable model's."""
    metrics = json.loads((folder / "metrics.json").read_text())
    config = metrics["config"]
    out = {}
    if "input_shape" in metrics:  # an ES-MAP experiment (fer_utils.mapnet)
        from fer_utils import mapnet

        art = mapnet.MapArtifact.from_folder(folder, mapnet.MapConfig)
        again = mapnet.evaluate(art, ds)
        for part in ("test", "test_all"):
            if part in metrics and part in again:
                out[part] = [metrics[part]["accuracy"], again[part]["accuracy"]]
        return out
    model = load_model_file(folder / models.PORTABLE_SPEC)
    for split in ("PublicTest", "PrivateTest"):
        again = evaluate_model(model, ds, split, config.get("labels", "fer"),
                               config.get("mask", "none"), limit=config.get("eval_limit"),
                               seed=config.get("seed", 0))
        out[split] = [metrics[split]["accuracy"], again["accuracy"]]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-rescore", action="store_true", help="convert only (and record "
                        "the reference probabilities)")
    args = parser.parse_args()
    root = paths.committed_dir()
    todo = sorted(p.parent for p in root.glob("**/model.keras"))
    print(f"{len(todo)} models to convert")
    report = {"converted": [], "rescored": {}}
    for folder in todo:
        row = convert(folder)
        report["converted"].append(row)
        print(f"  {row['artifact']}: {row['params']:,} parameters, "
              f"diff {row['max_abs_diff_vs_keras_file']:.1e}")
        tfl = folder / "model.tflite"
        (folder / "model.keras").unlink()
        if tfl.is_file():
            predict.export_tflite(folder / models.PORTABLE_SPEC)
    portable = sorted(p.parent for p in root.glob(f"**/{models.PORTABLE_SPEC}"))
    if not args.no_rescore:
        from fer_utils.data import load_fer2013

        ds = load_fer2013(allow_sample=False, progress=False)
        for folder in portable:
            t0 = time.perf_counter()
            scores = rescore(folder, ds)
            report["rescored"][paths.display_path(folder)] = scores
            worst = max(abs(a - b) for a, b in scores.values())
            print(f"  {paths.display_path(folder)}: {scores} ({time.perf_counter() - t0:.0f} s)")
            if worst > 0:
                print(f"error: {folder.name} scores {worst} away from its stored figures", file=sys.stderr)
                return 1
    faces = reference_faces()
    print("written to", bench.save(REFERENCE_PROBABILITIES, {
        "faces": faces.tolist(), "models": reference_probabilities(portable, faces)}))
    earlier = bench.load("model-format") or {}
    for part in ("converted", "rescored"):  # what this run did not redo stays on record
        report[part] = report[part] or earlier.get(part, type(report[part])())
    print("written to", bench.save("model-format", report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
