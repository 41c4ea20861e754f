"""Read a submission into the code cells to run: a notebook, an export zip, a .py file, or a
folder holding one of those (Gradescope's /autograder/submission).

Nothing here executes anything. Zips are read in memory, member by member, with size caps,
and never extracted. IPython magics (``%``, ``%%``) and shell lines (``!``) are replaced by
``pass``, so they are skipped rather than run, and cells tagged ``otter_ignore`` (the demos and
the export cell, as in Otter) are left out.
"""

import ast
import errno
import io
import json
import os
import re
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from . import written as written_answers
from .spec import NOTEBOOK_NAME

IGNORE_TAG = "otter_ignore"
MAX_BYTES = 64 << 20  # a notebook with large plots stays well below this
PARSE_CHARS = 200_000  # unmarked script code parsed into statements (this assignment's: ~20 kB)
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
    except RecursionError:
        raise SubmissionError(f"{name} is not a notebook: its JSON is nested too deeply") from None
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


# Cell boundaries in .py files: Jupytext's percent (``# %%``) and light (``# +``, ``# -``)
# formats, and ``jupyter nbconvert --to script`` (``# In[3]:``).
_MARKER = re.compile(r"^(?:# ?%%(?:\s.*)?|# In\[[ 0-9]*\]:\s*|# \+(?: [\[\w].*)?|# -)$")


def _statements(text: str) -> list[str]:
    """Unmarked code as cells: one per top-level statement, as if each had a cell of its own.

    Code that does not parse is cut before each top-level ``def``, ``class``, ``import`` or
    decorator line instead, so that one syntax error costs only its own piece.
    """
    try:
        if len(text) > PARSE_CHARS:  # the parser's memory grows with the code's nesting
            raise SyntaxError("too long to parse here")
        tree = ast.parse(text)
    except (SyntaxError, RecursionError, MemoryError):
        pieces, current = [], []
        for line in text.splitlines():
            if re.match(r"(def |class |import |from |@)", line) and current:
                pieces.append("\n".join(current))
                current = []
            current.append(line)
        pieces.append("\n".join(current))
        return [p for p in pieces if p.strip()]
    lines = text.splitlines()
    starts = [
        (node.decorator_list[0].lineno if getattr(node, "decorator_list", None) else node.lineno)
        for node in tree.body
    ]
    ends = [*starts[1:], len(lines) + 1]
    return [
        "\n".join(lines[start - 1 : end - 1]).rstrip()
        for start, end in zip(starts, ends, strict=True)
    ]


def _code_only(text: str) -> bool:
    return any(line.strip() and not line.lstrip().startswith("#") for line in text.splitlines())


def script_cells(text: str) -> list[str]:
    """A .py file as cells.

    A cell marker (``# %%``, ``# In[ ]:``) starts a cell that runs to the next marker, as in
    the notebook the file came from; ``# +`` starts one that ends at ``# -``. A marker tagged
    ``otter_ignore`` leaves its cell out, and so does a part that is only comments (Markdown,
    in these formats). Code outside marked cells (all of a file without markers) runs one
    top-level statement per cell. Either way one failing cell costs only itself, as in a
    notebook.
    """
    text = without_magics(text)
    cells: list[str] = []
    current: list[str] = []
    marked, ignored = False, False

    def close() -> None:
        part = "\n".join(current)
        if ignored or not _code_only(part):
            return
        cells.extend([part.strip("\n")] if marked else _statements(part))

    for line in text.splitlines():
        if _MARKER.match(line):
            close()
            current, ignored = [], IGNORE_TAG in line
            marked = line.strip() != "# -"  # the end of a light-format cell
        else:
            current.append(line)
    close()
    return [cell for cell in cells if _code_only(cell)]


def _pick_notebook(names: list[str], where: str) -> tuple[str, list[str]]:
    """The one notebook to grade among `names`, and a note if others were ignored."""
    if len(names) == 1:
        return names[0], []
    preferred = [n for n in names if Path(n).name == NOTEBOOK_NAME]
    if len(preferred) == 1:
        others = _listed([n for n in names if n != preferred[0]])
        return preferred[0], [f"graded {preferred[0]}; ignored the other notebooks: {others}"]
    raise SubmissionError(
        f"{where} holds {len(names)} notebooks ({_listed(names)}), and none of them "
        f"is named {NOTEBOOK_NAME}: submit only the notebook you want graded"
    )


