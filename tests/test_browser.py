"""A student's path, in JupyterLab in headless Chromium: open the student notebook from a
folder that holds another notebook and a copy of this one, run it, fill in the functions
with a mistake first, read each check, fix, write the answers, export, download the zip by
its link, and grade that zip as Gradescope does. Screenshots of every step, the downloaded
zip and its results.json go to ``tests/output/browser/`` (git-ignored).

Needs Debian's ``chromium`` (``.ci/run`` installs it with apt) and the dev extras (JupyterLab,
Playwright); elsewhere the test is skipped with the reason. Nothing is downloaded: Playwright
drives the system Chromium, and JupyterLab serves MathJax from its own files.
"""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import CHROMIUM_FLAGS, unavailable

from autograder import spec, variants, wording
from autograder.release import notebook, package

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = notebook.ROOT / "tests" / "output" / "browser"
RUN_ALL_SECONDS = 180
NOTEBOOK = ".jp-NotebookPanel:not(.lm-mod-hidden)"  # the notebook in the visible tab
FOLDER = "week5"  # where the notebooks sit, below the server's root
COPY = "disc05 copy.ipynb"
FULL = sum(q.points for q in spec.QUESTIONS)
ALL_FUNCTIONS = [f for q in spec.QUESTIONS for f in q.functions]
ANSWERS = {
    "q1a": "Each layer multiplies the gradient by at most 1/4, so it shrinks like 4^-L.",
    "q1c": "The skip adds the identity to each block's Jacobian, so the product keeps it.",
    "q2c": "Every feature ends up with the same norm, as batch normalisation would give.",
}

pytestmark = pytest.mark.slow

if not CHROMIUM.exists():
    unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)", module=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="needs the dev extras (Playwright)")
pytest.importorskip("jupyterlab", reason="needs the dev extras (JupyterLab)")

from test_gradescope import autograder_tree, run_autograder  # noqa: E402 - after the skips


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, test_files):
    """JupyterLab on 127.0.0.1 with a token, serving a folder whose ``week5/`` holds the student
    notebook and, as students' folders often do, another notebook and a copy of this one."""
    root = tmp_path_factory.mktemp("lab")
    folder = root / "work" / FOLDER
    folder.mkdir(parents=True)
    nbformat.write(notebook.build_notebook("student", test_files), folder / spec.NOTEBOOK_NAME)
    nbformat.write(nbformat.v4.new_notebook(), folder / "scratch.ipynb")
    shutil.copy(folder / spec.NOTEBOOK_NAME, folder / COPY)
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
            f"--ServerApp.root_dir={root / 'work'}",
            "--LabApp.news_url=",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--LabApp.extension_manager=readonly",  # never asks PyPI for extensions
            "--allow-root",  # CI runs as root
        ],
        cwd=root / "work",
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


