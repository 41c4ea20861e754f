"""The handout: the cells the student notebook was released with, so that grading can tell
a student's work from ours.

The build records every cell of the student notebook but the stubs students fill in: its id,
its kind, a digest of its normalised text and one of each line, and which cells ask each
written question (`autograder.release.notebook.release_record`). The record ships in the
autograder zip, beside the `autograder` package, as `RECORD_NAME`; a checkout's command line
renders it instead. A code cell whose text is one of ours (setup, install, demos, checks,
export) runs as it does in the notebook (the setup cell imports numpy for the student's
functions), but no note speaks of it; a written answer is the Markdown that differs from ours.
Without a record every cell is the student's and answers are found by their answer boxes."""

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

RECORD_NAME = "handout.json"
SHIPPED = Path(__file__).resolve().parent.parent / RECORD_NAME  # /autograder/source/ on Gradescope


def normalised(text: str) -> str:
    """`text` as compared with ours: newlines as ``\\n``, no trailing spaces on a line, no blank
    lines before or after."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[-1]:
        lines.pop()
    while lines and not lines[0]:
        lines.pop(0)
    return "\n".join(lines)


def digest(text: str) -> str:
    """A short digest of `text` as it is (callers normalise first); any string, even one with
    lone surrogates, has one."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def line_digests(text: str) -> list[str]:
    """The digest of each line of the normalised `text`."""
    return [digest(line) for line in normalised(text).split("\n")]


@dataclass(frozen=True)
class Cell:
    """One cell of the student notebook as released.

    Attributes
    ----------
    id : str
        Its id (``cell-NN``).
    kind : str
        ``code`` or ``markdown``.
    digest : str
        `digest` of its `normalised` text.
    lines : tuple of str
        `line_digests` of its text.
    """

    id: str
    kind: str
    digest: str
    lines: tuple[str, ...] = ()


@dataclass(frozen=True)
class Written:
    """Where the notebook asks one written question: the ids of its prompt and answer box."""

    prompt: str
    box: str


@dataclass(frozen=True)
class Record:
    """The cells we wrote, in notebook order, and the written questions' cells."""

    cells: tuple[Cell, ...] = ()
    written: dict[str, Written] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Computed here, not cached on first use: a cache's lock held while a batch forks its
        # grading processes would stay locked in them.
        kinds = {c.kind for c in self.cells}
        digests = {k: frozenset(c.digest for c in self.cells if c.kind == k) for k in kinds}
        object.__setattr__(self, "_digests", digests)

    def ours(self, kind: str, text: str) -> bool:
        """Whether a cell of `kind` holding `text` is one we wrote, unchanged."""
        return digest(normalised(text)) in self._digests.get(kind, ())

    def by_id(self, cell_id: object) -> Cell | None:
        """Our cell of that id, if any."""
        return next((c for c in self.cells if c.id == cell_id), None)

    def to_json(self) -> str:
        cells = [
            {"id": c.id, "kind": c.kind, "digest": c.digest, "lines": c.lines} for c in self.cells
        ]
        written = {q: {"prompt": w.prompt, "box": w.box} for q, w in self.written.items()}
        return json.dumps({"cells": cells, "written": written}, indent=1) + "\n"

    @classmethod
    def from_json(cls, text: str) -> "Record":
        data = json.loads(text)
        cells = tuple(
            Cell(c["id"], c["kind"], c["digest"], tuple(c.get("lines", ()))) for c in data["cells"]
        )
        return cls(cells, {q: Written(**w) for q, w in data["written"].items()})


_current: Record | None = None  # no lock: a batch forks while another thread may read this


def record() -> Record:
    """The release record shipped beside the package; an empty one where none was shipped."""
    global _current
    if _current is None:
        shipped = SHIPPED.exists()
        _current = Record.from_json(SHIPPED.read_text("utf-8")) if shipped else Record()
    return _current


def use(chosen: Record) -> None:
    """Grade against `chosen` from now on (a checkout's command line, which renders the
    notebook instead, and the tests)."""
    global _current
    _current = chosen
