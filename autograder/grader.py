"""Score a submission: the one code path behind `grade`, Gradescope and `otter run`.

Hidden cases and the reference outputs are computed here, in the grading process; the
student's functions run in the sandbox (`autograder.sandbox`) and only their float64 outputs
come back. A function's share of its question's points is divided among its criteria
(`autograder.cases`); a criterion earns its points when every one of its cases passes, and
nothing otherwise. Feedback lists the criteria with pass or fail and, for a failed one, names
the failing stage (not attempted, raised, not a float array, wrong shape, not finite, not
close, modified an argument) and the kind of case, never the hidden inputs or expected values.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import solutions

from . import compare, sandbox, spec, written
from .cases import FUNCTIONS, Case, Tolerance, all_hidden_cases
from .submission import Submission, SubmissionError, load

if TYPE_CHECKING:
    from . import hints


MAX_CELL_NOTES = 12  # notes about failing cells, in a results file
NOTE_CHARS = 1000  # one note, as shown
OUTPUT_CHARS = 20_000  # one output of a results file: what no honest submission comes near


def _capped(text: str, limit: int = OUTPUT_CHARS) -> str:
    """`text`, cut to `limit` characters: a results file stays small whatever it reports."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass
class CriterionResult:
    """How one graded function did on the hidden cases of one of its criteria."""

    name: str
    max_points: float
    total: int
    failures: list[tuple[str, str]] = field(default_factory=list)  # (case label, reason)

    @property
    def passed(self) -> bool:
        """Every case passed (a criterion without cases never passes: it tests nothing)."""
        return self.total > 0 and not self.failures

    @property
    def points(self) -> float:
        """All or nothing: the criterion's points if every one of its cases passed."""
        return self.max_points if self.passed else 0.0


@dataclass
class FunctionResult:
    """How one graded function did on its hidden cases, criterion by criterion."""

    name: str
    max_points: float
    feedback: str
    criteria: list[CriterionResult] = field(default_factory=list)
    failing_cases: list[str] = field(default_factory=list)

    @property
    def points(self) -> float:
        return sum(c.points for c in self.criteria)

    @property
    def passed(self) -> int:
        """Hidden cases passed."""
        return self.total - len(self.failing_cases)

    @property
    def total(self) -> int:
        """Hidden cases."""
        return sum(c.total for c in self.criteria)


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
    confinement: str = ""  # the isolation layers student code ran under
    timeouts: list[str] = field(default_factory=list)  # what ran out of time, if anything
    written: dict[str, str] | None = None  # answers by question; None: submission unreadable
    mistakes: dict[str, str] = field(default_factory=dict)  # function: catalogued mistake
    case_kinds: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # [passed, total]
    limits: list[str] = field(default_factory=list)  # time and memory limits hit, and where

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
                    "output": _capped("\n".join(f.feedback for f in question.functions)),
                }
            )
        for name in spec.WRITTEN_QUESTIONS:
            answer = (self.written or {}).get(name)
            tests.append(
                {
                    "name": f"{name} written answer",
                    "score": 0,
                    "max_score": 0,
                    "visibility": "visible",
                    "output": written.gradescope_output(name, answer, self.written is not None),
                    "output_format": "md",
                }
            )
        lines = [f"Graded {self.origin}." if self.origin else ""]
        if self.error:
            lines.append(f"The submission could not be graded: {self.error}")
        lines += [_capped(note, NOTE_CHARS) for note in self.notes]
        return {
            "score": round(self.score, 4),
            "output": _capped("\n".join(line for line in lines if line)),
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
            "extra_data": {
                "error": self.error,
                "confinement": self.confinement,
                "mistakes": self.mistakes,
                "case_kinds": self.case_kinds,
                "limits": self.limits,
            },
        }

    def table(self) -> str:
        """A per-question table for the terminal."""
        rows = [f"{'question':<10}{'score':>8}{'max':>6}  feedback"]
        for q in self.questions:
            feedback = [line for f in q.functions for line in f.feedback.splitlines()]
            rows.append(f"{q.name:<10}{q.score:>8.2f}{q.max_score:>6g}  {feedback[0]}")
            rows += [f"{'':<26}{line}" for line in feedback[1:]]
        rows += [
            f"{name:<10}{'':>8}{'':>6}  written answer: graded by hand"
            for name in spec.WRITTEN_QUESTIONS
        ]
        rows.append(f"{'total':<10}{self.score:>8.2f}{self.max_score:>6g}")
        head = [f"Graded {self.origin}" if self.origin else "", *self.notes]
        if self.confinement:
            head.append(f"Student code ran under: {self.confinement}.")
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
        strict = FUNCTIONS[name].strict
        table[name] = [
            Expected(
                case,
                np.asarray(compare.call_on_copies(reference, case.args, False)[0], dtype=float),
                sandbox.Call(name, case.args, strict),
            )
            for case in cases
        ]
    return table