class Student:
    """What a student does in the page, step by step, with a screenshot of each."""

    def __init__(self, page, cells):
        self.page, self.cells, self.shots = page, cells, 0

    def screenshot(self, what: str, cell=None) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        if cell is not None:
            cell.scroll_into_view_if_needed()
        self.shots += 1
        self.page.screenshot(path=SCREENSHOTS / f"{self.shots:02d}-{what}.png")

    def cell(self, index: int):
        return self.cells.nth(index)

    def write(self, index: int, text: str) -> None:
        """Replace the text of a cell, as typed into its editor."""
        cell = self.cell(index)
        if "jp-MarkdownCell" in (cell.get_attribute("class") or ""):
            cell.locator(".jp-MarkdownOutput").dblclick()
        editor = cell.locator(".cm-content")
        editor.click()
        self.page.keyboard.press("Control+a")
        self.page.keyboard.insert_text(text)
        self.page.keyboard.press("Escape")  # back to command mode

    def run(self, index: int) -> None:
        """Run one cell (Ctrl+Enter) and wait until it has finished."""
        cell = self.cell(index)
        prompt = cell.locator(".jp-InputPrompt").first
        before = prompt.inner_text()
        prompt.click()
        self.page.keyboard.press("Control+Enter")
        if "jp-MarkdownCell" in (cell.get_attribute("class") or ""):
            cell.locator(".jp-MarkdownOutput").wait_for()
            return
        prompt.element_handle().wait_for_element_state("visible")
        self.page.wait_for_function(
            "([prompt, before]) => !prompt.textContent.includes('*')"
            " && /\\d/.test(prompt.textContent) && prompt.textContent !== before",
            arg=[prompt.element_handle(), before],
            timeout=60_000,
        )

    def run_all(self, name: str) -> None:
        """Run → Run All Cells, and wait until every cell has run."""
        self.page.get_by_role("menuitem", name="Run", exact=True).click()
        self.page.get_by_text("Run All Cells", exact=True).click()
        try:
            self.page.wait_for_function(
                "() => ![...document.querySelectorAll('.jp-InputPrompt')]"
                ".some(p => p.textContent.includes('*'))",
                timeout=RUN_ALL_SECONDS * 1000,
                polling=500,
            )
            self.page.get_by_text(re.compile(r"\| Idle$")).wait_for(timeout=60_000)
        except sync_api.TimeoutError:
            self.screenshot(f"{name}-timed-out")
            raise

    def output(self, index: int) -> str:
        return self.cell(index).locator(".jp-OutputArea-output").inner_text().strip()

    def dirty(self) -> bool:
        return self.page.locator(".lm-TabBar-tab.jp-mod-dirty").count() > 0


def check_lines(student: Student, index: int) -> list[str]:
    return student.output(index).splitlines()


# Whether a block of text wraps only between words: for each visual line break inside one
# line of the output, the characters on both sides of it.
WRAPS = """pre => {
    const breaks = [], wrapped = [];
    for (const line of pre.querySelectorAll("div")) {
        const node = line.firstChild;
        if (!node) continue;
        const text = node.textContent, range = document.createRange();
        let top = null, lines = 1;
        for (let i = 0; i < text.length; i++) {
            range.setStart(node, i);
            range.setEnd(node, i + 1);
            const rects = range.getClientRects();
            if (!rects.length) continue;
            const here = rects[rects.length - 1].top;
            if (top !== null && here > top + 2) {
                lines += 1;
                breaks.push(text.slice(Math.max(0, i - 1), i + 1));
            }
            top = here;
        }
        wrapped.push(lines);
    }
    return {breaks, wrapped};
}"""


def indices(built: nbformat.NotebookNode) -> dict[str, int]:
    """Where each cell a student touches is in the notebook, by what it is."""
    found: dict[str, int] = {}
    stubs = {notebook.stub_source(name): name for name in ALL_FUNCTIONS}
    for index, cell in enumerate(built.cells):
        text = cell.source
        check = re.fullmatch(r'grader\.check\("(\w+)"\)', text.strip())
        written = re.match(r"<!-- disc05: written (\w+) -->", text)
        if cell.cell_type == "code" and text in stubs:
            found[stubs[text]] = index
        elif check:
            found[f"check {check.group(1)}"] = index
        elif written:
            found[f"answer {written.group(1)}"] = index
        elif text.startswith("# @title Setup"):
            found["setup"] = index
        elif "grader.export(" in text:
            found["export"] = index
    found["install"] = next(i for i, c in enumerate(built.cells) if c.cell_type == "code")
    return found


