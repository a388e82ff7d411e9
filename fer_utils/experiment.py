"""The experiment core every trained model of the course goes through.

An experiment is a frozen config dataclass (:class:`ExperimentConfig` and its subclasses,
:class:`fer_utils.train.TrainConfig` and :class:`fer_utils.mapnet.MapConfig`) run on a
dataset. This module holds what they share:

* **the artifact key** (:func:`artifact_key`): ``<name>-<data name>-<10 hex>``, a hash of the
  key schema version, the config and the *content* of the data (:class:`DataRef`), so a
  900-row subset never returns the full data's model. A field a config class gained later is
  named in its :attr:`ExperimentConfig.ADDED_IN`; it stays out of the key while it has its
  default, so adding a field does not re-key every artifact;
* **config reading with checked types** (:meth:`ExperimentConfig.from_dict`): a wrongly typed
  or unknown field is a ``ValueError`` that names it;
* **the optimisation fields** every experiment has (optimizer, weight decay, schedule,
  warm-up, label smoothing), declared once here;
* **the artifact on disk** (:class:`Artifact`) and **its finishing rule**
  (:func:`finish_artifact`): a run writes its folder under ``data/`` only once it has
  succeeded, all at once; models over :data:`MAX_MODEL_BYTES` keep metrics only.

How a run gets there (the resumable fit loop, checkpoints, the input pipeline) is
:mod:`fer_utils.fitting`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import sys
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from fer_utils import fitting, models, paths, runtime
from fer_utils.data import FER2013_FINGERPRINT

#: Version of the key formula. Bump it only with a migration of the committed artifacts
#: (``scripts/migrate_artifact_keys.py`` shows how).
KEY_SCHEMA = 2
#: Models larger than this are not kept in an artifact (metrics and history are): VGG-16 and
#: ResNet-50 weigh 60–100 MB, too much to commit. Re-run the config to get the model.
MAX_MODEL_BYTES = 8_000_000


# --------------------------------------------------------------------------------------
# configs
# --------------------------------------------------------------------------------------

def _check_type(name: str, value, hint) -> object:
    """``value`` converted to the field type ``hint`` where that is lossless, else ValueError."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _check_type(name, value, option)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(errors[0] if errors else f"{name}: invalid value {value!r}")
    kind = origin or hint
    ok = {
        bool: lambda v: isinstance(v, bool),
        int: lambda v: isinstance(v, int) and not isinstance(v, bool),
        float: lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        str: lambda v: isinstance(v, str),
        dict: lambda v: isinstance(v, dict),
        tuple: lambda v: isinstance(v, (list, tuple)),
        list: lambda v: isinstance(v, (list, tuple)),
    }.get(kind)
    if ok is None:
        return value
    if not ok(value):
        label = {bool: "true or false", int: "a whole number", float: "a number",
                 str: "a string", dict: "an object ({...})"}.get(kind, kind.__name__)
        raise ValueError(f"config field {name!r} must be {label}, not {value!r}")
    return float(value) if kind is float else value


