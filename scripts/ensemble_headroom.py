"""Would a network of another family pay in the closing ensemble?

    FER_DATA_DIR=… python scripts/ensemble_headroom.py    # writes data/benchmarks/ensemble-headroom.json

The closing ensemble is chosen among the committed models (:func:`fer_utils.ensemble.candidates`);
Chapter 7's VGG-16 and ResNet-50 cannot join it (their weights are too large to commit), but
when their models are on this machine they can say what a network of another family would
add: the forward selection on PublicTest (:func:`fer_utils.ensemble.what_it_adds`) is run
without them and with each of them (and both) in the pool, every model seen once (one view;
``--tta ten-crop`` for the closing ensemble's views, about ten times slower). PrivateTest is
scored once for each selection. Also each extra's agreement with the strongest committed
model (:func:`fer_utils.recipe.agreement`). Needs the real data and at least one extra model.
"""
from __future__ import annotations

import argparse
import json
import sys

import numpy as np

import fer_utils  # noqa: F401  (the oneDNN choice, on, before TensorFlow loads)
from fer_utils import bench, ensemble, paths, recipe, saliency, train
from fer_utils.data import load_fer2013
from fer_utils.experiment import DataRef, find_artifact


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tta", default=False, choices=["ten-crop", "six"],
                        help="test-time views for every model (default: one view)")
    args = parser.parse_args()
    tta = {"six": True}.get(args.tta, args.tta)
    try:
        ds = load_fer2013(allow_sample=False)
    except FileNotFoundError as e:   # one line, no traceback
        sys.exit(f"ensemble_headroom.py: {e}")
    data = DataRef.of(ds)
    root = paths.artifacts_dir()
    pool = ensemble.candidates(root, data, students=True)
    # Chapter 7's networks (saliency.LARGE_MODELS), finished, with their model on this machine
    found = (find_artifact(train.TrainConfig.named(name), data, root)
             for name in saliency.LARGE_MODELS.values())
    extras = [art.path for art in found if art is not None and art.has_model]
    if not pool or not extras:
        sys.exit(f"needs committed candidates ({len(pool)} found) and Chapter 7's models on this "
                 f"machine ({len(extras)} found: train them with `python -m fer_utils campaign run`)")
    folders = pool + extras
    print(f"{len(pool)} candidates, extras: {', '.join(f.name for f in extras)}", flush=True)
    y, probs = ensemble.split_probabilities(folders, ds, "PublicTest", tta=tta)
    y_private, probs_private = ensemble.split_probabilities(folders, ds, "PrivateTest", tta=tta)
    n = len(pool)
    alone = [float((p.argmax(1) == y).mean()) for p in probs]
    best = int(np.argmax(alone[:n]))

    def private(chosen: list[int]) -> float:
        mean = np.mean([probs_private[i] for i in chosen], axis=0)
        return float((mean.argmax(1) == y_private).mean())

    result = {"tta": tta, "data": data.name, "candidates": [f.name for f in pool],
              "best_committed": pool[best].name, "extras": {},
              "names": {f.name: json.loads((f / "metrics.json").read_text())["config"]["name"]
                        for f in [pool[best], *extras]}}   # how the chapter names them
    subsets = [[i] for i in range(len(extras))] + ([list(range(len(extras)))] if len(extras) > 1 else [])
    for subset in subsets:
        names = [extras[i].name for i in subset]
        got = ensemble.what_it_adds(y, probs[:n], [probs[n + i] for i in subset])
        to_folder = list(range(n)) + [n + i for i in subset]   # what_it_adds' indices -> folders'
        got["private_without"] = private(got["chosen_without"])
        got["private_with"] = private([to_folder[i] for i in got["chosen_with"]])
        for key in ("chosen_without", "chosen_with"):
            got[key] = [folders[to_folder[i]].name for i in got[key]]
        result["extras"][" + ".join(names)] = got
        print(f"with {' + '.join(names)}: PublicTest {100 * got['without']:.2f} -> "
              f"{100 * got['with']:.2f} %, PrivateTest {100 * got['private_without']:.2f} -> "
              f"{100 * got['private_with']:.2f} % (draws {got['draws_of_extra']})", flush=True)
    result["agreement_with_best"] = {
        f.name: {"public_alone": alone[n + i], **recipe.agreement(y, probs[best], probs[n + i])}
        for i, f in enumerate(extras)}
    print(f"wrote {bench.save('ensemble-headroom', result)}")


if __name__ == "__main__":
    main()
