"""Bad input over every CLI command and loader: a clear one-line error or a correct result,
never a traceback, never a silently wrong answer (the README's "Errors and exit status")."""
from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fer_utils import cli, dataset, paths
from fer_utils.data import read_fer2013_csv, read_image_folders
from fer_utils.dataset import DataFormatError
from fer_utils.faces import ImageError, ImageWarning, read_image
from fer_utils.sample import make_sample, sample_photos

HEADER = "emotion,pixels,Usage\n"


def _row(label=3, pixels=None, usage="Training") -> str:
    pixels = pixels if pixels is not None else " ".join(["128"] * 2304)
    return f"{label},{pixels},{usage}\n"


def _run_cli(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


@pytest.fixture
def face_png(tmp_path):
    path = tmp_path / "face.png"
    Image.fromarray(sample_photos()["grace_hopper"]).save(path)
    return path


@pytest.fixture
def a_file(tmp_path):
    f = tmp_path / "plain.txt"
    f.write_text("I am a file")
    return f


# ------------------------------------------------------------------------------------
# output paths
# ------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    ["predict", "{img}", "--annotate", "{file}/sub"],
    ["esmap", "{img}", "--out", "{file}/sub"],
    ["esmap", "{img}", "--out", "{tmp}/maps", "--save-baseline", "{file}/base.npz"],
    ["webcam", "--video", "{img}", "--out", "{file}/video.mp4", "--no-window"],
])
def test_an_output_path_under_a_file_is_a_one_line_error(argv, capsys, tmp_path, face_png, a_file):
    argv = [a.format(img=face_png, file=a_file, tmp=tmp_path) for a in argv]
    code, _, err = _run_cli(capsys, *argv)
    assert code == 2 and "a file is in the way" in err and len(err.strip().splitlines()) == 1


def test_unwritable_output_folder(capsys, tmp_path, face_png):
    if os.geteuid() == 0:
        pytest.skip("root may write anywhere")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    code, _, err = _run_cli(capsys, "esmap", str(face_png), "--out", str(locked / "x"))
    assert code == 2 and "permission denied" in err


def test_same_stems_do_not_overwrite_each_other(tmp_path):
    assert paths.unique_stems(["a/face.jpg", "b/face.jpg", "c/face.png", "face-2.png"]) == [
        "face", "face-3", "face-4", "face-2"]
    assert paths.unique_stems(["x.png", "y.png"]) == ["x", "y"]


def test_esmap_writes_one_map_per_input_and_counts_failures(capsys, tmp_path, face_png):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = tmp_path / "a" / "face.png", tmp_path / "b" / "face.png"
    a.write_bytes(face_png.read_bytes())
    b.write_bytes(face_png.read_bytes())
    out = tmp_path / "maps"
    code, stdout, _ = _run_cli(capsys, "esmap", str(a), str(b), "--out", str(out))
    assert code == 0
    assert {p.name for p in out.glob("*.png")} == {"face.png", "face-2.png"}
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"not a png")
    code, _, err = _run_cli(capsys, "esmap", str(a), str(broken), "--out", str(out))
    assert code == 1 and "broken.png" in err          # some inputs failed
    code, _, _ = _run_cli(capsys, "esmap", str(broken), "--out", str(out))
    assert code == 2                                  # none could be done


# ------------------------------------------------------------------------------------
# data files
# ------------------------------------------------------------------------------------

def _csv(tmp_path, text: str, name="fer2013.csv", bom=False) -> os.PathLike:
    f = tmp_path / name
    raw = (b"\xef\xbb\xbf" if bom else b"") + text.encode()
    f.write_bytes(gzip.compress(raw) if name.endswith(".gz") else raw)
    return f


def test_truncated_and_fake_gzip_are_one_line_errors(capsys, tmp_path):
    full = gzip.compress((HEADER + _row() * 50).encode())
    truncated = tmp_path / "fer2013.csv.gz"
    truncated.write_bytes(full[:12])
    code, _, err = _run_cli(capsys, "audit", str(truncated))
    assert code == 2 and "download it again" in err
    fake = tmp_path / "other" / "fer2013.csv.gz"
    fake.parent.mkdir()
    fake.write_text(HEADER + _row())
    code, _, err = _run_cli(capsys, "audit", str(fake))
    assert code == 2 and "fer2013.csv.gz" in err and "gzip" in err


@pytest.mark.parametrize("token", ["12.7", "1e2", "255x", "-1", "256"])
def test_a_malformed_last_pixel_is_caught(tmp_path, token):
    pixels = " ".join(["7"] * 2303 + [token])
    with pytest.raises(DataFormatError, match="row 0"):
        read_fer2013_csv(_csv(tmp_path, HEADER + _row(pixels=pixels)), progress=False)


