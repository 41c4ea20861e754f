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

from .spec import WRITTEN_QUESTIONS

# The release writes these two lines; tests/test_written.py checks they match `notebook`.
PLACEHOLDER = "*Type your answer here, replacing this line.*"
_MARKER = re.compile(r"<!--\s*disc05:\s*written\s+(\w+)\s*-->")
_RELEASE_ID = re.compile(r"^cell-\d+$")
MAX_CHARS = 20_000  # of one answer, as shown on Gradescope and in the class report
MAX_JSON_BYTES = 40_000  # of one answer once JSON-escaped: three stay well under 256 KB


def _label(question: str) -> re.Pattern:
    # Spaces and tabs only (no newlines) around the label: the search stays linear in the text.
    return re.compile(
        rf"^[ \t]*\*\*[ \t]*(Your|Model) answer \({question}\):[ \t]*\*\*[ \t]*$", re.MULTILINE
    )


def _text(cell: dict) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        source = "".join(str(part) for part in source)
    source = str(source)[: 4 * MAX_CHARS]  # what is shown is cut shorter anyway
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
    """`answer` cut to `MAX_CHARS` characters and `MAX_JSON_BYTES` JSON bytes, saying so."""
    cut = answer[:MAX_CHARS]
    while len(json.dumps(cut)) > MAX_JSON_BYTES:
        cut = cut[: len(cut) * 3 // 4]
    if cut == answer:
        return answer
    return f"{cut}\n\n*[cut here: the answer has {len(answer):,} characters]*"


_HEAD = "Graded by hand; the points appear once staff have graded it."
_FOLLOWS = " The answer as submitted:\n\n---\n\n"
_NONE = {
    "unreadable": "**No answer found**: the submission could not be read.",
    "missing": (
        "**No answer found**: the submission has no answer cell for {question} "
        "(a notebook whose answer cell was deleted, or a file that is not a notebook)."
    ),
    "untouched": "**No answer**: the answer cell still holds the placeholder text.",
    "empty": "**No answer**: the answer cell is empty.",
}


def gradescope_output(question: str, answer: str | None, readable: bool = True) -> str:
    """Markdown for the question's entry in results.json: the answer as typed, or why none."""
    why = state(answer) if readable else "unreadable"
    if why is None:
        return f"{_HEAD}{_FOLLOWS}{capped(answer)}"
    return f"{_HEAD}\n\n{_NONE[why].format(question=question)}"


def read_back(question: str, output: str) -> tuple[str | None, str | None]:
    """(answer, None) or (None, why there is none) from what `gradescope_output` wrote."""
    if _FOLLOWS in output:
        return output.split(_FOLLOWS, 1)[1], None
    for why, message in _NONE.items():
        if output.endswith(message.format(question=question)):
            return None, why
    return None, "missing"
