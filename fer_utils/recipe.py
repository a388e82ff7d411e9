"""The training recipe of the chapter "From 58 % to 70 %": its steps, targets and costs.

Each step of the recipe is a committed experiment (a training config or a test-time
augmentation ensemble) that adds something to the one before, all under the course protocol:
fit on Training, choose everything on PublicTest, score PrivateTest once per final model.
This module holds the steps in order and turns their artifacts into the chapter's tables: the
step table (gain of each step on PublicTest), the distance to the issue's targets, and what
closing that distance would cost in training time measured here.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fer_utils import ensemble, experiment, inference, paths, train
from fer_utils.campaign import FINAL_ENSEMBLE
from fer_utils.experiment import Artifact, DataRef, Scores
from fer_utils.predict import FIRST_RUNS, MODELS


@dataclass(frozen=True)
class Step:
    """One row of the recipe: a config (``config``); with ``tta``, test-time augmentation of
    the step before it; with ``ensemble``, an ensemble chosen on PublicTest among the steps'
    models and :data:`ENSEMBLE_CANDIDATES`."""

    label: str
    what: str
    config: str | None = None
    tta: bool = False
    ensemble: bool = False


STEPS = (
    Step("Chapter 4's first mini-Xception", "Adam 1e-3, learning rate halved on plateaus, 40 "
         "epochs; rotation, shift, zoom and flips", config=FIRST_RUNS["Model 0"]),
    Step("+ schedule and regularisation", "same network; Adam 2e-3 with a 1-epoch warm-up and a "
         "cosine decay over 30 epochs, label smoothing 0.1, random erasing", config="recipe/mx-s0"),
    Step("+ a wider network", "VGG-style, 4 stages × 2 convolutions (1.77 M parameters); SGD "
         "with Nesterov momentum, weight decay 5e-4", config="recipe/vgg-net-s0"),
    Step("+ test-time augmentation", "average over the face, its mirror image and four 2-pixel "
         "shifts", tta=True),
    Step("+ an ensemble of models trained here", "members chosen by forward selection (with "
         "replacement) on PublicTest among the course's FER-2013 models (no test-time "
         "augmentation)",
         ensemble=True),
)

#: Models the ensemble step may choose from, besides the steps' own: every committed FER-2013
#: model of the course that keeps its weights (found, never trained, by this module)
ENSEMBLE_CANDIDATES = tuple(
    [f"ablation/cnn-d{d}-s{s}" for d in (3, 4, 5, 6) for s in (0, 1, 2)]
    + ["recipe/mx-s1", "recipe/mx-cb-s0"])

#: The targets of the models issue, on PrivateTest (fractions) and TFLite ms per face
TARGETS = {"single model": 0.68, "ensemble or TTA": 0.71, "FERPlus, majority labels": 0.84,
           "real-time model": 0.66, "real-time ms per face": 0.5}

#: The campaign's run that stretches one of the recipe's steps (an entry of
#: :data:`fer_utils.campaign.QUEUE`): ``(the step's config, the longer run's config)``, the same
#: network and recipe over 100 epochs instead of 30 (:func:`longer_schedule`)
LONGER_RUN = ("recipe/vgg-net-s0", "recipe/vgg-net-long")

#: The trained models each single-model target is chosen among (on PublicTest, as the
#: protocol chooses): the one list the scorecard (Chapter 8) and Chapter 4b's distance table
#: both read (:func:`chosen_on_public`). A name with no finished run yet is left out, so a
#: campaign run counts from the day it ends.
TARGET_MODELS = {
    "single model": tuple(dict.fromkeys(
        [s.config for s in STEPS if s.config] + [LONGER_RUN[1], MODELS["Model 0"]])),
    "FERPlus, majority labels": tuple(dict.fromkeys(
        [MODELS["Model 2"], MODELS["Model 3"], "realtime/mx-ref-ferplus"])),
    "real-time model": tuple(dict.fromkeys(
        [MODELS["Model 0"], FIRST_RUNS["Model 0"], "recipe/mx-s0", "recipe/mx-s1",
         "recipe/mx-cb-s0", "realtime/mx-ref", "realtime/mx-ref-affine",
         "realtime/mx-distilled"])),
}


#: The stored ensembles (one model with test-time augmentation counts as one) the ensemble
#: target is chosen among, on PublicTest, and what each is: the recipe's two steps, and the
#: campaign's closing ensemble once it has been chosen. The scorecard and Chapter 4b read it
#: (:func:`chosen_ensemble`).
TARGET_ENSEMBLES = {
    train.TrainConfig.named(next(STEPS[i - 1].config for i, s in enumerate(STEPS) if s.tta)).name
    + "-tta": "test-time augmentation of the recipe's wider network",
    "recipe-ensemble": "the recipe's ensemble, chosen on PublicTest",
    FINAL_ENSEMBLE[0]: "the campaign's ensemble, ten crops",
}


def chosen_ensemble(ds, *, have: list[dict] = ()) -> tuple[str, dict] | None:
    """The ensemble behind the ensemble target: among :data:`TARGET_ENSEMBLES` stored for
    ``ds``'s data (``have``: metrics of ensembles the caller holds already, e.g. the recipe's
    steps; the others are looked up, committed or built before, never built here), the best
    on PublicTest; ``(name, metrics)``, or None when there is none."""
    held, found = {m["name"]: m for m in have}, {}
    for name in TARGET_ENSEMBLES:
        m = held.get(name) or stored_ensemble(name, ds)
        if m is not None:
            found[name] = m
    if not found:
        return None
    best = max(found, key=lambda n: Scores(found[n]).accuracy("PublicTest"))
    return best, found[best]


def stored_ensemble(name: str, ds, **match) -> dict | None:
    """Metrics of the ensemble ``name`` stored for ``ds``'s data (``match``: what
    :func:`fer_utils.ensemble.find` must also match), the book's committed one first, else the
    reader's; None if neither has it."""
    return next((m for root in paths.lookup_dirs()
                 if (m := ensemble.find(root, name, DataRef.of(ds), **match)) is not None), None)


