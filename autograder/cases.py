"""The graded functions: one record each, declared on the generator of its hidden cases.

A record (`GradedFunction`) holds everything the grader knows about a function: the question
that grades it, its hidden cases, the criteria that earn its points, its tolerance and whether
numpy warnings count as errors. Every other registry derives from the records: the functions
of each question (`spec.QUESTIONS`), the answer key's `solutions.GRADED`, the public checks'
tolerance and strictness, the functions the attack suite replaces.

Each function gets at least 20 seeded random cases over varied sizes and the edge cases its
question is about. The labels say what kind of input a case is (they appear in feedback); the
inputs themselves never do. A label up to its first comma is the case's kind, which one
criterion of the record lists; edge cases are chosen so that no trivial answer (zeros, a
constant, an argument returned) passes every case of a criterion. This module is part of the
autograder only; it never reaches students.
"""

import functools
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from . import compare

SEED = 5_2026
RANDOM_CASES = 20


@dataclass(frozen=True)
class Tolerance:
    """Elementwise agreement ``|actual - expected| <= atol + rtol * |expected|``."""

    rtol: float = 1e-7
    atol: float = 1e-10


@dataclass(frozen=True)
class Criterion:
    """One thing a question asks of a function, and the share of the function's points it earns.

    A criterion earns its points only if every hidden case of its kinds passes (all or
    nothing); a case's kind is its label up to the first comma (``"random"`` for
    ``"random, n = 12"``). Every hidden case of a function belongs to exactly one criterion.

    Attributes
    ----------
    name : str
        What earns the points, in the question's words; shown to students, in the notebook and
        in feedback.
    weight : float
        Fraction of the function's points; a function's weights add up to 1.
    kinds : tuple of str
        Kinds of the hidden cases that test it.
    """

    name: str
    weight: float
    kinds: tuple[str, ...]


@dataclass(frozen=True)
class Requirement:
    """A promise of the docstring about every result besides its value, with its own points.

    It is judged on every hidden case where it applies and the function's value passed (so
    that one slip is charged once, under the values), and earns its points when it holds on
    all of them, alongside at least one of the function's criteria (so that code which
    computes nothing earns nothing for it). `promise` names it as `compare.broken_promises`
    does: `compare.UNCHANGED`, `compare.FLOAT` or `compare.FLOAT64`.
    Its `weight` is taken off the function's points first; the criteria share the rest in
    their own weights.
    """

    name: str
    weight: float
    promise: str


UNCHANGED = Requirement("leaves its arguments unchanged", 1 / 8, "unchanged")
FLOAT = Requirement("a Python float where the docstring says float", 1 / 20, "float")
FLOAT64 = Requirement("float64 results", 1 / 20, "float64")


@dataclass(frozen=True)
class Case:
    """One call of a graded function.

    Attributes
    ----------
    label : str
        The kind of input, shown in feedback (never the values).
    args : tuple
        Positional arguments: Python floats and float64 arrays, as the docstrings promise
        (the input contract: nothing else is ever passed).
    """

    label: str
    args: tuple


CaseGenerator = Callable[[np.random.Generator], list[Case]]


