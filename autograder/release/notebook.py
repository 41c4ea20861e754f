"""Turn the notebook source in `assignment/` into the student and the solution notebook.

The source (`assignment/disc05.md`, a Jupytext Markdown notebook) holds the text, the demos
and three kinds of marker:

* a code cell ``# disc05: setup`` becomes the cell that writes the public tests and creates
  ``grader``;
* a code cell ``# disc05: function NAME`` becomes the stub of ``NAME`` (students) or its
  reference source (solutions); the stub is derived from the reference, so signature and
  public docstring are written once;
* a Markdown cell ``<!-- disc05: written QUESTION -->`` becomes an answer box, empty for
  students and holding the model answer from `solutions/written_answers.md` for staff;
* a Markdown cell ``<!-- disc05: criteria QUESTION -->`` becomes the list of what earns the
  question's points, from the criteria in its functions' records (`autograder.cases`).

Local images (``![alt](file.svg)``) are inlined as data URIs, so the notebook alone is enough.
"""

import ast
import base64
import inspect
import re
import sys
from pathlib import Path
from typing import Literal

import jupytext
import nbformat

import solutions

from .. import handout, spec
from ..archive import zip_bytes
from ..wording import points_text

ROOT = Path(__file__).resolve().parents[2]  # the repository
SOURCE = ROOT / "assignment" / "disc05.md"

Kind = Literal["student", "solution"]

_FUNCTION = re.compile(r"^# disc05: function (\w+)\s*$")
_SETUP = re.compile(r"^# disc05: setup\s*$")
_WRITTEN = re.compile(r"^<!-- disc05: written (\w+) -->\s*$")
_CRITERIA = re.compile(r"^<!-- disc05: criteria (\w+) -->\s*$")
_IMAGE = re.compile(r"!\[([^\]]*)\]\(([\w.-]+\.svg)\)")
_NOTES = "\n\nNotes\n-----"
ANSWER_PLACEHOLDER = "*Type your answer here, replacing this line.*"


def public_docstring(function_name: str) -> str:
    """The part of a reference docstring that students see: everything above ``Notes``."""
    doc = inspect.getdoc(solutions.GRADED[function_name]) or ""
    return doc.split(_NOTES)[0].rstrip()


def stub_source(function_name: str) -> str:
    """Source of the student stub: the reference signature and public docstring, no body."""
    source = inspect.getsource(solutions.GRADED[function_name])
    definition = ast.parse(source).body[0]
    header = source.splitlines()[: definition.body[0].lineno - 1]
    doc_lines = public_docstring(function_name).splitlines()
    body = [f'    r"""{doc_lines[0]}']
    body += [f"    {line}".rstrip() for line in doc_lines[1:]]
    body += [
        '    """',
        "    # Your code here: replace the line below.",
        f'    raise NotImplementedError("{function_name} is not implemented yet")',
    ]
    return "\n".join(header + body)


def reference_source(function_name: str) -> str:
    """Source of the reference implementation, as the solution notebook shows it."""
    return inspect.getsource(solutions.GRADED[function_name]).rstrip()


def written_answers() -> dict[str, str]:
    """Model answers keyed by question, from the ``## qXX`` sections of the answer document."""
    text = solutions.WRITTEN_ANSWERS.read_text(encoding="utf-8")
    sections = re.split(r"^## (\w+)\s*$", text, flags=re.MULTILINE)
    return {name: body.strip() for name, body in zip(sections[1::2], sections[2::2], strict=True)}


CHECKS_FOLDER = "disc05-checks"  # next to the notebook; named so no other assignment uses it
SETUP_TEMPLATE = ROOT / "assignment" / "setup_cell.py"
HELPERS_TEMPLATE = ROOT / "assignment" / "setup_helpers.py"
HELPERS = "helpers/setup_helpers.py"  # inside CHECKS_FOLDER: Otter takes only its top-level .py


