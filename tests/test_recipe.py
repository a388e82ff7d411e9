"""fer_utils.recipe: the step table, the distance to the targets, the cost of closing it."""
from __future__ import annotations

import pytest

from fer_utils import recipe


def _metrics(public, private, params=1000, epochs=30, s=60.0):
    return {"PublicTest": {"accuracy": public}, "PrivateTest": {"accuracy": private},
            "params": params, "epochs_trained": epochs, "seconds_per_epoch": s}


def test_the_steps_are_ordered_and_each_is_one_kind():
    labels = [s.label for s in recipe.STEPS]
    assert len(set(labels)) == len(labels)
    for step in recipe.STEPS:
        assert sum([step.config is not None, step.tta, step.ensemble]) == 1, step.label
    assert recipe.STEPS[0].config is not None           # it starts from a trained model
    tta = next(i for i, s in enumerate(recipe.STEPS) if s.tta)
    assert recipe.STEPS[tta - 1].config is not None     # TTA of the step before it


def test_step_table_reads_gains_on_publictest():
    values = [(0.57, 0.58), (0.555, 0.564), (0.618, 0.626), (0.617, 0.633), (0.63, 0.64)]
    results = {s.label: _metrics(*v) for s, v in zip(recipe.STEPS, values)}
    table = recipe.step_table(results)
    gains = table["gain on PublicTest (points)"]
    assert gains.iloc[0] is None or gains.isna().iloc[0]
    assert gains.iloc[1:].round(2).tolist() == [-1.5, 6.3, -0.1, 1.3]
    assert table["PrivateTest (%)"].iloc[2] == pytest.approx(62.6)


def test_distance_to_targets_handles_both_directions_and_missing_values():
    d = recipe.distance_to_targets({"single model": (0.626, "vgg"),
                                    "real-time ms per face": (0.26, "tflite"),
                                    "real-time model": (None, "not run")})
    assert d.loc["single model", "short by"] == pytest.approx(5.4)
    assert not d.loc["single model", "met"]
    assert d.loc["real-time ms per face", "met"] and d.loc["real-time ms per face", "short by"] == 0
    assert d.loc["real-time model", "measured"] is None
    with pytest.raises(KeyError):
        recipe.distance_to_targets({"a target nobody set": (0.5, "x")})


def test_cost_hours():
    assert recipe.cost_hours(3, 100, 216.0) == pytest.approx(18.0)
    assert recipe.cost_hours(0, 100, 216.0) == 0
    with pytest.raises(ValueError):
        recipe.cost_hours(1, 10, 0)


def test_ensemble_candidates_are_configs_that_exist():
    from fer_utils import train

    for name in recipe.ENSEMBLE_CANDIDATES:
        config = train.TrainConfig.named(name)
        assert config.labels == "fer" and config.mask == "none", name


def test_time_to_accuracy_reads_the_cpu_hours_of_the_first_epoch_at_each_milestone():
    from fer_utils import recipe

    h = {"val_accuracy": [0.55, 0.62, 0.61, 0.66], "cpu_seconds": [1800, 3600, 5400, 7200]}
    assert recipe.time_to_accuracy(h) == {0.6: 1.0, 0.63: 2.0, 0.655: 2.0, 0.68: None}
    with pytest.raises(ValueError, match="no CPU seconds"):
        recipe.time_to_accuracy({"val_accuracy": [0.7]})
