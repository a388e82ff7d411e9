"""Classifying ES-MAPs vs face images (Yang & Chen's Table I), under two protocols.

One experiment = a model (``esh_net``, ``convnet4``, ``resnet50``), an input and a protocol:

Inputs (:data:`INPUTS`)
    ``"esmap-reference"`` — the ES-MAP as the reference code's network saw it (62×62 RGB
    rendering); ``"esmap-pooled"`` — the ES-MAP averaged over 9×9 landmark pairs (52×52 values);
    ``"image"`` — the 48×48 face itself (the paper's "control").
    Every input uses only the images where Face Mesh found a face, so ES-MAPs and images are
    compared on the same faces; undetected test faces are reported separately (and counted as
    errors in ``accuracy_all``).
Protocols (:data:`PROTOCOLS`)
    ``"random-30-70"`` — the paper's: all images pooled, a random 30 % to train and 70 % to
    test, a fixed number of epochs, the final model tested. (The reference code also used the
    test set for validation; here nothing looks at the test part before the end.)
    ``"fer2013"`` — the course's: train on Training, stop early and pick the best epoch on
    PublicTest, test once on PrivateTest.

The neutral baseline of the ES-MAPs is always fitted on the training part only.

:func:`run` trains one configuration (or loads its finished artifact from ``data/esmap/``),
resumably, and writes metrics JSON; models over 8 MB (ResNet-50) are not kept. :func:`evaluate`
tests a stored model again from the landmarks, to check that its metrics come out again.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from fer_utils import esmap, experiment, fitting, landmarks, models, paths, sources
from fer_utils import metrics as M
from fer_utils.data import load_fer2013
from fer_utils.dataset import CLASS_NAMES, stratified_limit
from fer_utils.experiment import DataRef, ExperimentConfig, artifact_key
from fer_utils.models import BUILDERS

INPUTS = ("esmap-reference", "esmap-pooled", "image")
PROTOCOLS = ("random-30-70", "fer2013")
#: What each kind of input is multiplied by inside the network (the builders' ``scale``)
INPUT_SCALE = {"esmap-reference": 1 / 255.0, "esmap-pooled": 10.0, "image": 1 / 255.0}


@dataclass(frozen=True)
class MapConfig(ExperimentConfig):
    """One ES-MAP classification experiment (every field is part of the artifact key): a
    model, an input (:data:`INPUTS`) and a protocol (:data:`PROTOCOLS`), with the budget
    and optimisation fields of :class:`fer_utils.experiment.ExperimentConfig` (batch 32 and
    patience 8 here; the optimisation fields came later to this class, so they stay out of
    its key while they hold their defaults: :attr:`ADDED_IN`). Quick mode trains on 600
    images."""

    name: str = "esh"
    model: str = "esh_net"
    model_args: dict = field(default_factory=dict)
    input: str = "esmap-reference"
    protocol: str = "random-30-70"
    batch_size: int = 32
    patience: int = 8

    ADDED_IN: ClassVar[dict[str, int]] = dict.fromkeys(
        ("optimizer", "weight_decay", "schedule", "warmup_epochs", "label_smoothing"), 3)
    QUICK_LIMITS: ClassVar[tuple[int, int, int]] = (600, 300, 2)

    def __post_init__(self) -> None:
        super().__post_init__()

        if self.input not in INPUTS:
            raise ValueError(f"unknown input {self.input!r}; choose one of {INPUTS}")
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {self.protocol!r}; choose one of {PROTOCOLS}")
        if self.model not in BUILDERS:
            raise ValueError(f"unknown model {self.model!r}; available: {sorted(BUILDERS)}")


def artifacts_root() -> Path:
    return paths.artifacts_dir() / "esmap"


# --------------------------------------------------------------------------------------
# splits and inputs
# --------------------------------------------------------------------------------------

def protocol_split(usage: np.ndarray, labels: np.ndarray, protocol: str, seed: int = 0):
    """Indices ``(train, validation or None, test)`` over *all* images (detected or not)."""
    n = len(usage)
    if protocol == "fer2013":
        test_split = "PrivateTest" if "PrivateTest" in set(usage.tolist()) else "Test"
        return (np.flatnonzero(usage == "Training"), np.flatnonzero(usage == "PublicTest"),
                np.flatnonzero(usage == test_split))
    if protocol == "random-30-70":
        order = np.random.default_rng(seed).permutation(n)
        cut = round(0.3 * n)
        return np.sort(order[:cut]), None, np.sort(order[cut:])
    raise ValueError(f"unknown protocol {protocol!r}; choose one of {PROTOCOLS}")


def make_inputs(kind: str, idx: np.ndarray, images: np.ndarray, points: np.ndarray,
                baseline, *, cache: bool = True) -> np.ndarray:
    """Model inputs of one kind for the images ``idx`` (which must all have landmarks).

    ES-MAP inputs for more than 2,000 faces are cached in ``$FER_CACHE_DIR/esmap-inputs``
    (keyed by the landmarks, the baseline and the kind): models trained on the same split
    share them instead of rendering 30,000 maps again.
    """

    if kind == "image":
        return images[idx][..., None]
    file = None
    if cache and len(idx) > 2000:
        key = hashlib.sha1(np.ascontiguousarray(points[idx]).tobytes()
                           + baseline.global_map.tobytes() + kind.encode()).hexdigest()[:20]
        folder = paths.cache_dir() / "esmap-inputs"
        folder.mkdir(parents=True, exist_ok=True)
        file = folder / f"{key}.npy"
        if file.is_file():
            try:
                return np.load(file, allow_pickle=False)
            except (OSError, ValueError):  # damaged: rebuild
                pass
    maps = esmap.esmaps(points[idx], baseline,
                        reduce="reference" if kind == "esmap-reference" else "pooled")
    maps = maps if kind == "esmap-reference" else maps[..., None]
    if file is not None:
        with paths.atomic_path(file) as tmp:
            np.save(tmp, maps)
    return maps


# --------------------------------------------------------------------------------------
# the course's experiments
# --------------------------------------------------------------------------------------

SHORT = {"esmap-reference": "ref", "esmap-pooled": "pool", "image": "img"}


def table_configs() -> list[MapConfig]:
    """The experiments behind the chapter's version of Yang & Chen's Table I, in run order.

    Sized for 2 CPU cores (measured idle, oneDNN off: ESH-Net 7 ms per face and epoch, the
    width-32 ConvNet 9 ms, rendering a reference map 13 ms, once per baseline), about 3.5 hours
    in all; the paper's own settings would take about 13 hours here:

    * ESH-Net, ES-MAP (reference rendering) vs face image, the paper's random 30/70 protocol,
      3 runs (the paper: 10) of 10 epochs (the paper: 100) — about 13 minutes a run;
    * ESH-Net on the FER-2013 protocol, on a stratified 10,000 of the detected Training faces
      (about the paper's 30 %), early-stopped on PublicTest within 15 epochs: 3 runs each of
      the reference map and the image (seeds 1 and 2 come last in the list), 1 of the pooled
      map;
    * the ConvNet baseline at a quarter of its width (32–128 filters instead of 128–512: the
      full one needs about 16× the compute), paper protocol, one run per input, 10 epochs;
    * ResNet-50 from scratch (no ImageNet weights offline), FER-2013 protocol, one run per
      input on the same 10,000 training faces as ESH-Net, 6 epochs with a cosine schedule
      after one warm-up epoch and label smoothing 0.1 (the settings that made Chapter 7's
      ResNet-50 learn): 231 s per epoch for the reference map with oneDNN on. (The first
      version, 3 epochs on 3,000 faces with a constant rate, answered one or two classes for
      every face: its batch-norm statistics had not settled.)
    """
    out = []
    for seed in (0, 1, 2):
        for inp in ("esmap-reference", "image"):
            out.append(MapConfig(name=f"esh-{SHORT[inp]}-paper-s{seed}", input=inp,
                                 protocol="random-30-70", epochs=10, seed=seed))
    for inp in ("esmap-reference", "esmap-pooled", "image"):
        out.append(MapConfig(name=f"esh-{SHORT[inp]}-fer-s0", input=inp, protocol="fer2013",
                             epochs=15, patience=5, seed=0, train_limit=10_000))
    for inp in ("esmap-reference", "image"):
        out.append(MapConfig(name=f"convnet-{SHORT[inp]}-paper-s0", model="convnet4",
                             model_args={"width": 32}, input=inp, protocol="random-30-70",
                             epochs=10, seed=0))
    for inp in ("esmap-reference", "image"):
        out.append(MapConfig(name=f"resnet50-{SHORT[inp]}-fer-s0", model="resnet50",
                             input=inp, protocol="fer2013", epochs=6, batch_size=64,
                             patience=6, seed=0, train_limit=10_000, schedule="cosine",
                             warmup_epochs=1, label_smoothing=0.1))
    for seed in (1, 2):  # added last: repeats of the FER-2013-protocol ESH-Net cells
        for inp in ("image", "esmap-reference"):
            out.append(MapConfig(name=f"esh-{SHORT[inp]}-fer-s{seed}", input=inp,
                                 protocol="fer2013", epochs=15, patience=5, seed=seed,
                                 train_limit=10_000))
    return out


# --------------------------------------------------------------------------------------
# running
# --------------------------------------------------------------------------------------

class MapArtifact(experiment.Artifact):
    """A finished ES-MAP experiment (a folder under ``data/esmap/``)."""

    @classmethod
    def from_folder(cls, path: str | Path, config_cls=None) -> MapArtifact:
        return super().from_folder(path, config_cls or MapConfig)


def find_artifact(config: MapConfig, data: DataRef, root: Path | None = None) -> MapArtifact | None:
    return experiment.find_artifact(config, data, root or artifacts_root(), MapArtifact)


def load_or_run(config: MapConfig, ds=None, marks=None, **kwargs) -> MapArtifact:
    """What the chapter calls: the committed artifact of ``config`` on this data if it exists,
    else :func:`run` — :meth:`MapConfig.quick` in quick mode. The same rule as
    :func:`fer_utils.train.load_or_train`; ``kwargs`` go to :func:`run`."""

    ds = load_fer2013() if ds is None else ds
    return experiment.committed_or_run(config, ds, find_artifact,
                            paths.artifacts_dir(committed=True) / "esmap",
                            lambda c, d, **kw: run(c, d, marks, **kw), **kwargs)


def run(config: MapConfig, ds=None, marks=None, *, root: Path | None = None,
        retrain: bool = False, progress: bool = True) -> MapArtifact:
    """Train and test one configuration, or load its finished artifact.

    Parameters
    ----------
    config : MapConfig
    ds : FERDataset, optional
        Default :func:`fer_utils.data.load_fer2013` (real data or the offline sample).
    marks : LandmarkSet, optional
        Landmarks of ``ds.images`` (default: :func:`fer_utils.landmarks.dataset_landmarks`,
        cached on disk).
    """

    ds = load_fer2013() if ds is None else ds
    did = DataRef.of(ds)
    root = root or artifacts_root()
    return experiment.find_or_run(artifact_key(config, did),
                                  lambda: find_artifact(config, did, root),
                                  lambda: _run(config, ds, did, root, marks, progress),
                                  retrain=retrain)


def _run(config: MapConfig, ds, did: DataRef, root: Path, marks, progress: bool) -> MapArtifact:
    """The run of :func:`run`, once no finished artifact is to be loaded."""
    marks = _landmarks_of(ds, marks, progress)

    key = artifact_key(config, did)
    fitting.seed_everything(config.seed)
    y = ds.labels
    tr, va, te_all, te = _split(config, ds, marks)

    t0 = time.perf_counter()
    base = esmap.fit_baseline(marks.points[tr], y[tr], source="training part")
    x_tr = make_inputs(config.input, tr, ds.images, marks.points, base)
    x_va = None if va is None else make_inputs(config.input, va, ds.images, marks.points, base)
    x_te = make_inputs(config.input, te, ds.images, marks.points, base)
    prep_seconds = time.perf_counter() - t0
    n_classes = len(CLASS_NAMES)
    eye = np.eye(n_classes, dtype=np.float32)

    spec = {"builder": config.model,
            "kwargs": {"input_shape": list(x_tr.shape[1:]), "scale": INPUT_SCALE[config.input],
                       "n_classes": n_classes, **config.model_args}}

    def build():
        model = models.build(spec["builder"], **spec["kwargs"])
        steps = fitting.steps_per_epoch(len(x_tr), config.batch_size)
        model.compile(optimizer=fitting.make_optimizer(config, steps),
                      loss=fitting.make_loss(config), metrics=["accuracy"])
        return model

    if va is None:  # the paper's protocol: fixed epochs, nothing selected on test data
        rules = fitting.FitRules("accuracy", config.epochs + 1, config.epochs + 1, 1.0)
    else:
        rules = fitting.FitRules("val_accuracy", config.patience, config.lr_patience,
                                    config.lr_factor)
    ckpt = fitting.checkpoint_dir(f"esmap-{key}")
    fit_data = {"x": x_tr.astype(np.float32), "y": eye[y[tr]], "batch_size": config.batch_size,
                "shuffle": True,
                "validation_data": None if va is None else (x_va.astype(np.float32), eye[y[va]])}
    final, state = fitting.fit_resumable(
        build, fit_data, epochs=config.epochs, rules=rules, ckpt=ckpt, desc=key,
        progress=progress, final="best" if va is not None else "last")
    test, test_all = _test(final, x_te, y, te, te_all)
    result = {
        "config": config.to_dict(), "data": did.name, "data_fingerprint": did.fingerprint,
        "key_schema": experiment.KEY_SCHEMA, "source": ds.source,
        "model_name": final.name, "params": models.count_params(final),
        "input_shape": list(x_tr.shape[1:]),
        "epochs_trained": state["epoch"], "best_epoch": state["best_epoch"],
        "train_seconds": round(state["seconds"], 1),
        "seconds_per_epoch": round(state["seconds"] / max(1, state["epoch"]), 2),
        "prep_seconds": round(prep_seconds, 1), "test_seconds": test["seconds"],
        "n_train": int(len(tr)), "n_validation": int(0 if va is None else len(va)),
        "baseline_neutral_faces": base.n_global,
        "test": test, "test_all": test_all,
    }
    # repeats are for the mean ± sd; one model per cell is enough
    keep = True if config.seed == 0 else "a repeated run (seed 0 of the same cell keeps its model)"
    out = root / key
    experiment.finish_artifact(out, final, result, state["history"], spec=spec, keep_model=keep,
                               checkpoint=ckpt)
    return MapArtifact(out, config, result, state["history"])


def _landmarks_of(ds, marks, progress: bool):
    """``marks``, checked against ``ds``; by default the (cached) landmarks of its images."""

    marks = landmarks.dataset_landmarks(ds.images, progress=progress) if marks is None else marks
    if len(marks) != len(ds):
        raise ValueError(f"{len(marks)} landmark rows for {len(ds)} images")
    return marks


def _split(config: MapConfig, ds, marks):
    """The images of one experiment: ``(train, validation or None, test, detected test)``.

    Train and validation hold only faces with landmarks; the test part holds every image of
    the test split (undetected ones count as errors end to end), ``detected test`` its faces.
    """

    y, found = ds.labels, marks.found
    tr_all, va_all, te_all = protocol_split(ds.usage, y, config.protocol, config.seed)
    tr = stratified_limit(tr_all[found[tr_all]], y, config.train_limit, config.seed)
    va = None if va_all is None else stratified_limit(va_all[found[va_all]], y,
                                                      config.eval_limit, config.seed)
    te_all = stratified_limit(te_all, y, config.eval_limit, config.seed)
    return tr, va, te_all, te_all[found[te_all]]


def _test(model, x_te: np.ndarray, y: np.ndarray, te: np.ndarray, te_all: np.ndarray):
    """Metrics on the detected test faces, and end to end over the whole test split."""

    t0 = time.perf_counter()
    pred = np.concatenate([model(x_te[s:s + 256].astype(np.float32), training=False).numpy()
                           for s in range(0, len(x_te), 256)]).argmax(axis=1)
    test = M.classification_metrics(y[te], pred, CLASS_NAMES)
    test["seconds"] = round(time.perf_counter() - t0, 2)
    test_all = {"n": int(len(te_all)), "n_undetected": int(len(te_all) - len(te)),
                "accuracy": float(np.sum(pred == y[te]) / max(1, len(te_all)))}
    return test, test_all


def evaluate(artifact: MapArtifact, ds=None, marks=None, *, progress: bool = False) -> dict:
    """Test a stored model again, as :func:`run` tested it.

    The split, the baseline (fitted on the training part) and the test inputs are rebuilt from
    ``ds`` and its landmarks, so the result should equal ``artifact.metrics`` (``"test"`` and
    ``"test_all"``; timings aside). Landmarks default to
    :func:`fer_utils.landmarks.dataset_landmarks` (cached; ``progress`` shows its bar). Raises
    ``FileNotFoundError`` for an artifact that keeps metrics only, and ``ValueError`` when
    ``ds`` is not the data it was trained on.
    """

    model = artifact.load_model()
    ds = load_fer2013() if ds is None else ds
    trained_on = artifact.metrics.get("data_fingerprint")
    if DataRef.of(ds).fingerprint != trained_on:
        raise ValueError(f"{artifact.path.name} was trained on other data "
                         f"({artifact.metrics['data']}, fingerprint {trained_on}) than "
                         f"{ds.source} (fingerprint {DataRef.of(ds).fingerprint})")
    marks = _landmarks_of(ds, marks, progress)
    tr, _, te_all, te = _split(artifact.config, ds, marks)
    base = esmap.fit_baseline(marks.points[tr], ds.labels[tr], source="training part")
    x_te = make_inputs(artifact.config.input, te, ds.images, marks.points, base)
    test, test_all = _test(model, x_te, ds.labels, te, te_all)
    return {"test": test, "test_all": test_all}


def _compare(gap_points: float) -> str:
    return ("ES-MAPs beat face images" if gap_points > 1 else "face images beat ES-MAPs"
            if gap_points < -1 else "ES-MAPs and face images are level")


def table_reading(results, paper: dict, *, majority: float, probe_accuracy: float | None,
                  n_test: int, n_train: int) -> tuple[str, dict]:
    """Chapter 5's reading of Table I, written from the results: ``(Markdown, facts)``.

    ``results`` is the chapter's table of runs (columns ``model``, ``input``, ``protocol``,
    ``accuracy``, ``accuracy (undetected = wrong)``, ``classes predicted``, ``test faces``),
    ``paper`` Yang & Chen's Table I (:data:`fer_utils.sources`), ``majority`` the share of the most
    frequent test class, ``probe_accuracy`` the linear probe on pooled maps. ``facts`` holds
    the numbers to glue (``gap_paper``, ``gap_fer``, ``best_esh_fer``) and the counts the
    chapter checks (``n_protocol_sentences``, ``n_other_models``, ``resnet_classes``)."""
    def mean_of(model, inp, protocol, column="accuracy"):
        r = results[(results.model == model) & (results.input == inp) & (results.protocol == protocol)]
        return (float(r[column].mean()), len(r)) if len(r) else (None, 0)

    facts: dict = {}
    paper_gap = 100 * (paper["ESH-Net"]["esmap"][0] - paper["ESH-Net"]["image"][0])
    sentences = []
    for protocol, label in (("random-30-70", "the paper's random 30/70 split"),
                            ("fer2013", "the FER-2013 protocol")):
        (e, n_e), (i, _) = (mean_of("esh_net", "esmap-reference", protocol),
                            mean_of("esh_net", "image", protocol))
        if e is None or i is None:
            continue
        gap = 100 * (e - i)
        facts["gap_" + ("paper" if protocol == "random-30-70" else "fer")] = f"{gap:+.1f}"
        sentences.append(f"Under {label}, ESH-Net reaches {100 * e:.1f} % on the reference ES-MAPs "
                         f"({n_e} run{'s' if n_e > 1 else ''}) and {100 * i:.1f} % on the same faces' "
                         f"images: {_compare(gap)} by {abs(gap):.1f} points (Yang & Chen: "
                         f"{paper_gap:+.0f}).")
        e_all, _ = mean_of("esh_net", "esmap-reference", protocol, "accuracy (undetected = wrong)")
        sentences.append("Counting the faces Face Mesh missed as errors, as a deployed system "
                         f"must, the ES-MAP figure is {100 * e_all:.1f} %.")
    facts["n_protocol_sentences"] = len(sentences)
    others = []
    (ce, _), (ci, _) = (mean_of("convnet4", "esmap-reference", "random-30-70"),
                        mean_of("convnet4", "image", "random-30-70"))
    if ce is not None and ci is not None:
        pub = paper["ConvNet"]
        gap, pub_gap = 100 * (ce - ci), 100 * (pub["esmap"][0] - pub["image"][0])
        phrase = _compare(gap) + ("" if abs(gap) <= 1 else f" by {abs(gap):.1f} points")
        same = _compare(gap) == _compare(pub_gap)
        others.append(f"The quarter-width ConvNet, on the paper's split, reaches {100 * ce:.1f} % on "
                      f"ES-MAPs and {100 * ci:.1f} % on images: {phrase}. Yang & Chen's full-width "
                      f"ConvNet had {100 * pub['esmap'][0]:.0f} % and {100 * pub['image'][0]:.0f} %"
                      + (", the same verdict." if same else f": {_compare(pub_gap)}."))
    (re_, _), (ri, _) = (mean_of("resnet50", "esmap-reference", "fer2013"),
                          mean_of("resnet50", "image", "fer2013"))
    if re_ is not None and ri is not None:
        rc = next(c for c in table_configs() if c.model == "resnet50")
        n_classes = sorted(set(results.loc[results.model == "resnet50", "classes predicted"]))
        facts["resnet_classes"] = int(max(n_classes))
        facts["resnet_above_majority"] = bool(min(re_, ri) > majority + 0.02)
        budget = (f"a cosine schedule over {rc.epochs} epochs" if rc.schedule == "cosine"
                  else f"at most {rc.epochs} epochs")
        head = (f"ResNet-50, trained from scratch on {rc.train_limit:,} faces with {budget}, "
                f"reaches {100 * re_:.1f} % on ES-MAPs and {100 * ri:.1f} % on images, against "
                f"{100 * majority:.1f} % for always answering the most frequent class")
        if facts["resnet_above_majority"]:
            gap = 100 * (re_ - ri)

            hr = sources.YANG_CHEN_TABLE1["HRFE"]["ResNet50"]
            hr_gap = 100 * (hr["esmap"][0] - hr["image"][0])
            phrase = _compare(gap) + ("" if abs(gap) <= 1 else f" by {abs(gap):.1f} points")
            others.append(f"{head}: {phrase}. Yang & Chen report no ResNet-50 on FER-2013; on "
                          f"their HRFE set it had {100 * hr['esmap'][0]:.0f} % on ES-MAPs and "
                          f"{100 * hr['image'][0]:.0f} % on images ({_compare(hr_gap)}).")
        else:
            others.append(head + ", and "
                          + ("answers a single emotion for every test face." if n_classes == [1]
                             else f"uses only {' or '.join(map(str, n_classes))} of the 7 "
                                  "emotions.")
                          + " It shows that the pipeline runs, not how ResNet-50 compares.")
    facts["n_other_models"] = len(others)
    probe_note = ""
    esh_fer = results[(results.model == "esh_net") & (results.protocol == "fer2013")
                      & results.input.str.startswith("esmap")]
    if len(esh_fer) and probe_accuracy is not None:
        best = esh_fer.loc[esh_fer.accuracy.idxmax()]
        limit = next(c.train_limit for c in table_configs()
                     if c.model == "esh_net" and c.protocol == "fer2013")
        facts["best_esh_fer"] = f"{100 * best.accuracy:.1f} %"
        facts["best_esh_fer_value"] = float(best.accuracy)
        probe_note = (f"On the same {n_test:,} PrivateTest faces, the linear probe above, trained "
                      f"on all {n_train:,} detected Training faces, reaches "
                      f"{100 * probe_accuracy:.1f} %: {100 * (probe_accuracy - best.accuracy):+.1f} "
                      f"points against the best ESH-Net run ({100 * best.accuracy:.1f} %, "
                      f"{best.input}), which trained on {limit:,} of them.")
    reading = "\n\n".join(p for p in (" ".join(sentences), " ".join(others), probe_note) if p)
    return reading, facts
