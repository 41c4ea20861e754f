r"""Question 2 — dropout as Tikhonov (generalised ridge) regularisation (reference).

Same conventions as `solutions.residual`: self-contained functions, public docstring
above ``Notes``, derivation in ``Notes``.
"""

import numpy as np


def dropout_loss(w_check: np.ndarray, X: np.ndarray, y: np.ndarray, p: float) -> float:
    r"""Expected squared loss of linear regression trained with dropout on the inputs.

    Every entry of `X` is kept independently with probability `p` and zeroed otherwise,
    with no rescaling. Returns the closed form of
    $\mathbb{E}_R\,\|y - (R \odot X)\,\check w\|^2$ given in the notebook.

    Parameters
    ----------
    w_check : numpy.ndarray of float64, shape (d,)
        Weights $\check w$ used during dropout training.
    X : numpy.ndarray of float64, shape (N, d)
        Design matrix.
    y : numpy.ndarray of float64, shape (N,)
        Targets.
    p : float
        Keep probability, $0 < p < 1$.

    Returns
    -------
    float
        The expected loss. The arguments are not modified.

    Notes
    -----
    Row $i$ of the residual is $y_i - \sum_j R_{ij} X_{ij} \check w_j$ with independent
    $R_{ij}$ of mean $p$ and variance $p(1-p)$. Mean plus variance of each row gives
    $(y_i - p\,x_i^\top \check w)^2 + p(1-p) \sum_j X_{ij}^2 \check w_j^2$; summing over $i$
    turns $\sum_i X_{ij}^2$ into $\|x_j\|^2$, the squared norm of column $j$:
    $\|y - pX\check w\|^2 + p(1-p)\,\|\check\Gamma \check w\|^2$.
    """
    w_check, X, y = (np.asarray(a, dtype=float) for a in (w_check, X, y))
    residual = y - p * (X @ w_check)
    column_norms = np.linalg.norm(X, axis=0)
    return float(residual @ residual + p * (1 - p) * np.sum((column_norms * w_check) ** 2))


def dropout_to_ridge_weights(w_check: np.ndarray, p: float) -> np.ndarray:
    r"""Weights $w$ of the Tikhonov problem that correspond to dropout weights $\check w$.

    Parameters
    ----------
    w_check : numpy.ndarray of float64, shape (d,)
        Weights learned with dropout (keep probability `p`, no rescaling in training).
    p : float
        Keep probability, $0 < p < 1$.

    Returns
    -------
    numpy.ndarray of float64, shape (d,)
        $w$, the weights to use at inference time. The arguments are not modified.

    Notes
    -----
    The data term $\|y - pX\check w\|^2$ is $\|y - Xw\|^2$ exactly when $w = p\,\check w$.
    """
    return p * np.asarray(w_check, dtype=float)


def dropout_gamma(X: np.ndarray, p: float) -> np.ndarray:
    r"""Tikhonov matrix $\Gamma$ that makes the dropout loss equal $\|y - Xw\|^2 + \|\Gamma w\|^2$.

    Parameters
    ----------
    X : numpy.ndarray of float64, shape (N, d)
        Design matrix.
    p : float
        Keep probability, $0 < p < 1$.

    Returns
    -------
    numpy.ndarray of float64, shape (d, d)
        $\Gamma$, for the weights $w$ returned by `dropout_to_ridge_weights`.
        The arguments are not modified.

    Notes
    -----
    Substitute $\check w = w/p$ in the penalty:
    $p(1-p)\|\check\Gamma w/p\|^2 = \frac{1-p}{p}\|\check\Gamma w\|^2 = \|\Gamma w\|^2$ with
    $\Gamma = \sqrt{(1-p)/p}\;\check\Gamma$ with
    $\check\Gamma = \mathrm{diag}(\|x_1\|, \dots, \|x_d\|)$.
    """
    X = np.asarray(X, dtype=float)
    return np.sqrt((1 - p) / p) * np.diag(np.linalg.norm(X, axis=0))


def effective_matrix(X: np.ndarray, Gamma: np.ndarray) -> np.ndarray:
    r"""Design matrix $\tilde X$ of the ordinary ridge problem equivalent to Tikhonov with `Gamma`.

    Parameters
    ----------
    X : numpy.ndarray of float64, shape (N, d)
        Design matrix.
    Gamma : numpy.ndarray of float64, shape (d, d)
        Invertible Tikhonov matrix, not necessarily diagonal.

    Returns
    -------
    numpy.ndarray of float64, shape (N, d)
        $\tilde X$, the design matrix of the ordinary ridge problem of question 2b.
        The arguments are not modified.

    Notes
    -----
    Put $\tilde w = \Gamma w$: the penalty becomes $\|\tilde w\|^2$ (ridge with $\lambda = 1$), and
    $w = \Gamma^{-1}\tilde w$ gives $Xw = (X\Gamma^{-1})\tilde w$, so $\tilde X = X\Gamma^{-1}$.
    It is computed as the solution of $\Gamma^\top \tilde X^\top = X^\top$, which is more
    accurate than forming $\Gamma^{-1}$.
    """
    X, Gamma = np.asarray(X, dtype=float), np.asarray(Gamma, dtype=float)
    return np.linalg.solve(Gamma.T, X.T).T


def ridge_to_tikhonov_weights(w_tilde: np.ndarray, Gamma: np.ndarray) -> np.ndarray:
    r"""Map ridge weights $\tilde w$ (on $\tilde X$) back to Tikhonov weights $w$ (on $X$).

    Parameters
    ----------
    w_tilde : numpy.ndarray of float64, shape (d,)
        Weights of the ridge problem on the effective matrix.
    Gamma : numpy.ndarray of float64, shape (d, d)
        The invertible Tikhonov matrix used to build the effective matrix.

    Returns
    -------
    numpy.ndarray of float64, shape (d,)
        $w$. The arguments are not modified.

    Notes
    -----
    Invert the change of variables $\tilde w = \Gamma w$: $w = \Gamma^{-1}\tilde w$,
    computed by solving $\Gamma w = \tilde w$.
    """
    w_tilde, Gamma = np.asarray(w_tilde, dtype=float), np.asarray(Gamma, dtype=float)
    return np.linalg.solve(Gamma, w_tilde)


def effective_column_norm(p: float) -> float:
    r"""Norm shared by every column of $\tilde X$ when $\Gamma$ is the dropout matrix.

    Parameters
    ----------
    p : float
        Keep probability, $0 < p < 1$.

    Returns
    -------
    float
        $\|\tilde x_j\|$ for every column $j$ of `effective_matrix(X, dropout_gamma(X, p))`
        (any `X` whose columns are non-zero).

    Notes
    -----
    $\Gamma$ is diagonal, so column $j$ of $X\Gamma^{-1}$ is $x_j / \Gamma_{jj}$ with
    $\Gamma_{jj} = \sqrt{(1-p)/p}\,\|x_j\|$; its norm is $\sqrt{p/(1-p)}$, whatever $x_j$ is.
    """
    return float(np.sqrt(p / (1 - p)))
