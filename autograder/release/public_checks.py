"""The public sanity checks behind ``grader.check``, declared as data and rendered as Otter tests.

Inputs are chosen so that the usual slips cannot pass by accident: pre-activations of both
signs, exact ReLU kinks (inner and outer), p != 0.5, N != d, a Tikhonov matrix that is not
diagonal; float64 arrays and Python floats only, as the docstrings promise. Expected values
come from the reference at build time; a check with `against` compares instead with an
expression in the student's own functions, so it gives away no answer.

Each question's test file (Otter's exception format) has one test case per function, and a
failing case raises `CheckFailed` with the one line a student reads: the first failed check
and its hint, "not attempted" for a stub, or which other function to fix first when the
failure is not this function's fault. The file runs in the student's notebook, without this
package: it carries the source of `autograder.compare`, so that every check is called and
judged (`compare.call`, `compare.judge`) as the hidden tests judge, and the sentences of
`autograder.wording` it prints, as constants.
"""

import inspect
import pprint
import re
from dataclasses import dataclass

import numpy as np

import solutions

from .. import compare, hints, spec, wording
from ..cases import FUNCTIONS
from ..variants import MISTAKES

FAILURE_PREFIX = "CheckFailed: "  # how Otter's message for a failing case ends, before our line


@dataclass(frozen=True)
class PublicCheck:
    """One public test case.

    Attributes
    ----------
    function : str
        The graded function called.
    description : str
        What the check shows, as students see it in the ``grader.check`` output.
    args : tuple
        Positional arguments: Python floats and float64 arrays (the input contract), given
        to students as written.
    against : str or None
        A Python expression, in numpy and the student's functions, to compare with instead
        of the reference value.

    A numpy warning (overflow, say) during the call fails the check if the function's record
    makes warnings errors (`GradedFunction.strict`), as in the hidden cases.
    """

    function: str
    description: str
    args: tuple = ()
    against: str | None = None


_MIXED = np.array([-3.0, -0.5, 0.0, 2.0, 30.0])
_EXTREME = np.array([[-1.0e4, 1.0e4], [-800.0, 745.0]])
# Dense enough that values rounded to float32 differ from float64 beyond the tolerance.
_DENSE = np.linspace(-5.0, 5.0, 101)

# n = 4: W1 @ X0 = [1, -1.58, 0, 0.1] has an exact kink; W2 @ ReLU(W1 @ X0) + X0 has both signs.
_W1 = np.array(
    [[1.0, 0.5, 0.0, -1.0], [-0.5, -1.0, 0.3, 0.2], [1.0, -1.0, 0.0, 0.0], [0.2, 0.0, 0.5, 0.4]]
)
_W2 = np.array(
    [[0.5, -1.0, 0.3, 0.0], [-2.0, 0.4, 1.0, -0.1], [0.1, 0.0, -0.7, 0.9], [0.0, 0.6, 0.2, -1.5]]
)
_X0 = np.array([1.0, 1.0, -0.6, 0.5])
# n = 3, dyadic: the outer pre-activation W2 @ ReLU(W1 @ x0) + x0 is exactly [0, 0.5, -0.25].
_V1 = np.array([[1.0, 0.0, 0.5], [0.0, -1.0, 0.0], [0.5, 0.5, 1.0]])
_V2 = np.array([[-0.5, 0.25, -1.25], [0.0, 1.0, 1.0], [1.0, -2.0, 0.0]])
_V0 = np.array([1.0, -1.0, 0.5])

# N = 5, d = 3, columns of very different scale.
_X = np.array(
    [[1.0, -2.0, 0.5], [0.5, 0.0, -1.5], [-1.0, 3.0, 2.0], [2.0, 1.0, 0.0], [0.0, -1.0, 4.0]]
)
_Y = np.array([1.0, -0.5, 2.0, 0.0, 3.5])
_W_CHECK = np.array([0.8, -1.2, 0.4])
_GAMMA = np.array([[2.0, 0.5, -0.3], [0.0, 1.5, 0.8], [0.4, 0.0, 1.2]])
_W_TILDE = np.array([1.0, -2.0, 0.5])


