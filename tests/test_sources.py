"""fer_utils.sources: the published numbers the chapters compare against, checked for
internal consistency and against the headline numbers of the anchors note."""
from __future__ import annotations

import math

import pytest

from fer_utils import sources as S
from fer_utils.dataset import CLASS_NAMES


def test_kroening_tables_have_every_class_and_the_anchor_headlines():
    vgg = S.KROENING_TABLES["VGG-16"]
    headline = {"none": 0.5825, "forehead": 0.5748, "eyes": 0.5493, "mouth": 0.4334}
    for mask, acc in headline.items():  # anchors: 58.3 / 57.5 / 54.9 / 43.3 %
        assert vgg[mask]["accuracy"] == pytest.approx(acc)
    for model in S.KROENING_TABLES.values():
        for row in model.values():
            assert list(row["per_class_accuracy"]) == list(CLASS_NAMES)
            assert list(row["per_class_f1"]) == list(CLASS_NAMES)
            assert all(0 <= v <= 1 for v in row["per_class_accuracy"].values())
    # the paper's own finding: covering nose and mouth hurts most, for both models
    for model in S.KROENING_TABLES.values():
        worst = min((m for m in model if not m.startswith("none (")),
                    key=lambda m: model[m]["accuracy"])
        assert worst == "mouth"


def test_percent_rounds_half_up_as_the_papers_print():
    assert S.percent(S.KROENING_TABLES["VGG-16"]["none"]["accuracy"]) == 58.3  # the paper's text
    assert round(100 * 0.5825, 1) == 58.2   # what plain rounding would have shown
    assert S.percent(0.4105) == 41.1 and S.percent(0.4334) == 43.3 and S.percent(0.5) == 50.0
    assert S.percent(0.12345, digits=2) == 12.35
    assert math.isnan(S.percent(float("nan"))) and math.isnan(S.percent(None))


def test_yang_chen_table1_shapes():
    for dataset in S.YANG_CHEN_TABLE1.values():
        assert set(dataset) == {"ESH-Net", "ConvNet", "ResNet50"}
    assert S.YANG_CHEN_TABLE1["FER-2013"]["ESH-Net"]["esmap"] == (0.66, 0.01)