def helpers_source() -> str:
    """The code the setup cell runs from `CHECKS_FOLDER`: it creates `grader`, shows each check
    as one line per function, and exports the notebook."""
    template = HELPERS_TEMPLATE.read_text(encoding="utf-8")
    return template.replace("__CHECKS_FOLDER__", CHECKS_FOLDER).replace(
        "__EXPORT_NAME__", Path(spec.NOTEBOOK_NAME).stem
    )


def tests_archive(test_files: dict[str, str]) -> bytes:
    """A reproducible zip of what the setup cell unpacks into `CHECKS_FOLDER`: the public test
    files and the helpers."""
    files = {path.removeprefix("tests/"): text.encode() for path, text in test_files.items()}
    return zip_bytes({**files, HELPERS: helpers_source().encode()})


def setup_source(test_files: dict[str, str]) -> str:
    """Code of the setup cell: unpack the public checks and the helpers next to the notebook,
    then run the helpers. It is a dozen lines and the one line of the archive, so that a
    student who unfolds it reads it at a glance."""
    blob = base64.b64encode(tests_archive(test_files)).decode("ascii")
    template = SETUP_TEMPLATE.read_text(encoding="utf-8")
    return (
        template.replace("__PUBLIC_CHECKS__", blob)
        .replace("__CHECKS_FOLDER__", CHECKS_FOLDER)
        .replace("__HELPERS__", HELPERS)
        .rstrip()
    )


def _inline_images(markdown: str) -> str:
    """Replace references to local SVG files by base64 data URIs."""

    def embed(match: re.Match) -> str:
        svg = (SOURCE.parent / match.group(2)).read_bytes()
        return f"![{match.group(1)}](data:image/svg+xml;base64,{base64.b64encode(svg).decode()})"

    return _IMAGE.sub(embed, markdown)


def _written_cell(question: str, kind: Kind, answers: dict[str, str]) -> str:
    marker = f"<!-- disc05: written {question} -->"
    if kind == "student":
        return f"{marker}\n**Your answer ({question}):**\n\n{ANSWER_PLACEHOLDER}"
    return f"{marker}\n**Model answer ({question}):**\n\n{answers[question]}"


def criteria_cell(question: str) -> str:
    """What earns the points of `question`: its functions' criteria, by name and points."""
    (declared,) = [q for q in spec.QUESTIONS if q.name == question]
    lines = [
        f"<!-- disc05: criteria {question} -->",
        f"**What earns the points of {question}'s functions ({points_text(declared.points)}).** "
        "Hidden tests call each function on many inputs. A function's points are split among "
        "the criteria below; a criterion earns its points only if every one of its tests "
        "passes." + (" The written answer is graded by hand." if declared.written else ""),
        "",
    ]
    for function in declared.functions:
        points = spec.criterion_points(function)
        listed = "; ".join(f"{name} ({points_text(value)})" for name, value in points.items())
        share = points_text(spec.function_points(function))
        lines.append(f"* `{function}` ({share}): {listed}.")
    return "\n".join(lines)


SOURCE_NAME = "assignment/disc05.md"  # as problems name it, from the repository's root
_CHECK = re.compile(r'^grader\.check\("(\w+)"\)$')


def _where(marker: str) -> str:
    return f"`{marker}`"