CHECKS: dict[str, tuple[PublicCheck, ...]] = {
    "q1a": (
        PublicCheck("sigmoid", "values at x = [-3, -0.5, 0, 2, 30]", (_MIXED,)),
        PublicCheck("sigmoid", "a scalar in gives a float out", (0.7,)),
        PublicCheck("sigmoid", "2-D input of huge |x|: shape kept, no overflow", (_EXTREME,)),
        PublicCheck("sigmoid", "101 points in [-5, 5], to float64 precision", (_DENSE,)),
        PublicCheck("sigmoid_grad", "values at x = [-3, -0.5, 0, 2, 30]", (_MIXED,)),
        PublicCheck("sigmoid_grad", "2-D input of huge |x|: shape kept, no overflow", (_EXTREME,)),
        PublicCheck(
            "max_sigmoid_grad",
            "agrees with the largest value of your sigmoid_grad on a fine grid",
            against="float(np.max(sigmoid_grad(np.linspace(-4.0, 4.0, 80001))))",
        ),
    ),
    "q1b": (
        PublicCheck("residual_block", "a block with n = 4, units of both signs", (_W1, _W2, _X0)),
        PublicCheck(
            "residual_block",
            "n = 1, the skip keeps the unit alive",
            (_W1[:1, :1], -_W2[:1, :1], _X0[:1]),
        ),
    ),
    "q1c": (
        PublicCheck(
            "residual_jacobian",
            "the block with n = 4 (one inner pre-activation exactly 0)",
            (_W1, _W2, _X0),
        ),
        PublicCheck(
            "residual_jacobian",
            "n = 3, one outer pre-activation exactly 0",
            (_V1, _V2, _V0),
        ),
        PublicCheck(
            "residual_jacobian",
            "n = 1, the skip keeps the unit alive",
            (_W1[:1, :1], -_W2[:1, :1], _X0[:1]),
        ),
    ),
    "q2a": (
        PublicCheck("dropout_loss", "N = 5, d = 3, p = 0.7", (_W_CHECK, _X, _Y, 0.7)),
        PublicCheck("dropout_to_ridge_weights", "d = 3, p = 0.7", (_W_CHECK, 0.7)),
        PublicCheck("dropout_gamma", "N = 5, d = 3, p = 0.7", (_X, 0.7)),
        PublicCheck("dropout_gamma", "N = 5, d = 3, p = 0.2", (_X, 0.2)),
    ),
    "q2b": (
        PublicCheck("effective_matrix", "N = 5, d = 3, Gamma not diagonal", (_X, _GAMMA)),
        PublicCheck("ridge_to_tikhonov_weights", "d = 3, Gamma not diagonal", (_W_TILDE, _GAMMA)),
    ),
    "q2c": (
        PublicCheck("effective_column_norm", "p = 0.7", (0.7,)),
        PublicCheck("effective_column_norm", "p = 0.2", (0.2,)),
    ),
}


# Live mutants of the reference (`autograder.mutation`) that pass every public check of their
# question on purpose, keyed by (function, mutation as the report words it), with the reason.
# The mutation gate fails on any other mutant that passes them all.
UNCHECKED_MUTANTS: dict[tuple[str, str], str] = {}

