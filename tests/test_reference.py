"""The answer key against independent oracles: finite differences, Monte Carlo, closed forms.

No test compares a reference function with itself; each oracle is computed another way.
"""

import math
import warnings

import numpy as np
import pytest

import solutions as ref

pytestmark = pytest.mark.content


def random_block(rng: np.random.Generator, n: int, margin: float = 1e-3):
    """Weights and an input whose pre-activations all stay at least `margin` from the kink."""
    while True:
        W1, W2, x0 = rng.normal(size=(n, n)), rng.normal(size=(n, n)), rng.normal(size=n)
        a1 = W1 @ x0
        a2 = W2 @ np.maximum(a1, 0) + x0
        if min(np.abs(a1).min(), np.abs(a2).min()) > margin:
            return W1, W2, x0


def central_jacobian(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Numerator-layout Jacobian of `f` at `x` by central differences."""
    columns = []
    for j in range(x.size):
        step = np.zeros_like(x)
        step[j] = h
        columns.append((f(x + step) - f(x - step)) / (2 * h))
    return np.stack(columns, axis=1)


def read_only(*arrays):
    """Copies that raise if anything writes to them."""
    out = []
    for a in arrays:
        a = np.array(a, dtype=float)
        a.flags.writeable = False
        out.append(a)
    return out


# ## Question 1a


def test_sigmoid_matches_textbook_formula_where_it_is_safe():
    x = np.linspace(-30, 30, 601)
    expected = np.array([1 / (1 + math.exp(-v)) for v in x])
    np.testing.assert_allclose(ref.sigmoid(x), expected, rtol=1e-14)


def test_sigmoid_is_stable_and_saturates_at_extremes():
    x = np.array([-1e4, -745.0, -710.0, 710.0, 1e4])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            values = ref.sigmoid(x)
            grads = ref.sigmoid_grad(x)
    assert values[0] == 0.0 and values[-1] == 1.0
    assert np.all(np.isfinite(grads)) and np.all(grads >= 0)


def test_sigmoid_scalar_gives_float_and_array_keeps_shape():
    assert type(ref.sigmoid(0.3)) is float
    assert type(ref.sigmoid_grad(-2)) is float
    x = np.arange(12.0).reshape(3, 4) - 6
    assert ref.sigmoid(x).shape == (3, 4)
    assert ref.sigmoid_grad(x).shape == (3, 4)
    assert ref.sigmoid([[-1.0, 2.0]]).shape == (1, 2)


def test_sigmoid_grad_matches_finite_differences():
    x = np.linspace(-12, 12, 97)
    h = 1e-5
    numeric = (ref.sigmoid(x + h) - ref.sigmoid(x - h)) / (2 * h)
    # Truncation error ~h^2 relative; rounding error ~eps / h = 2e-11 absolute.
    np.testing.assert_allclose(ref.sigmoid_grad(x), numeric, rtol=1e-8, atol=1e-10)


def test_sigmoid_grad_keeps_relative_accuracy_in_the_tails():
    # sigma'(x) = e^{-x} / (1 + e^{-x})^2 evaluated in exact-enough arithmetic for x = 40.
    expected = math.exp(-40) / (1 + math.exp(-40)) ** 2
    assert ref.sigmoid_grad(40.0) == pytest.approx(expected, rel=1e-12)


def test_max_sigmoid_grad_is_the_maximum_over_a_dense_grid():
    grid = np.linspace(-10, 10, 2_000_001)
    numeric = ref.sigmoid_grad(grid).max()
    assert type(ref.max_sigmoid_grad()) is float
    assert ref.max_sigmoid_grad() >= numeric - 1e-15
    assert ref.max_sigmoid_grad() == pytest.approx(numeric, abs=1e-12)


# ## Question 1b


def test_residual_block_matches_a_loop_over_units():
    rng = np.random.default_rng(0)
    for n in (1, 2, 5, 17):
        W1, W2, x0 = rng.normal(size=(n, n)), rng.normal(size=(n, n)), rng.normal(size=n)
        hidden = [max(sum(W1[i, k] * x0[k] for k in range(n)), 0.0) for i in range(n)]
        expected = [max(sum(W2[i, k] * hidden[k] for k in range(n)) + x0[i], 0.0) for i in range(n)]
        np.testing.assert_allclose(ref.residual_block(W1, W2, x0), expected, rtol=1e-12)


def test_residual_block_applies_relu_after_the_skip():
    # W2 ReLU(W1 x0) = [-3]; adding x0 = [1] gives -2, which the outer ReLU clamps to 0.
    assert ref.residual_block([[1.0]], [[-3.0]], [1.0]).tolist() == [0.0]


# ## Question 1c


@pytest.mark.parametrize("n", [1, 3, 8, 32])
def test_residual_jacobian_matches_finite_differences(n):
    rng = np.random.default_rng(n)
    W1, W2, x0 = random_block(rng, n)
    numeric = central_jacobian(lambda x: ref.residual_block(W1, W2, x), x0)
    np.testing.assert_allclose(ref.residual_jacobian(W1, W2, x0), numeric, rtol=1e-6, atol=1e-8)


def test_residual_jacobian_at_an_exact_kink_uses_zero_derivative():
    # Inner unit 0 sits exactly at 0: W1[0] @ x0 = x0[1] x0[0] - x0[0] x0[1] = 0 in floating
    # point. ReLU'(0) = 0 means the Jacobian is the one seen from the side where that unit is
    # off, so compare with finite differences taken just on that side of the kink.
    rng = np.random.default_rng(7)
    while True:
        W1, W2, x0 = rng.normal(size=(4, 4)), rng.normal(size=(4, 4)), rng.normal(size=4)
        W1[0] = [x0[1], -x0[0], 0.0, 0.0]
        a1 = W1 @ x0
        a2 = W2 @ np.maximum(a1, 0) + x0
        if np.abs(a1[1:]).min() > 0.05 and a2.min() > 0.05:  # outer units all on
            break
    assert a1[0] == 0.0
    off_side = x0 - 1e-4 * W1[0] / np.linalg.norm(W1[0])
    numeric = central_jacobian(lambda x: ref.residual_block(W1, W2, x), off_side, h=1e-7)
    np.testing.assert_allclose(ref.residual_jacobian(W1, W2, x0), numeric, atol=1e-6)
    on_side = x0 + 1e-4 * W1[0] / np.linalg.norm(W1[0])
    other = central_jacobian(lambda x: ref.residual_block(W1, W2, x), on_side, h=1e-7)
    assert np.abs(other - numeric).max() > 1e-3  # the two sides differ: the kink is real


def test_residual_jacobian_special_cases():
    rng = np.random.default_rng(3)
    n = 5
    W1 = np.abs(rng.normal(size=(n, n)))
    W2 = np.abs(rng.normal(size=(n, n)))
    x_pos = np.abs(rng.normal(size=n)) + 0.1
    # (i) outer ReLU inactive everywhere: the Jacobian vanishes.
    assert np.all(ref.residual_jacobian(W1, -W2, -x_pos - 100) == 0)
    # (ii) both ReLUs active: W2 W1 + I.
    np.testing.assert_allclose(ref.residual_jacobian(W1, W2, x_pos), W2 @ W1 + np.eye(n))
    # (iii) inner inactive, outer active: the identity.
    np.testing.assert_array_equal(ref.residual_jacobian(-W1, W2, x_pos), np.eye(n))


def test_graded_functions_accept_lists_and_leave_arguments_alone():
    rng = np.random.default_rng(11)
    W1, W2, x0 = read_only(*random_block(rng, 4))
    X, y, w = read_only(rng.normal(size=(6, 3)), rng.normal(size=6), rng.normal(size=3))
    (Gamma,) = read_only(np.triu(rng.normal(size=(3, 3))) + 3 * np.eye(3))
    ref.residual_block(W1, W2, x0)
    ref.residual_jacobian(W1, W2, x0)
    ref.sigmoid(x0)
    ref.sigmoid_grad(x0)
    ref.dropout_loss(w, X, y, 0.3)
    ref.dropout_to_ridge_weights(w, 0.3)
    ref.dropout_gamma(X, 0.3)
    ref.effective_matrix(X, Gamma)
    ref.ridge_to_tikhonov_weights(w, Gamma)
    as_lists = ref.residual_jacobian(W1.tolist(), W2.tolist(), x0.tolist())
    np.testing.assert_array_equal(as_lists, ref.residual_jacobian(W1, W2, x0))


# ## Question 2a


def dropout_problem(seed: int, N: int = 7, d: int = 3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, d)) * rng.uniform(0.2, 4.0, size=d)
    return X, rng.normal(size=N), rng.normal(size=d)


@pytest.mark.parametrize("p", [0.2, 0.7])
def test_dropout_loss_matches_monte_carlo(p):
    X, y, w_check = dropout_problem(1)
    rng = np.random.default_rng(2)
    samples = 200_000
    masks = rng.random((samples, *X.shape)) < p
    losses = np.sum((y - (masks * X) @ w_check) ** 2, axis=1)
    stderr = losses.std(ddof=1) / np.sqrt(samples)
    assert abs(losses.mean() - ref.dropout_loss(w_check, X, y, p)) < 4 * stderr


def quadratic_argmin(f, d: int, h: float = 1e-3) -> np.ndarray:
    """Minimiser of a convex quadratic `f` on R^d from finite-difference derivatives at 0."""
    eye = np.eye(d) * h
    gradient = np.array([(f(eye[i]) - f(-eye[i])) / (2 * h) for i in range(d)])
    hessian = np.array(
        [
            [
                (f(eye[i] + eye[j]) - f(eye[i] - eye[j]) - f(eye[j] - eye[i]) + f(-eye[i] - eye[j]))
                / (4 * h * h)
                for j in range(d)
            ]
            for i in range(d)
        ]
    )
    return np.linalg.solve(hessian, -gradient)


@pytest.mark.parametrize("p", [0.05, 0.3, 0.7, 0.95])
def test_scaled_dropout_minimiser_is_the_tikhonov_minimiser(p):
    X, y, _ = dropout_problem(5)
    w_check = quadratic_argmin(lambda w: ref.dropout_loss(w, X, y, p), X.shape[1])
    Gamma = ref.dropout_gamma(X, p)
    tikhonov = np.linalg.solve(X.T @ X + Gamma.T @ Gamma, X.T @ y)
    np.testing.assert_allclose(ref.dropout_to_ridge_weights(w_check, p), tikhonov, rtol=1e-6)


def test_dropout_loss_equals_tikhonov_objective_after_rescaling():
    X, y, w_check = dropout_problem(9, N=11, d=4)
    p = 0.35
    w = ref.dropout_to_ridge_weights(w_check, p)
    Gamma = ref.dropout_gamma(X, p)
    tikhonov = np.sum((y - X @ w) ** 2) + np.sum((Gamma @ w) ** 2)
    assert ref.dropout_loss(w_check, X, y, p) == pytest.approx(tikhonov, rel=1e-12)


def test_dropout_gamma_is_diagonal_with_scaled_column_norms():
    X, _, _ = dropout_problem(4, N=9, d=5)
    p = 0.8
    Gamma = ref.dropout_gamma(X, p)
    norms = [math.sqrt(sum(v * v for v in X[:, j])) for j in range(X.shape[1])]
    np.testing.assert_allclose(np.diag(Gamma), [math.sqrt((1 - p) / p) * v for v in norms])
    assert np.count_nonzero(Gamma - np.diag(np.diag(Gamma))) == 0


# ## Question 2b


def non_diagonal_gamma(rng: np.random.Generator, d: int) -> np.ndarray:
    return rng.normal(size=(d, d)) + d * np.eye(d)


def test_tikhonov_minimiser_is_mapped_ridge_minimiser():
    rng = np.random.default_rng(12)
    N, d = 10, 4
    X, y = rng.normal(size=(N, d)), rng.normal(size=N)
    Gamma = non_diagonal_gamma(rng, d)
    X_tilde = ref.effective_matrix(X, Gamma)
    ridge = np.linalg.solve(X_tilde.T @ X_tilde + np.eye(d), X_tilde.T @ y)  # lambda = 1
    tikhonov = np.linalg.solve(X.T @ X + Gamma.T @ Gamma, X.T @ y)
    np.testing.assert_allclose(ref.ridge_to_tikhonov_weights(ridge, Gamma), tikhonov, rtol=1e-10)


def test_effective_matrix_times_gamma_gives_back_x():
    rng = np.random.default_rng(13)
    X, Gamma = rng.normal(size=(6, 3)), non_diagonal_gamma(rng, 3)
    np.testing.assert_allclose(ref.effective_matrix(X, Gamma) @ Gamma, X, atol=1e-12)
    w_tilde = rng.normal(size=3)
    np.testing.assert_allclose(Gamma @ ref.ridge_to_tikhonov_weights(w_tilde, Gamma), w_tilde)


# ## Question 2c


@pytest.mark.parametrize("p", [0.01, 0.2, 0.5, 0.7, 0.99])
def test_every_effective_column_has_the_predicted_norm(p):
    X, _, _ = dropout_problem(21, N=8, d=5)
    X_tilde = ref.effective_matrix(X, ref.dropout_gamma(X, p))
    norms = np.linalg.norm(X_tilde, axis=0)
    np.testing.assert_allclose(norms, ref.effective_column_norm(p), rtol=1e-12)
    assert type(ref.effective_column_norm(p)) is float
