"""fer_utils: the companion package of the course *Reading Faces*.

One module per concept, each importable on its own and cheap to import
(TensorFlow, OpenCV and MediaPipe are imported inside the functions that need them):

===============  ==============================================================
``paths``        where data, caches and artifacts live (``FER_DATA_DIR``)
``runtime``      process settings: oneDNN choice and guard, quick mode, Colab
``data``         FER-2013 loaders (csv, csv.gz, tar.gz, image folders), splits
``ferplus``      FERPlus crowd votes and their label modes
``audit``        class counts, blank images, duplicate groups, leakage
``sample``       the offline sample: procedural faces and packaged photographs
``viz``          plots shared by the chapters (one class order, one palette)
===============  ==============================================================

Importing the package sets ``TF_ENABLE_ONEDNN_OPTS=1`` (unless the user chose) before
TensorFlow can be imported: the course's models avoid the one oneDNN kernel that crashes
(see :mod:`fer_utils.runtime`).
"""
from __future__ import annotations

# Must run before anything can import TensorFlow: see fer_utils.runtime.
from fer_utils import runtime as _runtime

_runtime.configure_onednn()

from fer_utils.data import (  # noqa: E402
    CLASS_NAMES,
    SPLITS,
    DataFormatError,
    FERDataset,
    ProtocolError,
    load_fer2013,
)

__version__ = "0.1.0"

__all__ = [
    "CLASS_NAMES",
    "SPLITS",
    "FERDataset",
    "DataFormatError",
    "ProtocolError",
    "load_fer2013",
    "__version__",
]
