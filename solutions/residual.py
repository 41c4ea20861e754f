r"""Question 1 — residual connections and vanishing gradients (reference).

Every function is self-contained apart from ``numpy as np`` and the functions defined
before it, because the build copies each one verbatim into the solution notebook.
The part of a docstring above ``Notes`` is what students see in their stub; ``Notes``
holds the derivation and stays in the answer key.
"""

import numpy as np


def sigmoid(x: float | np.ndarray) -> float | np.ndarray:
    r"""Logistic sigmoid, elementwise: $\sigma(x) = 1 / (1 + e^{-x})$.

    Parameters
    ----------
    x : float or numpy.ndarray of float64
        Pre-activations, any shape.

    Returns
    -------
    float or numpy.ndarray
        $\sigma(x)$, computed in float64: a Python float when `x` is a scalar, otherwise a
        float64 array of the same shape as `x`. Must be numerically stable: no overflow
        warning for $|x|$ up to $10^4$. The argument is not modified.

    Notes
    -----
    $e^{-x}$ overflows for $x \lesssim -710$. With $z = e^{-|x|} \in (0, 1]$, which never
    overflows, $\sigma(x) = 1/(1+z)$ for $x \ge 0$ and $\sigma(x) = z/(1+z)$ for $x < 0$
    (multiply numerator and denominator by $e^{x}$).
    """
    x = np.asarray(x, dtype=float)
    z = np.exp(-np.abs(x))
    out = np.where(x >= 0, 1.0 / (1.0 + z), z / (1.0 + z))
    return float(out) if out.ndim == 0 else out


def sigmoid_grad(x: float | np.ndarray) -> float | np.ndarray:
    r"""Derivative of the sigmoid, elementwise: $\sigma'(x) = \frac{d\sigma}{dx}(x)$.

    Parameters
    ----------
    x : float or numpy.ndarray of float64
        Points at which to evaluate the derivative, any shape.

    Returns
    -------
    float or numpy.ndarray
        $\sigma'(x)$, computed in float64: a Python float when `x` is a scalar, otherwise a
        float64 array of the same shape as `x`. No overflow warning for $|x|$ up to $10^4$.
        The argument is not modified.

    Notes
    -----
    $\sigma'(x) = e^{-x}/(1+e^{-x})^2 = \sigma(x)\,(1-\sigma(x))$. The derivative is even,
    so with $z = e^{-|x|}$ it equals $z/(1+z)^2$, which keeps full relative accuracy in the
    tails where $1 - \sigma(x)$ would round to zero.
    """
    x = np.asarray(x, dtype=float)
    z = np.exp(-np.abs(x))
    out = z / (1.0 + z) ** 2
    return float(out) if out.ndim == 0 else out


def max_sigmoid_grad() -> float:
    r"""The largest value that $\sigma'(x)$ takes over all real $x$.

    Returns
    -------
    float
        $\max_x \sigma'(x)$.

    Notes
    -----
    $\sigma''(x) = \sigma'(x)\,(1 - 2\sigma(x))$ vanishes only where $\sigma(x) = 1/2$,
    i.e. at $x = 0$, and $\sigma'$ falls off on both sides, so the maximum is
    $\sigma'(0) = \tfrac12 \cdot \tfrac12 = \tfrac14$.
    """
    return float(sigmoid_grad(0.0))


def residual_block(W1: np.ndarray, W2: np.ndarray, x0: np.ndarray) -> np.ndarray:
    r"""Forward pass of the residual block of the diagram, from $x_0$ to $x_1$.

    Parameters
    ----------
    W1, W2 : numpy.ndarray of float64, shape (n, n)
        Weights of the first and second layer (no biases).
    x0 : numpy.ndarray of float64, shape (n,)
        Input of the block.

    Returns
    -------
    numpy.ndarray of float64, shape (n,)
        The output $x_1$. The arguments are not modified.

    Notes
    -----
    Read off the diagram: weight, ReLU, weight, add the skip $x_0$, then the outer ReLU:
    $x_1 = \mathrm{ReLU}(W_2\,\mathrm{ReLU}(W_1 x_0) + x_0)$.
    """
    W1, W2, x0 = (np.asarray(a, dtype=float) for a in (W1, W2, x0))
    hidden = np.maximum(W1 @ x0, 0.0)
    return np.maximum(W2 @ hidden + x0, 0.0)


def residual_jacobian(W1: np.ndarray, W2: np.ndarray, x0: np.ndarray) -> np.ndarray:
    r"""Jacobian $\partial x_1 / \partial x_0$ of `residual_block` at `x0`.

    Parameters
    ----------
    W1, W2 : numpy.ndarray of float64, shape (n, n)
        Weights of the first and second layer (no biases).
    x0 : numpy.ndarray of float64, shape (n,)
        Point at which the Jacobian is taken.

    Returns
    -------
    numpy.ndarray of float64, shape (n, n)
        Entry $(i, j)$ is $\partial x_{1,i} / \partial x_{0,j}$ (numerator layout: row $i$
        is the gradient of output $i$). Convention: $\mathrm{ReLU}'(0) = 0$.
        The arguments are not modified.

    Notes
    -----
    Write $a_1 = W_1 x_0$, $h = \mathrm{ReLU}(a_1)$, $a_2 = W_2 h + x_0$ and
    $x_1 = \mathrm{ReLU}(a_2)$.
    The chain rule, with $D_1 = \mathrm{diag}(\mathbb{1}[a_1 > 0])$ and
    $D_2 = \mathrm{diag}(\mathbb{1}[a_2 > 0])$, gives
    $\partial x_1/\partial x_0 = D_2\,(W_2 D_1 W_1 + I)$: the skip contributes $I$.
    Multiplying by a diagonal matrix scales rows (left) or columns (right), so no
    $n \times n$ diagonal matrix needs to be formed.
    """
    W1, W2, x0 = (np.asarray(a, dtype=float) for a in (W1, W2, x0))
    a1 = W1 @ x0
    a2 = W2 @ np.maximum(a1, 0.0) + x0
    d1 = (a1 > 0).astype(float)
    d2 = (a2 > 0).astype(float)
    return d2[:, None] * (W2 @ (d1[:, None] * W1) + np.eye(x0.shape[0]))
