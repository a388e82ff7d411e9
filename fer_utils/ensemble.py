"""Ensembles and test-time augmentation of trained models, kept as artifacts of their own.

An ensemble averages the class probabilities of its members (artifacts under ``data/``
that keep their model), each optionally over test-time views
(:func:`fer_utils.inference.predict_proba_tta`). Its folder
``data/ensembles/<name>-<hash>/`` holds ``metrics.json`` with the members' artifact names
under ``"ensemble"``, so an ensemble's number is never mistaken for a single model's; one
member with ``"tta": true`` is a single model with test-time augmentation. Nothing is
trained: members are chosen beforehand (on PublicTest), PrivateTest is scored once.
:func:`select` chooses them from candidates by forward selection on PublicTest and records
how (``"selection"`` in ``metrics.json``).
``python -m fer_utils evaluate --model data/ensembles/<run>`` scores it again.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fer_utils import metrics as M
from fer_utils import paths
from fer_utils.dataset import FERDataset
from fer_utils.experiment import DataRef, finished_metrics, model_location
from fer_utils.inference import ensemble_proba, load_model_file, model_file, tta_kind
from fer_utils.labels import evaluation_labels

SPLITS = ("PublicTest", "PrivateTest")
#: An ensemble's class probabilities on every image of its data (:func:`write_probabilities`):
#: the soft targets a student learns from (:attr:`fer_utils.train.TrainConfig.teacher`).
PROBABILITIES = "probabilities.npz"
#: how :func:`select` chooses (stored with its ensembles, so a changed rule is not mistaken
#: for the same choice)
SELECTION_METHOD = "forward selection with replacement, best prefix"


def _members(folders: list[str | Path]) -> list[tuple[Path, dict]]:
    out = []
    for f in folders:
        folder = Path(f)
        stored = folder / "metrics.json"
        if not stored.is_file():
            raise FileNotFoundError(f"{folder.name}: not a finished artifact (no metrics.json)")
        out.append((folder, json.loads(stored.read_text())))
    labels = {m["config"].get("labels", "fer") for _, m in out}
    if len(labels) != 1 or {m["config"].get("mask", "none") for _, m in out} != {"none"}:
        raise ValueError("ensemble members must share one label set and use no mask")
    return out


def score(folders: list[str | Path], ds: FERDataset, *, tta: bool | str = False,
          splits=SPLITS) -> dict:
    """Metrics of the ensemble of ``folders`` on each split (all of its images), each member
    over the test-time views ``tta`` names (:func:`fer_utils.inference.tta_kind`)."""
    members = _members(folders)
    labels = members[0][1]["config"].get("labels", "fer")
    y, keep, names = evaluation_labels(ds, labels)
    unique = list(dict.fromkeys(folder for folder, _ in members))  # a repeated member weighs more
    counts = [sum(folder == u for folder, _ in members) for u in unique]
    models = [load_model_file(model_file(folder)) for folder in unique]
    out = {}
    for split in splits:
        idx = np.flatnonzero((ds.usage == split) & keep)
        probs = np.average([ensemble_proba([m], ds.images[idx], tta=tta) for m in models],
                           axis=0, weights=counts)
        out[split] = M.classification_metrics(y[idx], probs.argmax(axis=1), names)
    return out


def split_probabilities(folders: list[str | Path], ds: FERDataset, split: str = "PublicTest",
                        *, tta: bool | str = False) -> tuple[np.ndarray, list[np.ndarray]]:
    """The labels of ``split`` and each member's class probabilities on it (averaged over the
    test-time views ``tta`` names)."""
    members = _members(folders)
    y, keep, _ = evaluation_labels(ds, members[0][1]["config"].get("labels", "fer"))
    idx = np.flatnonzero((ds.usage == split) & keep)
    if len(idx) == 0:
        raise ValueError(f"no {split} image to choose ensemble members on")
    probs = [ensemble_proba([load_model_file(model_file(folder))], ds.images[idx], tta=tta)
             for folder, _ in members]
    return y[idx], probs


def greedy_select(y: np.ndarray, probs: list[np.ndarray], *, steps: int = 20,
                  ) -> tuple[list[int], list[float]]:
    """Forward selection of ensemble members with replacement (Caruana et al., "Ensemble
    selection from libraries of models", 2004).

    Starts from the most accurate candidate; at each of ``steps`` steps adds the candidate
    (possibly one already in: a member added twice counts twice in the average) that gives the
    mean probabilities the best accuracy, even when that is lower than before; returns the
    shortest prefix of that path with the best accuracy: the chosen indices, in order, and the
    accuracy after each.

    >>> y = np.array([0, 1, 1])
    >>> p = [np.array([[.9, .1], [.6, .4], [.2, .8]]), np.array([[.4, .6], [.1, .9], [.6, .4]])]
    >>> chosen, trace = greedy_select(y, p)
    >>> chosen, [round(a, 2) for a in trace]
    ([0, 1], [0.67, 1.0])
    """
    if not probs:
        raise ValueError("no candidate to select from")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, not {steps}")
    y = np.asarray(y)
    accuracy = [float(np.mean(p.argmax(axis=1) == y)) for p in probs]
    chosen = [int(np.argmax(accuracy))]
    trace = [accuracy[chosen[0]]]
    total = probs[chosen[0]].astype(np.float64)
    for _ in range(steps):
        scores = [float(np.mean((total + p).argmax(axis=1) == y)) for p in probs]
        best = int(np.argmax(scores))
        chosen.append(best)
        trace.append(scores[best])
        total = total + probs[best]
    keep = int(np.argmax(trace)) + 1  # the first (shortest) prefix with the best accuracy
    return chosen[:keep], trace[:keep]


def what_it_adds(y: np.ndarray, probs: list[np.ndarray], extra: list[np.ndarray], *,
                 steps: int = 20) -> dict:
    """What the candidates ``extra`` would add to a forward selection among ``probs``
    (:func:`greedy_select`, both on the same faces ``y``): the best accuracy without them
    (``without``) and with them in the pool (``with``), ``gain`` (with minus without), how
    many members the two selections have (``members_without``, ``members_with``) and how many
    draws of the second go to each extra (``draws_of_extra``). Both selections are returned
    too (``chosen_without``, ``chosen_with``: indices into ``probs + extra``).

    >>> y = np.array([0, 1, 1, 0])
    >>> p = [np.array([[.9, .1], [.6, .4], [.2, .8], [.4, .6]])]
    >>> e = [np.array([[.6, .4], [.1, .9], [.45, .55], [.8, .2]])]
    >>> r = what_it_adds(y, p, e, steps=3)
    >>> r["without"], r["with"], r["draws_of_extra"]
    (0.5, 1.0, [1])
    """
    if not extra:
        raise ValueError("no extra candidate to weigh")
    chosen_without, trace_without = greedy_select(y, probs, steps=steps)
    chosen_with, trace_with = greedy_select(y, list(probs) + list(extra), steps=steps)
    return {"without": trace_without[-1], "with": trace_with[-1],
            "gain": trace_with[-1] - trace_without[-1],
            "members_without": len(chosen_without), "members_with": len(chosen_with),
            "draws_of_extra": [chosen_with.count(len(probs) + i) for i in range(len(extra))],
            "chosen_without": chosen_without, "chosen_with": chosen_with}


def select(name: str, candidates: list[str | Path], ds: FERDataset, *, steps: int = 20,
           tta: bool | str = False, root: Path | None = None) -> Path:
    """Choose members among ``candidates`` on PublicTest (:func:`greedy_select`), each seen
    through the test-time views ``tta`` names, then :func:`build` their ensemble with those
    views (PrivateTest scored once, at the end). A member chosen twice is listed twice (it
    weighs twice in the average). ``metrics.json`` also holds ``"selection"``: the candidates
    and the PublicTest accuracy after each addition."""
    tta_kind(tta)  # a name it does not know: one-line error before any scoring
    y, probs = split_probabilities(candidates, ds, "PublicTest", tta=tta)
    chosen, trace = greedy_select(y, probs, steps=steps)
    folder = build(name, [candidates[i] for i in chosen], ds, tta=tta, root=root)
    stored = json.loads((folder / "metrics.json").read_text())
    stored["selection"] = {"on": "PublicTest", "method": SELECTION_METHOD, "steps": steps,
                           "candidates": [Path(c).name for c in candidates],
                           "public_accuracy_after_each": trace}
    (folder / "metrics.json").write_text(json.dumps(stored, indent=1))
    return folder


def build(name: str, folders: list[str | Path], ds: FERDataset, *, tta: bool | str = False,
          root: Path | None = None) -> Path:
    """Score the ensemble and write ``<root>/ensembles/<name>-<hash>/metrics.json``; returns
    the folder. The hash covers the members, ``tta`` (``False``, ``True`` for the six views,
    or ``"ten-crop"``: :data:`fer_utils.inference.TTA_KINDS`) and the data fingerprint."""
    tta_kind(tta)  # a name it does not know: one-line error before any scoring
    members = _members(folders)
    ref = DataRef.of(ds)
    keys = [folder.name for folder, _ in members]
    blob = json.dumps({"members": keys, "tta": tta, "data": ref.fingerprint}, sort_keys=True)
    out = (root or paths.artifacts_dir()) / "ensembles" / (
        f"{name}-{ref.name}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}")
    result = {"name": name, "ensemble": keys, "tta": tta, "data": ref.name,
              "data_fingerprint": ref.fingerprint, "source": ds.source,
              "class_names": members[0][1]["class_names"],
              "params": int(sum(m.get("params", 0) for _, m in dict(members).items())),
              **score(folders, ds, tta=tta)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result, indent=1))
    return out


def members_of(folder: str | Path) -> tuple[list[Path], bool | str]:
    """The member folders (beside the ``ensembles`` folder) and ``tta`` of a stored ensemble
    (``False``, ``True`` for the six views, or a name in :data:`fer_utils.inference.TTA_KINDS`)."""
    folder = Path(folder)
    m = json.loads((folder / "metrics.json").read_text())
    root = folder.parent.parent
    tta = m.get("tta") or False
    return [root / key for key in m["ensemble"]], tta if isinstance(tta, str) else bool(tta)


def find(root: Path, name: str, data: DataRef, *, members: list[str] | None = None,
         tta: bool | str | None = None, candidates: list[str] | None = None) -> dict | None:
    """``metrics.json`` of the stored ensemble called ``name`` on ``data`` under
    ``root/ensembles`` (optionally with exactly these member artifact names and this ``tta``;
    or chosen by :func:`select`, with today's :data:`SELECTION_METHOD`, among exactly these
    ``candidates``), or None."""
    found = find_folder(root, name, data, members=members, tta=tta, candidates=candidates)
    return None if found is None else json.loads((found / "metrics.json").read_text())


def stored(root: Path, name: str, data: DataRef) -> dict[Path, dict]:
    """Every ensemble called ``name`` stored under ``root/ensembles`` for ``data``'s content:
    folder → its ``metrics.json``, sorted by folder."""
    out = {}
    for f in sorted((Path(root) / "ensembles").glob(f"{name}-{data.name}-*/metrics.json")):
        m = json.loads(f.read_text())
        if m.get("name") == name and m.get("data_fingerprint") == data.fingerprint:
            out[f.parent] = m
    return out


def find_folder(root: Path, name: str, data: DataRef, *, members: list[str] | None = None,
                tta: bool | str | None = None, candidates: list[str] | None = None
                ) -> Path | None:
    """The folder of the stored ensemble :func:`find` finds, or None."""
    for folder, m in stored(root, name, data).items():
        chosen = m.get("selection", {})
        if ((members is None or m.get("ensemble") == members)
                and (tta is None or tta_kind(m.get("tta")) == tta_kind(tta))
                and (candidates is None or (chosen.get("candidates") == candidates
                                            and chosen.get("method") == SELECTION_METHOD))):
            return folder
    return None


def labels_may_join(config: dict) -> bool:
    """Whether a model trained with ``config`` (a config as a dict) learned what an ensemble
    member must: FER-2013's own labels, with no mask."""
    return config.get("labels") == "fer" and config.get("mask", "none") == "none"


def candidates(root: str | Path, data: DataRef, *, students: bool = False) -> list[Path]:
    """Every finished artifact under ``root`` on ``data`` that can join an ensemble: trained on
    FER-2013's labels, with no mask, its model kept in the folder (sorted); with ``students``
    also the models that learned from a teacher (a teacher's own pool leaves them out)."""
    out = []
    for folder, m in finished_metrics(Path(root), data).items():
        config = m.get("config", {})
        if (labels_may_join(config) and (students or not config.get("teacher"))
                and model_location(folder, committed_only=True) is not None):
            out.append(folder)
    return out


@dataclass(frozen=True)
class Teacher:
    """A stored ensemble's class probabilities for every image of a dataset (rows in the
    dataset's order), and ``info`` (its name, folder and members) for a student's metrics."""

    probabilities: np.ndarray
    info: dict

    def distil(self, labels, weight: float, temperature: float = 1.0):
        """A label set (:class:`fer_utils.labels.LabelSet`) whose targets mix the teacher's
        probabilities in: ``weight`` of the teacher's, softened as ``p ** (1 / temperature)``
        renormalised, and ``1 - weight`` of the label set's own. Which images are kept and how
        a model is scored do not change.

        >>> from fer_utils.labels import LabelSet
        >>> s = LabelSet("fer", np.array([0]), np.array([[1.0, 0.0]]), np.array([True]),
        ...              ("a", "b"), np.array([0]), np.array([True]), ("a", "b"))
        >>> [round(float(v), 2) for v in Teacher(np.array([[0.2, 0.8]]), {}).distil(s, 0.5).targets[0]]
        [0.6, 0.4]
        """
        p = np.asarray(self.probabilities, np.float64)
        if p.shape != labels.targets.shape:
            raise ValueError(f"the teacher's probabilities have shape {p.shape}, the label "
                             f"set's targets {labels.targets.shape}: a teacher of the same "
                             "classes and images")
        soft = np.power(np.clip(p, 1e-12, None), 1.0 / temperature)
        soft /= soft.sum(axis=1, keepdims=True)
        targets = ((1 - weight) * labels.targets + weight * soft).astype(np.float32)
        return dataclasses.replace(labels, targets=targets)


def write_probabilities(folder: str | Path, ds: FERDataset, *, batch: int = 4096) -> Path:
    """Compute the ensemble's class probabilities (the members' weighted mean, as
    :func:`score` averages them) on every image of ``ds`` and store them beside its
    ``metrics.json`` (:data:`PROBABILITIES`, float16, with the data's fingerprint)."""
    folder = Path(folder)
    members_, _ = members_of(folder)
    unique = list(dict.fromkeys(members_))
    counts = [members_.count(u) for u in unique]
    models = [load_model_file(model_file(u)) for u in unique]
    out = np.concatenate([
        np.average([ensemble_proba([m], ds.images[s:s + batch]) for m in models], axis=0,
                   weights=counts) for s in range(0, len(ds), batch)])
    path = folder / PROBABILITIES
    with paths.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez_compressed(fh, probabilities=out.astype(np.float16),
                            fingerprint=np.array(DataRef.of(ds).fingerprint))
    return path


def stored_probabilities(name: str, data: DataRef, roots) -> Teacher:
    """The probabilities stored with the ensemble called ``name`` on ``data``, looked for under
    each of ``roots`` (``<root>/ensembles``) in turn.

    Raises
    ------
    FileNotFoundError
        No such ensemble with stored probabilities (says how to make them).
    ValueError
        More than one ensemble of that name on that data, or probabilities of other data.
    """
    for root in roots:
        found = [f.parent for f in sorted((Path(root) / "ensembles").glob(f"{name}-{data.name}-*/"
                                                                         f"{PROBABILITIES}"))]
        found = [f for f in found
                 if json.loads((f / "metrics.json").read_text()).get("name") == name]
        if len(found) > 1:
            raise ValueError(f"{len(found)} ensembles are called {name!r} under {Path(root).name}/"
                             f"ensembles: {', '.join(f.name for f in found)}; keep one")
        if found:
            with np.load(found[0] / PROBABILITIES) as z:
                if str(z["fingerprint"]) != data.fingerprint:
                    raise ValueError(f"{found[0].name}: its probabilities are of other data")
                probs = z["probabilities"].astype(np.float32)
            members_ = json.loads((found[0] / "metrics.json").read_text())["ensemble"]
            return Teacher(probs, {"name": name, "ensemble": found[0].name, "members": members_})
    raise FileNotFoundError(
        f"no ensemble {name!r} with stored probabilities on {data.name}: choose it "
        "(fer_utils.ensemble.select) and store them (fer_utils.ensemble.write_probabilities); "
        "the campaign does both for its distillation entry")
