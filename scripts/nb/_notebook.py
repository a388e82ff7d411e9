"""Shared by the chapter builders in this folder: cell constructors and the writer.

Each ``build_*.py`` keeps a chapter's cells as Python literals (so drafts can be regenerated
and diffed) and ends with ``write(cells, "drafts/<name>.ipynb")``.
"""
import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell

_REPO = "https://github.com/reading-faces/reading-faces"  # as in _config.yml (tests/test_book.py)


def setup_cell(widgets: bool = False):
    """Every chapter's first code cell: Colab install, opt-in data, oneDNN off (Introduction)."""
    what = "install the course, enable widgets and," if widgets else \
        "install the course package and,"
    lines = [
        f"# Set-up. In Colab: {what} if you choose a DATA_SOURCE, get FER-2013",
        "# (elsewhere this does nothing). oneDNN off before anything imports TensorFlow (Introduction).",
        "import os, sys",
        'os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")',
        'DATA_SOURCE = None  # in Colab: "drive" (your Google Drive) or "kaggle" (your Kaggle API token)',
        'if "google.colab" in sys.modules:',
        f'    %pip install --quiet "fer-utils @ git+{_REPO}"',
    ]
    if widgets:
        lines += ["    from google.colab import output", "    output.enable_custom_widget_manager()"]
    lines += ["    from fer_utils import colab", "    colab.get_data(DATA_SOURCE)"]
    return code("\n".join(lines))


def write(cells: list, path: str) -> None:
    """Write ``cells`` as a notebook with the course's kernel metadata (no outputs)."""
    nb = nbf.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "version": "3.11"}})
    nbf.write(nb, path)
    print("wrote", path, len(cells), "cells")
