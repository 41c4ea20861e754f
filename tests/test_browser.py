"""What a student sees: the student notebook opened in JupyterLab, in headless Chromium, run
from top to bottom. Screenshots go to ``tests/output/browser/`` (git-ignored).

Needs Debian's ``chromium`` (``.ci/run`` installs it with apt) and the dev extras (JupyterLab,
Playwright); elsewhere the test is skipped with the reason. Nothing is downloaded: Playwright
drives the system Chromium, and JupyterLab serves MathJax from its own files.
"""

import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from conftest import CHROMIUM_FLAGS, unavailable

from autograder import spec, wording
from autograder.release import notebook, public_checks

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = notebook.ROOT / "tests" / "output" / "browser"
RUN_ALL_SECONDS = 180
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in the visible tab

pytestmark = pytest.mark.slow

if not CHROMIUM.exists():
    unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)", module=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the dev extras (Playwright)")
pytest.importorskip("jupyterlab", reason="needs the dev extras (JupyterLab)")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on 127.0.0.1 with a token, serving a folder that holds the student notebook
    (and, as students' folders often do, another notebook)."""
    root = tmp_path_factory.mktemp("lab")
    folder = root / "work"
    folder.mkdir()
    test_files = public_checks.render_all()
    nbformat.write(notebook.build_notebook("student", test_files), folder / spec.NOTEBOOK_NAME)
    nbformat.write(nbformat.v4.new_notebook(), folder / "scratch.ipynb")
    # The same notebook once a student has done everything: the demos draw their figures.
    (folder / "done").mkdir()
    solution = notebook.build_notebook("solution", test_files)
    nbformat.write(solution, folder / "done" / spec.NOTEBOOK_NAME)
    settings = root / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True)
    # Render every cell, so that the page holds the whole notebook for the assertions.
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    notifications = root / "settings" / "@jupyterlab" / "apputils-extension"
    notifications.mkdir(parents=True)
    (notifications / "notification.jupyterlab-settings").write_text(
        json.dumps({"fetchNews": "false", "checkForUpdates": False})
    )
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"),
    }
    port, token = _free_port(), secrets.token_hex(16)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            f"--IdentityProvider.token={token}",
            f"--ServerApp.root_dir={folder}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",  # never asks PyPI for extensions
            "--allow-root",  # CI runs as root
        ],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(root / "jupyterlab.log").open("w"),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            if server.poll() is not None:
                break
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=1)
                break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("JupyterLab did not start:\n" + (root / "jupyterlab.log").read_text())
        yield base, token, folder
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS
        )
        yield chromium
        chromium.close()


def open_and_run_all(browser, lab, path: str, name: str):
    """Open the notebook at `path` in JupyterLab, run all its cells, wait for the export link;
    return the page and the located export link."""
    base, token, _ = lab
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{base}/lab/workspaces/{name}/tree/{path}?token={token}")  # this notebook only
    page.locator(f"{NOTEBOOK} .jp-MarkdownOutput").first.wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"\| Idle$")).wait_for(timeout=60_000)  # the kernel is ready
    _screenshot(page, page.locator(f"{NOTEBOOK} .jp-Cell").first, f"{name}-01-opened")
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_text("Run All Cells", exact=True).click()
    exported = page.locator(f"{NOTEBOOK} .jp-OutputArea-output a[href$='.zip']")
    try:
        exported.wait_for(timeout=RUN_ALL_SECONDS * 1000)
        page.wait_for_function(
            "() => ![...document.querySelectorAll('.jp-InputPrompt')]"
            ".some(p => p.textContent.includes('*'))",
            timeout=RUN_ALL_SECONDS * 1000,
        )
    except sync_api.TimeoutError:
        page.screenshot(path=SCREENSHOTS / f"{name}-99-timed-out.png")
        raise
    return page, exported


