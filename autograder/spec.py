"""What disc05 grades: the questions, their points, and the limits on student code.

A question's functions are those whose record (`autograder.cases`) names it. Everything else
(stubs, public tests, the build checks and the hidden grader) reads these declarations
instead of repeating them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .cases import Criterion, GradedFunction

NOTEBOOK_NAME = "disc05.ipynb"
OTTER_VERSION = "7.0.0"
# numpy for grading, everywhere: the autograder zip, the sandbox and this repository's install.
# 2.2 is the newest line that still supports the Python 3.10 of Ubuntu 22.04 (and it
# supports 3.12, Ubuntu 24.04's).
NUMPY_VERSION = "2.2.6"
IJSON_VERSION = "3.6.0"  # streams submission_metadata.json (`autograder.policy`)


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
    standin_calls : int
        Calls of a stand-in (the reference answering for a graded function that a later one
        calls, `autograder.sandbox`) in one submission; past them its own function is used.
    standin_elements : int
        Elements of the arguments of one stand-in call; larger calls use the student's own
        function (the reference answers in milliseconds on anything this size).
    standin_side : int
        Length of any one dimension of a stand-in's array argument; past it, the student's
        own function (what the reference makes grows with the sides, an n-by-n Jacobian for a
        vector of n, even from an argument with no elements at all).
    """

    event_bytes: int = 1 << 20
    submission_bytes: int = 48 << 20
    text_chars: int = 300
    name_chars: int = 60
    frames: int = 3
    dims: int = 8
    elements: int = 1 << 22
    standin_calls: int = 1 << 14
    standin_elements: int = 1 << 16
    standin_side: int = 512


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

# Gradescope's visibilities of a results.json entry, in the order they reveal it to students
# (grades are taken to be published after the due date); staff see every entry at once.
VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")


@dataclass(frozen=True)
class Policy:
    """What students see on Gradescope and when, and how often their work is graded.

    The release declares one (`POLICY` below); the build ships it in the autograder zip as
    ``policy.json``, and everything else derives from it. Gradescope itself shows each
    results.json entry at its visibility; ``grade`` and ``grade-all`` show staff everything,
    whatever the policy. The criteria passed and failed, the stage a failed one failed at
    (``not close``, ``raised ValueError``), the notes about the student's cells and the
    written answers as submitted are always visible.

    Attributes
    ----------
    score : str
        When students see each question's score and the total: ``visible``, ``after_due_date``
        or ``after_published``.
    detail : str
        When students see, for a failed criterion, how many of its cases failed, the first
        failing case's kind, what went wrong in full (error sizes, shapes, the exception's
        message) and the hint: one of `VISIBILITIES` (``hidden``: never, as Otter's
        ``show_hidden = false``).
    submissions : int or None
        Graded submissions allowed in any window of `window_hours`; None: no limit. A
        submission past it is not graded for the student: it keeps the score of their last
        graded one and says when the next is graded (README: Gradescope).
    window_hours : float
        The window's length, ending at the submission's time as Gradescope records it.
    standins : bool
        Whether a graded function that calls an earlier one the student attempted is judged
        with the answer key's values for that call (so a mistake costs points once), or with
        the student's own function (False: the feedback says so). README's security section
        states what a stand-in can still teach.
    """

    score: str = "visible"
    detail: str = "visible"
    submissions: int | None = None
    window_hours: float = 24.0
    standins: bool = True

    def __post_init__(self):
        if self.score not in VISIBILITIES[:3]:
            raise ValueError(f"Policy.score must be one of {VISIBILITIES[:3]}, not {self.score!r}")
        if self.detail not in VISIBILITIES:
            raise ValueError(f"Policy.detail must be one of {VISIBILITIES}, not {self.detail!r}")
        if self.submissions is not None and (
            isinstance(self.submissions, bool)
            or not isinstance(self.submissions, int)
            or self.submissions < 1
        ):
            raise ValueError(
                f"Policy.submissions must be None or at least 1, not {self.submissions!r}"
            )
        if (
            isinstance(self.window_hours, bool)
            or not isinstance(self.window_hours, (int, float))
            or not 0 < self.window_hours < 24 * 366
        ):
            raise ValueError(
                f"Policy.window_hours must be hours within a year, not {self.window_hours!r}"
            )
        if not isinstance(self.standins, bool):
            raise ValueError(f"Policy.standins must be true or false, not {self.standins!r}")


# The release's policy: Gradescope shows everything at once, and every submission is graded.
POLICY = Policy()


@dataclass(frozen=True)
class Question:
    """One auto-graded part of the notebook.

    Attributes
    ----------
    name : str
        The name students pass to ``grader.check`` (``"q1a"``).
    points : float
        Auto-graded points for the part, shared among its functions: each takes the `weight`
        its record declares (a fraction of these points), and the functions that declare none
        share the rest equally. Each function's points are divided among its criteria.
    written : bool
        Whether the part also has a written answer, graded by hand.
    """

    name: str
    points: float
    written: bool = False

    @property
    def functions(self) -> tuple[str, ...]:
        """Graded functions, in notebook order: those whose record names this question."""
        return tuple(f.name for f in _records().values() if f.question == self.name)


