"""Benchmark for Chapter 3: seconds per training epoch and PrivateTest evaluation time per depth.

    python scripts/benchmark_depth.py            # writes data/benchmarks/depth.json

Run it on an otherwise idle machine: it measures this machine, not the model.
"""
from __future__ import annotations

import argparse

import fer_utils  # noqa: F401  (the oneDNN choice, on, before TensorFlow loads)
from fer_utils import bench, data, fitting, models, train
from fer_utils.inference import predict_proba


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=40, help="timed training steps per depth")
    parser.add_argument("--depths", type=int, nargs="+", default=[3, 4, 5, 6])
    args = parser.parse_args()
    ds = data.load_fer2013()
    tr = ds.split("Training")
    test = ds.split("PrivateTest", final=True)
    rows = {}
    for depth in args.depths:
        config = train.TrainConfig.named(f"ablation/cnn-d{depth}-s0")
        model = models.build(config.model, **config.model_args)
        model.compile("adam", "categorical_crossentropy")
        epoch = bench.seconds_per_epoch(model, tr.images, tr.labels, batch_size=config.batch_size,
                                        steps=args.steps, augment=fitting.augmenter(config),
                                        n_epoch_images=len(tr))
        predict_proba(model, test.images[:256])  # trace once
        evaluate = bench.time_call(lambda: predict_proba(model, test.images))
        rows[depth] = {"params": models.count_params(model), "seconds_per_epoch": round(epoch, 2),
                       "private_test_seconds": round(evaluate, 3), "n_private_test": len(test)}
        print(depth, rows[depth], flush=True)
    print("written to", bench.save("depth", {"data": ds.source, "depths": rows}))


if __name__ == "__main__":
    main()
