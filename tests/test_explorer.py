"""fer_utils.explorer: region-ordered maps, block means, consensus sets, figure and widget."""
from __future__ import annotations

import io

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

from fer_utils import esmap
from fer_utils import explorer as X
from fer_utils.landmarks import N_LANDMARKS, REGION_NAMES, REGIONS


@pytest.fixture(scope="module")
def faces():
    """21 synthetic faces (3 per class) around one landmark cloud; class 3 has a wider mouth."""
    rng = np.random.default_rng(1)
    base = rng.normal(0.5, 0.1, (N_LANDMARKS, 3)).astype(np.float32)
    pts = base + rng.normal(0, 0.002, (21, N_LANDMARKS, 3)).astype(np.float32)
    labels = np.repeat(np.arange(7), 3)
    mouth = REGIONS["mouth"]
    for i in np.flatnonzero(labels == 3):
        centre = pts[i, mouth].mean(axis=0)
        pts[i, mouth] = centre + 1.5 * (pts[i, mouth] - centre)
    images = rng.integers(0, 255, (21, 48, 48), dtype=np.uint8)
    baseline = esmap.fit_baseline(pts, labels)
    return images, labels, pts, baseline


def test_reorder_groups_each_region_into_its_block():
    m = np.add.outer(np.arange(N_LANDMARKS), 1000 * np.arange(N_LANDMARKS)).astype(float)
    r = X.reorder(m)
    blocks = X.region_blocks()
    assert blocks[0][1] == 0 and blocks[-1][2] == N_LANDMARKS
    assert all(a[2] == b[1] for a, b in zip(blocks, blocks[1:]))  # contiguous, no gaps
    for name, a, b in blocks[:-1]:
        assert b - a == len(REGIONS[name])
        # rows of the block are exactly the region's landmarks (row index = m % 1000)
        assert sorted((r[a:b, 0] % 1000).astype(int)) == sorted(REGIONS[name])
    sym = np.random.default_rng(0).random((N_LANDMARKS, N_LANDMARKS))
    sym = sym + sym.T
    np.testing.assert_array_equal(X.reorder(sym), X.reorder(sym).T)  # symmetry survives


def test_block_means_find_the_changed_region():
    m = np.zeros((N_LANDMARKS, N_LANDMARKS))
    mouth = REGIONS["mouth"]
    m[np.ix_(mouth, mouth)] = 0.05
    b = X.block_means(m)
    assert list(b.index) == list(REGION_NAMES) + ["other"]
    assert b.loc["mouth", "mouth"] == pytest.approx(0.05)
    assert b.to_numpy().sum() == pytest.approx(0.05)
    assert X.block_means(-m).loc["mouth", "mouth"] == pytest.approx(0.05)
    assert X.block_means(-m, absolute=False).loc["mouth", "mouth"] == pytest.approx(-0.05)


def test_consensus_set_follows_baseline_and_clip_with_the_same_faces(faces):
    _, labels, pts, baseline = faces
    cs = X.ConsensusSet.pick(pts, labels, per_class=2, seed=0)
    assert all(len(v) == 2 and (labels[v] == k).all() for k, v in cs.chosen.items())
    c = cs.maps(baseline, clip=0.1)
    assert c.shape == (7, N_LANDMARKS, N_LANDMARKS)
    manual = esmap.esmaps(pts[cs.chosen[3]], baseline, clip=0.1).mean(axis=0)
    np.testing.assert_allclose(c[3], manual, atol=1e-7)
    assert np.abs(cs.maps(baseline, clip=0.01)).max() <= 0.01 + 1e-7
    # the widened-mouth class is the one whose consensus changed most around the mouth
    mouth_change = [X.block_means(c[k]).loc["mouth", "mouth"] for k in range(7)]
    assert int(np.argmax(mouth_change)) == 3
    r = X.nearest_consensus(esmap.esmaps(pts[10], baseline), c)  # a class-3 face
    assert int(np.nanargmax(r)) == 3


def test_figure_has_four_panels_and_refuses_unknown_regions(faces):
    images, labels, pts, baseline = faces
    cons = X.ConsensusSet.pick(pts, labels, per_class=3).maps(baseline)
    m = esmap.esmaps(pts[9], baseline)
    fig = X.explorer_figure(images[9], pts[9], m, cons[3], emotion="happy", region="mouth")
    assert len([a for a in fig.axes if a.images]) == 4
    assert "consensus: happy" in fig.axes[2].get_title()
    fig2 = X.explorer_figure(images[9], pts[9], m, None)
    assert len([a for a in fig2.axes if a.images]) == 2
    with pytest.raises(ValueError, match="choose one of forehead"):
        X.explorer_figure(images[9], pts[9], m, None, region="ears")


def test_widget_reacts_to_every_control(faces):
    pytest.importorskip("ipywidgets")
    images, labels, pts, baseline = faces
    other = esmap.fit_baseline(pts, np.where(labels == 3, 6, 0))  # the wide mouths as "neutral"
    pts = pts.copy()
    pts[0] = np.nan  # an undetected face is not offered
    ex = X.Explorer(images, labels, pts, {"training neutral": baseline, "wide mouths": other},
                    X.ConsensusSet.pick(pts, labels, per_class=3))
    assert len(ex.by_class[0]) == 2
    box = ex.widget(emotion="happy")
    c = box.controls
    assert "happy, image #9" in c["status"].value and c["image"].max == 2
    png = c["out"].value
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    c["emotion"].value = "angry"
    assert c["image"].max == 1 and "angry, image #1" in c["status"].value
    c["region"].value = "mouth"
    assert "mouth: 40 landmarks" in c["status"].value
    before = c["status"].value
    c["baseline"].value = "wide mouths"
    assert c["status"].value != before
    c["clip"].value = 0.05
    assert c["out"].value[:4] == b"\x89PNG" and c["out"].value != png
    with pytest.raises(ValueError, match="at least one baseline"):
        X.Explorer(images, labels, pts, {}, X.ConsensusSet.pick(pts, labels))


def test_upload_of_a_photo_and_of_a_bad_file():
    pytest.importorskip("mediapipe")
    from PIL import Image

    from fer_utils.sample import sample_photos

    rng = np.random.default_rng(0)
    pts = np.repeat(rng.normal(0.5, 0.1, (1, N_LANDMARKS, 3)), 7, axis=0).astype(np.float32)
    pts += rng.normal(0, 0.002, pts.shape).astype(np.float32)
    labels = np.arange(7)
    baseline = esmap.fit_baseline(pts, labels)
    ex = X.Explorer(np.zeros((7, 48, 48), np.uint8), labels, pts, {"b": baseline},
                    X.ConsensusSet.pick(pts, labels))
    assert "could not read notes.txt" in ex.add_upload(b"not an image", "notes.txt")
    assert ex.upload is None
    buf = io.BytesIO()
    Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(buf, format="PNG")
    assert "blank image" in ex.add_upload(buf.getvalue(), "grey.png")
    buf = io.BytesIO()
    Image.fromarray(sample_photos()["grace_hopper"]).save(buf, format="JPEG")
    assert "face found" in ex.add_upload(buf.getvalue(), "hopper.jpg")
    assert "uploaded: hopper.jpg" in ex.state_text("happy", uploaded=True)
    fig = ex.figure("happy", uploaded=True, region="eyes")
    assert len([a for a in fig.axes if a.images]) == 4
