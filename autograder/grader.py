"""Score a submission: the one code path behind `grade`, Gradescope and `otter run`.

Hidden cases and the reference outputs are computed here, in the grading process; the
student's functions run in the sandbox (`autograder.sandbox`) and only their float64 outputs
come back. Each function earns its share of its question's points in proportion to the
cases it passes. Feedback names the failing stage (not attempted, raised, not a float array,
wrong shape, not finite, not close, modified an argument) and the kind of case, never the
hidden inputs or expected values.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import solutions

from . import compare, sandbox, spec
from .cases import Case, all_hidden_cases
from .submission import Submission, SubmissionError, load

if TYPE_CHECKING:
    from . import hints


@dataclass
class FunctionResult:
    """How one graded function did on its hidden cases."""

    name: str
    passed: int
    total: int
    max_points: float
    feedback: str
    failing_cases: list[str] = field(default_factory=list)

    @property
    def points(self) -> float:
        return self.max_points * self.passed / self.total


@dataclass
class QuestionResult:
    name: str
    functions: list[FunctionResult]

    @property
    def score(self) -> float:
        return sum(f.points for f in self.functions)

    @property
    def max_score(self) -> float:
        return sum(f.max_points for f in self.functions)


@dataclass
class GradeReport:
    """Everything the grader concluded about one submission."""

    questions: list[QuestionResult]
    origin: str = ""
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    seconds: float = 0.0
    sandbox_peak_kb: int = 0  # largest resident size of the sandboxed process

    @property
    def score(self) -> float:
        return sum(q.score for q in self.questions)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions)

    def to_gradescope(self) -> dict:
        """results.json in Gradescope's format: one test per question, plus written parts."""
        tests = []
        for question in self.questions:
            tests.append(
                {
                    "name": question.name,
                    "score": round(question.score, 4),
                    "max_score": question.max_score,
                    "visibility": "visible",
                    "output": "\n".join(f.feedback for f in question.functions),
                }
            )
        for name in spec.WRITTEN_QUESTIONS:
            tests.append(
                {
                    "name": f"{name} written answer",
                    "score": 0,
                    "max_score": 0,
                    "visibility": "visible",
                    "output": "Graded by hand; the points appear once staff have graded it.",
                }
            )
        lines = [f"Graded {self.origin}." if self.origin else ""]
        if self.error:
            lines.append(f"The submission could not be graded: {self.error}")
        lines += self.notes
        return {
            "score": round(self.score, 4),
            "output": "\n".join(line for line in lines if line),
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
            "extra_data": {"error": self.error},
        }

    def table(self) -> str:
        """A per-question table for the terminal."""
        rows = [f"{'question':<10}{'score':>8}{'max':>6}  feedback"]
        for q in self.questions:
            feedback = [line for f in q.functions for line in f.feedback.splitlines()]
            rows.append(f"{q.name:<10}{q.score:>8.2f}{q.max_score:>6g}  {feedback[0]}")
            rows += [f"{'':<26}{line}" for line in feedback[1:]]
        rows.append(f"{'total':<10}{self.score:>8.2f}{self.max_score:>6g}")
        head = [f"Graded {self.origin}" if self.origin else "", *self.notes]
        if self.error:
            head.append(f"Could not grade: {self.error}")
        return "\n".join([*(h for h in head if h), *rows])


@dataclass(frozen=True)
class Expected:
    """A hidden case, the reference output for it, and the call that asks a student's function
    for it: all computed once, and reused for every submission of a batch."""

    case: Case
    value: np.ndarray
    call: sandbox.Call


def expected_outputs() -> dict[str, list[Expected]]:
    """Reference outputs on every hidden case, keyed by function."""
    table = {}
    for name, cases in all_hidden_cases().items():
        reference = solutions.GRADED[name]
        strict = name in spec.STRICT_WARNINGS
        table[name] = [
            Expected(
                case,
                np.asarray(compare.call_on_copies(reference, case.args, False)[0], dtype=float),
                sandbox.Call(name, case.args, strict),
            )
            for case in cases
        ]
    return table


def judge(outcome: sandbox.Outcome, expected: Expected, tolerance: spec.Tolerance) -> str | None:
    """Why one call failed, in one line, or None if it passed."""
    if outcome.status == "not_attempted":
        return "not attempted (it still raises NotImplementedError)"
    if outcome.status == "error":
        return f"raised {outcome.message}"
    if outcome.status != "ok":
        return outcome.message
    problem = compare.mismatch(
        outcome.value, expected.value, tolerance.rtol, tolerance.atol, digits=1
    )
    if problem:
        return problem
    if outcome.modified:
        return "modified one of its arguments (work on a copy instead)"
    return None


def failure_signature(outcome: sandbox.Outcome, expected: Expected, tolerance) -> tuple | None:
    """How a student's call failed, in the terms catalogued mistakes are matched on."""
    from .hints import failure_of

    if outcome.status == "error":
        return ("raised", outcome.error_type)
    if outcome.status == "unconvertible":
        return ("raised", "unconvertible")
    if outcome.status != "ok":
        return None
    return failure_of(outcome.value, None, outcome.modified, expected.value, tolerance)


