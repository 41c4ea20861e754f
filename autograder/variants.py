"""Catalogued mistakes and alternative correct answers for every graded function.

A mistake is a small wrong implementation written the way students go wrong, with a hint:
a question that leads to the slip without stating the fix. An alternative is a different correct
implementation. The release gate (`autograder.mutation`) grades every one through the real
grading path: each mistake must lose points on its own question and nowhere else, each
alternative must get full marks. When a student's output on a failing case matches a
mistake's output, the feedback shows that mistake's hint.

To add one: append a `mistake(...)` or `alternative(...)` line below; the build does the rest.
"""

import inspect
import textwrap
from dataclasses import dataclass

import solutions


@dataclass(frozen=True)
class Variant:
    """One implementation of a graded function other than the reference.

    Attributes
    ----------
    function : str
        The graded function it implements.
    name : str
        One line saying what it does.
    source : str
        Python source defining `function` (numpy as ``np`` and the other graded functions are
        available).
    hint : str
        For a mistake, the feedback shown when a student's output matches it; empty for an
        alternative.
    """

    function: str
    name: str
    source: str
    hint: str = ""


def _define(function: str, body: str) -> str:
    # A variant of a function the answer key lacks takes any arguments; the build refuses it.
    reference = solutions.GRADED.get(function)
    params = ", ".join(inspect.signature(reference).parameters) if reference else "*args"
    return f"def {function}({params}):\n" + textwrap.indent(textwrap.dedent(body).strip(), "    ")


def mistake(function: str, name: str, hint: str, body: str) -> Variant:
    return Variant(function, name, _define(function, body), hint)


def alternative(function: str, name: str, body: str) -> Variant:
    return Variant(function, name, _define(function, body))


_STABLE = """
x = np.asarray(x, dtype=float)
z = np.exp(-np.abs(x))
"""

