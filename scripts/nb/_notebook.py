"""Shared by the chapter builders in this folder: cell constructors and the writer.

Each ``build_*.py`` keeps a chapter's cells as Python literals (so drafts can be regenerated
and diffed) and ends with ``write(cells, "drafts/<name>.ipynb")``.
"""
import nbformat as nbf

md, code = nbf.v4.new_markdown_cell, nbf.v4.new_code_cell


def write(cells: list, path: str) -> None:
    """Write ``cells`` as a notebook with the course's kernel metadata (no outputs)."""
    nb = nbf.v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python", "version": "3.11"}})
    nbf.write(nb, path)
    print("wrote", path, len(cells), "cells")
