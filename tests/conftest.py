"""Shared fixtures: the release's notebooks as JSON, and a helper to write submissions."""

import json
import os
from pathlib import Path

import nbformat
import pytest
from content import pytest_runtest_makereport  # noqa: F401 - content tests name their file
from hypothesis import HealthCheck, settings

from autograder import grader, handout, sandbox
from autograder.release import notebook, public_checks

# Property-based tests: a short, derandomized run in the suite (the same inputs every run);
# HYPOTHESIS_PROFILE=campaign tries many more, at random (`python -m autograder fuzz`).
settings.register_profile(
    "suite",
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.register_profile(
    "campaign",
    max_examples=5000,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "suite"))


@pytest.fixture(scope="session")
def rendered_checks():
    return public_checks.render_all()


@pytest.fixture(scope="session")
def test_files(rendered_checks):
    return rendered_checks


@pytest.fixture(scope="session", autouse=True)
def release_record(rendered_checks) -> handout.Record:
    """The record the build ships with the autograder (`autograder.handout`), which every
    grading in the tests uses, as the command line does in a checkout."""
    student = notebook.build_notebook("student", rendered_checks)
    record = notebook.release_record(student)
    handout.use(record)
    return record


@pytest.fixture(scope="session")
def student_json(test_files) -> dict:
    return json.loads(nbformat.writes(notebook.build_notebook("student", test_files)))


@pytest.fixture(scope="session")
def solution_json(test_files) -> dict:
    return json.loads(nbformat.writes(notebook.build_notebook("solution", test_files)))


@pytest.fixture(scope="session")
def table():
    """Reference outputs on the hidden cases, computed once for the session."""
    return grader.expected_outputs()


def unavailable(reason: str, module: bool = False) -> None:
    """Skip a test that needs what this machine lacks; under CI (``CI=true``), whose set-up
    installs everything, fail instead, so that a broken install never passes as skips."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI should provide this: {reason}", pytrace=False)
    pytest.skip(reason, allow_module_level=module)


@pytest.fixture(scope="session")
def sandbox_runtime():
    """The sandbox interpreter; tests that grade are skipped with the reason if there is none
    (and fail under CI)."""
    try:
        return sandbox.runtime()
    except sandbox.SandboxUnavailable as error:
        unavailable(str(error))


# Headless Chromium as this machine kind runs it: no sandbox of its own (we are root), and no
# background connections (the network is closed).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def write_notebook(folder: Path, notebook_json: dict, name: str = "disc05.ipynb") -> Path:
    path = folder / name
    path.write_text(json.dumps(notebook_json), encoding="utf-8")
    return path


@pytest.fixture
def emulate(monkeypatch):
    """Grade as on a weaker platform: ``emulate("namespaces=off,landlock=4", weak=True)``."""

    def switch(platform: str, weak: bool = False) -> None:
        monkeypatch.setenv("DISC05_PLATFORM", platform)
        if weak:
            monkeypatch.setenv("DISC05_ALLOW_WEAK_ISOLATION", "1")
        sandbox.reset()

    yield switch
    monkeypatch.undo()
    sandbox.reset()


def _source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _commented(text: str, blank: str) -> str:
    return "\n".join(f"# {line}" if line else blank for line in text.split("\n"))


def as_script(notebook_json: dict, form: str) -> str:
    """The notebook as a .py file, written as the tools write it, without them: Jupytext's
    ``percent`` and ``light`` formats, or ``nbconvert --to script``."""
    pieces = []
    for number, cell in enumerate(notebook_json["cells"], 1):
        source = _source(cell)
        tags = cell.get("metadata", {}).get("tags", [])
        markdown = cell["cell_type"] == "markdown"
        if form == "percent":
            tagged = f" tags={json.dumps(tags)}" if tags else ""
            head = "# %% [markdown]" if markdown else f"# %%{tagged}"
            pieces.append(f"{head}\n{_commented(source, '#') if markdown else source}")
        elif form == "light":
            if markdown:
                pieces.append(_commented(source, "#"))
            elif "\n\n" in source or tags:
                tagged = f" tags={json.dumps(tags)}" if tags else ""
                pieces.append(f"# +{tagged}\n{source}\n# -")
            else:
                pieces.append(source)
        elif form == "nbconvert":
            code = f"# In[{number}]:\n\n\n{source}"
            pieces.append(_commented(source, "# ") if markdown else code)
        else:
            raise ValueError(form)
    if form == "nbconvert":
        return "#!/usr/bin/env python\n# coding: utf-8\n\n" + "\n\n\n".join(pieces) + "\n"
    return "\n\n".join(pieces) + "\n"
