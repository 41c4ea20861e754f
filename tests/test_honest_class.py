"""An honest class: fully correct submissions, written in many styles, each get full marks.

Every style below implements the same graded functions (this week's eleven), written from
the notebook alone the way students write them: plain formulas, loops, einsum, masks,
log-sum-exp, the tanh form, helpers shared between cells, list comprehensions, np.vectorize,
prints and experiments left in. They rely on the input contract of the docstrings: graded
functions receive float64 arrays (and a Python float where a scalar is asked: `p`, and `x` in
sigmoid and sigmoid_grad), return a float where a float is promised (np.float64 is one) and
otherwise a float64 array of the documented shape, and leave their arguments unchanged. Some
styles convert their inputs with np.asarray, others use them as given.

Two checks: in this process, each style's value, type and dtype on every hidden case, against
the answer key (fast); end to end, each style put into the student notebook in place of the
stubs and graded as a class by `grade-all`: each must get the maximum score, question by
question, as the solution notebook does in the same batch (slow).

To add a style: add an entry to `STYLES` (a source per graded function, for the function's
cell of the notebook) and, if it has experiments, to `EXTRA_CELLS` (code cells placed after a
function's cell). A graded function that no style implements (one added to the assignment since
the styles were written) is answered, in each style's submission, by one of its catalogued
alternative answers (`autograder/variants.py`), a different one for each style in turn, so that
every style still submits a complete set; give it a version in every style here to test it in
each.
"""

import json
import re
import textwrap

import numpy as np
import pytest
from conftest import write_notebook

import solutions
from autograder import batch, compare, spec
from autograder.cases import FUNCTIONS, hidden_cases
from autograder.release import notebook
from autograder.variants import ALTERNATIVES

pytestmark = pytest.mark.content

FULL = sum(q.points for q in spec.QUESTIONS)
GRADED = list(solutions.GRADED)  # in notebook order
LIST_INPUT = "Python list"  # hidden cases whose label says so pass nested lists, not arrays


# ## The styles: style -> graded function -> the source of its cell