def _finished(names, data: DataRef, roots) -> dict[str, Artifact]:
    """The finished artifact of every named training config on ``data`` found under one of
    ``roots`` (the first that has it): looked up, never trained."""
    out = {}
    for name in names:
        config = train.TrainConfig.named(name)
        art = next((a for root in roots
                    if (a := experiment.find_artifact(config, data, root)) is not None), None)
        if art is not None:
            out[name] = art
    return out


def chosen_on_public(target: str, ds, *, have: dict[str, Artifact] | None = None
                     ) -> tuple[str, Artifact] | None:
    """The model behind ``target`` (a key of :data:`TARGET_MODELS`): among its models with a
    finished run on ``ds``'s data, the best on PublicTest; ``(config name, artifact)``, or
    None when none has run. ``have``: config name → artifact the caller holds already (a
    chapter's runs, quick ones in quick mode); the others are looked up, committed or trained
    before, and never trained here."""
    have = {n: a for n, a in (have or {}).items() if n in TARGET_MODELS[target]}
    found = {**_finished([n for n in TARGET_MODELS[target] if n not in have], DataRef.of(ds),
                         paths.lookup_dirs()), **have}
    if not found:
        return None
    best = max(found, key=lambda n: found[n].scores.accuracy("PublicTest"))
    return best, found[best]


def model_label(name: str) -> str:
    """How the chapters name a course model: its recipe step, or its place in Chapter 4
    (``"Chapter 4's Model 0"``), else its config name.

    >>> model_label("recipe/vgg-net-s0"), model_label(MODELS["Model 2"])
    ('+ a wider network', "Chapter 4's Model 2")
    """
    steps = {s.config: s.label for s in STEPS if s.config}
    places = {config: f"Chapter 4's {place}" for place, config in MODELS.items()}
    return steps.get(name) or places.get(name) or name


def step_artifacts(ds, *, quick: dict | None = None) -> dict[str, Artifact | dict]:
    """The artifact of every step on ``ds`` (committed, else trained: quick mode trains the
    short version), and for a TTA or ensemble step the ensemble's metrics (committed, else
    scored now)."""
    out, previous, trained = {}, None, []
    for step in STEPS:
        if step.tta:
            out[step.label] = tta_metrics(previous, ds)
        elif step.ensemble:
            out[step.label] = ensemble_metrics(trained, ds)
        else:
            previous = train.load_or_train(train.TrainConfig.named(step.config), ds, quick=quick,
                                           progress=False)
            out[step.label] = previous
            trained.append(previous)
    return out


