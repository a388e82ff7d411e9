"""Check the built book as a reader's browser meets it.

    python scripts/check_book.py [_build/html] [--screenshots DIR] [--no-browser]

1. Every page's internal links (``href`` to another page of the book, with or without an
   ``#anchor``) must point at an existing file and, for anchors, an existing ``id``; every
   local image (``<img src>``) must exist. Broken ones are listed and the exit status is 1.
2. Unless ``--no-browser``: every chapter page is opened in headless Chromium (Debian's
   ``chromium``, ``--headless --no-sandbox --disable-gpu``); a page that fails to load or
   produces no screenshot is an error, and one screenshot per page is saved
   (default ``_build/screenshots``). A JavaScript error from the book's own scripts fails the
   page; those caused by resources from the internet are expected offline and only counted.
3. With the browser: every formula must be typeset. The book ships MathJax itself
   (``sphinx-mathjax-offline``), so a page whose rendered DOM has fewer MathJax containers
   than the page has formulas shows raw LaTeX to its reader, and is an error.

Exit status: 0 all good, 1 broken links, missing images, pages that did not load or
untypeset formulas,
2 usage errors (no built book, no Chromium when the browser step is wanted).
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit


class _Page(HTMLParser):
    """Collects ids, links and image sources of one HTML page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.images: list[str] = []
        self.formulas = 0

    def handle_starttag(self, tag, attrs) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        if tag == "img" and a.get("src"):
            self.images.append(a["src"])
        if "math" in (a.get("class") or "").split():  # Sphinx: <span|div class="math ...">
            self.formulas += 1


