"""The verdict on one call of a graded function, and the wording of verdicts.

`judge` decides, for the hidden grader, for the catalogued mistakes' hints and for the public
checks alike, whether a call passed and, if not, at which stage it failed: a `Verdict` holds
a status code to branch on, the one line a student reads, and the signature catalogued
mistakes are matched on. The sentences about one call (raised, not a float array, wrong
shape, not finite, not close, modified an argument) are worded here, and only here; all
other student-facing text is in `autograder.wording`. No sentence quotes an expected value,
only shapes, counts and error sizes, in the vocabulary of numpy.testing.

This module imports nothing but the standard library and numpy, because its source is also
copied into the public test files that students run in their notebook and loaded by the
sandboxed worker (which calls functions with `call_on_copies` and converts results with
`as_float_array`).
"""

import copy
import warnings
from typing import NamedTuple

import numpy as np

# For functions that must be numerically stable: an overflow warning is an error.
STRICT_ERRSTATE = {"over": "raise", "divide": "raise", "invalid": "raise"}


def call_on_copies(function, args, strict: bool) -> tuple[object, list]:
    """Call `function` on copies of `args`; return its result and the copies afterwards.

    With `strict`, numpy warnings (overflow, say) are raised as errors; otherwise ignored.
    """
    given = [a.copy() if isinstance(a, np.ndarray) else copy.deepcopy(a) for a in args]
    with warnings.catch_warnings():
        warnings.simplefilter("error" if strict else "ignore")
        with np.errstate(**(STRICT_ERRSTATE if strict else {"all": "ignore"})):
            return function(*given), given


def changed(before: object, after: object) -> bool:
    """Whether an argument was changed in place by the call (bytes compared for arrays)."""
    try:
        if isinstance(before, np.ndarray):
            return not (
                isinstance(after, np.ndarray)
                and after.shape == before.shape
                and after.tobytes() == before.tobytes()
            )
        return bool(after != before)
    except Exception:  # noqa: BLE001 - an argument mangled beyond comparison counts as changed
        return True


def as_float_array(value: object) -> tuple[np.ndarray | None, str | None]:
    """Convert a returned value to a float64 array, or explain why it cannot be.

    Parameters
    ----------
    value : object
        What the function returned.

    Returns
    -------
    tuple of (numpy.ndarray or None, str or None)
        The array and ``None``, or ``None`` and a one-line reason.
    """
    if value is None:
        return None, "returned None (is a `return` statement missing?)"
    if isinstance(value, (bool, np.bool_)):
        return None, "returned a bool, not a number"
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError):
        raw = None
    if raw is None or raw.dtype.kind not in "iuf":
        what = "complex numbers" if raw is not None and raw.dtype.kind == "c" else "values"
        return None, (
            f"returned a {type(value).__name__} of {what} that is not convertible to a float array"
        )
    array = raw.astype(np.float64)
    return array, None


# What a returned value is, as far as the docstrings' promises go (`form_of`): a float (Python's,
# or numpy's float64, which is one), anything whose dtype is float64, a narrower float type, or
# something else that converts (a list, an int).
FORMS = ("float", "float64", "narrow", "other")


def form_of(value: object) -> str:
    """The `FORMS` word for a returned value that `as_float_array` accepted."""
    if isinstance(value, float):
        return "float"
    dtype = getattr(value, "dtype", None)
    if isinstance(dtype, np.dtype) and dtype.kind == "f":
        return "float64" if dtype.itemsize == 8 else "narrow"
    return "other"


# The promises a docstring makes of every result besides its value, each judged on every
# hidden case where it applies, by `broken_promises`:
UNCHANGED = "unchanged"  # "The arguments are not modified": applies where an argument is an array
FLOAT = "float"  # "a Python float": applies where the reference returns one
FLOAT64 = "float64"  # "computed in float64": no narrower float type


def broken_promises(outcome, promised: frozenset) -> set[str]:
    """Which of the `promised` promises a call that returned a value (``ok``) broke."""
    broken = set()
    if UNCHANGED in promised and outcome.modified:
        broken.add(UNCHANGED)
    if FLOAT in promised and outcome.form != "float":
        broken.add(FLOAT)
    if FLOAT64 in promised and outcome.form == "narrow":
        broken.add(FLOAT64)
    return broken