@dataclass(frozen=True)
class GradedFunction:
    """Everything the grader knows about one graded function.

    Attributes
    ----------
    name : str
        The function students write; the answer key defines the reference of that name.
    question : str
        The question that grades it (a name in `spec.QUESTIONS`).
    generate : callable
        Makes its hidden cases from a seeded random generator.
    criteria : tuple of Criterion
        What earns its points; every hidden case's kind is listed by exactly one of them.
    weight : float or None
        Its fraction of its question's points; None (the default) for an equal share of what
        the question's declared weights leave. A question's weights add up to 1.
    tolerance : Tolerance
        How close a value must be to the reference's.
    strict : bool
        Whether numpy warnings (overflow, say) are errors, in the hidden cases and the public
        checks alike: the question asks for a numerically stable implementation.
    declared : tuple of Requirement or None
        The promises its docstring makes besides the values, each with its own points; None
        for the usual ones (`requirements`).
    """

    name: str
    question: str
    generate: CaseGenerator
    criteria: tuple[Criterion, ...]
    tolerance: Tolerance = Tolerance()
    strict: bool = False
    declared: tuple[Requirement, ...] | None = None
    weight: float | None = None

    @functools.cached_property
    def requirements(self) -> tuple[Requirement, ...]:
        """The declared requirements; by default float64 results, and unchanged arguments
        where a hidden case passes an array (so that each applies to some case)."""
        if self.declared is not None:
            return self.declared
        arrays = any(isinstance(a, np.ndarray) for c in self.hidden_cases() for a in c.args)
        return (UNCHANGED, FLOAT64) if arrays else (FLOAT64,)

    def judge(self, outcome: object, value: object, promised: frozenset, digits: int = 1):
        """The verdict on one call's `outcome` against the reference's `value`
        (`compare.judge_case`, values only, within this function's tolerance) and the
        promises of `promised` it broke (None when it returned no value): the one judge for
        the hidden grader, the catalogued mistakes and the release gate."""
        return compare.judge_case(
            outcome, value, promised, self.tolerance.rtol, self.tolerance.atol, digits
        )

    def hidden_cases(self) -> list[Case]:
        """Its hidden cases, the same on every call (seeded by the function's name)."""
        return self.generate(np.random.default_rng([SEED, zlib.crc32(self.name.encode())]))


# Every graded function's record, by name, in the order declared (within a question, the
# notebook's order).
FUNCTIONS: dict[str, GradedFunction] = {}
DECLARED_TWICE: list[str] = []  # names of records declared again, which the build refuses


def graded(
    name: str,
    question: str,
    criteria: tuple[Criterion, ...],
    *,
    weight: float | None = None,
    tolerance: Tolerance | None = None,
    strict: bool = False,
    requirements: tuple[Requirement, ...] | None = None,
) -> Callable[[CaseGenerator], CaseGenerator]:
    """Declare a graded function, its hidden cases being made by the decorated generator;
    `weight` is its fraction of the question's points (None: an equal share of the rest).

    A second record of the same name is not kept: it is listed in `DECLARED_TWICE`, and the
    build refuses it (`autograder.release.structure`).
    """

    def declare(generate: CaseGenerator) -> CaseGenerator:
        if name in FUNCTIONS:
            DECLARED_TWICE.append(name)
            return generate
        FUNCTIONS[name] = GradedFunction(
            name,
            question,
            generate,
            criteria,
            tolerance or Tolerance(),
            strict,
            requirements,
            weight,
        )
        return generate

    return declare


def hidden_cases(function: str) -> list[Case]:
    """The hidden cases of `function`, the same on every call (seeded by the function name)."""
    return FUNCTIONS[function].hidden_cases()


def all_hidden_cases() -> dict[str, list[Case]]:
    """Hidden cases of every graded function, keyed by function name."""
    return {name: record.hidden_cases() for name, record in FUNCTIONS.items()}


# ## Inputs shared by several generators


def _size(rng: np.random.Generator, low: int = 1, high: int = 64) -> int:
    """A size, log-uniform so that small and large ones are both common."""
    return int(np.exp(rng.uniform(np.log(low), np.log(high + 1))))


def _keep_probability(rng: np.random.Generator) -> float:
    return float(rng.uniform(0.05, 0.95))


def _design(rng: np.random.Generator, N: int, d: int) -> np.ndarray:
    """A design matrix whose columns have very different scales."""
    return rng.normal(size=(N, d)) * np.exp(rng.uniform(-2, 2, size=d))


def _gamma(rng: np.random.Generator, d: int) -> np.ndarray:
    """An invertible, well-conditioned, non-diagonal Tikhonov matrix."""
    return rng.normal(size=(d, d)) + (d + 1) * np.diag(rng.uniform(0.5, 2.0, size=d))


def _sizes_n_ne(rng: np.random.Generator) -> tuple[int, int]:
    """(N, d) with N != d."""
    while True:
        N, d = _size(rng, 1, 40), _size(rng, 1, 12)
        if N != d:
            return N, d


# ## q1a: the sigmoid and its derivative

_SIGMOID = (
    Criterion(
        "values on ordinary inputs",
        1 / 2,
        ("random", "edge: x = 0"),
    ),
    Criterion(
        "no overflow for large |x|",
        1 / 2,
        ("edge: |x| up to 1e4 beside ordinary values", "edge: scalar x = -750"),
    ),
)


