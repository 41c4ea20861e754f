"""Recognise a catalogued mistake in a failing result, to show its hint.

A mistake's result on a case is computed here, in the grading process (the catalogue is
our own code), the way the sandbox calls a student's function (`compare.call`: on copies of
the arguments, with numpy warnings as errors where the question asks for stability), and
judged by the one judge (`GradedFunction.judge`), as the student's result is. A mistake
is named only when it was made: when the student's function agrees with it (`same_failure`:
the same value within a tight tolerance, or the same exception) on every hidden case where
the mistake differs from the reference. The hint, results.json's ``extra_data``, the class
report and ``mistakes.csv`` all take what `Hints.match` decides."""

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


def _agree(student: tuple | None, mistake: tuple) -> bool:
    """Whether a student's call agrees with a mistake's on a case where the mistake differs
    from the reference: the same change of an argument and, for the value, the same failure
    (`compare.same_failure`: values alike within a tight tolerance, or the same exception)."""
    if student is None or student[1] != mistake[1]:
        return False
    if student[0] is None or mistake[0] is None:
        return student[0] is mistake[0]
    return compare.same_failure(*student[0], *mistake[0])


class Hints:
    """Each catalogued mistake's signature on every hidden case, computed on demand and kept
    for the batch; `match` decides which mistake, if any, a student's function made."""

    def __init__(self, table: dict):
        self.table = table
        self._profiles: dict[str, list[tuple[Variant, list[tuple | None]]]] = {}

    def profiles(self, function: str) -> list[tuple[Variant, list[tuple | None]]]:
        """Every mistake of `function` with its `case_signature` on each hidden case."""
        if function not in self._profiles:
            strict = FUNCTIONS[function].strict
            found = []
            for variant in (m for m in MISTAKES if m.function == function):
                profile = []
                for expected in self.table[function]:
                    # the one judge, as for a student's function
                    outcome = run_variant(variant, expected.case.args, strict)
                    judged = FUNCTIONS[function].judge(outcome, expected.value, expected.promised)
                    profile.append(compare.case_signature(*judged))
                found.append((variant, profile))
            self._profiles[function] = found
        return self._profiles[function]

    def match(self, function: str, signatures: list[tuple | None]) -> Variant | None:
        """The catalogued mistake the student's function made, or None.

        `signatures` holds the student's `case_signature` on each hidden case. A mistake
        matches only when the student's function agrees with it on every case where the
        mistake differs from the reference (and there is at least one): an exception never
        matches a value, a timeout matches nothing. Of several that match, the one that
        explains most of the student's failing cases (the first declared, on a tie).
        """
        if all(s is None for s in signatures):
            return None
        best, explained = None, 0
        for variant, profile in self.profiles(function):
            differs = [i for i, m in enumerate(profile) if m is not None]
            if not differs or not all(_agree(signatures[i], profile[i]) for i in differs):
                continue
            if len(differs) > explained:
                best, explained = variant, len(differs)
        return best