def judge(outcome: sandbox.Outcome, expected: Expected, tolerance: Tolerance) -> str | None:
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


def criterion_results(
    name: str, labels: list[str], failures: dict[int, str]
) -> list[CriterionResult]:
    """Group the verdicts on the hidden cases of `name` (case `i` has label ``labels[i]`` and
    failed with reason ``failures[i]``, if it failed) by criterion, in declaration order."""
    points = spec.criterion_points(name)
    results = {c: CriterionResult(c, points[c], 0) for c in points}
    for index, label in enumerate(labels):
        result = results[spec.criterion_of(name, label).name]
        result.total += 1
        if index in failures:
            result.failures.append((label, failures[index]))
    return list(results.values())


def points_text(value: float) -> str:
    """``0.5 points``, ``1 point``."""
    return f"{value:.3g} point" + ("" if value == 1 else "s")


def _function_feedback(name: str, criteria: list[CriterionResult], max_points: float) -> str:
    """One line for the function, then one per criterion: passed, or failed with the first
    failing case's kind and what went wrong."""
    failures = [f for c in criteria for f in c.failures]
    total = sum(c.total for c in criteria)
    reasons = {reason for _, reason in failures}
    if len(failures) == total and len(reasons) == 1:
        reason = next(iter(reasons))
        if reason.startswith("not attempted") or reason.startswith("is not defined"):
            return f"{name}: {reason}"
    earned = sum(c.points for c in criteria)
    lines = [f"{name}: {earned:.3g} of {points_text(max_points)}"]
    for c in criteria:
        if c.passed:
            lines.append(f"    passed: {c.name} ({points_text(c.max_points)})")
            continue
        if not c.failures:  # the build refuses this; never award what nothing tested
            lines.append(f"    FAILED: {c.name} ({points_text(c.max_points)}): no case tests it")
            continue
        label, reason = c.failures[0]
        lines.append(
            f"    FAILED: {c.name} ({points_text(c.max_points)}): {len(c.failures)} of {c.total} "
            f"cases failed; first failure, {label}: {reason}"
        )
    return "\n".join(lines)


def case_kind(label: str) -> str:
    """The kind of a hidden case, for pass rates across a class: ``random`` or the edge case."""
    return label.split(",")[0] if label.startswith("random") else label


def _kinds(expected: list[Expected], failed: set[int]) -> dict[str, list[int]]:
    """[passed, total] per kind of case, given the indices of the failing cases."""
    kinds: dict[str, list[int]] = {}
    for index, entry in enumerate(expected):
        counts = kinds.setdefault(case_kind(entry.case.label), [0, 0])
        counts[0] += index not in failed
        counts[1] += 1
    return kinds