@graded("sigmoid", "q1a", _SIGMOID, strict=True, requirements=(UNCHANGED, FLOAT, FLOAT64))
def _sigmoid_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(RANDOM_CASES):
        shape = [(), (_size(rng, 1, 50),), (_size(rng, 1, 8), _size(rng, 1, 8)), (2, 3, 4)][i % 4]
        scale = [1.0, 5.0, 30.0][i % 3]
        x = rng.normal(scale=scale, size=shape)
        cases.append(Case(f"random, shape {shape}", (float(x) if shape == () else x,)))
    return cases + [
        Case("edge: x = 0", (0.0,)),
        Case(
            "edge: |x| up to 1e4 beside ordinary values",
            (np.array([-1e4, -800.0, -40.0, -2.5, 0.0, 1.5, 40.0, 800.0, 1e4]),),
        ),
        Case("edge: scalar x = -750", (-750.0,)),
    ]


@graded("sigmoid_grad", "q1a", _SIGMOID, strict=True, requirements=(UNCHANGED, FLOAT, FLOAT64))
def _sigmoid_grad_cases(rng: np.random.Generator) -> list[Case]:
    return _sigmoid_cases(rng)


@graded(
    "max_sigmoid_grad",
    "q1a",
    (Criterion("the largest value of sigma'", 1, ("no arguments",)),),
    requirements=(FLOAT,),
)
def _max_sigmoid_grad_cases(rng: np.random.Generator) -> list[Case]:
    return [Case("no arguments", ())]


# ## q1b, q1c: a residual block and its Jacobian


def _block(rng: np.random.Generator, n: int, scale: float) -> tuple:
    return (
        rng.normal(scale=scale, size=(n, n)),
        rng.normal(scale=scale, size=(n, n)),
        rng.normal(size=n),
    )


def _outer_kink(rng: np.random.Generator, n: int) -> tuple:
    """A block whose outer pre-activations 0 and 1 are exactly zero, the others not.

    Half-integer weights make the arithmetic exact; columns 0 and 1 of W1 are zero, so x0[0]
    and x0[1] can be set to cancel W2 h without changing h.
    """
    while True:
        W1, W2, x0 = (np.round(a * 2) / 2 for a in _block(rng, n, 1.0))
        W1[:, :2] = 0.0
        hidden = np.maximum(W1 @ x0, 0.0)
        x0[:2] = -(W2[:2] @ hidden)
        a1, a2 = W1 @ x0, W2 @ hidden + x0
        if (
            np.all(a1 != 0)
            and np.any(a1 > 0)
            and np.all(a2[:2] == 0)
            and np.any(a2[2:] > 0)
            and np.all(a2[2:] != 0)
            and np.any(x0[:2] != 0)
        ):
            return W1, W2, x0


def _skip_decides(rng: np.random.Generator, n: int) -> tuple:
    """A block where the branch W2 h is negative on some units that the skip x0 keeps active,
    and the outer pre-activation is negative on others."""
    while True:
        W1, W2, x0 = _block(rng, n, 1.0)
        x0 = np.abs(x0) + 0.5
        branch = W2 @ np.maximum(W1 @ x0, 0.0)
        outer = branch + x0
        if np.any((branch < 0) & (outer > 0)) and np.any(outer < 0) and np.any(W1 @ x0 > 0):
            return W1, W2, x0