_RUNNER = '''
class CheckFailed(AssertionError):
    """Raised with the one line a student reads about a function that does not pass."""


_STATUS = {}


def _called_names(code):
    """Global names and imported modules a code object (and the code nested in it) uses."""
    names, imported, stack = set(), set(), [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        imported.update(
            i.argval for i in dis.get_instructions(current) if i.opname == "IMPORT_NAME"
        )
        stack += [c for c in current.co_consts if hasattr(c, "co_names")]
    return names, imported


def _home(value):
    """The top-level package a global value comes from, or None for plain data."""
    if inspect.ismodule(value):
        return value.__name__.split(".")[0]
    module = getattr(value, "__module__", None)
    if isinstance(module, str):
        return module.split(".")[0]
    if isinstance(value, np.ufunc) and getattr(np, value.__name__, None) is not value:
        return "a package other than numpy"
    return None


def _foreign_packages(function):
    """Packages other than numpy and Python's own that `function` (or a helper it calls) uses."""
    allowed = {"numpy", "builtins", "__main__", *getattr(sys, "stdlib_module_names", ())}
    found, seen, todo = set(), set(), [function]
    while todo:
        current = todo.pop()
        code = getattr(current, "__code__", None)
        if code is None or id(current) in seen:
            continue
        seen.add(id(current))
        names, imported = _called_names(code)
        found.update(m.split(".")[0] for m in imported)
        for name in names:
            value = current.__globals__.get(name)
            home = _home(value)
            mine = name in CHECKS or getattr(value, "__globals__", None) is current.__globals__
            if home == "__main__" or mine:
                todo.append(value)
            elif home is not None:
                found.add(home)
    return sorted(found - allowed)


def _status(name, env):
    """(state, detail) of one function: state is "passed", "failed", "not attempted",
    "not defined" or "waiting" (a check compares with another function that does not pass)."""
    function = env.get(name)
    key = (name, id(function))
    if key not in _STATUS:
        _STATUS[key] = _run_checks(name, function, env)
    return _STATUS[key]


def _run_checks(name, function, env):
    """Call `function` on each check's arguments and judge it as the hidden grader does."""
    if not callable(function):
        return "not defined", None
    for description, args, expected, against, uses, rtol, atol, strict, hints in CHECKS[name]:
        outcome = call(function, args, strict)
        if outcome.status == "not_attempted":
            return "not attempted", None
        if against is not None:
            blocked = [u for u in uses if _status(u, env)[0] != "passed"]
            if blocked:
                return "waiting", blocked[0]
            expected = eval(against, {"np": np, **{u: env[u] for u in uses}})
        verdict = judge(outcome, expected, rtol, atol, dtype=outcome.dtype)
        if not verdict.passed:
            line = SAY["failed"].format(name=name, description=description, reason=verdict.reason)
            hint = next((h for k, v, h in hints if same_failure(*verdict.signature, k, v)), None)
            return "failed", line + (SAY["hint"].format(hint=hint) if hint else "")
    return "passed", None


def report(name, env):
    """Raise `CheckFailed` with one line about `name`, unless it passes all its checks."""
    state, detail = _status(name, env)
    if state in ("not defined", "not attempted"):
        raise CheckFailed(SAY[state].format(name=name))
    foreign = _foreign_packages(env[name])
    if foreign:
        raise CheckFailed(SAY["foreign"].format(name=name, packages=", ".join(foreign)))
    if state == "waiting":
        why = _status(detail, env)[0]
        raise CheckFailed(
            SAY["waiting"].format(name=name, other=detail, why=WHY[why], todo=TODO[why])
        )
    if state == "failed":
        names, _ = _called_names(env[name].__code__)
        culprits = [n for n in CHECKS if n != name and n in names]
        culprits = [n for n in culprits if _status(n, env)[0] != "passed"]
        if culprits:
            why = WHY[_status(culprits[0], env)[0]]
            raise CheckFailed(SAY["blocked"].format(name=name, other=culprits[0], why=why))
        raise CheckFailed(detail)
'''


def _literal(value: object) -> str:
    """Python source that rebuilds `value` exactly (floats via repr round-trip)."""
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r})" if value.ndim else repr(float(value))
    if isinstance(value, float):
        return repr(value)
    raise TypeError(
        f"public check arguments must be floats or float64 arrays (the input contract), "
        f"not {type(value).__name__}"
    )


