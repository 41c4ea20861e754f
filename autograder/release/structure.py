"""The shape of the assignment, checked before the build renders anything.

Changing the assignment (README: Contributing) touches files that must agree: the questions
and their points (`autograder/spec.py`), one record per graded function (`autograder/cases.py`),
the answer key, the markers of the notebook source, the public checks and the catalogue of
mistakes. Every slip in how they fit together is found here and told in one line that names
the file to edit and what to add or change there; the build stops on any (`problems`).
"""

import inspect
import math

import jupytext

import solutions

from .. import cases, spec
from ..variants import ALTERNATIVES, MISTAKES
from . import notebook, public_checks

SPEC = "autograder/spec.py"
CASES = "autograder/cases.py"
CHECKS = "autograder/release/public_checks.py"
VARIANTS = "autograder/variants.py"
ANSWERS = "solutions/written_answers.md"

MIN_MISTAKES = 5  # catalogued mistakes per function: the hints a class is likely to need
MIN_ALTERNATIVES = 2  # alternative correct answers per function, which must get full marks
MIN_EDGE_CASES = 3  # edge cases per function that takes arguments (labels "edge: ...")
EPS = 1e-9  # weights that add up to within this of 1 add up to 1


def _g(value: float) -> str:
    return f"{value:.4g}"


def question_problems() -> list[str]:
    """Each question has a unique name, positive points and at least one function."""
    problems, seen = [], set()
    for question in spec.QUESTIONS:
        if question.name in seen:
            problems.append(f"{SPEC}: {question.name} is declared twice: keep one Question")
        seen.add(question.name)
        if not question.points > 0:
            problems.append(
                f"{SPEC}: {question.name} has {_g(question.points)} points: give it more than 0"
            )
        if not question.functions:
            problems.append(
                f"{SPEC}: {question.name} has no graded function: declare one in {CASES} with "
                f"@graded(NAME, {question.name!r}, criteria), or remove the question"
            )
    return problems


def record_problems() -> list[str]:
    """Each record is declared once, names a question, has a reference in the answer key, and
    its criteria, requirements and weight add up."""
    names = [q.name for q in spec.QUESTIONS]
    problems = [
        f"{CASES}: {name} is declared twice: keep one @graded({name!r}, ...)"
        for name in dict.fromkeys(cases.DECLARED_TWICE)
    ]
    problems += solutions.PROBLEMS
    for name, record in cases.FUNCTIONS.items():
        if record.question not in names:
            problems.append(
                f"{CASES}: the record of {name} names {record.question!r}, which {SPEC} does "
                f"not declare: name one of {', '.join(names)}, or declare the question there"
            )
        if not record.criteria:
            problems.append(
                f"{CASES}: {name} has no criteria: give its record at least one "
                "Criterion(name, weight, kinds)"
            )
            continue
        for criterion in record.criteria:
            if not criterion.weight > 0:
                problems.append(
                    f"{CASES}: the criterion {criterion.name!r} of {name} has weight "
                    f"{_g(criterion.weight)}: give it a weight above 0, or remove it"
                )
        criteria = [c.name for c in record.criteria]
        for repeated in sorted({c for c in criteria if criteria.count(c) > 1}):
            problems.append(f"{CASES}: {name} has two criteria named {repeated!r}: rename one")
        total = sum(c.weight for c in record.criteria)
        if not math.isclose(total, 1, abs_tol=EPS):
            problems.append(
                f"{CASES}: the weights of {name}'s criteria add up to {_g(total)}, not 1: "
                "change them so that they do"
            )
        taken = sum(r.weight for r in record.requirements)
        if not taken < 1:
            problems.append(
                f"{CASES}: the requirements of {name} take {_g(taken)} of its points, leaving "
                "nothing for its criteria: declare fewer with requirements=(...)"
            )
        if record.weight is not None and not 0 < record.weight <= 1:
            problems.append(
                f"{CASES}: {name} declares weight={_g(record.weight)}: a weight is its fraction "
                f"of {record.question}'s points, above 0 and at most 1"
            )
    return problems


def weight_problems() -> list[str]:
    """A question's function weights add up to 1 (the declared ones, and equal shares of the
    rest for those that declare none), so that its functions' points add up to its own."""
    problems = []
    for question in spec.QUESTIONS:
        records = [cases.FUNCTIONS[f] for f in question.functions]
        declared = [r for r in records if r.weight is not None]
        if not declared:
            continue
        total = sum(r.weight for r in declared)
        listed = ", ".join(f"{r.name} {_g(r.weight)}" for r in declared)
        if len(declared) == len(records) and not math.isclose(total, 1, abs_tol=EPS):
            problems.append(
                f"{CASES}: the weights of {question.name}'s functions add up to {_g(total)}, "
                f"not 1 ({listed}), so their points would not add up to the question's "
                f"{_g(question.points)}: change them so that they do, or leave one undeclared "
                "to take the rest"
            )
        elif len(declared) < len(records) and not total < 1 - EPS:
            rest = ", ".join(r.name for r in records if r.weight is None)
            problems.append(
                f"{CASES}: the weights declared for {question.name}'s functions add up to "
                f"{_g(total)} ({listed}), leaving nothing for {rest}: lower them, or declare "
                "a weight for every function of the question, adding up to 1"
            )
    return problems


def _takes_arguments(name: str) -> bool:
    return bool(inspect.signature(solutions.GRADED[name]).parameters)


