"""Mutation analysis: do the hidden tests catch real mistakes, and accept every right answer?

Three kinds of variant are graded through the real grading path (a fresh simulated
``/autograder`` per submission, exactly as Gradescope grades):

* the catalogued mistakes of `autograder.variants`: each must lose points on its own
  question and nowhere else;
* systematic mutants, made mechanically from the reference (one operator, comparison,
  constant, axis, transpose or function swapped): those that differ from the reference on a
  large random battery must be caught like the mistakes; the rest are equivalent and set aside;
* the alternative correct answers: each must get full marks.

It also checks that no catalogued mistake, and no live mutant, passes all the public checks
of its question (a mutant may, if `public_checks.UNCHECKED_MUTANTS` says why; the report
lists it with that reason).
`run` returns the problems (none: the release may ship) and writes a report.
"""

import ast
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

import solutions

from . import cases, compare, gate, hints, notebook, spec
from .variants import ALTERNATIVES, MISTAKES, Variant

BATTERY_SEED = 7_2026
BATTERY_ROUNDS = 10  # times the hidden-case generators are rerun with other seeds


# ## Systematic mutants


_BINOPS = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.Pow: ast.Mult,
}
_COMPARES = {ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Lt: ast.LtE, ast.LtE: ast.Lt}
_CALLS = {"maximum": "minimum", "minimum": "maximum", "sqrt": "abs", "exp": "abs"}


class _Mutator(ast.NodeTransformer):
    """Applies the `target`-th applicable mutation (counting in visit order) and records it."""

    def __init__(self, target: int):
        self.target, self.seen, self.description = target, -1, None

    def _hit(self) -> bool:
        self.seen += 1
        return self.seen == self.target

    def visit_BinOp(self, node):
        self.generic_visit(node)
        if type(node.op) in _BINOPS and self._hit():
            new = _BINOPS[type(node.op)]()
            self.description = f"`{ast.unparse(node)}`: {_sym(node.op)} became {_sym(new)}"
            node.op = new
        elif isinstance(node.op, ast.MatMult) and self._hit():
            self.description = f"`{ast.unparse(node)}`: @ became *"
            node.op = ast.Mult()
        return node

    def visit_Compare(self, node):
        self.generic_visit(node)
        if len(node.ops) == 1 and type(node.ops[0]) in _COMPARES and self._hit():
            new = _COMPARES[type(node.ops[0])]()
            self.description = f"`{ast.unparse(node)}`: {_sym(node.ops[0])} became {_sym(new)}"
            node.ops = [new]
        return node

    def visit_Constant(self, node):
        if (
            isinstance(node.value, (int, float))
            and not isinstance(node.value, bool)
            and self._hit()
        ):
            new = 1.0 if node.value == 0 else node.value + 1
            self.description = f"constant {node.value!r} became {new!r}"
            return ast.copy_location(ast.Constant(new), node)
        return node

    def visit_keyword(self, node):
        self.generic_visit(node)
        if node.arg == "axis" and isinstance(node.value, ast.Constant) and self._hit():
            new = 1 - node.value.value
            self.description = f"axis={node.value.value} became axis={new}"
            node.value = ast.Constant(new)
        return node

    def visit_Attribute(self, node):
        self.generic_visit(node)
        if node.attr == "T" and self._hit():
            self.description = f"`{ast.unparse(node)}` lost its transpose"
            return node.value
        return node

    def visit_Call(self, node):
        self.generic_visit(node)
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _CALLS and self._hit():
            self.description = f"np.{func.attr} became np.{_CALLS[func.attr]}"
            func.attr = _CALLS[func.attr]
        return node

    def visit_UnaryOp(self, node):
        self.generic_visit(node)
        if isinstance(node.op, ast.USub) and self._hit():
            self.description = f"`{ast.unparse(node)}` lost its minus sign"
            return node.operand
        return node


