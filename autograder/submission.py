"""Read a submission into the code cells to run: a notebook, an export zip, a .py file, or a
folder holding one of those (Gradescope's /autograder/submission).

Nothing here executes anything. Zips are read in memory, member by member, with size caps,
and never extracted. IPython magics (``%``, ``%%``) and shell lines (``!``) are replaced by
``pass``, so they are skipped rather than run, and cells tagged ``otter_ignore`` (the demos and
the export cell, as in Otter) are left out.
"""

import ast
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from . import written as written_answers
from .spec import NOTEBOOK_NAME

IGNORE_TAG = "otter_ignore"
MAX_BYTES = 64 << 20  # a notebook with large plots stays well below this
_IGNORED_PARTS = ("__MACOSX", ".ipynb_checkpoints")


class SubmissionError(Exception):
    """The submission cannot be read; the message is meant for the student."""


@dataclass
class Submission:
    """Code to run, in order, and where it came from.

    Attributes
    ----------
    cells : list of str
        Code cells (or chunks of a .py file), magics and shell lines already replaced.
    origin : str
        What was read, for feedback (``disc05.ipynb in submission.zip``).
    notes : list of str
        Things the student should know (a second notebook that was ignored, say).
    written : dict of str to str
        The notebook's written answers by question, as typed (`autograder.written`); empty
        for a file that is not a notebook.
    """

    cells: list[str]
    origin: str
    notes: list[str] = field(default_factory=list)
    written: dict[str, str] = field(default_factory=dict)


def without_magics(source: str) -> str:
    """Replace IPython magic and shell lines by ``pass`` (same indentation), or drop a %% cell."""
    lines = source.splitlines()
    if lines and lines[0].lstrip().startswith("%%"):
        return ""
    out = []
    for line in lines:
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            out.append(line[: len(line) - len(stripped)] + "pass")
        else:
            out.append(line)
    return "\n".join(out)


def notebook_cells(data: bytes, name: str) -> list[str]:
    """Code cells of a notebook file's bytes.

    Raises
    ------
    SubmissionError
        If the bytes are not a Jupyter notebook.
    """
    try:
        notebook = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise SubmissionError(f"{name} is not a text file, so not a notebook") from None
    except json.JSONDecodeError as error:
        raise SubmissionError(
            f"{name} is not a valid notebook: its JSON is broken at line {error.lineno} "
            f"({error.msg}). Download the notebook again from Jupyter (File → Download) "
            "and resubmit."
        ) from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise SubmissionError(f"{name} is JSON but not a Jupyter notebook (it has no cells)")
    code = []
    for cell in cells:
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        metadata = cell.get("metadata")
        tags = metadata.get("tags") if isinstance(metadata, dict) else None
        if isinstance(tags, list) and IGNORE_TAG in tags:
            continue  # demos and the export cell: Otter's tag for cells graders skip
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(str(part) for part in source)
        code.append(without_magics(str(source)))
    return code


def script_cells(text: str) -> list[str]:
    """A .py file as cells: split at ``# %%`` markers, or at top-level statements.

    A file that does not parse as a whole is cut before each top-level ``def``, ``class``,
    ``import`` or decorator line, so that one syntax error costs only its own piece.
    """
    text = without_magics(text)
    if re.search(r"^# ?%%", text, flags=re.MULTILINE):
        return [part for part in re.split(r"^# ?%%.*$", text, flags=re.MULTILINE) if part.strip()]
    try:
        ast.parse(text)
        return [text]
    except SyntaxError:
        pass
    pieces, current = [], []
    for line in text.splitlines():
        if re.match(r"(def |class |import |from |@)", line) and current:
            pieces.append("\n".join(current))
            current = []
        current.append(line)
    pieces.append("\n".join(current))
    return [p for p in pieces if p.strip()]


def _pick_notebook(names: list[str], where: str) -> tuple[str, list[str]]:
    """The one notebook to grade among `names`, and a note if others were ignored."""
    if len(names) == 1:
        return names[0], []
    preferred = [n for n in names if Path(n).name == NOTEBOOK_NAME]
    if len(preferred) == 1:
        others = ", ".join(sorted(n for n in names if n != preferred[0]))
        return preferred[0], [f"graded {preferred[0]}; ignored the other notebooks: {others}"]
    raise SubmissionError(
        f"{where} holds {len(names)} notebooks ({', '.join(sorted(names))}), and none of them "
        f"is named {NOTEBOOK_NAME}: submit only the notebook you want graded"
    )


def _relevant(name: str) -> bool:
    return not any(part in _IGNORED_PARTS or part.startswith("._") for part in Path(name).parts)


def from_zip(data: bytes, name: str) -> Submission:
    """The notebook (or .py file) inside a zip, such as the one `grader.export()` writes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise SubmissionError(f"{name} is not a valid zip file") from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and _relevant(m.filename)]
        notebooks = [m.filename for m in members if m.filename.endswith(".ipynb")]
        scripts = [m.filename for m in members if m.filename.endswith(".py")]
        chosen, notes = _pick_notebook(notebooks, name) if notebooks else (None, [])
        if chosen is None:
            if len(scripts) != 1:
                raise SubmissionError(f"{name} holds no notebook ({NOTEBOOK_NAME} expected)")
            chosen = scripts[0]
        info = archive.getinfo(chosen)
        if info.file_size > MAX_BYTES:
            raise SubmissionError(f"{chosen} in {name} is larger than {MAX_BYTES >> 20} MB")
        content = archive.read(info)
    origin = f"{chosen} in {name}"
    if chosen.endswith(".ipynb"):
        return Submission(
            notebook_cells(content, chosen), origin, notes, written_answers.answers(content)
        )
    return Submission(script_cells(content.decode("utf-8", errors="replace")), origin, notes)


def _read(path: Path) -> bytes:
    if path.stat().st_size > MAX_BYTES:
        raise SubmissionError(f"{path.name} is larger than {MAX_BYTES >> 20} MB")
    return path.read_bytes()


def load(path: Path) -> Submission:
    """Read a submission file or folder.

    Raises
    ------
    SubmissionError
        With a message for the student: nothing gradable, two notebooks, broken JSON...
    """
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{path} does not exist")
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and _relevant(str(p.relative_to(path)))
        )
        notebooks = [str(p.relative_to(path)) for p in files if p.suffix == ".ipynb"]
        if notebooks:
            chosen, notes = _pick_notebook(notebooks, "the submission")
            data = _read(path / chosen)
            answers = written_answers.answers(data)
            return Submission(notebook_cells(data, chosen), chosen, notes, answers)
        zips = [p for p in files if p.suffix == ".zip"]
        scripts = [p for p in files if p.suffix == ".py" and p.name != "__init__.py"]
        if len(zips) == 1:
            return from_zip(_read(zips[0]), zips[0].name)
        if len(scripts) == 1:
            return Submission(
                script_cells(_read(scripts[0]).decode("utf-8", "replace")), scripts[0].name
            )
        found = ", ".join(p.name for p in files) or "nothing"
        raise SubmissionError(
            f"no notebook to grade: the submission holds {found}. Upload {NOTEBOOK_NAME} "
            "or the zip that the notebook's last cell writes."
        )
    if path.suffix == ".ipynb":
        data = _read(path)
        return Submission(
            notebook_cells(data, path.name), path.name, written=written_answers.answers(data)
        )
    if path.suffix == ".zip":
        return from_zip(_read(path), path.name)
    if path.suffix == ".py":
        return Submission(script_cells(_read(path).decode("utf-8", "replace")), path.name)
    raise SubmissionError(f"{path.name}: expected a .ipynb, .zip or .py file")