STYLES: dict[str, dict[str, str]] = {
    # The textbook stable formula: exp(-|x|) and np.where, inputs converted with np.asarray.
    "where formula": {
        "sigmoid": """
            def sigmoid(x):
                x = np.asarray(x, dtype=float)
                e = np.exp(-np.abs(x))  # exponent <= 0: never overflows
                s = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
                if s.ndim == 0:
                    return float(s)
                return s
        """,
        "sigmoid_grad": """
            def sigmoid_grad(x):
                x = np.asarray(x, dtype=float)
                e = np.exp(-np.abs(x))
                g = e / (1 + e) ** 2  # sigma' is even, so use |x|
                return float(g) if g.ndim == 0 else g
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad():
                return sigmoid_grad(0.0)
        """,
        "residual_block": """
            def residual_block(W1, W2, x0):
                W1, W2, x0 = np.asarray(W1, float), np.asarray(W2, float), np.asarray(x0, float)
                h = np.maximum(W1 @ x0, 0)
                return np.maximum(W2 @ h + x0, 0)
        """,
        "residual_jacobian": """
            def residual_jacobian(W1, W2, x0):
                W1, W2, x0 = np.asarray(W1, float), np.asarray(W2, float), np.asarray(x0, float)
                a1 = W1 @ x0
                a2 = W2 @ np.maximum(a1, 0) + x0
                d1 = np.where(a1 > 0, 1.0, 0.0)  # ReLU'(0) = 0
                d2 = np.where(a2 > 0, 1.0, 0.0)
                return d2[:, None] * (W2 @ (d1[:, None] * W1) + np.eye(len(x0)))
        """,
        "dropout_loss": """
            def dropout_loss(w_check, X, y, p):
                w_check, X, y = (np.asarray(a, dtype=float) for a in (w_check, X, y))
                r = y - p * X @ w_check
                penalty = p * (1 - p) * np.sum(np.linalg.norm(X, axis=0) ** 2 * w_check**2)
                return float(r @ r + penalty)
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check, p):
                return p * np.asarray(w_check, dtype=float)
        """,
        "dropout_gamma": """
            def dropout_gamma(X, p):
                X = np.asarray(X, dtype=float)
                return np.sqrt((1 - p) / p) * np.diag(np.linalg.norm(X, axis=0))
        """,
        "effective_matrix": """
            def effective_matrix(X, Gamma):
                X, Gamma = np.asarray(X, float), np.asarray(Gamma, float)
                # X_tilde = X Gamma^-1, i.e. Gamma^T X_tilde^T = X^T
                return np.linalg.solve(Gamma.T, X.T).T
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                return np.linalg.solve(np.asarray(Gamma, float), np.asarray(w_tilde, float))
        """,
        "effective_column_norm": """
            def effective_column_norm(p):
                return float(np.sqrt(p / (1 - p)))
        """,
    },
    # Explicit Python loops: np.ndindex over elements, for loops over rows, arrays built with
    # np.empty and np.zeros, math.exp on single numbers.
    "python loops": {
        "sigmoid": """
            import math


            def sigmoid(x):
                arr = np.asarray(x, dtype=float)
                out = np.empty(arr.shape)
                for idx in np.ndindex(arr.shape):
                    v = arr[idx]
                    if v >= 0:
                        out[idx] = 1.0 / (1.0 + math.exp(-v))
                    else:
                        e = math.exp(v)  # v < 0 here, so no overflow
                        out[idx] = e / (1.0 + e)
                if out.shape == ():
                    return float(out)
                return out
        """,
        "sigmoid_grad": """
            def sigmoid_grad(x):
                arr = np.asarray(x, dtype=float)
                out = np.zeros(arr.shape)
                for idx in np.ndindex(arr.shape):
                    e = math.exp(-abs(arr[idx]))
                    out[idx] = e / (1.0 + e) ** 2
                if out.shape == ():
                    return float(out)
                return out
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad():
                return 0.25
        """,
        "residual_block": """
            def residual_block(W1, W2, x0):
                n = len(x0)
                h = np.zeros(n)
                for i in range(n):
                    total = 0.0
                    for j in range(n):
                        total += W1[i][j] * x0[j]
                    h[i] = total if total > 0 else 0.0
                x1 = np.zeros(n)
                for i in range(n):
                    total = x0[i]
                    for j in range(n):
                        total += W2[i][j] * h[j]
                    x1[i] = max(total, 0.0)
                return x1
        """,
        "residual_jacobian": """
            def residual_jacobian(W1, W2, x0):
                n = len(x0)
                a1 = np.zeros(n)
                for i in range(n):
                    for j in range(n):
                        a1[i] += W1[i, j] * x0[j]
                h = np.zeros(n)
                for i in range(n):
                    h[i] = a1[i] if a1[i] > 0 else 0.0
                a2 = np.zeros(n)
                for i in range(n):
                    a2[i] = x0[i]
                    for j in range(n):
                        a2[i] += W2[i, j] * h[j]
                J = np.zeros((n, n))
                for i in range(n):
                    if a2[i] <= 0:
                        continue  # outer unit off: the whole row is zero
                    for j in range(n):
                        inner = 0.0
                        for k in range(n):
                            if a1[k] > 0:
                                inner += W2[i, k] * W1[k, j]
                        J[i, j] = inner + (1.0 if i == j else 0.0)
                return J
        """,
        "dropout_loss": """
            def dropout_loss(w_check, X, y, p):
                N, d = X.shape
                total = 0.0
                for i in range(N):
                    prediction = 0.0
                    for j in range(d):
                        prediction += X[i, j] * w_check[j]
                    total += (y[i] - p * prediction) ** 2
                    for j in range(d):
                        total += p * (1 - p) * X[i, j] ** 2 * w_check[j] ** 2
                return float(total)
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check, p):
                w = np.empty(len(w_check))
                for i in range(len(w_check)):
                    w[i] = p * w_check[i]
                return w
        """,
        "dropout_gamma": """
            def dropout_gamma(X, p):
                N, d = X.shape
                G = np.zeros((d, d))
                for j in range(d):
                    squares = 0.0
                    for i in range(N):
                        squares += X[i, j] ** 2
                    G[j, j] = math.sqrt((1 - p) / p) * math.sqrt(squares)
                return G
        """,
        "effective_matrix": """
            def effective_matrix(X, Gamma):
                N, d = X.shape
                out = np.empty((N, d))
                for i in range(N):
                    # row i of X Gamma^-1 solves Gamma^T z = x_i
                    out[i] = np.linalg.solve(Gamma.T, X[i])
                return out
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                return np.linalg.solve(Gamma, w_tilde)
        """,
        "effective_column_norm": """
            def effective_column_norm(p):
                return math.sqrt(p / (1 - p))
        """,
    },
    # np.einsum for every product and sum; inverses for the linear algebra.
    "einsum everywhere": {
        "sigmoid": """
            def sigmoid(x):
                x = np.asarray(x, dtype=float)
                z = np.exp(-np.abs(x))
                s = np.where(x >= 0, 1.0, z) / (1.0 + z)
                return s[()]  # a numpy float for a scalar, the array otherwise
        """,
        "sigmoid_grad": """
            def sigmoid_grad(x):
                s = sigmoid(x)
                return s * (1 - s)
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad():
                return float(sigmoid_grad(0.0))
        """,
        "residual_block": """
            def residual_block(W1, W2, x0):
                h = np.maximum(np.einsum("ij,j->i", W1, x0), 0.0)
                return np.maximum(np.einsum("ij,j->i", W2, h) + x0, 0.0)
        """,
        "residual_jacobian": """
            def residual_jacobian(W1, W2, x0):
                a1 = np.einsum("ij,j->i", W1, x0)
                a2 = np.einsum("ij,j->i", W2, np.maximum(a1, 0.0)) + x0
                d1, d2 = (a1 > 0).astype(float), (a2 > 0).astype(float)
                eye = np.eye(x0.shape[0])
                return np.einsum("i,ik,k,kj->ij", d2, W2, d1, W1) + np.einsum("i,ij->ij", d2, eye)
        """,
        "dropout_loss": """
            def dropout_loss(w_check, X, y, p):
                r = y - p * np.einsum("ij,j->i", X, w_check)
                squares = np.einsum("ij,ij->j", X, X)
                penalty = p * (1 - p) * np.einsum("j,j,j->", squares, w_check, w_check)
                return float(np.einsum("i,i->", r, r) + penalty)
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check, p):
                return np.einsum(",i->i", p, w_check)
        """,
        "dropout_gamma": """
            def dropout_gamma(X, p):
                norms = np.sqrt(np.einsum("ij,ij->j", X, X))
                return np.sqrt((1 - p) / p) * np.einsum("i,ij->ij", norms, np.eye(len(norms)))
        """,
        "effective_matrix": """
            def effective_matrix(X, Gamma):
                return np.einsum("ik,kj->ij", X, np.linalg.inv(Gamma))
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                return np.einsum("ij,j->i", np.linalg.inv(Gamma), w_tilde)
        """,
        "effective_column_norm": """
            def effective_column_norm(p):
                return float(np.sqrt(p) / np.sqrt(1 - p))
        """,
    },
    # Boolean masks and in-place assignment, always on a fresh copy of the input.
    "masks in place": {
        "sigmoid": """
            def sigmoid(x):
                x = np.array(x, dtype=float)  # a copy: x itself is never touched
                out = np.empty_like(x)
                pos = x >= 0
                neg = ~pos
                out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
                ex = np.exp(x[neg])
                out[neg] = ex / (1.0 + ex)
                if out.ndim == 0:
                    return float(out)
                return out
        """,
        "sigmoid_grad": """
            def sigmoid_grad(x):
                g = np.array(x, dtype=float)
                np.abs(g, out=g)
                np.negative(g, out=g)
                np.exp(g, out=g)  # exp(-|x|)
                g /= (1.0 + g) ** 2
                return float(g) if g.ndim == 0 else g
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad():
                return sigmoid_grad(0.0)
        """,
        "residual_block": """
            def residual_block(W1, W2, x0):
                a1 = W1 @ x0  # a new array
                a1[a1 < 0] = 0.0
                a2 = W2 @ a1 + x0
                a2[a2 < 0] = 0.0
                return a2
        """,
        "residual_jacobian": """
            def residual_jacobian(W1, W2, x0):
                a1 = W1 @ x0
                h = a1.copy()
                h[h < 0] = 0.0
                a2 = W2 @ h + x0
                J = W2 @ (W1 * (a1 > 0)[:, None])
                J[np.diag_indices(len(x0))] += 1.0
                J[a2 <= 0, :] = 0.0
                return J
        """,
        "dropout_loss": """
            def dropout_loss(w_check, X, y, p):
                r = y.copy()
                r -= p * (X @ w_check)
                sq = X.copy()
                sq **= 2
                return float(np.sum(r**2) + p * (1 - p) * np.sum(sq.sum(axis=0) * w_check**2))
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check, p):
                w = np.array(w_check, dtype=float)
                w *= p
                return w
        """,
        "dropout_gamma": """
            def dropout_gamma(X, p):
                d = X.shape[1]
                G = np.zeros((d, d))
                np.fill_diagonal(G, np.sqrt(np.sum(X * X, axis=0)))
                G *= np.sqrt((1 - p) / p)
                return G
        """,
        "effective_matrix": """
            def effective_matrix(X, Gamma):
                Xt = np.linalg.solve(Gamma.T, X.T)
                return Xt.T
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                w = np.linalg.solve(Gamma, w_tilde)
                return w
        """,
        "effective_column_norm": """
            def effective_column_norm(p):
                return np.sqrt(p / (1 - p))
        """,
    },
    # Log-sum-exp: log(1 + e^t) as np.logaddexp(0, t), and np.heaviside for ReLU'.
    "logaddexp": {
        "sigmoid": """
            def sigmoid(x):
                x = np.asarray(x, dtype=float)
                # sigma(x) = exp(-log(1 + e^-x)), and logaddexp never overflows
                s = np.exp(-np.logaddexp(0.0, -x))
                return s.item() if s.ndim == 0 else s
        """,
        "sigmoid_grad": """
            def sigmoid_grad(x):
                x = np.asarray(x, dtype=float)
                # sigma(x) sigma(-x) = exp(-log(1 + e^-x) - log(1 + e^x))
                g = np.exp(-np.logaddexp(0.0, -x) - np.logaddexp(0.0, x))
                return g.item() if g.ndim == 0 else g
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad():
                return float(np.exp(-2 * np.logaddexp(0.0, 0.0)))
        """,
        "residual_block": """
            def residual_block(W1, W2, x0):
                a1 = W1 @ x0
                h = np.where(a1 > 0, a1, 0.0)
                a2 = W2 @ h + x0
                return np.where(a2 > 0, a2, 0.0)
        """,
        "residual_jacobian": """
            def residual_jacobian(W1, W2, x0):
                a1 = W1 @ x0
                a2 = W2 @ np.where(a1 > 0, a1, 0.0) + x0
                D1 = np.diag(np.heaviside(a1, 0.0))  # heaviside(0, 0) = 0
                D2 = np.diag(np.heaviside(a2, 0.0))
                return D2 @ (W2 @ D1 @ W1 + np.eye(len(x0)))
        """,
        "dropout_loss": """
            def dropout_loss(w_check, X, y, p):
                data = np.sum((y - p * (X @ w_check)) ** 2)
                variance = p * (1 - p) * np.sum((X**2).sum(axis=0) * w_check**2)
                return float(data + variance)
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check, p):
                return np.multiply(w_check, p)
        """,
        "dropout_gamma": """
            def dropout_gamma(X, p):
                return np.diag(np.sqrt((X**2).sum(axis=0) * (1 - p) / p))
        """,
        "effective_matrix": """
            def effective_matrix(X, Gamma):
                return np.linalg.solve(Gamma.T, X.T).T
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                return np.linalg.lstsq(Gamma, w_tilde, rcond=None)[0]
        """,
        "effective_column_norm": """
            def effective_column_norm(p):
                return float(np.exp(0.5 * (np.log(p) - np.log1p(-p))))
        """,
    },
    # The tanh form of the sigmoid; ufuncs return a numpy float on a Python float already.
    "tanh form": {
        "sigmoid": """
            def sigmoid(x):
                return 0.5 * (1.0 + np.tanh(0.5 * x))
        """,
        "sigmoid_grad": """
            def sigmoid_grad(x):
                t = np.tanh(0.5 * x)
                return 0.25 * (1.0 - t) * (1.0 + t)  # sigma (1 - sigma) with sigma = (1 + t) / 2
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad():
                return sigmoid(0) * (1 - sigmoid(0))
        """,
        "residual_block": """
            def residual_block(W1, W2, x0):
                return np.clip(W2 @ np.clip(W1 @ x0, 0, None) + x0, 0, None)
        """,
        "residual_jacobian": """
            def residual_jacobian(W1, W2, x0):
                a1 = W1 @ x0
                a2 = W2 @ np.clip(a1, 0, None) + x0
                m1, m2 = a1 > 0, a2 > 0
                return (m2[:, None] * W2 * m1[None, :]) @ W1 + np.diag(m2.astype(float))
        """,
        "dropout_loss": """
            def dropout_loss(w_check, X, y, p):
                gamma_check = np.sqrt((X**2).sum(0))
                return float(
                    np.sum((y - p * X @ w_check) ** 2)
                    + p * (1 - p) * np.sum((gamma_check * w_check) ** 2)
                )
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check, p):
                return w_check * p
        """,
        "dropout_gamma": """
            def dropout_gamma(X, p):
                return np.diag(np.sqrt((X**2).sum(0))) * np.sqrt(1 - p) / np.sqrt(p)
        """,
        "effective_matrix": """
            def effective_matrix(X, Gamma):
                return X @ np.linalg.inv(Gamma)
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                return np.linalg.inv(Gamma) @ w_tilde
        """,
        "effective_column_norm": """
            def effective_column_norm(p):
                return (p / (1 - p)) ** 0.5
        """,
    },
    # np.piecewise: each branch is evaluated only where its condition holds.
    "piecewise": {
        "sigmoid": """
            def sigmoid(x):
                x = np.asarray(x, dtype=float)
                s = np.piecewise(
                    x,
                    [x >= 0, x < 0],
                    [lambda v: 1 / (1 + np.exp(-v)), lambda v: np.exp(v) / (1 + np.exp(v))],
                )
                return float(s) if s.ndim == 0 else s
        """,
        "sigmoid_grad": """
            def sigmoid_grad(x):
                x = np.asarray(x, dtype=float)
                g = np.piecewise(
                    x,
                    [x >= 0, x < 0],
                    [
                        lambda v: np.exp(-v) / (1 + np.exp(-v)) ** 2,
                        lambda v: np.exp(v) / (1 + np.exp(v)) ** 2,
                    ],
                )
                return float(g) if g.ndim == 0 else g
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad():
                s = sigmoid(0.0)
                return s * (1 - s)
        """,
        "residual_block": """
            def residual_block(W1, W2, x0):
                relu = lambda a: np.piecewise(a, [a > 0], [lambda v: v, 0.0])  # noqa: E731
                return relu(W2 @ relu(W1 @ x0) + x0)
        """,
        "residual_jacobian": """
            def residual_jacobian(W1, W2, x0):
                a1 = W1 @ x0
                a2 = W2 @ np.maximum(a1, 0.0) + x0
                step1 = np.piecewise(a1, [a1 > 0], [1.0, 0.0])
                step2 = np.piecewise(a2, [a2 > 0], [1.0, 0.0])
                return step2[:, None] * (W2 * step1) @ W1 + np.diag(step2)
        """,
        "dropout_loss": """
            def dropout_loss(w_check, X, y, p):
                r = np.linalg.norm(y - p * (X @ w_check)) ** 2
                return float(r + p * (1 - p) * np.sum(np.sum(X**2, axis=0) * w_check**2))
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check, p):
                return p * w_check
        """,
        "dropout_gamma": """
            def dropout_gamma(X, p):
                return np.sqrt(1 / p - 1) * np.diag(np.linalg.norm(X, axis=0))
        """,
        "effective_matrix": """
            def effective_matrix(X, Gamma):
                return np.linalg.solve(Gamma.T, X.T).T
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                return np.linalg.solve(Gamma, w_tilde)
        """,
        "effective_column_norm": """
            def effective_column_norm(p):
                return float(1 / np.sqrt((1 - p) / p))
        """,
    },
    # np.clip keeps exp's argument in range; np.outer for the Jacobian.
    "clip": {
        "sigmoid": """
            def sigmoid(x):
                x = np.asarray(x, dtype=float)
                # beyond |x| = 500 sigma is 1 or below 1e-217: clipping changes nothing visible
                s = 1.0 / (1.0 + np.exp(-np.clip(x, -500, 500)))
                return float(s) if s.ndim == 0 else s
        """,
        "sigmoid_grad": """
            def sigmoid_grad(x):
                s = sigmoid(x)
                return s * (1 - s)
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad():
                return sigmoid_grad(0.0)
        """,
        "residual_block": """
            def residual_block(W1, W2, x0):
                hidden = np.maximum(0, W1 @ x0)
                return np.maximum(0, W2 @ hidden + x0)
        """,
        "residual_jacobian": """
            def residual_jacobian(W1, W2, x0):
                a1 = W1 @ x0
                a2 = W2 @ np.maximum(0, a1) + x0
                d1 = (a1 > 0) * 1.0
                d2 = (a2 > 0) * 1.0
                # (D2 W2 D1)_ik = d2_i W2_ik d1_k
                return (np.outer(d2, d1) * W2) @ W1 + np.diag(d2)
        """,
        "dropout_loss": """
            def dropout_loss(w_check, X, y, p):
                col_norms = np.sqrt(np.sum(X * X, axis=0))
                r = y - p * (X @ w_check)
                return float(np.dot(r, r) + p * (1 - p) * np.dot(col_norms**2, w_check**2))
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check, p):
                return p * w_check
        """,
        "dropout_gamma": """
            def dropout_gamma(X, p):
                return np.sqrt((1 - p) / p) * np.diag(np.sqrt(np.sum(X * X, axis=0)))
        """,
        "effective_matrix": """
            def effective_matrix(X, Gamma):
                return np.linalg.solve(Gamma.T, X.T).T
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                return np.linalg.solve(Gamma, w_tilde)
        """,
        "effective_column_norm": """
            def effective_column_norm(p):
                return float(np.sqrt(p / (1 - p)))
        """,
    },
    # Helpers shared between cells: _stable_exp, a relu helper, a column-norm helper.
    "shared helpers": {
        "sigmoid": """
            def _stable_exp(x):
                \"\"\"exp(-|x|), always in (0, 1]: it never overflows.\"\"\"
                return np.exp(-np.abs(x))


            def _scalar_or_array(a):
                return float(a) if np.ndim(a) == 0 else a


            def sigmoid(x):
                x = np.asarray(x, dtype=np.float64)
                z = _stable_exp(x)
                numerator = np.where(x < 0, z, 1.0)
                return _scalar_or_array(numerator / (1.0 + z))
        """,
        "sigmoid_grad": """
            def sigmoid_grad(x):
                x = np.asarray(x, dtype=np.float64)
                # 1 - sigma(x) = sigma(-x): accurate in both tails
                return _scalar_or_array(sigmoid(x) * sigmoid(-x))
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad():
                return sigmoid_grad(0.0)
        """,
        "residual_block": """
            def relu(z):
                return np.maximum(z, 0.0)


            def residual_block(W1, W2, x0):
                return relu(W2 @ relu(W1 @ x0) + x0)
        """,
        "residual_jacobian": """
            def relu_grad(z):
                return (z > 0).astype(float)  # ReLU'(0) = 0


            def residual_jacobian(W1, W2, x0):
                a1 = W1 @ x0
                outer = relu_grad(residual_block(W1, W2, x0))  # x1 > 0 exactly where a2 > 0
                return outer[:, None] * (W2 @ (relu_grad(a1)[:, None] * W1) + np.eye(x0.size))
        """,
        "dropout_loss": """
            def _column_norms(X):
                return np.sqrt(np.sum(X * X, axis=0))


            def dropout_loss(w_check, X, y, p):
                residual = y - p * (X @ w_check)
                penalty = np.sum((_column_norms(X) * w_check) ** 2)
                return float(residual @ residual + p * (1 - p) * penalty)
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check, p):
                return p * w_check
        """,
        "dropout_gamma": """
            def dropout_gamma(X, p):
                return np.sqrt((1 - p) / p) * np.diag(_column_norms(X))
        """,
        "effective_matrix": """
            def _right_divide(A, B):
                \"\"\"A B^-1, without forming the inverse.\"\"\"
                return np.linalg.solve(B.T, A.T).T


            def effective_matrix(X, Gamma):
                return _right_divide(X, Gamma)
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                return np.linalg.solve(Gamma, w_tilde)
        """,
        "effective_column_norm": """
            def effective_column_norm(p):
                return float(np.sqrt(p / (1 - p)))
        """,
    },
    # np.vectorize over a scalar sigmoid written with math.exp, stable in both branches.
    "vectorize with math.exp": {
        "sigmoid": """
            import math


            def _sigmoid_scalar(v):
                if v >= 0:
                    return 1.0 / (1.0 + math.exp(-v))
                e = math.exp(v)  # v < 0: e < 1, math.exp never overflows here
                return e / (1.0 + e)


            _sigmoid_vec = np.vectorize(_sigmoid_scalar, otypes=[float])


            def sigmoid(x):
                out = _sigmoid_vec(x)
                return float(out) if out.ndim == 0 else out
        """,
        "sigmoid_grad": """
            def _sigmoid_grad_scalar(v):
                e = math.exp(-abs(v))
                return e / (1.0 + e) ** 2


            _sigmoid_grad_vec = np.vectorize(_sigmoid_grad_scalar, otypes=[float])


            def sigmoid_grad(x):
                out = _sigmoid_grad_vec(x)
                return float(out) if out.ndim == 0 else out
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad():
                return _sigmoid_grad_scalar(0.0)
        """,
        "residual_block": """
            _relu = np.vectorize(lambda v: v if v > 0 else 0.0, otypes=[float])


            def residual_block(W1, W2, x0):
                return _relu(W2 @ _relu(W1 @ x0) + x0)
        """,
        "residual_jacobian": """
            _step = np.vectorize(lambda v: 1.0 if v > 0 else 0.0, otypes=[float])


            def residual_jacobian(W1, W2, x0):
                a1 = W1 @ x0
                a2 = W2 @ _relu(a1) + x0
                return _step(a2)[:, None] * (W2 @ (_step(a1)[:, None] * W1) + np.identity(len(x0)))
        """,
        "dropout_loss": """
            def dropout_loss(w_check, X, y, p):
                norms = np.linalg.norm(X, axis=0)
                data = np.sum((y - p * X @ w_check) ** 2)
                return float(data + p * (1 - p) * np.sum(norms**2 * w_check**2))
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check, p):
                return p * w_check
        """,
        "dropout_gamma": """
            def dropout_gamma(X, p):
                return math.sqrt((1 - p) / p) * np.diag(np.linalg.norm(X, axis=0))
        """,
        "effective_matrix": """
            def effective_matrix(X, Gamma):
                return X @ np.linalg.inv(Gamma)
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                return np.linalg.solve(Gamma, w_tilde)
        """,
        "effective_column_norm": """
            def effective_column_norm(p):
                return math.sqrt(p / (1 - p))
        """,
    },
    # List comprehensions over the rows of the matrices (and over the entries of x).
    "list comprehensions over rows": {
        "sigmoid": """
            import math


            def sigmoid(x):
                x = np.asarray(x, dtype=float)
                values = [
                    1 / (1 + math.exp(-v)) if v >= 0 else math.exp(v) / (1 + math.exp(v))
                    for v in x.ravel()
                ]
                out = np.array(values, dtype=float).reshape(x.shape)
                return float(out) if out.ndim == 0 else out
        """,
        "sigmoid_grad": """
            def sigmoid_grad(x):
                x = np.asarray(x, dtype=float)
                values = [math.exp(-abs(v)) / (1 + math.exp(-abs(v))) ** 2 for v in x.ravel()]
                out = np.array(values, dtype=float).reshape(x.shape)
                return float(out) if out.ndim == 0 else out
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad():
                return sigmoid_grad(0.0)
        """,
        "residual_block": """
            def residual_block(W1, W2, x0):
                h = np.array([max(row @ x0, 0.0) for row in W1])
                return np.array([max(row @ h + xi, 0.0) for row, xi in zip(W2, x0)])
        """,
        "residual_jacobian": """
            def residual_jacobian(W1, W2, x0):
                n = len(x0)
                a1 = np.array([row @ x0 for row in W1])
                d1 = np.array([1.0 if a > 0 else 0.0 for a in a1])
                a2 = np.array([row @ np.maximum(a1, 0) + xi for row, xi in zip(W2, x0)])
                eye = np.eye(n)
                rows = [(a2[i] > 0) * ((W2[i] * d1) @ W1 + eye[i]) for i in range(n)]
                return np.array(rows)
        """,
        "dropout_loss": """
            def dropout_loss(w_check, X, y, p):
                data = sum((yi - p * (xi @ w_check)) ** 2 for xi, yi in zip(X, y))
                variance = sum((xi**2) @ (w_check**2) for xi in X)
                return float(data + p * (1 - p) * variance)
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check, p):
                return np.array([p * wi for wi in w_check])
        """,
        "dropout_gamma": """
            def dropout_gamma(X, p):
                norms = [math.sqrt(sum(v * v for v in column)) for column in X.T]
                return math.sqrt((1 - p) / p) * np.diag(norms)
        """,
        "effective_matrix": """
            def effective_matrix(X, Gamma):
                return np.array([np.linalg.solve(Gamma.T, row) for row in X])
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                return np.linalg.solve(Gamma, w_tilde)
        """,
        "effective_column_norm": """
            def effective_column_norm(p):
                return (p / (1 - p)) ** 0.5
        """,
    },
    # List comprehensions over indices: columns of the Jacobian, entries of X Gamma^-1.
    "list comprehensions over indices": {
        "sigmoid": """
            def sigmoid(x):
                x = np.asarray(x, dtype=float)
                flat = x.reshape(-1)
                z = [np.exp(-abs(v)) for v in flat]
                out = np.array([1 / (1 + a) if v >= 0 else a / (1 + a) for v, a in zip(flat, z)])
                return float(out[0]) if x.ndim == 0 else out.reshape(x.shape)
        """,
        "sigmoid_grad": """
            def sigmoid_grad(x):
                x = np.asarray(x, dtype=float)
                flat = x.reshape(-1)
                out = np.array([sigmoid(v) * sigmoid(-v) for v in flat])
                return float(out[0]) if x.ndim == 0 else out.reshape(x.shape)
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad():
                return sigmoid_grad(0.0)
        """,
        "residual_block": """
            def residual_block(W1, W2, x0):
                n = len(x0)
                a1 = [sum(W1[i, j] * x0[j] for j in range(n)) for i in range(n)]
                h = [max(a, 0.0) for a in a1]
                a2 = [sum(W2[i, j] * h[j] for j in range(n)) + x0[i] for i in range(n)]
                return np.array([max(a, 0.0) for a in a2], dtype=float)
        """,
        "residual_jacobian": """
            def residual_jacobian(W1, W2, x0):
                n = len(x0)
                a1 = W1 @ x0
                a2 = W2 @ np.maximum(a1, 0.0) + x0
                d1 = (a1 > 0).astype(float)
                d2 = (a2 > 0).astype(float)
                columns = [d2 * (W2 @ (d1 * W1[:, j]) + np.eye(n)[:, j]) for j in range(n)]
                return np.array(columns).T
        """,
        "dropout_loss": """
            def dropout_loss(w_check, X, y, p):
                N, d = X.shape
                residuals = [
                    y[i] - p * sum(X[i, j] * w_check[j] for j in range(d)) for i in range(N)
                ]
                penalty = sum(np.sum(X[:, j] ** 2) * w_check[j] ** 2 for j in range(d))
                return float(sum(r * r for r in residuals) + p * (1 - p) * penalty)
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check, p):
                return np.array([p * w_check[i] for i in range(len(w_check))], dtype=float)
        """,
        "dropout_gamma": """
            def dropout_gamma(X, p):
                norms = [np.linalg.norm(X[:, j]) for j in range(X.shape[1])]
                return np.diag(norms) * np.sqrt((1 - p) / p)
        """,
        "effective_matrix": """
            def effective_matrix(X, Gamma):
                G_inv = np.linalg.inv(Gamma)
                N, d = X.shape
                return np.array([[X[i] @ G_inv[:, j] for j in range(d)] for i in range(N)])
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                G_inv = np.linalg.inv(Gamma)
                return np.array([G_inv[i] @ w_tilde for i in range(len(w_tilde))])
        """,
        "effective_column_norm": """
            def effective_column_norm(p):
                return float(np.sqrt(p) / np.sqrt(1 - p))
        """,
    },
    # The Jacobian as a product of np.diag matrices; np.linalg.inv; sqrt((X**2).sum(0)).
    "diagonal matrices and inv": {
        "sigmoid": """
            def sigmoid(x):
                # e^min(x, 0) / (1 + e^-|x|): both exponents are <= 0
                return np.exp(np.minimum(x, 0)) / (1 + np.exp(-np.abs(x)))
        """,
        "sigmoid_grad": """
            def sigmoid_grad(x):
                e = np.exp(-np.abs(x))
                return e / (1 + e) ** 2
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad():
                return float(sigmoid_grad(0.0))
        """,
        "residual_block": """
            def residual_block(W1, W2, x0):
                z1 = W1 @ x0
                h = z1 * (z1 > 0)
                z2 = W2 @ h + x0
                return z2 * (z2 > 0)
        """,
        "residual_jacobian": """
            def residual_jacobian(W1, W2, x0):
                z1 = W1 @ x0
                z2 = W2 @ np.maximum(z1, 0) + x0
                D1 = np.diag((z1 > 0).astype(float))
                D2 = np.diag((z2 > 0).astype(float))
                I = np.eye(len(x0))  # noqa: E741
                return D2 @ (W2 @ D1 @ W1 + I)
        """,
        "dropout_loss": """
            def dropout_loss(w_check, X, y, p):
                G_check = np.diag(np.sqrt((X**2).sum(0)))
                return float(
                    np.linalg.norm(y - p * X @ w_check) ** 2
                    + p * (1 - p) * np.linalg.norm(G_check @ w_check) ** 2
                )
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check, p):
                return p * w_check
        """,
        "dropout_gamma": """
            def dropout_gamma(X, p):
                G_check = np.diag(np.sqrt((X**2).sum(0)))
                return np.sqrt((1 - p) / p) * G_check
        """,
        "effective_matrix": """
            def effective_matrix(X, Gamma):
                return X @ np.linalg.inv(Gamma)
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                return np.linalg.inv(Gamma) @ w_tilde
        """,
        "effective_column_norm": """
            def effective_column_norm(p):
                return np.sqrt(p / (1 - p))
        """,
    },
    # sigma(-x) = 1 - sigma(x); np.outer; the diagonal of X^T X; Gamma^-1 computed once.
    "symmetry and outer products": {
        "sigmoid": """
            def sigmoid(x):
                x = np.asarray(x, dtype=float)
                s = 1 / (1 + np.exp(-np.abs(x)))  # sigma(|x|), safe
                s = np.where(x >= 0, s, 1 - s)  # sigma(-t) = 1 - sigma(t)
                return float(s) if s.ndim == 0 else s
        """,
        "sigmoid_grad": """
            def sigmoid_grad(x):
                x = np.asarray(x, dtype=float)
                s = 1 / (1 + np.exp(-np.abs(x)))  # sigma' is even
                g = s * (1 - s)
                return float(g) if g.ndim == 0 else g
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad():
                return sigmoid(0.0) * (1 - sigmoid(0.0))
        """,
        "residual_block": """
            def residual_block(W1, W2, x0):
                inner = W1.dot(x0)
                inner[inner < 0] = 0
                outer = W2.dot(inner) + x0
                outer[outer < 0] = 0
                return outer
        """,
        "residual_jacobian": """
            def residual_jacobian(W1, W2, x0):
                a1 = W1.dot(x0)
                a2 = W2.dot(np.maximum(a1, 0)) + x0
                on1 = (a1 > 0).astype(float)
                on2 = (a2 > 0).astype(float)
                ones = np.ones(len(x0))
                # row scaling by on2 and on1 as outer products with a vector of ones
                inner = W2.dot(np.outer(on1, ones) * W1) + np.eye(len(x0))
                return np.outer(on2, ones) * inner
        """,
        "dropout_loss": """
            def dropout_loss(w_check, X, y, p):
                col_sq = np.diag(X.T @ X)  # squared column norms
                r = y - X @ (p * w_check)
                return float(r @ r + p * (1 - p) * col_sq @ w_check**2)
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check, p):
                return w_check.copy() * p
        """,
        "dropout_gamma": """
            def dropout_gamma(X, p):
                return np.diag(np.sqrt(np.diag(X.T @ X) * (1 - p) / p))
        """,
        "effective_matrix": """
            def effective_matrix(X, Gamma):
                Gamma_inv = np.linalg.inv(Gamma)
                return X @ Gamma_inv
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                return np.linalg.lstsq(Gamma, w_tilde, rcond=None)[0]
        """,
        "effective_column_norm": """
            def effective_column_norm(p):
                return np.sqrt(p / (1 - p))
        """,
    },
    # The Jacobian column by column (the image of each basis vector); least squares solves.
    "columns and lstsq": {
        "sigmoid": """
            def sigmoid(x):
                a = np.exp(-np.abs(x))
                s = np.where(np.asarray(x) >= 0, 1 / (1 + a), a / (1 + a))
                if np.ndim(x) == 0:
                    return float(s)
                return s
        """,
        "sigmoid_grad": """
            def sigmoid_grad(x):
                a = np.exp(-np.abs(x))
                g = a / (1 + a) / (1 + a)
                if np.ndim(x) == 0:
                    return float(g)
                return g
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad():
                return sigmoid_grad(0.0)
        """,
        "residual_block": """
            def residual_block(W1, W2, x0):
                h = np.maximum(W1 @ x0, 0.0)
                return np.maximum(W2 @ h + x0, 0.0)
        """,
        "residual_jacobian": """
            def residual_jacobian(W1, W2, x0):
                n = x0.shape[0]
                a1 = W1 @ x0
                a2 = W2 @ np.maximum(a1, 0.0) + x0
                d1 = (a1 > 0).astype(float)
                d2 = (a2 > 0).astype(float)
                J = np.zeros((n, n))
                for j in range(n):
                    e = np.zeros(n)
                    e[j] = 1.0
                    J[:, j] = d2 * (W2 @ (d1 * (W1 @ e)) + e)  # column j: dx1 / dx0_j
                return J
        """,
        "dropout_loss": """
            def dropout_loss(w_check, X, y, p):
                data = np.sum(np.square(y - p * X.dot(w_check)))
                variance = np.sum(np.square(X).sum(axis=0) * np.square(w_check))
                return float(data + p * (1 - p) * variance)
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check, p):
                return p * w_check
        """,
        "dropout_gamma": """
            def dropout_gamma(X, p):
                d = X.shape[1]
                return np.eye(d) * np.linalg.norm(X, axis=0) * np.sqrt((1 - p) / p)
        """,
        "effective_matrix": """
            def effective_matrix(X, Gamma):
                # X_tilde Gamma = X, i.e. Gamma^T X_tilde^T = X^T
                return np.linalg.lstsq(Gamma.T, X.T, rcond=None)[0].T
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                return np.linalg.lstsq(Gamma, w_tilde, rcond=None)[0]
        """,
        "effective_column_norm": """
            def effective_column_norm(p):
                return float(np.sqrt(p / (1 - p)))
        """,
    },
    # The math module for scalars, numpy for arrays; type hints; prints and comments left in.
    "math scalars with type hints": {
        "sigmoid": """
            import math

            import numpy as np


            def sigmoid(x: float | np.ndarray) -> float | np.ndarray:
                # a single number: plain math is enough
                if isinstance(x, (int, float)):
                    if x >= 0:
                        return 1.0 / (1.0 + math.exp(-x))
                    return math.exp(x) / (1.0 + math.exp(x))
                # an array: exp of a non-positive number only
                z = np.exp(-np.abs(x))
                return np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))


            print("sigmoid(0) =", sigmoid(0.0))  # 0.5
            print("sigmoid(-800) =", sigmoid(-800.0))  # no overflow
        """,
        "sigmoid_grad": """
            import math

            import numpy as np


            def sigmoid_grad(x: float | np.ndarray) -> float | np.ndarray:
                if isinstance(x, (int, float)):
                    e = math.exp(-abs(x))
                    return e / (1.0 + e) ** 2
                e = np.exp(-np.abs(x))
                return e / (1.0 + e) ** 2


            print(sigmoid_grad(np.array([-1000.0, 0.0, 1000.0])))
        """,
        "max_sigmoid_grad": """
            def max_sigmoid_grad() -> float:
                s = sigmoid(0.0)  # the maximum is at x = 0, where sigma = 1/2
                return s * (1 - s)


            print(max_sigmoid_grad())
        """,
        "residual_block": """
            def residual_block(W1: np.ndarray, W2: np.ndarray, x0: np.ndarray) -> np.ndarray:
                h = np.maximum(W1 @ x0, 0.0)  # inner ReLU
                # add the skip BEFORE the outer ReLU
                return np.maximum(W2 @ h + x0, 0.0)
        """,
        "residual_jacobian": """
            def residual_jacobian(W1: np.ndarray, W2: np.ndarray, x0: np.ndarray) -> np.ndarray:
                a1 = W1 @ x0
                a2 = W2 @ np.maximum(a1, 0.0) + x0
                D1 = np.diag((a1 > 0).astype(float))
                D2 = np.diag((a2 > 0).astype(float))
                J = D2 @ (W2 @ D1 @ W1 + np.eye(x0.shape[0]))
                # print(J.shape)
                return J


            _W = np.eye(2)
            print(residual_jacobian(_W, _W, np.ones(2)))  # every unit active: 2 I
        """,
        "dropout_loss": """
            def dropout_loss(w_check: np.ndarray, X: np.ndarray, y: np.ndarray, p: float) -> float:
                data = np.sum((y - p * X @ w_check) ** 2)
                variance = p * (1 - p) * np.sum(np.sum(X**2, axis=0) * w_check**2)
                print(f"data term {data:.3f}, variance term {variance:.3f}")
                return float(data + variance)
        """,
        "dropout_to_ridge_weights": """
            def dropout_to_ridge_weights(w_check: np.ndarray, p: float) -> np.ndarray:
                return p * w_check  # w = p w_check
        """,
        "dropout_gamma": """
            def dropout_gamma(X: np.ndarray, p: float) -> np.ndarray:
                factor = math.sqrt((1 - p) / p)
                return factor * np.diag(np.linalg.norm(X, axis=0))
        """,
        "effective_matrix": """
            def effective_matrix(X: np.ndarray, Gamma: np.ndarray) -> np.ndarray:
                return np.linalg.solve(Gamma.T, X.T).T
        """,
        "ridge_to_tikhonov_weights": """
            def ridge_to_tikhonov_weights(w_tilde: np.ndarray, Gamma: np.ndarray) -> np.ndarray:
                return np.linalg.solve(Gamma, w_tilde)
        """,
        "effective_column_norm": """
            def effective_column_norm(p: float) -> float:
                return math.sqrt(p) / math.sqrt(1 - p)


            print([round(effective_column_norm(p), 3) for p in (0.1, 0.5, 0.9)])
        """,
    },
    # Numerical experiments: a grid search for the maximum, the column norm measured on a
    # random matrix, `import numpy as np` in every cell, extra cells that try things out.
    "experiments": {
        "sigmoid": """
            import numpy as np


            def sigmoid(x):
                x = np.asarray(x, dtype=float)
                out = np.zeros_like(x)
                pos = x >= 0
                out = np.where(pos, 1 / (1 + np.exp(np.where(pos, -x, 0))), out)
                ex = np.exp(np.where(pos, 0, x))
                out = np.where(pos, out, ex / (1 + ex))
                return out.item() if out.ndim == 0 else out
        """,
        "sigmoid_grad": """
            import numpy as np


            def sigmoid_grad(x):
                s = sigmoid(x)
                return s - s**2
        """,
        "max_sigmoid_grad": """
            import numpy as np


            def max_sigmoid_grad():
                grid = np.linspace(-5, 5, 100001)  # contains 0
                return float(np.max(sigmoid_grad(grid)))
        """,
        "residual_block": """
            import numpy as np


            def residual_block(W1, W2, x0):
                return np.maximum(W2 @ np.maximum(W1 @ x0, 0) + x0, 0)
        """,
        "residual_jacobian": """
            import numpy as np


            def residual_jacobian(W1, W2, x0):
                a1 = W1 @ x0
                a2 = W2 @ np.maximum(a1, 0) + x0
                return (a2 > 0)[:, None] * (W2 @ ((a1 > 0)[:, None] * W1) + np.eye(len(x0)))
        """,
        "dropout_loss": """
            import numpy as np


            def dropout_loss(w_check, X, y, p):
                Gc = np.diag(np.linalg.norm(X, axis=0))
                loss = np.sum((y - p * X @ w_check) ** 2)
                loss += p * (1 - p) * np.sum((Gc @ w_check) ** 2)
                return float(loss)
        """,
        "dropout_to_ridge_weights": """
            import numpy as np


            def dropout_to_ridge_weights(w_check, p):
                return p * w_check
        """,
        "dropout_gamma": """
            import numpy as np


            def dropout_gamma(X, p):
                return np.diag(np.sqrt((1 - p) / p) * np.linalg.norm(X, axis=0))
        """,
        "effective_matrix": """
            import numpy as np


            def effective_matrix(X, Gamma):
                return np.linalg.solve(Gamma.T, X.T).T
        """,
        "ridge_to_tikhonov_weights": """
            import numpy as np


            def ridge_to_tikhonov_weights(w_tilde, Gamma):
                return np.linalg.solve(Gamma, w_tilde)
        """,
        "effective_column_norm": """
            import numpy as np


            def effective_column_norm(p):
                # measured, not derived: every column of X_tilde has the same norm
                rng = np.random.default_rng(0)
                X = rng.normal(size=(10, 3))
                X_tilde = effective_matrix(X, dropout_gamma(X, p))
                return float(np.linalg.norm(X_tilde[:, 0]))
        """,
    },
}