def ensemble_candidates(steps: list[Artifact], ds) -> list[Path]:
    """The steps' artifacts and every :data:`ENSEMBLE_CANDIDATES` artifact committed for
    ``ds`` (in that order), keeping only models trained on FER-2013's labels with no mask."""
    found = _finished(ENSEMBLE_CANDIDATES, DataRef.of(ds), (paths.committed_dir(),)).values()
    return [a.path for a in [*steps, *found]
            if a.config.labels == "fer" and a.config.mask == "none"]


def ensemble_metrics(steps: list[Artifact], ds) -> dict:
    """Metrics of the ensemble chosen on PublicTest (:func:`fer_utils.ensemble.select`) among
    :func:`ensemble_candidates`: the committed one if it was chosen among the same
    candidates, else chosen and scored now (kept in the artifacts folder)."""
    candidates = ensemble_candidates(steps, ds)
    names = [c.name for c in candidates]
    found = stored_ensemble("recipe-ensemble", ds, candidates=names)
    if found is not None:
        return found
    folder = ensemble.select("recipe-ensemble", candidates, ds, root=paths.artifacts_dir())
    return json.loads((Path(folder) / "metrics.json").read_text())


def tta_metrics(art: Artifact, ds) -> dict:
    """Metrics of ``art``'s model with test-time augmentation: the committed ensemble artifact
    naming it as its one member if there is one, else scored now and kept in the artifacts
    folder (quick mode: the cache)."""
    found = stored_ensemble(f"{art.config.name}-tta", ds, members=[art.path.name], tta=True)
    if found is not None:
        return found
    folder = ensemble.build(f"{art.config.name}-tta", [art.path], ds, tta=True,
                            root=paths.artifacts_dir())
    return json.loads((Path(folder) / "metrics.json").read_text())


def _metrics(x: Artifact | dict) -> dict:
    return x.metrics if isinstance(x, Artifact) else x


def step_table(results: dict) -> pd.DataFrame:
    """One row per step: PublicTest and PrivateTest accuracy (%), the PublicTest gain over the
    step before (points), epochs and seconds per epoch of its training."""
    rows, before = [], None
    for step in STEPS:
        m = _metrics(results[step.label])
        s = Scores(m)
        public = 100 * s.accuracy("PublicTest")
        rows.append({"step": step.label, "what changes": step.what,
                     "parameters": int(m.get("params", 0)),
                     "PublicTest (%)": public,
                     "gain on PublicTest (points)": None if before is None else public - before,
                     "PrivateTest (%)": 100 * s.accuracy("PrivateTest"),
                     "epochs": m.get("epochs_trained"),
                     "s per epoch": m.get("seconds_per_epoch")})
        before = public
    return pd.DataFrame(rows).set_index("step")


def distance_to_targets(measured: dict) -> pd.DataFrame:
    """``measured``: target name → (measured value, what was measured). Returns target,
    measured, distance (positive: still short) and the model behind each figure."""
    rows = {}
    for name, (value, source) in measured.items():
        goal = TARGETS[name]
        lower_is_better = name.endswith("ms per face")
        short = None if value is None else (value - goal) if lower_is_better else (goal - value)
        scale = 1 if lower_is_better else 100
        digits = 2 if lower_is_better else 1      # ms to two places; % as the prose gives it
        rows[name] = {"target": scale * goal,
                      "measured": None if value is None else round(scale * value, digits),
                      "short by": None if value is None else round(max(0.0, scale * short), digits),
                      "met": None if value is None else short <= 0, "from": source}
    return pd.DataFrame(rows).T


#: How the prose names each accuracy target's model (:func:`describe_targets`)
TARGET_NAMES = {"single model": "the best single model", "ensemble or TTA": "the best ensemble "
                "or test-time augmentation", "FERPlus, majority labels": "the FERPlus "
                "model", "real-time model": "the best real-time model"}


