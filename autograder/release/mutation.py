"""Mutation analysis: do the hidden tests catch real mistakes, and accept every right answer?

Four kinds of variant are graded through the real grading path (a fresh simulated
``/autograder`` per submission, exactly as Gradescope grades):

* the catalogued mistakes of `autograder.variants`: each must lose points on its own
  question and nowhere else, and at least `MIN_LOSS` of its function's points;
* systematic mutants, made mechanically from the reference (one operator, comparison,
  constant, axis, transpose or function swapped): those that differ from the reference on a
  large random battery must be caught like the mistakes; the rest are equivalent and set aside;
* the alternative correct answers: each must get full marks;
* trivial answers (None, a constant, zeros or ones of the right shape, an argument returned),
  each kind given for every function at once: none may earn a point.

It also checks that no catalogued mistake passes all the public checks of its question, and
that no live mutant does either (a mutant may, if `public_checks.UNCHECKED_MUTANTS` says why;
the report lists it with that reason). `run` returns the problems (none: the release may ship)
and a report: per function its points, hidden cases, criteria with their weights, tolerance
and what was caught; the equivalent mutants set aside and why; the points each mistake and
mutant loses; what trivial answers earn.
"""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

import solutions

from .. import cases, grader, hints, spec
from ..variants import ALTERNATIVES, MISTAKES, Variant
from . import gate
from .mutants import (
    BATTERY_ROUNDS,
    EQUIVALENT_BECAUSE,
    battery,
    differs_from_reference,
    mutants,
    trivial_answers,
)
from .public_checks import UNCHECKED_MUTANTS
from .run_checks import run_public_checks

# ## The gate


MIN_LOSS = 0.10  # a catalogued mistake must cost at least this fraction of its function's points


@dataclass
class VariantResult:
    variant: Variant
    kind: str  # "mistake", "mutant" or "alternative"
    results: dict
    caught_by: list[str] = field(default_factory=list)  # labels of failing cases (mistakes)
    points: float = 0.0  # what the variant earned on its own function
    max_points: float = 0.0
    failed_criteria: list[str] = field(default_factory=list)

    @property
    def lost(self) -> float:
        return self.max_points - self.points


@dataclass
class TrivialResult:
    """One kind of trivial answer, given for every function it applies to in one submission."""

    name: str
    points: dict[str, float]  # function: points earned

    @property
    def earning(self) -> dict[str, float]:
        return {f: p for f, p in self.points.items() if p > gate.SCORE_EPS}


def _question_scores(results: dict) -> dict[str, float]:
    names = {q.name for q in spec.QUESTIONS}  # the entries that carry a question's points
    return {t["name"]: t["score"] for t in results["tests"] if t["name"] in names}


def problems_of(result: VariantResult) -> list[str]:
    """What is wrong with how one variant was graded."""
    scores = _question_scores(result.results)
    full = {q.name: q.points for q in spec.QUESTIONS}
    own = spec.question_of(result.variant.function).name
    label = f"{result.kind} {result.variant.function}: {result.variant.name}"
    if result.kind == "alternative":
        lost = [q for q in scores if scores[q] < full[q] - gate.SCORE_EPS]
        return [f"{label} is correct but lost points on {', '.join(lost)}"] if lost else []
    problems = []
    if scores[own] >= full[own] - gate.SCORE_EPS:
        problems.append(f"{label} survived: no hidden case of {own} catches it")
    elif result.kind == "mistake" and result.lost < MIN_LOSS * result.max_points - gate.SCORE_EPS:
        problems.append(
            f"{label} loses only {result.lost:.3g} of {result.max_points:g} points "
            f"(less than {MIN_LOSS:.0%}): give the criterion it fails more weight, or add "
            "hidden cases that catch it to a criterion it passes"
        )
    elsewhere = [q for q in scores if q != own and scores[q] < full[q] - gate.SCORE_EPS]
    if elsewhere:
        problems.append(f"{label} also lost points on {', '.join(elsewhere)}")
    return problems