# Code cells a style places after the cell of a graded function (a student's experiments).
EXTRA_CELLS: dict[str, dict[str, list[str]]] = {
    "experiments": {
        "sigmoid": [
            """
            xs = np.linspace(-6, 6, 7)
            print(sigmoid(xs))
            print(sigmoid(np.array([-1e4, 1e4])), "(no warning)")
            """,
        ],
        "max_sigmoid_grad": [
            """
            import numpy as np

            print("max of sigma' on the grid:", max_sigmoid_grad(), "vs 1/4 =", 1 / 4)
            """,
        ],
        "residual_jacobian": [
            """
            import numpy as np

            # a finite-difference check of the Jacobian at a random point
            rng = np.random.default_rng(1)
            W1, W2, x0 = rng.normal(size=(4, 4)), rng.normal(size=(4, 4)), rng.normal(size=4)
            eps = 1e-6
            numeric = np.column_stack(
                [
                    (residual_block(W1, W2, x0 + eps * e) - residual_block(W1, W2, x0 - eps * e))
                    / (2 * eps)
                    for e in np.eye(4)
                ]
            )
            print(np.max(np.abs(numeric - residual_jacobian(W1, W2, x0))))
            """,
        ],
        "effective_column_norm": [
            """
            for p in (0.2, 0.5, 0.8):
                print(p, effective_column_norm(p), np.sqrt(p / (1 - p)))
            """,
        ],
    },
}