def describe_targets(distance: pd.DataFrame) -> str:
    """The accuracy targets of :func:`distance_to_targets`'s table in words: those met, then
    how far each other one is short, naming the model behind each figure. Targets without a
    measurement and the speed target are left out.

    >>> d = distance_to_targets({"single model": (0.671, "Model 0"),
    ...                          "real-time model": (0.671, "Model 0"),
    ...                          "ensemble or TTA": (0.65, "TTA")})
    >>> describe_targets(d)
    'The best single model (Model 0) is 0.9 points short of 68 %, and the best ensemble or \
test-time augmentation (TTA) 6.0 points short of 71 %. The best real-time model \
(Model 0) meets its target of 66 % (67.1 %).'
    """
    rows = distance.loc[[n for n in TARGET_NAMES if n in distance.index
                         and distance.loc[n, "measured"] is not None]].copy()
    rows["from"] = rows["from"].astype(str).str.lstrip("+ ")   # a recipe step's "+ ..." label
    met = [n for n in rows.index if rows.loc[n, "met"]]
    short = [n for n in rows.index if not rows.loc[n, "met"]]
    parts = []
    if short:
        said = [f"{TARGET_NAMES[n]} ({rows.loc[n, 'from']}) {'is ' if i == 0 else ''}"
                f"{rows.loc[n, 'short by']:.1f} points short of {rows.loc[n, 'target']:.0f} %"
                for i, n in enumerate(short)]
        text = said[0] if len(said) == 1 else ", ".join(said[:-1]) + ", and " + said[-1]
        parts.append(text[0].upper() + text[1:] + ".")
    if met:
        said = [f"{TARGET_NAMES[n]} ({rows.loc[n, 'from']}) meets its target of "
                f"{rows.loc[n, 'target']:.0f} % ({rows.loc[n, 'measured']:.1f} %)" for n in met]
        text = " and ".join(said)
        parts.append(text[0].upper() + text[1:] + ".")
    else:
        parts.insert(0, "No accuracy target is met.")
    return " ".join(parts)


def cost_hours(runs: int, epochs: int, seconds_per_epoch: float) -> float:
    """Hours of training for ``runs`` runs of ``epochs`` epochs at a measured rate."""
    if runs < 0 or epochs < 0 or seconds_per_epoch <= 0:
        raise ValueError("runs and epochs must be >= 0 and seconds_per_epoch > 0")
    return runs * epochs * seconds_per_epoch / 3600


#: The PublicTest accuracies Chapter 4b's time-to-accuracy table asks about (the issue's
#: milestones: 60 %, 63 %, the ``fer`` package's 65.5 % and the course's 68 %)
MILESTONES = (0.60, 0.63, 0.655, 0.68)


def time_to_accuracy(history: dict, milestones=MILESTONES) -> dict[float, float | None]:
    """CPU-hours a run needed to first reach each PublicTest accuracy in ``milestones``, from
    its history (``val_accuracy`` and the cumulative ``cpu_seconds`` that every run records
    since the campaign issue); None for a milestone it never reached.

    Raises
    ------
    ValueError
        The history has no CPU seconds (a run from before they were recorded).

    >>> time_to_accuracy({"val_accuracy": [0.5, 0.61, 0.64], "cpu_seconds": [3600, 7200, 10800]},
    ...                  (0.6, 0.63, 0.7))
    {0.6: 2.0, 0.63: 3.0, 0.7: None}
    """
    if not _has_cpu_record(history):
        raise ValueError("this run's history has no CPU seconds per epoch (recorded only since "
                         "the campaign issue): train it again to measure its time to accuracy")
    acc, cpu = history["val_accuracy"], history["cpu_seconds"]
    return {m: next((round(c / 3600, 2) for a, c in zip(acc, cpu) if a >= m), None)
            for m in milestones}


def _has_cpu_record(history: dict) -> bool:
    """Cumulative CPU seconds recorded for every epoch of the run."""
    cpu, acc = history.get("cpu_seconds") or [], history.get("val_accuracy") or []
    return bool(cpu) and len(cpu) == len(acc)


def timed_runs(ds, root: Path | None = None) -> dict[str, Artifact]:
    """The finished runs on ``ds``'s data and FER-2013's own labels whose history records
    cumulative CPU seconds per epoch (the campaign's runs, and every run trained since the
    campaign issue), by config name: the runs whose PublicTest accuracy the milestones (and
    the `fer` package's figure) are comparable with; a FERPlus run's accuracy is on other
    labels. ``root``: the artifacts folder (default: the committed one)."""
    root = Path(root) if root is not None else paths.committed_dir()
    out = {}
    for folder in experiment.finished_metrics(root, DataRef.of(ds)):
        try:
            art = Artifact.from_folder(folder, train.TrainConfig)
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            continue  # not an image-model run, or not a finished one
        if art.config.labels == "fer" and _has_cpu_record(art.history):
            out[art.config.name] = art
    return out


