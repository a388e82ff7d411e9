"""fer_utils.runtime and the oneDNN switch on every path a reader may take."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from fer_utils import runtime

PY = sys.executable


def run(code: str, **env) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k != runtime.ONEDNN_VAR}
    base.update(env)
    return subprocess.run([PY, "-c", code], capture_output=True, text=True, env=base, timeout=300)


def test_startup_hook_sets_it_before_any_import():
    """A process that never imports fer_utils still starts with the course's choice (the .pth
    hook): oneDNN on."""
    out = run("import os; print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'))")
    assert out.stdout.strip() == runtime.ONEDNN_DEFAULT == "1", out.stderr


def test_explicit_choice_is_respected():
    out = run("import tensorflow, fer_utils, os; from fer_utils import runtime;"
              "print(runtime.onednn_status())", TF_ENABLE_ONEDNN_OPTS="0")
    assert out.stdout.strip().endswith("oneDNN off"), out.stderr


def test_the_minimal_reproducer_crashes_oneDNN_only():
    """The root cause, kept runnable: the filter gradient of a 1×1 stride-2 convolution on a
    64×64 map kills the process with oneDNN on, and runs with it off. If a TensorFlow release
    fixes it, this test fails and the course can drop its workaround."""
    crashed = run(runtime.REPRODUCER, TF_ENABLE_ONEDNN_OPTS="1")
    assert crashed.returncode != 0 and "ok" not in crashed.stdout
    fine = run(runtime.REPRODUCER, TF_ENABLE_ONEDNN_OPTS="0")
    assert fine.returncode == 0 and fine.stdout.strip() == "ok True", fine.stderr


def test_the_guard_refuses_the_crashing_pattern_and_passes_the_course_models(monkeypatch):
    import keras

    from fer_utils import models

    monkeypatch.setenv(runtime.ONEDNN_VAR, "1")
    inputs = keras.Input((64, 64, 8))
    x = keras.layers.Conv2D(16, 1, strides=2, padding="same", name="strided_1x1")(inputs)
    bad = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x), name="old_shortcut")
    assert runtime.unsafe_layers(bad) == ["strided_1x1"]
    with pytest.raises(runtime.OneDNNUnsafeModel, match="TF_ENABLE_ONEDNN_OPTS=0"):
        runtime.check_training_safe(bad)
    monkeypatch.setenv(runtime.ONEDNN_VAR, "0")
    runtime.check_training_safe(bad)  # without oneDNN the pattern is safe
    for model in (models.mini_xception(input_size=64), models.mini_xception(input_size=48),
                  models.vgg_net(), models.plain_cnn(6, 16)):
        assert runtime.unsafe_layers(model) == [], model.name


def test_status_and_quick_mode(monkeypatch):
    monkeypatch.setenv(runtime.ONEDNN_VAR, "0")
    assert "oneDNN off" in runtime.onednn_status()
    monkeypatch.setenv(runtime.ONEDNN_VAR, "1")
    assert runtime.onednn_status().endswith("oneDNN on")
    monkeypatch.setenv(runtime.QUICK_VAR, "1")
    assert runtime.quick_mode()
    monkeypatch.setenv(runtime.QUICK_VAR, "0")
    assert not runtime.quick_mode()


@pytest.mark.parametrize("module", ["fer_utils.data", "fer_utils.ferplus", "fer_utils.audit",
                                    "fer_utils.sample", "fer_utils.viz", "fer_utils.paths"])
def test_modules_import_cheaply(module):
    """Importing a module does not import TensorFlow, OpenCV or MediaPipe (fast notebook start)."""
    out = run(f"import sys, {module}; print(sorted(m for m in ('tensorflow', 'cv2', 'mediapipe') "
              "if m in sys.modules))")
    assert out.stdout.strip() == "[]", out.stderr


def test_quiet_native_swallows_native_and_python_output(capfd):
    import os
    import sys

    from fer_utils.runtime import quiet_native

    with quiet_native():
        os.write(1, b"native stdout\n")
        os.write(2, b"native stderr\n")
        print("python stdout")
        print("python stderr", file=sys.stderr)
    print("after")
    out, err = capfd.readouterr()
    assert out == "after\n" and err == ""