def _sym(op: ast.AST) -> str:
    return {
        ast.Add: "+",
        ast.Sub: "-",
        ast.Mult: "*",
        ast.Div: "/",
        ast.Pow: "**",
        ast.Gt: ">",
        ast.GtE: ">=",
        ast.Lt: "<",
        ast.LtE: "<=",
    }[type(op)]


def mutants(function: str) -> list[Variant]:
    """Every single-point mutant of the reference body of `function` (docstring dropped)."""
    tree = ast.parse(notebook.reference_source(function))
    definition = tree.body[0]
    definition.body = definition.body[1:]  # drop the docstring
    definition.returns = None
    for arg in definition.args.args:
        arg.annotation = None
    made, target = [], 0
    while True:
        copy = ast.parse(ast.unparse(tree))
        mutator = _Mutator(target)
        mutated = mutator.visit(copy)
        if mutator.description is None:
            return made
        ast.fix_missing_locations(mutated)
        made.append(Variant(function, f"mutant: {mutator.description}", ast.unparse(mutated)))
        target += 1


# ## Equivalence on a large random battery


def battery(function: str) -> list[tuple]:
    """Inputs beyond the hidden cases: the same generators, other seeds, plus the hidden ones."""
    rounds = [
        cases._GENERATORS[function](np.random.default_rng([BATTERY_SEED, r]))
        for r in range(BATTERY_ROUNDS)
    ]
    return [c.args for group in rounds for c in group] + [
        c.args for c in cases.hidden_cases(function)
    ]


def differs_from_reference(variant: Variant) -> bool:
    """Whether `variant` fails (as the grader would judge it) on some input of the battery."""
    reference = solutions.GRADED[variant.function]
    strict = variant.function in spec.STRICT_WARNINGS
    tolerance = spec.TOLERANCES[variant.function]
    for args in battery(variant.function):
        expected = np.asarray(compare.call_on_copies(reference, args, False)[0], dtype=float)
        result, error, modified = hints.run_variant(variant, args, strict)
        if hints.failure_of(result, error, modified, expected, tolerance) is not None:
            return True
    return False


# ## The gate


@dataclass
class VariantResult:
    variant: Variant
    kind: str  # "mistake", "mutant" or "alternative"
    results: dict
    caught_by: list[str] = field(default_factory=list)  # labels of failing cases (mistakes)


def _question_scores(results: dict) -> dict[str, float]:
    return {t["name"]: t["score"] for t in results["tests"][: len(spec.QUESTIONS)]}


def problems_of(result: VariantResult) -> list[str]:
    """What is wrong with how one variant was graded."""
    scores = _question_scores(result.results)
    full = {q.name: q.points for q in spec.QUESTIONS}
    own = spec.question_of(result.variant.function).name
    label = f"{result.kind} {result.variant.function}: {result.variant.name}"
    if result.kind == "alternative":
        lost = [q for q in scores if scores[q] < full[q] - gate.TOLERANCE]
        return [f"{label} is correct but lost points on {', '.join(lost)}"] if lost else []
    problems = []
    if scores[own] >= full[own] - gate.TOLERANCE:
        problems.append(f"{label} survived: no hidden case of {own} catches it")
    elsewhere = [q for q in scores if q != own and scores[q] < full[q] - gate.TOLERANCE]
    if elsewhere:
        problems.append(f"{label} also lost points on {', '.join(elsewhere)}")
    return problems


