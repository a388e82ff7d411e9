"""fer_utils.recipe: the step table, the distance to the targets, the cost of closing it."""
from __future__ import annotations

import numpy as np
import pandas as pd
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


def test_describe_targets_names_the_met_and_the_short_ones():
    d = recipe.distance_to_targets({"single model": (0.626, "vgg"),
                                    "FERPlus, majority labels": (0.779, "Model 2"),
                                    "real-time model": (0.671, "Model 0"),
                                    "ensemble or TTA": (None, "+ not run"),
                                    "real-time ms per face": (0.41, "tflite")})
    text = recipe.describe_targets(d)
    assert text.startswith("The best single model (vgg) is 5.4 points short of 68 %, and the "
                           "FERPlus model (Model 2) 6.1 points short of 84 %.")
    assert text.endswith("The best real-time model (Model 0) meets its target of 66 % (67.1 %).")
    assert "ensemble" not in text and "ms" not in text      # unmeasured and speed: left out
    once = recipe.distance_to_targets({"single model": (0.698523, "long")})   # rounded once
    assert "(69.9 %)" in recipe.describe_targets(once)
    none_met = recipe.distance_to_targets({"single model": (0.626, "+ vgg")})   # a step label
    assert recipe.describe_targets(none_met) == ("No accuracy target is met. The best single "
                                                 "model (vgg) is 5.4 points short of 68 %.")


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


def _timed_artifact(root, name, val, cpu, fingerprint):
    import json

    from fer_utils import experiment, train

    config = train.TrainConfig.named(name)
    path = root / experiment.artifact_key(config, experiment.DataRef("fer2013", fingerprint))
    path.mkdir(parents=True)
    metrics = {"config": config.to_dict(), "data": "fer2013", "data_fingerprint": fingerprint,
               "model_kept": "no: test fixture", "PrivateTest": {"accuracy": val[-1]},
               "PublicTest": {"accuracy": val[-1]}}
    (path / "metrics.json").write_text(json.dumps(metrics))
    history = {"val_accuracy": val} if cpu is None else {"val_accuracy": val, "cpu_seconds": cpu}
    (path / "history.json").write_text(json.dumps(history))


def test_timed_runs_are_the_runs_on_this_data_that_recorded_cpu_seconds(tmp_path):
    from fer_utils.sample import make_sample

    ds = make_sample()
    fp = ds.fingerprint
    _timed_artifact(tmp_path, "realtime/mx-ref", [0.55, 0.62, 0.64], [3600, 7200, 10800], fp)
    _timed_artifact(tmp_path, "realtime/mx-fer", [0.5, 0.58], None, fp)          # no CPU record
    _timed_artifact(tmp_path, "recipe/mx-s0", [0.5, 0.61], [1800, 3600], "other data")
    _timed_artifact(tmp_path, "realtime/mx-ref-ferplus", [0.8, 0.85], [1800, 3600], fp)  # labels
    (tmp_path / "benchmarks").mkdir()                                          # not a run
    runs = recipe.timed_runs(ds, tmp_path)
    assert list(runs) == ["mx-ref"]
    table = recipe.time_to_accuracy_table(runs)
    row = table.loc["mx-ref"]
    assert (row["60 %"], row["63 %"]) == (2.0, 3.0) and pd.isna(row["65.5 %"])
    assert (row["epochs"], row["CPU-hours in all"], row["best PublicTest (%)"]) == (3, 3.0, 64.0)
    assert recipe.time_to_accuracy_table({}).empty


def test_the_accuracy_against_cpu_hours_figure_draws_every_run_and_the_line():
    from fer_utils import viz

    h = {"val_accuracy": [0.5, 0.6], "cpu_seconds": [3600, 7200]}
    fig = viz.accuracy_against_cpu_hours({"a": h, "b": h}, line=(0.655, "fer"))
    ax = fig.axes[0]
    assert len(ax.lines) == 3 and list(ax.lines[0].get_xdata()) == [1.0, 2.0]
    empty = viz.accuracy_against_cpu_hours({})
    assert "no run" in empty.axes[0].texts[0].get_text()
    viz._plt().close("all")