def _hints_literal(check: PublicCheck) -> str:
    """Source of the (kind, value, hint) triples of the mistakes that fail this check."""
    expected = np.asarray(solutions.GRADED[check.function](*check.args), dtype=float)
    record = FUNCTIONS[check.function]
    triples = []
    for variant in (m for m in MISTAKES if m.function == check.function):
        verdict = hints.judge_variant(variant, check.args, expected, record.strict)
        if verdict.signature is not None:
            kind, value = verdict.signature
            shown = _literal(value) if isinstance(value, np.ndarray) else repr(value)
            triples.append(f"({kind!r}, {shown}, {variant.hint!r})")
    return "[" + ", ".join(triples) + "]"


def _compare_source() -> str:
    """The code of `autograder.compare` (imports included), without its module docstring."""
    source = inspect.getsource(compare)
    return source[source.index('"""', 3) + 3 :].strip()


def _student_names(expression: str) -> list[str]:
    """Graded function names used in an `against` expression."""
    graded = set(solutions.GRADED)
    return sorted(set(re.findall(r"[A-Za-z_]\w*", expression)) & graded)


def _check_literal(check: PublicCheck, with_hints: bool) -> str:
    """Source of one check as the runner reads it: a tuple of plain values."""
    record = FUNCTIONS[check.function]
    args = "(" + "".join(f"{_literal(a)}, " for a in check.args) + ")"
    expected = "None"
    if check.against is None:
        value = np.asarray(solutions.GRADED[check.function](*check.args), dtype=float)
        expected = _literal(value)
    fields = [
        repr(check.description),
        args,
        expected,
        repr(check.against),
        repr(_student_names(check.against or "")),
        repr(record.tolerance.rtol),
        repr(record.tolerance.atol),
        repr(record.strict),
        _hints_literal(check) if with_hints else "[]",
    ]
    return "        (\n" + "".join(f"            {f},\n" for f in fields) + "        ),"


def checks_of(function: str) -> list[PublicCheck]:
    """The public checks of one graded function, in order."""
    return [c for q in CHECKS.values() for c in q if c.function == function]


def render_test_file(question: str) -> str:
    """Source of the Otter exception-format test file for `question`.

    The file also carries the checks of every function met before the question's own, without
    hints: a function that calls one of them, or a check that compares with one, can then say
    which function to fix first.
    """
    graded = list(solutions.GRADED)
    functions = next(q.functions for q in spec.QUESTIONS if q.name == question)
    known = graded[: graded.index(functions[-1]) + 1]
    lines = [
        f'"""Public checks for {question}. Generated by `python -m autograder build`."""',
        "",
        _compare_source(),
        "",
        "import dis  # noqa: E402",
        "import inspect  # noqa: E402",
        "import sys  # noqa: E402",
        "",
        "from otter.test_files import test_case  # noqa: E402",
        "",
        "OK_FORMAT = False",
        f"name = {question!r}",
        "points = None",
        "# What a student reads (autograder.wording)",
        *(
            f"{name} = {pprint.pformat(value, width=100, sort_dicts=False)}"
            for name, value in (
                ("SAY", wording.CHECK_LINES),
                ("WHY", wording.CHECK_WHY),
                ("TODO", wording.CHECK_TODO),
            )
        ),
        "",
        "",
        _RUNNER.strip(),
        "",
        "",
        "# (description, args, expected, against, uses, rtol, atol, strict, hints) per check",
        "CHECKS = {",
    ]
    for function in known:
        lines.append(f"    {function!r}: [")
        lines += [_check_literal(c, function in functions) for c in checks_of(function)]
        lines.append("    ],")
    lines.append("}")
    for function in functions:
        passed = wording.check_passed(function, len(checks_of(function)))
        lines += [
            "",
            "",
            f"@test_case(name={function!r}, success_message={passed!r})",
            f"def check_{function}(env):",
            f"    report({function!r}, env)",
        ]
    return "\n".join(lines) + "\n"


def render_all() -> dict[str, str]:
    """Every public test file, keyed by its path in Otter's layout (``tests/q1a.py``)."""
    return {f"tests/{q.name}.py": render_test_file(q.name) for q in spec.QUESTIONS}
