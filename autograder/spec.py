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
    file_mb : int
        Largest file the sandboxed process may write in its scratch folder.
    """

    call_seconds: float = 5.0
    cell_seconds: float = 10.0
    budget_seconds: float = 60.0
    memory_mb: int = 512
    file_mb: int = 8


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
        Auto-graded points for the part, shared equally among its functions.
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