def test_the_target_lists_name_configs_of_the_right_labels():
    from fer_utils import train

    for target, names in recipe.TARGET_MODELS.items():
        assert target in recipe.TARGETS and len(set(names)) == len(names)
        labels = {train.TrainConfig.named(n).labels for n in names}
        if target.startswith("FERPlus"):
            assert all(label.startswith("ferplus") for label in labels), labels
        else:
            assert labels == {"fer"}, target


def test_a_target_is_chosen_on_publictest_among_its_finished_runs(sample, arts):
    """The scorecard and Chapter 4b share :data:`recipe.TARGET_MODELS`; a run counts once it
    has finished (here: written by hand), one the caller holds counts as it is, and nothing
    is trained."""
    import json

    from fer_utils import experiment, train
    from fer_utils.predict import MODELS

    def finished(name, public, private):
        config = train.TrainConfig.named(name)
        path = arts / experiment.artifact_key(config, experiment.DataRef.of(sample))
        path.mkdir(parents=True)
        (path / "metrics.json").write_text(json.dumps({
            **_metrics(public, private), "config": config.to_dict(),
            "model_kept": "no: test fixture"}))
        (path / "history.json").write_text("{}")
        return experiment.Artifact.from_folder(path, train.TrainConfig)

    assert recipe.chosen_on_public("single model", sample) is None        # nothing has run
    model0 = finished(MODELS["Model 0"], 0.66, 0.671)
    elsewhere = finished("ablation/cnn-d4-s0", 0.9, 0.9)                  # not on the list
    have = {MODELS["Model 0"]: model0, "ablation/cnn-d4-s0": elsewhere}
    assert recipe.chosen_on_public("single model", sample, have=have)[0] == MODELS["Model 0"]
    finished("recipe/vgg-net-long", 0.70, 0.69)                           # the campaign ends
    name, art = recipe.chosen_on_public("single model", sample, have=have)
    assert name == "recipe/vgg-net-long" and art.scores.accuracy() == 0.69
    assert recipe.model_label(name) == name and recipe.model_label(MODELS["Model 0"]) == \
        "Chapter 4's Model 0"


def test_the_ensemble_target_is_chosen_on_publictest_among_the_listed_ensembles(sample):
    assert recipe.chosen_ensemble(sample) is None                       # none stored
    tta, ens = (next(iter(recipe.TARGET_ENSEMBLES)), "recipe-ensemble")
    held = [{"name": ens, **_metrics(0.60, 0.61)}, {"name": tta, **_metrics(0.62, 0.60)},
            {"name": "someone-else", **_metrics(0.90, 0.90)}]            # not on the list
    name, m = recipe.chosen_ensemble(sample, have=held)
    assert name == tta and m["PrivateTest"]["accuracy"] == 0.60
    assert tta == f"{recipe.train.TrainConfig.named('recipe/vgg-net-s0').name}-tta"


def _run(name, val, acc, public, private, best_epoch, cpu=None):
    from pathlib import Path

    from fer_utils import experiment, train

    history = {"val_accuracy": val, "accuracy": acc, "lr": [0.01] * (len(val) - 1) + [0.0],
               **({"cpu_seconds": cpu} if cpu else {})}
    metrics = {"PublicTest": {"accuracy": public}, "PrivateTest": {"accuracy": private},
               "epochs_trained": len(val), "best_epoch": best_epoch}
    return experiment.Artifact(Path(name), train.TrainConfig.named(name), metrics, history)


def test_the_longer_run_is_an_entry_of_the_campaign_that_stretches_a_step():
    from fer_utils import campaign, train

    step, longer = (train.TrainConfig.named(n) for n in recipe.LONGER_RUN)
    assert recipe.LONGER_RUN[0] in [s.config for s in recipe.STEPS]
    assert recipe.LONGER_RUN[1] in [e.config for e in campaign.QUEUE]
    assert recipe.LONGER_RUN[1] in recipe.TARGET_MODELS["single model"]
    assert step.model == longer.model and longer.epochs > step.epochs