def _function_feedback(name: str, failures: list[tuple[str, str]], total: int) -> str:
    passed = total - len(failures)
    if not failures:
        return f"{name}: {passed}/{total} cases passed"
    reasons = {reason for _, reason in failures}
    if passed == 0 and len(reasons) == 1:
        reason = next(iter(reasons))
        if reason.startswith("not attempted") or reason.startswith("is not defined"):
            return f"{name}: {reason}"
    label, reason = failures[0]
    more = f" ({len(failures)} failing cases)" if len(failures) > 1 else ""
    return f"{name}: {passed}/{total} cases passed{more}; first failure, {label}: {reason}"


_NUMPY_ONLY = "only numpy and Python's standard library are available: use numpy only"


def _missing_imports(cells: list[str], cell_errors: dict[int, str]) -> dict[str, str]:
    """Why a graded function is missing when the cell defining it failed to import a module."""
    reasons = {}
    for index, error in cell_errors.items():
        if error.startswith(("ModuleNotFoundError", "ImportError")):
            for name in solutions.GRADED:
                if f"def {name}(" in cells[index]:
                    reasons[name] = (
                        f"is not defined: the cell that defines it raised {error} ({_NUMPY_ONLY})"
                    )
    return reasons


def score(
    submission: Submission,
    table: dict[str, list[Expected]] | None = None,
    limits=spec.LIMITS,
    known_mistakes: "hints.Hints | None" = None,
) -> GradeReport:
    """Grade loaded code against the hidden cases."""
    table = table or expected_outputs()
    calls, owners = [], []
    for question in spec.QUESTIONS:
        for name in question.functions:
            for index, expected in enumerate(table[name]):
                calls.append(expected.call)
                owners.append((name, index))
    report = sandbox.run(submission.cells, calls, limits)
    missing_imports = _missing_imports(submission.cells, report.cell_errors)
    failures: dict[str, list[tuple[str, str]]] = {}
    signatures: dict[str, list[tuple[int, tuple]]] = {}
    for (name, index), outcome in zip(owners, report.outcomes, strict=True):
        expected = table[name][index]
        reason = judge(outcome, expected, spec.TOLERANCES[name])
        if outcome.status == "not_defined" and name in missing_imports:
            reason = missing_imports[name]
        if reason is not None:
            failures.setdefault(name, []).append((expected.case.label, reason))
            signature = failure_signature(outcome, expected, spec.TOLERANCES[name])
            if signature is not None:
                signatures.setdefault(name, []).append((index, signature))
    questions = []
    for question in spec.QUESTIONS:
        functions = []
        for name in question.functions:
            total = len(table[name])
            failed = failures.get(name, [])
            text = _function_feedback(name, failed, total)
            hint = None
            if signatures.get(name):
                if known_mistakes is None:
                    from . import hints  # the catalogue is loaded only when something fails

                    known_mistakes = hints.Hints(table)
                hint = known_mistakes.hint(name, signatures[name][:8])
            if hint:
                text += f"\n    Hint: {hint}"
            functions.append(
                FunctionResult(
                    name, total - len(failed), total, question.share, text, [c for c, _ in failed]
                )
            )
        questions.append(QuestionResult(question.name, functions))
    notes = list(submission.notes)
    for index, why in sorted(report.skipped_cells.items()):
        notes.append(f"Cell {index + 1} was skipped: it {why}.")
    graded = {n for q in spec.QUESTIONS for n in q.functions}
    for index, error in sorted(report.cell_errors.items()):
        if any(f"def {n}(" in submission.cells[index] for n in graded):
            notes.append(f"Cell {index + 1} raised {error}")
        elif error.startswith(("ModuleNotFoundError", "ImportError")):
            notes.append(f"Cell {index + 1} raised {error}: {_NUMPY_ONLY}")
    return GradeReport(
        questions, origin=submission.origin, notes=notes, sandbox_peak_kb=report.peak_kb
    )


def empty_report(error: str) -> GradeReport:
    """Zero on every question, with the reason."""
    questions = [
        QuestionResult(
            q.name,
            [FunctionResult(n, 0, 1, q.share, f"{n}: not graded") for n in q.functions],
        )
        for q in spec.QUESTIONS
    ]
    return GradeReport(questions, error=error)


def grade(
    path: Path,
    table: dict[str, list[Expected]] | None = None,
    limits=spec.LIMITS,
    known_mistakes: "hints.Hints | None" = None,
) -> GradeReport:
    """Load and grade the submission at `path`; a broken submission gets a report, not an error."""
    start = time.monotonic()
    try:
        submission = load(path)
    except SubmissionError as error:
        report = empty_report(str(error))
    else:
        report = score(submission, table, limits, known_mistakes)
    report.seconds = time.monotonic() - start
    return report
