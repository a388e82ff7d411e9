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
    """A process that never imports fer_utils still starts with oneDNN off (the .pth hook)."""
    out = run("import os; print(os.environ.get('TF_ENABLE_ONEDNN_OPTS'))")
    assert out.stdout.strip() == "0", out.stderr


def test_tensorflow_imported_first_is_still_safe():
    out = run("import tensorflow as tf, fer_utils, os; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().endswith("0")
    assert "oneDNN custom operations are on" not in out.stderr


def test_explicit_choice_is_respected_and_warned_about():
    out = run("import warnings; warnings.simplefilter('always');"
              "import tensorflow, fer_utils, os; print(os.environ['TF_ENABLE_ONEDNN_OPTS'])",
              TF_ENABLE_ONEDNN_OPTS="1")
    assert out.stdout.strip().endswith("1")
    assert "Restart the kernel" in out.stderr


def test_status_and_quick_mode(monkeypatch):
    monkeypatch.setenv(runtime.ONEDNN_VAR, "0")
    assert "oneDNN off" in runtime.onednn_status()
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
