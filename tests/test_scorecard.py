"""The reproduction scorecard: claims, verdicts, and reading artifacts (never inventing them)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from fer_utils import experiment, scorecard, sources, train
from fer_utils.predict import MODELS
from fer_utils.scorecard import Claim, Measurement


def _claim(kind="reproduce", published=0.5, tolerance=0.0, higher=True, unit="%"):
    return Claim("x", "src", "a claim", published, unit, kind, None, "", tolerance, higher)


def _fake_artifact(root, name, accuracy, **extra):
    """A finished metrics-only artifact of the named config, as train.train would leave it."""
    config = train.TrainConfig.named(name)
    path = root / experiment.artifact_key(config, scorecard.FER2013)
    path.mkdir(parents=True)
    metrics = {"config": config.to_dict(), "data": "fer2013", "model_kept": "no: test fixture",
               "params": 58_423, "PrivateTest": {"accuracy": accuracy, "macro_f1": accuracy - 0.1},
               "PublicTest": {"accuracy": accuracy - 0.01, "macro_f1": accuracy - 0.11},
               **extra}
    (path / "metrics.json").write_text(json.dumps(metrics))
    (path / "history.json").write_text("{}")
    return path


def test_every_anchor_number_has_a_claim():
    published = []
    for c in scorecard.claims():
        published.extend(c.published if isinstance(c.published, tuple) else [c.published])
    flat = set(np.round([p for p in published if p is not None], 4))
    for value in (0.65, 0.712, 0.7328, 0.75, 0.77, 0.66, 0.81, 0.833, 0.916, 0.63, 0.875,
                  0.92, 0.56, 0.583, 0.41, 0.47, 370.0, 0.91, 35_887, 12, 1_516, 557):
        assert round(value, 4) in flat, value
    for _depth, d in sources.YANG_ZHANG_ZHENG_MACRO.items():  # accuracy and F1 of every depth
        assert round(d["accuracy"], 4) in flat and round(d["f1"], 4) in flat
    chapters = {c.chapter for c in scorecard.claims()}
    assert {"1 Datasets", "3 Depth", "4 Real time", "5 ES-MAPs", "7 Masks"} <= chapters


def test_claim_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="kind must be one of"):
        _claim(kind="maybe")


@pytest.mark.parametrize("kind,published,value,tol,higher,expected", [
    ("target", 0.66, 0.70, 0.0, True, "met"),
    ("target", 0.66, 0.60, 0.0, True, "missed"),
    ("target", 0.66, 0.656, 0.005, True, "met"),
    ("target", 0.5, 0.3, 0.0, False, "met"),          # lower is better (milliseconds)
    ("target", 0.5, 0.7, 0.0, False, "missed"),
    ("reproduce", 0.48, 0.49, 0.02, True, "reproduced"),
    ("reproduce", 0.48, 0.55, 0.02, True, "differs"),
    ("reproduce", (0.41, 0.47), 0.45, 0.0, True, "reproduced"),
    ("reproduce", (0.41, 0.47), 0.50, 0.0, True, "above"),
    ("reproduce", (0.41, 0.47), 0.30, 0.0, True, "below"),
    ("direction", -0.15, -0.17, 0.0, False, "same direction"),
    ("direction", -0.15, 0.01, 0.0, False, "opposite"),
    ("reference", 0.65, 0.58, 0.0, True, "reference point"),
    ("explained", 0.875, 0.875, 0.0, True, "explained"),
])
def test_verdicts(kind, published, value, tol, higher, expected):
    c = _claim(kind, published, tol, higher)
    assert scorecard.verdict(c, Measurement(value, "test")) == expected


def test_missing_measurement_is_pending_and_unreproducible_stays_so():
    assert scorecard.verdict(_claim("target"), None) == "pending"
    assert scorecard.verdict(_claim("not reproducible"), Measurement(1, "x")) == "not reproducible"


def test_empty_folder_leaves_every_artifact_claim_pending(tmp_path):
    rows = scorecard.build(root=tmp_path)
    assert len(rows) == len(scorecard.claims())
    by_kind = {}
    for r in rows:
        by_kind.setdefault(r.verdict, []).append(r)
    # only the claims that need no artifact are decided: the 87.5 % arithmetic and the
    # two datasets we cannot have
    assert {r.verdict for r in rows} == {"pending", "explained", "not reproducible"}
    assert len(by_kind["explained"]) == 1 and len(by_kind["not reproducible"]) == 2
    assert scorecard.counts(rows)["pending"] == len(rows) - 3


def test_belhekar_is_binary_accuracy_of_an_empty_prediction(tmp_path):
    row = next(r for r in scorecard.build(root=tmp_path) if r.claim.source == "Belhekar et al.")
    assert row.ours.value == pytest.approx(7 / 8) and row.verdict == "explained"


def test_artifacts_are_read_not_invented(tmp_path):
    _fake_artifact(tmp_path, MODELS["Model 0"], 0.612, data="fer2013")
    _fake_artifact(tmp_path, MODELS["Model 2"], 0.85)
    for seed, acc in enumerate((0.50, 0.52)):   # two of three seeds: the mean of the two
        _fake_artifact(tmp_path, f"ablation/cnn-d4-s{seed}", acc)
    rows = {(r.claim.source, r.claim.claim): r for r in scorecard.build(root=tmp_path)}
    paper = rows[("Arriaga et al.", "mini-Xception reaches 66 % on FER-2013")]
    assert paper.ours.value == 0.612 and paper.verdict == "missed"
    assert paper.difference == pytest.approx(0.612 - 0.66)
    assert MODELS["Model 0"] in paper.ours.what
    assert rows[("Baral et al.", "81 % with FERPlus majority labels")].verdict == "met"
    d4 = rows[("Yang, Zhang & Zheng", "4-layer CNN, macro accuracy")]
    assert d4.ours.value == pytest.approx(0.51) and "2 seeds" in d4.ours.what
    assert rows[("Yang, Zhang & Zheng", "5-layer CNN, macro accuracy")].verdict == "pending"
    # the best FER-label model is the context rows' measurement
    human = rows[("Goodfellow et al.", "human accuracy on FER-2013 (± 5 points)")]
    assert human.ours.value == 0.612 and human.verdict == "reference point"


def test_mask_claims_use_the_drop_from_the_unmasked_model(tmp_path):
    _fake_artifact(tmp_path, "ablation/cnn-d4-s0", 0.54)
    for mask, acc in (("forehead", 0.51), ("eyes", 0.50), ("mouth", 0.37)):
        _fake_artifact(tmp_path, f"masks/cnn-d4-s0-{mask}", acc)
    rows = [r for r in scorecard.build(root=tmp_path)
            if r.claim.unit == "points" and r.claim.chapter == "7 Masks"]
    assert len(rows) == 4 and all(r.verdict == "same direction" for r in rows)
    mouth = next(r for r in rows if "mouth costs" in r.claim.claim)
    assert mouth.ours.value == pytest.approx(-0.17)
    most = next(r for r in rows if "hurts most" in r.claim.claim)
    assert most.ours.value == pytest.approx(0.37 - 0.50)


def test_benchmarks_are_read_from_the_benchmarks_folder(tmp_path):
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "realtime.json").write_text(json.dumps(
        {"classifier": {"tflite": {"ms_per_face_batch1": 0.7}},
         "end_to_end": {"mediapipe": {"fps": 45.0}}}))
    rows = {r.claim.claim: r for r in scorecard.build(root=tmp_path)}
    assert rows["TFLite: at most 0.5 ms per face"].verdict == "missed"
    assert rows["at least 30 frames per second end to end"].verdict == "met"
    assert rows["mini-Xception, Keras eager call per face"].verdict == "pending"


def test_data_claims_need_the_real_data(tmp_path):
    from fer_utils import data

    smp = data.load_fer2013()           # no data in tests: the offline sample
    assert smp.is_sample
    rows = scorecard.build(root=tmp_path, ds=smp)
    assert all(r.verdict == "pending" for r in rows if r.claim.chapter == "1 Datasets")


def test_table_and_figure(tmp_path):
    _fake_artifact(tmp_path, MODELS["Model 0"], 0.612)
    rows = scorecard.build(root=tmp_path)
    t = scorecard.table(rows)
    assert len(t) == len(rows)
    assert {"published", "ours", "difference", "verdict", "why it may differ"} <= set(t.columns)
    row = t[t.claim == "mini-Xception reaches 66 % on FER-2013"].iloc[0]
    assert (row.published, row.ours, row.difference) == ("66.0 %", "61.2 %", "-4.8")
    assert sum(scorecard.counts(rows).values()) == len(rows)
    fig = scorecard.accuracy_figure(rows)
    measured = [r for r in rows if r.claim.unit == "%" and r.ours is not None]
    assert len(fig.axes[0].get_yticklabels()) == len(measured) > 0


def test_esmap_gain_is_maps_minus_images_over_the_paper_protocol_runs(tmp_path):
    from fer_utils import mapnet

    def fake_map(config, accuracy):
        path = tmp_path / "esmap" / experiment.artifact_key(config, scorecard.FER2013)
        path.mkdir(parents=True)
        (path / "metrics.json").write_text(json.dumps(
            {"config": config.to_dict(), "test": {"accuracy": accuracy},
             "model_kept": "no: test fixture"}))
        (path / "history.json").write_text("{}")

    paper = [c for c in mapnet.table_configs() if c.name.startswith("esh-")
             and c.protocol == "random-30-70"]
    for c in paper:
        fake_map(c, (0.52 if c.input == "esmap-reference" else 0.42) + 0.01 * c.seed)
    row = next(r for r in scorecard.build(root=tmp_path) if "beat face images" in r.claim.claim)
    assert row.ours.value == pytest.approx(0.10) and row.verdict == "same direction"
    assert "mean of 3 and 3 runs" in row.ours.what


def test_the_best_of_several_models_is_chosen_on_publictest(tmp_path):
    low_public = _fake_artifact(tmp_path, "recipe/mx-s0", 0.64)     # best on PrivateTest only
    m = json.loads((low_public / "metrics.json").read_text())
    m["PublicTest"]["accuracy"] = 0.55
    (low_public / "metrics.json").write_text(json.dumps(m))
    _fake_artifact(tmp_path, "recipe/vgg-net-s0", 0.62)             # PublicTest 0.61
    rows = {r.claim.claim: r for r in scorecard.build(root=tmp_path)}
    single = rows["a single model at 68 % or more"]
    assert single.ours.value == 0.62 and "vgg-net-s0" in single.ours.what
    # Chapter 4's Model 0 is a single model too: it counts when it leads on PublicTest
    _fake_artifact(tmp_path, MODELS["Model 0"], 0.67)       # PublicTest 0.66
    single = {r.claim.claim: r for r in scorecard.build(root=tmp_path)}["a single model at 68 % or more"]
    assert single.ours.value == 0.67 and MODELS["Model 0"] in single.ours.what


def test_the_course_targets_are_thresholds_without_tolerance():
    """"71 % or more" is missed at 70.7 %, here as in Chapter 4b's distance table."""
    goals = [c for c in scorecard.claims() if c.source == "Course goal" and c.kind == "target"
             and c.unit == "%"]
    assert len(goals) == 3 and all(c.tolerance == 0 for c in goals)
    ensemble_goal = next(c for c in goals if "ensemble" in c.claim)
    assert scorecard.verdict(ensemble_goal, scorecard.Measurement(0.707, "x")) == "missed"