@dataclass(frozen=True)
class ExperimentConfig:
    """What every experiment config of the course shares: the training budget and schedule,
    the seed, the subset sizes, and how a config is read, written, changed and made quick.
    Subclasses add what is trained on what, and may change defaults.

    Attributes
    ----------
    epochs, batch_size, learning_rate : training length, batch and the initial rate.
    patience, lr_patience, lr_factor : early stopping and the plateau schedule.
    seed : int
        Seeds NumPy, Python and TensorFlow (weights, shuffling, augmentation).
    train_limit, eval_limit : int or None
        Use at most this many images of Training / of each evaluation split (a stratified
        subset). ``None`` uses all.
    optimizer : {"adam", "sgd"}
        Adam, or SGD with Nesterov momentum 0.9; ``weight_decay`` (decoupled) for either.
    schedule : {"plateau", "cosine"}
        ``"plateau"``: divide the rate by ``1/lr_factor`` after ``lr_patience`` epochs without
        progress on the watched quantity. ``"cosine"``: a cosine decay over all ``epochs``
        (after ``warmup_epochs`` of linear warm-up), blind to validation.
    label_smoothing : float
        Cross-entropy against targets mixed with the uniform distribution.
    """

    epochs: int = 30
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int = 6
    lr_patience: int = 3
    lr_factor: float = 0.5
    seed: int = 0
    train_limit: int | None = None
    eval_limit: int | None = None
    optimizer: str = "adam"
    weight_decay: float = 0.0
    schedule: str = "plateau"
    warmup_epochs: int = 0
    label_smoothing: float = 0.0

    #: Fields this class gained after artifacts of it were committed, with the key schema
    #: that added them: each stays out of the artifact key while it holds its default, so
    #: adding a field does not re-key every artifact (:meth:`key_dict`).
    ADDED_IN: ClassVar[dict[str, int]] = {}
    #: quick mode (:meth:`quick`): at most this many training images, evaluation images per
    #: split and epochs
    QUICK_LIMITS: ClassVar[tuple[int, int, int]] = (1500, 300, 2)

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _check_type(f.name, getattr(self, f.name),
                                                         hints[f.name]))
        for name in ("epochs", "batch_size", "patience", "lr_patience"):
            if getattr(self, name) < 1:
                raise ValueError(f"config field {name!r} must be at least 1, not "
                                 f"{getattr(self, name)}")
        for name in ("train_limit", "eval_limit"):
            if getattr(self, name) is not None and getattr(self, name) < 1:
                raise ValueError(f"config field {name!r} must be at least 1 or null")
        if not self.learning_rate > 0:
            raise ValueError(f"config field 'learning_rate' must be positive, not "
                             f"{self.learning_rate}")
        check_optimization(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def key_dict(self) -> dict:
        """The fields that enter the artifact key: all of them, except those in
        :attr:`ADDED_IN` while they hold their default."""
        d = self.to_dict()
        for f in dataclasses.fields(self):
            if f.name in self.ADDED_IN:
                default = f.default if f.default is not dataclasses.MISSING else f.default_factory()
                if d[f.name] == default:
                    del d[f.name]
        return d

    @classmethod
    def from_dict(cls, d: dict):
        """Build from a dict, rejecting unknown keys and wrongly typed values by name."""
        if not isinstance(d, dict):
            raise ValueError(f"a config must be a JSON object, not {type(d).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise ValueError(f"unknown config key(s) {unknown}; valid keys: {sorted(known)}")
        return cls(**d)

    @classmethod
    def from_json(cls, path: str | Path):
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"{path}: no such config file")
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path.name}: not valid JSON ({exc})") from None
        try:
            return cls.from_dict(d)
        except ValueError as exc:
            raise ValueError(f"{path.name}: {exc}") from None

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    def quick(self):
        """The quick-mode version (tests, CI) within :attr:`QUICK_LIMITS`. A different config,
        so it never overwrites a real artifact."""
        n_train, n_eval, epochs = self.QUICK_LIMITS
        return self.replace(train_limit=min(self.train_limit or 10**9, n_train),
                            eval_limit=min(self.eval_limit or 10**9, n_eval),
                            epochs=min(self.epochs, epochs))

    def for_runtime(self):
        """:meth:`quick` when ``FER_QUICK`` is set, else the config itself (for notebooks)."""
        return self.quick() if runtime.quick_mode() else self


# --------------------------------------------------------------------------------------
# data identity and the key
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DataRef:
    """Which data an experiment ran on: a readable ``name`` (``fer2013``,
    ``fer2013-folders``, ``sample``) and the ``fingerprint`` of its content
    (:attr:`fer_utils.dataset.FERDataset.fingerprint`)."""

    name: str
    fingerprint: str

    @classmethod
    def of(cls, ds) -> DataRef:
        if ds.is_sample:
            name = "sample"
        else:
            name = "fer2013" if ds.has_row_order else "fer2013-folders"
        return cls(name, ds.fingerprint)

    @classmethod
    def official_fer2013(cls) -> DataRef:
        """The Kaggle FER-2013 file, whatever its form (csv, csv.gz, tar.gz): the data of the
        book's committed artifacts."""

        return cls("fer2013", FER2013_FINGERPRINT)