def check_lines(cells, question: spec.Question) -> list[str]:
    cell = cells.filter(has_text=f'grader.check("{question.name}")')
    assert cell.count() == 1, question.name
    return cell.locator(".jp-OutputArea-output").inner_text().strip().splitlines()


def _screenshot(page, cell, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    cell.scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / f"{name}.png")


def test_student_notebook_runs_in_jupyterlab_and_reads_well(browser, lab):
    _, _, folder = lab
    page, exported = open_and_run_all(browser, lab, spec.NOTEBOOK_NAME, "student")
    notebook_panel = page.locator(NOTEBOOK)
    cells = notebook_panel.locator(".jp-Notebook .jp-Cell")

    # The setup cell is collapsed: students see a placeholder, not the embedded checks.
    setup = cells.filter(has=page.locator(".jp-InputPlaceholder"))
    assert setup.count() == 1
    assert "PUBLIC_CHECKS" not in setup.inner_text()
    _screenshot(page, setup, "student-01-setup-collapsed")
    install = cells.nth(1)
    install_output = install.locator(".jp-OutputArea-output").inner_text().strip()
    assert install_output.count("\n") == 0 and "Python 3." in install_output

    # Formulas are typeset by MathJax, with no raw TeX left and no MathJax error.
    markdown = notebook_panel.locator(".jp-MarkdownOutput")
    text = "\n".join(markdown.all_inner_texts())
    assert "$$" not in text and "\\frac" not in text
    assert "Math Processing Error" not in notebook_panel.inner_text()
    assert notebook_panel.locator("mjx-container").count() > 20

    # The residual block figure is shown (an embedded SVG, loaded and drawn).
    figure = notebook_panel.locator("img[src^='data:image/svg+xml']")
    assert figure.count() == 1
    assert figure.evaluate("img => img.complete && img.naturalWidth > 0")
    _screenshot(page, figure, "student-02-figure")

    # Each check prints one short line per function: on the stubs, "not attempted".
    for question in spec.QUESTIONS:
        lines = check_lines(cells, question)
        assert lines == [
            f"{wording.NOT_ATTEMPTED_MARK} {f}: not attempted yet" for f in question.functions
        ]
    _screenshot(page, cells.filter(has_text='grader.check("q1a")'), "student-03-check-q1a")

    # No cell shows a traceback, and the export link points to the zip it wrote.
    assert notebook_panel.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert notebook_panel.locator(".jp-OutputArea-output .ansi-red-fg").count() == 0
    href = exported.get_attribute("href")
    assert re.fullmatch(r"disc05_[\w-]+\.zip", Path(href).name), href
    assert (folder / Path(href).name).exists()
    _screenshot(page, exported, "student-04-export")
    page.close()


def test_finished_notebook_shows_passing_checks_and_both_demo_figures(browser, lab):
    page, exported = open_and_run_all(browser, lab, f"done/{spec.NOTEBOOK_NAME}", "solution")
    notebook_panel = page.locator(NOTEBOOK)
    cells = notebook_panel.locator(".jp-Notebook .jp-Cell")
    for question in spec.QUESTIONS:
        lines = check_lines(cells, question)
        assert len(lines) == len(question.functions)
        assert all(line.startswith(wording.PASSED_MARK) for line in lines), lines
    _screenshot(page, cells.filter(has_text='grader.check("q1a")'), "solution-02-check-q1a")
    plots = notebook_panel.locator(".jp-RenderedImage img")
    assert plots.count() == 2
    assert all(plots.nth(i).evaluate("img => img.naturalWidth > 300") for i in range(2))
    _screenshot(page, plots.nth(0), "solution-03-gradient-norms")
    _screenshot(page, plots.nth(1), "solution-04-dropout-training")
    printed = "\n".join(notebook_panel.locator(".jp-OutputArea-output").all_inner_texts())
    assert "inside that range, they agree" in printed and "Demo skipped" not in printed
    assert notebook_panel.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    _screenshot(page, exported, "solution-05-export")
    page.close()
