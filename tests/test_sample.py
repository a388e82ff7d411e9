"""fer_utils.sample: deterministic, structured, learnable, with region ground truth and real photos."""
from __future__ import annotations

import numpy as np
import pytest

from fer_utils import sample
from fer_utils.dataset import CLASS_NAMES

SMALL = {"Training": 300, "PublicTest": 60, "PrivateTest": 60}


def test_deterministic_and_shaped():
    a, b = sample.make_sample(seed=1, sizes=SMALL), sample.make_sample(seed=1, sizes=SMALL)
    np.testing.assert_array_equal(a.images, b.images)
    assert a.images.shape == (420, 48, 48) and a.images.dtype == np.uint8
    assert a.is_sample and a.has_row_order
    assert a.split_sizes() == SMALL
    c = sample.make_sample(seed=2, sizes=SMALL)
    assert not np.array_equal(a.images, c.images)


def test_images_vary_in_identity_pose_and_lighting():
    ds = sample.make_sample(seed=1, sizes=SMALL)
    means = ds.images.reshape(len(ds), -1).mean(axis=1)
    assert means.std() > 15  # lighting and background vary
    assert len(np.unique(ds.extras["identity"])) >= 15
    # no identity appears in two splits (subject-independent splits)
    ids = {s: set(ds.extras["identity"][ds.usage == s]) for s in ds.splits}
    assert not (ids["Training"] & ids["PublicTest"]) and not (ids["Training"] & ids["PrivateTest"])


def test_every_class_and_imbalance():
    ds = sample.make_sample()
    counts = np.bincount(ds.extras["true_labels"], minlength=7)
    assert counts.min() > 50
    assert counts.argmax() == CLASS_NAMES.index("happy")
    assert counts.argmin() == CLASS_NAMES.index("disgust")


def test_region_ground_truth():
    ds = sample.make_sample(seed=1, sizes=SMALL)
    reg = ds.extras["regions"]
    assert reg.shape == ds.images.shape and reg.max() < len(sample.REGION_NAMES)
    for name in ("brows", "eyes", "nose", "mouth"):
        k = sample.REGION_NAMES.index(name)
        assert np.mean((reg == k).any(axis=(1, 2))) > 0.9, name
    assert set(sample.CLASS_REGIONS) == set(CLASS_NAMES)
    assert all(set(r) <= set(sample.REGION_NAMES) for r in sample.CLASS_REGIONS.values())


def _pixel_model():
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), PCA(50, random_state=0),
                         LogisticRegression(C=0.1, max_iter=2000))


def _hide(ds, region):
    """Images with one region painted over with the face's median skin tone, flattened."""
    imgs = ds.images.astype(float)
    k = sample.REGION_NAMES.index(region)
    for img, reg in zip(imgs, ds.extras["regions"]):
        skin = reg == 1
        img[reg == k] = np.median(img[skin]) if skin.any() else 128
    return imgs.reshape(len(ds), -1) / 255


def test_the_class_lives_where_the_ground_truth_says():
    """Happy vs neutral: hiding the mouth (a happy region) hurts more than hiding the brows."""
    ds = sample.make_sample()
    happy, neutral = CLASS_NAMES.index("happy"), CLASS_NAMES.index("neutral")
    d = ds.subset(np.isin(ds.extras["true_labels"], [happy, neutral]))
    y = d.extras["true_labels"] == happy
    tr = d.usage == "Training"
    acc = {}
    for region in ("mouth", "brows"):
        x = _hide(d, region)
        acc[region] = np.mean(_pixel_model().fit(x[tr], y[tr]).predict(x[~tr]) == y[~tr])
    assert "brows" not in sample.CLASS_REGIONS["happy"]
    assert acc["mouth"] < acc["brows"] - 0.05, acc


def test_labels_are_noisy_but_mostly_right():
    ds = sample.make_sample()
    agree = np.mean(ds.labels == ds.extras["true_labels"])
    assert 0.65 < agree < 0.95
    assert (ds.extras["votes"].sum(axis=1) == 10).all()


def test_a_linear_model_learns_well_above_chance():
    ds = sample.make_sample()
    tr, te = ds.split("Training"), ds.split("PublicTest")
    x = lambda d: d.images.reshape(len(d), -1) / 255.0
    model = _pixel_model().fit(x(tr), tr.labels)
    acc = np.mean(model.predict(x(te)) == te.labels)
    majority = np.bincount(te.labels).max() / len(te)
    assert acc > 1.8 * majority, (acc, majority)


def test_sample_photos_are_real_rgb_portraits():
    photos = sample.sample_photos()
    assert set(photos) == {"grace_hopper", "astronaut"}
    for img in photos.values():
        assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8
        assert min(img.shape[:2]) >= 500


def test_loud_announcement():
    with pytest.warns(UserWarning, match="OFFLINE SAMPLE"):
        ds = sample.load_sample(announce=True)
    assert ds.is_sample and "not FER-2013" in ds.report.notes[0]