def time_to_accuracy_table(runs: dict[str, Artifact], milestones=MILESTONES) -> pd.DataFrame:
    """One row per run: the CPU-hours it needed to first reach each PublicTest milestone
    (NaN: never reached), its epochs, its CPU-hours in all and its best PublicTest accuracy."""
    cols = [f"{100 * m:g} %" for m in milestones]
    rows = {}
    for name, art in runs.items():
        reach = time_to_accuracy(art.history, milestones)
        h = art.history
        rows[name] = {**{c: reach[m] for c, m in zip(cols, milestones)},
                      "epochs": len(h["val_accuracy"]),
                      "CPU-hours in all": round(h["cpu_seconds"][-1] / 3600, 2),
                      "best PublicTest (%)": round(100 * max(h["val_accuracy"]), 1)}
    table = pd.DataFrame.from_dict(rows, orient="index",
                                   columns=cols + ["epochs", "CPU-hours in all",
                                                   "best PublicTest (%)"])
    table.columns.name = "CPU-hours to reach PublicTest"
    return table.astype({c: float for c in cols})


def longer_schedule(short: Artifact, long: Artifact, window: int = 10) -> dict:
    """What a longer schedule bought one network: ``short`` and ``long`` are two finished runs
    of the same network (:data:`LONGER_RUN`), ``long`` over more epochs. Accuracies in %, gains
    in points: ``public``/``private`` of each (``short_*``, ``long_*``), ``gain_public``,
    ``gain_private``, ``epochs`` and ``kept`` (the epoch kept) of each, the long run's
    ``cpu_hours`` (None if not recorded), its last epoch's ``train_final`` (on augmented faces),
    ``public_final`` and learning rate ``rate_final``, and ``late_gain``: its best PublicTest
    accuracy in the last ``window`` epochs minus its best before them (about zero or below: it
    had stopped improving)."""
    if short.config.model != long.config.model:
        raise ValueError(f"{short.config.name} and {long.config.name} train different networks "
                         f"({short.config.model}, {long.config.model})")
    val = 100 * np.asarray(long.history["val_accuracy"], float)
    if len(val) <= window:
        raise ValueError(f"{long.config.name}: {len(val)} epochs, not more than the window "
                         f"of {window}")
    out = {}
    for tag, art in (("short", short), ("long", long)):
        out |= {f"{tag}_public": 100 * art.scores.accuracy("PublicTest"),
                f"{tag}_private": 100 * art.scores.accuracy("PrivateTest"),
                f"{tag}_epochs": art.metrics["epochs_trained"],
                f"{tag}_kept": art.metrics.get("best_epoch")}
    cpu = long.history.get("cpu_seconds")
    return out | {
        "gain_public": out["long_public"] - out["short_public"],
        "gain_private": out["long_private"] - out["short_private"],
        "cpu_hours": cpu[-1] / 3600 if cpu else None,
        "train_final": 100 * float(long.history["accuracy"][-1]), "public_final": float(val[-1]),
        "late_gain": float(val[-window:].max() - val[:-window].max()), "window": window,
        "rate_final": float(long.history["lr"][-1]) if "lr" in long.history else None}


