"""The book's structure and the committed notebooks, as readers will meet them."""
from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest
import yaml

from fer_utils import book

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("setup_cells", ROOT / "scripts" / "setup_cells.py")
setup_cells = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(setup_cells)
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())
NOTEBOOKS = sorted((ROOT / "chapters").glob("*.ipynb"))
APPENDIX = sorted((ROOT / "appendix").glob("*.ipynb"))
# an absolute path of a few levels, or the shared data folder, in an output
MACHINE_PATH = re.compile(r"((?<![:/\w.])/(?:[\w.-]+/){2,}|\.\./shared)")


def toc_files(node) -> list[str]:
    out = []
    if isinstance(node, dict):
        if "file" in node:
            out.append(node["file"])
        for v in node.values():
            out += toc_files(v)
    elif isinstance(node, list):
        for v in node:
            out += toc_files(v)
    return out


def load(nb_path: Path) -> dict:
    return json.loads(nb_path.read_text())


def test_every_chapter_is_in_the_toc_and_numbered():
    listed = [f for f in toc_files(TOC) if f.startswith("chapters/")]
    on_disk = [f"chapters/{p.stem}" for p in NOTEBOOKS]
    assert listed == on_disk, "the toc lists the chapters in file (reading) order"
    assert all(re.match(r"\d\d[a-z]?_", p.name) for p in NOTEBOOKS)
    for f in toc_files(TOC):
        assert any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb")), f
    assert [f"appendix/{p.stem}" for p in APPENDIX] == [f for f in toc_files(TOC)
                                                        if f.startswith("appendix/")]


def test_book_renders_committed_outputs_and_fails_on_errors():
    assert CONFIG["execute"]["execute_notebooks"] == "off"
    assert CONFIG["execute"]["allow_errors"] is False
    assert CONFIG["launch_buttons"]["colab_url"] and CONFIG["launch_buttons"]["binderhub_url"]


