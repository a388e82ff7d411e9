"""Config-driven training with artifacts: train once, load ever after.

An experiment is a :class:`TrainConfig` (a small dataclass, saved as JSON). :func:`train`
looks for its **artifact**, a folder under :func:`fer_utils.paths.artifacts_dir` named after
the config and the data it ran on. If the artifact is complete it is loaded. Otherwise the
model is trained under the course protocol:

* fit on **Training** (optionally augmented: rotation, shift, zoom, horizontal flip;
  optionally class-weighted);
* after every epoch, evaluate on **PublicTest**: keep the best model, lower the learning rate
  on a plateau, stop early when PublicTest stops improving;
* a checkpoint after every epoch (model with optimizer state, plus the callback state), so an
  interrupted run resumes where it stopped;
* finally, evaluate the best model **once** on **PrivateTest**.

The artifact holds the best model in the portable form (``model.json`` + ``model.weights.npz``,
:func:`fer_utils.models.save_portable`), ``config.json``, ``history.json`` and
``metrics.json`` (PublicTest and PrivateTest metrics, parameters, timing, data source).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from fer_utils import experiment, fitting, paths, runtime
from fer_utils.data import load_fer2013
from fer_utils.dataset import FERDataset
from fer_utils.ensemble import stored_probabilities
from fer_utils.experiment import Artifact, DataRef, ExperimentConfig, artifact_key
from fer_utils.inference import score
from fer_utils.labels import LABEL_SETS, run_split
from fer_utils.landmarks import dataset_landmarks
from fer_utils.masks import LANDMARK_REGIONS, MASKS, mask_images
from fer_utils.models import BUILDERS, count_params


@dataclass(frozen=True)
class TrainConfig(ExperimentConfig):
    """One image-classification experiment (:func:`train`). Every field is part of the
    artifact key; the budget and optimisation fields are :class:`ExperimentConfig`'s.

    Attributes
    ----------
    name : str
        A readable prefix for the artifact folder (e.g. ``"cnn-d4"``).
    model : str
        Builder in :data:`fer_utils.models.BUILDERS`.
    model_args : dict
        Keyword arguments for the builder (e.g. ``{"depth": 4, "width": 32}``).
    labels : {"fer", "fer-clean", "ferplus-majority", "ferplus-crossentropy"}
        Training targets. ``"fer"``: FER-2013's labels. ``"fer-clean"``: FER-2013's labels
        on the images FERPlus's majority vote accepts as one of the seven emotions (unknown,
        not-a-face and contempt removed). FERPlus sets: 8 classes, images without a valid
        majority label dropped; ``crossentropy`` trains on the vote distribution.
    augment : bool
        Random rotation (±``rotation`` degrees), shift (±``shift`` of the size), zoom
        (±``zoom``) and horizontal flip, on the fly.
    class_weights : bool
        Weight the loss by inverse class frequency ("balanced").
    monitor : {"val_accuracy", "val_loss"}
        PublicTest quantity for model choice, early stopping and plateau detection.
    mask : str
        Cover a face region in every image, for training and evaluation alike (one of
        :data:`fer_utils.masks.MASKS`; ``"none"`` by default).
    erasing : float
        Probability of random erasing: a random rectangle (2–25 % of the face) of an
        augmented training image is filled with noise.
    augment_style : {"layers", "affine"}
        How the augmentation is drawn (:func:`fer_utils.fitting.augmenter`): Keras's
        preprocessing layers one after the other (bilinear; the default, and every model
        trained before the campaign), or one nearest-neighbour affine map per face, as Keras 2
        drew it for the reference mini-Xception. Left out of the key at its default.
    strategy : {"none", "mirrored", "multi-worker"}
        ``tf.distribute``: one device; every local GPU (or CPU device); or every machine of
        the cluster described by ``TF_CONFIG``. ``batch_size`` and ``learning_rate`` are per
        replica: the global batch and rate are multiplied by the number of replicas
        (:func:`fer_utils.fitting.distribution`). Left out of the artifact key when
        ``"none"``.
    teacher : str
        Knowledge distillation: the name of a stored ensemble (:mod:`fer_utils.ensemble`)
        whose class probabilities on every image (:func:`fer_utils.ensemble.write_probabilities`)
        are mixed into the targets, ``teacher_weight`` of them to ``1 - teacher_weight`` of
        the labels, after softening by ``teacher_temperature``
        (:meth:`fer_utils.ensemble.Teacher.distil`). FER-2013's 7-class label sets only; scoring is
        unchanged. ``""`` (the default): no teacher. Left out of the key while unused.
    """

    name: str = "cnn"
    model: str = "cnn"
    model_args: dict = field(default_factory=dict)
    labels: str = "fer"
    augment: bool = True
    rotation: float = 10.0
    shift: float = 0.1
    zoom: float = 0.1
    flip: bool = True
    class_weights: bool = False
    monitor: str = "val_accuracy"
    mask: str = "none"
    erasing: float = 0.0
    augment_style: str = "layers"
    strategy: str = "none"
    teacher: str = ""
    teacher_weight: float = 0.5
    teacher_temperature: float = 1.0

    ADDED_IN: ClassVar[dict[str, int]] = {"strategy": 3, "teacher": 3, "teacher_weight": 3,
                                          "teacher_temperature": 3, "augment_style": 3}

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.augment_style not in fitting.AUGMENT_STYLES:
            raise ValueError(f"unknown augment_style {self.augment_style!r}; choose one of "
                             f"{', '.join(fitting.AUGMENT_STYLES)}")
        if self.strategy not in fitting.STRATEGIES:
            raise ValueError(f"unknown strategy {self.strategy!r}; choose one of "
                             f"{', '.join(fitting.STRATEGIES)}")
        if not 0 <= self.erasing < 1:
            raise ValueError(f"config field 'erasing' must be in [0, 1), not {self.erasing}")
        if self.mask not in MASKS:
            raise ValueError(f"unknown mask {self.mask!r}; choose one of {', '.join(MASKS)}")
        if self.labels not in LABEL_SETS:
            raise ValueError(f"unknown label set {self.labels!r}; choose one of {', '.join(LABEL_SETS)}")
        if self.monitor not in ("val_accuracy", "val_loss"):
            raise ValueError(f"monitor must be 'val_accuracy' or 'val_loss', not {self.monitor!r}")
        if self.model not in BUILDERS:
            raise ValueError(f"unknown model {self.model!r}; available: {', '.join(sorted(BUILDERS))}")
        if self.teacher and self.labels not in ("fer", "fer-clean"):
            raise ValueError(f"a teacher's probabilities are over FER-2013's 7 classes: labels "
                             f"must be 'fer' or 'fer-clean', not {self.labels!r}")
        if not 0 < self.teacher_weight <= 1 or not self.teacher_temperature > 0:
            raise ValueError("teacher_weight must be in (0, 1] and teacher_temperature positive")

    @classmethod
    def named(cls, name: str) -> TrainConfig:
        """A config shipped with the course, e.g. ``"ablation/cnn-d4-s0"``.

        Looked up in the package (``fer_utils/configs``), so it works wherever the package
        is installed (Colab included).
        """
        for folder in config_dirs():
            f = folder / f"{name}.json"
            if f.is_file():
                return cls.from_json(f)
        known = sorted({p.relative_to(d).with_suffix("").as_posix()
                        for d in config_dirs() for p in d.glob("**/*.json")})
        raise FileNotFoundError(f"no config named {name!r}; known: {', '.join(known) or 'none'}")


def config_dirs() -> list[Path]:
    """Folders holding the course's named experiment configs."""
    return [d for d in (Path(__file__).parent / "configs",) if d.is_dir()]


