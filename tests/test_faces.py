"""fer_utils.faces: safe image reading, both detectors, FER-like crops."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from fer_utils import faces as F
from fer_utils.sample import sample_photos


@pytest.fixture(scope="module")
def hopper():
    return sample_photos()["grace_hopper"]


# ---------------------------------------------------------------- reading

def test_read_image_converts_every_mode_to_rgb(tmp_path, hopper):
    base = Image.fromarray(hopper)
    cases = {
        "rgb.jpg": base,
        "gray.png": base.convert("L"),
        "palette.png": base.convert("P"),
        "cmyk.jpg": base.convert("CMYK"),
        "rgba.png": base.convert("RGBA"),
    }
    for name, im in cases.items():
        im.save(tmp_path / name)
    a16 = (np.asarray(base.convert("L"), np.uint16) * 257)
    Image.fromarray(a16).save(tmp_path / "sixteen.png")
    cases["sixteen.png"] = None
    for name in cases:
        out = F.read_image(tmp_path / name)
        assert out.dtype == np.uint8 and out.shape == hopper.shape, name
    # 16-bit keeps its contrast (scaled, not clipped to white)
    sixteen = F.read_image(tmp_path / "sixteen.png")
    assert 0 <= sixteen.min() < 50 and sixteen.max() > 200


def test_read_image_composites_transparency_on_white(tmp_path):
    rgba = np.zeros((20, 20, 4), np.uint8)  # fully transparent black
    Image.fromarray(rgba).save(tmp_path / "clear.png")
    assert (F.read_image(tmp_path / "clear.png") == 255).all()


def test_read_image_applies_exif_orientation(tmp_path):
    im = Image.fromarray(np.zeros((10, 30, 3), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when shown
    im.save(tmp_path / "phone.jpg", exif=exif)
    assert F.read_image(tmp_path / "phone.jpg").shape[:2] == (30, 10)


def test_read_image_shrinks_huge_images(tmp_path):
    Image.fromarray(np.zeros((300, 5000, 3), np.uint8)).save(tmp_path / "wide.png")
    out = F.read_image(tmp_path / "wide.png")
    assert max(out.shape[:2]) == F.MAX_SIDE and out.shape[0] == round(300 * F.MAX_SIDE / 5000)


@pytest.mark.parametrize("kind, message", [
    ("missing", "no such file"), ("empty", "empty"), ("text", "not an image"),
    ("truncated", "truncated"), ("folder", "folder"),
])
def test_read_image_errors_are_clear(tmp_path, hopper, kind, message):
    path = tmp_path / f"{kind}.jpg"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "text":
        path.write_text("this is not a picture")
    elif kind == "truncated":
        Image.fromarray(hopper).save(tmp_path / "whole.jpg")
        path.write_bytes((tmp_path / "whole.jpg").read_bytes()[:3000])
    elif kind == "folder":
        path.mkdir()
    with pytest.raises(F.ImageError, match=message):
        F.read_image(path)


def test_read_image_refuses_decompression_bombs_before_decoding(tmp_path, monkeypatch):
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(tmp_path / "big.png")
    monkeypatch.setattr(F, "MAX_PIXELS", 5000)
    with pytest.raises(F.ImageError, match="too large"):
        F.read_image(tmp_path / "big.png")


def test_to_gray_shapes():
    assert F.to_gray(np.zeros((4, 5, 3), np.uint8)).shape == (4, 5)
    assert F.to_gray(np.zeros((4, 5, 1), np.uint8)).shape == (4, 5)
    assert F.to_gray(np.zeros((4, 5, 4), np.uint8)).shape == (4, 5)
    with pytest.raises(ValueError, match="expected an image"):
        F.to_gray(np.zeros((4, 5, 2), np.uint8))


# ---------------------------------------------------------------- detection

@pytest.mark.parametrize("kind", F.DETECTORS)
def test_detectors_find_the_one_face_in_each_sample_photo(kind):
    with F.FaceDetector(kind) as det:
        for name, photo in sample_photos().items():
            found = det(photo)
            assert len(found) == 1, (kind, name, found)
            x, y, w, h = found[0].box
            H, W = photo.shape[:2]
            assert 0 <= x < x + w <= W and 0 <= y < y + h <= H
            assert 0.1 < w / W < 0.6  # a face, not the whole picture
            # nothing in a blank frame
            assert det(np.full((240, 320, 3), 128, np.uint8)) == []


def test_detector_agreement_on_hopper(hopper):
    a = F.detect_faces(hopper, "haar")[0].box
    b = F.detect_faces(hopper, "mediapipe")[0].box
    from fer_utils.realtime import iou
    assert iou(a, b) > 0.5


def test_unknown_detector_is_named():
    with pytest.raises(ValueError, match="unknown detector 'dlib'; choose one of haar, mediapipe"):
        F.FaceDetector("dlib")


# ---------------------------------------------------------------- cropping

def test_expand_box_is_square_centred_and_clipped():
    x, y, w, h = F.expand_box((40, 40, 20, 20), (100, 100), F.CropSpec(0.5))
    assert (w, h) == (40, 40) and (x, y) == (30, 30)
    assert F.expand_box((0, 0, 20, 20), (100, 100), F.CropSpec(0.5)) == (0, 0, 30, 30)
    up = F.expand_box((40, 40, 20, 20), (100, 100), F.CropSpec(0.5, shift=-0.5))
    assert up[1] == 20  # moved up by half a box height


def test_crops_are_model_inputs(hopper):
    found = F.detect_faces(hopper, "haar")
    crops = F.crop_faces(hopper, found, "haar")
    assert crops.shape == (1, 48, 48, 1) and crops.dtype == np.float32
    assert 0 <= crops.min() and crops.max() <= 255 and crops.std() > 10
    assert F.crop_faces(hopper, [], "haar").shape == (0, 48, 48, 1)


def test_calibrate_crop_on_fer_like_images():
    from fer_utils.sample import make_sample
    ds = make_sample()
    result = F.calibrate_crop(ds.images[:40], "mediapipe")
    assert result["n"] == 40 and 0 <= result["detected"] <= 1
    if result["detected"]:
        assert 0.2 < result["width"] <= 1 and isinstance(result["spec"], F.CropSpec)


@pytest.mark.parametrize("layout, cell", [((1, 5), (128, 150)), ((2, 2), (300, 300)),
                                          ((3, 4), (160, 180)), ((1, 3), (300, 300))])
def test_mediapipe_finds_every_face_haar_finds_in_group_photos(layout, cell):
    from fer_utils.sample import group_photo

    image, n = group_photo(*layout, cell=cell)
    haar = F.detect_faces(image, "haar")
    with F.FaceDetector("mediapipe") as mp:
        found = mp(image)
    assert len(haar) == n and len(found) == n
    # each face found once: the boxes do not overlap
    boxes = [f.box for f in found]
    assert sorted(f.box for f in F.merge_faces(found)) == sorted(boxes)
    assert len({b[:2] for b in boxes}) == n


def test_the_whole_image_alone_misses_a_row_of_faces():
    """Why tiles: MediaPipe's short-range model squeezes the image to 128×128."""
    from fer_utils.sample import group_photo

    image, n = group_photo(1, 5, cell=(128, 150))
    with F.FaceDetector("mediapipe", tile=False) as whole:
        assert len(whole(image)) < n


def test_tiles_cover_the_image_and_merge_keeps_the_best_box():
    for shape in ((150, 640), (600, 600), (480, 640), (40, 40)):
        windows = F.tiles(shape)
        assert windows[0] == (0, 0, shape[1], shape[0])
        for x, y, w, h in windows:
            assert x >= 0 and y >= 0 and x + w <= shape[1] and y + h <= shape[0]
    assert len(F.tiles((150, 640))) == 1 + 8 and len(F.tiles((600, 600))) == 1 + 9
    a, b, c = F.Face((0, 0, 50, 50), 0.9), F.Face((5, 5, 50, 50), 0.95), F.Face((100, 0, 50, 50), 0.8)
    assert F.merge_faces([a, b, c]) == [b, c]