def test_a_csv_saved_with_a_byte_order_mark_reads(tmp_path):
    ds = read_fer2013_csv(_csv(tmp_path, HEADER + _row(), bom=True), progress=False)
    assert len(ds) == 1 and ds.labels[0] == 3


def test_an_undecodable_byte_names_file_and_row(tmp_path):
    f = tmp_path / "fer2013.csv"
    f.write_bytes((HEADER + _row() * 3).encode() + b"\xff\xfe" + _row().encode())
    with pytest.raises(DataFormatError, match=r"fer2013.csv row 3 .*not UTF-8 text"):
        read_fer2013_csv(f, progress=False)


def test_sixteen_bit_pngs_in_image_folders_are_scaled_not_clipped(tmp_path):
    rng = np.random.default_rng(0)
    grey = rng.integers(0, 256, (48, 48)).astype(np.uint16)
    for split in ("train", "test"):
        d = tmp_path / split / "happy"
        d.mkdir(parents=True)
        Image.fromarray(grey * 257).save(d / "a.png")  # 16-bit, full range
    ds = read_image_folders(tmp_path, progress=False)
    assert np.abs(ds.images[0].astype(int) - grey).max() <= 1
    assert np.abs(read_image(tmp_path / "train" / "happy" / "a.png")[..., 0].astype(int)
                  - grey).max() <= 1


def test_image_folders_of_wrong_sizes_say_so(tmp_path):
    for split in ("train", "test"):
        d = tmp_path / split / "sad"
        d.mkdir(parents=True)
        Image.fromarray(np.zeros((64, 64), np.uint8)).save(d / "a.png")
    with pytest.raises(DataFormatError, match="none of its 2 images could be used.*64×64"):
        read_image_folders(tmp_path, on_error="skip", progress=False)


def test_cache_dir_that_is_a_file(capsys, monkeypatch, a_file):
    monkeypatch.setenv("FER_CACHE_DIR", str(a_file))
    code, _, err = _run_cli(capsys, "audit", str(a_file))
    assert code == 2 and "FER_CACHE_DIR" in err and "a file, not a folder" in err


def test_evaluate_without_data_is_an_error_not_the_sample(capsys, tmp_path):
    model = tmp_path / "m.keras"
    from fer_utils import models

    models.plain_cnn(3, width=8).save(model)
    code, _, err = _run_cli(capsys, "evaluate", "--model", str(model))
    assert code == 2 and "--data sample" in err


# ------------------------------------------------------------------------------------
# configs, models and training
# ------------------------------------------------------------------------------------

