"""The written answers of a notebook, as the student typed them, for the people who grade them.

The release turns each ``<!-- disc05: written QUESTION -->`` marker of the notebook source into
an answer cell: the marker, a ``**Your answer (QUESTION):**`` line and a placeholder
(`autograder.notebook`). A student's answer is that cell's text without marker and label,
together with any Markdown cells the student added right below it (cells whose id is not one
the release gave, ``cell-NN``). Nothing here runs anything; a notebook that is not what the
release wrote gives what can be found, never an error.
"""

import json
import re

from . import spec, wording
from .spec import WRITTEN_QUESTIONS

# The release writes these two lines; tests/test_written.py checks they match `notebook`.
PLACEHOLDER = "*Type your answer here, replacing this line.*"
_MARKER = re.compile(r"<!--\s*disc05:\s*written\s+(\w+)\s*-->")
_RELEASE_ID = re.compile(r"^cell-\d+$")


def _label(question: str) -> re.Pattern:
    # Spaces and tabs only (no newlines) around the label: the search stays linear in the text.
    return re.compile(
        rf"^[ \t]*\*\*[ \t]*(Your|Model) answer \({question}\):[ \t]*\*\*[ \t]*$", re.MULTILINE
    )


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(str(part) for part in source)
    source = str(source)[: 4 * spec.ANSWER_CHARS]  # what is shown is cut shorter anyway
    return source.replace("\r\n", "\n").replace("\r", "\n")


def _question_of(text: str) -> str | None:
    """The written question whose answer cell this is: its marker, or else its label line."""
    marker = _MARKER.search(text)
    if marker and marker.group(1) in WRITTEN_QUESTIONS:
        return marker.group(1)
    for question in WRITTEN_QUESTIONS:
        if _label(question).search(text):
            return question
    return None


def _answer_text(question: str, text: str) -> str:
    """The cell's text without marker and label; the placeholder only if nothing else is left."""
    text = _label(question).sub("", _MARKER.sub("", text), count=1)
    rest = text.replace(PLACEHOLDER, "").strip()
    return rest or (PLACEHOLDER if PLACEHOLDER in text else "")


def answers(data: bytes) -> dict[str, str]:
    """Written answers of a notebook file's bytes, keyed by question.

    A question whose answer cell is missing is left out; an untouched answer is the
    placeholder, an emptied one is ``""``. Bytes that are not a notebook give ``{}``.
    """
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {}
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        return {}
    found: dict[str, list[str]] = {}
    current = None  # the question whose answer the cells below may continue
    # Added cells are told apart by their ids; an editor that renumbered every cell leaves none
    # of the release's, and then only the answer cells themselves count.
    keeps_ids = any(isinstance(c, dict) and _RELEASE_ID.match(str(c.get("id"))) for c in cells)
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        text = _text(cell)
        question = _question_of(text) if cell.get("cell_type") == "markdown" else None
        if question is not None:
            found.setdefault(question, []).append(_answer_text(question, text))
            current = question
        elif (
            current is not None
            and keeps_ids
            and cell.get("cell_type") == "markdown"
            and not _RELEASE_ID.match(str(cell.get("id", "cell-00")))
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
