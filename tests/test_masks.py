"""fer_utils.masks: geometry of simple and landmark masks, fallbacks, NumPy and tf.data use."""
from __future__ import annotations

import numpy as np
import pytest

from fer_utils import masks as M


@pytest.mark.parametrize("size", [48, 64, 128, (50, 37), 7])
def test_simple_masks_cover_the_source_fractions_at_any_size(size):
    h, w = (size, size) if np.isscalar(size) else size
    for name, (top, bottom) in M.SIMPLE.items():
        m = M.simple_mask(name, size)
        assert m.shape == (h, w) and m.dtype == bool
        rows = np.flatnonzero(m.any(axis=1))
        assert rows[0] == round(top * h) and rows[-1] == round(bottom * h) - 1
        assert m[rows].all()  # whole rows
        assert m.mean() == pytest.approx(bottom - top, abs=1 / h)
    assert not M.simple_mask("none", size).any()
    # the three simple masks tile the image without overlap
    total = sum(M.simple_mask(n, size).astype(int) for n in M.SIMPLE)
    assert (total == 1).all()


def test_source_geometry_at_128_px():
    assert np.flatnonzero(M.simple_mask("forehead", 128).any(1)).tolist() == list(range(32))
    assert np.flatnonzero(M.simple_mask("eyes", 128).any(1)).tolist() == list(range(32, 64))
    assert np.flatnonzero(M.simple_mask("mouth", 128).any(1)).tolist() == list(range(64, 128))


def test_bad_names_and_sizes_are_refused_with_the_choices():
    with pytest.raises(ValueError, match="choose one of none, forehead"):
        M.simple_mask("chin")
    with pytest.raises(ValueError, match="at least 4"):
        M.simple_mask("eyes", 2)
    with pytest.raises(ValueError, match="not a landmark mask"):
        M.landmark_mask(np.zeros((468, 3)), "eyes")
    with pytest.raises(ValueError, match="pass its landmarks"):
        M.region_masks("lm-eyes", 3)


@pytest.fixture(scope="module")
def face():
    """A real face (the packaged portrait) at 48 px with its Face Mesh landmarks."""
    pytest.importorskip("mediapipe")
    import cv2

    from fer_utils.landmarks import extract_landmarks
    from fer_utils.sample import sample_photos

    rgb = sample_photos()["grace_hopper"][40:440, 60:460]
    gray = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (48, 48),
                      interpolation=cv2.INTER_AREA)
    pts = extract_landmarks(cv2.resize(rgb, (192, 192), interpolation=cv2.INTER_AREA))
    assert pts is not None
    return gray, pts


def test_landmark_masks_sit_where_their_regions_are(face):
    _, pts = face
    from fer_utils.landmarks import REGIONS

    rows = {}
    for name, regions in M.LANDMARK_REGIONS.items():
        m = M.landmark_mask(pts, name, 48)
        assert m.shape == (48, 48) and 0.01 < m.mean() < 0.5
        for r in regions:  # every landmark of the region is covered
            xy = np.clip(np.round(pts[REGIONS[r], :2] * 48).astype(int), 0, 47)
            assert m[xy[:, 1], xy[:, 0]].all()
        rows[name] = np.flatnonzero(m.any(axis=1)).mean()
    assert rows["lm-forehead"] < rows["lm-eyes"] < rows["lm-mouth"]  # top to bottom
    wider = M.landmark_mask(pts, "lm-eyes", 48, margin=0.1)
    assert wider.sum() > M.landmark_mask(pts, "lm-eyes", 48, margin=0).sum()
    assert M.landmark_mask(np.full((468, 3), np.nan), "lm-eyes") is None


def test_region_masks_fall_back_and_count(face):
    _, pts = face
    points = np.stack([pts, np.full_like(pts, np.nan), pts])
    ms = M.region_masks("lm-mouth", 3, 48, points)
    assert ms.fallback.tolist() == [False, True, False] and ms.n_fallback == 1
    np.testing.assert_array_equal(ms.masks[1], M.simple_mask("mouth", 48))
    assert "1 without landmarks used the simple mask" in ms.summary()
    simple = M.region_masks("eyes", 5, 48)
    assert simple.masks.shape == (5, 48, 48) and simple.n_fallback == 0
    assert simple.covered == pytest.approx(np.full(5, 0.25))
    with pytest.raises(ValueError, match="2 landmark sets for 3 images"):
        M.region_masks("lm-mouth", 3, 48, points[:2])


def test_apply_in_numpy_and_in_tensorflow_agree():
    rng = np.random.default_rng(0)
    imgs = rng.integers(1, 255, (4, 48, 48), dtype=np.uint8)
    m = M.simple_mask("mouth", 48)
    out = M.apply(imgs, m)
    assert (out[:, 24:] == 0).all() and (out[:, :24] == imgs[:, :24]).all()
    assert (imgs[:, 24:] != 0).any()  # the input is untouched
    mean = M.apply(imgs, m, fill="mean")
    np.testing.assert_allclose(mean[:, 30, 5], imgs[:, :24].mean(axis=(1, 2)).astype(np.uint8),
                               atol=1)
    per = np.stack([M.simple_mask(n, 48) for n in ("forehead", "eyes", "mouth", "none")])
    x4 = imgs[..., None].astype(np.float32)
    np.testing.assert_array_equal(M.apply(x4, per), M.tf_apply(x4, per).numpy())
    np.testing.assert_array_equal(M.apply(x4, m), M.tf_apply(x4, m).numpy())
    with pytest.raises(ValueError, match="do not fit"):
        M.apply(imgs, M.simple_mask("eyes", 64))
    with pytest.raises(ValueError, match="'mean'"):
        M.apply(imgs, m, fill="median")


def test_mask_figure_shows_every_mask(face):
    import matplotlib

    matplotlib.use("Agg")
    gray, pts = face
    fig = M.mask_figure(gray, pts)
    titles = [a.get_title() for a in fig.axes if a.images]
    assert titles == [M.LABELS[n] for n in M.MASKS]