def describe_longer(got: dict | None, target: float = TARGETS["single model"]) -> str:
    """:func:`longer_schedule`'s measurements in words (``got`` None: the longer run has not
    finished), with its distance to the single-model ``target`` on PrivateTest.

    >>> describe_longer(None)[:27]
    'It has not finished yet: `m'
    >>> print(describe_longer({"short_epochs": 30, "long_epochs": 100, "long_kept": 97,
    ...     "cpu_hours": 5.5, "long_public": 67.0, "long_private": 68.2, "gain_public": 5.2,
    ...     "gain_private": 5.6, "train_final": 66.0, "public_final": 66.9, "late_gain": 0.8,
    ...     "window": 10, "rate_final": 0.0}))  # doctest: +NORMALIZE_WHITESPACE
    After 100 epochs (5.5 CPU-hours) it keeps epoch 97, chosen on PublicTest, and scores 67.0 %
    there and 68.2 % on PrivateTest: +5.2 and +5.6 points over the 30-epoch step. In its last
    epoch its training accuracy, on augmented faces, was 66.0 %, below its PublicTest accuracy
    (66.9 %): even over 100 epochs it does not overfit them. In the last 10 epochs, where the
    rate falls to zero, its best PublicTest accuracy rose 0.8 points above its best before them:
    the end of the schedule still paid. It meets the single-model target of 68 %.
    """
    if got is None:
        return ("It has not finished yet: `make campaign-status` says where it stands, and until "
                "it has, the figure shows the recipe's step alone.")
    g = got
    hours = "" if g["cpu_hours"] is None else f" ({g['cpu_hours']:.1f} CPU-hours)"
    gap, public = g["train_final"] - g["public_final"], f"({g['public_final']:.1f} %)"
    fit = (f"below its PublicTest accuracy {public}: even over {g['long_epochs']} epochs it "
           "does not overfit them" if gap < -0.5 else
           f"level with its PublicTest accuracy {public}" if gap <= 0.5 else
           f"above its PublicTest accuracy {public}: it fits the faces it learns from better "
           "than new ones")
    late = (f"its best PublicTest accuracy rose {g['late_gain']:.1f} points above its best "
            "before them: the end of the schedule still paid" if g["late_gain"] > 0.3 else
            f"its best PublicTest accuracy was {g['late_gain']:+.1f} points from its best before "
            "them: the run had stopped improving")
    verdict = _verdict(g["long_private"], target, "single-model")
    falls = (", where the rate falls to zero" if g.get("rate_final") == 0 else
             "" if g.get("rate_final") is None else f", where the rate falls to {g['rate_final']:.2g}")
    return (f"After {g['long_epochs']} epochs{hours} it keeps epoch {g['long_kept']}, chosen on "
            f"PublicTest, and scores {g['long_public']:.1f} % there and "
            f"{g['long_private']:.1f} % on PrivateTest: {g['gain_public']:+.1f} and "
            f"{g['gain_private']:+.1f} points over the {g['short_epochs']}-epoch step. In its "
            f"last epoch its training accuracy, on augmented faces, was {g['train_final']:.1f} %, "
            f"{fit}. In the last {g['window']} epochs{falls}, {late}. "
            f"{verdict}")


def _verdict(percent: float, target: float, what: str) -> str:
    """One sentence: whether ``percent`` (PrivateTest, %) meets the ``what`` target."""
    short = 100 * target - percent
    return (f"It meets the {what} target of {100 * target:.0f} %." if short <= 0 else
            f"It is {short:.1f} points short of the {what} target of {100 * target:.0f} %.")


def _member_folder(name: str) -> Path:
    """An ensemble member's artifact folder: the book's committed one, else the reader's."""
    for root in paths.lookup_dirs():
        if (root / name / "metrics.json").is_file():
            return root / name
    raise FileNotFoundError(f"ensemble member {name}: no artifact in the book or the cache")


def members_table(ens: dict) -> pd.DataFrame:
    """One row per distinct member of a stored ensemble (``ens``: its ``metrics.json``), most
    drawn first: its draws, its weight in the average and its PublicTest accuracy alone (%,
    one view, from its artifact)."""
    draws = pd.Series(ens["ensemble"]).value_counts()
    alone = [100 * Scores(json.loads((_member_folder(n) / "metrics.json").read_text()))
             .accuracy("PublicTest") for n in draws.index]
    return pd.DataFrame({"draws": draws, "weight in the average": draws / draws.sum(),
                         "PublicTest alone (%)": alone})


def describe_closing(ens: dict | None, single: tuple[str, Artifact],
                     target: float = TARGETS["ensemble or TTA"], *, to_come=()) -> str:
    """The campaign's closing ensemble (``ens``: its metrics, None while it has not been
    chosen) in words, against the best single model ``single`` (config name, artifact) and the
    ensemble ``target`` on PrivateTest; ``to_come``: the campaign's runs that may still join it
    (:func:`fer_utils.campaign.still_to_join`)."""
    if ens is None:
        return ("The campaign has not chosen it yet: it does so once every run whose model can "
                "join it has ended (`make campaign-status` says which).")
    name, art = single
    pub, priv = (100 * Scores(ens).accuracy(s) for s in ("PublicTest", "PrivateTest"))
    n_distinct = len(set(ens["ensemble"]))
    views = len(inference.tta_views(np.zeros((1, 48, 48)), kind=ens["tta"])) if ens["tta"] else 1
    return (f"Among {len(ens['selection']['candidates'])} models it kept {n_distinct} in "
            f"{len(ens['ensemble'])} draws (the table gives each one's share), each seen "
            f"through {views} view{'s' if views > 1 else ''}. It scores {pub:.1f} % on "
            f"PublicTest and {priv:.1f} % on PrivateTest: "
            f"{pub - 100 * art.scores.accuracy('PublicTest'):+.1f} and "
            f"{priv - 100 * art.scores.accuracy('PrivateTest'):+.1f} points over the best "
            f"single model ({model_label(name).lstrip('+ ')}, one view). "
            + _verdict(priv, target, "ensemble") + _to_come(to_come))


