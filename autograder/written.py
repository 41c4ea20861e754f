"""The written answers of a submission, as the student typed them, for the people who grade them.

The notebook asks each written question in a Markdown cell (its prompt) followed by an answer
box: the ``<!-- disc05: written QUESTION -->`` marker, a ``**Your answer (QUESTION):**`` line
and a placeholder (`autograder.release.notebook`). A student's answer to question k is every
piece of Markdown that differs from what we released (`autograder.handout`), from k's prompt
down to the next question's: the box as rewritten (with or without its marker and label), text
added to the prompt itself, and new cells. A Markdown cell is ours by its id, where the notebook
kept the release's ids, or else by its text; a changed cell gives the lines that are not ours.
A script (.py) gives its Markdown cells as `autograder.submission.script_parts` reads them.
Nothing here runs anything; a notebook that is not what the release wrote gives what can be
found, never an error.
"""

import difflib
import json
import re
from collections.abc import Sequence

from . import handout, spec, wording
from .spec import WRITTEN_QUESTIONS

# The release writes these two lines; tests/test_written.py checks they match `notebook`.
PLACEHOLDER = "*Type your answer here, replacing this line.*"
_MARKER = re.compile(r"<!--\s*disc05:\s*written\s+(\w+)\s*-->")
_RELEASE_ID = re.compile(r"^cell-\d+$")
CELL_CHARS = 4 * spec.ANSWER_CHARS  # read of one cell, and of one answer: what is shown is less
_CELL_LINES = 2000  # of one cell, compared with ours line by line (the cost grows faster)


def _label(question: str) -> re.Pattern:
    # Spaces and tabs only (no newlines) around the label: the search stays linear in the text.
    return re.compile(
        rf"^[ \t]*\*\*[ \t]*(Your|Model) answer \({question}\):[ \t]*\*\*[ \t]*$", re.MULTILINE
    )


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(str(part) for part in source)
    return str(source)


def _question_of(text: str) -> str | None:
    """The written question whose answer box this is: its marker, or else its label line."""
    marker = _MARKER.search(text)
    if marker and marker.group(1) in WRITTEN_QUESTIONS:
        return marker.group(1)
    for question in WRITTEN_QUESTIONS:
        if _label(question).search(text):
            return question
    return None


def _answer_text(question: str, text: str) -> str:
    """The box's text without marker and label; the placeholder only if nothing else is left."""
    text = _label(question).sub("", _MARKER.sub("", text), count=1)
    rest = text.replace(PLACEHOLDER, "").strip()
    return rest or (PLACEHOLDER if PLACEHOLDER in text else "")


def answers(data: bytes) -> dict[str, str]:
    """Written answers of a notebook file's bytes, keyed by question.

    A question whose answer box is missing, with nothing written in its place, is left out;
    an untouched answer is the placeholder, an emptied one is ``""``. Bytes that are not a
    notebook give ``{}``.
    """
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or a number too long to read
        return {}
    return of_notebook(notebook)


def of_notebook(notebook: object) -> dict[str, str]:
    """Written answers of a notebook already read from its JSON (`answers`)."""
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        return {}
    cells = [c for c in cells if isinstance(c, dict)]
    parts = [(str(c.get("cell_type")), _source(c)) for c in cells]
    return from_cells(parts, [c.get("id") for c in cells])


def from_cells(
    cells: Sequence[tuple[str, str]], ids: Sequence[object] | None = None
) -> dict[str, str]:
    """Written answers of a notebook's cells, ``(kind, text)`` in order, with their ids if
    they have any; keyed by question, as `answers` gives them."""
    texts = [
        (kind, text[:CELL_CHARS].replace("\r\n", "\n").replace("\r", "\n")) for kind, text in cells
    ]
    record = handout.record()
    if not record.written:
        return _by_boxes(texts, ids)
    return _Reading(record, texts, ids).answers()


class _Reading:
    """One submission's Markdown cells, each matched with the cell of ours it was (if any)."""

    def __init__(self, record: handout.Record, cells: list[tuple[str, str]], ids):
        self.record = record
        self.cells = [(i, text) for i, (kind, text) in enumerate(cells) if kind == "markdown"]
        ours = {c.id for c in record.cells if c.kind == "markdown"}
        markdown_ids = [ids[i] for i, _ in self.cells] if ids is not None else []
        self.keeps_ids = any(isinstance(i, str) and i in ours for i in markdown_ids)
        self.ids = dict(zip([i for i, _ in self.cells], markdown_ids, strict=False))
        self.prompts = {w.prompt: q for q, w in record.written.items() if q in WRITTEN_QUESTIONS}
        self.boxes = {w.box: q for q, w in record.written.items() if q in WRITTEN_QUESTIONS}

    def ours(self, index: int, text: str) -> handout.Cell | None:
        """The cell of ours that this one is, or was before the student changed it."""
        markdown = [c for c in self.record.cells if c.kind == "markdown"]
        same = handout.digest(handout.normalised(text))
        for cell in markdown:
            if cell.digest == same:
                return cell
        if self.keeps_ids:
            found = self.record.by_id(self.ids.get(index))
            return found if found is not None and found.kind == "markdown" else None
        lines = [line for line in handout.normalised(text).split("\n") if line.strip()]
        first = handout.digest(lines[0].rstrip()) if lines else None
        for cell in markdown:
            if cell.lines and cell.lines[0] == first:
                return cell
        question = _question_of(text)  # a box whose marker is gone, in a renumbered notebook
        if question in WRITTEN_QUESTIONS and question in self.record.written:
            return self.record.by_id(self.record.written[question].box)
        return None

    def answers(self) -> dict[str, str]:
        pieces: dict[str, list[str]] = {}
        boxes: dict[str, list[str]] = {}  # what each question's box holds now
        current = None  # the question whose part of the notebook this is
        for index, text in self.cells:
            cell = self.ours(index, text)
            question = None if cell is None else self.prompts.get(cell.id, self.boxes.get(cell.id))
            if question is not None and question not in pieces:  # its part of the notebook
                current = question
                pieces[question] = []
            owner = question or current
            if owner is None:
                continue
            if cell is not None and cell.id in self.boxes:
                boxes.setdefault(owner, []).append(text)
            added = _added(cell, text)
            if cell is not None and cell.id in self.boxes:
                added = _answer_text(owner, added) if added else ""
                added = "" if added == PLACEHOLDER else added
            if added.strip():
                pieces.setdefault(owner, []).append(added.strip())
        found = {}
        for question, typed in pieces.items():
            text = _joined(typed)
            if text:
                found[question] = text
            elif question in boxes:
                left = any(PLACEHOLDER in box for box in boxes[question])
                found[question] = PLACEHOLDER if left else ""
        return {q: found[q] for q in WRITTEN_QUESTIONS if q in found}


