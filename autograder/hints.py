"""Recognise a catalogued mistake in a failing result, to show its hint.

A mistake's result on a case is computed here, in the grading process (the catalogue is
our own code), the way the sandbox calls a student's function (`compare.call`: on copies of
the arguments, with numpy warnings as errors where the question asks for stability), and
judged by `compare.judge`, as the student's result is; a student's failure and a mistake's
are alike when their verdicts' signatures are (`compare.same_failure`).
"""

import functools

import numpy as np

import solutions

from . import compare
from .cases import FUNCTIONS
from .variants import MISTAKES, Variant


@functools.cache
def _implementation(variant: Variant):
    env = {"np": np, **solutions.GRADED}
    exec(variant.source, env)  # noqa: S102 - the catalogue is the project's own code
    return env[variant.function]


def run_variant(variant: Variant, args: tuple, strict: bool) -> compare.Outcome:
    """What `variant` produces on `args`, called as a student's function is."""
    return compare.call(_implementation(variant), args, strict)


def judge_variant(
    variant: Variant, args: tuple, expected: object, strict: bool, digits: int = 3
) -> compare.Verdict:
    """The verdict on `variant` called on `args`, as the hidden grader reaches it.

    Results are judged in float64, as the sandbox returns them: a narrower float type is not
    held against a variant, as it is not against a student's function on the hidden cases.
    """
    tolerance = FUNCTIONS[variant.function].tolerance
    outcome = run_variant(variant, args, strict)
    return compare.judge(outcome, expected, tolerance.rtol, tolerance.atol, digits)


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
                verdict = judge_variant(variant, expected.case.args, expected.value, strict)
                if verdict.signature is not None:
                    found.append((variant, verdict.signature))
            self._cache[key] = found
        return self._cache[key]

    def match(self, function: str, failures: list[tuple[int, tuple]]) -> Variant | None:
        """The catalogued mistake that explains the first failing case (and most others).

        `failures` are (index of the hidden case, the verdict's signature) of the student's
        failing cases that have a signature.
        """
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