def public_escapes(test_files: dict[str, str]) -> list[str]:
    """Catalogued mistakes that pass every public check of their question."""
    from .build import run_public_checks

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
    from .build import run_public_checks

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
    """Grade every mistake, mutant and alternative; return (problems, report in Markdown)."""
    from . import grader

    table = grader.expected_outputs()
    known_mistakes = hints.Hints(table)
    all_mutants = [m for f in solutions.GRADED for m in mutants(f)]
    live = [m for m in all_mutants if differs_from_reference(m)]
    jobs = [(v, "mistake") for v in MISTAKES] + [(v, "mutant") for v in live]
    jobs += [(v, "alternative") for v in ALTERNATIVES]

    def grade(job: tuple[Variant, str]) -> VariantResult:
        variant, kind = job
        notebook = gate.with_cells(solution, [variant.source])
        results, report = gate.grade_in_tree(autograder_zip, notebook, table, known_mistakes)
        failing = [
            c
            for q in report.questions
            for f in q.functions
            if f.name == variant.function
            for c in f.failing_cases
        ]
        return VariantResult(variant, kind, results, failing)

    with ThreadPoolExecutor() as pool:
        graded = list(pool.map(grade, jobs))
    problems = [p for r in graded for p in problems_of(r)]
    escapes = public_escapes(test_files)
    problems += escapes
    from .public_checks import UNCHECKED_MUTANTS

    mutant_escapes, let_through = unchecked_mutants(test_files, live, UNCHECKED_MUTANTS)
    problems += mutant_escapes

    report = _report(graded, all_mutants, live, escapes + mutant_escapes, let_through)
    caught = sum(not problems_of(r) for r in graded if r.kind != "alternative")
    accepted = sum(not problems_of(r) for r in graded if r.kind == "alternative")
    log(
        f"mutation: {caught}/{len(MISTAKES) + len(live)} mistakes and live mutants caught "
        f"({len(all_mutants) - len(live)} equivalent mutants set aside), "
        f"{accepted}/{len(ALTERNATIVES)} alternatives accepted, "
        f"{len(MISTAKES) - len(escapes)}/{len(MISTAKES)} mistakes and "
        f"{len(live) - len(mutant_escapes) - len(let_through)}/{len(live)} live mutants fail a "
        f"public check ({len(let_through)} let through, with reasons)"
    )
    return problems, report


def _row(result: VariantResult, name: str) -> str:
    caught = result.caught_by
    shown = "; ".join(caught[:3]) + (f"; and {len(caught) - 3} more" if len(caught) > 3 else "")
    cell = f"{len(caught)}: {shown}" if caught else "not caught"
    cells = [result.variant.function, name, f"{result.results['score']:g}", cell]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def _report(graded: list[VariantResult], all_mutants, live, escapes, let_through=()) -> str:
    lines = [
        "# Mutation report",
        "",
        "## Score per function",
        "",
        "| function | mistakes caught | live mutants caught | equivalent mutants "
        "| alternatives accepted |",
        "| --- | --- | --- | --- | --- |",
    ]

    def count(function: str, kind: str) -> str:
        rows = [r for r in graded if r.kind == kind and r.variant.function == function]
        return f"{sum(not problems_of(r) for r in rows)}/{len(rows)}"

    for function in solutions.GRADED:
        made = sum(m.function == function for m in all_mutants)
        equivalent = made - sum(m.function == function for m in live)
        counts = [count(function, k) for k in ("mistake", "mutant")]
        lines.append(
            f"| {function} | {counts[0]} | {counts[1]} | {equivalent} "
            f"| {count(function, 'alternative')} |"
        )
    lines += [
        "",
        "## Catalogued mistakes and the cases that caught each",
        "",
        "| function | mistake | score | cases that caught it |",
        "| --- | --- | --- | --- |",
    ]
    lines += [_row(r, r.variant.name) for r in graded if r.kind == "mistake"]
    lines += [
        "",
        "## Live mutants",
        "",
        "| function | mutation | score | cases that caught it |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        _row(r, r.variant.name.removeprefix("mutant: ")) for r in graded if r.kind == "mutant"
    ]
    lines += ["", "## Public checks", ""]
    lines += [f"- {e}" for e in escapes] or [
        "Every catalogued mistake and every live mutant fails at least one public check of its "
        "question."
    ]
    lines += ["", "### Live mutants the public checks let through, and why", ""]
    lines += list(let_through) or ["None."]
    return "\n".join(lines) + "\n"
