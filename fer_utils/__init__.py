"""fer_utils: the companion package of the course *Reading Faces*.

One module per concept, each importable on its own and cheap to import (TensorFlow,
OpenCV and MediaPipe are imported inside the functions that need them). The README's
"Which module does what" groups them by the book's parts.

Importing the package sets ``TF_ENABLE_ONEDNN_OPTS=1`` (unless the user chose) before
TensorFlow can be imported: the course's models avoid the one oneDNN kernel that crashes
(see :mod:`fer_utils.runtime`).
"""
from __future__ import annotations

# Must run before anything can import TensorFlow: see fer_utils.runtime.
from fer_utils import runtime as _runtime

_runtime.configure_onednn()

__version__ = "0.1.0"