def marker_problems(cells: list) -> list[str]:
    """What is wrong with the markers of the notebook source, one line each naming the cell
    to add, move or remove: every question has one ``grader.check`` cell, in order, and above
    it its criteria marker and one marker per function, in the order of the records (after
    the previous question's check); every written question has one answer box; one setup
    cell."""
    functions, checks, criteria, boxes, setups = [], {}, {}, {}, 0
    for index, cell in enumerate(cells):
        text = cell.source.strip()
        first = text.split("\n", 1)[0]
        if cell.cell_type == "code" and _SETUP.match(text):
            setups += 1
        elif cell.cell_type == "code" and _FUNCTION.match(text):
            functions.append((index, _FUNCTION.match(text).group(1)))
        elif cell.cell_type == "code" and _CHECK.match(text):
            checks.setdefault(_CHECK.match(text).group(1), []).append(index)
        elif cell.cell_type == "markdown" and _CRITERIA.match(first):
            criteria.setdefault(_CRITERIA.match(first).group(1), []).append(index)
        elif cell.cell_type == "markdown" and _WRITTEN.match(first):
            boxes.setdefault(_WRITTEN.match(first).group(1), []).append(index)
    file = SOURCE_NAME
    questions = [q.name for q in spec.QUESTIONS]
    problems = []
    if setups != 1:
        problems.append(
            f"{file}: {setups} cells `# disc05: setup`: keep exactly one, before the first question"
        )
    for found, what in (
        (checks, 'grader.check("{q}")'),
        (criteria, "<!-- disc05: criteria {q} -->"),
    ):
        for name in found:
            if name not in questions:
                problems.append(
                    f"{file}: the cell {_where(what.format(q=name))} names no question: "
                    f"declare {name} in autograder/spec.py, or remove the cell"
                )
    for name in boxes:
        if name not in spec.WRITTEN_QUESTIONS:
            problems.append(
                f"{file}: the answer box `<!-- disc05: written {name} -->` is for {name}, "
                "which autograder/spec.py declares without a written answer: give it "
                "written=True there, or remove the box"
            )
    declared = {q.name: list(q.functions) for q in spec.QUESTIONS}
    graded = {f for names in declared.values() for f in names}
    for _, name in functions:
        if name not in graded:
            problems.append(
                f"{file}: the cell `# disc05: function {name}` names no graded function: "
                f"declare its record in autograder/cases.py, or remove the cell"
            )
    previous_check = -1
    for q in questions:
        check = f'grader.check("{q}")'
        at = checks.get(q, [])
        if len(at) != 1:
            problems.append(
                f"{file}: {len(at)} cells `{check}`: keep exactly one, after the cells of "
                f"{q}'s functions"
                if at
                else f"{file}: no cell `{check}`: add one after the cells of {q}'s functions"
            )
            continue
        here = at[0]
        if here < previous_check:
            problems.append(
                f"{file}: the cell `{check}` comes before the check of the question before "
                f"it: put the questions in the order of autograder/spec.py"
            )
        before = f"between the previous question's check and `{check}`"
        marker = criteria.get(q, [])
        if len(marker) != 1:
            problems.append(
                f"{file}: no cell `<!-- disc05: criteria {q} -->`: add one before the cells "
                f"of {q}'s functions"
                if not marker
                else f"{file}: {len(marker)} cells `<!-- disc05: criteria {q} -->`: keep one"
            )
        elif not previous_check < marker[0] < here:
            problems.append(
                f"{file}: the cell `<!-- disc05: criteria {q} -->` is not {before}: move it there"
            )
        mine = [(i, f) for i, f in functions if f in declared[q]]
        for name in declared[q]:
            count = sum(f == name for _, f in mine)
            if count == 0:
                problems.append(
                    f"{file}: no cell `# disc05: function {name}`: add one before `{check}`"
                    + _after(name, declared[q])
                )
            elif count > 1:
                problems.append(
                    f"{file}: {count} cells `# disc05: function {name}`: keep exactly one"
                )
        for index, name in mine:
            if not previous_check < index < here:
                problems.append(
                    f"{file}: the cell `# disc05: function {name}` ({q}'s) is not {before}: "
                    "move it there"
                )
        seen = [f for _, f in mine]
        if len(seen) == len(set(seen)) == len(declared[q]) and seen != declared[q]:
            problems.append(
                f"{file}: {q}'s function cells come in the order {', '.join(seen)}, but "
                f"autograder/cases.py declares {', '.join(declared[q])}: put the cells, or "
                "the records, in the same order"
            )
        previous_check = max(previous_check, here)
    for q in spec.WRITTEN_QUESTIONS:
        box = boxes.get(q, [])
        if len(box) != 1:
            problems.append(
                f"{file}: no answer box `<!-- disc05: written {q} -->`: add one below the "
                f"written part of {q}"
                if not box
                else f"{file}: {len(box)} answer boxes `<!-- disc05: written {q} -->`: keep one"
            )
    return problems


