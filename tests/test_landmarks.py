"""fer_utils.landmarks: Face Mesh back-ends, failure accounting, caching, regions."""
from __future__ import annotations

import numpy as np
import pytest

from fer_utils import landmarks as L
from fer_utils.sample import make_sample, sample_photos


@pytest.fixture(scope="module")
def photos():
    return sample_photos()


@pytest.fixture(scope="module")
def mesh():
    with L.FaceMesh() as m:
        yield m


def test_legacy_mesh_finds_468_points_inside_the_face(mesh, photos):
    for name, img in photos.items():
        pts, status = mesh.detect(img)
        assert status == L.OK, name
        assert pts.shape == (468, 3) and pts.dtype == np.float32
        # x, y inside the image (units of the width; y rescaled by height / width)
        h, w = img.shape[:2]
        assert (pts[:, 0] > 0).all() and (pts[:, 0] < 1).all()
        assert (pts[:, 1] > 0).all() and (pts[:, 1] < h / w).all()
        # z is relative depth, small compared with the face width
        assert np.abs(pts[:, 2]).max() < 0.5 * np.ptp(pts[:, 0])


def test_grey_and_float_inputs_give_the_same_landmarks(mesh, photos):
    from fer_utils.faces import to_gray

    grey = to_gray(photos["astronaut"])
    a = mesh(grey)
    b = mesh(grey.astype(np.float32) / 255.0)
    c = mesh(grey[..., None])
    assert a is not None and np.allclose(a, b, atol=1e-3) and np.allclose(a, c, atol=1e-6)


def test_non_square_images_use_the_width_as_unit_for_x_and_y(mesh, photos):
    """Padding the bottom of a photo changes its height, not where the face is in pixels:
    in width units the landmarks stay put (MediaPipe's raw y would shrink by the ratio)."""
    img = photos["astronaut"]
    tall = np.concatenate([img, np.full((256,) + img.shape[1:], 255, np.uint8)])
    a, b = mesh(img), mesh(tall)
    np.testing.assert_allclose(b[:, :2], a[:, :2], atol=0.01)


@pytest.mark.parametrize("bad, code", [
    (np.zeros((48, 48), np.uint8), L.BLANK),
    (np.full((64, 64, 3), 200, np.uint8), L.BLANK),
    (np.zeros((8, 8), np.uint8) + np.arange(8, dtype=np.uint8), L.BAD_INPUT),  # too small
    (np.array(["not", "an", "image"]), L.BAD_INPUT),
    (np.zeros((48, 48, 5)), L.BAD_INPUT),
    (np.full((48, 48), np.nan), L.BAD_INPUT),
    (np.random.default_rng(0).integers(0, 256, (96, 96), dtype=np.uint8), L.NO_FACE),
])
def test_bad_inputs_are_reported_not_raised(mesh, bad, code):
    pts, status = mesh.detect(bad)
    assert pts is None and status == code
    assert mesh(bad) is None


def test_batch_counts_every_failure_and_keeps_order(mesh, photos):
    from fer_utils.faces import to_gray

    face = to_gray(photos["grace_hopper"])[:512, :512]
    imgs = [face, np.zeros((48, 48), np.uint8), "nonsense", face]
    ls = L.extract_batch(imgs, mesh, progress=False)
    assert ls.status.tolist() == [L.OK, L.BLANK, L.BAD_INPUT, L.OK]
    assert np.isnan(ls.points[1]).all() and not np.isnan(ls.points[0]).any()
    assert np.allclose(ls.points[0], ls.points[3])
    assert ls.counts() == {"face": 2, "no face found": 0, "blank image": 1, "not an image": 1}
    assert ls.detection_rate == 0.5
    assert "2 of 4" in ls.summary() and "1 blank image" in ls.summary()


def test_detection_table_by_split_and_class():
    ls = L.LandmarkSet(np.zeros((6, 468, 3), np.float32),
                       np.array([0, 1, 0, 0, 2, 0], np.int8))
    labels = np.array([0, 0, 3, 3, 3, 6])
    split = np.array(["Training"] * 4 + ["PublicTest"] * 2)
    t = ls.detection_table(labels, split)
    assert t.loc["Training", "angry"] == 50.0 and t.loc["Training", "happy"] == 100.0
    assert t.loc["PublicTest", "happy"] == 0.0 and t.loc["total", "all"] == pytest.approx(400 / 6)
    assert np.isnan(t.loc["Training", "neutral"])
    assert t.attrs["n"].loc["total", "all"] == 6


