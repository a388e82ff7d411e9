"""fer_utils.predict, fer_utils.realtime and the predict / webcam commands."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from fer_utils import cli, models
from fer_utils import predict as P
from fer_utils import realtime as R
from fer_utils.sample import sample_photos


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    """An untrained mini-Xception saved like an artifact (fast; the answers are arbitrary)."""
    import keras
    keras.utils.set_random_seed(0)
    path = tmp_path_factory.mktemp("model") / "model.keras"
    models.mini_xception(input_size=48).save(path)
    return path


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    d = tmp_path_factory.mktemp("images")
    photos = sample_photos()
    Image.fromarray(photos["grace_hopper"]).save(d / "hopper.jpg")
    Image.fromarray(photos["astronaut"]).convert("RGBA").save(d / "astronaut.png")
    Image.fromarray(np.full((200, 300, 3), 90, np.uint8)).save(d / "wall.png")
    (d / "notes.jpg").write_text("not an image")
    (d / "empty.png").write_bytes(b"")
    return d


def test_backends_give_the_same_probabilities(model_path):
    x = np.random.default_rng(0).uniform(0, 255, (6, 48, 48, 1)).astype(np.float32)
    out = {b: P.Classifier(model_path, b).predict(x) for b in P.BACKENDS}
    for b in P.BACKENDS:
        assert out[b].shape == (6, 7)
        np.testing.assert_allclose(out[b].sum(axis=1), 1, atol=1e-5)
        np.testing.assert_allclose(out[b], out["keras"], atol=1e-5)
    clf = P.Classifier(model_path, "tflite")
    np.testing.assert_allclose(clf.predict(x[0, ..., 0]), out["keras"][:1], atol=1e-5)  # one 48×48
    assert clf.predict(np.zeros((0, 48, 48, 1))).shape == (0, 7)
    with pytest.raises(ValueError, match=r"expected faces \(n, 48, 48, 1\)"):
        clf.predict(np.zeros((2, 64, 64, 1)))


def test_tflite_file_is_cached(model_path, tmp_path, monkeypatch):
    monkeypatch.setenv("FER_CACHE_DIR", str(tmp_path))
    P.Classifier(model_path, "tflite")
    assert len(list((tmp_path / "tflite").glob("*.tflite"))) == 1
    exported = P.export_tflite(model_path)
    assert exported.is_file() and exported.stat().st_size > 100_000
    exported.unlink()


def test_classifier_errors(tmp_path, model_path):
    with pytest.raises(ValueError, match="unknown backend 'onnx'"):
        P.Classifier(model_path, "onnx")
    with pytest.raises(FileNotFoundError, match="no model file"):
        P.Classifier(tmp_path / "nothing.keras")
    bad = tmp_path / "bad.keras"
    bad.write_text("garbage")
    with pytest.raises(ValueError, match="not a Keras model"):
        P.Classifier(bad)
    import keras
    other = keras.Sequential([keras.Input((64, 64, 3)), keras.layers.Flatten(), keras.layers.Dense(7)])
    with pytest.raises(ValueError, match="not 48×48×1 grey faces"):
        P.Classifier(other)


def test_recognizer_on_sample_photos(model_path):
    rec = P.EmotionRecognizer(model_path, detector="mediapipe")
    for photo in sample_photos().values():
        preds = rec(photo)
        assert len(preds) == 1
        d = preds[0].as_dict()
        assert set(d) == {"box", "emotion", "probabilities"} and len(d["box"]) == 4
        assert d["emotion"] in rec.class_names and abs(sum(d["probabilities"].values()) - 1) < 1e-3
        assert preds[0].crop.shape == (48, 48)
    assert rec(np.full((100, 100, 3), 0, np.uint8)) == []
    rec.close()


def test_default_model_message_names_the_remedy(monkeypatch, tmp_path):
    from fer_utils import paths
    monkeypatch.setattr(paths, "repo_root", lambda: tmp_path)
    monkeypatch.setenv("FER_ARTIFACTS_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=f"python -m fer_utils train {P.DEFAULT_CONFIG}"):
        P.default_model_path()


# ---------------------------------------------------------------- predict command

def test_predict_json_one_object_per_image_and_bad_files_do_not_stop_it(images, model_path, capsys):
    names = [str(images / n) for n in ("hopper.jpg", "notes.jpg", "wall.png", "empty.png",
                                         "astronaut.png")]
    status = cli.main(["predict", *names, "--model", str(model_path), "--json"])
    out, err = capsys.readouterr()
    rows = [json.loads(line) for line in out.strip().splitlines()]
    assert [r["image"] for r in rows] == names
    assert len(rows[0]["faces"]) == 1 and len(rows[4]["faces"]) == 1
    face = rows[0]["faces"][0]
    assert set(face) == {"box", "emotion", "probabilities"} and len(face["probabilities"]) == 7
    assert rows[2]["faces"] == [] and "no face found" in err
    assert "not an image" in rows[1]["error"] and "empty" in rows[3]["error"]
    assert "Traceback" not in err
    assert status == 1  # some files could not be read


def test_predict_text_output_and_annotation(images, model_path, tmp_path, capsys):
    status = cli.main(["predict", str(images / "hopper.jpg"), "--model", str(model_path),
                       "--detector", "haar", "--annotate", str(tmp_path)])
    out = capsys.readouterr().out
    assert status == 0 and "face 1 at [" in out
    assert (tmp_path / "hopper_emotions.png").is_file()


def test_predict_exit_status_when_nothing_is_readable(images, model_path, capsys):
    assert cli.main(["predict", str(images / "notes.jpg"), "--model", str(model_path)]) == 2
    assert cli.main(["predict", str(images / "hopper.jpg"), "--model", str(images / "x.keras")]) == 2
    assert "no model file" in capsys.readouterr().err


# ---------------------------------------------------------------- real-time loop


def test_webcam_on_a_video_file_writes_an_annotated_video(model_path, tmp_path, capsys):
    video = R.make_demo_video(tmp_path / "demo.mp4", seconds=1.0, fps=10)
    out = tmp_path / "annotated.mp4"
    status = cli.main(["webcam", "--video", str(video), "--no-window", "--out", str(out),
                       "--model", str(model_path)])
    text = capsys.readouterr().out
    assert status == 0 and out.is_file() and out.stat().st_size > 1000
    assert "10 frames, 10 faces" in text
    import cv2
    cap = cv2.VideoCapture(str(out))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 10 and int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)) == 640


def test_webcam_errors_are_messages(model_path, tmp_path, capsys, monkeypatch):
    assert cli.main(["webcam", "--video", str(tmp_path / "none.mp4"), "--no-window",
                     "--model", str(model_path)]) == 2
    assert "no such video file" in capsys.readouterr().err
    assert cli.main(["webcam", "--camera", "7", "--no-window", "--model", str(model_path)]) == 2
    assert "camera 7 could not be opened" in capsys.readouterr().err
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setattr(R.sys, "platform", "linux")
    assert cli.main(["webcam", "--model", str(model_path)]) == 2
    assert "--no-window" in capsys.readouterr().err
    assert cli.main(["webcam", "--camera", "0", "--video", "x.mp4", "--model", str(model_path)]) == 2
    assert "not both" in capsys.readouterr().err