def trivial_problems(result: TrivialResult) -> list[str]:
    return [
        f"trivial answer earns points: {function}, {result.name}, earns {points:.3g}"
        for function, points in result.earning.items()
    ]


def trivial_submissions() -> list[tuple[str, list[Variant]]]:
    """Each kind of trivial answer, with its version for every function it applies to."""
    kinds: dict[str, list[Variant]] = {}
    for function in solutions.GRADED:
        for variant in trivial_answers(function):
            kinds.setdefault(variant.name.removeprefix("trivial: "), []).append(variant)
    return list(kinds.items())


def public_escapes(test_files: dict[str, str]) -> list[str]:
    """Catalogued mistakes that pass every public check of their question."""
    escapes = []
    for variant in MISTAKES:
        env = {"np": np, **solutions.GRADED}
        exec(variant.source, env)  # noqa: S102 - the project's own catalogue
        question = spec.question_of(variant.function).name
        outcomes = [o for o in run_public_checks(env, test_files) if o.question == question]
        if all(o.passed for o in outcomes):
            escapes.append(
                f"public checks of {question} all pass {variant.function}: {variant.name}"
            )
    return escapes


def unchecked_mutants(
    test_files: dict[str, str], live: list[Variant], explained: dict[tuple[str, str], str]
) -> tuple[list[str], list[str]]:
    """Live mutants that pass every public check of their question: (problems, report lines).

    An escape is a problem unless `explained` (``public_checks.UNCHECKED_MUTANTS``) gives the
    reason it is let through; then it is listed in the report with that reason.
    """
    problems, lines = [], []
    for variant in live:
        env = {"np": np, **solutions.GRADED}
        exec(variant.source, env)  # noqa: S102 - mutants of the project's own reference
        question = spec.question_of(variant.function).name
        outcomes = [o for o in run_public_checks(env, test_files) if o.question == question]
        if not all(o.passed for o in outcomes):
            continue
        name = variant.name.removeprefix("mutant: ")
        reason = explained.get((variant.function, name))
        if reason is None:
            problems.append(
                f"public checks of {question} all pass {variant.function}: {variant.name} "
                "(add a public check that catches it, or give the reason in "
                "public_checks.UNCHECKED_MUTANTS)"
            )
        else:
            lines.append(f"- {variant.function}: {name} — {reason}")
    return problems, lines