def agreement(y: np.ndarray, probs_a: np.ndarray, probs_b: np.ndarray) -> dict:
    """How much two models' predictions on the same faces differ, the reason an average of
    them gains or not: each one's accuracy (``a``, ``b``), that of their mean probabilities
    (``mean``), the fraction of faces where they predict the same class (``same``) and, of the
    faces one of them gets wrong, the fraction the other gets right (``rescued``).

    >>> y = np.array([0, 1, 1, 0])
    >>> a = np.array([[.9, .1], [.6, .4], [.2, .8], [.7, .3]])
    >>> b = np.array([[.8, .2], [.3, .7], [.4, .6], [.4, .6]])
    >>> {k: round(v, 2) for k, v in agreement(y, a, b).items()}
    {'a': 0.75, 'b': 0.75, 'mean': 1.0, 'same': 0.5, 'rescued': 1.0}
    """
    y = np.asarray(y)
    if not len(y) == len(probs_a) == len(probs_b):
        raise ValueError(f"{len(y)} labels for {len(probs_a)} and {len(probs_b)} predictions")
    pa, pb = np.asarray(probs_a).argmax(axis=1), np.asarray(probs_b).argmax(axis=1)
    ok_a, ok_b = pa == y, pb == y
    either_wrong = ~ok_a | ~ok_b
    return {"a": float(ok_a.mean()), "b": float(ok_b.mean()),
            "mean": float(((np.asarray(probs_a) + probs_b).argmax(axis=1) == y).mean()),
            "same": float((pa == pb).mean()),
            "rescued": float((ok_a ^ ok_b)[either_wrong].mean()) if either_wrong.any() else 0.0}


def describe_agreement(stats: dict, names: tuple[str, str], *, same_network: bool,
                       next_best: tuple[str, float] | None = None) -> str:
    """One paragraph on :func:`agreement`'s ``stats`` for the models ``names`` on PublicTest
    (one view each): why averaging them gains what it gains. ``same_network``: whether they are
    one network trained twice (seeds); ``next_best``: the strongest other model's name and its
    PublicTest accuracy alone (0-1)."""
    a, b = (f"`{n}`" for n in names)
    gain = 100 * (stats["mean"] - max(stats["a"], stats["b"]))
    alike = stats["same"] >= 0.8
    return (f"Why so little? Its two most-drawn members, {a} and {b}, are "
            + ("the same network trained twice" if same_network else "two different networks")
            + f". On PublicTest (one view each) they score {100 * stats['a']:.1f} and "
            f"{100 * stats['b']:.1f} % and predict the same class for "
            f"{100 * stats['same']:.1f} % of the faces; of the faces one of them gets wrong, "
            f"the other gets {100 * stats['rescued']:.1f} % right, and the mean of their "
            f"probabilities scores {100 * stats['mean']:.1f} % ({gain:+.1f} points over the "
            f"better one)"
            + (": they make largely the same mistakes" if alike else "")
            + ("." if next_best is None else
               f". The strongest other member, `{next_best[0]}`, is "
               f"{100 * (min(stats['a'], stats['b']) - next_best[1]):.1f} points behind the "
               f"weaker of the two alone."))