def test_longer_schedule_reads_the_gains_and_whether_the_end_still_improved():
    short = _run("recipe/vgg-net-s0", [0.5, 0.6, 0.61], [0.4, 0.5, 0.55], 0.61, 0.62, 3)
    val = [0.5 + 0.01 * i for i in range(12)] + [0.6, 0.6]          # best 0.61 before the window
    long = _run("recipe/vgg-net-long", val, [0.6] * 14, 0.63, 0.65, 12, cpu=[3600 * 2] * 14)
    got = recipe.longer_schedule(short, long, window=2)
    assert got["gain_public"] == pytest.approx(2.0) and got["gain_private"] == pytest.approx(3.0)
    assert (got["short_epochs"], got["long_epochs"], got["long_kept"]) == (3, 14, 12)
    assert got["cpu_hours"] == 2.0 and got["train_final"] == pytest.approx(60.0)
    assert got["late_gain"] == pytest.approx(-1.0)         # 0.60 in the window, 0.61 before it
    rising = _run("recipe/vgg-net-long", val[:-2] + [0.65, 0.66], [0.6] * 14, 0.66, 0.67, 14)
    assert recipe.longer_schedule(short, rising, window=2)["late_gain"] == pytest.approx(5.0)
    assert recipe.longer_schedule(short, rising, window=2)["cpu_hours"] is None
    with pytest.raises(ValueError, match="different networks"):
        recipe.longer_schedule(_run("recipe/mx-s0", [0.5], [0.5], 0.5, 0.5, 1), long)
    with pytest.raises(ValueError, match="not more than the window"):
        recipe.longer_schedule(short, short, window=3)


def test_describe_longer_says_what_the_measurements_say():
    short = _run("recipe/vgg-net-s0", [0.5, 0.6, 0.61], [0.4, 0.5, 0.55], 0.61, 0.62, 3)
    val = [0.5 + 0.01 * i for i in range(12)] + [0.6, 0.6]
    flat = _run("recipe/vgg-net-long", val, [0.6] * 14, 0.63, 0.65, 12, cpu=[7200] * 14)
    text = recipe.describe_longer(recipe.longer_schedule(short, flat, window=2))
    assert text.startswith("After 14 epochs (2.0 CPU-hours) it keeps epoch 12")
    assert "63.0 % there and 65.0 % on PrivateTest: +2.0 and +3.0 points over the 3-epoch" in text
    assert "was 60.0 %, level with its PublicTest accuracy (60.0 %)" in text
    assert "the run had stopped improving" in text and "3.0 points short of" in text
    assert "In the last 2 epochs, where the rate falls to zero, its best" in text
    rising = _run("recipe/vgg-net-long", val[:-2] + [0.65, 0.66], [0.62] * 14, 0.7, 0.69, 14)
    over = _run("recipe/vgg-net-long", val, [0.7] * 14, 0.63, 0.65, 12)
    assert "above its PublicTest accuracy (60.0 %): it fits" in recipe.describe_longer(
        recipe.longer_schedule(short, over, window=2))
    text = recipe.describe_longer(recipe.longer_schedule(short, rising, window=2))
    assert "below its PublicTest accuracy (66.0 %): even over 14 epochs" in text
    assert "rose 5.0 points above" in text and "meets the single-model target of 68 %" in text
    assert "CPU-hours" not in text and "not finished" in recipe.describe_longer(None)


def test_members_table_reads_each_members_share_and_its_own_accuracy(tmp_path, monkeypatch):
    import json

    monkeypatch.setenv("FER_ARTIFACTS_DIR", str(tmp_path))
    for name, acc in (("a-x", 0.6), ("b-x", 0.5)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "metrics.json").write_text(json.dumps({"PublicTest": {"accuracy": acc}}))
    table = recipe.members_table({"ensemble": ["a-x", "b-x", "a-x", "a-x"]})
    assert list(table.index) == ["a-x", "b-x"] and list(table["draws"]) == [3, 1]
    assert list(table["weight in the average"]) == [0.75, 0.25]
    assert list(table["PublicTest alone (%)"]) == [60.0, 50.0]
    with pytest.raises(FileNotFoundError, match="ensemble member c-x"):
        recipe.members_table({"ensemble": ["c-x"]})