def run(
    solution: dict,
    autograder_zip: bytes,
    test_files: dict[str, str],
    log: Callable[[str], None] = print,
) -> tuple[list[str], str]:
    """Grade every mistake, mutant, alternative and trivial answer; return (problems, report
    in Markdown)."""
    table = grader.expected_outputs()
    known_mistakes = hints.Hints(table)
    all_mutants = [m for f in solutions.GRADED for m in mutants(f)]
    live = [m for m in all_mutants if differs_from_reference(m)]
    jobs = [(v, "mistake") for v in MISTAKES] + [(v, "mutant") for v in live]
    jobs += [(v, "alternative") for v in ALTERNATIVES]
    trivial = trivial_submissions()

    def grade(job: tuple[Variant, str]) -> VariantResult:
        variant, kind = job
        notebook = gate.with_cells(solution, [variant.source])
        results, report = gate.grade_in_tree(autograder_zip, notebook, table, known_mistakes)
        (own,) = [f for q in report.questions for f in q.functions if f.name == variant.function]
        failed = [c.name for c in own.criteria if not c.passed]
        # Cases that caught it: a wrong value, or a requirement broken beside a right one.
        broken = [label for c in own.criteria if c.requirement for label, _ in c.failures]
        caught = list(dict.fromkeys(own.failing_cases + broken))
        return VariantResult(variant, kind, results, caught, own.points, own.max_points, failed)

    def grade_trivial(job: tuple[str, list[Variant]]) -> TrivialResult:
        name, answers = job
        notebook = gate.with_cells(solution, [a.source for a in answers])
        _, report = gate.grade_in_tree(autograder_zip, notebook, table, known_mistakes)
        replaced = {a.function for a in answers}
        points = {f.name: f.points for q in report.questions for f in q.functions}
        return TrivialResult(name, {f: p for f, p in points.items() if f in replaced})

    with ThreadPoolExecutor() as pool:
        graded = list(pool.map(grade, jobs))
        trivial_results = list(pool.map(grade_trivial, trivial))
    problems = [p for r in graded for p in problems_of(r)]
    problems += [p for r in trivial_results for p in trivial_problems(r)]
    escapes = public_escapes(test_files)
    problems += escapes
    mutant_escapes, let_through = unchecked_mutants(test_files, live, UNCHECKED_MUTANTS)
    problems += mutant_escapes

    report = _report(
        graded, all_mutants, live, escapes + mutant_escapes, trivial_results, let_through
    )
    caught = sum(not problems_of(r) for r in graded if r.kind != "alternative")
    accepted = sum(not problems_of(r) for r in graded if r.kind == "alternative")
    mistakes = [r for r in graded if r.kind == "mistake"]
    least = min(mistakes, key=lambda r: r.lost / r.max_points, default=None)
    least_text = (
        f", the least costly mistake loses {least.lost / least.max_points:.0%} of its function"
        if least
        else ""
    )
    log(
        f"mutation: {caught}/{len(MISTAKES) + len(live)} mistakes and live mutants caught "
        f"({len(all_mutants) - len(live)} equivalent mutants set aside){least_text}, "
        f"{accepted}/{len(ALTERNATIVES)} alternatives accepted, "
        f"{len(MISTAKES) - len(escapes)}/{len(MISTAKES)} mistakes and "
        f"{len(live) - len(mutant_escapes) - len(let_through)}/{len(live)} live mutants fail a "
        f"public check ({len(let_through)} let through, with reasons), "
        f"{sum(not r.earning for r in trivial_results)}/{len(trivial_results)} kinds of "
        "trivial answer earn nothing"
    )
    return problems, report


def _lost(result: VariantResult) -> str:
    if not result.max_points:
        return "-"
    text = f"{result.lost:.3g} of {result.max_points:g} ({result.lost / result.max_points:.0%})"
    return text + (f": {'; '.join(result.failed_criteria)}" if result.failed_criteria else "")


def _row(result: VariantResult, name: str) -> str:
    caught = result.caught_by
    shown = "; ".join(caught[:3]) + (f"; and {len(caught) - 3} more" if len(caught) > 3 else "")
    cell = f"{len(caught)}: {shown}" if caught else "not caught"
    cells = [result.variant.function, name, _lost(result), f"{result.results['score']:g}", cell]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _report(
    graded: list[VariantResult],
    all_mutants,
    live,
    escapes,
    trivial: list[TrivialResult] = (),
    let_through=(),
) -> str:
    lines = ["# Mutation report", "", *_overview(graded, all_mutants, live), ""]
    lines += ["## Equivalent mutants, set aside", ""]
    lines += _equivalents(all_mutants, live) or ["None."]
    header = [
        "| function | {what} | points lost on the function: criteria failed | score "
        "| cases that caught it |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += [
        "",
        "## Catalogued mistakes: the points each loses and the cases that caught it",
        "",
        f"Each must lose at least {MIN_LOSS:.0%} of its function's points.",
        "",
        header[0].format(what="mistake"),
        header[1],
    ]
    lines += [_row(r, r.variant.name) for r in graded if r.kind == "mistake"]
    lines += ["", "## Live mutants", "", header[0].format(what="mutation"), header[1]]
    lines += [
        _row(r, r.variant.name.removeprefix("mutant: ")) for r in graded if r.kind == "mutant"
    ]
    lines += [
        "",
        "## Trivial answers",
        "",
        "Each is given for every function at once; none may earn any point.",
        "",
        "| trivial answer | functions | points earned |",
        "| --- | --- | --- |",
    ]
    for result in trivial:
        earned = ", ".join(f"{f} {p:.3g}" for f, p in result.earning.items()) or "0"
        lines.append(f"| {result.name} | {len(result.points)} | {earned} |")
    lines += ["", "## Public checks", ""]
    lines += [f"- {e}" for e in escapes] or [
        "Every catalogued mistake and every live mutant fails at least one public check of its "
        "question."
    ]
    lines += ["", "### Live mutants the public checks let through, and why", ""]
    lines += list(let_through) or ["None."]
    return "\n".join(lines) + "\n"