# --------------------------------------------------------------------------------------
# training
# --------------------------------------------------------------------------------------

def train(config: TrainConfig, ds: FERDataset | None = None, *, root: Path | None = None,
          retrain: bool = False, progress: bool = True, on_epoch=None) -> Artifact:
    """Train ``config`` (or load its artifact if it exists) and return the artifact.

    Parameters
    ----------
    config : TrainConfig
    ds : FERDataset, optional
        The data; default :func:`fer_utils.data.load_fer2013` (real data or the sample).
    root : Path, optional
        Where artifacts live; default :func:`fer_utils.paths.artifacts_dir` (``data/``).
    retrain : bool
        Ignore an existing artifact and train again.
    progress : bool
        One progress bar over epochs (no per-step output).
    on_epoch : callable, optional
        ``on_epoch(state, logs)`` after every epoch (:func:`fer_utils.fitting.fit_resumable`).

    The artifact folder appears only when the run has succeeded; until then the run's
    checkpoint (:func:`fer_utils.fitting.checkpoint_dir`) lets it resume.
    """
    ds = load_fer2013() if ds is None else ds
    did = DataRef.of(ds)
    root = root or paths.artifacts_dir()
    return experiment.find_or_run(artifact_key(config, did),
                                  lambda: experiment.find_artifact(config, did, root),
                                  lambda: _train(config, ds, did, root, progress, on_epoch),
                                  retrain=retrain)