def source(text: str) -> str:
    """A cell's source as written above, without the indentation of this file."""
    return textwrap.dedent(text).strip() + "\n"


def function_cell(style: str, name: str) -> str:
    """The style's cell for the graded function `name`; for a function no style implements,
    a catalogued alternative answer, a different one for each style in turn."""
    if name in STYLES[style]:
        return source(STYLES[style][name])
    others = [a for a in ALTERNATIVES if a.function == name]
    return others[list(STYLES).index(style) % len(others)].source + "\n"


def style_cells(style: str) -> list[tuple[str | None, str]]:
    """The style's code cells in notebook order: (graded function or None, source)."""
    cells = []
    for name in GRADED:
        cells.append((name, function_cell(style, name)))
        cells += [(None, source(extra)) for extra in EXTRA_CELLS.get(style, {}).get(name, [])]
    return cells


def load_style(style: str) -> dict:
    """Run the style's cells here, after the setup cell's `import numpy as np`."""
    namespace: dict = {"__name__": "__main__"}
    exec("import numpy as np", namespace)  # noqa: S102 - as the setup cell does
    for name, code in style_cells(style):
        exec(compile(code, f"<{style}: {name or 'extra cell'}>", "exec"), namespace)  # noqa: S102
    return namespace


def own_case(label: str) -> bool:
    """Whether a hidden case is inside the input contract (float64 arrays and floats)."""
    return LIST_INPUT not in label


