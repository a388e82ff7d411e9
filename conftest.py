"""Settings for every pytest run (unit tests and nbval notebooks alike).

Set here, before anything imports TensorFlow, and inherited by the notebook kernels that
nbval starts: oneDNN on (the course's models avoid the op that crashes it:
fer_utils/runtime.py), quick mode on unless the caller chose,
a non-interactive matplotlib backend.
"""
import os

os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("FER_QUICK", "1")
os.environ.setdefault("MPLBACKEND", "Agg")
