"""A reader who installs the package from a wheel (Colab's first cell, `pip install` from the
repository) gets the committed models and metrics, and training writes to a user folder,
never into site-packages."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fer_utils import paths
from fer_utils.sample import sample_photos

ROOT = paths.repo_root()


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """The wheel built from this checkout, installed (without its dependencies, which this
    environment has) into a folder of its own."""
    out = tmp_path_factory.mktemp("wheel")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q",
                            "-w", str(out / "dist")], capture_output=True, text=True)
    if build.returncode != 0 and "Could not find a version" in build.stderr:
        pytest.skip("hatchling (the build backend) cannot be downloaded here")
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = (out / "dist").glob("fer_utils-*.whl")
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target",
                    str(out / "site"), str(wheel)], check=True)
    return out / "site"


def _run(site: Path, home: Path, code: str, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items()
            if k not in ("FER_ARTIFACTS_DIR", "FER_CACHE_DIR", "FER_DATA_DIR", "FER_QUICK")}
    base.update(PYTHONPATH=str(site), HOME=str(home), MPLBACKEND="Agg", **env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=base, cwd=home, timeout=600)


def test_the_wheel_carries_the_committed_models(site):
    data = site / "fer_utils" / "_book_data"
    committed = {p.parent.name for p in (ROOT / "data").glob("*/metrics.json")}
    assert committed and {p.parent.name for p in data.glob("*/metrics.json")} == committed
    assert (data / "benchmarks" / "training.json").is_file()


def test_predict_uses_the_default_model_from_the_wheel(site, tmp_path):
    photo = tmp_path / "hopper.png"
    Image.fromarray(sample_photos()["grace_hopper"]).save(photo)
    code = ("import sys, fer_utils; from fer_utils import cli, paths;"
            "assert fer_utils.__file__.startswith(sys.path[0]), fer_utils.__file__;"
            "assert not paths.in_checkout();"
            f"sys.exit(cli.main(['predict', {str(photo)!r}, '--json']))")
    out = _run(site, tmp_path, code)
    assert out.returncode == 0, out.stderr[-2000:]
    faces = json.loads(out.stdout.strip().splitlines()[-1])["faces"]
    assert len(faces) == 1 and np.isclose(sum(faces[0]["probabilities"].values()), 1, atol=1e-3)


def test_a_chapter_loads_the_committed_artifact_and_trains_outside_site_packages(site, tmp_path):
    code = """
import json
from fer_utils import experiment, paths, train
from fer_utils.experiment import DataRef
from fer_utils.sample import make_sample
config = train.TrainConfig.named("ablation/cnn-d4-s0")
committed = experiment.find_artifact(config, DataRef.official_fer2013(), paths.committed_dir())
quick = train.load_or_train(config, make_sample(), quick={"epochs": 1}, progress=False)
print(json.dumps({"committed": str(committed.path), "trained": str(quick.path),
                  "user": str(paths.artifacts_dir())}))
"""
    out = _run(site, tmp_path, code, FER_QUICK="1")
    assert out.returncode == 0, out.stderr[-2000:]
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["committed"].startswith(str(site / "fer_utils" / "_book_data"))
    for key in ("trained", "user"):  # written to the reader's folders, never site-packages
        assert not got[key].startswith(str(site)) and got[key].startswith(str(tmp_path))
    assert not any(site.rglob("*.tmp*"))