@graded(
    "residual_block",
    "q1b",
    (
        Criterion(
            "values at generic points",
            1 / 2,
            ("random", "edge: n = 1"),
        ),
        Criterion(
            "the end of the block: add x0, then the outer ReLU",
            1 / 4,
            (
                "edge: every outer unit inactive",
                "edge: the skip decides the outer ReLU",
                "edge: outer pre-activations exactly 0",
            ),
        ),
        Criterion(
            "dead, fully active and exactly-zero inner units",
            1 / 4,
            (
                "edge: every inner unit dead",
                "edge: every unit active",
                "edge: inner pre-activations exactly 0",
                "edge: x0 = 0",
            ),
        ),
    ),
)
def _block_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(RANDOM_CASES):
        n = _size(rng, 1, 64)
        cases.append(Case(f"random, n = {n}", _block(rng, n, float(rng.uniform(0.1, 2.0)))))
    n = 6
    W1, W2, x0 = (np.round(a * 2) / 2 for a in _block(rng, n, 1.0))
    W1[0] = 0.0
    W1[1, :2] = [x0[1], -x0[0]]
    W1[1, 2:] = 0.0  # inner pre-activations 0 and 1 are exactly zero
    positive = np.abs(rng.normal(size=(n, n)))
    x_pos = np.abs(rng.normal(size=n)) + 0.1
    return cases + [
        Case("edge: inner pre-activations exactly 0", (W1, W2, x0)),
        Case("edge: outer pre-activations exactly 0", _outer_kink(rng, n)),
        Case("edge: the skip decides the outer ReLU", _skip_decides(rng, n)),
        Case("edge: every inner unit dead", (-positive, positive, x_pos)),
        Case("edge: every outer unit inactive", (positive, -positive, x_pos)),
        Case("edge: every unit active", (positive, positive, x_pos)),
        Case("edge: x0 = 0", (positive, -positive, np.zeros(n))),
        Case("edge: n = 1", _block(rng, 1, 1.0)),
    ]


@graded(
    "residual_jacobian",
    "q1c",
    (
        Criterion(
            "generic points",
            1 / 3,
            (
                "random",
                "edge: n = 1",
                "edge: the skip decides the outer ReLU",
            ),
        ),
        Criterion(
            "the skip's identity term, special cases (i)-(iii)",
            1 / 3,
            (
                "edge: every outer unit inactive",
                "edge: every unit active",
                "edge: every inner unit dead",
            ),
        ),
        Criterion(
            "ReLU'(0) = 0 at a kink",
            1 / 3,
            (
                "edge: inner pre-activations exactly 0",
                "edge: outer pre-activations exactly 0",
                "edge: x0 = 0",
            ),
        ),
    ),
)
def _residual_jacobian_cases(rng: np.random.Generator) -> list[Case]:
    return _block_cases(rng)


# ## q2a: dropout as a penalty


@graded(
    "dropout_loss",
    "q2a",
    (
        Criterion(
            "values on random problems",
            1 / 2,
            (
                "random",
                "edge: d = 1",
                "edge: N = 1",
                "edge: w_check = 0",
            ),
        ),
        Criterion(
            "the variance term p (1 - p) ||Gamma_check w_check||^2",
            1 / 4,
            ("edge: targets fitted exactly",),
        ),
        Criterion("p near 0 and near 1", 1 / 4, ("edge: p = 0.01", "edge: p = 0.99")),
    ),
    requirements=(UNCHANGED, FLOAT),
)
def _dropout_loss_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(RANDOM_CASES):
        N, d = _sizes_n_ne(rng)
        p = _keep_probability(rng)
        X = _design(rng, N, d)
        args = (rng.normal(size=d), X, rng.normal(size=N), p)
        cases.append(Case(f"random, N = {N}, d = {d}", args))
    X = _design(rng, 9, 4)
    w, y = rng.normal(size=4), rng.normal(size=9)
    X2, w2 = _design(rng, 12, 5), rng.normal(size=5)
    return cases + [
        Case("edge: p = 0.01", (w, X, y, 0.01)),
        Case("edge: p = 0.99", (w, X, y, 0.99)),
        # y = p X w_check: the data term vanishes and only the variance term remains.
        Case("edge: targets fitted exactly, N = 9, d = 4", (w, X, 0.3 * (X @ w), 0.3)),
        Case("edge: targets fitted exactly, N = 12, d = 5", (w2, X2, 0.75 * (X2 @ w2), 0.75)),
        Case("edge: d = 1", (w[:1], X[:, :1], y, 0.6)),
        Case("edge: N = 1", (w, X[:1], y[:1], 0.4)),
        Case("edge: w_check = 0", (np.zeros(4), X, y, 0.3)),
    ]