# ## The styles themselves


def test_every_style_is_a_complete_set_in_notebook_order():
    assert len(STYLES) >= 15
    styled = [f for f in GRADED if any(f in functions for functions in STYLES.values())]
    assert styled, "the styles implement no graded function"
    for style, functions in STYLES.items():
        lacking = [f for f in styled if f not in functions]
        assert not lacking, (
            f"{style} lacks {', '.join(lacking)}, which other styles implement: add "
            f"{'it' if len(lacking) == 1 else 'them'} to STYLES[{style!r}] in "
            "tests/test_honest_class.py"
        )
        assert list(functions) == styled, (
            f"{style}: put its functions in notebook order ({', '.join(styled)}), and only "
            "graded ones"
        )
    for name in GRADED:  # what no style implements is answered by catalogued alternatives
        assert name in styled or any(a.function == name for a in ALTERNATIVES), name
    assert set(EXTRA_CELLS) <= set(STYLES)
    for style, extras in EXTRA_CELLS.items():
        assert set(extras) <= set(GRADED), style


@pytest.fixture(scope="module")
def reference_results() -> dict[str, list]:
    """Per function, (case, the reference's result as returned, as float64) for every hidden
    case inside the input contract."""
    results = {}
    for name, reference in solutions.GRADED.items():
        rows = []
        for case in hidden_cases(name):
            if own_case(case.label):
                returned, _ = compare.call_on_copies(reference, case.args, False)
                rows.append((case, returned, np.asarray(returned, dtype=float)))
        results[name] = rows
    return results