def case_problems() -> list[str]:
    """Every hidden case belongs to exactly one criterion of its record, every criterion has
    cases, and a function that takes arguments has enough random and edge cases."""
    problems = []
    for name, record in cases.FUNCTIONS.items():
        try:
            labels = [case.label for case in record.hidden_cases()]
        except Exception as error:  # noqa: BLE001 - the author's generator, told in one line
            problems.append(
                f"{CASES}: the generator of {name}'s hidden cases raises "
                f"{type(error).__name__}: {' '.join(str(error).split())}"
            )
            continue
        kinds = {spec.case_kind(label) for label in labels}
        for kind in sorted(kinds):
            listing = [c.name for c in record.criteria if kind in c.kinds]
            if not listing:
                problems.append(
                    f"{CASES}: {name}'s hidden cases of kind {kind!r} belong to no criterion: "
                    "add the kind to the kinds of one of its criteria"
                )
            elif len(listing) > 1:
                problems.append(
                    f"{CASES}: {name}'s hidden cases of kind {kind!r} belong to "
                    f"{len(listing)} criteria ({'; '.join(listing)}): list the kind in one only"
                )
        for criterion in record.criteria:
            if not kinds & set(criterion.kinds):
                problems.append(
                    f"{CASES}: the criterion {criterion.name!r} of {name} has no hidden case: "
                    f"add cases of kind {criterion.kinds[0]!r} to its generator"
                    if criterion.kinds
                    else f"{CASES}: the criterion {criterion.name!r} of {name} lists no kind "
                    "of hidden case: give it the kinds of the cases that test it"
                )
        if name in solutions.GRADED and _takes_arguments(name):
            random = sum(spec.case_kind(label) == "random" for label in labels)
            edge = sum(label.startswith("edge") for label in labels)
            if random < cases.RANDOM_CASES:
                problems.append(
                    f"{CASES}: {name} has {random} random hidden cases: make at least "
                    f"{cases.RANDOM_CASES} (labels starting 'random')"
                )
            if edge < MIN_EDGE_CASES:
                problems.append(
                    f"{CASES}: {name} has {edge} edge cases: add the edge cases its question is "
                    f"about, at least {MIN_EDGE_CASES} (labels starting 'edge: ')"
                )
    return problems


def answer_problems() -> list[str]:
    """Every written question has a model answer."""
    answers = notebook.written_answers()
    return [
        f"{ANSWERS}: no section `## {question}`: add {question}'s model answer under that heading"
        for question in spec.WRITTEN_QUESTIONS
        if not answers.get(question)
    ]


def check_problems() -> list[str]:
    """Every graded function has public checks, under its own question."""
    problems = []
    questions = {q.name: q.functions for q in spec.QUESTIONS}
    for key, checks in public_checks.CHECKS.items():
        if key not in questions:
            problems.append(
                f"{CHECKS}: CHECKS[{key!r}] is for no question of {SPEC}: move its checks under "
                "their question's name"
            )
            continue
        for check in checks:
            if check.function not in cases.FUNCTIONS:
                problems.append(
                    f"{CHECKS}: a check in CHECKS[{key!r}] calls {check.function}, which is not a "
                    f"graded function: correct the name, or declare its record in {CASES}"
                )
            elif check.function not in questions[key]:
                owner = cases.FUNCTIONS[check.function].question
                problems.append(
                    f"{CHECKS}: the check {check.description!r} of {check.function} is in "
                    f"CHECKS[{key!r}], but {owner} grades {check.function}: move it to "
                    f"CHECKS[{owner!r}]"
                )
    for question, functions in questions.items():
        for name in functions:
            if not public_checks.checks_of(name):
                problems.append(
                    f"{CHECKS}: {name} has no public check: add PublicCheck({name!r}, "
                    f"description, args) to CHECKS[{question!r}]"
                )
    return problems


def catalogue_problems() -> list[str]:
    """Every graded function has enough catalogued mistakes and alternative answers."""
    problems = []
    for name in cases.FUNCTIONS:
        mistakes = sum(m.function == name for m in MISTAKES)
        alternatives = sum(a.function == name for a in ALTERNATIVES)
        if mistakes < MIN_MISTAKES:
            problems.append(
                f"{VARIANTS}: {name} has {mistakes} catalogued mistake"
                f"{'s' * (mistakes != 1)}: add {MIN_MISTAKES - mistakes} more "
                f"mistake({name!r}, name, hint, body) (at least {MIN_MISTAKES})"
            )
        if alternatives < MIN_ALTERNATIVES:
            problems.append(
                f"{VARIANTS}: {name} has {alternatives} alternative answer"
                f"{'s' * (alternatives != 1)}: add {MIN_ALTERNATIVES - alternatives} more "
                f"alternative({name!r}, name, body) (at least {MIN_ALTERNATIVES})"
            )
    for function in dict.fromkeys(v.function for v in MISTAKES + ALTERNATIVES):
        if function not in cases.FUNCTIONS:
            problems.append(
                f"{VARIANTS}: a mistake or alternative is for {function}, which is not a graded "
                f"function: correct the name, or declare its record in {CASES}"
            )
    pairs = [(v.function, v.name) for v in MISTAKES + ALTERNATIVES]
    for function, name in sorted({p for p in pairs if pairs.count(p) > 1}):
        problems.append(f"{VARIANTS}: {function} has two variants named {name!r}: rename one")
    return problems


def problems() -> list[str]:
    """Every structural slip in the assignment's sources, one line each (none: build on).

    Questions and records come first: what follows reads them, so it is checked only once
    they stand.
    """
    found = question_problems() + record_problems()
    if found:
        return found
    found = weight_problems() + case_problems() + answer_problems()
    found += notebook.marker_problems(jupytext.read(notebook.SOURCE).cells)
    return found + check_problems() + catalogue_problems()
