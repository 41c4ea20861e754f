"""Run the rendered public checks, through Otter's own test runner, against a notebook.

The build runs them on the solution and the stub notebooks; the mutation gate runs them on
every catalogued mistake and mutant.
"""

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import nbformat
import numpy as np
from otter.nbmeta_config import NBMetadataConfig
from otter.test_files import create_test_file

import solutions

from . import notebook


class ChecksWrong(Exception):
    """The public checks do not pass on the solution, or do not fail on the stubs."""


@dataclass(frozen=True)
class CheckOutcome:
    """One public test case run against one notebook."""

    question: str
    case: str
    passed: bool
    message: str


def notebook_functions(nb: nbformat.NotebookNode) -> dict:
    """Namespace of the graded functions a notebook defines (with ``np`` available).

    Only the cells that define graded functions are executed, so the result does not depend
    on the demos or on Otter's notebook client.
    """
    env: dict = {"np": np}
    for source in notebook.code_cells(nb):
        match = re.match(r"def (\w+)\(", source)
        if match and match.group(1) in solutions.GRADED:
            exec(compile(source, "<notebook cell>", "exec"), env)  # noqa: S102 - our own cells
    return env


def run_public_checks(env: dict, test_files: dict[str, str]) -> list[CheckOutcome]:
    """Run every public test file, through Otter's own test runner, against `env`."""
    outcomes = []
    with tempfile.TemporaryDirectory() as folder:
        for path, text in sorted(test_files.items()):
            file = Path(folder, path)
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(text, encoding="utf-8")
            test_file = create_test_file(str(file), NBMetadataConfig())
            test_file.run(env)
            outcomes += [
                CheckOutcome(test_file.name, r.test_case.name, r.passed, r.message or "")
                for r in test_file.test_case_results
            ]
    return outcomes


def verify_public_checks(
    student: nbformat.NotebookNode, solution: nbformat.NotebookNode, test_files: dict[str, str]
) -> None:
    """Every public case passes on the solution and fails, as not attempted, on the stubs."""
    problems = [
        f"fails on the solution: {o.question} / {o.case}\n{o.message}"
        for o in run_public_checks(notebook_functions(solution), test_files)
        if not o.passed
    ]
    problems += [
        f"does not report the stub as not attempted: {o.question} / {o.case}"
        for o in run_public_checks(notebook_functions(student), test_files)
        if o.passed or "not attempted" not in o.message
    ]
    if problems:
        raise ChecksWrong("\n".join(problems))
