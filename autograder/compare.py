"""Compare a returned value with the expected one, in the vocabulary of numpy.testing.

This module imports nothing but the standard library and numpy, because its source is also
copied into the public test files that students run in their notebook and run by the
sandboxed worker. All three call functions and judge results with the same code, so public
and hidden feedback read alike. No message quotes an expected value, only shapes, counts and
error sizes.
"""

import copy
import warnings

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


def mismatch(
    actual: np.ndarray, expected: np.ndarray, rtol: float, atol: float, digits: int = 3
) -> str | None:
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
    str or None
        A one-line description of the first failing stage, or None.
    """
    if actual.shape == expected.shape and bool(
        (np.abs(actual - expected) <= atol + rtol * np.abs(expected)).all()
    ):
        return None  # the common case, in one pass (NaN and inf never pass it)
    if actual.shape != expected.shape:
        want = "a scalar" if expected.shape == () else f"shape {expected.shape}"
        got = "a scalar" if actual.shape == () else f"shape {actual.shape}"
        return f"wrong shape: returned {got}, expected {want}"
    bad = ~np.isfinite(actual)
    if bad.any():
        return f"not finite: {int(bad.sum())} / {actual.size} entries are NaN or infinite"
    error = np.abs(actual - expected)
    wrong = error > atol + rtol * np.abs(expected)
    if not wrong.any():
        return None
    with np.errstate(all="ignore"):
        relative = np.where(expected != 0, error / np.abs(expected), np.inf)
    return (
        f"not close: mismatched elements {int(wrong.sum())} / {wrong.size} "
        f"({100 * wrong.mean():.3g}%), max abs error {error.max():.{digits}g}, "
        f"max rel error {relative[wrong].max():.{digits}g} (rtol={rtol:g}, atol={atol:g})"
    )


def same_failure(kind: str, value: object, mistake_kind: str, mistake_value: object) -> bool:
    """Whether a failing result looks like a catalogued mistake's result on the same input.

    A result is summed up as a kind and a value: ``("value", array)``, ``("raised", type
    name)`` or ``("modified", None)`` (right value, but an argument was changed).
    """
    if kind != mistake_kind:
        return False
    if kind != "value":
        return value == mistake_value
    actual, mistaken = np.asarray(value), np.asarray(mistake_value)
    if actual.shape != mistaken.shape:
        return False
    return bool(np.allclose(actual, mistaken, rtol=1e-6, atol=1e-9, equal_nan=True))