@pytest.mark.parametrize("style", list(STYLES))
def test_style_agrees_with_the_answer_key_on_every_hidden_case(style, reference_results):
    """Value (the function's tolerance), type (a float where the reference returns a float,
    else a float64 ndarray), shape, no warning where numpy warnings are errors, arguments left
    unchanged: judged as the hidden grader judges a call."""
    namespace = load_style(style)
    problems = []
    for name in GRADED:
        record = FUNCTIONS[name]
        function = namespace.get(name)
        for index, (case, returned, expected) in enumerate(reference_results[name]):
            kept = []

            def spy(*args, function=function, kept=kept):
                kept.append(function(*args))
                return kept[-1]

            outcome = compare.call(spy, case.args, record.strict)
            verdict = compare.judge(
                outcome,
                expected,
                record.tolerance.rtol,
                record.tolerance.atol,
                dtype=outcome.dtype,
            )
            where = f"{style}: {name}, case {index} ({case.label})"
            if not verdict.passed:
                problems.append(f"{where}: {verdict.reason or verdict.status}")
                continue
            result = kept[-1]
            if isinstance(returned, float) and not isinstance(result, float):
                problems.append(f"{where}: returned a {type(result).__name__}, not a float")
            elif isinstance(returned, np.ndarray) and not (
                isinstance(result, np.ndarray) and result.dtype == np.float64
            ):
                what = getattr(result, "dtype", type(result).__name__)
                problems.append(f"{where}: returned {what}, not a float64 array")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("style", list(STYLES))
