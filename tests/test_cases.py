"""The hidden cases are many, varied, reproducible, and the edge cases are what they claim."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import solutions
from autograder import cases, spec
from autograder.release import public_checks, structure

REPO = Path(__file__).resolve().parent.parent

ALL = cases.all_hidden_cases()


def by_label(function: str, label: str) -> tuple:
    (case,) = [c for c in ALL[function] if c.label == label]
    return case.args


def test_every_graded_function_has_cases():
    assert set(ALL) == {f for q in spec.QUESTIONS for f in q.functions}


@pytest.mark.parametrize("function", [f for f in ALL if ALL[f][0].args])  # take arguments
def test_at_least_twenty_random_cases_and_some_edge_cases(function):
    labels = [c.label for c in ALL[function]]
    assert sum(label.startswith("random") for label in labels) >= cases.RANDOM_CASES >= 20
    assert sum(label.startswith("edge") for label in labels) >= structure.MIN_EDGE_CASES >= 3


def test_cases_are_reproducible_and_differ_between_functions():
    again = cases.all_hidden_cases()
    for function, original in ALL.items():
        for a, b in zip(original, again[function], strict=True):
            assert a.label == b.label
            for x, y in zip(a.args, b.args, strict=True):
                np.testing.assert_array_equal(x, y)
    assert not np.array_equal(ALL["dropout_gamma"][0].args[0], ALL["dropout_loss"][0].args[1])


def test_every_case_passes_only_what_the_contract_promises():
    # float64 arrays and Python floats, nothing else: no lists, no ints, no other dtypes.
    for function, rows in ALL.items():
        for case in rows:
            for arg in case.args:
                assert type(arg) is float or (
                    type(arg) is np.ndarray and arg.dtype == np.float64
                ), (function, case.label, type(arg))


# ## The records: one per graded function, every registry derived from them


def test_questions_answer_key_and_public_checks_take_their_functions_from_the_records():
    in_notebook_order = [f for q in spec.QUESTIONS for f in q.functions]
    assert list(solutions.GRADED) == in_notebook_order
    assert sorted(in_notebook_order) == sorted(cases.FUNCTIONS)
    for name, record in cases.FUNCTIONS.items():
        assert spec.question_of(name).name == record.question
        assert solutions.GRADED[name] is getattr(solutions, name)
        for check in public_checks.checks_of(name):
            literal = public_checks._check_literal(check, with_hints=False)
            assert f"            {record.strict!r},\n" in literal, (name, check.description)


def test_a_function_declared_twice_keeps_its_first_record_and_the_build_refuses_it(
    monkeypatch,
):
    monkeypatch.setattr(cases, "DECLARED_TWICE", [])
    first = cases.FUNCTIONS["sigmoid"]
    cases.graded("sigmoid", "q1a", ())(lambda rng: [])
    assert cases.FUNCTIONS["sigmoid"] is first
    assert structure.record_problems() == [
        "autograder/cases.py: sigmoid is declared twice: keep one @graded('sigmoid', ...)"
    ]


def test_a_record_that_names_no_question_is_refused(monkeypatch):
    orphan = cases.GradedFunction("orphan", "q3a", lambda rng: [], ())
    monkeypatch.setitem(cases.FUNCTIONS, "orphan", orphan)
    with pytest.raises(KeyError, match="the record of orphan names 'q3a', not a question"):
        spec.question_of("orphan")


def test_the_questions_can_be_read_without_numpy():
    # The sandbox imports spec (for its limits) and boots while the grader imports numpy.
    code = "import sys, autograder.spec; sys.exit('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0
