"""Process-wide settings the course depends on.

oneDNN
------
TensorFlow's CPU build routes convolutions through Intel oneDNN unless the environment
variable ``TF_ENABLE_ONEDNN_OPTS`` is ``0`` *when TensorFlow is first imported*. On the
course's reference machine (2 cores, TF 2.19 and 2.21) the oneDNN path crashes the whole
process (segmentation fault or "double free") while training models with residual
shortcuts such as mini-Xception and ResNet. With the variable set to ``0`` the same models
train correctly; plain CNNs run at about the same speed either way.

The course therefore sets it on every path:

* a startup hook (``fer_utils_startup.pth``) installed with the package sets it in every
  Python process of the environment, so even a notebook that imports TensorFlow before
  ``fer_utils`` is safe;
* ``import fer_utils`` sets it too (for installs where ``.pth`` files are not processed,
  e.g. a package added to ``sys.path`` by hand);
* the Makefile, ``.ci/run``, the test suite and the first cell of every chapter set it.

A user who really wants oneDNN can export ``TF_ENABLE_ONEDNN_OPTS=1`` before starting
Python; the course respects an explicit choice and :func:`onednn_status` reports it.
"""
from __future__ import annotations

import io
import os
import sys
import warnings

ONEDNN_VAR = "TF_ENABLE_ONEDNN_OPTS"
QUICK_VAR = "FER_QUICK"

_tf_seen_before_us = False


def disable_onednn() -> None:
    """Set ``TF_ENABLE_ONEDNN_OPTS=0`` unless the user chose a value.

    Warns when TensorFlow was already imported with oneDNN on, because the setting is
    read once, at TensorFlow's import: the only remedy then is to restart the process.
    """
    global _tf_seen_before_us
    os.environ.setdefault(ONEDNN_VAR, "0")
    # Quieter TensorFlow start-up: no C++ INFO lines in notebook outputs.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" in sys.modules and os.environ.get(ONEDNN_VAR) != "0":
        _tf_seen_before_us = True
        warnings.warn(
            "TensorFlow was imported with oneDNN enabled (TF_ENABLE_ONEDNN_OPTS is "
            f"{os.environ.get(ONEDNN_VAR)!r}). Training models with residual shortcuts "
            "(mini-Xception, ResNet) can crash this process. Restart the kernel and run "
            "`import fer_utils` (or set TF_ENABLE_ONEDNN_OPTS=0) before importing TensorFlow.",
            RuntimeWarning,
            stacklevel=3,
        )


def onednn_status() -> str:
    """Describe the oneDNN setting of this process in one line."""
    value = os.environ.get(ONEDNN_VAR, "<unset>")
    state = "off" if value == "0" else "ON (may crash residual models on CPU)"
    return f"{ONEDNN_VAR}={value}: oneDNN {state}"


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
            except Exception:  # noqa: BLE001
                pass
            os.dup2(self._saved[0], 1)
            os.dup2(self._saved[1], 2)
            for fd in self._saved:
                os.close(fd)
            self._warnings.__exit__(*exc)
        self._sink.close()
        return False
