"""Calibrated probabilities: temperature scaling, expected calibration error, reliability.

A network trained with cross-entropy (and label smoothing) is right more or less often than
its top probability says. Where a confidence is shown to a person (Baral et al.'s use: mood
tracking), it should mean what it says. Temperature scaling (Guo et al., 2017) divides the
log-probabilities by one number ``T`` fitted on held-out data (PublicTest, under the course
protocol), which changes no prediction, only how sure each one claims to be.

>>> import numpy as np
>>> p = np.array([[0.9, 0.1], [0.8, 0.2]])
>>> [[round(float(v), 3) for v in row] for row in apply_temperature(p, 1.0)]
[[0.9, 0.1], [0.8, 0.2]]
"""
from __future__ import annotations

import numpy as np

from fer_utils.inference import load_model_file, model_file, predict_proba
from fer_utils.labels import evaluation_labels

_EPS = 1e-12


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """``softmax(log(probs) / T)``: the probabilities of a model whose logits are divided by
    ``T`` (``T > 1`` softens over-confident answers). Rows keep their order (argmax)."""
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, not {temperature}")
    z = np.log(np.clip(np.asarray(probs, np.float64), _EPS, 1.0)) / temperature
    z -= z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)


def nll(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the true labels."""
    p = np.clip(np.asarray(probs)[np.arange(len(labels)), labels], _EPS, 1.0)
    return float(-np.log(p).mean())


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimises the NLL of ``labels`` (held-out data), in [0.05, 20]."""
    from scipy.optimize import minimize_scalar

    if len(labels) == 0:
        raise ValueError("no held-out images to fit a temperature on")
    res = minimize_scalar(lambda log_t: nll(apply_temperature(probs, float(np.exp(log_t))), labels),
                          bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return float(np.exp(res.x))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> float:
    """ECE: the gap between confidence (top probability) and accuracy, averaged over
    ``bins`` equal-width confidence bins weighted by how many answers fall in each."""
    conf, correct = _confidence(probs, labels)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += m.mean() * abs(correct[m].mean() - conf[m].mean())
    return float(ece)


def reliability(probs: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict:
    """Per confidence bin: mean confidence, accuracy and count (the reliability diagram)."""
    conf, correct = _confidence(probs, labels)
    edges = np.linspace(0, 1, bins + 1)
    idx = np.clip(np.digitize(conf, edges[1:-1]), 0, bins - 1)
    rows = {"lower": [], "upper": [], "confidence": [], "accuracy": [], "count": []}
    for b in range(bins):
        m = idx == b
        rows["lower"].append(float(edges[b]))
        rows["upper"].append(float(edges[b + 1]))
        rows["count"].append(int(m.sum()))
        rows["confidence"].append(float(conf[m].mean()) if m.any() else None)
        rows["accuracy"].append(float(correct[m].mean()) if m.any() else None)
    return rows


def reliability_figure(curves: dict, title: str = "Reliability on PrivateTest"):
    """One reliability diagram with a curve per entry of ``curves`` (label → :func:`reliability`
    dict): accuracy against confidence, the diagonal being perfect calibration."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    ax.plot([0, 1], [0, 1], color="0.6", ls="--", lw=1, label="perfectly calibrated")
    for label, rel in curves.items():
        pts = [(c, a) for c, a in zip(rel["confidence"], rel["accuracy"]) if c is not None]
        ax.plot(*zip(*pts), marker="o", label=label)
    ax.set(xlabel="confidence (top probability)", ylabel="accuracy", xlim=(0, 1), ylim=(0, 1),
           title=title)
    ax.legend(loc="upper left", frameon=False)
    fig.tight_layout()
    return fig


def summary(val_probs, val_labels, test_probs, test_labels) -> dict:
    """Fit ``T`` on the validation split and report NLL and ECE before and after on the test
    split (what ``metrics.json`` stores under ``"calibration"``)."""
    t = fit_temperature(val_probs, val_labels)
    after = apply_temperature(test_probs, t)
    return {"temperature": round(t, 4), "fitted_on": "PublicTest",
            "nll_before": round(nll(test_probs, test_labels), 4),
            "nll_after": round(nll(after, test_labels), 4),
            "ece_before": round(expected_calibration_error(test_probs, test_labels), 4),
            "ece_after": round(expected_calibration_error(after, test_labels), 4),
            "reliability_before": reliability(test_probs, test_labels),
            "reliability_after": reliability(after, test_labels)}


def _confidence(probs, labels):
    probs = np.asarray(probs)
    return probs.max(axis=1), (probs.argmax(axis=1) == np.asarray(labels)).astype(float)


def of_artifact(folder, ds, *, recompute: bool = False) -> dict:
    """:func:`summary` for the model saved in an artifact ``folder`` on ``ds``: its stored
    ``"calibration"`` when the artifact has one (unless ``recompute``), else computed now
    (PublicTest to fit, PrivateTest to report; only the faces its label set scores)."""
    import json
    from pathlib import Path

    folder = Path(folder)
    m = json.loads((folder / "metrics.json").read_text())
    if "calibration" in m and not recompute:
        return m["calibration"]
    y, keep, _ = evaluation_labels(ds, m["config"].get("labels", "fer"))
    model = load_model_file(model_file(folder))
    parts = []
    for split in ("PublicTest", "PrivateTest"):
        idx = np.flatnonzero((ds.usage == split) & keep)
        parts += [predict_proba(model, ds.images[idx]), y[idx]]
    return summary(*parts)