def test_describe_closing_compares_with_the_best_single_model_and_the_target():
    single = ("recipe/vgg-net-long", _run("recipe/vgg-net-long", [0.6] * 12, [0.6] * 12,
                                          0.67, 0.675, 12))
    ens = {"ensemble": ["a", "b", "a"], "tta": "ten-crop", "selection": {"candidates": list("abcd")},
           "PublicTest": {"accuracy": 0.69}, "PrivateTest": {"accuracy": 0.705}}
    text = recipe.describe_closing(ens, single)
    assert text.startswith("Among 4 models it kept 2 in 3 draws")
    assert "each seen through 10 views" in text
    assert "69.0 % on PublicTest and 70.5 % on PrivateTest: +2.0 and +3.0 points" in text
    assert "(recipe/vgg-net-long, one view)" in text and "0.5 points short of the ensemble" in text
    ens["PrivateTest"]["accuracy"] = 0.72
    assert recipe.describe_closing(ens, single).endswith("meets the ensemble target of 71 %.")
    assert "not chosen it yet" in recipe.describe_closing(None, single)
    later = recipe.describe_closing(ens, single, to_come=["recipe/vgg-net-long-s1"])
    assert later.endswith("target of 71 %. The campaign trains `recipe/vgg-net-long-s1` to join "
                          "it, and chooses the ensemble again when it ends.")


def test_agreement_counts_shared_mistakes_and_the_describing_paragraph_follows_it():
    y = np.array([0, 0, 1, 1, 2])
    a = np.eye(3)[[0, 1, 1, 1, 0]] * 0.6 + 0.1   # right on 0, 2, 3
    b = np.eye(3)[[0, 0, 1, 2, 0]] * 0.6 + 0.1   # right on 0, 1, 2
    stats = recipe.agreement(y, a, b)
    assert stats["a"] == stats["b"] == 0.6 and stats["same"] == 0.6
    # one of them is wrong on faces 1, 3, 4; the other is right on 1 and 3
    assert stats["rescued"] == pytest.approx(2 / 3)
    text = recipe.describe_agreement(stats, ("net-s0", "net-s1"), same_network=True,
                                     next_best=("small", 0.5))
    assert "`net-s0` and `net-s1`, are the same network trained twice" in text
    assert "60.0 % of the faces" in text and "66.7 % right" in text
    assert "largely the same mistakes" not in text          # 60 % alike is not "largely"
    assert text.endswith("`small`, is 10.0 points behind the weaker of the two alone.")
    other = recipe.describe_agreement({**stats, "same": 0.9}, ("p", "q"), same_network=False)
    assert "two different networks" in other and other.endswith("largely the same mistakes.")
    with pytest.raises(ValueError, match="5 labels for 4"):
        recipe.agreement(y, a[:4], b)


def test_the_headroom_paragraph_reads_what_the_extra_networks_add():
    extra = "big-net-fer2013-0123456789"
    got = {"tta": False, "best_committed": "best-net-fer2013-abcdef0123",
           "names": {extra: "big-net", "best-net-fer2013-abcdef0123": "best-net"},
           "extras": {extra: {"without": 0.685, "with": 0.693, "gain": 0.008,
                              "draws_of_extra": [2], "private_without": 0.70,
                              "private_with": 0.705}},
           "agreement_with_best": {extra: {"public_alone": 0.636, "same": 0.75, "rescued": 0.35,
                                           "mean": 0.672}}}
    text = recipe.describe_headroom(got)
    assert "`big-net` scores 63.6 % alone" in text and "as `best-net` for 75.0 %" in text
    assert "drawn twice and the selection moves from 68.50 to 69.30 % on PublicTest" in text
    assert "(70.0 to 70.5 % on PrivateTest)" in text and "through one view" in text
    assert text.endswith("gains 0.8 points on PublicTest where a second seed did not: a "
                         "committable one of that kind is what could still close the distance.")
    small = {**got, "extras": {extra: {**got["extras"][extra], "with": 0.687, "gain": 0.002}}}
    assert "gains 0.2 points on PublicTest" in recipe.describe_headroom(small)
    assert "the mean of the two scores 67.2 %" in text
    assert recipe.describe_headroom(small).endswith(
        "has converged, short of the target (one member is left untried: a network of another "
        "family as strong as `best-net` alone).")
    never = {**got, "extras": {extra: {**got["extras"][extra], "with": 0.685, "gain": 0.0,
                                       "draws_of_extra": [0]}}}
    assert "never drawn (the selection stays at 68.50 % on PublicTest)" in recipe.describe_headroom(never)
    assert recipe.describe_headroom(None) == ""
