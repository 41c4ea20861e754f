"""The public sanity checks behind ``grader.check``, declared as data and rendered as Otter tests.

Inputs are chosen so that the usual slips cannot pass by accident: pre-activations of both
signs, an exact ReLU kink, p != 0.5, N != d, a Tikhonov matrix that is not diagonal. Expected
values come from the reference at build time; a check with `against` compares instead with an
expression in the student's own functions, so it gives away no answer.
"""

import inspect
import re
from dataclasses import dataclass

import numpy as np

import solutions

from . import compare, hints, spec
from .variants import MISTAKES


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
        Positional arguments: floats or numpy arrays (given to students as arrays).
    against : str or None
        A Python expression, in numpy and the student's functions, to compare with instead
        of the reference value.
    no_warnings : bool
        Whether a numpy warning (overflow, say) during the call fails the check.
    """

    function: str
    description: str
    args: tuple = ()
    against: str | None = None
    no_warnings: bool = False


_MIXED = np.array([-3.0, -0.5, 0.0, 2.0, 30.0])
_EXTREME = np.array([[-1.0e4, 1.0e4], [-800.0, 745.0]])

# n = 4: W1 @ X0 = [1, -1.58, 0, 0.1] has an exact kink; W2 @ ReLU(W1 @ X0) + X0 has both signs.
_W1 = np.array(
    [[1.0, 0.5, 0.0, -1.0], [-0.5, -1.0, 0.3, 0.2], [1.0, -1.0, 0.0, 0.0], [0.2, 0.0, 0.5, 0.4]]
)
_W2 = np.array(
    [[0.5, -1.0, 0.3, 0.0], [-2.0, 0.4, 1.0, -0.1], [0.1, 0.0, -0.7, 0.9], [0.0, 0.6, 0.2, -1.5]]
)
_X0 = np.array([1.0, 1.0, -0.6, 0.5])

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
        PublicCheck(
            "sigmoid",
            "2-D input of huge |x|: shape kept, no overflow",
            (_EXTREME,),
            no_warnings=True,
        ),
        PublicCheck("sigmoid_grad", "values at x = [-3, -0.5, 0, 2, 30]", (_MIXED,)),
        PublicCheck(
            "sigmoid_grad",
            "2-D input of huge |x|: shape kept, no overflow",
            (_EXTREME,),
            no_warnings=True,
        ),
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
            "the block with n = 4 (one pre-activation exactly 0)",
            (_W1, _W2, _X0),
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

_RUNNER = '''
def _check(function, name, args, expected, rtol, atol, strict=False, hints=()):
    """Call a student function on copies of `args` and compare with `expected`.

    On failure, a catalogued mistake with the same result on these inputs adds its hint.
    """
    if not callable(function):
        raise AssertionError(f"{name} is not defined: run the cell that defines it")
    raised = None
    try:
        result, given = call_on_copies(function, args, strict)
    except NotImplementedError as missing:
        raise AssertionError(f"not attempted: {missing}") from None
    except Exception as error:
        raised = error
    if callable(expected):
        try:
            expected = expected()
        except NotImplementedError as missing:
            raise AssertionError(f"this check of {name} needs {missing}") from None
    if raised is not None:
        problem = f"raised {type(raised).__name__}: {raised}"
        failure = ("raised", type(raised).__name__)
    else:
        actual, problem = as_float_array(result)
        failure = ("raised", "unconvertible")
        if problem is None:
            problem = mismatch(actual, np.asarray(expected, dtype=float), rtol, atol)
            failure = ("value", actual)
        if problem is None and any(changed(b, a) for b, a in zip(args, given)):
            problem = "modified one of its arguments (work on a copy instead)"
            failure = ("modified", None)
    if problem is not None:
        hint = next((h for kind, value, h in hints if same_failure(*failure, kind, value)), None)
        raise AssertionError(f"{name}: {problem}" + (f"\\nHint: {hint}" if hint else ""))
'''


def _literal(value: object) -> str:
    """Python source that rebuilds `value` exactly (floats via repr round-trip)."""
    if isinstance(value, np.ndarray):
        return f"np.array({value.tolist()!r})" if value.ndim else repr(float(value))
    if isinstance(value, float):
        return repr(value)
    raise TypeError(f"public check arguments must be floats or arrays, not {type(value).__name__}")


def _hints_literal(check: PublicCheck) -> str:
    """Source of the (kind, value, hint) triples of the mistakes that fail this check."""
    expected = np.asarray(solutions.GRADED[check.function](*check.args), dtype=float)
    triples = []
    for variant in (m for m in MISTAKES if m.function == check.function):
        result, error, modified = hints.run_variant(variant, check.args, check.no_warnings)
        failure = hints.failure_of(
            result, error, modified, expected, spec.TOLERANCES[check.function]
        )
        if failure is not None:
            kind, value = failure
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


def render_test_file(question: str) -> str:
    """Source of the Otter exception-format test file for `question`."""
    lines = [
        f'"""Public checks for {question}. Generated by `python -m autograder build`."""',
        "",
        _compare_source(),
        "",
        "from otter.test_files import test_case  # noqa: E402",
        "",
        "OK_FORMAT = False",
        f"name = {question!r}",
        "points = None",
        "",
        "",
        _RUNNER.strip(),
    ]
    for number, check in enumerate(CHECKS[question], start=1):
        tolerance = spec.TOLERANCES[check.function]
        args = "(" + "".join(f"{_literal(a)}, " for a in check.args) + ")"
        lines += ["", f"_ARGS_{number} = {args}"]
        if check.against is None:
            value = np.asarray(solutions.GRADED[check.function](*check.args), dtype=float)
            lines.append(
                f"_EXPECTED_{number} = {_literal(value) if value.ndim else repr(float(value))}"
            )
            expected = f"_EXPECTED_{number}"
        else:
            # A lambda inside the test sees the student's functions passed in as parameters.
            expected = f"lambda: {check.against}"
        lines.append(f"_HINTS_{number} = {_hints_literal(check)}")
        used = _student_names(check.against or "")
        params = [check.function, *(n for n in used if n != check.function)]
        lines += [
            "",
            "",
            f"@test_case(name={f'{check.function}: {check.description}'!r})",
            f"def test_{number}({', '.join(params)}):",
            f"    _check({check.function}, {check.function!r}, _ARGS_{number}, {expected}, "
            f"{tolerance.rtol!r}, {tolerance.atol!r}, {check.no_warnings!r}, _HINTS_{number})",
        ]
    return "\n".join(lines) + "\n"


def render_all() -> dict[str, str]:
    """Every public test file, keyed by its path relative to the notebook (``tests/q1a.py``)."""
    return {f"tests/{q.name}.py": render_test_file(q.name) for q in spec.QUESTIONS}