class Status:
    """What a verdict says of one call: codes to branch on (the reason is for reading only)."""

    PASSED = "passed"
    NOT_ATTEMPTED = "not_attempted"  # it raises NotImplementedError, as the stub does
    NOT_DEFINED = "not_defined"
    RAISED = "raised"
    UNCONVERTIBLE = "unconvertible"  # returned something that is not a float array
    WRONG_SHAPE = "wrong_shape"
    NOT_FINITE = "not_finite"
    NOT_CLOSE = "not_close"
    NOT_FLOAT64 = "not_float64"  # right values in a narrower float type (public checks only)
    MODIFIED = "modified"  # right values, but an argument was changed in place (public checks)
    BROKEN_PROMISE = "broken_promise"  # a requirement of the docstring not met (hidden tests)
    TIMEOUT = "timeout"  # the sandbox stopped the call
    CRASHED = "crashed"  # the call ended the sandboxed process
    SKIPPED = "skipped"  # not run: an earlier case of the same function timed out or crashed
    STOPPED = "stopped"  # not run: the submission ran out of time, or its worker ended early


def mismatch(
    actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float, digits: int = 3
) -> tuple[str, str] | None:
    """Describe how `actual` differs from `expected`, or return None when they agree.

    The stages are: wrong shape, not finite, not close (``|a - e| <= atol + rtol * |e|``
    elementwise, as in `numpy.allclose`).

    Parameters
    ----------
    actual, expected : numpy.ndarray
        Float64 arrays; `expected` is finite.
    rtol, atol : float
        Relative and absolute tolerance.
    digits : int
        Significant digits of the reported errors. Hidden tests report one, so that the
        error next to the student's own output does not give the expected value away.

    Returns
    -------
    tuple of (str, str) or None
        The first failing stage (a `Status` code) and a one-line description of it, or None.
    """
    if actual.shape == expected.shape and bool(
        (np.abs(actual - expected) <= atol + rtol * np.abs(expected)).all()
    ):
        return None  # the common case, in one pass (NaN and inf never pass it)
    if actual.shape != expected.shape:
        want = "a scalar" if expected.shape == () else f"shape {expected.shape}"
        got = "a scalar" if actual.shape == () else f"shape {actual.shape}"
        return Status.WRONG_SHAPE, f"wrong shape: returned {got}, expected {want}"
    bad = ~np.isfinite(actual)
    if bad.any():
        return (
            Status.NOT_FINITE,
            f"not finite: {int(bad.sum())} / {actual.size} entries are NaN or infinite",
        )
    error = np.abs(actual - expected)
    wrong = error > atol + rtol * np.abs(expected)
    if not wrong.any():
        return None
    with np.errstate(all="ignore"):
        relative = np.where(expected != 0, error / np.abs(expected), np.inf)
    return Status.NOT_CLOSE, (
        f"not close: mismatched elements {int(wrong.sum())} / {wrong.size} "
        f"({100 * wrong.mean():.3g}%), max abs error {error.max():.{digits}g}, "
        f"max rel error {relative[wrong].max():.{digits}g} (rtol={rtol:g}, atol={atol:g})"
    )


class Outcome(NamedTuple):
    """What one call produced, before it is judged.

    The fields are those of `autograder.sandbox.Outcome`, which describes a call made in the
    sandbox, and the result's own type; this one describes a call made in this process
    (`call`), by the public checks and for the catalogued mistakes. `status` is ``ok``
    (then `value`, the result as a float64 array, and `modified`), ``not_defined``,
    ``not_attempted``, ``error`` (then `error_type`), ``unconvertible``, or, in the sandbox
    only, ``timeout``, ``crashed``, ``skipped`` or ``stopped``; `message` explains an
    error, an unconvertible result, and the sandbox's own statuses.
    """

    status: str
    message: str = ""
    value: np.ndarray | None = None
    modified: bool = False
    error_type: str | None = None
    dtype: np.dtype | None = None  # of the result as returned (known only in this process)
    form: str | None = None  # `form_of` the result as returned


class Verdict(NamedTuple):
    """The judgement on one call.

    Attributes
    ----------
    status : str
        A `Status` code: what to branch on.
    reason : str
        Why the call failed, in the one line a student reads; empty when it passed.
    signature : tuple or None
        How it failed, as catalogued mistakes are matched on (`same_failure`):
        ``("value", array)``, ``("raised", type name)``, ``("raised", "unconvertible")`` or
        ``("modified", None)``; None when it passed or never produced a result.
    """

    status: str
    reason: str = ""
    signature: tuple | None = None

    @property
    def passed(self) -> bool:
        return self.status == Status.PASSED


def call(function: object, args: tuple, strict: bool) -> Outcome:
    """Call `function` here as the sandbox calls a student's function, on copies of `args`."""
    if not callable(function):
        return Outcome("not_defined")
    try:
        result, given = call_on_copies(function, args, strict)
    except NotImplementedError:
        return Outcome("not_attempted", error_type="NotImplementedError")
    except Exception as error:  # noqa: BLE001 - whatever it raises is the verdict
        name = type(error).__name__
        return Outcome("error", f"{name}: {error}", error_type=name)
    array, problem = as_float_array(result)
    if problem is not None:
        return Outcome("unconvertible", problem)
    modified = any(changed(b, a) for b, a in zip(args, given, strict=True))
    dtype = np.asarray(result).dtype
    return Outcome("ok", value=array, modified=modified, dtype=dtype, form=form_of(result))