def test_setup_cell_template_installs_from_the_repository_and_checks_replacements():
    src = book.setup_cell("https://example.org/r")
    assert 'if "google.colab" in sys.modules:' in src
    assert 'git+https://example.org/r"' in src
    assert "TF_ENABLE_ONEDNN_OPTS" not in src and "import fer_utils" not in src  # runtime's
    # data is fetched in Colab only, and only from a source the reader chooses
    assert "DATA_SOURCE = None" in src
    guarded = src.split('if "google.colab" in sys.modules:', 1)[1]
    assert "colab.get_data(DATA_SOURCE)" in guarded and "get_data" not in src.split("if ")[0]
    # what was loaded before the install is noted, and checked right after it (Colab issue)
    before, after = guarded.split("%pip install", 1)
    assert "loaded, t0 = set(sys.modules), time.time()" in before
    assert after.index("colab.restart_if_replaced(loaded, t0)") < after.index("get_data")
    assert "enable_custom_widget_manager" not in src
    assert "enable_custom_widget_manager" in book.setup_cell("u", widgets=True)


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_is_the_setup_cell_of_the_configured_repository(nb_path):
    """Written by scripts/setup_cells.py from _config.yml (the address's one home)."""
    nb = load(nb_path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    assert "".join(first["source"]) == setup_cells.expected(nb, CONFIG["repository"]["url"]), (
        "the set-up cell differs from fer_utils.book.setup_cell: run scripts/setup_cells.py")


@pytest.mark.parametrize("nb_path", NOTEBOOKS + APPENDIX, ids=lambda p: p.name)
def test_committed_outputs_are_clean(nb_path):
    nb = load(nb_path)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert any(c["outputs"] for c in code), "outputs must be committed (the book renders them)"
    for i, c in enumerate(code):
        for o in c["outputs"]:
            assert o["output_type"] != "error", f"cell {i} has an error output"
            if o["output_type"] == "stream":
                assert o["name"] == "stdout", f"cell {i} committed stderr (warnings or progress bars)"
            text = json.dumps(o.get("text", "")) + json.dumps(o.get("data", {}).get("text/plain", ""))
            assert not MACHINE_PATH.search(text), f"cell {i} shows a machine path"
            assert "offline sample" not in text.lower(), "committed outputs must come from the real data"
            if text.startswith('"<Figure') or '"<Figure size' in text:
                # a figure glued without its picture: run with the inline backend (make refresh)
                assert "image/png" in o.get("data", {}), f"cell {i} holds a figure without its PNG"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_glued_number_in_the_prose_exists(nb_path):
    nb = load(nb_path)
    glued = set()
    for c in nb["cells"]:
        for o in c.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if name:
                glued.add(name)
    prose = "".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    used = set(re.findall(r"\{glue:(?:text|figure|md)?\}`([\w]+)", prose))
    used |= set(re.findall(r"```\{glue:(?:figure|md)\} (\w+)", prose))
    assert used, "the chapter should take its numbers from its outputs"
    assert used <= glued, f"glue keys without an output: {sorted(used - glued)}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_chapter_follows_the_template(nb_path):
    """Overview, prerequisites, content, summary, exercises with folded solutions, captions."""
    cells = load(nb_path)["cells"]
    prose = ["".join(c["source"]) for c in cells if c["cell_type"] == "markdown"]
    text = "\n".join(prose)
    assert prose[0].startswith("# "), "a chapter opens with its title"
    assert ":::{admonition} Overview" in prose[0]
    assert ":::{admonition} Prerequisites" in prose[0]
    heads = re.findall(r"^## (.+)$", text, flags=re.M)
    assert heads[-2:] == ["Summary", "Exercises"], f"the chapter ends with Summary, Exercises: {heads}"
    exercises = text[text.index("## Exercises"):]
    # one style everywhere (CONTRIBUTING.md): a numbered list, numbered per chapter, each item
    # with its solution folded in a dropdown (sphinx-exercise numbered across the whole book)
    assert "{exercise}" not in exercises and "{solution}" not in exercises
    numbered = re.findall(r"^\d+\. ", exercises, flags=re.M)
    folded = exercises.count("```{dropdown} Solution")
    assert len(numbered) >= 2, "at least two exercises"
    assert folded == len(numbered), "every numbered exercise has a folded solution"
    # every glued figure has a caption (text after its options)
    for block in re.findall(r"```\{glue:figure\} \w+\n(.*?)```", text, flags=re.S):
        caption = [ln for ln in block.splitlines() if ln.strip() and not ln.startswith(":")]
        assert caption, f"a figure without a caption: {block[:60]!r}"


MAX_CELL_LINES = 30
SELF_CHECK = "# What this chapter must show"


def chapter_problems(cells: list) -> list[str]:
    """What breaks the chapter format (CONTRIBUTING.md): a figure drawn with ``book.figure``
    in a cell that keeps its output, or never captioned by a ``{glue:figure}``; a code cell
    over :data:`MAX_CELL_LINES` lines (reusable logic belongs in ``fer_utils``); a self-check
    cell (first line :data:`SELF_CHECK`) that readers would see (it needs ``remove-cell``)."""
    def source(c):
        return c["source"] if isinstance(c["source"], str) else "".join(c["source"])

    text = "\n".join(source(c) for c in cells if c["cell_type"] == "markdown")
    problems = []
    for i, c in enumerate(cells):
        if c["cell_type"] == "markdown" and SELF_CHECK.lstrip("# ") in source(c):
            problems.append(f"cell {i}: prose announces the hidden self-check (readers would "
                            "see an empty section)")
        if c["cell_type"] != "code":
            continue
        src, tags = source(c), c.get("metadata", {}).get("tags", [])
        for name in re.findall(r"book\.figure\(\"(\w+)\"", src):
            if "remove-output" not in tags:
                problems.append(f"cell {i}: figure {name!r} is drawn in a cell without the "
                                "remove-output tag (it would show twice)")
            if f"{{glue:figure}} {name}\n" not in text:
                problems.append(f"cell {i}: figure {name!r} has no {{glue:figure}} caption")
        if len(src.splitlines()) > MAX_CELL_LINES:
            problems.append(f"cell {i}: {len(src.splitlines())} lines (at most "
                            f"{MAX_CELL_LINES}: move logic into fer_utils)")
        if src.startswith(SELF_CHECK) and "remove-cell" not in tags:
            problems.append(f"cell {i}: a self-check cell without the remove-cell tag")
    return problems


@pytest.mark.parametrize("nb_path", NOTEBOOKS + APPENDIX, ids=lambda p: p.name)
def test_every_chapter_keeps_the_format(nb_path):
    """One source format for every chapter: notebooks, edited as notebooks (CONTRIBUTING.md)."""
    assert chapter_problems(load(nb_path)["cells"]) == []


def test_the_format_check_catches_each_problem():
    def code(src, tags=()):
        return {"cell_type": "code", "source": src, "metadata": {"tags": list(tags)}}

    draw = 'book.figure("fig_x", fig)'
    caption = {"cell_type": "markdown", "source": "```{glue:figure} fig_x\nA caption.\n```"}
    good = [code(draw, ["remove-output"]), caption,
            code(SELF_CHECK + "\nassert True", ["remove-cell"])]
    assert chapter_problems(good) == []
    assert "without the remove-output tag" in chapter_problems([code(draw), caption])[0]
    assert "no {glue:figure} caption" in chapter_problems([good[0]])[0]
    assert "31 lines" in chapter_problems([code("x = 1\n" * 31)])[0]
    assert "self-check" in chapter_problems([code(SELF_CHECK + "\nassert True")])[0]
    heading = {"cell_type": "markdown", "source": "## What this chapter must show"}
    assert "announces the hidden self-check" in chapter_problems([heading])[0]


def test_there_is_one_chapter_source_format():
    """No generator writes chapters: the notebooks are the source (CONTRIBUTING.md)."""
    assert not (ROOT / "scripts" / "nb").exists()
    assert "How to edit a chapter" in (ROOT / "CONTRIBUTING.md").read_text()


def test_the_publish_workflow_builds_the_committed_book_and_deploys_it():
    """.github/workflows/book.yml: the standard Jupyter Book → GitHub Pages route (README,
    'Publishing the book'). Parsed here; actionlint needs a download this machine cannot make."""
    wf = yaml.safe_load((ROOT / ".github" / "workflows" / "book.yml").read_text())
    triggers = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as true
    assert "main" in triggers["push"]["branches"] and "workflow_dispatch" in triggers
    assert wf["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    build, deploy = wf["jobs"]["build"], wf["jobs"]["deploy"]
    uses = [s.get("uses", "") for s in build["steps"]]
    runs = " ".join(s.get("run", "") for s in build["steps"])
    assert any(u.startswith("actions/checkout@") for u in uses)
    assert "jupyter-book build ." in runs and "--warningiserror" in runs
    assert "execute" not in runs  # committed outputs are rendered, nothing is re-run
    upload = next(s for s in build["steps"] if s.get("uses", "").startswith(
        "actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "_build/html"
    assert deploy["needs"] == "build" and deploy["environment"]["name"] == "github-pages"
    assert deploy["steps"][0]["uses"].startswith("actions/deploy-pages@")
    assert CONFIG["execute"]["execute_notebooks"] == "off"