MISTAKES: tuple[Variant, ...] = (
    # ## sigmoid
    mistake(
        "sigmoid",
        "the textbook formula, which overflows for large negative x",
        "np.exp overflowed, so it was given a large positive number somewhere: np.exp(-x) is, for very negative x, and np.where(condition, a, b) computes both a and b on every element before it chooses. How could every element reach exp with an argument that is never large and positive?",
        "x = np.asarray(x, dtype=float)\nout = 1 / (1 + np.exp(-x))\n"
        "return float(out) if out.ndim == 0 else out",
    ),
    mistake(
        "sigmoid",
        "sign flipped in the exponent: sigma(-x)",
        "Your values look like sigma(-x): which sign should the exponent have?",
        _STABLE + "out = np.where(x >= 0, z / (1 + z), 1 / (1 + z))\n"
        "return float(out) if out.ndim == 0 else out",
    ),
    mistake(
        "sigmoid",
        "one branch only: sigma(|x|)",
        "Right for x >= 0 but not for x < 0: what should the formula give when x is negative?",
        _STABLE + "out = 1 / (1 + z)\nreturn float(out) if out.ndim == 0 else out",
    ),
    mistake(
        "sigmoid",
        "tanh instead of the logistic sigmoid",
        "Your values look like tanh(x): what should sigma(0) be, and in which range does sigma stay?",
        "return np.tanh(x)",
    ),
    mistake(
        "sigmoid",
        "result rounded to four decimals",
        "Your values look rounded: does anything in your code cut off decimals?",
        _STABLE + "out = np.round(np.where(x >= 0, 1 / (1 + z), z / (1 + z)), 4)\n"
        "return float(out) if out.ndim == 0 else out",
    ),
    mistake(
        "sigmoid",
        "a scalar returned as an array of shape (1,)",
        "For a scalar x you returned an array of shape (1,): what does the docstring say a scalar input gives back?",
        "x = np.atleast_1d(np.asarray(x, dtype=float))\nz = np.exp(-np.abs(x))\n"
        "return np.where(x >= 0, 1 / (1 + z), z / (1 + z))",
    ),
    mistake(
        "sigmoid",
        "input clipped in place",
        "Your function changes the array it was given: which line writes into x itself?",
        "x = np.asarray(x)\nif x.dtype == float:\n    np.clip(x, -700, 700, out=x)\n"
        "out = 1 / (1 + np.exp(-np.asarray(x, dtype=float)))\n"
        "return float(out) if out.ndim == 0 else out",
    ),
    mistake(
        "sigmoid",
        "computed in float32, returned as float64",
        "Your values carry only about seven significant digits: which dtype does your "
        "computation use, and which does the docstring ask for?",
        "x32 = np.asarray(x, dtype=np.float32)\nz = np.exp(-np.abs(x32))\n"
        "out = np.where(x32 >= 0, 1 / (1 + z), z / (1 + z)).astype(float)\n"
        "return float(out) if out.ndim == 0 else out",
    ),
    # ## sigmoid_grad
    mistake(
        "sigmoid_grad",
        "sigma(x) instead of its derivative",
        "Your values look like sigma(x) itself: did you differentiate it?",
        "return sigmoid(x)",
    ),
    mistake(
        "sigmoid_grad",
        "sign slip: sigma(x)(1 + sigma(x))",
        "Your result grows where sigma' should shrink: which sign in your formula could be flipped?",
        "s = np.asarray(sigmoid(x))\nout = s * (1 + s)\nreturn float(out) if out.ndim == 0 else out",
    ),
    mistake(
        "sigmoid_grad",
        "the overflow-prone quotient e^-x / (1 + e^-x)^2",
        "np.exp overflowed for some large |x|, in your formula or in a branch of np.where (which computes both branches on every element before it chooses): could you write sigma' in terms of something you already compute without overflow?",
        "x = np.asarray(x, dtype=float)\ne = np.exp(-x)\nout = e / (1 + e) ** 2\n"
        "return float(out) if out.ndim == 0 else out",
    ),
    mistake(
        "sigmoid_grad",
        "denominator not squared",
        "Differentiate 1 / (1 + e^-x) again with the chain rule: what power does the denominator get?",
        _STABLE + "out = z / (1 + z)\nreturn float(out) if out.ndim == 0 else out",
    ),
    mistake(
        "sigmoid_grad",
        "the derivative of tanh",
        "Your values look like the derivative of tanh: which function are you differentiating?",
        "out = 1 - np.tanh(np.asarray(x, dtype=float)) ** 2\n"
        "return float(out) if out.ndim == 0 else out",
    ),
    mistake(
        "sigmoid_grad",
        "result rounded to four decimals",
        "Your values look rounded: does anything in your code cut off decimals?",
        _STABLE
        + "out = np.round(z / (1 + z) ** 2, 4)\nreturn float(out) if out.ndim == 0 else out",
    ),
    # ## max_sigmoid_grad
    mistake(
        "max_sigmoid_grad",
        "the maximum of sigma instead of sigma'",
        "That looks like the largest value of sigma: which function's maximum does the question ask for?",
        "return 1.0",
    ),
    mistake(
        "max_sigmoid_grad",
        "sigma' evaluated at x = 0.5",
        "sigma' is largest where sigma'' = 0: where is that?",
        "return float(sigmoid_grad(0.5))",
    ),
    mistake(
        "max_sigmoid_grad",
        "sigma(0) instead of sigma'(0)",
        "You returned sigma at the point where sigma' peaks: which function should you evaluate there?",
        "return float(sigmoid(0.0))",
    ),
    mistake(
        "max_sigmoid_grad",
        "the maximiser instead of the maximum",
        "You returned the place where sigma' is largest: does the question ask where, or how large?",
        "return 0.0",
    ),
    mistake(
        "max_sigmoid_grad",
        "maximum over a coarse grid that misses the peak",
        "A grid maximum is only approximate unless the grid hits the peak: where exactly is the peak?",
        "return float(np.max(sigmoid_grad(np.linspace(-5, 5, 100))))",
    ),
    mistake(
        "max_sigmoid_grad",
        "arithmetic slip: (1/2 * 1/2)^2",
        "Could you recompute sigma' at its maximiser step by step?",
        "return 1 / 16",
    ),
    # ## residual_block
    mistake(
        "residual_block",
        "no ReLU after the addition",
        "Look at the diagram again: what happens to the sum after the skip connection joins it?",
        "return W2 @ np.maximum(W1 @ x0, 0) + x0",
    ),
    mistake(
        "residual_block",
        "outer ReLU on the branch, before the addition",
        "In the diagram, does the outer ReLU come before or after x0 is added back?",
        "return np.maximum(W2 @ np.maximum(W1 @ x0, 0), 0) + x0",
    ),
    mistake(
        "residual_block",
        "no ReLU between the two weight layers",
        "What sits between the two weight layers in the diagram?",
        "return np.maximum(W2 @ (W1 @ x0) + x0, 0)",
    ),
    mistake(
        "residual_block",
        "skip connection left out",
        "Where does the skip connection's x0 appear in your formula?",
        "return np.maximum(W2 @ np.maximum(W1 @ x0, 0), 0)",
    ),
    mistake(
        "residual_block",
        "W2 applied before W1",
        "Which weight layer does x0 meet first in the diagram?",
        "return np.maximum(W1 @ np.maximum(W2 @ x0, 0) + x0, 0)",
    ),
    mistake(
        "residual_block",
        "weights transposed (x W instead of W x)",
        "x @ W equals W^T x: on which side of x should a weight matrix go?",
        "return np.maximum(np.maximum(x0 @ W1, 0) @ W2 + x0, 0)",
    ),
    # ## residual_jacobian
    mistake(
        "residual_jacobian",
        "without D2: the outer ReLU ignored",
        "The outer ReLU is the last step of the block: where is its derivative in your chain rule?",
        "d1 = (W1 @ x0 > 0).astype(float)\nreturn W2 @ (d1[:, None] * W1) + np.eye(len(x0))",
    ),
    mistake(
        "residual_jacobian",
        "without the identity from the skip connection",
        "Where does the skip connection x0 show up when you differentiate x1 with respect to x0?",
        "a1 = W1 @ x0\nd1 = (a1 > 0).astype(float)\n"
        "d2 = (W2 @ np.maximum(a1, 0) + x0 > 0).astype(float)\n"
        "return d2[:, None] * (W2 @ (d1[:, None] * W1))",
    ),
    mistake(
        "residual_jacobian",
        "transposed: denominator (gradient) layout",
        "Your matrix looks transposed: in numerator layout, what does entry (i, j) hold?",
        "a1 = W1 @ x0\nd1 = (a1 > 0).astype(float)\n"
        "d2 = (W2 @ np.maximum(a1, 0) + x0 > 0).astype(float)\n"
        "return (d2[:, None] * (W2 @ (d1[:, None] * W1) + np.eye(len(x0)))).T",
    ),
    mistake(
        "residual_jacobian",
        "ReLU'(0) = 1 at the kink",
        "Where a pre-activation is exactly 0, which value of ReLU'(0) does the question ask you to use?",
        "a1 = W1 @ x0\nd1 = (a1 >= 0).astype(float)\n"
        "d2 = (W2 @ np.maximum(a1, 0) + x0 >= 0).astype(float)\n"
        "return d2[:, None] * (W2 @ (d1[:, None] * W1) + np.eye(len(x0)))",
    ),
    mistake(
        "residual_jacobian",
        "without D1: the inner ReLU ignored",
        "Where does the derivative of the inner ReLU enter your chain rule?",
        "a1 = W1 @ x0\nd2 = (W2 @ np.maximum(a1, 0) + x0 > 0).astype(float)\n"
        "return d2[:, None] * (W2 @ W1 + np.eye(len(x0)))",
    ),
    mistake(
        "residual_jacobian",
        "D1 on the wrong side of W1",
        "The inner ReLU acts on W1 x0: should its 0/1 mask scale the rows or the columns of W1?",
        "a1 = W1 @ x0\nd1 = (a1 > 0).astype(float)\n"
        "d2 = (W2 @ np.maximum(a1, 0) + x0 > 0).astype(float)\n"
        "return d2[:, None] * (W2 @ W1 * d1[None, :] + np.eye(len(x0)))",
    ),
    mistake(
        "residual_jacobian",
        "D2 multiplied on the right",
        "The outer ReLU acts on each output unit: should its 0/1 mask scale the rows or the columns of your matrix?",
        "a1 = W1 @ x0\nd1 = (a1 > 0).astype(float)\n"
        "d2 = (W2 @ np.maximum(a1, 0) + x0 > 0).astype(float)\n"
        "return (W2 @ (d1[:, None] * W1) + np.eye(len(x0))) * d2[None, :]",
    ),
    # ## dropout_loss
    mistake(
        "dropout_loss",
        "column norms not squared in the penalty",
        "In the penalty, what power does each column norm get?",
        "r = y - p * X @ w_check\n"
        "return float(r @ r + p * (1 - p) * np.sum(np.linalg.norm(X, axis=0) * w_check**2))",
    ),
    mistake(
        "dropout_loss",
        "data term without the factor p",
        "Compare your data term with the identity in the notebook: is a factor missing?",
        "r = y - X @ w_check\n"
        "return float(r @ r + p * (1 - p) * np.sum((np.linalg.norm(X, axis=0) * w_check) ** 2))",
    ),
    mistake(
        "dropout_loss",
        "p^2 as the variance of the mask",
        "What is the variance of a Bernoulli(p) variable?",
        "r = y - p * X @ w_check\n"
        "return float(r @ r + p**2 * np.sum((np.linalg.norm(X, axis=0) * w_check) ** 2))",
    ),
    mistake(
        "dropout_loss",
        "p read as the drop probability",
        "Is p the probability of keeping an entry, or of dropping it?",
        "q = 1 - p\nr = y - q * X @ w_check\n"
        "return float(r @ r + q * (1 - q) * np.sum((np.linalg.norm(X, axis=0) * w_check) ** 2))",
    ),
    mistake(
        "dropout_loss",
        "the variance term left out",
        "The identity has two terms: does your result include both?",
        "r = y - p * X @ w_check\nreturn float(r @ r)",
    ),
    mistake(
        "dropout_loss",
        "row norms instead of column norms",
        "The penalty has one norm per feature: are you taking norms of the columns of X or of its rows?",
        "r = y - p * X @ w_check\n"
        "return float(r @ r + p * (1 - p) * np.sum((np.linalg.norm(X, axis=1) * w_check) ** 2))",
    ),
    # ## dropout_to_ridge_weights
    mistake(
        "dropout_to_ridge_weights",
        "divided by p instead of multiplied",
        "Match the data terms ||y - p X w_check||^2 and ||y - X w||^2: should w be larger or smaller than w_check?",
        "return np.asarray(w_check, dtype=float) / p",
    ),
    mistake(
        "dropout_to_ridge_weights",
        "(1 - p) instead of p",
        "Which of p and 1 - p is the keep probability here?",
        "return (1 - p) * np.asarray(w_check, dtype=float)",
    ),
    mistake(
        "dropout_to_ridge_weights",
        "w_check returned unchanged",
        "Compare ||y - p X w_check||^2 with ||y - X w||^2: what must w be?",
        "return np.asarray(w_check, dtype=float)",
    ),
    mistake(
        "dropout_to_ridge_weights",
        "scaled by the square root of p",
        "Match the data terms of the two losses exactly: where would a square root come from?",
        "return np.sqrt(p) * np.asarray(w_check, dtype=float)",
    ),
    mistake(
        "dropout_to_ridge_weights",
        "argument modified in place",
        "Your function changes the array it was given: which operation writes into w_check itself?",
        "w_check = np.asarray(w_check)\nif w_check.dtype == float:\n    w_check *= p\n"
        "    return w_check\nreturn p * np.asarray(w_check, dtype=float)",
    ),
    # ## dropout_gamma
    mistake(
        "dropout_gamma",
        "sqrt(p / (1 - p)) instead of sqrt((1 - p) / p)",
        "Substitute your w into the penalty and simplify the factor carefully: which of p and 1 - p ends up on top?",
        "return np.sqrt(p / (1 - p)) * np.diag(np.linalg.norm(X, axis=0))",
    ),
    mistake(
        "dropout_gamma",
        "square root missing",
        "||Gamma w||^2 squares Gamma: what happens to the factor in front when you square it?",
        "return (1 - p) / p * np.diag(np.linalg.norm(X, axis=0))",
    ),
    mistake(
        "dropout_gamma",
        "row norms instead of column norms",
        "Gamma has one diagonal entry per feature: are you taking norms of the columns of X or of its rows?",
        "return np.sqrt((1 - p) / p) * np.diag(np.linalg.norm(X, axis=1))",
    ),
    mistake(
        "dropout_gamma",
        "squared column norms",
        "||Gamma w||^2 squares the diagonal entries: should the diagonal hold norms or squared norms?",
        "return np.sqrt((1 - p) / p) * np.diag(np.sum(np.asarray(X) ** 2, axis=0))",
    ),
    mistake(
        "dropout_gamma",
        "factor p (1 - p) kept after the change of variables",
        "The penalty's factor changes when you change variables from w_check to w: what does it become?",
        "return np.sqrt(p * (1 - p)) * np.diag(np.linalg.norm(X, axis=0))",
    ),
    mistake(
        "dropout_gamma",
        "the diagonal returned as a vector",
        "You returned a vector: what shape does the docstring give Gamma?",
        "return np.sqrt((1 - p) / p) * np.linalg.norm(X, axis=0)",
    ),
    # ## effective_matrix
    mistake(
        "effective_matrix",
        "X Gamma instead of X Gamma^-1",
        "Write X w in terms of w_tilde: what matrix multiplies w_tilde?",
        "return np.asarray(X) @ np.asarray(Gamma)",
    ),
    mistake(
        "effective_matrix",
        "inverse transposed: X Gamma^-T",
        "Write X w in terms of w_tilde: is there a transpose in that product?",
        "return np.asarray(X) @ np.linalg.inv(Gamma).T",
    ),
    mistake(
        "effective_matrix",
        "Gamma^-1 multiplied on the left",
        "X tilde has the shape of X, (N, d): on which side of X does the other matrix go?",
        "return np.linalg.inv(Gamma) @ np.asarray(X).T",
    ),
    mistake(
        "effective_matrix",
        "divided by the diagonal of Gamma",
        "Dividing by the diagonal inverts only a diagonal Gamma: what if Gamma is not diagonal?",
        "return np.asarray(X) / np.diag(Gamma)",
    ),
    mistake(
        "effective_matrix",
        "X (Gamma^T Gamma)^-1",
        "How many factors of Gamma does a single change of variables bring in?",
        "G = np.asarray(Gamma)\nreturn np.asarray(X) @ np.linalg.inv(G.T @ G)",
    ),
    # ## ridge_to_tikhonov_weights
    mistake(
        "ridge_to_tikhonov_weights",
        "Gamma w_tilde instead of Gamma^-1 w_tilde",
        "Going from w_tilde back to w undoes the change of variables: does your code undo it, or apply it again?",
        "return np.asarray(Gamma) @ np.asarray(w_tilde)",
    ),
    mistake(
        "ridge_to_tikhonov_weights",
        "solved with Gamma^T",
        "Is there a stray transpose in your linear solve?",
        "return np.linalg.solve(np.asarray(Gamma).T, w_tilde)",
    ),
    mistake(
        "ridge_to_tikhonov_weights",
        "divided by the diagonal of Gamma",
        "Dividing by the diagonal inverts only a diagonal Gamma: what if Gamma is not diagonal?",
        "return np.asarray(w_tilde) / np.diag(Gamma)",
    ),
    mistake(
        "ridge_to_tikhonov_weights",
        "w_tilde returned unchanged",
        "w_tilde and w are different variables: how are they related?",
        "return np.asarray(w_tilde, dtype=float)",
    ),
    mistake(
        "ridge_to_tikhonov_weights",
        "Gamma^T w_tilde",
        "Does transposing Gamma invert it?",
        "return np.asarray(Gamma).T @ np.asarray(w_tilde)",
    ),
    mistake(
        "ridge_to_tikhonov_weights",
        "inverse applied twice",
        "How many times does your code undo the change of variables?",
        "return np.linalg.solve(Gamma, np.linalg.solve(Gamma, w_tilde))",
    ),
    # ## effective_column_norm
    mistake(
        "effective_column_norm",
        "sqrt((1 - p) / p), the factor of Gamma itself",
        "Work out column j of X tilde from X and the diagonal Gamma: is your factor the right way up?",
        "return float(np.sqrt((1 - p) / p))",
    ),
    mistake(
        "effective_column_norm",
        "square root missing",
        "Does your result account for the square root in Gamma?",
        "return p / (1 - p)",
    ),
    mistake(
        "effective_column_norm",
        "norm 1, as if fully normalised",
        "Gamma_jj holds more than ||x_j||: what else is in it?",
        "return 1.0",
    ),
    mistake(
        "effective_column_norm",
        "sqrt(p (1 - p))",
        "Could you compute the norm of one column of X tilde from your Gamma, step by step?",
        "return float(np.sqrt(p * (1 - p)))",
    ),
    mistake(
        "effective_column_norm",
        "sqrt(p)",
        "Gamma_jj involves p: does it involve 1 - p as well?",
        "return float(np.sqrt(p))",
    ),
)