def test_dataset_landmarks_are_cached_and_resumed(tmp_path, monkeypatch):
    ds = make_sample(sizes={"Training": 30, "PublicTest": 5, "PrivateTest": 5})
    calls = []
    real = L.extract_batch

    def counting(block, mesh, **kw):
        calls.append(len(block))
        return real(block, mesh, **kw)

    monkeypatch.setattr(L, "extract_batch", counting)
    first = L.dataset_landmarks(ds.images, chunk=16, progress=False)
    assert calls == [16, 16, 8] and len(first) == 40
    assert first.detection_rate > 0.6  # the procedural faces are faces to Face Mesh too
    calls.clear()
    again = L.dataset_landmarks(ds.images, chunk=16, progress=False)
    assert calls == []
    np.testing.assert_array_equal(first.status, again.status)
    np.testing.assert_allclose(first.points, again.points, equal_nan=True)
    # a damaged chunk is recomputed, the others reused
    files = sorted((tmp_path / "cache" / "landmarks").glob("*.npz"))
    assert len(files) == 3
    files[0].write_bytes(b"broken")
    L.dataset_landmarks(ds.images, chunk=16, progress=False)
    assert len(calls) == 1


def test_save_and_load_round_trip(tmp_path):
    ls = L.LandmarkSet(np.random.default_rng(0).random((3, 468, 3)).astype(np.float32),
                       np.array([0, 1, 3], np.int8), 1.5, {"backend": "legacy"})
    ls.save(tmp_path / "x.npz")
    back = L.LandmarkSet.load(tmp_path / "x.npz")
    np.testing.assert_array_equal(back.points, ls.points)
    assert back.status.tolist() == [0, 1, 3] and back.settings == {"backend": "legacy"}


# ---------------------------------------------------------------- back-ends

class _Response:
    def __init__(self, body: bytes):
        self.body = body

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        return self.body


@pytest.fixture
def no_model(monkeypatch, tmp_path):
    """No $FER_FACE_LANDMARKER, an empty cache, and a network that fails (nothing real is fetched)."""
    import urllib.error
    import urllib.request

    monkeypatch.delenv(L.TASK_MODEL_ENV, raising=False)
    calls = []

    def offline(url, timeout=None):
        calls.append(url)
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    return calls


def test_tasks_backend_without_model_offline_says_where_to_get_it(no_model):
    with pytest.raises(L.LandmarkError,
                       match=r"offline, copy .*face_landmarker.task here and set \$FER_FACE_LANDMARKER"):
        L.FaceMesh("tasks")
    assert no_model == [L.TASK_MODEL_URL]  # Google's versioned address, once
    with pytest.raises(L.LandmarkError, match="no FaceLandmarker model file"):
        L.FaceMesh("tasks", model_path="/nonexistent/face_landmarker.task")


def test_the_task_model_is_fetched_once_checked_and_cached(no_model, monkeypatch):
    import hashlib
    import urllib.request

    good, bad = b"the bundle", b"something else"
    monkeypatch.setattr(L, "TASK_MODEL_SHA256", hashlib.sha256(good).hexdigest())
    fetched = []
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda url, timeout=None: fetched.append(url) or _Response(bad))
    with pytest.raises(L.LandmarkError, match="has sha256 .* it was not kept"):
        L.task_model_path()
    monkeypatch.setattr(urllib.request, "urlopen",
                        lambda url, timeout=None: fetched.append(url) or _Response(good))
    path = L.task_model_path()
    assert path.read_bytes() == good and path.name == "face_landmarker.task"
    assert L.task_model_path() == path and len(fetched) == 2  # the second call used the cache
    with pytest.raises(L.LandmarkError, match="set \\$FER_FACE_LANDMARKER"):
        path.write_bytes(bad)  # a damaged cached copy is not used
        L.task_model_path(fetch=False)