def test_style_is_consistent_with_itself(style):
    """Equal values across a style's own functions, as the questions relate them."""
    ns = load_style(style)
    assert ns["max_sigmoid_grad"]() == pytest.approx(0.25, rel=1e-12), style
    assert ns["max_sigmoid_grad"]() == pytest.approx(ns["sigmoid_grad"](0.0), rel=1e-12), style
    x = np.linspace(-30, 30, 61)
    s = ns["sigmoid"](x)
    np.testing.assert_allclose(ns["sigmoid_grad"](x), s * (1 - s), rtol=1e-7, atol=1e-12)
    rng = np.random.default_rng(7)
    X = rng.normal(size=(9, 4)) * np.array([0.5, 1.0, 2.0, 4.0])
    for p in (0.01, 0.3, 0.5, 0.99):
        X_tilde = ns["effective_matrix"](X, ns["dropout_gamma"](X, p))
        np.testing.assert_allclose(
            np.linalg.norm(X_tilde, axis=0), ns["effective_column_norm"](p), rtol=1e-10
        )
        w_check = rng.normal(size=4)
        w, Gamma = ns["dropout_to_ridge_weights"](w_check, p), ns["dropout_gamma"](X, p)
        y = rng.normal(size=9)
        tikhonov = np.sum((y - X @ w) ** 2) + np.sum((Gamma @ w) ** 2)
        assert ns["dropout_loss"](w_check, X, y, p) == pytest.approx(tikhonov, rel=1e-10)
        w_back = ns["ridge_to_tikhonov_weights"](Gamma @ w, Gamma)
        np.testing.assert_allclose(w_back, w, rtol=1e-10, atol=1e-12)


