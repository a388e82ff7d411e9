"""Shared by the chapter builders in this folder: cell constructors and the writer.

Each ``build_*.py`` keeps a chapter's cells as Python literals (so chapters can be regenerated
and diffed) and ends with ``write(cells, "chapters/<name>.ipynb")``.
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
        'os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")',
        'DATA_SOURCE = None  # in Colab: "drive" (your Google Drive) or "kaggle" (your Kaggle API token)',
        'if "google.colab" in sys.modules:',
        f'    %pip install --quiet "fer-utils @ git+{_REPO}"',
    ]
    if widgets:
        lines += ["    from google.colab import output", "    output.enable_custom_widget_manager()"]
    lines += ["    from fer_utils import colab", "    colab.get_data(DATA_SOURCE)"]
    return code("\n".join(lines))


def figure_code(source: str):
    """A code cell that draws one figure (``book.figure(name, fig)``). Its output is removed
    in the HTML book, where the captioned ``{glue:figure}`` of :func:`caption` shows it once;
    in Jupyter and Colab the reader sees it under the cell."""
    cell = code(source)
    cell.metadata["tags"] = ["remove-output"]
    return cell


def glued_code(source: str):
    """A code cell that writes prose from the results (``book.glue``) for a ``{glue:md}`` in
    the text: in the HTML book its output is removed, so the reader sees the prose once, and
    its input is folded (a click shows it)."""
    cell = code(source)
    cell.metadata["tags"] = ["remove-output", "hide-input"]
    return cell


def caption(name: str, text: str, after: str = ""):
    """The markdown cell that shows figure ``name`` with its caption (and optional text)."""
    label = name.replace("_", "-")
    body = f"```{{glue:figure}} {name}\n:name: fig-{label}\n\n{text.strip()}\n```\n"
    return md(body + (f"\n{after.strip()}" if after.strip() else ""))


def _check_figures(cells: list) -> None:
    """Every ``book.figure`` is drawn by a :func:`figure_code` cell and captioned somewhere."""
    import re

    text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
    for c in cells:
        if c.cell_type != "code":
            continue
        for name in re.findall(r"book\.figure\(\"(\w+)\"", c.source):
            if "remove-output" not in c.metadata.get("tags", []):
                raise ValueError(f"figure {name!r} is drawn in a cell without remove-output: "
                                 "use figure_code() (other outputs of that cell would vanish)")
            if f"{{glue:figure}} {name}\n" not in text:
                raise ValueError(f"figure {name!r} has no caption: add caption({name!r}, ...)")


def write(cells: list, path: str) -> None:
    """Write ``cells`` as a notebook with the course's kernel metadata (no outputs)."""
    _check_figures(cells)
    nb = nbf.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "version": "3.11"}})
    nbf.write(nb, path)
    print("wrote", path, len(cells), "cells")