def judge(
    outcome: Outcome,
    expected: object,
    rtol: float,
    atol: float,
    digits: int = 3,
    dtype: np.dtype | None = None,
    values_only: bool = False,
) -> Verdict:
    """The verdict on one call: the first stage it fails, worded, or passed.

    Parameters
    ----------
    outcome : Outcome or autograder.sandbox.Outcome
        What the call produced.
    expected : array_like
        The right value (finite), compared as float64.
    rtol, atol : float
        The function's tolerance.
    digits : int
        Significant digits of reported errors (see `mismatch`).
    dtype : numpy.dtype, optional
        The result's own type: a float type narrower than float64 fails, as the docstrings
        ask for float64. Only a call made in this process knows it.
    values_only : bool
        Judge the value alone: the hidden grader judges an argument changed in place (and the
        other promises, `broken_promises`) as criteria of their own, so that a right value
        earns its criteria whatever else the call did.
    """
    status = outcome.status
    if status == "ok":
        value = outcome.value
        found = mismatch(value, np.asarray(expected, dtype=float), rtol, atol, digits)
        if found is not None:
            return Verdict(found[0], found[1], ("value", value))
        if dtype is not None and dtype.kind == "f" and dtype.itemsize < 8:
            reason = f"returned {dtype} values; the docstring asks for float64"
            return Verdict(Status.NOT_FLOAT64, reason, ("value", value))
        if outcome.modified and not values_only:
            reason = "modified one of its arguments (work on a copy instead)"
            return Verdict(Status.MODIFIED, reason, ("modified", None))
        return Verdict(Status.PASSED)
    if status == "error":
        return Verdict(Status.RAISED, f"raised {outcome.message}", ("raised", outcome.error_type))
    if status == "unconvertible":
        return Verdict(Status.UNCONVERTIBLE, outcome.message, ("raised", "unconvertible"))
    if status == "not_attempted":
        return Verdict(Status.NOT_ATTEMPTED, "not attempted (it still raises NotImplementedError)")
    if status == "not_defined":
        return Verdict(Status.NOT_DEFINED, "is not defined in the submission")
    return Verdict(_NOT_JUDGED[status], outcome.message)


def judge_case(
    outcome: Outcome,
    expected: object,
    promised: frozenset,
    rtol: float,
    atol: float,
    digits: int = 1,
) -> tuple[Verdict, set[str] | None]:
    """The hidden grader's judgement of one call: the verdict on its value alone (`judge`)
    and the `promised` promises it broke. Promises are judged only where the value passed
    (None otherwise): one slip, a shape-(1,) array for a scalar say, costs once, under the
    values."""
    verdict = judge(outcome, expected, rtol, atol, digits, values_only=True)
    if not verdict.passed:
        return verdict, None
    return verdict, broken_promises(outcome, promised)


# Statuses only the sandbox gives, and that only it can word: the call never returned.
_NOT_JUDGED = {
    "timeout": Status.TIMEOUT,
    "crashed": Status.CRASHED,
    "skipped": Status.SKIPPED,
    "stopped": Status.STOPPED,
}


def case_signature(verdict: Verdict, broken: set[str] | None) -> tuple | None:
    """How a call differs from the reference's, as mistakes are matched on; None where it
    does not (its value passed and it changed no argument).

    The value's verdict signature (None when the value passed; ``("unjudged", status)`` when
    the call produced nothing to compare, a timeout say, which matches no mistake), and
    whether it changed an argument in place."""
    modified = bool(broken) and UNCHANGED in broken
    if verdict.passed:
        return (None, True) if modified else None
    value = verdict.signature
    if value is None or value[0] == "modified":
        value = ("unjudged", verdict.status)
    return (value, modified)


def same_failure(kind: str, value: object, mistake_kind: str, mistake_value: object) -> bool:
    """Whether a failing result looks like a catalogued mistake's result on the same input.

    A result is summed up as a kind and a value: a `Verdict`'s signature.
    """
    if kind != mistake_kind:
        return False
    if kind != "value":
        return value == mistake_value
    actual, mistaken = np.asarray(value), np.asarray(mistake_value)
    if actual.shape != mistaken.shape:
        return False
    return bool(np.allclose(actual, mistaken, rtol=1e-6, atol=1e-9, equal_nan=True))
