"""Write every chapter's first code cell (the Colab set-up) from ``fer_utils.book.setup_cell``
and the repository address in ``_config.yml``, its one home.

    python scripts/setup_cells.py           # rewrite the cells that differ
    python scripts/setup_cells.py --check   # exit 1 and name the chapters that differ

A chapter with widgets (it imports ``ipywidgets`` or ``fer_utils.explorer``) also enables
Colab's widget manager. Cell ids, metadata and outputs are kept; only the source changes.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from fer_utils.book import setup_cell

ROOT = Path(__file__).resolve().parents[1]


def repository_url(root: Path = ROOT) -> str:
    return yaml.safe_load((root / "_config.yml").read_text())["repository"]["url"]


def expected(nb: dict, url: str) -> str:
    text = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code")
    return setup_cell(url, widgets="ipywidgets" in text or "explorer" in text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="change nothing; fail on a difference")
    args = parser.parse_args(argv)
    url, differ = repository_url(), []
    for path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = json.loads(path.read_text(encoding="utf-8"))
        cell = next(c for c in nb["cells"] if c["cell_type"] == "code")
        want = expected(nb, url)
        if "".join(cell["source"]) == want:
            continue
        differ.append(path.name)
        if not args.check:
            cell["source"] = want.splitlines(keepends=True)
            path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    verb = "differ" if args.check else "rewritten"
    print(f"{len(differ)} set-up cell(s) {verb}" + (f": {', '.join(differ)}" if differ else ""))
    return 1 if args.check and differ else 0


if __name__ == "__main__":
    sys.exit(main())
