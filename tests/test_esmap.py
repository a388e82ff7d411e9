"""fer_utils.esmap: distances, baselines, ES-MAPs, reductions, on-the-fly dataset."""
from __future__ import annotations

import numpy as np
import pytest

from fer_utils import esmap as E


@pytest.fixture(scope="module")
def faces():
    """Ten synthetic 'faces': one random landmark cloud, perturbed, with labels 0–6 and neutral 6."""
    rng = np.random.default_rng(0)
    base = rng.normal(0.5, 0.1, (468, 3)).astype(np.float32)
    pts = base + rng.normal(0, 0.005, (10, 468, 3)).astype(np.float32)
    labels = np.array([6, 6, 6, 0, 1, 2, 3, 4, 5, 6])
    return pts, labels


def test_distances_are_symmetric_with_zero_diagonal_and_match_the_reference(faces):
    pts, _ = faces
    d = E.pairwise_distances(pts[0])
    assert d.shape == (468, 468) and d.dtype == np.float32
    np.testing.assert_array_equal(d, d.T)
    assert (np.diag(d) == 0).all() and d.max() == pytest.approx(1.0)
    ref = E.reference_distances(pts[0])
    np.testing.assert_allclose(d, ref, atol=1e-6)
    raw = E.pairwise_distances(pts[0], normalise=False)
    i, j = 17, 301
    assert raw[i, j] == pytest.approx(np.linalg.norm(pts[0, i] - pts[0, j]), rel=1e-5)


def test_batched_equals_one_by_one_and_nan_faces_stay_nan(faces):
    pts, _ = faces
    batch = pts.copy()
    batch[3] = np.nan
    d = E.pairwise_distances(batch)
    assert np.isnan(d[3]).all()
    for k in (0, 5, 9):
        np.testing.assert_allclose(d[k], E.pairwise_distances(pts[k]), atol=1e-7)


def test_distances_are_invariant_to_moving_and_scaling_the_face(faces):
    pts, _ = faces
    moved = pts[0] * 3.0 + np.array([1.0, -2.0, 0.5], np.float32)
    np.testing.assert_allclose(E.pairwise_distances(moved), E.pairwise_distances(pts[0]),
                               atol=1e-5)


def test_distances_reject_wrong_shapes():
    with pytest.raises(ValueError, match="468, 3"):
        E.pairwise_distances(np.zeros((468, 2)))


