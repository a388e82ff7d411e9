"""The committed artifacts under data/: well-formed, small, keyed by their config, and
reproducible (re-evaluating each model gives the metrics it stores, when the real data is here)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from fer_utils import data, experiment, paths
from fer_utils import train as T
from fer_utils.experiment import DataRef
from fer_utils.models import PORTABLE_SPEC, PORTABLE_WEIGHTS

ROOT = paths.repo_root() / "data"
ARTIFACTS = sorted(p.parent for p in ROOT.glob("*/metrics.json"))
# conftest gives every test an empty FER_DATA_DIR; re-evaluation needs the real one
REAL_DATA_DIR = os.environ.get(paths.DATA_ENV)
REAL_CACHE_DIR = str(paths.cache_dir())
# The depth-6 ablation model (1.6 M float32 parameters) is 6.4 MB and the recipe's VGG-style
# network (1.77 M) 7.2 MB; the real-time models are about 0.3 MB. The whole of data/ must stay a
# small download (the wheel carries it too): 100 MB, about 30 more such models.
MAX_MODEL_BYTES = 8_000_000
MAX_TOTAL_BYTES = 100_000_000


def _ids(p: Path) -> str:
    return p.name


def test_there_are_committed_artifacts():
    names = {json.loads((a / "metrics.json").read_text())["config"]["name"] for a in ARTIFACTS}
    assert {f"cnn-d{d}-s{s}" for d in (3, 4, 5, 6) for s in (0, 1, 2)} <= names


def test_committed_data_stays_small():
    total = sum(f.stat().st_size for f in ROOT.rglob("*") if f.is_file())
    assert total < MAX_TOTAL_BYTES, f"data/ holds {total / 1e6:.0f} MB"


def _keeps_model(art: Path) -> bool:
    """False for artifacts of large models, which say in metrics.json that they keep none."""
    kept = json.loads((art / "metrics.json").read_text()).get("model_kept", "yes")
    return not str(kept).startswith("no")


@pytest.mark.parametrize("art", ARTIFACTS, ids=_ids)
def test_artifact_is_complete_small_and_keyed_by_its_config(art):
    needed = ("config.json", "history.json", "metrics.json")
    for f in needed + ((PORTABLE_SPEC, PORTABLE_WEIGHTS) if _keeps_model(art) else ()):
        assert (art / f).is_file(), f"{art.name} lacks {f}"
    assert not (art / "checkpoint").exists() and not (art / "model.keras").exists()
    if _keeps_model(art):
        assert (art / PORTABLE_WEIGHTS).stat().st_size < MAX_MODEL_BYTES
    else:
        assert not (art / PORTABLE_WEIGHTS).exists()
    m = json.loads((art / "metrics.json").read_text())
    config = T.TrainConfig.from_dict(m["config"])
    assert config == T.TrainConfig.from_json(art / "config.json")
    assert art.name == experiment.artifact_key(config, DataRef.official_fer2013())
    assert m["data"] == "fer2013", "committed artifacts come from full runs on the real data"
    assert m["data_fingerprint"] == data.FER2013_FINGERPRINT
    # a committed artifact is one of the shipped configs exactly (never a quick-mode variant);
    # a shipped config may train on a stated subset (the CPU-sized VGG-16 / ResNet-50), but
    # every model is evaluated on the whole of PublicTest and PrivateTest
    shipped = {p.stem: p for d in T.config_dirs() for p in d.glob("**/*.json")}
    assert config.name in shipped, f"{config.name} is not a shipped config"
    assert config == T.TrainConfig.from_json(shipped[config.name])
    assert config.eval_limit is None
    for split in ("PublicTest", "PrivateTest"):
        assert 0 < m[split]["accuracy"] <= 1 and m[split]["n"] > 1000


@pytest.fixture(scope="module")
def real():
    if REAL_DATA_DIR is None or data.find_fer2013(REAL_DATA_DIR) is None:
        pytest.skip("real FER-2013 not found (set FER_DATA_DIR): nothing to re-evaluate on")
    ds = data.load_fer2013(REAL_DATA_DIR, progress=False)
    if ds.is_sample or not ds.has_row_order:
        pytest.skip("the artifacts were made from fer2013.csv; this data is another form")
    return ds


def _need_cached_landmarks(real, monkeypatch, what: str) -> None:
    """Skip unless FER-2013's landmarks are in this machine's cache (9 min to compute), and
    unless they are the legacy Face Mesh's, which made every stored figure (Colab's Tasks
    landmarks give other figures: Chapter 5 measures how far, data/benchmarks/landmark-backends.json)."""
    from fer_utils import landmarks

    if landmarks.resolve_backend("auto") != "legacy":
        pytest.skip(f"{what}: its stored figures were made with the legacy Face Mesh, which this "
                    "MediaPipe lacks (Tasks landmarks differ; Chapter 5 measures by how much)")
    monkeypatch.setenv("FER_CACHE_DIR", REAL_CACHE_DIR)
    if landmarks.dataset_landmarks(real.images, progress=False, cached_only=True) is None:
        pytest.skip(f"{what}: FER-2013's landmarks are not cached here (9 min to compute: "
                    "python -c 'from fer_utils import data, landmarks; "
                    "landmarks.dataset_landmarks(data.load_fer2013().images)')")


def _quick() -> bool:
    return os.environ.get("FER_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}


def _kind(art: Path) -> tuple:
    """What re-evaluating a model exercises: its network, label set and kind of mask."""
    c = json.loads((art / "metrics.json").read_text())["config"]
    mask = c.get("mask", "none")
    return (c["model"], "ferplus" if c["labels"].startswith("ferplus") else "fer",
            "none" if mask == "none" else "landmark" if mask.startswith("lm-") else "band")


def _to_reevaluate() -> list[Path]:
    """Every committed model with FER_QUICK=0 (``FER_QUICK=0 make unit``); in quick mode, the
    pytest default and `make test`, the first of each kind, which keeps the suite
    under its time budget: the others run the same code on other weights."""
    if not _quick():
        return ARTIFACTS
    first = {}
    for art in ARTIFACTS:
        first.setdefault(_kind(art), art)
    return sorted(first.values())


@pytest.mark.parametrize("art", _to_reevaluate(), ids=_ids)
def test_reevaluating_the_model_reproduces_its_stored_metrics(art, real, monkeypatch, capsys):
    """`python -m fer_utils evaluate --model <artifact>` gives the stored PrivateTest numbers
    (it takes the artifact's labels and mask)."""
    if not _keeps_model(art):
        monkeypatch.setenv("FER_CACHE_DIR", REAL_CACHE_DIR)
        if experiment.model_location(art) is None:
            pytest.skip(f"{art.name} keeps metrics only (a large model), and this machine has "
                        "no local copy")
        if _quick():
            pytest.skip(f"{art.name}: a large model, re-evaluated with FER_QUICK=0 only")
    monkeypatch.setenv(paths.DATA_ENV, REAL_DATA_DIR)  # FERPlus votes are found beside FER-2013
    stored = json.loads((art / "metrics.json").read_text())
    labels = stored["config"]["labels"]
    if labels.startswith("ferplus") or labels == "fer-clean":
        from fer_utils import ferplus
        if ferplus.find_ferplus() is None:
            pytest.skip("FERPlus labels not found")
    mask = stored["config"].get("mask", "none")
    if mask.startswith("lm-"):  # landmark masks need FER-2013's landmarks
        _need_cached_landmarks(real, monkeypatch, "landmark mask")
    from fer_utils import cli

    assert cli.main(["evaluate", "--model", str(art), "--data", REAL_DATA_DIR, "--json"]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert got["mask"] == mask
    want = stored["PrivateTest"]
    for key in ("n", "accuracy", "macro_f1", "weighted_f1", "confusion"):
        assert got[key] == want[key], key


ESMAP_ARTIFACTS = sorted(p.parent for p in (ROOT / "esmap").glob("*/metrics.json"))


@pytest.mark.parametrize("art", ESMAP_ARTIFACTS, ids=_ids)
def test_esmap_artifact_is_complete_and_keyed_by_its_config(art):
    """Chapter 5's experiments (fer_utils.mapnet): keyed like every artifact, undetected test
    faces counted, model kept only when small."""
    from fer_utils import mapnet

    m = json.loads((art / "metrics.json").read_text())
    config = mapnet.MapConfig.from_dict(m["config"])
    assert config == mapnet.MapConfig.from_dict(json.loads((art / "config.json").read_text()))
    assert art.name == experiment.artifact_key(config, DataRef.official_fer2013())
    assert m["data"] == "fer2013" and config.eval_limit is None
    assert m["data_fingerprint"] == data.FER2013_FINGERPRINT
    assert (art / "history.json").is_file() and not (art / "checkpoint").exists()
    assert (art / PORTABLE_SPEC).is_file() == (m["model_kept"] == "yes")
    if m["model_kept"] == "yes":
        assert (art / PORTABLE_WEIGHTS).stat().st_size < MAX_MODEL_BYTES
    t, t_all = m["test"], m["test_all"]
    assert t_all["n"] == t["n"] + t_all["n_undetected"]
    assert t_all["accuracy"] == pytest.approx(t["accuracy"] * t["n"] / t_all["n"])
    if config.protocol == "fer2013":
        assert m["n_validation"] > 0  # selected on PublicTest, never on the test split
    else:
        assert m["n_validation"] == 0  # the paper's protocol: fixed epochs, no selection


def _esmap_to_reevaluate() -> list[Path]:
    """Every ES-MAP run that keeps its model with FER_QUICK=0; in quick mode one, the cheapest
    (pooled maps, FER-2013 protocol: a baseline from 10,000 faces and 3,347 test maps)."""
    kept = [a for a in ESMAP_ARTIFACTS if (a / PORTABLE_SPEC).is_file()]
    return kept if not _quick() else [a for a in kept if a.name.startswith("esh-pool-fer")][:1]


@pytest.mark.parametrize("art", _esmap_to_reevaluate(), ids=_ids)
def test_reevaluating_an_esmap_model_reproduces_its_stored_metrics(art, real, monkeypatch,
                                                                    capsys):
    """`python -m fer_utils evaluate --model <ES-MAP folder>` (mapnet.evaluate) rebuilds the
    split, the training baseline and the test maps from the landmarks and gives the stored test
    metrics, on detected faces and end to end."""
    from fer_utils import cli

    _need_cached_landmarks(real, monkeypatch, "ES-MAP model")
    assert cli.main(["evaluate", "--model", str(art), "--data", REAL_DATA_DIR, "--json"]) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    m = json.loads((art / "metrics.json").read_text())
    for key in ("n", "accuracy", "macro_f1", "confusion"):
        assert got["test"][key] == m["test"][key], key
    assert got["test_all"] == m["test_all"]


def _majority_share(scores: dict) -> float:
    """The accuracy of always answering the most frequent true class of a confusion matrix."""
    import numpy as np

    conf = np.asarray(scores["confusion"])
    return float(conf.sum(axis=1).max() / conf.sum())


def _all_scored() -> list:
    return [pytest.param(f.parent, id=f.parent.name)
            for f in sorted(ROOT.glob("*/metrics.json")) + sorted(ROOT.glob("ensembles/*/metrics.json"))
            + sorted(ROOT.glob("esmap/*/metrics.json"))]


@pytest.mark.parametrize("art", _all_scored())
def test_no_committed_model_is_below_the_majority_class(art):
    m = json.loads((art / "metrics.json").read_text())
    split = "test" if "test" in m else "PrivateTest"
    assert m[split]["accuracy"] > _majority_share(m[split]) + 0.02, \
        f"{art.name}: {m[split]['accuracy']:.3f} vs always the majority class"


def test_tracked_checkpoints_stay_small():
    """A checkpoint committed to continue a long run (README, 'Long runs') must be a small
    model's: a large model's files (hundreds of MB) would make the repository unusable."""
    import subprocess

    root = paths.repo_root()
    try:
        listed = subprocess.run(["git", "ls-files", "checkpoints"], cwd=root, capture_output=True,
                                text=True, check=True).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout")
    big = [f for f in listed if (root / f).is_file() and (root / f).stat().st_size > 20_000_000]
    assert not big, f"checkpoints over 20 MB are tracked: {big}"