QUESTIONS: tuple[Question, ...] = (
    Question("q1a", points=3, written=True),
    Question("q1b", points=2),
    Question("q1c", points=3, written=True),
    Question("q2a", points=3),
    Question("q2b", points=2),
    Question("q2c", points=1, written=True),
)

WRITTEN_QUESTIONS: tuple[str, ...] = tuple(q.name for q in QUESTIONS if q.written)


def _records() -> dict[str, GradedFunction]:
    """Every graded function's record (`autograder.cases`), by name."""
    # Imported on first use: the records sit beside their case generators, which need numpy,
    # and the sandbox imports this module (for LIMITS) before numpy, to boot while the grader
    # imports numpy.
    from .cases import FUNCTIONS

    return FUNCTIONS


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
    found = [c for c in _records()[function].criteria if kind in c.kinds]
    if len(found) != 1:
        raise KeyError(f"{len(found)} criteria of {function} list the case kind {kind!r}")
    return found[0]


def function_points(function: str) -> float:
    """Points `function` is worth: the weight its record declares of its question's points, or
    an equal share of what the question's declared weights leave (the build refuses weights
    that do not add up, `autograder.release.structure`)."""
    question = question_of(function)
    records = _records()
    if records[function].weight is not None:
        return question.points * records[function].weight
    declared = [records[f].weight for f in question.functions]
    rest = 1 - sum(w for w in declared if w is not None)
    return question.points * rest / declared.count(None)  # as points / n with none declared


def criterion_points(function: str) -> dict[str, float]:
    """Points of each criterion of `function`, by name, in declaration order, then of each of
    its requirements: a requirement takes its weight of the function's points, and the
    criteria share the rest in their weights."""
    share = function_points(function)
    record = _records()[function]
    rest = share * (1 - sum(r.weight for r in record.requirements))
    points = {c.name: rest * c.weight for c in record.criteria}
    return points | {r.name: share * r.weight for r in record.requirements}


def question_of(function: str) -> Question:
    """Return the question that grades `function`.

    Raises
    ------
    KeyError
        If no question grades a function of that name.
    """
    record = _records().get(function)
    if record is None:
        raise KeyError(f"no question grades a function named {function!r}")
    for question in QUESTIONS:
        if question.name == record.question:
            return question
    raise KeyError(f"the record of {function} names {record.question!r}, not a question")


# ## Sizes: how much of a submission is read, and how much of what it causes is kept

SUBMISSION_BYTES = 64 << 20  # a submitted file; a notebook with large plots stays well below
# What a submission may hold before it is read at all: far beyond any honest upload, and small
# enough that reading it stays well inside the grading process's memory (README: promises).
JSON_VALUES = 1_000_000  # objects, arrays and list items in a notebook's JSON
SCRIPT_LINES = 100_000  # lines of a .py upload, or read of a notebook's cells (this one: 1,400)
CODE_CELLS = 5_000  # code cells (or statements of an unmarked script) of one submission
ZIP_MEMBERS = 10_000  # entries of a zip's central directory
FOLDER_ENTRIES = 10_000  # files and folders of a submitted folder, walked
PARSE_CHARS = 200_000  # unmarked script code parsed into statements (this assignment's: ~20 kB)
ANSWER_CHARS = 20_000  # of one written answer, as shown on Gradescope and in the class report
ANSWER_JSON_BYTES = 40_000  # of one written answer once JSON-escaped: three stay under 256 KB
MAX_CELL_NOTES = 12  # notes about failing cells (and limits hit) in a results file
NOTE_CHARS = 1000  # one note, as shown
OUTPUT_CHARS = 20_000  # one output of a results file: what no honest submission comes near
RESULTS_BYTES = 256_000  # a whole results file, encoded (`results.results_json` cuts to fit)
EXPORT_BYTES = 4 << 30  # a Gradescope export that `grade-all` unpacks
# What an upload may unpack to under `otter run`, which unzips it before the plugin runs.
UNPACKED_FILES = 1000
UNPACKED_BYTES = 256 << 20
# Gradescope's submission_metadata.json (`autograder.policy`), streamed without the earlier
# submissions' results: beyond these it is not read, and no submission limit applies. About
# 6,900 uploads of a 155 kB results.json each fill a gigabyte: far more than any limit lets
# through, and read in seconds.
METADATA_BYTES = 1 << 30
METADATA_VALUES = 1_000_000  # JSON values besides the results
PREVIOUS_SUBMISSIONS = 10_000
WORKER_START_SECONDS = 30.0  # for a worker to take its job and confine itself: no student code yet