# ## End to end: the class, graded by grade-all


def submission_notebook(student: dict, style: str) -> dict:
    """The student notebook with every stub replaced by the style's cell for that function,
    and the style's extra cells after it."""
    stubs = {notebook.stub_source(name): name for name in GRADED}
    extras = EXTRA_CELLS.get(style, {})
    cells, replaced = [], []
    for cell in student["cells"]:
        text = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
        name = stubs.get(text) if cell["cell_type"] == "code" else None
        if name is None:
            cells.append(cell)
            continue
        replaced.append(name)
        cells.append({**cell, "source": function_cell(style, name)})
        for i, extra in enumerate(extras.get(name, [])):
            cells.append(
                {
                    "cell_type": "code",
                    "id": f"{cell.get('id', name)}-extra-{i}",
                    "metadata": {},
                    "source": source(extra),
                    "outputs": [],
                    "execution_count": None,
                }
            )
    assert replaced == GRADED, f"stubs found in the student notebook: {replaced}"
    return {**student, "cells": cells}


def file_name(style: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", style.lower()).strip("-")


def lost_points(output: str) -> list[str]:
    """The feedback lines of the functions in a question's output that did not get full
    marks (a function's block starts with its unindented line)."""
    blocks: list[list[str]] = []
    for line in output.splitlines():
        if line and not line[0].isspace():
            blocks.append([line])
        elif blocks:
            blocks[-1].append(line)
    full = re.compile(r"^\w+: ([\d.]+) of ([\d.]+) points?$")
    lost = []
    for block in blocks:
        score = full.match(block[0])
        if not score or float(score.group(1)) < float(score.group(2)):
            lost += block
    return lost


@pytest.mark.slow
def test_the_honest_class_gets_full_marks(tmp_path, student_json, solution_json, sandbox_runtime):
    subs = tmp_path / "class"
    subs.mkdir()
    write_notebook(subs, solution_json, "answer-key.ipynb")
    names = {}
    for style in STYLES:
        names[style] = file_name(style)
        write_notebook(subs, submission_notebook(student_json, style), f"{names[style]}.ipynb")
    assert len(set(names.values())) == len(STYLES)
    out = tmp_path / "graded"
    summary = batch.grade_all(subs, out, jobs=2, progress=None)
    assert not summary.not_graded, summary.not_graded

    def results(name: str) -> dict:
        return json.loads((out / "results" / f"{name}.json").read_text(encoding="utf-8"))

    key = results("answer-key")
    assert key["score"] == pytest.approx(FULL), "the answer key itself lost points"
    key_scores = {t["name"]: t["score"] for t in key["tests"]}
    failures = []
    for style, name in names.items():
        graded = results(name)
        scores = {t["name"]: t["score"] for t in graded["tests"]}
        lost = [
            line
            for t in graded["tests"]
            if t["score"] < t["max_score"] - 1e-9
            for line in lost_points(t["output"])
        ]
        if graded["score"] != pytest.approx(FULL) or scores != pytest.approx(key_scores) or lost:
            error = graded["extra_data"].get("error")
            failures.append(
                f"{style}: {graded['score']:g} of {FULL:g}"
                + (f" ({error})" if error else "")
                + "".join(f"\n    {line}" for line in lost)
            )
    assert not failures, "\n".join(failures)
