"""What disc05 grades: questions, their functions, points and tolerances, in one place.

Everything else (stubs, public tests, the build checks and the hidden grader) reads these
declarations instead of repeating them.
"""

from dataclasses import dataclass

NOTEBOOK_NAME = "disc05.ipynb"
OTTER_VERSION = "7.0.0"
# numpy for grading, everywhere: the autograder zip, the sandbox and this repository's install.
# 2.2 is the newest line that still supports the Python 3.10 of Ubuntu 22.04 (and it
# supports 3.12, Ubuntu 24.04's).
NUMPY_VERSION = "2.2.6"


@dataclass(frozen=True)
class Tolerance:
    """Elementwise agreement ``|actual - expected| <= atol + rtol * |expected|``."""

    rtol: float = 1e-7
    atol: float = 1e-10


@dataclass(frozen=True)
class Channel:
    """What the grader accepts from the sandbox, whose every byte student code may have written
    (`autograder.protocol` applies these caps; a worker that exceeds one is ended and charged).

    Attributes
    ----------
    event_bytes : int
        One message; the largest honest one (a result) is about 150 kB.
    submission_bytes : int
        Everything the workers of one submission send, together.
    text_chars : int
        A student's exception message, as shown: cut to this before it is cleaned, and the
        worker sends no more of it.
    name_chars : int
        An exception's type name.
    frames : int
        Lines of a student's traceback reported with an exception.
    dims : int
        Dimensions of a returned array.
    elements : int
        Elements of a returned array.
    """

    event_bytes: int = 1 << 20
    submission_bytes: int = 48 << 20
    text_chars: int = 300
    name_chars: int = 60
    frames: int = 3
    dims: int = 8
    elements: int = 1 << 22


@dataclass(frozen=True)
class Limits:
    """What student code may use while it is graded.

    Attributes
    ----------
    call_seconds : float
        Wall time for one call of a graded function (the reference needs milliseconds).
    cell_seconds : float
        Wall time for one notebook cell while the submission's definitions are run.
    budget_seconds : float
        Wall time for the whole submission; what is not run by then scores 0.
    memory_mb : int
        Address space of the sandboxed process (numpy itself takes about 100 MB of it).
    open_files : int
        File descriptors of the sandboxed process (numpy needs a few; nothing is writable).
    channel : Channel
        What the sandboxed process may send back.
    """

    call_seconds: float = 5.0
    cell_seconds: float = 10.0
    budget_seconds: float = 60.0
    memory_mb: int = 512
    open_files: int = 64
    channel: Channel = Channel()


LIMITS = Limits()

# Functions whose numpy warnings (overflow in exp, say) count as errors: the question asks
# for a numerically stable implementation.
STRICT_WARNINGS = frozenset({"sigmoid", "sigmoid_grad"})


@dataclass(frozen=True)
class Question:
    """One auto-graded part of the notebook.

    Attributes
    ----------
    name : str
        The name students pass to ``grader.check`` (``"q1a"``).
    functions : tuple of str
        Graded functions, in notebook order; each has a reference in `solutions`.
    points : float
        Auto-graded points for the part, shared equally among its functions; each function's
        share is divided among its criteria (`CRITERIA`).
    written : bool
        Whether the part also has a written answer, graded by hand.
    """

    name: str
    functions: tuple[str, ...]
    points: float
    written: bool = False

    @property
    def share(self) -> float:
        """Points each of the question's functions is worth."""
        return self.points / len(self.functions)


QUESTIONS: tuple[Question, ...] = (
    Question("q1a", ("sigmoid", "sigmoid_grad", "max_sigmoid_grad"), points=3, written=True),
    Question("q1b", ("residual_block",), points=2),
    Question("q1c", ("residual_jacobian",), points=3, written=True),
    Question("q2a", ("dropout_loss", "dropout_to_ridge_weights", "dropout_gamma"), points=3),
    Question("q2b", ("effective_matrix", "ridge_to_tikhonov_weights"), points=2),
    Question("q2c", ("effective_column_norm",), points=1, written=True),
)

TOLERANCES: dict[str, Tolerance] = {
    name: Tolerance() for question in QUESTIONS for name in question.functions
}

