"""Helpers of ``scripts/colab_replica.sh`` (``make test-colab``).

``install-line --checkout DIR``
    print the chapters' Colab install requirement (from the first chapter's set-up cell) with
    this checkout in place of the repository's address, ready for ``pip install``.
``compare RECORDED AFTER [--since BEFORE]``
    compare ``pip freeze`` files: exit 1 if the install changed the version of a package
    Colab ships that the course uses (:data:`MUST_NOT_CHANGE`, against the recorded Colab
    versions); list what the install changed (against BEFORE, the freeze just before it).
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

#: Colab's packages that the course (or running its notebooks) uses: the install must leave
#: them as Colab ships them, or the reader would need a runtime restart.
MUST_NOT_CHANGE = ("numpy", "tensorflow", "tensorflow-cpu", "keras", "protobuf", "ipywidgets",
                   "ipykernel", "ipython", "matplotlib", "pandas", "scikit-learn",
                   "opencv-contrib-python", "umap-learn", "seaborn", "numba", "scikit-image",
                   "tqdm", "pillow", "h5py", "ml-dtypes", "jupyter-client", "nbformat")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def freeze(path: str | Path) -> dict[str, str]:
    out = {}
    for line in Path(path).read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==", 1)
            out[_norm(name)] = version.strip()
        elif " @ " in line:
            name, where = line.split(" @ ", 1)
            out[_norm(name)] = where.strip()
    return out


def install_line(checkout: str) -> str:
    nb = json.loads(Path(checkout, "chapters", "01_datasets.ipynb").read_text())
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    line = next(x for x in "".join(first["source"]).splitlines() if "%pip install" in x)
    requirement = re.search(r'"(fer-utils @ git\+[^"]+)"', line).group(1)
    local = re.sub(r"git\+\S+", f"file://{Path(checkout).resolve()}", requirement)
    return f'"{local}"'


def compare(before: str, after: str, since: str | None = None) -> int:
    """``before``: the recorded Colab versions; ``after``: the freeze after the install line;
    ``since``: the freeze just before it (a reused replica also holds the test tools), for
    the list of what this install changed."""
    a, b = freeze(before), freeze(after)
    s = freeze(since) if since else a
    broken = [f"{n}: {a[n]} -> {b.get(n, '(removed)')}" for n in MUST_NOT_CHANGE
              if n in a and a[n] != b.get(n)]
    for name in sorted(set(s) | set(b)):
        if s.get(name) != b.get(name):
            print("  changed or added (allowed):",
                  f"{name}: {s.get(name, '(absent)')} -> {b.get(name, '(removed)')}")
    kept = [n for n in MUST_NOT_CHANGE if n in a]
    if broken:
        print("Colab's packages that the course uses were changed by the install line:")
        for row in broken:
            print("  ", row)
        return 1
    print(f"the install left all {len(kept)} recorded versions of Colab's packages the course "
          f"uses unchanged ({', '.join(f'{n} {a[n]}' for n in kept)})")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["install-line"] and len(argv) == 3 and argv[1] == "--checkout":
        print(install_line(argv[2]))
        return 0
    if argv[:1] == ["compare"] and len(argv) in (3, 5) and (len(argv) == 3 or argv[3] == "--since"):
        return compare(argv[1], argv[2], argv[4] if len(argv) == 5 else None)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