def test_a_student_s_path_from_opening_to_a_full_score_on_gradescope(
    browser, lab, test_files, sandbox_runtime, tmp_path
):
    base, token, folder = lab
    at = indices(notebook.build_notebook("student", test_files))
    page = browser.new_page(viewport={"width": 1100, "height": 900}, accept_downloads=True)
    path = f"{FOLDER}/{spec.NOTEBOOK_NAME}"
    page.goto(f"{base}/lab/workspaces/student/tree/{path}?token={token}")  # this notebook only
    panel = page.locator(NOTEBOOK)
    panel.locator(".jp-MarkdownOutput").first.wait_for(timeout=60_000)
    page.get_by_text(re.compile(r"\| Idle$")).wait_for(timeout=60_000)  # the kernel is ready
    student = Student(page, panel.locator(".jp-Notebook .jp-Cell"))

    # 1. Opened, nothing touched: not marked modified, once the kernel has said what it is.
    time.sleep(2)
    student.screenshot("opened", student.cell(0))
    assert not student.dirty(), "the notebook is marked modified before anything is touched"

    # Formulas are typeset by MathJax, with no raw TeX left; the block's figure is drawn.
    text = "\n".join(panel.locator(".jp-MarkdownOutput").all_inner_texts())
    assert "$$" not in text and "\\frac" not in text
    assert "Math Processing Error" not in panel.inner_text()
    assert panel.locator("mjx-container").count() > 20
    figure = panel.locator("img[src^='data:image/svg+xml']")
    assert figure.count() == 1
    assert figure.evaluate("img => img.complete && img.naturalWidth > 0")
    student.screenshot("figure", figure)

    # 2. The setup cell is collapsed; unfolded, it is a dozen short lines and the data line.
    setup = student.cell(at["setup"])
    placeholder = setup.locator(".jp-InputPlaceholder")
    assert placeholder.count() == 1 and "PUBLIC_CHECKS" not in setup.inner_text()
    placeholder.click()
    setup.locator(".cm-line").first.wait_for()
    assert setup.locator(".cm-line").count() <= 20
    student.screenshot("setup-unfolded", setup)

    # 3. grader.check before the setup cell has run: one line saying to run it.
    student.run(at["install"])
    install_output = student.output(at["install"])
    assert install_output.count("\n") == 0 and "Python 3." in install_output
    student.run(at["check q1a"])
    (line,) = check_lines(student, at["check q1a"])
    assert line.startswith("grader.check is not ready: run the setup cell")
    student.screenshot("check-before-setup", student.cell(at["check q1a"]))

    # 4. Run All on the stubs: each check says "not attempted", one line per function.
    student.run_all("stubs")
    for question in spec.QUESTIONS:
        assert check_lines(student, at[f"check {question.name}"]) == [
            f"{wording.NOT_ATTEMPTED_MARK} {f}: not attempted yet" for f in question.functions
        ]
    assert panel.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    student.screenshot("stubs-checked", student.cell(at["check q1a"]))
    first_export = panel.locator(".jp-OutputArea-output a[download]").get_attribute("download")

    # 5. The textbook sigmoid first: its check fails, with the hint on a line of its own, and
    # the output wraps between words only.
    slip = next(m for m in variants.MISTAKES if m.name.startswith("the textbook formula"))
    student.write(at["sigmoid"], slip.source)
    student.run(at["sigmoid"])
    student.run(at["check q1a"])
    lines = check_lines(student, at["check q1a"])
    assert lines[0].startswith(f"{wording.FAILED_MARK} sigmoid: 2-D input of huge |x|"), lines
    assert lines[1] == f"Hint: {slip.hint}" and "np.where" in lines[1]
    assert lines[2:] == [
        f"{wording.NOT_ATTEMPTED_MARK} {f}: not attempted yet"
        for f in ("sigmoid_grad", "max_sigmoid_grad")
    ]
    shown = student.cell(at["check q1a"]).locator("pre.disc05-check")
    style = shown.evaluate(
        "pre => [getComputedStyle(pre).whiteSpace, getComputedStyle(pre).wordBreak]"
    )
    assert style == ["pre-wrap", "normal"]
    wraps = shown.evaluate(WRAPS)
    assert max(wraps["wrapped"]) > 1, "the hint is short enough not to wrap here: widen nothing"
    assert all(" " in pair for pair in wraps["breaks"]), wraps["breaks"]
    student.screenshot("mistake-checked", student.cell(at["check q1a"]))

    # 6. Fixed: every function from the answer key, each check run after its functions.
    for question in spec.QUESTIONS:
        for function in question.functions:
            student.write(at[function], notebook.reference_source(function))
            student.run(at[function])
        student.run(at[f"check {question.name}"])
        lines = check_lines(student, at[f"check {question.name}"])
        assert len(lines) == len(question.functions)
        assert all(line.startswith(wording.PASSED_MARK) for line in lines), lines
    student.screenshot("fixed-q1a", student.cell(at["check q1a"]))

    # 7. The three written answers, typed in place of the placeholder.
    for question, answer in ANSWERS.items():
        box = f"<!-- disc05: written {question} -->\n**Your answer ({question}):**\n\n{answer}"
        student.write(at[f"answer {question}"], box)
        student.run(at[f"answer {question}"])
        assert answer in student.cell(at[f"answer {question}"]).inner_text()
    student.screenshot("answered", student.cell(at["answer q2c"]))

    # 8. Saved (File → Save, Ctrl+S), then a copy beside it saved later still, then Run All.
    page.keyboard.press("Control+s")
    page.wait_for_function(
        "() => !document.querySelector('.lm-TabBar-tab.jp-mod-dirty')", timeout=30_000
    )
    saved = json.loads((folder / spec.NOTEBOOK_NAME).read_text(encoding="utf-8"))
    sources = ["".join(c["source"]) for c in saved["cells"]]
    for function in ALL_FUNCTIONS:  # typed in exactly as written
        assert sources[at[function]] == notebook.reference_source(function), function
    later = time.time() + 3600
    os.utime(folder / COPY, (later, later))
    student.run_all("done")
    for question in spec.QUESTIONS:
        lines = check_lines(student, at[f"check {question.name}"])
        assert len(lines) == len(question.functions)
        assert all(line.startswith(wording.PASSED_MARK) for line in lines), lines
    plots = panel.locator(".jp-RenderedImage img")
    assert plots.count() == 2
    assert all(plots.nth(i).evaluate("img => img.naturalWidth > 300") for i in range(2))
    student.screenshot("gradient-norms", plots.nth(0))
    student.screenshot("dropout-training", plots.nth(1))
    printed = "\n".join(panel.locator(".jp-OutputArea-output").all_inner_texts())
    assert "inside that range, they agree" in printed and "Demo skipped" not in printed
    assert panel.locator("[data-mime-type='application/vnd.jupyter.stderr']").count() == 0

    # 9. The export: one line naming the zip and the notebook it holds, which is this one.
    link = student.cell(at["export"]).locator(".jp-OutputArea-output a[download]")
    page.wait_for_function(
        "([link, first]) => link.getAttribute('download') !== first",
        arg=[link.element_handle(), first_export],
    )
    zip_name = link.get_attribute("download")
    assert re.fullmatch(r"disc05_\d{4}_\d\d_\d\dT\d\d_\d\d_\d\d_\d+\.zip", zip_name), zip_name
    said = student.output(at["export"])
    assert said.count("\n") == 0 and said.startswith(
        f"Wrote {zip_name} beside {spec.NOTEBOOK_NAME}"
    )
    student.screenshot("exported", student.cell(at["export"]))

    # 10. Its link downloads the zip.
    with page.expect_download(timeout=30_000) as started:
        link.click()
    download = started.value
    assert download.failure() is None, download.failure()
    assert download.suggested_filename == zip_name
    received = SCREENSHOTS / zip_name
    download.save_as(received)
    student.screenshot("downloaded", student.cell(at["export"]))
    with zipfile.ZipFile(received) as archive:
        names = archive.namelist()
        assert [n for n in names if n.endswith(".ipynb")] == [spec.NOTEBOOK_NAME], names
        assert ".OTTER_LOG" not in names
        held = archive.read(spec.NOTEBOOK_NAME)
    assert held == (folder / spec.NOTEBOOK_NAME).read_bytes()  # the running one, as saved
    assert held != (folder / COPY).read_bytes()

    # 11. Graded as Gradescope grades it: the autograder zip, run_autograder, results.json.
    autograder_zip = tmp_path / "disc05-autograder.zip"
    autograder_zip.write_bytes(package.autograder_zip(test_files))
    results = run_autograder(autograder_tree(tmp_path, autograder_zip, received))
    (SCREENSHOTS / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    assert results["score"] == pytest.approx(FULL), results["output"]
    assert f"Graded {spec.NOTEBOOK_NAME} in {zip_name}." in results["output"]
    written = {t["name"]: t["output"] for t in results["tests"] if "written" in t["name"]}
    for question, answer in ANSWERS.items():
        assert answer in written[wording.WRITTEN_TEST.format(question=question)]
    page.close()
