"""Helpers for the chapters' notebooks: one-call set-up, glue for the book, data banners.

The book (Jupyter Book 1 + myst-nb) takes numbers and figures from notebook outputs with
``glue``; in Colab or a plain Jupyter without myst-nb, :func:`glue` still shows what it
would glue, so a notebook runs the same everywhere.
"""
from __future__ import annotations

import logging
import os
import random
import warnings

import numpy as np

from fer_utils import runtime


def setup(seed: int = 0) -> None:
    """Seed NumPy and Python, set the book's plot style, quieten library chatter.

    Warnings from the course's own code stay visible; deprecation notices from libraries
    (which readers cannot act on) are hidden, and TensorFlow's C++ log is limited to errors.
    """
    runtime.configure_onednn()
    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (the chapters' own np.random calls follow it)
    os.environ.setdefault("PYTHONHASHSEED", str(seed))
    import matplotlib as mpl

    mpl.rcParams.update({"figure.dpi": 110, "savefig.dpi": 110, "axes.spines.top": False,
                         "axes.spines.right": False, "axes.titlesize": 11, "font.size": 9})
    for category in (DeprecationWarning, FutureWarning, PendingDeprecationWarning):
        warnings.filterwarnings("ignore", category=category)
    for name in ("tensorflow", "absl", "jax", "numba"):
        logging.getLogger(name).setLevel(logging.ERROR)


def glue(name: str, value, display: bool = False) -> None:
    """myst-nb's ``glue`` when available; otherwise show ``value`` if ``display``."""
    try:
        from myst_nb import glue as _glue
    except ImportError:  # Colab or a minimal Jupyter: nothing to glue into
        if display:
            from IPython.display import display as _display
            _display(value)
        return
    _glue(name, value, display=display)


def figure(name: str, fig) -> None:
    """Show a figure once and glue it for a captioned ``{glue:figure}`` in the book."""
    import matplotlib.pyplot as plt

    glue(name, fig, display=True)
    plt.close(fig)


def show_source(ds) -> None:
    """Display which data the chapter runs on (a loud banner for the offline sample)."""
    from IPython.display import Markdown, display

    from fer_utils.data import describe

    text = describe(ds)
    if runtime.quick_mode():
        text += ("\n\n*Quick mode (`FER_QUICK=1`): small subsets and few epochs, for tests; "
                 "the numbers are not the book's.*")
    display(Markdown(text))