def explain_closing(ens: dict, ds) -> tuple[dict, str]:
    """Why a stored ensemble (``ens``: its ``metrics.json``, at least two distinct members)
    gains what it gains over its members: :func:`agreement` of its two most-drawn members on
    PublicTest of ``ds`` (one view each, the models loaded from their artifacts) and
    :func:`describe_agreement`'s paragraph, naming the strongest other member alone."""
    drawn = members_table(ens)
    if len(drawn) < 2:
        raise ValueError("an ensemble of one model: nothing to compare")
    names = tuple(drawn.index[:2])
    y, (pa, pb) = ensemble.split_probabilities([_member_folder(n) for n in names], ds)
    stats = agreement(y, pa, pb)
    configs = {n: json.loads((_member_folder(n) / "metrics.json").read_text())["config"]
               for n in drawn.index}
    label = {n: c.get("name") or n for n, c in configs.items()}   # its config's name
    same = len({json.dumps([configs[n]["model"], configs[n].get("model_args", {})],
                           sort_keys=True) for n in names}) == 1
    rest = drawn["PublicTest alone (%)"].iloc[2:]
    next_best = (label[rest.idxmax()], rest.max() / 100) if len(rest) else None
    return stats, describe_agreement(stats, (label[names[0]], label[names[1]]),
                                     same_network=same, next_best=next_best)


#: Benchmark (:func:`fer_utils.bench.load`) that ``scripts/ensemble_headroom.py`` writes: what
#: Chapter 7's networks, of other families and too large to commit, would add to the closing
#: ensemble's selection (:func:`describe_headroom`)
HEADROOM = "ensemble-headroom"


def _times(n: int) -> str:
    """``once``, ``twice``, ``3 times``."""
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def describe_headroom(got: dict | None, *, pays: float = 0.005) -> str:
    """One paragraph on :data:`HEADROOM` (``got``; empty when it was not measured): whether a
    network of another family would pay in the closing ensemble where a second seed did not.
    For each extra network: its PublicTest accuracy alone, its :func:`agreement` with the
    strongest committed model, and what putting it in the selection's pool changes
    (:func:`fer_utils.ensemble.what_it_adds`); the conclusion names a gain of at least
    ``pays`` (accuracy, PublicTest) as one that pays."""
    if not got:
        return ""
    views = {False: "one view", True: "six views", "ten-crop": "ten views"}[got["tta"]]
    label = got["names"]   # artifact folder -> its config's name
    best = f"`{label[got['best_committed']]}`"
    parts = []
    for folder, agree in got["agreement_with_best"].items():
        r = got["extras"][folder]
        parts.append(
            f"`{label[folder]}` scores {100 * agree['public_alone']:.1f} % alone, predicts "
            f"the same class as {best} for {100 * agree['same']:.1f} % of the faces (of the faces "
            f"one of the two gets wrong, the other gets {100 * agree['rescued']:.1f} % right, and "
            f"the mean of the two scores {100 * agree['mean']:.1f} %); "
            + (f"in the pool it is drawn {_times(r['draws_of_extra'][0])} and the selection "
               f"moves from {100 * r['without']:.2f} to {100 * r['with']:.2f} % on PublicTest "
               f"({100 * r['private_without']:.1f} to {100 * r['private_with']:.1f} % on "
               "PrivateTest)" if r["draws_of_extra"][0] else
               f"in the pool it is never drawn (the selection stays at "
               f"{100 * r['without']:.2f} % on PublicTest)"))
    gain = max(r["gain"] for r in got["extras"].values())
    both = [r for k, r in got["extras"].items() if " + " in k]
    return ("Would a network of another family pay where a second seed did not? Chapter 7's "
            "large networks cannot join the closing ensemble (their weights are too large to "
            "commit), but with their models on the machine they can answer "
            f"(`scripts/ensemble_headroom.py`, every model seen through {views}): "
            + "; ".join(parts)
            + (f"; with both, {100 * both[0]['without']:.2f} to {100 * both[0]['with']:.2f} %"
               if both else "")
            + ". " + (f"A network of another family gains {100 * gain:.1f} points on PublicTest "
                      "where a second seed did not: a committable one of that kind is what "
                      "could still close the distance." if gain >= pays else
                      f"Even a network of another family gains {100 * gain:.1f} "
                      "points on PublicTest: the selection among the course's networks has "
                      "converged, short of the target (one member is left untried: a network "
                      f"of another family as strong as {best} alone)."))


def _to_come(runs) -> str:
    """The sentence on the campaign's runs that may still join the closing ensemble."""
    if not runs:
        return ""
    names = " and ".join(f"`{r}`" for r in runs)
    return (f" The campaign trains {names} to join it, and chooses the ensemble again when "
            f"{'it ends' if len(runs) == 1 else 'they end'}.")