def _added(cell: handout.Cell | None, text: str) -> str:
    """What the student wrote in a Markdown cell: all of a new one, the lines that are not ours
    of one of ours (runs of them apart by a blank line)."""
    lines = handout.normalised(text[:CELL_CHARS]).split("\n")[:_CELL_LINES]
    if cell is None:
        return "\n".join(lines)
    if handout.digest("\n".join(lines)) == cell.digest:
        return ""
    digests = [handout.digest(line) for line in lines]
    runs = []
    matcher = difflib.SequenceMatcher(None, list(cell.lines), digests, autojunk=False)
    for tag, _, _, start, end in matcher.get_opcodes():
        if tag in ("insert", "replace"):
            runs.append("\n".join(lines[start:end]).strip("\n"))
    return "\n\n".join(run for run in runs if run.strip())


def _joined(typed: list[str]) -> str:
    """The pieces of one answer, in order, up to what is read of one answer."""
    kept, total = [], 0
    for piece in typed:
        if total >= CELL_CHARS:
            break
        kept.append(piece[: CELL_CHARS - total])
        total += len(kept[-1])
    return "\n\n".join(kept)


def _by_boxes(cells: list[tuple[str, str]], ids: Sequence[object] | None) -> dict[str, str]:
    """Without a release record (a checkout that has not built): each answer box, and the
    Markdown cells added right below it (cells whose id is not one the release gave,
    ``cell-NN``)."""
    found: dict[str, list[str]] = {}
    current = None  # the question whose answer the cells below may continue
    keeps_ids = ids is not None and any(_RELEASE_ID.match(str(i)) for i in ids)
    for index, (kind, text) in enumerate(cells):
        question = _question_of(text) if kind == "markdown" else None
        if question is not None:
            found.setdefault(question, []).append(_answer_text(question, text))
            current = question
        elif (
            current is not None
            and keeps_ids
            and kind == "markdown"
            and not _RELEASE_ID.match(str(ids[index]))
        ):
            found[current].append(text.strip())  # a cell the student added below the answer
        else:
            current = None
    joined = {}
    for question, parts in found.items():
        typed = [part for part in parts if part and part != PLACEHOLDER]
        joined[question] = "\n\n".join(typed) or parts[0]
    return {q: joined[q] for q in WRITTEN_QUESTIONS if q in joined}


def state(answer: str | None) -> str | None:
    """Why there is nothing to read (``missing``, ``untouched``, ``empty``), or None."""
    if answer is None:
        return "missing"
    if answer.strip() == PLACEHOLDER:
        return "untouched"
    if not answer.strip():
        return "empty"
    return None


def capped(answer: str) -> str:
    """`answer` cut to `spec.ANSWER_CHARS` characters and `spec.ANSWER_JSON_BYTES` JSON bytes,
    saying so."""
    cut = answer[: spec.ANSWER_CHARS]
    while len(json.dumps(cut)) > spec.ANSWER_JSON_BYTES:
        cut = cut[: len(cut) * 3 // 4]
    if cut == answer:
        return answer
    return wording.WRITTEN_CUT.format(answer=cut, length=len(answer))


def gradescope_output(question: str, answer: str | None, readable: bool = True) -> str:
    """Markdown for the question's entry in results.json: the answer as typed, or why none."""
    why = state(answer) if readable else "unreadable"
    if why is None:
        return f"{wording.WRITTEN_HEAD}{wording.WRITTEN_FOLLOWS}{capped(answer)}"
    return f"{wording.WRITTEN_HEAD}\n\n{wording.NO_ANSWER[why].format(question=question)}"


def read_back(question: str, output: str) -> tuple[str | None, str | None]:
    """(answer, None) or (None, why there is none) from what `gradescope_output` wrote."""
    if wording.WRITTEN_FOLLOWS in output:
        return output.split(wording.WRITTEN_FOLLOWS, 1)[1], None
    for why, message in wording.NO_ANSWER.items():
        if output.endswith(message.format(question=question)):
            return None, why
    return None, "missing"
