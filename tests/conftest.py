"""Shared fixtures: the release's notebooks as JSON, and a helper to write submissions."""

import json
import os
from pathlib import Path

import nbformat
import pytest
from hypothesis import settings

from autograder import grader, sandbox
from autograder.release import notebook, public_checks

# Property-based tests: short and reproducible by default (the same examples every run, no
# example database written); HYPOTHESIS_PROFILE=campaign searches far longer, at random.
settings.register_profile("quick", max_examples=50, deadline=None, derandomize=True, database=None)
settings.register_profile(
    "campaign", max_examples=5_000, deadline=None, derandomize=False, database=None
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "quick"))


@pytest.fixture(scope="session")
def test_files():
    return public_checks.render_all()


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