ALTERNATIVES: tuple[Variant, ...] = (
    alternative(
        "sigmoid",
        "scipy-free expit via tanh",
        "out = 0.5 * (1 + np.tanh(0.5 * np.asarray(x, dtype=float)))\nreturn float(out) if np.ndim(out) == 0 else out",
    ),
    alternative(
        "sigmoid",
        "0-d array for a scalar, np.logaddexp for stability",
        "return np.exp(-np.logaddexp(0, -np.asarray(x, dtype=float)))",
    ),
    alternative(
        "sigmoid",
        "a list for array input",
        "x = np.asarray(x, dtype=float)\nz = np.exp(-np.abs(x))\nout = np.where(x >= 0, 1 / (1 + z), z / (1 + z))\nreturn float(out) if out.ndim == 0 else out.tolist()",
    ),
    alternative("sigmoid_grad", "sigma(x) (1 - sigma(x))", "s = sigmoid(x)\nreturn s * (1 - s)"),
    alternative(
        "sigmoid_grad",
        "sigma(x) sigma(-x), with a numpy float for a scalar",
        "x = np.asarray(x, dtype=float)\nreturn np.exp(-np.logaddexp(0, -x) - np.logaddexp(0, x))[()]",
    ),
    alternative("max_sigmoid_grad", "the exact fraction", "return 0.25"),
    alternative(
        "max_sigmoid_grad",
        "a 0-d array of sigma(0) (1 - sigma(0))",
        "s = np.asarray(sigmoid(0.0))\nreturn s * (1 - s)",
    ),
    alternative(
        "residual_block",
        "ReLU with np.where",
        "W1, W2, x0 = np.asarray(W1), np.asarray(W2), np.asarray(x0)\nh = W1 @ x0\nh = np.where(h > 0, h, 0.0)\na = W2 @ h + x0\nreturn np.where(a > 0, a, 0.0)",
    ),
    alternative(
        "residual_block",
        "einsum and a list",
        "h = np.clip(np.einsum('ij,j->i', W1, x0), 0, None)\nreturn np.clip(np.einsum('ij,j->i', W2, h) + x0, 0, None).tolist()",
    ),
    alternative(
        "residual_jacobian",
        "explicit diagonal matrices",
        "W1, W2, x0 = np.asarray(W1), np.asarray(W2), np.asarray(x0)\nD1 = np.diag((W1 @ x0 > 0).astype(float))\nD2 = np.diag((W2 @ np.maximum(W1 @ x0, 0) + x0 > 0).astype(float))\nreturn D2 @ (W2 @ D1 @ W1 + np.eye(len(x0)))",
    ),
    alternative(
        "residual_jacobian",
        "row by row with einsum",
        "W1, W2, x0 = np.asarray(W1), np.asarray(W2), np.asarray(x0)\nm1 = W1 @ x0 > 0\nm2 = W2 @ np.maximum(W1 @ x0, 0) + x0 > 0\nJ = np.einsum('ik,k,kj->ij', W2, m1.astype(float), W1) + np.eye(len(x0))\nJ[~m2] = 0.0\nreturn J",
    ),
    alternative(
        "dropout_loss",
        "squared norms via einsum",
        "X, y, w = np.asarray(X), np.asarray(y), np.asarray(w_check)\nr = y - p * X @ w\nreturn float(np.dot(r, r) + p * (1 - p) * np.einsum('nd,nd,d->', X, X, w**2))",
    ),
    alternative(
        "dropout_loss",
        "the penalty as a quadratic form",
        "X, y, w = np.asarray(X), np.asarray(y), np.asarray(w_check)\nG = np.diag(np.sqrt(np.sum(X**2, axis=0)))\nreturn np.sum((y - p * X @ w) ** 2) + p * (1 - p) * (G @ w) @ (G @ w)",
    ),
    alternative(
        "dropout_to_ridge_weights",
        "a list",
        "return [p * v for v in np.asarray(w_check, dtype=float)]",
    ),
    alternative("dropout_to_ridge_weights", "np.multiply", "return np.multiply(w_check, p)"),
    alternative(
        "dropout_gamma",
        "broadcasting against the identity",
        "X = np.asarray(X, dtype=float)\nreturn np.eye(X.shape[1]) * np.sqrt((X**2).sum(axis=0) * (1 - p) / p)",
    ),
    alternative(
        "dropout_gamma",
        "np.diag of sqrt of X^T X's diagonal",
        "X = np.asarray(X, dtype=float)\nreturn np.sqrt(1 / p - 1) * np.diag(np.sqrt(np.diag(X.T @ X)))",
    ),
    alternative("effective_matrix", "np.linalg.inv", "return np.asarray(X) @ np.linalg.inv(Gamma)"),
    alternative(
        "effective_matrix",
        "lstsq on the transposed system",
        "return np.linalg.lstsq(np.asarray(Gamma).T, np.asarray(X).T, rcond=None)[0].T",
    ),
    alternative(
        "ridge_to_tikhonov_weights",
        "np.linalg.inv",
        "return np.linalg.inv(Gamma) @ np.asarray(w_tilde)",
    ),
    alternative(
        "ridge_to_tikhonov_weights",
        "lstsq, as a list",
        "return np.linalg.lstsq(Gamma, w_tilde, rcond=None)[0].tolist()",
    ),
    alternative(
        "effective_column_norm", "1 / sqrt((1 - p) / p)", "return 1 / np.sqrt((1 - p) / p)"
    ),
    alternative(
        "effective_column_norm",
        "sqrt(p) / sqrt(1 - p) as a Python float",
        "import math\nreturn math.sqrt(p) / math.sqrt(1 - p)",
    ),
)