def _fraction(weight: float) -> str:
    """A weight as the fraction it was written as (1/2, 1/3), or a decimal."""
    fraction = Fraction(weight).limit_denominator(100)
    if abs(float(fraction) - weight) > 1e-12:
        return f"{weight:.3g}"
    return str(fraction.numerator) if fraction.denominator == 1 else str(fraction)


def _tolerance(record: cases.GradedFunction) -> str:
    text = f"rtol {record.tolerance.rtol:g}, atol {record.tolerance.atol:g}"
    return text + ("; numpy warnings are errors" if record.strict else "")


def _overview(graded: list[VariantResult], all_mutants, live) -> list[str]:
    """The opening table: per function its points, hidden cases, criteria (weight, points,
    cases) and requirements, tolerance, and what the gate caught and accepted."""
    lines = [
        "## Per function",
        "",
        "| function | points | hidden cases | criteria: weight (points, cases) | tolerance "
        "| mistakes caught | live mutants caught | equivalent mutants | alternatives accepted |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def count(function: str, kind: str) -> str:
        rows = [r for r in graded if r.kind == kind and r.variant.function == function]
        return f"{sum(not problems_of(r) for r in rows)}/{len(rows)}"

    for function in solutions.GRADED:
        record = cases.FUNCTIONS[function]
        kinds = [spec.case_kind(c.label) for c in record.hidden_cases()]
        points = spec.criterion_points(function)
        parts = [
            f"{c.name}: {_fraction(c.weight)} ({points[c.name]:.3g}, "
            f"{sum(k in c.kinds for k in kinds)})"
            for c in record.criteria
        ]
        parts += [
            f"requirement {r.name}: {_fraction(r.weight)} ({points[r.name]:.3g})"
            for r in record.requirements
        ]
        made = sum(m.function == function for m in all_mutants)
        equivalent = made - sum(m.function == function for m in live)
        cells = [
            function,
            f"{spec.function_points(function):.3g} of {spec.question_of(function).name}",
            str(len(kinds)),
            "; ".join(parts),
            _tolerance(record),
            count(function, "mistake"),
            count(function, "mutant"),
            str(equivalent),
            count(function, "alternative"),
        ]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def _equivalents(all_mutants, live) -> list[str]:
    """Each mutant set aside as equivalent, with why: the reason declared in
    `mutants.EQUIVALENT_BECAUSE`, and the evidence (it agrees on the whole battery)."""
    kept = {id(m) for m in live}
    lines = []
    for mutant in all_mutants:
        if id(mutant) in kept:
            continue
        name = mutant.name.removeprefix("mutant: ")
        inputs = len(battery(mutant.function))
        evidence = (
            f"agrees with the reference within its tolerance on all {inputs} inputs of its "
            f"battery (the hidden cases and {BATTERY_ROUNDS} more draws of their generator)"
        )
        reason = EQUIVALENT_BECAUSE.get((mutant.function, name))
        lines.append(
            f"- {mutant.function}: {name} — {reason + '; it ' if reason else 'it '}{evidence}"
        )
    return lines
