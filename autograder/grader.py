"""Score a submission: the one code path behind `grade`, Gradescope and `otter run`.

Hidden cases and the reference outputs are computed here, in the grading process; the
student's functions run in the sandbox (`autograder.sandbox`) and only their float64 outputs
come back, to be judged by `compare.judge`. A function's share of its question's points is
divided among its criteria (`autograder.cases`); a criterion earns its points when every one of
its cases passes, and nothing otherwise. Feedback (worded in `autograder.wording`) lists the
criteria with pass or fail and, for a failed one, names the failing stage (not attempted,
raised, not a float array, wrong shape, not finite, not close, modified an argument) and the
kind of case, never the hidden inputs or expected values. What it concludes is a
`results.GradeReport`.
"""

import functools
import inspect
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

import solutions

from . import compare, handout, sandbox, spec, wording
from .cases import FUNCTIONS, Case, all_hidden_cases
from .compare import Status, Verdict
from .results import (
    CriterionResult,
    FunctionResult,
    GradeReport,
    QuestionResult,
    capped,
    function_feedback,
    untouched,
)
from .submission import Submission, SubmissionError, graded_defined, load, place

if TYPE_CHECKING:
    from . import hints


@dataclass(frozen=True)
class Expected:
    """A hidden case, the reference output for it, the call that asks a student's function
    for it, and the docstring's promises that apply to it (`compare.broken_promises`): all
    computed once, and reused for every submission of a batch."""

    case: Case
    value: np.ndarray
    call: sandbox.Call
    promised: frozenset = frozenset()


def _promised(name: str, args: tuple, result: object) -> frozenset:
    """The requirements of `name` that apply on a case: unchanged arguments where one is an
    array, a Python float where the reference returns one, float64 always."""
    applies = {
        compare.UNCHANGED: any(isinstance(a, np.ndarray) for a in args),
        compare.FLOAT: isinstance(result, float),
        compare.FLOAT64: True,
    }
    return frozenset(r.promise for r in FUNCTIONS[name].requirements if applies[r.promise])


def expected_outputs() -> dict[str, list[Expected]]:
    """Reference outputs on every hidden case, keyed by function."""
    table = {}
    for name, cases in all_hidden_cases().items():
        reference = solutions.GRADED[name]
        strict = FUNCTIONS[name].strict
        rows = []
        for case in cases:
            result = compare.call_on_copies(reference, case.args, False)[0]
            value = np.asarray(result, dtype=float)
            call = sandbox.Call(name, case.args, strict)
            rows.append(Expected(case, value, call, _promised(name, case.args, result)))
        table[name] = rows
    return table


def _reference_value(name: str, args: list) -> object:
    """The reference's value of `name` on a stand-in's arguments, or None where it has none
    (arguments it does not take, say)."""
    try:
        result = compare.call_on_copies(solutions.GRADED[name], args, False)[0]
    except Exception:  # noqa: BLE001 - the student's code chose the arguments
        return None
    if isinstance(result, float):
        return float(result)
    array, problem = compare.as_float_array(result)
    return array if problem is None else None


@functools.cache
def reference() -> sandbox.Reference:
    """The stand-ins' reference: a graded function that calls one listed before it is judged
    with the reference's values in place of the student's (each mistake costs once)."""
    graded = tuple(
        (name, tuple(inspect.signature(solutions.GRADED[name]).parameters))
        for question in spec.QUESTIONS
        for name in question.functions
    )
    return sandbox.Reference(
        graded, _reference_value, {name: _argument_kinds(name) for name, _ in graded}
    )


def _argument_kinds(name: str) -> tuple[frozenset, ...]:
    """The kinds of argument `name`'s hidden cases pass, per parameter: ``"float"`` for a
    number, else an array's number of dimensions (what a stand-in answers for)."""
    found = FUNCTIONS[name].hidden_cases()
    arity = max((len(case.args) for case in found), default=0)
    return tuple(
        frozenset(
            "float" if not np.ndim(case.args[i]) else np.ndim(case.args[i])
            for case in found
            if i < len(case.args)
        )
        for i in range(arity)
    )


