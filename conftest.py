"""Settings for every pytest run (unit tests and nbval notebooks alike).

Set here, before anything imports TensorFlow, and inherited by the notebook kernels that
nbval starts: quick mode on unless the caller chose, a non-interactive matplotlib backend.
(oneDNN is the package's to set: fer_utils/runtime.py.)
"""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("FER_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