def _after(name: str, order: list[str]) -> str:
    """Where a missing function cell goes among its question's cells."""
    at = order.index(name)
    if at == 0:
        return ", as the question's first function cell"
    return f", after the cell of {order[at - 1]}"


def kernel_language_info() -> dict:
    """The ``language_info`` that ipykernel reports, for the Python that builds the release."""
    return {
        "codemirror_mode": {"name": "ipython", "version": sys.version_info[0]},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": sys.version.split()[0],
    }


def build_notebook(kind: Kind, test_files: dict[str, str]) -> nbformat.NotebookNode:
    """The student or the solution notebook, without outputs, with stable cell ids.

    Raises
    ------
    ValueError
        With the first of `marker_problems`: a marker missing, repeated, misplaced or naming
        what is not declared.
    """
    source = jupytext.read(SOURCE)
    problems = marker_problems(source.cells)
    if problems:
        raise ValueError(problems[0])
    answers = written_answers()
    cells = []
    for cell in source.cells:
        text = cell.source.strip()
        metadata = {}
        if cell.cell_type == "code" and _SETUP.match(text):
            new = nbformat.v4.new_code_cell(setup_source(test_files))
            metadata = {"cellView": "form", "jupyter": {"source_hidden": True}}
        elif cell.cell_type == "code" and _FUNCTION.match(text):
            name = _FUNCTION.match(text).group(1)
            code = stub_source(name) if kind == "student" else reference_source(name)
            new = nbformat.v4.new_code_cell(code)
        elif cell.cell_type == "markdown" and _WRITTEN.match(text):
            question = _WRITTEN.match(text).group(1)
            new = nbformat.v4.new_markdown_cell(_written_cell(question, kind, answers))
        elif cell.cell_type == "markdown" and _CRITERIA.match(text):
            question = _CRITERIA.match(text).group(1)
            new = nbformat.v4.new_markdown_cell(criteria_cell(question))
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(_inline_images(cell.source))
        else:
            new = nbformat.v4.new_code_cell(cell.source)
            metadata = dict(cell.metadata)  # tags such as otter_ignore
        new.metadata.update(metadata)
        new.id = f"cell-{len(cells):02d}"
        cells.append(new)

    problems = marker_problems(source.cells)
    if problems:
        raise ValueError(problems[0])
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata = {
        # As JupyterLab records them once the kernel has started: a notebook opened in it is not
        # marked modified before anything is touched (where the kernel's Python is this one).
        "kernelspec": {
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
            "name": "python3",
        },
        "language_info": kernel_language_info(),
        # How the export cell recognises this notebook among others in its folder.
        "disc05": {"notebook": kind},
    }
    nbformat.validate(notebook)
    return notebook


def code_cells(notebook: nbformat.NotebookNode) -> list[str]:
    """Sources of the code cells, in order."""
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def release_record(student: nbformat.NotebookNode) -> handout.Record:
    """What grading needs to know of the student notebook we wrote: each cell but the stubs
    (id, kind, digests of its text and of each line), and the prompt and answer box of each
    written question (the box is the cell of its marker, the prompt the cell just above it)."""
    stubs = {stub_source(name) for name in solutions.GRADED}
    cells, written = [], {}
    for index, cell in enumerate(student.cells):
        if cell.cell_type == "code" and cell.source in stubs:
            continue
        text = handout.normalised(cell.source)
        lines = tuple(handout.line_digests(text))
        cells.append(handout.Cell(cell.id, cell.cell_type, handout.digest(text), lines))
        marker = _WRITTEN.match(text.split("\n", 1)[0]) if cell.cell_type == "markdown" else None
        if marker:
            prompt = student.cells[index - 1]
            if prompt.cell_type != "markdown":
                raise ValueError(f"{SOURCE.name}: no prompt above the box of {marker.group(1)}")
            written[marker.group(1)] = handout.Written(prompt.id, cell.id)
    return handout.Record(tuple(cells), written)