def _limits_hit(report: sandbox.Report, functions: list[str]) -> list[str]:
    """Where the submission ran into a time or memory limit, one line each."""
    hit = [f"cell {index + 1} {why}" for index, why in sorted(report.skipped_cells.items())]
    hit += [
        f"cell {index + 1} raised {error}"
        for index, error in sorted(report.cell_errors.items())
        if error.startswith("MemoryError")
    ]
    for function, outcome in zip(functions, report.outcomes, strict=True):
        if outcome.status in ("timeout", "crashed"):
            line = f"{function}: {outcome.message}"
        elif outcome.error_type == "MemoryError":
            line = f"{function}: raised {outcome.message}"
        elif outcome.status == "skipped" and outcome.message.startswith("was not run: the "):
            line = f"{function} {outcome.message}"
        else:
            continue
        if line not in hit:
            hit.append(line)
    if len(hit) > MAX_CELL_NOTES:  # a submission may hit a limit in thousands of cells
        hit = hit[:MAX_CELL_NOTES] + [f"… and {len(hit) - MAX_CELL_NOTES} more"]
    return [_capped(line, NOTE_CHARS) for line in hit]


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
    start = time.monotonic()
    report = sandbox.run(submission.cells, calls, limits)
    missing_imports = _missing_imports(submission.cells, report.cell_errors)
    timeouts = []
    if time.monotonic() - start >= limits.budget_seconds:
        timeouts.append(f"the whole submission ({limits.budget_seconds:g} s)")
    timeouts += sorted(
        {
            name
            for (name, _), o in zip(owners, report.outcomes, strict=True)
            if o.status == "timeout"
        }
    )
    failures: dict[str, dict[int, str]] = {}
    signatures: dict[str, list[tuple[int, tuple]]] = {}
    for (name, index), outcome in zip(owners, report.outcomes, strict=True):
        expected = table[name][index]
        reason = judge(outcome, expected, FUNCTIONS[name].tolerance)
        if outcome.status == "not_defined" and name in missing_imports:
            reason = missing_imports[name]
        if reason is not None:
            failures.setdefault(name, {})[index] = reason
            signature = failure_signature(outcome, expected, FUNCTIONS[name].tolerance)
            if signature is not None:
                signatures.setdefault(name, []).append((index, signature))
    questions = []
    mistakes: dict[str, str] = {}
    case_kinds: dict[str, dict[str, list[int]]] = {}
    for question in spec.QUESTIONS:
        functions = []
        for name in question.functions:
            labels = [expected.case.label for expected in table[name]]
            failed = failures.get(name, {})
            criteria = criterion_results(name, labels, failed)
            text = _function_feedback(name, criteria, question.share)
            mistake = None
            if signatures.get(name):
                if known_mistakes is None:
                    from . import hints  # the catalogue is loaded only when something fails

                    known_mistakes = hints.Hints(table)
                mistake = known_mistakes.match(name, signatures[name][:8])
            if mistake:
                text += f"\n    Hint: {mistake.hint}"
                mistakes[name] = mistake.name
            case_kinds[name] = _kinds(table[name], set(failed))
            functions.append(
                FunctionResult(
                    name, question.share, text, criteria, [labels[i] for i in sorted(failed)]
                )
            )
        questions.append(QuestionResult(question.name, functions))
    graded = {n for q in spec.QUESTIONS for n in q.functions}
    cell_notes = [f"Cell {i + 1} was skipped: it {why}." for i, why in report.skipped_cells.items()]
    cell_notes += [
        f"Cell {index + 1} raised {error}"
        for index, error in report.cell_errors.items()
        if any(f"def {n}(" in submission.cells[index] for n in graded)
    ]
    cell_notes += [
        f"Cell {index + 1} raised {error}: {_NUMPY_ONLY}"
        for index, error in report.cell_errors.items()
        if error.startswith(("ModuleNotFoundError", "ImportError"))
        and not any(f"def {n}(" in submission.cells[index] for n in graded)
    ]
    cell_notes.sort(key=lambda note: int(note.split()[1]))
    if len(cell_notes) > MAX_CELL_NOTES:  # a submission may have thousands of failing cells
        more = len(cell_notes) - MAX_CELL_NOTES
        cell_notes = cell_notes[:MAX_CELL_NOTES] + [f"… and {more} more cells like these."]
    notes = list(submission.notes) + cell_notes
    return GradeReport(
        questions,
        origin=submission.origin,
        notes=notes,
        sandbox_peak_kb=report.peak_kb,
        confinement=report.confinement,
        timeouts=timeouts,
        written=submission.written,
        mistakes=mistakes,
        case_kinds=case_kinds,
        limits=_limits_hit(report, [name for name, _ in owners]),
    )


def empty_report(error: str) -> GradeReport:
    """Zero on every question, with the reason."""
    questions = [
        QuestionResult(
            q.name,
            [FunctionResult(n, q.share, f"{n}: not run") for n in q.functions],
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
