"""The hidden cases are many, varied, reproducible, and the edge cases are what they claim."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import solutions
from autograder import cases, spec
from autograder.release import public_checks

REPO = Path(__file__).resolve().parent.parent

ALL = cases.all_hidden_cases()


def by_label(function: str, label: str) -> tuple:
    (case,) = [c for c in ALL[function] if c.label == label]
    return case.args


def test_every_graded_function_has_cases():
    assert set(ALL) == {f for q in spec.QUESTIONS for f in q.functions}


@pytest.mark.parametrize("function", [f for f in ALL if f != "max_sigmoid_grad"])
def test_at_least_twenty_random_cases_and_some_edge_cases(function):
    labels = [c.label for c in ALL[function]]
    assert sum(label.startswith("random") for label in labels) >= 20
    assert sum(label.startswith("edge") for label in labels) >= 3


def test_cases_are_reproducible_and_differ_between_functions():
    again = cases.all_hidden_cases()
    for function, original in ALL.items():
        for a, b in zip(original, again[function], strict=True):
            assert a.label == b.label
            for x, y in zip(a.args, b.args, strict=True):
                np.testing.assert_array_equal(x, y)
    assert not np.array_equal(ALL["dropout_gamma"][0].args[0], ALL["dropout_loss"][0].args[1])


def test_random_sizes_vary_and_design_matrices_are_not_square():
    sizes = {c.args[2].shape[0] for c in ALL["residual_block"] if c.label.startswith("random")}
    assert min(sizes) <= 3 and max(sizes) >= 30
    for function in ("dropout_gamma", "effective_matrix"):
        for case in ALL[function]:
            if case.label.startswith("random"):
                N, d = np.shape(case.args[0])
                assert N != d


def test_random_gammas_are_invertible_and_not_diagonal():
    for function, position in (("effective_matrix", 1), ("ridge_to_tikhonov_weights", 1)):
        for case in ALL[function]:
            if case.label.startswith("random") and np.shape(case.args[position])[0] > 1:
                gamma = np.asarray(case.args[position])
                assert np.linalg.cond(gamma) < 1e3
                assert np.count_nonzero(gamma - np.diag(np.diag(gamma))) > 0


def test_block_edge_cases_have_the_stated_activation_pattern():
    W1, W2, x0 = by_label("residual_jacobian", "edge: inner pre-activations exactly 0")
    assert np.count_nonzero(W1 @ x0 == 0.0) >= 2
    W1, W2, x0 = by_label("residual_jacobian", "edge: every inner unit dead")
    assert np.all(W1 @ x0 < 0)
    W1, W2, x0 = by_label("residual_jacobian", "edge: every outer unit inactive")
    assert np.all(W1 @ x0 > 0) and np.all(W2 @ np.maximum(W1 @ x0, 0) + x0 < 0)
    W1, W2, x0 = by_label("residual_jacobian", "edge: every unit active")
    assert np.all(W1 @ x0 > 0) and np.all(W2 @ np.maximum(W1 @ x0, 0) + x0 > 0)
    W1, W2, x0 = by_label("residual_jacobian", "edge: outer pre-activations exactly 0")
    outer = W2 @ np.maximum(W1 @ x0, 0) + x0
    assert np.count_nonzero(outer == 0.0) >= 2 and np.all(W1 @ x0 != 0) and np.any(outer > 0)
    W1, W2, x0 = by_label("residual_jacobian", "edge: the skip decides the outer ReLU")
    branch = W2 @ np.maximum(W1 @ x0, 0)
    assert np.any((branch < 0) & (branch + x0 > 0)) and np.any(branch + x0 < 0)


def test_dropout_edge_cases_isolate_what_they_claim():
    for case in ALL["dropout_loss"]:
        if case.label.startswith("edge: targets fitted exactly"):
            w, X, y, p = case.args
            np.testing.assert_array_equal(y - p * (X @ w), 0.0)  # only the variance term is left
    for label in ("edge: p = 0.5", "edge: N < d"):
        assert by_label("dropout_gamma", label)[1] == 0.5  # the factor is 1: the norms alone


def test_sigmoid_cases_include_scalars_and_extremes():
    args = [c.args[0] for c in ALL["sigmoid"]]
    assert any(isinstance(a, float) for a in args)
    assert max(np.max(np.abs(a)) for a in args) >= 1e4


def test_every_case_passes_only_what_the_contract_promises():
    # float64 arrays and Python floats, nothing else: no lists, no ints, no other dtypes.
    for function, rows in ALL.items():
        for case in rows:
            for arg in case.args:
                assert type(arg) is float or (
                    type(arg) is np.ndarray and arg.dtype == np.float64
                ), (function, case.label, type(arg))


def test_keep_probabilities_reach_both_ends():
    ps = [c.args[-1] for c in ALL["dropout_loss"]] + [
        c.args[0] for c in ALL["effective_column_norm"]
    ]
    assert min(ps) == 0.01 and max(ps) == 0.99
    assert all(0 < p < 1 for p in ps)


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
    assert {n for n, r in cases.FUNCTIONS.items() if r.strict} == {"sigmoid", "sigmoid_grad"}


def test_a_function_declared_twice_is_refused():
    with pytest.raises(ValueError, match="sigmoid is declared twice"):
        cases.graded("sigmoid", "q1a", ())(lambda rng: [])


def test_a_record_that_names_no_question_is_refused(monkeypatch):
    orphan = cases.GradedFunction("orphan", "q3a", lambda rng: [], ())
    monkeypatch.setitem(cases.FUNCTIONS, "orphan", orphan)
    with pytest.raises(KeyError, match="the record of orphan names 'q3a', not a question"):
        spec.question_of("orphan")


def test_the_questions_can_be_read_without_numpy():
    # The sandbox imports spec (for its limits) and boots while the grader imports numpy.
    code = "import sys, autograder.spec; sys.exit('numpy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=REPO).returncode == 0
