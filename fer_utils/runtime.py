"""Process-wide settings the course depends on.

oneDNN
------
TensorFlow's CPU build can route convolutions through Intel oneDNN; the environment variable
``TF_ENABLE_ONEDNN_OPTS`` (``1`` on, ``0`` off), read once *when TensorFlow is first
imported*, decides. On the course's 2-core machine (TF 2.19.1) oneDNN trains the course's
models 1.8–6× faster (``data/benchmarks/training.json``, written by
``scripts/benchmark_training.py``), but one kernel of it corrupts the heap:

    the **filter gradient of a 1×1 convolution with stride 2** (``Conv2DBackpropFilter``,
    SAME or VALID padding) on an **even-sized** feature map of **46 pixels or more**
    crashes the process (``free(): invalid pointer``, ``double free or corruption``,
    segmentation fault). Odd sizes and sizes up to 44 ran clean, also under glibc's heap
    checker (``MALLOC_CHECK_=3``), with gradients equal to the oneDNN-off ones.

The forward pass and the input gradient of the same op are fine. That op is the projection
shortcut of mini-Xception (and of ResNet); at ``input_size=64`` mini-Xception applies it to a
60×60 map, at 48 only to 44×44 and smaller, which is why only the 64-pixel model crashed.
``tests/test_runtime.py`` runs the minimal reproducer (:data:`REPRODUCER`) in a subprocess.

The course therefore turns oneDNN **on** and keeps that op out of its models:

* :func:`fer_utils.models.mini_xception` builds the shortcut as "every second pixel, then a
  1×1 convolution": the same function with the same weights, and no strided 1×1 gradient;
* :func:`check_training_safe` refuses, before any training step, a model that still holds
  the crashing pattern (an older saved mini-Xception, a ``keras.applications`` ResNet on large
  inputs) while oneDNN is on, with what to do instead: a clear error, never a crash;
* the setting has one owner, :func:`configure_onednn` (:data:`ONEDNN_DEFAULT`), which
  ``import fer_utils`` runs before anything of the package can import TensorFlow. One
  documented exception: the startup hook ``fer_utils/_startup/fer_utils_startup.pth``,
  installed with the package, sets the same value when any Python process of the
  environment starts (a notebook that imports TensorFlow before ``fer_utils``); a ``.pth``
  line must not import the package, so it repeats the value, and ``tests/test_runtime.py``
  checks that it equals :data:`ONEDNN_DEFAULT`. ``scripts/benchmark_training.py`` sets the
  variable itself per engine, to measure both.

A user who exports ``TF_ENABLE_ONEDNN_OPTS=0`` gets the slower, oneDNN-free kernels for
everything; :func:`onednn_status` reports the setting of the process.
"""
from __future__ import annotations

import io
import os
import sys
import warnings

ONEDNN_VAR = "TF_ENABLE_ONEDNN_OPTS"
QUICK_VAR = "FER_QUICK"
#: The course's choice when the user made none (see the module docstring).
ONEDNN_DEFAULT = "1"
#: Smallest even feature-map side on which the strided 1×1 filter gradient was seen to crash
#: (46); the guard refuses from 32 on, a margin below it.
UNSAFE_MIN_SIDE = 32

#: The minimal reproducer of the oneDNN crash: run it in a fresh process with
#: ``TF_ENABLE_ONEDNN_OPTS=1`` (it dies) and with ``0`` (it prints ``ok``).
REPRODUCER = """
import numpy as np, tensorflow as tf
x = tf.constant(np.random.default_rng(0).random((8, 64, 64, 8), np.float32))
dy = tf.constant(np.random.default_rng(1).random((8, 32, 32, 16), np.float32))
for _ in range(5):
    g = tf.raw_ops.Conv2DBackpropFilter(input=x, filter_sizes=[1, 1, 8, 16], out_backprop=dy,
                                        strides=[1, 2, 2, 1], padding="SAME")
print("ok", float(tf.reduce_sum(g)) > 0)
"""


class OneDNNUnsafeModel(RuntimeError):
    """A model holds the layer pattern whose gradient crashes oneDNN, and oneDNN is on."""


