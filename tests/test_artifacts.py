"""The committed artifacts under data/: well-formed, small, keyed by their config, and
reproducible (re-evaluating each model gives the metrics it stores, when the real data is here)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from fer_utils import data, paths, train as T

ROOT = paths.repo_root() / "data"
ARTIFACTS = sorted(p.parent for p in ROOT.glob("*/metrics.json"))
# The depth-6 ablation model (1.6 M float32 parameters) is the largest at 6.4 MB; the
# real-time models are about 0.3 MB. The whole of data/ must stay a small download.
MAX_MODEL_BYTES = 8_000_000
MAX_TOTAL_BYTES = 80_000_000


def _ids(p: Path) -> str:
    return p.name


def test_there_are_committed_artifacts():
    names = {json.loads((a / "metrics.json").read_text())["config"]["name"] for a in ARTIFACTS}
    assert {f"cnn-d{d}-s{s}" for d in (3, 4, 5, 6) for s in (0, 1, 2)} <= names


def test_committed_data_stays_small():
    total = sum(f.stat().st_size for f in ROOT.rglob("*") if f.is_file())
    assert total < MAX_TOTAL_BYTES, f"data/ holds {total / 1e6:.0f} MB"


@pytest.mark.parametrize("art", ARTIFACTS, ids=_ids)
def test_artifact_is_complete_small_and_keyed_by_its_config(art):
    for f in ("model.keras", "config.json", "history.json", "metrics.json"):
        assert (art / f).is_file(), f"{art.name} lacks {f}"
    assert not (art / "checkpoint").exists()
    assert (art / "model.keras").stat().st_size < MAX_MODEL_BYTES
    m = json.loads((art / "metrics.json").read_text())
    config = T.TrainConfig.from_dict(m["config"])
    assert config == T.TrainConfig.from_json(art / "config.json")
    assert art.name == T.artifact_key(config, m["data"])
    assert m["data"] == "fer2013", "committed artifacts come from full runs on the real data"
    assert config.train_limit is None and config.eval_limit is None
    for split in ("PublicTest", "PrivateTest"):
        assert 0 < m[split]["accuracy"] <= 1 and m[split]["n"] > 1000


@pytest.fixture(scope="module")
def real():
    if data.find_fer2013() is None:
        pytest.skip("real FER-2013 not found (set FER_DATA_DIR): nothing to re-evaluate on")
    ds = data.load_fer2013(progress=False)
    if ds.is_sample or not ds.has_row_order:
        pytest.skip("the artifacts were made from fer2013.csv; this data is another form")
    return ds


@pytest.mark.parametrize("art", ARTIFACTS, ids=_ids)
def test_reevaluating_the_model_reproduces_its_stored_metrics(art, real):
    stored = json.loads((art / "metrics.json").read_text())
    labels = stored["config"]["labels"]
    if labels.startswith("ferplus"):
        from fer_utils import ferplus
        if ferplus.find_ferplus() is None:
            pytest.skip("FERPlus labels not found")
    got = T.evaluate_model(art, real, "PrivateTest", labels)
    want = stored["PrivateTest"]
    for key in ("n", "accuracy", "macro_f1", "weighted_f1", "confusion"):
        assert got[key] == want[key], key
