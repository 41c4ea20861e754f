"""This week's hidden cases and criteria hold what the questions are about: the edge cases
have the activation patterns, the p and the shapes their labels claim, and the requirements a
question states in words cost what they should. (The rules every function's cases obey,
whatever the assignment declares, are in tests/test_cases.py.)"""

import numpy as np
import pytest

from autograder import cases, spec, variants
from autograder.release import mutants

pytestmark = pytest.mark.content

ALL = cases.all_hidden_cases()

OVERFLOWING_SIGMOID = next(
    m for m in variants.MISTAKES if m.function == "sigmoid" and "overflows" in m.name
)
KINK_MISTAKE = next(m for m in variants.MISTAKES if m.name == "ReLU'(0) = 1 at the kink")


def by_label(function: str, label: str) -> tuple:
    (case,) = [c for c in ALL[function] if c.label == label]
    return case.args


def lost(variant: variants.Variant, table: dict) -> float:
    """Points `variant` loses on its own function, judged in this process."""
    return spec.function_points(variant.function) - mutants.points_in_process(variant, table)


# ## Question 1a


def test_sigmoid_cases_include_scalars_and_extremes():
    args = [c.args[0] for c in ALL["sigmoid"]]
    assert any(isinstance(a, float) for a in args)
    assert max(np.max(np.abs(a)) for a in args) >= 1e4


def test_the_stable_sigmoids_make_numpy_warnings_errors():
    assert {n for n, r in cases.FUNCTIONS.items() if r.strict} == {"sigmoid", "sigmoid_grad"}


def test_the_requirements_questions_state_cost_at_least_a_quarter(table):
    assert lost(OVERFLOWING_SIGMOID, table) >= 1 / 4 * spec.function_points("sigmoid")
    overflow_grad = next(m for m in variants.MISTAKES if m.name.startswith("the overflow-prone"))
    assert lost(overflow_grad, table) >= 1 / 4 * spec.function_points("sigmoid_grad")
    jacobian = spec.function_points("residual_jacobian")
    assert lost(KINK_MISTAKE, table) >= jacobian / 4
    # The mechanical slip, one mask only, costs exactly the kink criterion.
    (inner_mask,) = [
        m for m in mutants.mutants("residual_jacobian") if m.name.endswith("`a1 > 0`: > became >=")
    ]
    kink = spec.criterion_points("residual_jacobian")["ReLU'(0) = 0 at a kink"]
    assert lost(inner_mask, table) == pytest.approx(kink)


# ## Questions 1b and 1c


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


def test_the_jacobian_s_kink_cases_are_its_relu_prime_criterion():
    assert spec.criterion_of("residual_jacobian", "edge: x0 = 0").name == "ReLU'(0) = 0 at a kink"


# ## Question 2


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


def test_dropout_edge_cases_isolate_what_they_claim():
    for case in ALL["dropout_loss"]:
        if case.label.startswith("edge: targets fitted exactly"):
            w, X, y, p = case.args
            np.testing.assert_array_equal(y - p * (X @ w), 0.0)  # only the variance term is left
    for label in ("edge: p = 0.5", "edge: N < d"):
        assert by_label("dropout_gamma", label)[1] == 0.5  # the factor is 1: the norms alone


def test_keep_probabilities_reach_both_ends():
    ps = [c.args[-1] for c in ALL["dropout_loss"]] + [
        c.args[0] for c in ALL["effective_column_norm"]
    ]
    assert min(ps) == 0.01 and max(ps) == 0.99
    assert all(0 < p < 1 for p in ps)