def test_condensed_keeps_each_pair_once(faces):
    d = E.pairwise_distances(faces[0][:2])
    v = E.condensed(d)
    assert v.shape == (2, 468 * 467 // 2)
    assert v[0, 0] == d[0, 0, 1] and v[0, -1] == d[0, 466, 467]


def test_global_baseline_is_the_mean_of_training_neutral_faces(faces):
    pts, labels = faces
    pts = pts.copy()
    pts[9] = np.nan  # a neutral face without landmarks is left out
    b = E.fit_baseline(pts, labels)
    assert b.kind == "global" and b.n_global == 3
    np.testing.assert_allclose(b.global_map, E.pairwise_distances(pts[:3]).mean(axis=0),
                               atol=1e-6)
    with pytest.raises(ValueError, match="no neutral"):
        E.fit_baseline(pts, np.zeros(10, int))


def test_per_subject_baselines_and_fallback(faces, tmp_path):
    pts, labels = faces
    subjects = np.array(["A", "B", "C", "A", "B", "C", "D", "A", "B", "C"])
    b = E.fit_baseline(pts, labels, subjects=subjects)
    assert b.kind == "per subject" and set(b.subject_maps) == {"A", "B", "C"}
    assert b.n_subject["C"] == 2  # rows 2 and 9 are C's neutral faces
    stack, which = b.for_items(subjects, len(subjects))
    assert which[6] == 0  # subject D has no neutral face: global baseline
    np.testing.assert_allclose(stack[which[0]], E.pairwise_distances(pts[0]), atol=1e-6)
    # a subject's own neutral face minus its own baseline is exactly zero
    m = E.esmaps(pts[0], b, subjects=["A"], clip=None)
    assert np.abs(m).max() < 1e-6
    b.save(tmp_path / "b.npz")
    back = E.Baseline.load(tmp_path / "b.npz")
    assert back.kind == "per subject" and back.n_subject == b.n_subject
    np.testing.assert_array_equal(back.subject_maps["B"], b.subject_maps["B"])


def test_esmaps_clip_and_reductions(faces):
    pts, labels = faces
    b = E.fit_baseline(pts, labels)
    full = E.esmaps(pts, b, clip=0.002)
    assert full.shape == (10, 468, 468) and np.abs(full).max() <= 0.002 + 1e-9
    pooled = E.esmaps(pts, b, reduce="pooled", clip=0.002)
    assert pooled.shape == (10, 52, 52)
    np.testing.assert_allclose(pooled, E.pool_maps(full, 9), atol=1e-7)
    ref = E.esmaps(pts, b, reduce="reference")
    assert ref.shape == (10, 62, 62, 3) and ref.dtype == np.uint8
    with pytest.raises(ValueError, match="full"):
        E.esmaps(pts, b, reduce="thumbnail")
    with pytest.raises(ValueError, match="use one of"):
        E.pool_maps(full, 5)


def test_reference_image_colours_signs_and_blacks_out_missing_maps():
    m = np.zeros((2, 468, 468), np.float32)
    m[0, :234] = 0.1   # top half strongly positive → red (RdBu_r)
    m[0, 234:] = -0.1  # bottom half negative → blue
    m[1] = np.nan
    img = E.reference_image(m)
    top, bottom = img[0, 5, 30].astype(int), img[0, 55, 30].astype(int)
    assert top[0] > top[2] + 50 and bottom[2] > bottom[0] + 50
    assert (img[1] == 0).all()


def test_consensus_maps_and_correlation(faces):
    pts, labels = faces
    b = E.fit_baseline(pts, labels)
    maps = E.esmaps(pts, b, reduce="pooled")
    cons, chosen = E.consensus_maps(maps, labels, per_class=2, seed=1)
    assert cons.shape == (7, 52, 52) and len(chosen[6]) == 2 and len(chosen[0]) == 1
    np.testing.assert_allclose(cons[0], maps[3], atol=1e-7)
    r = E.correlation(maps, cons[0])
    assert r[3] == pytest.approx(1.0) and np.all(r[np.arange(10) != 3] < 1.0)
    assert E.correlation(-maps[3:4], cons[0])[0] == pytest.approx(-1.0)


def test_tf_dataset_matches_numpy(faces):
    pts, labels = faces
    b = E.fit_baseline(pts, labels)
    for reduce, shape in (("pooled", (52, 52, 1)), ("full", (468, 468, 1)),
                          ("reference", (62, 62, 3))):
        ds = E.tf_dataset(pts, labels, b, reduce=reduce, batch_size=4)
        x, y = next(iter(ds))
        assert tuple(x.shape[1:]) == shape and y.shape == (4, 7)
        want = E.esmaps(pts[:4], b, reduce=reduce)
        got = x.numpy()
        if reduce == "reference":
            assert np.abs(got - want).mean() < 2.0  # TF and OpenCV area resampling
        else:
            np.testing.assert_allclose(got[..., 0], want, atol=1e-5)
    bad = pts.copy()
    bad[0] = np.nan
    with pytest.raises(ValueError, match="found"):
        E.tf_dataset(bad, labels, b)


def test_render_picks_the_colormap_by_sign(faces):
    import matplotlib

    matplotlib.use("Agg")
    pts, labels = faces
    d = E.pairwise_distances(pts[0])
    im = E.render(d, title="distances")
    assert im.get_cmap().name == "viridis"
    b = E.fit_baseline(pts, labels)
    im = E.render(E.esmaps(pts[3], b), colorbar=False)
    assert im.get_cmap().name == "RdBu_r" and im.get_clim() == (-0.1, 0.1)


# ---------------------------------------------------------------- command line

@pytest.fixture
def photo_files(tmp_path):
    from PIL import Image

    from fer_utils.sample import sample_photos

    d = tmp_path / "in"
    d.mkdir()
    for name, img in sample_photos().items():
        Image.fromarray(img).save(d / f"{name}.png")
    Image.fromarray(np.full((64, 64), 128, np.uint8)).save(d / "blank.png")
    (d / "notes.png").write_text("not an image")
    return d


def test_cli_writes_distance_maps_and_pictures_and_reports_failures(photo_files, tmp_path, capsys):
    from fer_utils import cli

    out = tmp_path / "maps"
    names = [str(photo_files / n) for n in ("astronaut.png", "blank.png", "notes.png")]
    assert cli.main(["esmap", *names, "--out", str(out),  # 1: some inputs failed
                     "--save-baseline", str(tmp_path / "me.npz")]) == 1
    captured = capsys.readouterr()
    assert "blank.png: blank image" in captured.err and "error:" in captured.err
    assert "1 of 3 images" in captured.out
    d = np.load(out / "astronaut_distances.npy")
    assert d.shape == (468, 468) and d.dtype == np.float32 and d.max() == pytest.approx(1)
    from PIL import Image

    with Image.open(out / "astronaut.png") as picture:   # the figure (ticks, colour bar)
        assert min(picture.size) > 468
    assert not (out / "astronaut_esmap.npy").exists()
    # the saved baseline (one face) applied to the same face gives a zero ES-MAP
    assert cli.main(["esmap", names[0], str(photo_files / "grace_hopper.png"), "--out",
                     str(out), "--baseline", str(tmp_path / "me.npz")]) == 0
    own = np.load(out / "astronaut_esmap.npy")
    other = np.load(out / "grace_hopper_esmap.npy")
    assert np.abs(own).max() < 1e-6 and np.abs(other).max() > 0.01
    assert np.abs(other).max() <= 0.1 + 1e-7


def test_cli_exit_status_and_messages(photo_files, tmp_path, capsys, monkeypatch):
    from fer_utils import cli

    out = str(tmp_path / "maps")
    assert cli.main(["esmap", str(photo_files / "blank.png"), "--out", out]) == 2  # none mapped
    assert cli.main(["esmap", str(photo_files / "astronaut.png"), "--out", out,
                     "--baseline", str(tmp_path / "missing.npz")]) == 2
    (tmp_path / "bad.npy").write_bytes(b"junk")
    assert cli.main(["esmap", str(photo_files / "astronaut.png"), "--out", out,
                     "--baseline", str(tmp_path / "bad.npy")]) == 2
    monkeypatch.delenv("FER_FACE_LANDMARKER", raising=False)
    assert cli.main(["esmap", str(photo_files / "astronaut.png"), "--out", out,
                     "--backend", "tasks"]) == 2
    err = capsys.readouterr().err
    assert "no baseline file" in err and "not a baseline" in err
    assert "face_landmarker.task" in err and "Traceback" not in err


def test_the_cli_png_is_a_figure_with_region_ticks_and_a_colour_bar(tmp_path, capsys):
    """``esmap`` writes a readable figure by default (region-ordered, ticks, colour bar) and
    the bare one-pixel-per-pair map with ``--raw-png``."""
    from PIL import Image

    from fer_utils import cli
    from fer_utils.explorer import map_figure, region_blocks
    from fer_utils.sample import sample_photos

    photo = tmp_path / "face.png"
    Image.fromarray(next(iter(sample_photos().values()))).save(photo)
    assert cli.main(["esmap", str(photo), "--out", str(tmp_path / "fig")]) == 0
    assert cli.main(["esmap", str(photo), "--out", str(tmp_path / "raw"), "--raw-png"]) == 0
    capsys.readouterr()
    with Image.open(tmp_path / "raw" / "face.png") as raw, Image.open(tmp_path / "fig" / "face.png") as fig:
        assert raw.size == (468, 468)
        assert fig.size != (468, 468) and min(fig.size) > 468
    f = map_figure(np.random.default_rng(0).uniform(-0.2, 0.2, (468, 468)))
    ax, bar = f.axes
    assert [t.get_text() for t in ax.get_yticklabels()] == [n for n, _, _ in region_blocks()]
    assert "neutral" in bar.get_ylabel()