def _train(config: TrainConfig, ds: FERDataset, did: DataRef, root: Path, progress: bool,
           on_epoch) -> Artifact:
    """The run of :func:`train`, once no finished artifact is to be loaded."""
    key = artifact_key(config, did)
    run = run_split(ds, config.labels, train_limit=config.train_limit,
                    eval_limit=config.eval_limit, seed=config.seed)
    teacher = None
    if config.teacher:
        teacher = stored_probabilities(config.teacher, did, (root, paths.committed_dir()))
        run = dataclasses.replace(run, labels=teacher.distil(
            run.labels, config.teacher_weight, config.teacher_temperature))
    images, mask_info = ds.images, None
    if config.mask != "none":
        points = dataset_landmarks(ds.images).points if config.mask in LANDMARK_REGIONS else None
        images, ms = mask_images(ds.images, config.mask, points=points)
        mask_info = {"name": config.mask, "covered": round(float(ms.covered.mean()), 4),
                     "fallback": ms.n_fallback}

    ckpt = fitting.checkpoint_dir(key)
    best, state, replicas = fitting.fit_images(config, images, run.labels, run.train, run.val,
                                               ckpt=ckpt, desc=key, progress=progress,
                                               on_epoch=on_epoch)

    result = {"config": config.to_dict(), "data": did.name, "data_fingerprint": did.fingerprint,
              "key_schema": experiment.KEY_SCHEMA, "source": ds.source,
              "class_names": list(run.labels.eval_names), "params": count_params(best),
              "epochs_trained": state["epoch"], "best_epoch": state["best_epoch"],
              "train_seconds": round(state["seconds"], 1),
              "train_cpu_seconds": round(state.get("cpu_seconds", 0.0), 1),
              "seconds_per_epoch": round(state["seconds"] / max(1, state["epoch"]), 2),
              "engine": runtime.onednn_status(), "replicas": replicas,
              "n_train": int(len(run.train))}
    if mask_info is not None:
        result["mask"] = mask_info
    if teacher is not None:
        result["teacher"] = teacher.info
    for split, idx in run.scored.items():
        result[split] = score(best, images[idx], run.labels.eval_y[idx], run.labels.eval_names)
    spec = {"builder": config.model,
            "kwargs": {**config.model_args, "n_classes": len(run.labels.class_names)}}
    experiment.finish_artifact(root / key, best, result, state["history"], spec=spec,
                               checkpoint=ckpt)
    return Artifact(root / key, config, result, state["history"])


def load_or_train(config: TrainConfig, ds: FERDataset | None = None, *, quick: dict | None = None,
                  **kwargs) -> Artifact:
    """What a chapter calls: the book's committed artifact of ``config`` on this data if it
    exists, else :func:`train` — the quick version in quick mode.

    In a full run this is :func:`train` itself (which loads what exists). In quick mode
    (``FER_QUICK=1``, the test suite) a committed artifact is used as a reader's checkout uses
    it, so the tests run the chapter's code on the book's own models; only where none exists
    (the offline sample, a config not yet trained) is :meth:`TrainConfig.quick` trained, with
    the extra changes in ``quick`` (e.g. ``{"epochs": 1}``). The training engine itself is
    tested by the unit tests. ``kwargs`` go to :func:`train`.
    """
    ds = load_fer2013() if ds is None else ds
    return experiment.committed_or_run(config, ds, experiment.find_artifact,
                                       paths.artifacts_dir(committed=True), train, quick=quick,
                                       **kwargs)
