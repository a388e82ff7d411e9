"""fer_utils.metrics against hand-computed cases."""
from __future__ import annotations

import numpy as np
import pytest

from fer_utils import metrics as M

NAMES = ("a", "b", "c")
# true:  a a b b c c c      pred: a b b b c a c
Y_TRUE = np.array([0, 0, 1, 1, 2, 2, 2])
Y_PRED = np.array([0, 1, 1, 1, 2, 0, 2])


def test_hand_computed_case():
    m = M.classification_metrics(Y_TRUE, Y_PRED, NAMES)
    assert m["n"] == 7
    assert m["accuracy"] == pytest.approx(5 / 7)
    # a: TP 1, FP 1 (a c predicted a), FN 1 -> P 1/2, R 1/2
    # b: TP 2, FP 1, FN 0 -> P 2/3, R 1
    # c: TP 2, FP 0, FN 1 -> P 1, R 2/3
    pc = m["per_class"]
    assert pc["a"]["precision"] == pytest.approx(1 / 2) and pc["a"]["recall"] == pytest.approx(1 / 2)
    assert pc["b"]["precision"] == pytest.approx(2 / 3) and pc["b"]["recall"] == pytest.approx(1.0)
    assert pc["c"]["precision"] == pytest.approx(1.0) and pc["c"]["recall"] == pytest.approx(2 / 3)
    f1 = {"a": 0.5, "b": 0.8, "c": 0.8}
    for k, v in f1.items():
        assert pc[k]["f1"] == pytest.approx(v)
    assert [pc[k]["support"] for k in NAMES] == [2, 2, 3]
    assert m["macro_precision"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert m["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.8) / 3)
    assert m["weighted_f1"] == pytest.approx((2 * 0.5 + 2 * 0.8 + 3 * 0.8) / 7)
    assert m["weighted_recall"] == pytest.approx(m["accuracy"])  # always true
    assert m["confusion"] == [[1, 1, 0], [0, 2, 0], [1, 0, 2]]  # rows = true class


def test_class_never_predicted_has_zero_precision():
    m = M.classification_metrics(np.array([0, 1, 2]), np.array([0, 0, 0]), NAMES)
    assert m["per_class"]["b"]["precision"] == 0.0
    assert m["macro_recall"] == pytest.approx(1 / 3)


def test_shape_errors():
    with pytest.raises(ValueError, match="equal length"):
        M.classification_metrics(Y_TRUE, Y_PRED[:3], NAMES)


def test_per_class_table_and_plots():
    m = M.classification_metrics(Y_TRUE, Y_PRED, NAMES)
    t = M.per_class_table(m)
    assert list(t.index) == ["a", "b", "c", "macro avg", "weighted avg"]
    assert t.loc["macro avg", "f1"] == pytest.approx(m["macro_f1"])
    fig = M.plot_confusion(m)
    assert fig.axes[0].get_xlabel() == "predicted"
    fig = M.plot_learning_curves({"loss": [2, 1], "accuracy": [0.3, 0.5],
                                  "val_loss": [2.1, 1.5], "val_accuracy": [0.2, 0.4]})
    assert len(fig.axes[0].lines) == 2


def test_binary_accuracy_trap():
    """Belhekar et al.'s 87.5 %: binary accuracy over 8 one-hot classes scores all-zero output at 7/8."""
    assert M.binary_accuracy_trap(8) == pytest.approx(0.875)
    assert M.binary_accuracy_trap(7) == pytest.approx(6 / 7)