@graded(
    "dropout_to_ridge_weights",
    "q2a",
    (
        Criterion("values on random inputs", 1 / 2, ("random", "edge: d = 1")),
        Criterion("p near 0 and near 1", 1 / 2, ("edge: p = 0.01", "edge: p = 0.99")),
    ),
)
def _to_ridge_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(RANDOM_CASES):
        d = _size(rng, 1, 30)
        cases.append(Case(f"random, d = {d}", (rng.normal(size=d), _keep_probability(rng))))
    w = rng.normal(size=5)
    return cases + [
        Case("edge: p = 0.01", (w, 0.01)),
        Case("edge: p = 0.99", (w, 0.99)),
        Case("edge: d = 1", (w[:1], 0.35)),
    ]


@graded(
    "dropout_gamma",
    "q2a",
    (
        Criterion(
            "values on random problems",
            1 / 2,
            ("random", "edge: d = 1"),
        ),
        Criterion("a diagonal matrix of column norms", 1 / 4, ("edge: p = 0.5", "edge: N < d")),
        Criterion("the p-dependence", 1 / 4, ("edge: p = 0.01", "edge: p = 0.99")),
    ),
)
def _gamma_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(RANDOM_CASES):
        N, d = _sizes_n_ne(rng)
        cases.append(
            Case(f"random, N = {N}, d = {d}", (_design(rng, N, d), _keep_probability(rng)))
        )
    X = _design(rng, 7, 3)
    return cases + [
        Case("edge: p = 0.01", (X, 0.01)),
        Case("edge: p = 0.99", (X, 0.99)),
        # At p = 1/2 the factor is 1: these test the diagonal of column norms alone.
        Case("edge: p = 0.5", (X, 0.5)),
        Case("edge: N < d", (_design(rng, 2, 5), 0.5)),
        Case("edge: d = 1", (X[:, :1], 0.45)),
    ]


# ## q2b: the change of variables

_GAMMA_INVERSE = (
    Criterion("any invertible Gamma", 1 / 2, ("random", "edge: N = 1")),
    Criterion("a triangular Gamma", 1 / 4, ("edge: triangular Gamma",)),
    Criterion("a diagonal Gamma", 1 / 4, ("edge: diagonal Gamma", "edge: d = 1")),
)


@graded(
    "effective_matrix",
    "q2b",
    _GAMMA_INVERSE,
)
def _effective_matrix_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(RANDOM_CASES):
        N, d = _sizes_n_ne(rng)
        cases.append(Case(f"random, N = {N}, d = {d}", (_design(rng, N, d), _gamma(rng, d))))
    X = _design(rng, 6, 3)
    upper = np.triu(_gamma(rng, 3))
    diagonal = np.diag(rng.uniform(0.5, 3.0, size=3))
    return cases + [
        Case("edge: triangular Gamma", (X, upper)),
        Case("edge: diagonal Gamma", (X, diagonal)),
        Case("edge: d = 1", (X[:, :1], np.array([[2.5]]))),
        Case("edge: N = 1", (X[:1], _gamma(rng, 3))),
    ]


@graded(
    "ridge_to_tikhonov_weights",
    "q2b",
    (
        Criterion("any invertible Gamma", 1 / 2, ("random",)),
        *_GAMMA_INVERSE[1:],
    ),
)
def _to_tikhonov_cases(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(RANDOM_CASES):
        d = _size(rng, 1, 30)
        cases.append(Case(f"random, d = {d}", (rng.normal(size=d), _gamma(rng, d))))
    w = rng.normal(size=3)
    return cases + [
        Case("edge: triangular Gamma", (w, np.triu(_gamma(rng, 3)))),
        Case("edge: diagonal Gamma", (w, np.diag(rng.uniform(0.5, 3.0, size=3)))),
        Case("edge: d = 1", (w[:1], np.array([[0.4]]))),
    ]


# ## q2c: the columns of the effective design


@graded(
    "effective_column_norm",
    "q2c",
    (
        Criterion("values for random p", 1 / 2, ("random",)),
        Criterion(
            "p near 0, at 1/2 and near 1",
            1 / 2,
            ("edge: p = 0.01", "edge: p = 0.5", "edge: p = 0.99"),
        ),
    ),
    requirements=(FLOAT,),
)
def _column_norm_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case("random", (_keep_probability(rng),)) for _ in range(RANDOM_CASES)]
    return cases + [Case(f"edge: p = {p}", (p,)) for p in (0.01, 0.5, 0.99)]