@pytest.mark.parametrize("config, message", [
    ({"epochs": "two"}, "'epochs' must be a whole number"),
    ({"epochs": 0}, "'epochs' must be at least 1"),
    ({"model_args": {"depth": 3, "colour": True}}, "unknown argument(s) ['colour'] for model 'cnn'"),
    ({"nonsense": 1}, "unknown config key"),
])
def test_bad_configs_fail_cleanly_and_leave_nothing(config, message, capsys, tmp_path,
                                                   monkeypatch):
    monkeypatch.setenv("FER_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    f = tmp_path / "bad.json"
    f.write_text(json.dumps({"name": "bad", "train_limit": 100, **config}))
    code, _, err = _run_cli(capsys, "train", str(f), "--no-progress")
    assert code == 2 and message in err
    left = tmp_path / "artifacts"
    assert not left.exists() or not [p for p in left.rglob("*") if p.is_file()]


def test_a_corrupt_model_file_is_named_as_such(capsys, tmp_path):
    bad = tmp_path / "model.keras"
    bad.write_bytes(b"\x00" * 100)
    code, _, err = _run_cli(capsys, "evaluate", "--model", str(bad), "--data", "sample")
    assert code == 2 and "not a Keras model" in err and "File not found" not in err


def test_evaluate_a_model_file_inside_an_artifact_uses_its_mask_and_subset(
        capsys, tmp_path, monkeypatch):
    from fer_utils import train as T

    monkeypatch.setenv("FER_ARTIFACTS_DIR", str(tmp_path / "artifacts"))
    cfg = T.TrainConfig(name="m", model_args={"depth": 3, "width": 8}, epochs=1,
                        train_limit=200, eval_limit=120, mask="mouth")
    art = T.train(cfg, make_sample(), progress=False)
    code, out, _ = _run_cli(capsys, "evaluate", "--model", str(art.path / "model.json"),
                            "--data", "sample", "--json")
    got = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and got["mask"] == "mouth" and got["n"] == 120
    assert got["accuracy"] == art.metrics["PrivateTest"]["accuracy"]


def test_commands_without_tensorflow_say_how_to_install_it(tmp_path):
    code = ("import sys; sys.modules['keras'] = None; sys.modules['tensorflow'] = None;"
            "from fer_utils import cli; sys.exit(cli.main(['evaluate', '--model', "
            f"'{tmp_path}/m.keras', '--data', 'sample']))")
    (tmp_path / "m.keras").write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 2 and "pip install 'fer-utils[cpu]'" in out.stderr
    assert "Traceback" not in out.stderr


def test_webcam_max_frames_must_be_positive(capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main(["webcam", "--video", "x.mp4", "--max-frames", "0"])
    assert stop.value.code == 2 and "must be at least 1" in capsys.readouterr().err


def test_tasks_backend_names_the_flag(capsys, tmp_path, face_png, monkeypatch):
    monkeypatch.delenv("FER_FACE_LANDMARKER", raising=False)  # and no network (conftest)
    code, _, err = _run_cli(capsys, "esmap", str(face_png), "--out", str(tmp_path / "o"),
                            "--backend", "tasks")
    assert code == 2 and "--landmarker" in err and "--model" not in err


# ------------------------------------------------------------------------------------
# images
# ------------------------------------------------------------------------------------

def test_an_animated_gif_is_read_with_a_warning(tmp_path):
    frames = [Image.fromarray(np.full((32, 32), v, np.uint8)) for v in (0, 255)]
    f = tmp_path / "anim.gif"
    frames[0].save(f, save_all=True, append_images=frames[1:])
    with pytest.warns(ImageWarning, match="2 frames; only the first"):
        assert read_image(f).shape == (32, 32, 3)


def test_a_huge_jpeg_is_decoded_reduced(tmp_path):
    f = tmp_path / "big.jpg"
    Image.new("RGB", (6000, 4000), (120, 90, 60)).save(f, quality=50)
    import tracemalloc

    tracemalloc.start()
    img = read_image(f)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert max(img.shape[:2]) <= 2048
    assert peak < 40e6, f"decoding peaked at {peak / 1e6:.0f} MB"  # 72 MB decoded in full


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=2000))
def test_random_bytes_are_an_image_error_or_an_image(tmp_path, blob):
    f = tmp_path / "x.bin"
    f.write_bytes(blob)
    try:
        img = read_image(f)
    except ImageError:
        return
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["L", "RGB", "RGBA", "P", "CMYK", "I;16", "LA", "1"]),
       st.integers(1, 300), st.integers(1, 300),
       st.sampled_from(["png", "jpeg", "bmp", "tiff", "gif", "webp"]), st.integers(0, 2**16))
def test_valid_images_of_any_mode_and_size_read_correctly(tmp_path, mode, w, h, fmt, seed):
    rng = np.random.default_rng(seed)
    im = Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).convert(mode)
    f = tmp_path / f"x.{fmt}"
    try:
        im.save(f)
    except (OSError, ValueError, KeyError):
        return  # a mode that format cannot hold: nothing to read
    img = read_image(f)
    assert img.shape == (h, w, 3) and img.dtype == np.uint8


# ------------------------------------------------------------------------------------
# the csv parser
# ------------------------------------------------------------------------------------

_token = st.one_of(st.integers(0, 255).map(str), st.sampled_from(
    ["", "256", "-3", "1.5", "1e2", "x", "12a", " ", "nan"]))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(label=st.one_of(st.integers(0, 6).map(str), st.sampled_from(["7", "-1", "a", ""])),
       usage=st.sampled_from(["Training", "PublicTest", "PrivateTest", "Test", ""]),
       edits=st.lists(st.tuples(st.integers(0, 2303), _token), max_size=4),
       length=st.integers(-2, 2), seed=st.integers(0, 2**16))
def test_csv_rows_parse_exactly_or_fail_cleanly(tmp_path, label, usage, edits, length, seed):
    tokens = [str(v) for v in np.random.default_rng(seed).integers(0, 256, 2304)]
    for i, tok in edits:
        tokens[i] = tok
    tokens = tokens[:2304 + length] if length < 0 else tokens + ["9"] * length
    pixels = " ".join(tokens)
    f = _csv(tmp_path, HEADER + f"{label},{pixels},{usage}\n")
    values = pixels.split()  # spaces around or between values are not errors
    valid = (label in {str(i) for i in range(7)} and usage in dataset.SPLITS
             and len(values) == 2304 and all(t.isdigit() and int(t) <= 255 for t in values))
    try:
        ds = read_fer2013_csv(f, progress=False)
    except DataFormatError as exc:
        assert not valid, exc
        assert "row 0" in str(exc) or "no valid" in str(exc)
        return
    assert valid
    assert (ds.images[0].ravel() == np.array([int(t) for t in values])).all()
    assert ds.labels[0] == int(label) and ds.usage[0] == usage
