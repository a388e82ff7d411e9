"""fer_utils.bench: saved benchmarks are found in quick mode too (they are measurements)."""
from __future__ import annotations

from fer_utils import bench, paths


def test_load_prefers_the_artifacts_dir_and_falls_back_to_the_committed_file(tmp_path,
                                                                          monkeypatch):
    monkeypatch.setenv("FER_QUICK", "1")
    monkeypatch.delenv("FER_ARTIFACTS_DIR", raising=False)
    committed = paths.repo_root() / "data" / "benchmarks" / "realtime.json"
    if committed.is_file():
        assert bench.load("realtime")["machine"]["cpus"] > 0
    assert bench.load("no-such-benchmark") is None
    monkeypatch.setenv("FER_ARTIFACTS_DIR", str(tmp_path))
    saved = bench.save("realtime", {"classifier": {}})
    assert saved.parent == tmp_path / "benchmarks"
    assert bench.load("realtime") == {"machine": bench.machine(), "classifier": {}}


def test_seconds_per_epoch_extrapolates_the_timed_steps_of_a_pipeline():
    import numpy as np

    from fer_utils import fitting, models

    model = models.build("cnn", depth=3, width=4)
    model.compile(optimizer="adam", loss="categorical_crossentropy")
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (64, 48, 48)).astype(np.float32)
    labels = rng.integers(0, 7, 64)
    s = bench.seconds_per_epoch(model, x, labels, batch_size=16, steps=3, n_epoch_images=160)
    ds = fitting.make_dataset(x, np.eye(7, dtype=np.float32)[labels], batch_size=16, shuffle=True)
    t = bench.dataset_seconds_per_epoch(model, ds, batch_size=16, steps=3, n_epoch_images=160)
    assert 0 < s < 60 and 0 < t < 60        # ten steps' worth of a tiny network
