"""scripts/check_book.py: broken internal links, missing anchors and images are found."""
from __future__ import annotations

import importlib.util
import shutil

import pytest

from fer_utils import paths

_spec = importlib.util.spec_from_file_location("check_book",
                                               paths.repo_root() / "scripts" / "check_book.py")
check_book = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_book)


def _book(tmp_path):
    (tmp_path / "chapters").mkdir()
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "logo.png").write_bytes(b"png")
    (tmp_path / "index.html").write_text(
        '<a href="chapters/one.html#setup">ok</a> <a href="https://example.org">ext</a>'
        '<a href="mailto:a@b.c">mail</a> <img src="_static/logo.png"> <a href="#top">self</a>'
        '<h1 id="top">t</h1>')
    (tmp_path / "chapters" / "one.html").write_text(
        '<h2 id="setup">s</h2><a href="../index.html">home</a><img src="data:image/png;base64,AA">')
    return tmp_path


def test_a_sound_book_has_no_problems(tmp_path):
    root = _book(tmp_path)
    assert check_book.check_links(root) == []
    assert check_book.main([str(root), "--no-browser"]) == 0


def test_broken_links_anchors_and_images_are_reported(tmp_path):
    root = _book(tmp_path)
    (root / "chapters" / "two.html").write_text(
        '<a href="three.html">gone</a><a href="one.html#nowhere">bad anchor</a>'
        '<img src="../_images/missing.png">')
    problems = check_book.check_links(root)
    assert len(problems) == 3
    assert any("missing page 'three.html'" in p for p in problems)
    assert any("missing anchor 'one.html#nowhere'" in p for p in problems)
    assert any("missing image '../_images/missing.png'" in p for p in problems)
    assert check_book.main([str(root), "--no-browser"]) == 1
    assert check_book.main([str(tmp_path / "nothing")]) == 2


def test_a_page_showing_a_self_check_cell_fails(tmp_path):
    root = _book(tmp_path)
    assert check_book.self_checks_shown(root) == []
    (root / "chapters" / "two.html").write_text(
        "<pre># What this chapter must show\nassert acc &gt; 0.5</pre>")
    assert check_book.self_checks_shown(root) == [
        "chapters/two.html: shows the self-check cell ('What this chapter must show')"]
    assert check_book.main([str(root), "--no-browser"]) == 1


@pytest.mark.skipif(shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
                    reason="no Chromium here")
def test_a_formula_that_is_not_typeset_fails_the_check(tmp_path):
    """A page with a formula and no MathJax shows raw LaTeX: the browser check says so."""
    root = _book(tmp_path)
    (root / "chapters" / "math.html").write_text(
        '<p>A distance <span class="math notranslate nohighlight">\\(d_{ij}\\)</span>.</p>')
    assert check_book._parse(root / "chapters" / "math.html").formulas == 1
    assert check_book.typeset_formulas(root / "chapters" / "math.html") == 0
    assert check_book.main([str(root), "--screenshots", str(tmp_path / "shots")]) == 1


def test_pages_without_widgets_need_no_browser(tmp_path):
    root = _book(tmp_path)
    assert check_book.widget_views(root / "index.html") == (0, 0)


@pytest.mark.skipif(shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
                    reason="no Chromium here")
def test_a_widget_view_nothing_draws_fails_the_check(tmp_path):
    """A saved widget view with no widget manager on the page (as when a CDN is unreachable)
    stays empty, and the check says so."""
    root = _book(tmp_path)
    (root / "chapters" / "w.html").write_text(
        '<html><body><script type="application/vnd.jupyter.widget-view+json">'
        '{"version_major": 2, "version_minor": 0, "model_id": "x"}</script></body></html>')
    assert check_book.widget_views(root / "chapters" / "w.html") == (1, 0)