def configure_onednn() -> None:
    """Set ``TF_ENABLE_ONEDNN_OPTS`` to the course's choice (on) unless the user chose a value.

    It only has an effect before TensorFlow's import; the startup hook makes it first in
    every process of the environment. Also quiets TensorFlow's C++ INFO lines.
    """
    os.environ.setdefault(ONEDNN_VAR, ONEDNN_DEFAULT)
    # Quieter TensorFlow start-up: no C++ INFO lines in notebook outputs.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def onednn_active() -> bool:
    """Whether this process's TensorFlow uses oneDNN (from the variable TensorFlow read, or
    will read; TensorFlow's own default is on for x86 Linux)."""
    return os.environ.get(ONEDNN_VAR, "1").strip().lower() not in {"0", "false", "off", "no"}


def onednn_status() -> str:
    """Describe the oneDNN setting of this process in one line."""
    value = os.environ.get(ONEDNN_VAR, "<unset>")
    state = "on" if onednn_active() else "off"
    return f"{ONEDNN_VAR}={value}: oneDNN {state}"


def unsafe_layers(model) -> list[str]:
    """Layers of ``model`` (nested models included) whose training gradient crashes oneDNN:
    2-D convolutions with a 1-pixel kernel and a stride over 1 along a dimension whose input
    size is even and at least :data:`UNSAFE_MIN_SIDE`. Returns their names."""
    found = []
    for layer in getattr(model, "layers", []):
        if hasattr(layer, "layers"):
            found += unsafe_layers(layer)
            continue
        kernel, strides = getattr(layer, "kernel_size", None), getattr(layer, "strides", None)
        if type(layer).__name__ != "Conv2D" or kernel is None or strides is None:
            continue
        try:
            sides = tuple(layer.input.shape[1:3])
        except (AttributeError, ValueError):
            continue
        for k, s, n in zip(kernel, strides, sides):
            if k == 1 and s > 1 and n is not None and n % 2 == 0 and n >= UNSAFE_MIN_SIDE:
                found.append(layer.name)
                break
    return found


def check_training_safe(model) -> None:
    """Raise :class:`OneDNNUnsafeModel` before training ``model`` in a process where oneDNN is
    on and the model holds the crashing pattern (:func:`unsafe_layers`). Inference is safe."""
    if not onednn_active():
        return
    bad = unsafe_layers(model)
    if bad:
        raise OneDNNUnsafeModel(
            f"{model.name} has 1×1 stride-2 convolutions on large even-sized maps "
            f"({', '.join(bad[:3])}{' …' if len(bad) > 3 else ''}), whose gradient crashes "
            "TensorFlow's oneDNN kernels. Rebuild it with fer_utils.models (which avoids the "
            "pattern), or start Python with TF_ENABLE_ONEDNN_OPTS=0 to train it without oneDNN.")


def quick_mode() -> bool:
    """True when ``FER_QUICK`` is set to a true value (tests and CI use it).

    In quick mode the chapters use small subsets and few epochs: they run end to end in
    seconds but their numbers are not the book's results.
    """
    return os.environ.get(QUICK_VAR, "").strip().lower() in {"1", "true", "yes", "on"}


def in_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


class quiet_native:
    """Silence C++ log lines (TFLite, MediaPipe/absl) written straight to stdout/stderr.

    Those libraries print "INFO: Created TensorFlow Lite XNNPACK delegate" and absl warnings
    from native code, past Python's ``sys.stderr``; a command-line tool or a notebook output
    should not show them. Used around model conversion, interpreter and detector start-up.
    Errors are not lost: Python exceptions still propagate.

    >>> with quiet_native():
    ...     pass
    """

    def __enter__(self):
        import tempfile

        sys.stdout.flush()
        sys.stderr.flush()
        self._sink = tempfile.TemporaryFile()
        try:
            self._saved = [os.dup(1), os.dup(2)]
        except OSError:  # no real file descriptors (some embedded consoles)
            self._saved = None
            return self
        os.dup2(self._sink.fileno(), 1)
        os.dup2(self._sink.fileno(), 2)
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("ignore")
        self._streams = (sys.stdout, sys.stderr)  # Python-level prints (e.g. Keras's export)
        sys.stdout, sys.stderr = io.StringIO(), io.StringIO()
        return self

    def __exit__(self, *exc):
        if self._saved is not None:
            sys.stdout, sys.stderr = self._streams
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except Exception:
                pass
            os.dup2(self._saved[0], 1)
            os.dup2(self._saved[1], 2)
            for fd in self._saved:
                os.close(fd)
            self._warnings.__exit__(*exc)
        self._sink.close()
        return False