def stand_ins_allowed() -> bool:
    """Whether the release's policy lets the reference stand in for a function a later one
    calls (`spec.Policy.standins`)."""
    from . import policy

    return policy.release_policy(Path(__file__).resolve().parent.parent).standins


def judge_case(
    name: str, outcome: object, expected: Expected, digits: int = 1
) -> tuple[Verdict, set[str] | None]:
    """The verdict on the value of one call of `name` (`compare.judge`, values only) and the
    promises it broke (None when it returned no value): `GradedFunction.judge`."""
    return FUNCTIONS[name].judge(outcome, expected.value, expected.promised, digits)


def _promise_verdict(promise: str, form: str | None) -> Verdict:
    reason = wording.PROMISE_BROKEN[promise].format(form=wording.FORM_WORDS.get(form, form))
    return Verdict(Status.BROKEN_PROMISE, reason)


def criterion_results(
    name: str,
    labels: list[str],
    failures: dict[int, Verdict],
    broken: dict[int, set[str]] | None = None,
    promised: list[frozenset] | None = None,
    forms: dict[int, str | None] | None = None,
) -> list[CriterionResult]:
    """Group the verdicts on the hidden cases of `name` (case `i` has label ``labels[i]`` and
    failed with verdict ``failures[i]``, if it failed) by criterion, in declaration order;
    then judge its requirements on the cases whose value passed (``broken[i]``: the promises
    case `i` broke, of those ``promised[i]``; by default, every passing case, breaking none,
    and every requirement applies)."""
    points = spec.criterion_points(name)
    requirements = FUNCTIONS[name].requirements
    results = {c.name: CriterionResult(c.name, points[c.name], 0) for c in FUNCTIONS[name].criteria}
    for index, label in enumerate(labels):
        result = results[spec.criterion_of(name, label).name]
        result.total += 1
        if index in failures:
            result.failures.append((label, failures[index]))
    if broken is None:
        broken = {i: set() for i in range(len(labels)) if i not in failures}
    valued = any(r.passed for r in results.values())
    for requirement in requirements:
        result = CriterionResult(requirement.name, points[requirement.name], 0, requirement=True)
        for index in sorted(broken):
            if promised is not None and requirement.promise not in promised[index]:
                continue
            result.total += 1
            if requirement.promise in broken[index]:
                form = (forms or {}).get(index)
                result.failures.append((labels[index], _promise_verdict(requirement.promise, form)))
        result.withheld = not valued
        results[requirement.name] = result
    return list(results.values())


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


def _at_most(lines: list[str], more: str) -> list[str]:
    """The first `spec.MAX_CELL_NOTES` of `lines`, then how many more (a submission may fail in
    thousands of cells)."""
    if len(lines) <= spec.MAX_CELL_NOTES:
        return lines
    return lines[: spec.MAX_CELL_NOTES] + [more.format(count=len(lines) - spec.MAX_CELL_NOTES)]


def _ours(cell: str) -> bool:
    """Whether a code cell is one we wrote, unchanged (`autograder.handout`): it runs, as in
    the notebook (the setup cell imports numpy for the student's functions), but nothing that
    happens in it is the student's to hear about."""
    return handout.record().ours("code", cell)


def _theirs(cells: list[str], indices: dict[int, str]) -> list[tuple[int, str]]:
    """The entries of `indices` (cell index to what happened) about the student's cells."""
    return [(index, what) for index, what in sorted(indices.items()) if not _ours(cells[index])]


