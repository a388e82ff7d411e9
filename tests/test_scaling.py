"""The scaling page's arithmetic: map sizes, hours from a rate, projections from the benchmark."""
import pytest

from fer_utils import bench, scaling


def test_map_sizes_are_the_issue_figures():
    assert scaling.map_bytes("full") == 468 * 468 * 4 == 876_096          # 876 kB
    assert scaling.map_bytes("pooled") == 52 * 52 * 4 == 10_816           # 10.8 kB
    assert scaling.storage_gb(1_000_000, "full") == pytest.approx(876.1, abs=0.1)
    assert scaling.storage_gb(1_000_000, "pooled") == pytest.approx(10.8, abs=0.1)
    with pytest.raises(ValueError, match="reduce"):
        scaling.map_bytes("reference")


def test_hours_scale_with_workers_and_efficiency():
    one = scaling.hours(3600, 1.0)
    assert one == pytest.approx(1.0)
    assert scaling.hours(3600, 1.0, workers=4) == pytest.approx(0.25)
    assert scaling.hours(3600, 1.0, workers=4, efficiency=0.5) == pytest.approx(0.5)
    for bad in ({"per_second_per_worker": 0}, {"workers": 0}, {"efficiency": 1.5}):
        args = {"per_second_per_worker": 1.0, "workers": 1, "efficiency": 1.0} | bad
        with pytest.raises(ValueError):
            scaling.hours(10, **args)


def test_projection_from_a_benchmark_result():
    result = {"machine": {"cpus": 2},
              "landmarks": [{"workers": 1, "images_per_second": 100.0, "ms_per_image": 10.0},
                            {"workers": 2, "images_per_second": 150.0, "ms_per_image": 6.7}],
              "training": {"none": {"images_per_second": 200.0}}}
    rates = scaling.Rates.from_benchmark(result)
    assert rates.ray_efficiency == pytest.approx(0.75) and rates.cores == 2
    rows = scaling.projection(rates, 360_000, machines=(1, 10))
    assert rows[0]["landmark workers"] == 2 and rows[1]["landmark workers"] == 20
    # 360,000 faces at 100/s per worker, 2 workers at 75 %: 2,400 s
    assert rows[0]["landmarks (hours)"] == pytest.approx(2400 / 3600)
    assert rows[1]["landmarks (hours)"] == pytest.approx(rows[0]["landmarks (hours)"] / 10)
    assert rows[0]["one training epoch (hours)"] == pytest.approx(0.5)


def test_the_committed_benchmark_gives_a_projection():
    result = bench.load("scaling")
    assert result, "data/benchmarks/scaling.json is committed with the book"
    rates = scaling.Rates.from_benchmark(result)
    assert 0 < rates.ray_efficiency <= 1 and rates.landmark_ms > 0
    rows = scaling.projection(rates, scaling.AFFECTNET_ANNOTATED)
    hours = [r["landmarks (hours)"] for r in rows]
    assert hours == sorted(hours, reverse=True)
