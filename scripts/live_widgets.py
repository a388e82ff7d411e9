"""The widgets as a reader uses them: JupyterLab on loopback, driven by headless Chromium.

    python scripts/live_widgets.py [--chromium /usr/bin/chromium] [--screenshots DIR]

Starts JupyterLab on 127.0.0.1 (a random port and token) over a copy of the chapters, then,
with Playwright driving Debian's Chromium (no browser download):

* opens Chapter 6, runs all cells, and changes the explorer's emotion, region and clip
  controls, checking after each change that the figure is redrawn (the image changes);
* opens Chapter 4, runs all cells, uploads a photo into the emotion app, and checks that the
  app names the upload and redraws its figure.

The chapters run in quick mode (``FER_QUICK=1``). Exit status 0 when every check passes, 1
otherwise, 2 when Chromium or Playwright is missing. ``.ci/run`` runs it in its browser stage.
"""
from __future__ import annotations

import argparse
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUN_TIMEOUT_MS = 15 * 60 * 1000
CHANGE_TIMEOUT_MS = 60 * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_lab(folder: Path, port: int, token: str, log) -> subprocess.Popen:
    env = dict(os.environ, FER_QUICK="1", TF_CPP_MIN_LOG_LEVEL="2",
               MPLBACKEND="module://matplotlib_inline.backend_inline")
    cmd = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
           f"--ServerApp.port={port}", f"--IdentityProvider.token={token}",
           f"--ServerApp.root_dir={folder}", "--LabApp.news_url=",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--allow-root"]
    lab = subprocess.Popen(cmd, cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2):
                return lab
        except OSError:
            if lab.poll() is not None:
                break
            time.sleep(1)
    lab.terminate()
    raise RuntimeError("JupyterLab did not start (see its log)")


def run_all(page, url: str) -> None:
    """Open a notebook and run all its cells; wait until every code cell has run."""
    page.goto(url)
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell", timeout=120_000)
    page.wait_for_timeout(3000)   # the kernel starts
    page.locator(".lm-MenuBar-item", has_text="Run").first.click()
    page.locator('.lm-Menu-item[data-command="runmenu:run-all"]').click()
    # every code cell's prompt shows a number (run), none shows "*" (queued or running)
    page.wait_for_function(
        """() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                .map(p => p.textContent.trim());
            return prompts.length > 0 && prompts.every(t => /^\\[\\d+\\]:$/.test(t));
        }""", timeout=RUN_TIMEOUT_MS, polling=2000)
    errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'
                          " .ansi-red-fg")
    if errors.count():
        raise AssertionError(f"{url}: a cell raised: {errors.first.inner_text()[:300]}")


def wait_changed(page, locator, before: str, what: str) -> str:
    handle = locator.element_handle()
    page.wait_for_function("([el, before]) => el.getAttribute('src') && el.getAttribute('src') !== before",
                           arg=[handle, before], timeout=CHANGE_TIMEOUT_MS)
    after = locator.get_attribute("src")
    print(f"  {what}: figure redrawn")
    return after


def check_explorer(page, base: str, shots: Path | None) -> None:
    run_all(page, f"{base}/lab/workspaces/explorer/tree/chapters/06_explorer.ipynb?reset")
    box = page.locator(".widget-vbox:has(.widget-dropdown:has-text('emotion:')):has(img)").last
    image = box.locator("img").last
    image.scroll_into_view_if_needed()
    src = image.get_attribute("src")
    assert src, "the explorer shows no figure"
    emotion = box.locator(".widget-dropdown:has-text('emotion:') select")
    current = emotion.evaluate("s => s.options[s.selectedIndex].text")
    options = emotion.locator("option").all_inner_texts()
    emotion.select_option(label=next(o for o in options if o != current))
    src = wait_changed(page, image, src, "emotion changed")
    region = box.locator(".widget-dropdown:has-text('region') select")
    region.select_option(index=2)
    src = wait_changed(page, image, src, "region changed")
    handle = box.locator(".widget-hslider:has-text('clip') .noUi-handle").first
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    wait_changed(page, image, src, "clip changed")
    if shots:
        box.screenshot(path=str(shots / "explorer-live.png"))


def check_app(page, base: str, photo: Path, shots: Path | None) -> None:
    run_all(page, f"{base}/lab/workspaces/app/tree/chapters/04_realtime.ipynb?reset")
    box = page.locator(".widget-vbox:has(.widget-dropdown:has-text('sample:')):has(.widget-upload)").last
    box.scroll_into_view_if_needed()
    figure = box.locator(".jp-OutputArea-output img").last
    src = figure.get_attribute("src")
    assert src, "the photo app shows no figure"
    with page.expect_file_chooser() as chooser:     # the button opens the file dialog
        box.locator(".widget-upload").first.click()
    chooser.value.set_files(str(photo))
    page.wait_for_function("([el, name]) => el.textContent.includes(name)",
                           arg=[box.locator(".widget-html").first.element_handle(), photo.name],
                           timeout=CHANGE_TIMEOUT_MS)
    print(f"  upload: the app names {photo.name}")
    wait_changed(page, figure, src, "upload")
    if shots:
        box.screenshot(path=str(shots / "photo-app-live.png"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--chromium", default=shutil.which("chromium") or shutil.which("chromium-browser"))
    parser.add_argument("--screenshots", type=Path, help="save the two widgets' screenshots here")
    args = parser.parse_args()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("playwright is not installed (pip install -e '.[dev]')", file=sys.stderr)
        return 2
    if not args.chromium:
        print("no chromium: install Debian's chromium (apt-get install chromium)", file=sys.stderr)
        return 2
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        shutil.copytree(ROOT / "chapters", work / "chapters")
        from PIL import Image

        from fer_utils.sample import sample_photos

        photo = work / "my-photo.png"
        Image.fromarray(next(iter(sample_photos().values()))).save(photo)
        port, token = free_port(), secrets.token_hex(16)
        with open(work / "lab.log", "w") as log:
            lab = start_lab(work, port, token, log)
            failed = False
            try:
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=args.chromium,
                                                args=["--no-sandbox", "--disable-gpu"])
                    page = browser.new_page(viewport={"width": 1400, "height": 1000})
                    page.goto(f"http://127.0.0.1:{port}/lab?token={token}")   # sets the cookie
                    base = f"http://127.0.0.1:{port}"
                    checks = (("chapter 6 explorer", lambda: check_explorer(page, base, args.screenshots)),
                              ("chapter 4 photo app", lambda: check_app(page, base, photo, args.screenshots)))
                    for name, check in checks:
                        print(name)
                        try:
                            check()
                        except Exception as exc:  # report every check, then fail
                            failed = True
                            print(f"  FAILED: {type(exc).__name__}: {str(exc)[:500]}")
                            if args.screenshots:
                                page.screenshot(path=str(args.screenshots / f"failed-{name.split()[1]}.png"))
                    browser.close()
            finally:
                lab.terminate()
                lab.wait(timeout=30)
        if failed:
            print((work / "lab.log").read_text()[-3000:])
    print("live widget checks:", "FAILED" if failed else "passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