def _limits_hit(cells: list[str], report: sandbox.RunRecord, functions: list[str]) -> list[str]:
    """Where the submission ran into a time or memory limit, one line each."""
    hit = [
        wording.LIMIT_CELL.format(place=place(cells[index]), why=why)
        for index, why in _theirs(cells, report.skipped_cells)
    ]
    hit += [
        wording.LIMIT_CELL_RAISED.format(place=place(cells[index]), error=error)
        for index, error in _theirs(cells, report.cell_errors)
        if error.startswith("MemoryError")
    ]
    for function, outcome in zip(functions, report.outcomes, strict=True):
        if outcome.status in ("timeout", "crashed"):
            line = wording.LIMIT_CALL.format(function=function, message=outcome.message)
        elif outcome.error_type == "MemoryError":
            line = wording.LIMIT_CALL_RAISED.format(function=function, message=outcome.message)
        elif outcome.status == "stopped":
            line = wording.LIMIT_NOT_RUN.format(function=function, message=outcome.message)
        else:
            continue
        if line not in hit:
            hit.append(line)
    return [capped(line, spec.NOTE_CHARS) for line in _at_most(hit, wording.MORE_LIMITS)]


def _defines_graded(cell: str) -> bool:
    return bool(graded_defined(cell))


def _failed_import(error: str) -> bool:
    """Whether a cell's error (``Type: message``) is a failed import."""
    return error.startswith(("ModuleNotFoundError", "ImportError"))


def _missing_imports(cells: list[str], cell_errors: dict[int, str]) -> dict[str, str]:
    """Why a graded function is missing when the cell defining it failed to import a module."""
    reasons = {}
    for index, error in _theirs(cells, cell_errors):
        if _failed_import(error):
            for name in graded_defined(cells[index]):
                reasons[name] = wording.MISSING_IMPORT.format(error=error)
    return reasons


def _cell_notes(cells: list[str], report: sandbox.RunRecord, quiet: bool = False) -> list[str]:
    """Notes about the student's cells that were skipped, or that raised and define a graded
    function or failed to import a module, in cell order; each named as the student sees it
    (`submission.place`). Cells of ours are never spoken of. `quiet`: in fixed words, for
    results whose details are hidden (no line of the cell, no message: nothing the student's
    code chose, whatever it read while it ran)."""
    notes = [
        (
            index,
            wording.CELL_SKIPPED_QUIET.format(number=index + 1)
            if quiet
            else wording.CELL_SKIPPED.format(place=wording.opening(place(cells[index])), why=why),
        )
        for index, why in _theirs(cells, report.skipped_cells)
    ]
    for index, error in _theirs(cells, report.cell_errors):
        if _defines_graded(cells[index]):
            template = wording.CELL_RAISED
        elif _failed_import(error):
            template = wording.CELL_IMPORT_FAILED
        else:
            continue
        if quiet:
            notes.append((index, wording.CELL_RAISED_QUIET.format(number=index + 1)))
            continue
        shown = wording.opening(place(cells[index]))
        notes.append((index, template.format(place=shown, error=error)))
    notes.sort(key=lambda note: note[0])
    return _at_most([note for _, note in notes], wording.MORE_CELLS)