def _listed(names: list[str], most: int = 5) -> str:
    """Names for a message: the first few, each cut short, and how many more."""
    shown = [n if len(n) <= 80 else n[:79] + "…" for n in sorted(names)[:most]]
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(shown) + more


def _relevant(name: str) -> bool:
    return not any(part in _IGNORED_PARTS or part.startswith("._") for part in Path(name).parts)


def from_zip(data: bytes, name: str) -> Submission:
    """The notebook (or .py file) inside a zip, such as the one `grader.export()` writes."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
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
        try:
            content = archive.read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
            raise SubmissionError(f"{name} is damaged: {chosen} in it cannot be read") from None
    if not content:
        raise SubmissionError(_empty_message(f"{chosen} in {name}"))
    origin = f"{chosen} in {name}"
    if chosen.endswith(".ipynb"):
        return Submission(
            notebook_cells(content, chosen), origin, notes, written_answers.answers(content)
        )
    return Submission(script_cells(content.decode("utf-8", errors="replace")), origin, notes)


def _read(path: Path, folder: Path | None = None) -> bytes:
    """The bytes of a submitted file; inside `folder`, only a regular file that lies in it.

    The file is opened without following a symbolic link, so that a link planted in a
    submission (to the answer key, say) is never read with the grader's privileges.
    """
    name = path.name if folder is None else str(path.relative_to(folder))
    if folder is not None:
        inside = os.path.realpath(path).startswith(os.path.realpath(folder) + os.sep)
        if path.is_symlink() or not inside:
            raise SubmissionError(_link_message(name))
    try:
        descriptor = os.open(path, os.O_RDONLY | (os.O_NOFOLLOW if folder else 0))
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise SubmissionError(_link_message(name)) from None
        raise SubmissionError(f"{name} cannot be read ({error.strerror})") from None
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise SubmissionError(f"{name} is not a regular file")
        if info.st_size > MAX_BYTES:
            raise SubmissionError(f"{name} is larger than {MAX_BYTES >> 20} MB")
        data = file.read(MAX_BYTES + 1)
    if not data:
        raise SubmissionError(_empty_message(name))
    return data


def _link_message(name: str) -> str:
    return (
        f"{name} is a symbolic link, and only regular files in the submission are read: "
        "submit the file itself"
    )


def _empty_message(name: str) -> str:
    return (
        f"{name}: the file is empty (0 bytes). Save the notebook in Jupyter, then download "
        "or export it again and resubmit."
    )


def _files(folder: Path) -> tuple[list[Path], list[Path]]:
    """Regular files under `folder` (sorted), and symbolic links, which are never followed."""
    files, links = [], []
    for top, dirs, names in os.walk(folder):  # os.walk does not descend into linked folders
        for name in sorted(dirs + names):
            path = Path(top, name)
            if not _relevant(str(path.relative_to(folder))):
                continue
            if path.is_symlink():
                links.append(path)
            elif name in names and path.is_file():
                files.append(path)
    return sorted(files), sorted(links)


def load(path: Path) -> Submission:
    """Read a submission file or folder.

    Raises
    ------
    SubmissionError
        With a message for the student: nothing gradable, two notebooks, broken JSON...
    """
    path = Path(path)
    if not path.exists():
        raise SubmissionError(f"{path.name} does not exist")
    if path.is_dir():
        files, links = _files(path)
        linked = _listed([str(link.relative_to(path)) for link in links])
        notes = [f"ignored symbolic links (only regular files are read): {linked}"] if links else []
        notebooks = [str(p.relative_to(path)) for p in files if p.suffix == ".ipynb"]
        if notebooks:
            chosen, picked = _pick_notebook(notebooks, "the submission")
            data = _read(path / chosen, path)
            answers = written_answers.answers(data)
            return Submission(notebook_cells(data, chosen), chosen, picked + notes, answers)
        zips = [p for p in files if p.suffix == ".zip"]
        scripts = [p for p in files if p.suffix == ".py" and p.name != "__init__.py"]
        if len(zips) == 1:
            submission = from_zip(_read(zips[0], path), zips[0].name)
            submission.notes += notes
            return submission
        if len(scripts) == 1:
            text = _read(scripts[0], path).decode("utf-8", "replace")
            return Submission(script_cells(text), scripts[0].name, notes)
        gradable = [p for p in links if p.suffix in (".ipynb", ".zip", ".py")]
        if gradable and not files:
            raise SubmissionError(_link_message(str(gradable[0].relative_to(path))))
        found = _listed([str(p.relative_to(path)) for p in files + links]) or "nothing"
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
