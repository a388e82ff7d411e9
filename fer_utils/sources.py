"""Published numbers of the five source works, in one place, as the papers state them.

The chapters put them beside our measurements and the closing scorecard compares them. They
are the sources' claims, not our results. Where a source's protocol differs from ours, the
chapter that uses the number says how.
"""
from __future__ import annotations

# Seed 004 (Yang, Zhang & Zheng), Tables 1 and 2: depth ablation on FER-2013, their own
# 24,000 / 4,710 split of the Training rows (no PrivateTest), architecture widths not stated.
SEED004_MACRO = {  # depth -> accuracy, precision, recall, f1 (macro averages)
    3: {"accuracy": 0.47, "precision": 0.53, "recall": 0.56, "f1": 0.46},
    4: {"accuracy": 0.48, "precision": 0.49, "recall": 0.56, "f1": 0.46},
    5: {"accuracy": 0.43, "precision": 0.47, "recall": 0.51, "f1": 0.41},
    6: {"accuracy": 0.48, "precision": 0.52, "recall": 0.56, "f1": 0.47},
}
SEED004_WEIGHTED = {  # depth -> precision, recall, f1 (weighted averages)
    3: {"precision": 0.61, "recall": 0.47, "f1": 0.51},
    4: {"precision": 0.56, "recall": 0.48, "f1": 0.50},
    5: {"precision": 0.55, "recall": 0.43, "f1": 0.46},
    6: {"precision": 0.59, "recall": 0.48, "f1": 0.51},
}

# Seed 000 (Yang & Chen, ES-MAPs), Table I: test accuracy, mean ± sd over 10 runs, random
# 30 % train / 70 % test split, 100 epochs; "n/a" cells are None. The paper's FER-2013 is a
# 29,476-image relabelled subset; the reference code validated on the test part.
SEED000_TABLE1 = {  # dataset -> model -> input -> (mean, sd)
    "HRFE": {"ESH-Net": {"esmap": (0.75, 0.01), "image": (0.55, 0.02)},
             "ConvNet": {"esmap": (0.43, 0.06), "image": (0.50, 0.04)},
             "ResNet50": {"esmap": (0.68, 0.02), "image": (0.65, 0.01)}},
    "FER-2013": {"ESH-Net": {"esmap": (0.66, 0.01), "image": (0.56, 0.01)},
                 "ConvNet": {"esmap": (0.62, 0.01), "image": (0.62, 0.01)},
                 "ResNet50": {"esmap": None, "image": None}},
    "JAFFE": {"ESH-Net": {"esmap": (0.92, 0.01), "image": (0.91, 0.01)},
              "ConvNet": {"esmap": (0.79, 0.08), "image": (0.75, 0.12)},
              "ResNet50": {"esmap": None, "image": None}},
}
SEED000_FACTS = {
    "landmarks": 468, "runs": 10, "epochs": 100, "train_fraction": 0.3,
    "consensus_maps_per_emotion": 50, "fer2013_images_used": 29_476,
}