def test_auto_backend_takes_legacy_where_mediapipe_has_it(monkeypatch):
    monkeypatch.setattr(L, "has_legacy_mesh", lambda: True)
    assert L.resolve_backend("auto") == "legacy"
    monkeypatch.setattr(L, "has_legacy_mesh", lambda: False)
    assert L.resolve_backend("auto") == "tasks" and L.resolve_backend("legacy") == "legacy"


def test_compare_backends_measures_points_and_distances():
    rng = np.random.default_rng(0)
    pts = rng.uniform(0, 1, (5, L.N_LANDMARKS, 3)).astype(np.float32)
    a = L.LandmarkSet(pts, np.zeros(5, np.int8))
    same = L.compare_backends(a, a)
    assert same["found_both"] == 5 and same["xy_median"] == 0
    assert same["distance_corr_min"] == pytest.approx(1.0)
    moved = pts.copy()
    moved[:, :, 0] += 0.01  # a shift changes positions, not distances
    status = np.array([0, 0, 0, 0, 1], np.int8)
    moved[4] = np.nan
    b = L.LandmarkSet(moved, status)
    diff = L.compare_backends(a, b)
    assert diff["found_b"] == 4 and diff["found_both"] == 4
    assert diff["xy_median"] == pytest.approx(0.01, rel=1e-3)
    assert diff["distance_corr_median"] == pytest.approx(1.0, abs=1e-6)


def test_tasks_backend_rejects_a_file_that_is_not_a_model(tmp_path):
    junk = tmp_path / "face_landmarker.task"
    junk.write_bytes(b"not a model")
    with pytest.raises(L.LandmarkError, match="not a usable FaceLandmarker model"):
        L.FaceMesh("tasks", model_path=junk)


def test_unknown_backend():
    with pytest.raises(ValueError, match="legacy"):
        L.FaceMesh("dlib")


def test_missing_legacy_api_points_to_tasks(monkeypatch):
    import mediapipe as mp

    monkeypatch.delattr(mp, "solutions", raising=False)  # absent already in MediaPipe 1.x
    with pytest.raises(L.LandmarkError, match="backend='tasks'"):
        L.FaceMesh("legacy")


def test_landmarks_to_array_keeps_468_of_478_points():
    from types import SimpleNamespace as P

    pts = [P(x=i / 478, y=0.5, z=0.0) for i in range(478)]
    a = L.landmarks_to_array(pts, width=200, height=100)
    assert a.shape == (468, 3) and a[:, 1].max() == pytest.approx(0.25)
    with pytest.raises(L.LandmarkError):
        L.landmarks_to_array(pts[:100], 10, 10)


# ---------------------------------------------------------------- regions

@pytest.mark.offline_only  # the connection sets are in the legacy mp.solutions only
def test_regions_match_mediapipe_connection_sets():
    import mediapipe as mp

    fm = mp.solutions.face_mesh
    for name, points in L._CONNECTIONS.items():
        assert points == tuple(sorted({i for e in getattr(fm, name) for i in e})), name


def test_regions_are_disjoint_and_sit_where_their_names_say(mesh, photos):
    seen = np.concatenate(list(L.REGIONS.values()))
    assert len(seen) == len(set(seen.tolist())) and seen.max() < 468
    labels = L.region_labels()
    assert (labels[L.REGIONS["mouth"]] == "mouth").all() and (labels == "other").sum() > 300
    order = L.region_order()
    assert sorted(order.tolist()) == list(range(468))
    for img in photos.values():
        y = mesh(img)[:, 1]
        mean = {n: y[idx].mean() for n, idx in L.REGIONS.items()}
        # top to bottom: forehead, brows, eyes, nose, mouth, jaw
        assert (mean["forehead"] < mean["brows"] < mean["eyes"] < mean["nose"]
                < mean["mouth"] < mean["jaw"])
        assert y[L.REGIONS["forehead"]].max() < y[L.REGIONS["brows"]].min()


def test_cached_only_computes_nothing(monkeypatch):
    from fer_utils import landmarks as LM

    imgs = np.zeros((3, 48, 48), np.uint8)
    assert LM.dataset_landmarks(imgs, cached_only=True, progress=False) is None
    first = LM.dataset_landmarks(imgs, progress=False)  # blank images: fast, and now cached
    again = LM.dataset_landmarks(imgs, cached_only=True, progress=False)
    assert again is not None and (again.status == first.status).all()