def artifact_key(config: ExperimentConfig, data: DataRef) -> str:
    """Folder name of an experiment's artifact: ``<name>-<data name>-<10 hex>``, the hex a
    hash of :data:`KEY_SCHEMA`, :meth:`ExperimentConfig.key_dict` and the data fingerprint."""
    if not isinstance(data, DataRef):
        raise TypeError(f"data must be a DataRef (DataRef.of(dataset)), not {data!r}")
    blob = json.dumps({"schema": KEY_SCHEMA, "config": config.key_dict(),
                       "data": data.fingerprint}, sort_keys=True)
    return f"{config.name}-{data.name}-{hashlib.sha256(blob.encode()).hexdigest()[:10]}"


# --------------------------------------------------------------------------------------
# the optimisation fields' values (fer_utils.fitting.make_optimizer turns them into Keras's)
# --------------------------------------------------------------------------------------

OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("plateau", "cosine")


def check_optimization(config) -> None:
    """Raise ``ValueError`` on an unknown optimizer or schedule, a negative warm-up or weight
    decay, or label smoothing outside [0, 1)."""
    if config.optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {config.optimizer!r}; choose one of "
                         f"{', '.join(OPTIMIZERS)}")
    if config.schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {config.schedule!r}; choose one of "
                         f"{', '.join(SCHEDULES)}")
    if not 0 <= config.label_smoothing < 1:
        raise ValueError(f"config field 'label_smoothing' must be in [0, 1), not "
                         f"{config.label_smoothing}")
    for name in ("warmup_epochs", "weight_decay"):
        if getattr(config, name) < 0:
            raise ValueError(f"config field {name!r} must not be negative, not "
                             f"{getattr(config, name)}")


# --------------------------------------------------------------------------------------
# artifacts
# --------------------------------------------------------------------------------------

class Scores:
    """A typed view of an artifact's ``metrics.json`` scores, for chapters and the scorecard.

    >>> s = Scores({"PrivateTest": {"accuracy": 0.6, "macro_f1": 0.5, "n": 10,
    ...                             "per_class": {"happy": {"recall": 0.9}}}})
    >>> s.accuracy("PrivateTest"), s.f1("PrivateTest"), s.recall("PrivateTest", "happy")
    (0.6, 0.5, 0.9)
    """

    def __init__(self, metrics: dict) -> None:
        self._m = metrics

    def split(self, split: str) -> dict:
        """The scores of one split; ``KeyError`` naming the splits there are."""
        part = self._m.get(split)
        if not isinstance(part, dict) or "accuracy" not in part:
            there = [k for k, v in self._m.items() if isinstance(v, dict) and "accuracy" in v]
            raise KeyError(f"no scores for {split!r}; this artifact has {there}")
        return part

    def accuracy(self, split: str = "PrivateTest") -> float:
        return float(self.split(split)["accuracy"])

    def f1(self, split: str = "PrivateTest", average: str = "macro") -> float:
        """Macro (default) or weighted F1."""
        if average not in ("macro", "weighted"):
            raise ValueError(f"average must be 'macro' or 'weighted', not {average!r}")
        return float(self.split(split)[f"{average}_f1"])

    def n(self, split: str = "PrivateTest") -> int:
        return int(self.split(split)["n"])

    def recall(self, split: str, emotion: str) -> float:
        return float(self.split(split)["per_class"][emotion]["recall"])

    def per_class(self, split: str = "PrivateTest"):
        """Precision, recall, F1 and support per class (a DataFrame)."""
        import pandas as pd

        return pd.DataFrame(self.split(split)["per_class"]).T


