"""Recognise a catalogued mistake in a failing result, to show its hint.

A mistake's result on a case is computed here, in the grading process (the catalogue is
our own code), the way the sandbox calls a student's function: on copies of the arguments,
with numpy warnings as errors where the question asks for stability. Results are summed up
as in `compare.same_failure`.
"""

import functools

import numpy as np

import solutions

from . import compare
from .cases import FUNCTIONS, Tolerance
from .variants import MISTAKES, Variant


def failure_of(
    result: np.ndarray | None,
    error: str | None,
    modified: bool,
    expected: np.ndarray,
    tolerance: Tolerance,
) -> tuple[str, object] | None:
    """How a result fails: ``("raised", type)``, ``("value", array)``, ``("modified", None)``."""
    if error is not None:
        return ("raised", error)
    if result is None:
        return None
    if compare.mismatch(result, expected, tolerance.rtol, tolerance.atol) is not None:
        return ("value", result)
    return ("modified", None) if modified else None


@functools.cache
def _implementation(variant: Variant):
    env = {"np": np, **solutions.GRADED}
    exec(variant.source, env)  # noqa: S102 - the catalogue is the project's own code
    return env[variant.function]


def run_variant(
    variant: Variant, args: tuple, strict: bool
) -> tuple[np.ndarray | None, str | None, bool]:
    """(result as float array or None, exception type name or None, arguments modified)."""
    try:
        result, given = compare.call_on_copies(_implementation(variant), args, strict)
    except Exception as error:  # noqa: BLE001 - a mistake may raise anything
        return None, type(error).__name__, False
    array, problem = compare.as_float_array(result)
    modified = any(compare.changed(b, a) for b, a in zip(args, given, strict=True))
    return array, ("unconvertible" if problem else None), modified


class Hints:
    """Mistakes' failures on the hidden cases, computed on demand and kept for the batch."""

    def __init__(self, table: dict):
        self.table = table
        self._cache: dict[tuple[str, int], list[tuple[Variant, tuple]]] = {}

    def _failures(self, function: str, index: int) -> list[tuple[Variant, tuple]]:
        key = (function, index)
        if key not in self._cache:
            expected = self.table[function][index]
            strict = FUNCTIONS[function].strict
            found = []
            for variant in (m for m in MISTAKES if m.function == function):
                result, error, modified = run_variant(variant, expected.case.args, strict)
                failure = failure_of(
                    result, error, modified, expected.value, FUNCTIONS[function].tolerance
                )
                if failure is not None:
                    found.append((variant, failure))
            self._cache[key] = found
        return self._cache[key]

    def hint(self, function: str, failures: list[tuple[int, tuple]]) -> str | None:
        """The hint of the mistake that explains the first failing case (and most others)."""
        mistake = self.match(function, failures)
        return mistake.hint if mistake else None

    def match(self, function: str, failures: list[tuple[int, tuple]]) -> Variant | None:
        """The catalogued mistake that explains the first failing case (and most others)."""
        if not failures:
            return None
        first_index, first = failures[0]
        candidates = [
            v for v, f in self._failures(function, first_index) if compare.same_failure(*first, *f)
        ]
        if not candidates:
            return None

        def explained(variant: Variant) -> int:
            return sum(
                any(
                    v is variant and compare.same_failure(*failure, *f)
                    for v, f in self._failures(function, i)
                )
                for i, failure in failures
            )

        return max(candidates, key=explained)