WRITTEN_QUESTIONS: tuple[str, ...] = tuple(q.name for q in QUESTIONS if q.written)


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
        Kinds of the hidden cases that test it (see `autograder.cases`).
    """

    name: str
    weight: float
    kinds: tuple[str, ...]


_SIGMOID = (
    Criterion(
        "values on ordinary inputs",
        1 / 2,
        ("random", "edge: x = 0", "edge: input given as a Python list"),
    ),
    Criterion(
        "no overflow for large |x|",
        1 / 2,
        ("edge: |x| up to 1e4 beside ordinary values", "edge: scalar x = -750"),
    ),
)
_GAMMA_INVERSE = (
    Criterion("any invertible Gamma", 1 / 2, ("random", "edge: N = 1")),
    Criterion("a triangular Gamma", 1 / 4, ("edge: triangular Gamma",)),
    Criterion("a diagonal Gamma", 1 / 4, ("edge: diagonal Gamma", "edge: d = 1")),
)

# What earns each function's points: the requirements its question states get a visible share
# (at least a quarter). Change names and weights here; `tests/test_criteria.py` and the build
# check that every hidden case belongs to one criterion and that trivial answers earn nothing.
CRITERIA: dict[str, tuple[Criterion, ...]] = {
    "sigmoid": _SIGMOID,
    "sigmoid_grad": _SIGMOID,
    "max_sigmoid_grad": (Criterion("the largest value of sigma'", 1, ("no arguments",)),),
    "residual_block": (
        Criterion(
            "values at generic points",
            1 / 2,
            ("random", "edge: n = 1", "edge: input given as Python lists"),
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
    "residual_jacobian": (
        Criterion(
            "generic points",
            1 / 3,
            (
                "random",
                "edge: n = 1",
                "edge: input given as Python lists",
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
    "dropout_loss": (
        Criterion(
            "values on random problems",
            1 / 2,
            (
                "random",
                "edge: d = 1",
                "edge: N = 1",
                "edge: w_check = 0",
                "edge: inputs given as Python lists",
            ),
        ),
        Criterion(
            "the variance term p (1 - p) ||Gamma_check w_check||^2",
            1 / 4,
            ("edge: targets fitted exactly",),
        ),
        Criterion("p near 0 and near 1", 1 / 4, ("edge: p = 0.01", "edge: p = 0.99")),
    ),
    "dropout_to_ridge_weights": (
        Criterion(
            "values on random inputs", 1 / 2, ("random", "edge: input given as a Python list")
        ),
        Criterion("p near 0 and near 1", 1 / 2, ("edge: p = 0.01", "edge: p = 0.99")),
    ),
    "dropout_gamma": (
        Criterion(
            "values on random problems",
            1 / 2,
            ("random", "edge: d = 1", "edge: input given as a Python list"),
        ),
        Criterion("a diagonal matrix of column norms", 1 / 4, ("edge: p = 0.5", "edge: N < d")),
        Criterion("the p-dependence", 1 / 4, ("edge: p = 0.01", "edge: p = 0.99")),
    ),
    "effective_matrix": (
        _GAMMA_INVERSE[0],
        Criterion(
            "a triangular Gamma",
            1 / 4,
            ("edge: triangular Gamma", "edge: inputs given as Python lists"),
        ),
        _GAMMA_INVERSE[2],
    ),
    "ridge_to_tikhonov_weights": (
        Criterion("any invertible Gamma", 1 / 2, ("random", "edge: inputs given as Python lists")),
        *_GAMMA_INVERSE[1:],
    ),
    "effective_column_norm": (
        Criterion("values for random p", 1 / 2, ("random",)),
        Criterion(
            "p near 0, at 1/2 and near 1",
            1 / 2,
            ("edge: p = 0.01", "edge: p = 0.5", "edge: p = 0.99"),
        ),
    ),
}


def case_kind(label: str) -> str:
    """The kind of a hidden case: its label up to the first comma."""
    return label.split(",")[0].strip()


def criterion_of(function: str, label: str) -> Criterion:
    """The criterion of `function` that a hidden case labelled `label` belongs to.

    Raises
    ------
    KeyError
        If no criterion, or more than one, lists the case's kind.
    """
    kind = case_kind(label)
    found = [c for c in CRITERIA[function] if kind in c.kinds]
    if len(found) != 1:
        raise KeyError(f"{len(found)} criteria of {function} list the case kind {kind!r}")
    return found[0]


def criterion_points(function: str) -> dict[str, float]:
    """Points of each criterion of `function`, by name, in declaration order."""
    share = question_of(function).share
    return {c.name: share * c.weight for c in CRITERIA[function]}


def question_of(function: str) -> Question:
    """Return the question that grades `function`.

    Raises
    ------
    KeyError
        If no question grades a function of that name.
    """
    for question in QUESTIONS:
        if function in question.functions:
            return question
    raise KeyError(f"no question grades a function named {function!r}")


# ## Sizes: how much of a submission is read, and how much of what it causes is kept

SUBMISSION_BYTES = 64 << 20  # a submitted file; a notebook with large plots stays well below
PARSE_CHARS = 200_000  # unmarked script code parsed into statements (this assignment's: ~20 kB)
ANSWER_CHARS = 20_000  # of one written answer, as shown on Gradescope and in the class report
ANSWER_JSON_BYTES = 40_000  # of one written answer once JSON-escaped: three stay under 256 KB
MAX_CELL_NOTES = 12  # notes about failing cells (and limits hit) in a results file
NOTE_CHARS = 1000  # one note, as shown
OUTPUT_CHARS = 20_000  # one output of a results file: what no honest submission comes near
EXPORT_BYTES = 4 << 30  # a Gradescope export that `grade-all` unpacks