@dataclass
class Artifact:
    """A finished experiment on disk: ``metrics.json``, ``history.json`` and, when small
    enough, the model in the portable form (``model.json`` + ``model.weights.npz``,
    :func:`fer_utils.models.save_portable`)."""

    path: Path
    config: ExperimentConfig
    metrics: dict
    history: dict

    @classmethod
    def from_folder(cls, path: str | Path, config_cls=None) -> Artifact:
        """The finished experiment in ``path``; ``FileNotFoundError`` when it is not one."""
        path = Path(path)
        for f in ("metrics.json", "history.json"):
            if not (path / f).is_file():
                raise FileNotFoundError(f"{path.name} is not a finished experiment: no {f}")
        try:
            metrics = json.loads((path / "metrics.json").read_text())
            history = json.loads((path / "history.json").read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{path.name}: unreadable metrics or history ({exc})") from None
        if (model_location(path, committed_only=True) is None
                and not str(metrics.get("model_kept", "")).startswith("no")):
            raise FileNotFoundError(f"{path.name} is not a finished experiment: no model "
                                    "(model.json and model.weights.npz)")
        config = (config_cls or ExperimentConfig).from_dict(metrics["config"])
        return cls(path, config, metrics, history)

    @property
    def model_path(self) -> Path | None:
        """The model file (:func:`model_location`): in the artifact, or — for a model too large
        to commit — the local copy that training left in the cache; None if neither."""
        return model_location(self.path)

    @property
    def has_model(self) -> bool:
        return self.model_path is not None

    @property
    def scores(self) -> Scores:
        """``metrics.json``'s scores as methods: ``art.scores.accuracy("PrivateTest")`` (an
        ES-MAP experiment's test part is the split ``"test"``)."""
        return Scores(self.metrics)

    def load_model(self):
        """The artifact's model, ready for inference (:func:`fer_utils.inference.load_model_file`)."""
        from fer_utils.inference import load_model_file  # inference builds on this module

        if not self.has_model:
            raise FileNotFoundError(
                f"{self.path.name} keeps metrics only ({self.metrics.get('model_kept', 'no model')}); "
                "train the config again (python -m fer_utils train ... --retrain) to get the model")
        return load_model_file(self.model_path)

    @property
    def display(self) -> str:
        """The artifact's path relative to the repository (for messages and notebooks)."""
        try:
            return self.path.resolve().relative_to(paths.repo_root().resolve()).as_posix()
        except ValueError:
            return self.path.name


def find_artifact(config: ExperimentConfig, data: DataRef, root: Path,
                  cls=Artifact) -> Artifact | None:
    """The finished artifact of ``config`` on ``data`` under ``root``, or None."""
    try:
        found = cls.from_folder(root / artifact_key(config, data), type(config))
    except FileNotFoundError:
        return None
    found.config = config
    return found


def find_named(root: Path, name: str, data: DataRef) -> Artifact | None:
    """The finished artifact under ``root`` of the config called ``name`` (its ``name``
    field, e.g. ``"mx-fer"``) on ``data``, found by its metrics rather than by rebuilding the
    config (so a reader of results needs no training code); the newest key schema first."""
    found = []
    for metrics_file in root.glob(f"{name}-{data.name}-*/metrics.json"):
        try:
            m = json.loads(metrics_file.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if m.get("config", {}).get("name") == name and m.get("data_fingerprint") == data.fingerprint:
            found.append((m.get("key_schema", 1), metrics_file.parent, m))
    if not found:
        return None
    _, path, metrics = max(found, key=lambda f: f[0])
    history = json.loads((path / "history.json").read_text()) if (path / "history.json").is_file() else {}
    return Artifact(path, ExperimentConfig(), metrics, history)


def finished_metrics(root: Path, data: DataRef | None = None) -> dict[Path, dict]:
    """``metrics.json`` of every finished experiment directly under ``root`` (on ``data``'s
    content when given), by folder, sorted: the one scan of an artifacts folder."""
    out = {}
    for f in sorted(Path(root).glob("*/metrics.json")):
        m = json.loads(f.read_text())
        if data is None or m.get("data_fingerprint") == data.fingerprint:
            out[f.parent] = m
    return out


def large_model_path(key: str) -> Path:
    """Where a model over :data:`MAX_MODEL_BYTES` is kept on the machine that trained it
    (``<cache>/large-models/<artifact key>/``, the portable form): outside the repository,
    never committed."""
    return paths.cache_dir() / "large-models" / key


def model_location(folder: Path, *, committed_only: bool = False) -> Path | None:
    """The model of the artifact in ``folder``: its portable spec ``model.json``; a
    ``model.keras`` (artifacts written before the portable form); or, for a model too large to
    commit, the copy in :func:`large_model_path` (also as a ``.keras`` file, its older form),
    unless ``committed_only``. None if there is none."""
    places = [folder / models.PORTABLE_SPEC, folder / "model.keras"]
    if not committed_only:
        local = large_model_path(folder.name)
        places += [local / models.PORTABLE_SPEC, local.with_name(f"{local.name}.keras")]
    return next((p for p in places if p.is_file()), None)


def finish_artifact(out: Path, model, result: dict, history: dict, *, spec: dict,
                    keep_model: bool | str = True, checkpoint: Path | None = None) -> None:
    """Write a finished experiment to ``out`` all at once (a sibling folder renamed onto it):
    the model in the portable form (:func:`fer_utils.models.save_portable`; ``spec`` is
    ``{"builder": name, "kwargs": {...}}``, what :func:`fer_utils.models.build` rebuilds it
    from) when ``keep_model`` is True and its weights take at most :data:`MAX_MODEL_BYTES`
    (a larger one goes to :func:`large_model_path`), ``history.json`` and ``metrics.json``
    with ``model_kept`` saying what happened. ``keep_model`` may be a string: the reason the
    model is not kept. ``checkpoint``, the run's checkpoint folder, is removed once the
    artifact is in place (:func:`fer_utils.fitting.remove_checkpoint`)."""
    tmp = out.with_name(f".{out.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        if keep_model is not True:
            result["model_kept"] = f"no: {keep_model}"
        else:
            staged = tmp / "model"
            models.save_portable(model, staged, spec["builder"], spec["kwargs"])
            size = (staged / models.PORTABLE_WEIGHTS).stat().st_size
            if size > MAX_MODEL_BYTES:
                result["model_kept"] = (f"no: {size / 1e6:.0f} MB is too large to commit; the "
                                        "machine that trained it keeps a copy in its cache")
                local = large_model_path(out.name)
                shutil.rmtree(local, ignore_errors=True)
                local.parent.mkdir(parents=True, exist_ok=True)
                shutil.move(staged, local)
            else:
                result["model_kept"] = "yes"
                for f in staged.iterdir():
                    f.rename(tmp / f.name)
            shutil.rmtree(staged, ignore_errors=True)
        (tmp / "history.json").write_text(json.dumps(history, indent=1))
        (tmp / "config.json").write_text(json.dumps(result["config"], indent=2))
        (tmp / "metrics.json").write_text(json.dumps(result, indent=1))
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if checkpoint is not None:
        fitting.remove_checkpoint(checkpoint)


@contextlib.contextmanager
def exclusive(key: str):
    """Hold the lock of artifact ``key`` (``<cache>/locks/<key>.lock``) while inside: one
    process at a time trains a key, so two notebooks (or a notebook and the campaign) that ask
    for the same run never share its checkpoint folder. A second process says once whose
    turn it is and waits. Where :mod:`fcntl` is missing (Windows) nothing is locked."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    lock = paths.cache_dir() / "locks" / f"{key}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            print(f"{key}: process {holder} is training it; waiting until it has finished",
                  file=sys.stderr, flush=True)
            fcntl.flock(fh, fcntl.LOCK_EX)
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        yield


def find_or_run(key: str, find, run, *, retrain: bool = False):
    """``find()`` (the finished artifact, or None) unless ``retrain``, else ``run()``: both
    under :func:`exclusive` for ``key``, so a process that waited for another one's run of the
    same key loads its artifact instead of training it again. What :func:`fer_utils.train.train`
    and :func:`fer_utils.mapnet.run` do."""
    with exclusive(key):
        if not retrain and (found := find()) is not None:
            return found
        return run()


def committed_or_run(config: ExperimentConfig, ds, find, committed_root: Path,
                     run, *, quick: dict | None = None, **kwargs):
    """The rule of :func:`fer_utils.train.load_or_train` and
    :func:`fer_utils.mapnet.load_or_run`, for any kind of experiment: the book's committed
    artifact, ``find(config, DataRef.of(ds), committed_root)``, if there is one (in a checkout
    and in a wheel install alike); else ``run`` (which loads what the reader trained before),
    on :meth:`ExperimentConfig.quick` with the changes in ``quick`` in quick mode."""
    if not kwargs.get("retrain"):
        found = find(config, DataRef.of(ds), committed_root)
        if found is not None:
            return found
    if runtime.quick_mode():
        config = config.quick().replace(**(quick or {}))
    return run(config, ds, **kwargs)
