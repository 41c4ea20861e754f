"""Tests of this week's content, as opposed to the grading engine's: when one fails, it says
which file to update.

A test file that checks what this week's questions ask (the answer key's maths, what the
hidden cases of a question hold, the honest styles of this week's functions) marks itself
``pytestmark = pytest.mark.content``. Such a test fails only when that part of the assignment
changes; everything else reads the assignment from its records and passes whatever it
declares. The conftest takes the hook below.
"""

from pathlib import Path

import pytest


def note(file: str) -> str:
    """What a failing content test adds to its report."""
    return (
        f"tests/{file} checks this week's assignment, not the grading engine: if you changed "
        f"that part of the assignment on purpose, update tests/{file} to match it"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed and item.get_closest_marker("content") is not None:
        report.sections.append(("this week's content", note(Path(str(item.fspath)).name)))
