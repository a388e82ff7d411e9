"""The book's structure and the committed notebooks, as readers will meet them."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
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
    assert all(re.match(r"\d\d_", p.name) for p in NOTEBOOKS)
    for f in toc_files(TOC):
        assert any((ROOT / f).with_suffix(s).exists() for s in (".md", ".ipynb")), f
    assert [f"appendix/{p.stem}" for p in APPENDIX] == [f for f in toc_files(TOC)
                                                        if f.startswith("appendix/")]


def test_book_renders_committed_outputs_and_fails_on_errors():
    assert CONFIG["execute"]["execute_notebooks"] == "off"
    assert CONFIG["execute"]["allow_errors"] is False
    assert CONFIG["launch_buttons"]["colab_url"] and CONFIG["launch_buttons"]["binderhub_url"]


@pytest.mark.parametrize("nb_path", NOTEBOOKS, ids=lambda p: p.name)
def test_first_cell_installs_in_colab_from_the_configured_repository(nb_path):
    nb = load(nb_path)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    first = next(c for c in nb["cells"] if c["cell_type"] == "code")
    src = "".join(first["source"])
    assert 'if "google.colab" in sys.modules:' in src
    assert f"git+{CONFIG['repository']['url']}" in src, "repository URL differs from _config.yml"
    assert "TF_ENABLE_ONEDNN_OPTS" in src and "import fer_utils" not in src
    # data is fetched in Colab only, and only from a source the reader chooses
    assert "DATA_SOURCE = None" in src
    guarded = src.split('if "google.colab" in sys.modules:', 1)[1]
    assert "colab.get_data(DATA_SOURCE)" in guarded and "get_data" not in src.split("if ")[0]


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
    labelled = re.findall(r"```\{exercise\}\n:label: ([\w-]+)", exercises)
    solved = re.findall(r"```\{solution\} ([\w-]+)\n:class: dropdown", exercises)
    numbered = re.findall(r"^\d+\. ", exercises, flags=re.M)
    folded = exercises.count("```{dropdown} Solution")
    assert labelled or numbered, "at least one exercise"
    assert sorted(labelled) == sorted(solved), "every exercise has a solution in a dropdown"
    assert folded >= len(numbered), "every numbered exercise has a folded solution"
    # every glued figure has a caption (text after its options)
    for block in re.findall(r"```\{glue:figure\} \w+\n(.*?)```", text, flags=re.S):
        caption = [ln for ln in block.splitlines() if ln.strip() and not ln.startswith(":")]
        assert caption, f"a figure without a caption: {block[:60]!r}"


def _builders():
    """scripts/nb/_notebook.py, the chapter builders' helpers (not part of the package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("_notebook", ROOT / "scripts" / "nb" / "_notebook.py")
    nbh = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(nbh)
    return nbh


@pytest.mark.parametrize("nb_path", NOTEBOOKS + APPENDIX, ids=lambda p: p.name)
def test_every_figure_is_captioned_and_shown_once(nb_path):
    """A figure drawn with book.figure appears once in the HTML, in a captioned glue:figure;
    the drawing cell's own output is removed there (readers of the notebook still see it).
    The same check the builders run before writing a draft (chapter 4 is not generated)."""
    import nbformat

    _builders()._check_figures(nbformat.read(nb_path, as_version=4).cells)


def test_chapter_builders_refuse_uncaptioned_or_doubled_figures():
    """scripts/nb/_notebook.write checks figures before writing a draft; a figure without a
    caption, or in a cell that keeps its output, is refused with a message that says what to
    use."""
    nbh = _builders()
    draw = 'fig = None\nbook.figure("fig_x", fig)'
    good = [nbh.figure_code(draw), nbh.caption("fig_x", "A caption.", after="Text after.")]
    nbh._check_figures(good)
    assert good[0].metadata["tags"] == ["remove-output"]
    assert good[1].source.startswith("```{glue:figure} fig_x\n:name: fig-fig-x\n\nA caption.\n```")
    with pytest.raises(ValueError, match="figure_code"):
        nbh._check_figures([nbh.code(draw), good[1]])
    with pytest.raises(ValueError, match="no caption"):
        nbh._check_figures([nbh.figure_code(draw)])
