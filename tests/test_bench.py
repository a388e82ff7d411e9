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
