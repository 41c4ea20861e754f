"""Variants made mechanically from the reference, and how they are told apart from it.

* systematic mutants: one operator, comparison, constant, axis, transpose or function of the
  reference swapped (`mutants`);
* trivial answers: None, a constant, zeros or ones of the right shape, an argument returned
  (`trivial_answers`);
* `differs_from_reference` runs a variant on a large random battery (the hidden-case
  generators rerun with other seeds) to set equivalent mutants aside, and `points_in_process`
  scores a variant on the hidden cases without the sandbox, for quick checks.

`autograder.release.mutation` grades them through the real grading path.
"""

import ast
import inspect

import numpy as np

import solutions

from .. import cases, compare, grader, hints
from ..variants import Variant
from . import notebook

BATTERY_SEED = 7_2026
BATTERY_ROUNDS = 10  # times the hidden-case generators are rerun with other seeds

# Why a mutant that agrees with the reference on the whole battery is equivalent to it, keyed
# by (function, mutation as the report words it); the report shows the reason beside it.
EQUIVALENT_BECAUSE: dict[tuple[str, str], str] = {
    ("sigmoid", "`x >= 0`: >= became >"): (
        "the two branches agree at x = 0, where both give 1/2, so which one takes x = 0 "
        "does not matter"
    ),
}


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


# ## Trivial answers


_ORDINALS = ("first", "second", "third", "fourth", "fifth")


def trivial_answers(function: str) -> list[Variant]:
    """Answers that take no understanding: None, 0.0, zeros or ones of the right shape (taken
    from the reference's output), and each argument returned as it came. None may earn points.

    Each is Python source meant to run after the reference's definition, as a cell appended
    to the solution notebook: it keeps the reference under another name for the shape.
    """
    params = list(inspect.signature(solutions.GRADED[function]).parameters)
    reference = f"_reference_{function}"
    call = f"{reference}({', '.join(params)})"
    bodies = [
        ("None", "return None"),
        ("0.0 whatever the input", "return 0.0"),
        ("zeros of the right shape", f"return np.zeros(np.shape({call}))"),
        ("ones of the right shape", f"return np.ones(np.shape({call}))"),
    ]
    bodies += [
        (f"the {_ORDINALS[i]} argument returned", f"return {name}") for i, name in enumerate(params)
    ]
    header = f"{reference} = {function}\ndef {function}({', '.join(params)}):\n    "
    return [Variant(function, f"trivial: {name}", header + body) for name, body in bodies]


def points_in_process(variant: Variant, table: dict) -> float:
    """Points `variant` earns on its own function, judged in this process on the hidden cases.

    The same criteria and verdicts as the grader's (`grader.criterion_results`), without the
    sandbox: quick enough for tests; the gate grades through the real path.
    """
    function = variant.function
    strict = cases.FUNCTIONS[function].strict
    rows = table[function]
    failures, broken, forms = {}, {}, {}
    for index, expected in enumerate(rows):
        outcome = hints.run_variant(variant, expected.case.args, strict)
        verdict, kept = grader.judge_case(function, outcome, expected)
        if not verdict.passed:
            failures[index] = verdict
        if kept is not None:
            broken[index], forms[index] = kept, outcome.form
    labels = [expected.case.label for expected in rows]
    promised = [expected.promised for expected in rows]
    results = grader.criterion_results(function, labels, failures, broken, promised, forms)
    return sum(c.points for c in results)


# ## Equivalence on a large random battery


def battery(function: str) -> list[tuple]:
    """Inputs beyond the hidden cases: the same generators, other seeds, plus the hidden ones."""
    rounds = [
        cases.FUNCTIONS[function].generate(np.random.default_rng([BATTERY_SEED, r]))
        for r in range(BATTERY_ROUNDS)
    ]
    return [c.args for group in rounds for c in group] + [
        c.args for c in cases.hidden_cases(function)
    ]


def differs_from_reference(variant: Variant) -> bool:
    """Whether `variant` fails (as the grader would judge it) on some input of the battery."""
    reference = solutions.GRADED[variant.function]
    strict = cases.FUNCTIONS[variant.function].strict
    for args in battery(variant.function):
        expected = np.asarray(compare.call_on_copies(reference, args, False)[0], dtype=float)
        if not hints.judge_variant(variant, args, expected, strict).passed:
            return True
    return False