def score(
    submission: Submission,
    table: dict[str, list[Expected]] | None = None,
    limits=spec.LIMITS,
    known_mistakes: "hints.Hints | None" = None,
) -> GradeReport:
    """Grade loaded code against the hidden cases (`table`: `expected_outputs()`)."""
    table = table or expected_outputs()
    calls, owners = [], []
    for question in spec.QUESTIONS:
        for name in question.functions:
            for index, expected in enumerate(table[name]):
                calls.append(expected.call)
                owners.append((name, index))
    start = time.monotonic()
    report = sandbox.run(
        submission.cells, calls, limits, reference() if stand_ins_allowed() else None
    )
    out_of_time = time.monotonic() - start >= limits.budget_seconds
    missing_imports = _missing_imports(submission.cells, report.cell_errors)
    verdicts, promises = [], []
    for (name, index), outcome in zip(owners, report.outcomes, strict=True):
        verdict, broken = judge_case(name, outcome, table[name][index])
        if verdict.status == Status.NOT_DEFINED and name in missing_imports:
            verdict = verdict._replace(reason=missing_imports[name])
        verdicts.append(verdict)
        promises.append((broken, outcome.form))
    timeouts = []
    if out_of_time:
        timeouts.append(wording.WHOLE_SUBMISSION.format(seconds=limits.budget_seconds))
    timeouts += sorted(
        {name for (name, _), v in zip(owners, verdicts, strict=True) if v.status == Status.TIMEOUT}
    )
    failures: dict[str, dict[int, Verdict]] = {}
    broken: dict[str, dict[int, set[str]]] = {}
    forms: dict[str, dict[int, str | None]] = {}
    signatures: dict[str, list[tuple | None]] = {name: [] for name in table}
    standins: dict[str, set[str]] = {name: set() for name in table}
    for (name, _), outcome in zip(owners, report.outcomes, strict=True):
        standins[name].update(outcome.standins)
    for (name, index), verdict, (kept, form) in zip(owners, verdicts, promises, strict=True):
        if not verdict.passed:
            failures.setdefault(name, {})[index] = verdict
        if kept is not None:
            broken.setdefault(name, {})[index] = kept
            forms.setdefault(name, {})[index] = form
        signatures[name].append(compare.case_signature(verdict, kept))
    questions = []
    mistakes: dict[str, str] = {}
    case_kinds: dict[str, dict[str, list[int]]] = {}
    not_attempted = []
    earned: dict[str, float] = {}
    for question in spec.QUESTIONS:
        functions = []
        for name in question.functions:
            labels = [expected.case.label for expected in table[name]]
            failed = failures.get(name, {})
            promised = [expected.promised for expected in table[name]]
            criteria = criterion_results(
                name, labels, failed, broken.get(name, {}), promised, forms.get(name)
            )
            points = spec.function_points(name)
            earned[name] = sum(c.points for c in criteria)
            lost = tuple(  # earlier functions, already marked: did they lose points?
                callee
                for callee in sorted(standins[name])
                if earned.get(callee, 0.0) < spec.function_points(callee) - 1e-9
            )
            if untouched(criteria) is not None:
                not_attempted.append(name)
            mistake = None
            if any(s is not None for s in signatures[name]):
                if known_mistakes is None:
                    from . import hints  # the catalogue is loaded only when something fails

                    known_mistakes = hints.Hints(table)
                mistake = known_mistakes.match(name, signatures[name])
            hint = mistake.hint if mistake else None
            if mistake:
                mistakes[name] = mistake.name
            case_kinds[name] = _kinds(table[name], set(failed))
            text = function_feedback(name, criteria, points, lost, hint)
            failing = [labels[i] for i in sorted(failed)]
            functions.append(FunctionResult(name, points, text, criteria, failing, lost, hint))
        questions.append(QuestionResult(question.name, functions))
    return GradeReport(
        questions,
        origin=submission.origin,
        quiet_notes=list(submission.notes)
        + _cell_notes(submission.cells, report, quiet=True)
        + ([] if stand_ins_allowed() else [wording.STANDINS_OFF]),
        notes=list(submission.notes)
        + _cell_notes(submission.cells, report)
        + ([] if stand_ins_allowed() else [wording.STANDINS_OFF]),
        sandbox_peak_kb=report.peak_kb,
        confinement=report.confinement,
        timeouts=timeouts,
        written=submission.written,
        mistakes=mistakes,
        case_kinds=case_kinds,
        limits=_limits_hit(submission.cells, report, [name for name, _ in owners]),
        not_attempted=not_attempted,
    )


def empty_report(error: str) -> GradeReport:
    """Zero on every question, with the reason."""
    questions = [
        QuestionResult(
            q.name,
            [
                FunctionResult(n, spec.function_points(n), wording.NOT_RUN.format(name=n))
                for n in q.functions
            ],
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
    try:
        submission = load(path)
    except SubmissionError as error:
        return empty_report(str(error))
    return score(submission, table, limits, known_mistakes)
