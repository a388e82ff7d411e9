"""fer_utils.distributed: the landmark job, serially and on a local two-worker Ray cluster."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fer_utils import cli, distributed, landmarks
from fer_utils.sample import make_sample


@pytest.fixture(scope="module")
def images():
    return make_sample().images[:160]


def _same(a: landmarks.LandmarkSet, b: landmarks.LandmarkSet) -> None:
    assert (a.status == b.status).all()
    np.testing.assert_array_equal(a.points, b.points)  # NaN where no face, in both


def test_serial_job_equals_the_direct_extraction_and_resumes(images, tmp_path):
    report = distributed.extract_landmarks(images, tmp_path / "job", shard_size=64,
                                           progress=False)
    assert report.n_shards == 3 and report.shards_done_before == 0
    assert sum(report.counts.values()) == len(images)
    direct = landmarks.extract_batch(images, progress=False)
    _same(distributed.load_shards(tmp_path / "job"), direct)
    (tmp_path / "job" / "shard-00001.npz").unlink()  # a lost shard
    with pytest.raises(FileNotFoundError, match="1 of 3 shards are missing"):
        distributed.load_shards(tmp_path / "job")
    again = distributed.extract_landmarks(images, tmp_path / "job", shard_size=64,
                                          progress=False)
    assert again.shards_done_before == 2 and again.counts == report.counts
    _same(distributed.load_shards(tmp_path / "job"), direct)


def test_two_ray_workers_give_the_serial_landmarks(images, tmp_path):
    pytest.importorskip("ray")
    serial = distributed.extract_landmarks(images, tmp_path / "serial", shard_size=40,
                                           progress=False)
    ray_job = distributed.extract_landmarks(images, tmp_path / "ray", shard_size=40, workers=2,
                                            progress=False)
    assert "Ray" in ray_job.where and ray_job.counts == serial.counts
    _same(distributed.load_shards(tmp_path / "ray"), distributed.load_shards(tmp_path / "serial"))


def test_a_folder_of_photos_is_read_lazily_and_the_cli_reports(images, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(6):
        Image.fromarray(images[i]).save(folder / f"{i:02d}.png")
    code = cli.main(["landmarks", str(folder), "--out", str(tmp_path / "out"), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0 and "of 6 faces with landmarks" in out
    got = distributed.load_shards(tmp_path / "out")
    _same(got, landmarks.extract_batch([np.repeat(images[i][..., None], 3, 2) for i in range(6)],
                                       progress=False))
    assert cli.main(["landmarks", str(tmp_path / "none"), "--out", str(tmp_path / "o2")]) == 2
