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
from fer_utils.data import describe

#: The first code cell of every chapter (:func:`setup_cell`). ``{url}`` is the repository's
#: address, whose home is ``repository: url`` in ``_config.yml``; ``{widgets}`` the lines a
#: chapter with widgets adds.
SETUP_CELL = """\
# Set-up. In Colab: install the course package{what} and, if you choose a DATA_SOURCE, get
# FER-2013 (elsewhere this does nothing).
import sys
import time
DATA_SOURCE = None  # in Colab: "drive" (your Google Drive) or "kaggle" (your Kaggle API token)
if "google.colab" in sys.modules:
    loaded, t0 = set(sys.modules), time.time()
    %pip install --quiet "fer-utils @ git+{url}"
    from fer_utils import colab
    colab.restart_if_replaced(loaded, t0)  # a package in use was replaced: restart, run again
{widgets}    colab.get_data(DATA_SOURCE)"""

_WIDGET_LINES = ("    from google.colab import output\n"
                 "    output.enable_custom_widget_manager()\n")


def setup_cell(url: str, *, widgets: bool = False) -> str:
    """The source of a chapter's first code cell (:data:`SETUP_CELL`) for the repository at
    ``url``; ``widgets`` adds Colab's widget manager (Chapter 6). Colab opens the committed
    notebook, so the cell must carry the address: ``scripts/setup_cells.py`` writes it into
    every chapter from ``_config.yml``, and ``tests/test_book.py`` checks the chapters."""
    return SETUP_CELL.format(url=url, what=", enable widgets" if widgets else "",
                             widgets=_WIDGET_LINES if widgets else "")


def setup(seed: int = 0) -> None:
    """Seed NumPy and Python, set the book's plot style, quieten library chatter.

    Warnings from the course's own code stay visible; deprecation notices from libraries
    (which readers cannot act on) are hidden, and TensorFlow's C++ log is limited to errors.
    """
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

    text = describe(ds)
    if runtime.quick_mode():
        text += ("\n\n*Quick mode (`FER_QUICK=1`): small subsets and few epochs, for tests; "
                 "the numbers are not the book's.*")
    display(Markdown(text))
