"""fer_utils.calibration, test-time augmentation and ensembles (fer_utils.ensemble)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from fer_utils import calibration as C
from fer_utils import cli, ensemble
from fer_utils import train as T
from fer_utils.sample import make_sample


def _overconfident(n=4000, seed=0):
    """Labels drawn from true probabilities, and a model that sharpens them (T = 2.5)."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, 1.0, (n, 7))
    true = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(7, p=p) for p in true])
    return C.apply_temperature(true, 1 / 2.5), labels


def test_temperature_scaling_recovers_the_temperature_and_lowers_ece():
    probs, labels = _overconfident()
    t = C.fit_temperature(probs[:2000], labels[:2000])
    assert t == pytest.approx(2.5, rel=0.15)
    after = C.apply_temperature(probs[2000:], t)
    assert (after.argmax(1) == probs[2000:].argmax(1)).all()      # no prediction changes
    assert C.expected_calibration_error(after, labels[2000:]) < \
        0.5 * C.expected_calibration_error(probs[2000:], labels[2000:])
    s = C.summary(probs[:2000], labels[:2000], probs[2000:], labels[2000:])
    assert s["nll_after"] < s["nll_before"] and s["ece_after"] < s["ece_before"]
    assert sum(s["reliability_after"]["count"]) == 2000
    with pytest.raises(ValueError, match="positive"):
        C.apply_temperature(probs, 0)


def test_a_calibrated_model_has_no_ece():
    rng = np.random.default_rng(1)
    conf = rng.uniform(0.2, 1.0, 20000)
    probs = np.stack([conf, 1 - conf], 1)
    labels = (rng.uniform(size=len(conf)) > conf).astype(int)
    assert C.expected_calibration_error(probs, labels) < 0.02
    fig = C.reliability_figure({"model": C.reliability(probs, labels)})
    assert len(fig.axes[0].lines) == 2


def test_ensembles_score_their_members_and_say_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("FER_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    ds = make_sample()
    cfg = T.TrainConfig(name="m", model_args={"depth": 3, "width": 8}, epochs=1, train_limit=300)
    a, b = (T.train(cfg.replace(seed=s), ds, progress=False) for s in (0, 1))
    single = ensemble.score([a.path], ds)
    assert single["PrivateTest"]["accuracy"] == pytest.approx(a.metrics["PrivateTest"]["accuracy"])
    out = ensemble.build("pair", [a.path, b.path], ds, tta=True)
    m = json.loads((out / "metrics.json").read_text())
    assert m["ensemble"] == [a.path.name, b.path.name] and m["tta"] is True
    assert cli.main(["evaluate", "--model", str(out), "--data", "sample", "--json"]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert got["accuracy"] == m["PrivateTest"]["accuracy"] and got["ensemble"] == m["ensemble"]
    with pytest.raises(FileNotFoundError, match="not a finished artifact"):
        ensemble.score([tmp_path / "nothing"], ds)
    # forward selection on PublicTest: the prefix it keeps is the best it saw
    sel = ensemble.select("chosen", [a.path, b.path], ds, steps=3)
    m = json.loads((sel / "metrics.json").read_text())
    trace = m["selection"]["public_accuracy_after_each"]
    assert len(trace) == len(m["ensemble"]) and trace[-1] == max(trace)
    assert m["PublicTest"]["accuracy"] == pytest.approx(trace[-1])
    assert m["selection"]["candidates"] == [a.path.name, b.path.name]
    from fer_utils.experiment import DataRef

    root, ref = tmp_path / "artifacts", DataRef.of(ds)
    assert ensemble.find(root, "chosen", ref, candidates=[a.path.name, b.path.name]) == m
    assert ensemble.find(root, "chosen", ref, candidates=[a.path.name]) is None
    # a member listed twice weighs twice: the same as the plain average of the three
    assert ensemble.score([a.path, a.path, b.path], ds)["PrivateTest"]["accuracy"] == \
        pytest.approx(ensemble.score([a.path, b.path, a.path], ds)["PrivateTest"]["accuracy"])


def test_forward_selection_adds_only_what_helps():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 500)

    def model(wrong):   # sure when right; unsure on ``wrong``, where it picks the next class
        pred = y.copy()
        pred[wrong] = (y[wrong] + 1) % 3
        p = 0.1 + 0.8 * np.eye(3)[pred]
        p[wrong] = 0.2 + 0.4 * np.eye(3)[pred[wrong]]
        return p

    good = model(np.arange(0, 100))                               # 80 % right
    other = model(np.arange(100, 205))                            # 79 %, errors elsewhere
    noise = rng.dirichlet(np.ones(3), 500)                        # chance
    chosen, trace = ensemble.greedy_select(y, [noise, other, good])
    assert chosen == [2, 1] and trace == [0.8, 1.0]  # the best, then what fixes its errors
    # with replacement: a weak model helps only when the strong one counts twice
    weak = model(np.concatenate([np.arange(100, 205), np.arange(300, 400)]))   # 59 %
    weak[np.arange(0, 100)] = 0.1 + 0.45 * np.eye(3)[y[:100]]                  # barely right
    chosen, trace = ensemble.greedy_select(y, [weak, good], steps=5)
    assert chosen[0] == 1 and trace[-1] == max(trace) and trace[-1] > trace[0]
    with pytest.raises(ValueError, match="no candidate"):
        ensemble.greedy_select(y, [])