def _parse(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8", errors="replace"))
    return page


def _is_local(url: str) -> bool:
    parts = urlsplit(url)
    return not parts.scheme and not parts.netloc and not url.startswith(("mailto:", "data:",
                                                                        "javascript:"))


def check_links(root: Path) -> list[str]:
    """Broken internal links and missing local images of every page under ``root``."""
    root = Path(root)
    pages = {p.resolve(): _parse(p) for p in root.rglob("*.html")}
    problems = []
    for path, page in sorted(pages.items()):
        rel = path.relative_to(root.resolve())
        for href in page.links:
            if not _is_local(href):
                continue
            parts = urlsplit(href)
            target = (path.parent / unquote(parts.path)).resolve() if parts.path else path
            if target.is_dir():
                target = target / "index.html"
            if not target.exists():
                problems.append(f"{rel}: link to a missing page {href!r}")
                continue
            if parts.fragment and target.suffix == ".html":
                ids = pages[target].ids if target in pages else _parse(target).ids
                if unquote(parts.fragment) not in ids:
                    problems.append(f"{rel}: link to a missing anchor {href!r}")
        for src in page.images:
            if _is_local(src) and not (path.parent / unquote(urlsplit(src).path)).exists():
                problems.append(f"{rel}: missing image {src!r}")
    return problems


#: what a chapter's self-check cell starts with (CONTRIBUTING.md): tagged remove-cell, so it
#: must never reach a rendered page
SELF_CHECK = "What this chapter must show"


def self_checks_shown(root: Path) -> list[str]:
    """Pages that show a chapter's self-check cell (its asserts) to readers."""
    return [f"{p.relative_to(root)}: shows the self-check cell ('{SELF_CHECK}')"
            for p in chapter_pages(root) if SELF_CHECK in p.read_text(errors="replace")]


def chapter_pages(root: Path) -> list[Path]:
    """The pages a reader reads: the introduction, the chapters and the back matter."""
    skip = {"genindex.html", "search.html", "py-modindex.html"}
    return sorted(p for p in Path(root).rglob("*.html")
                  if p.name not in skip and "_static" not in p.parts and "_sources" not in p.parts)


def _chromium(page: Path, *flags: str, timeout: int):
    """Run headless Chromium on ``page`` with ``flags``; the finished process, or None when it
    ran past ``timeout`` seconds."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise FileNotFoundError("chromium not found (Debian: apt install chromium)")
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu",
           "--virtual-time-budget=5000", *flags, page.resolve().as_uri()]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return None


def screenshot(page: Path, out: Path, *, width: int = 1280, height: int = 4000,
               timeout: int = 90) -> tuple[bool, list[str]]:
    """Open ``page`` in headless Chromium and save a screenshot; (loaded, console errors)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    run = _chromium(page, "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
                    f"--window-size={width},{height}", f"--screenshot={out}", timeout=timeout)
    if run is None:
        return False, [f"timed out after {timeout} s"]
    errors = [line.split("] ", 1)[-1] for line in run.stderr.splitlines()
              if "CONSOLE" in line and ("Error" in line or "Uncaught" in line)]
    return out.is_file() and out.stat().st_size > 0, errors


def typeset_formulas(page: Path, *, timeout: int = 90) -> int:
    """How many formulas MathJax typeset on ``page`` in headless Chromium (its rendered DOM's
    ``<mjx-container>`` elements)."""
    run = _chromium(page, "--dump-dom", timeout=timeout)
    return 0 if run is None else run.stdout.count("<mjx-container")


def widget_views(page: Path, *, timeout: int = 90) -> tuple[int, int]:
    """``(saved, drawn)``: the widget views a page carries (saved widget state) and how many
    of them the widget manager drew in headless Chromium (a ``widget-subarea`` with content).
    The manager ships with the book (``_static/widgets``): a page must not depend on a CDN."""
    saved = page.read_text(errors="replace").count('type="application/vnd.jupyter.widget-view+json"')
    if not saved:
        return 0, 0
    run = _chromium(page, "--dump-dom", timeout=timeout)
    dom = "" if run is None else run.stdout
    return saved, len(re.findall(r'<div class="widget-subarea">\s*<div', dom))


def _offline(message: str) -> bool:
    """Console errors caused by resources from the internet, expected on an offline machine."""
    return any(s in message for s in ("net::ERR", "Failed to load resource", "https://",
                                      "require is not defined"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("root", nargs="?", default="_build/html", help="the built book")
    parser.add_argument("--screenshots", default=None, help="folder for one PNG per page "
                        "(default: _build/screenshots beside the book)")
    parser.add_argument("--no-browser", action="store_true", help="check links and images only")
    args = parser.parse_args(argv)
    root = Path(args.root)
    if not (root / "index.html").is_file():
        print(f"no built book at {root} (run: make book)", file=sys.stderr)
        return 2
    problems = check_links(root) + self_checks_shown(root)
    pages = chapter_pages(root)
    print(f"{len(pages)} pages, {len(problems)} broken links or missing images")
    for p in problems:
        print("  " + p)
    failed = 0
    if not args.no_browser:
        shots = Path(args.screenshots) if args.screenshots else root.parent / "screenshots"
        try:
            for page in pages:
                name = page.relative_to(root).with_suffix(".png").as_posix().replace("/", "_")
                ok, errors = screenshot(page, shots / name)
                own = [e for e in errors if not _offline(e)]
                status = "ok" if ok else "DID NOT LOAD"
                saved, drawn = widget_views(page) if ok else (0, 0)
                if saved and drawn < saved:
                    ok = False
                    status = f"{saved - drawn} of {saved} widget views stayed empty"
                elif saved:
                    status += f", {saved} widget view(s) drawn"
                formulas = _parse(page).formulas
                if ok and formulas:
                    typeset = typeset_formulas(page)
                    if typeset < formulas:
                        ok = False
                        status = f"{formulas - typeset} of {formulas} formulas not typeset"
                    else:
                        status += f", {formulas} formulas typeset"
                if own:   # the book's own scripts must run without errors
                    ok = False
                    status += f", {len(own)} JavaScript error(s)"
                extra = f", {len(errors) - len(own)} offline-resource errors" if errors else ""
                print(f"  {page.relative_to(root)}: {status}{extra}")
                for e in own:
                    print(f"    console: {e}")
                failed += not ok
        except FileNotFoundError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        print(f"screenshots in {shots}")
    return 1 if problems or failed else 0


if __name__ == "__main__":
    sys.exit(main())
