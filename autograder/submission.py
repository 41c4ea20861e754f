"""Read a submission into the code cells to run: a notebook, an export zip, a .py file, or a
folder holding one of those (Gradescope's /autograder/submission).

Nothing here executes anything. Zips are read in memory, member by member, with size caps,
and never extracted. IPython magics (``%``, ``%%``) and shell lines (``!``) are replaced by
``pass``, so they are skipped rather than run, and cells tagged ``otter_ignore`` (the demos and
the export cell, as in Otter) are left out. A script's Markdown (its comment cells) is read for
the written answers, as a notebook's is.
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

from . import handout, spec, wording
from . import written as written_answers
from .spec import NOTEBOOK_NAME

IGNORE_TAG = "otter_ignore"
_IGNORED_PARTS = ("__MACOSX", ".ipynb_checkpoints")


class SubmissionError(Exception):
    """The submission cannot be read; the message is meant for the student."""


def _unreadable(why: str, **fields: object) -> SubmissionError:
    """The error saying why (a key of `wording.UNREADABLE`) the submission cannot be read, in
    one line: every name in it is shown as it is (`wording.printable`)."""
    shown = {k: wording.printable(v) if isinstance(v, str) else v for k, v in fields.items()}
    return SubmissionError(wording.UNREADABLE[why].format(**shown))


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
        The written answers by question, as typed (`autograder.written`), read from a
        notebook's Markdown or a script's; empty for a file with none of the notebook's.
    """

    cells: list[str]
    origin: str
    notes: list[str] = field(default_factory=list)
    written: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.origin = wording.printable(self.origin)  # a file name the student chose


_PYTHON_LINE_BREAK = re.compile(r"\r\n|\r|\n")


def python_lines(text: str) -> list[str]:
    """`text` cut into lines where Python cuts code (``\\n``, ``\\r\\n``, ``\\r``), and nowhere
    else: `str.splitlines` also cuts at U+001C, U+2028 and others, which Python reads inside a
    comment or a string as they are. Every reader of code splits with this."""
    lines = _PYTHON_LINE_BREAK.split(text)
    return lines[:-1] if lines[-1] == "" else lines  # as splitlines: no line after the last break


# Code with a line that may be a magic is compiled first, to tell a magic from a line of a
# string; past this many characters in one submission it is not (about 20 ms per 20,000), and
# its magic-looking lines become ``pass`` unparsed.
MAGIC_COMPILE_CHARS = 200_000


def without_magics(source: str, budget: list[int] | None = None) -> str:
    """Replace IPython magic and shell lines by ``pass`` (same indentation), or drop a %% cell.

    A cell that Python compiles as it is holds no magic line (``%`` or ``!`` opening a line
    inside a string, say) and is kept whole, as Jupyter runs it. `budget` (one number, shared
    by a submission's cells) holds the characters that may still be compiled to tell."""
    lines = python_lines(source)
    unchanged = "\n".join(lines)  # the same program: Python reads \r\n and \r as \n
    if not any(line.lstrip().startswith(("%", "!")) for line in lines):
        return unchanged  # nothing that could be a magic
    budget = budget if budget is not None else [MAGIC_COMPILE_CHARS]
    if len(source) <= budget[0] and not source.lstrip().startswith("%%"):
        budget[0] -= len(source)
        try:
            compile(unchanged, "<cell>", "exec", dont_inherit=True)
            return unchanged
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            pass
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


# What `str.splitlines` breaks a line at, more places than Python does: counting them all
# bounds the lines of any reader from above.
_LINE_BREAKS = ("\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


def line_count(text: str) -> int:
    """At least as many lines as `text.splitlines()` gives, counted without splitting."""
    return sum(text.count(brk) for brk in _LINE_BREAKS)


def _source_lines(cells: list) -> int:
    """The lines of a notebook's cells that the grader reads: all of a code cell's, and of
    any other cell's its first `written.CELL_CHARS` characters (the rest is never read)."""
    count = 0
    for cell in cells:
        source = cell.get("source") if isinstance(cell, dict) else None
        parts = source if isinstance(source, list) else [source]
        texts = [part for part in parts if isinstance(part, str)]
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            texts = ["".join(texts)[: written_answers.CELL_CHARS]]
        count += sum(line_count(text) + 1 for text in texts)
    return count


def _integer(digits: str) -> int | float:
    """A JSON integer; one too long for Python to read (over 4300 digits) as a float."""
    return int(digits) if len(digits) < 100 else float(digits)


def read_notebook(data: bytes, name: str) -> dict:
    """A notebook file's JSON, read only when its size in values is one a notebook could have
    (`spec.JSON_VALUES`: reading costs memory per value, whatever the file's size in bytes).

    Raises
    ------
    SubmissionError
        If the bytes are not a Jupyter notebook.
    """
    values = data.count(b"{") + data.count(b"[") + data.count(b",")  # an upper bound
    if values > spec.JSON_VALUES:
        raise _unreadable("too_many_values", name=name, most=spec.JSON_VALUES)
    try:
        notebook = json.loads(data.decode("utf-8-sig"), parse_int=_integer)
    except UnicodeDecodeError:
        raise _unreadable("not_text", name=name) from None
    except RecursionError:
        raise _unreadable("too_deep", name=name) from None
    except json.JSONDecodeError as error:
        raise _unreadable("broken_json", name=name, line=error.lineno, error=error.msg) from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise _unreadable("no_cells", name=name)
    if _source_lines(cells) > spec.SCRIPT_LINES:  # before any cell is split into its lines
        raise _unreadable(
            "too_many_lines", name=name, most=spec.SCRIPT_LINES, notebook=NOTEBOOK_NAME
        )
    return notebook


def notebook_cells(data: bytes | dict, name: str) -> list[str]:
    """Code cells of a notebook file's bytes (or of its JSON, `read_notebook`'s).

    Raises
    ------
    SubmissionError
        If the bytes are not a Jupyter notebook, or hold more than `spec.CODE_CELLS` cells.
    """
    notebook = read_notebook(data, name) if isinstance(data, bytes) else data
    cells = notebook["cells"]
    code, budget = [], [MAGIC_COMPILE_CHARS]
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
        code.append(without_magics(str(source), budget))
        if len(code) > spec.CODE_CELLS:
            raise _unreadable(
                "too_many_cells", name=name, most=spec.CODE_CELLS, notebook=NOTEBOOK_NAME
            )
    return code


def from_notebook(data: bytes, name: str, origin: str, notes: list[str]) -> Submission:
    """A notebook's code cells and written answers, its JSON read once.

    Raises
    ------
    SubmissionError
        If it is not a notebook, or is another assignment's (`is_ours`).
    """
    notebook = read_notebook(data, name)
    cells = notebook_cells(notebook, name)
    if not is_ours(notebook, cells):
        raise _unreadable(
            "not_this_assignment", name=origin, notebook=NOTEBOOK_NAME, function=_FIRST_GRADED
        )
    return Submission(cells, origin, notes, written_answers.of_notebook(notebook))


_FIRST_GRADED = spec.QUESTIONS[0].functions[0]


def is_ours(notebook: dict, cells: list[str]) -> bool:
    """Whether a notebook is this assignment's: it carries the metadata the release writes, one
    of its code cells defines a graded function (a stub does too, so work barely begun is
    ours), or one is a cell of the notebook as released. A notebook of none of these kinds is
    another assignment's, uploaded by mistake."""
    metadata = notebook.get("metadata")
    if isinstance(metadata, dict) and "disc05" in metadata:
        return True
    return any(
        graded_defined(cell) or _graded_assigned(cell) or handout.record().ours("code", cell)
        for cell in cells
    )


# Cell boundaries in .py files: Jupytext's percent (``# %%``) and light (``# +``, ``# -``)
# formats, and ``jupyter nbconvert --to script`` (``# In[3]:``).
_MARKER = re.compile(r"^(?:# ?%%(?:\s.*)?|# In\[[ 0-9]*\]:\s*|# \+(?: [\[\w].*)?|# -)$")
_NBCONVERT = re.compile(r"^# In\[[ 0-9]*\]:\s*$")
_MARKDOWN = re.compile(r"\[(?:markdown|md)\]")  # on a marker: a Markdown cell (``# %% [markdown]``)


def _statements(text: str) -> list[str]:
    """Unmarked code as cells: one per top-level statement, as if each had a cell of its own.

    Code that does not parse is cut before each top-level ``def``, ``class``, ``import`` or
    decorator line instead, so that one syntax error costs only its own piece.
    """
    try:
        if len(text) > spec.PARSE_CHARS:  # the parser's memory grows with the code's nesting
            raise SyntaxError("too long to parse here")
        tree = ast.parse(text)
    except (SyntaxError, RecursionError, MemoryError):
        pieces, current = [], []
        for line in python_lines(text):
            if re.match(r"(def |class |import |from |@)", line) and current:
                pieces.append("\n".join(current))
                current = []
            current.append(line)
        pieces.append("\n".join(current))
        return [p for p in pieces if p.strip()]
    lines = python_lines(text)
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
    return any(line.strip() and not line.lstrip().startswith("#") for line in python_lines(text))


def _paragraphs(lines: list[str]) -> list[list[str]]:
    """`lines` cut at blank lines (which are dropped)."""
    paragraphs: list[list[str]] = [[]]
    for line in lines:
        if line.strip():
            paragraphs[-1].append(line)
        elif paragraphs[-1]:
            paragraphs.append([])
    return [p for p in paragraphs if p]


def _is_comment_block(paragraph: list[str]) -> bool:
    """Whether a paragraph is Markdown in a script's light or nbconvert form: comment lines only,
    from the first column."""
    return all(line.startswith("#") for line in paragraph)


def _uncommented(lines: list[str]) -> str:
    """Markdown from its commented lines (``# text``, and ``#`` for a blank line)."""
    return "\n".join(line[2:] if line.startswith("# ") else line[1:] for line in lines)


def _ours_apart(lines: list[str]) -> list[tuple[bool, list[str]]]:
    """Unmarked code cut around each run of lines that is a code cell of ours, as (whether it
    is ours, lines): a notebook saved as a plain script keeps its setup cell whole, one cell
    that grading knows for ours (`autograder.handout`)."""
    firsts: dict[str, list[handout.Cell]] = {}
    for cell in handout.record().cells:
        if cell.kind == "code" and cell.lines:
            firsts.setdefault(cell.lines[0], []).append(cell)
    if not firsts or sum(map(len, lines)) > spec.PARSE_CHARS:
        return [(False, lines)]
    pieces: list[tuple[bool, list[str]]] = [(False, [])]
    index = 0
    while index < len(lines):
        for cell in firsts.get(handout.digest(lines[index].rstrip()), ()):
            run = lines[index : index + len(cell.lines)]
            if handout.digest(handout.normalised("\n".join(run))) == cell.digest:
                pieces += [(True, run), (False, [])]
                index += len(run)
                break
        else:
            pieces[-1][1].append(lines[index])
            index += 1
    return pieces


def _unmarked_parts(lines: list[str]) -> list[tuple[str, str]]:
    """Code outside marked cells: its comment paragraphs are Markdown (Jupytext's light form),
    a run of lines that is a cell of ours is that cell, and the rest runs one top-level
    statement per cell."""
    parts, code = [], []
    for paragraph in _paragraphs(lines):
        if _is_comment_block(paragraph):
            parts.append(("markdown", _uncommented(paragraph)))
        else:
            code += [*paragraph, ""]
    for ours, piece in _ours_apart(code):
        text = "\n".join(piece)
        if _code_only(text):
            cells = [text.strip("\n")] if ours else _statements(text)
            parts += [("code", cell) for cell in cells]
    return parts


def _nbconvert_parts(lines: list[str]) -> list[tuple[str, str]]:
    """A cell of ``nbconvert --to script``: its code (with any comment lines right below its
    last line), then the Markdown cells that follow it, written as comment paragraphs."""
    code = [i for i, line in enumerate(lines) if line.strip() and not line.startswith("#")]
    end = code[-1] + 1 if code else 0
    while code and end < len(lines) and lines[end].strip():
        end += 1
    parts = [("code", "\n".join(lines[:end]).strip("\n"))] if code else []
    return parts + [("markdown", _uncommented(p)) for p in _paragraphs(lines[end:])]


def script_parts(text: str) -> list[tuple[str, str]]:
    """A .py file as cells, ``("code", source)`` or ``("markdown", text)``, in file order.

    A cell marker (``# %%``, ``# In[ ]:``) starts a cell that runs to the next marker, as in
    the notebook the file came from; ``# +`` starts one that ends at ``# -``. A marker tagged
    ``otter_ignore`` leaves its cell out; one saying ``[markdown]`` starts a Markdown cell,
    its lines commented. Comment paragraphs are Markdown where the formats put it: after the
    code of an nbconvert cell, and outside marked cells (Jupytext's light format). Code
    outside marked cells (all of a file without markers) runs one top-level statement per
    cell. Either way one failing cell costs only itself, as in a notebook.
    """
    text = without_magics(text)
    parts: list[tuple[str, str]] = []
    current: list[str] = []
    marker: str | None = None  # the line that opened the current cell; None outside cells

    def close() -> None:
        if marker is not None and IGNORE_TAG in marker:
            return
        if marker is None:
            parts.extend(_unmarked_parts(current))
        elif _MARKDOWN.search(marker):
            parts.append(("markdown", _uncommented(current)))
        elif _NBCONVERT.match(marker):
            parts.extend(_nbconvert_parts(current))
        else:
            parts.append(("code", "\n".join(current).strip("\n")))

    for line in python_lines(text):
        if _MARKER.match(line):
            close()
            current = []
            marker = None if line.strip() == "# -" else line  # the end of a light-format cell
        else:
            current.append(line)
    close()
    return [(kind, part) for kind, part in parts if kind == "markdown" or _code_only(part)]


def script_cells(text: str) -> list[str]:
    """The code cells of a .py file (`script_parts`)."""
    return [part for kind, part in script_parts(text) if kind == "code"]


def from_script(text: str, origin: str, notes: list[str] | None = None) -> Submission:
    """A .py file's code cells, and its written answers, read from its Markdown.

    Raises
    ------
    SubmissionError
        If it has more than `spec.SCRIPT_LINES` lines or `spec.CODE_CELLS` code cells.
    """
    if line_count(text) >= spec.SCRIPT_LINES:  # counted before anything is split or kept
        raise _unreadable(
            "too_many_lines", name=origin, most=spec.SCRIPT_LINES, notebook=NOTEBOOK_NAME
        )
    parts = script_parts(text)
    code = [part for kind, part in parts if kind == "code"]
    if len(code) > spec.CODE_CELLS:
        raise _unreadable(
            "too_many_cells", name=origin, most=spec.CODE_CELLS, notebook=NOTEBOOK_NAME
        )
    return Submission(code, origin, notes or [], written_answers.from_cells(parts))


_DEFINITION = re.compile(r"^[ \t]*(?:async[ \t]+)?def[ \t]+(\w+)[ \t]*\(", re.MULTILINE)
_SHOWN_LINE = 40  # characters of a cell's first line that name it in a note


def _graded_assigned(cell: str) -> bool:
    """Whether a code cell binds a graded function's name at its top level (``f = lambda ...``)."""
    graded = {name for question in spec.QUESTIONS for name in question.functions}
    return any(name in graded for name in _ASSIGNMENT.findall(cell))


_ASSIGNMENT = re.compile(r"^(\w+)[ \t]*=(?!=)", re.MULTILINE)


def graded_defined(cell: str) -> list[str]:
    """The graded functions that a code cell defines, in the order it defines them."""
    graded = {name for question in spec.QUESTIONS for name in question.functions}
    found = [name for name in _DEFINITION.findall(cell) if name in graded]
    return list(dict.fromkeys(found))


def place(cell: str) -> str:
    """A code cell as the student sees it: by the graded functions it defines, or else by its
    first line, quoted and cut short (``the cell starting `import scipy```)."""
    names = graded_defined(cell)
    if names:
        listed = (
            names[0]
            if len(names) == 1
            else wording.NAMES_AND.format(names=", ".join(names[:-1]), last=names[-1])
        )
        return wording.CELL_DEFINING.format(names=listed)
    line = next((line.strip() for line in python_lines(cell) if line.strip()), "")
    if not line:
        return wording.CELL_BLANK
    line = "".join(c if c.isprintable() else "?" for c in line[: _SHOWN_LINE + 1])
    shown = line if len(line) <= _SHOWN_LINE else line[: _SHOWN_LINE - 1] + "…"
    shown = shown.replace("`", "'")  # the quote around it
    return wording.CELL_STARTING.format(line=shown)


def _pick_notebook(names: list[str], where: str) -> tuple[str, list[str]]:
    """The one notebook to grade among `names`, and a note if others were ignored."""
    if len(names) == 1:
        return names[0], []
    preferred = [n for n in names if Path(n).name == NOTEBOOK_NAME]
    if len(preferred) == 1:
        others = _listed([n for n in names if n != preferred[0]])
        chosen = wording.printable(preferred[0])
        return preferred[0], [wording.OTHER_NOTEBOOKS.format(chosen=chosen, others=others)]
    raise _unreadable(
        "many_notebooks",
        where=where,
        count=len(names),
        names=_listed(names),
        notebook=NOTEBOOK_NAME,
    )


def _others_ignored(chosen: str, others: list[str]) -> str:
    """The note saying which of the gradable files uploaded together was graded."""
    return wording.OTHER_FILES.format(chosen=wording.printable(chosen), others=_listed(others))


def _listed(names: list[str], most: int = 5) -> str:
    """Names for a message: the first few, each cut short, and how many more."""
    shown = [wording.printable(n if len(n) <= 80 else n[:79] + "…") for n in sorted(names)[:most]]
    more = wording.LISTED_MORE.format(count=len(names) - most) if len(names) > most else ""
    return ", ".join(shown) + more


def _relevant(name: str) -> bool:
    return not any(part in _IGNORED_PARTS or part.startswith("._") for part in Path(name).parts)


def from_zip(data: bytes, name: str) -> Submission:
    """The notebook (or .py file) inside a zip, such as the one `grader.export()` writes."""
    if data.count(b"PK\x01\x02") > spec.ZIP_MEMBERS:  # central directory entries, at most
        raise _unreadable(
            "too_many_members", name=name, most=spec.ZIP_MEMBERS, notebook=NOTEBOOK_NAME
        )
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise _unreadable("bad_zip", name=name) from None
    with archive:
        members = [m for m in archive.infolist() if not m.is_dir() and _relevant(m.filename)]
        notebooks = [m.filename for m in members if m.filename.endswith(".ipynb")]
        scripts = [m.filename for m in members if m.filename.endswith(".py")]
        chosen, notes = _pick_notebook(notebooks, name) if notebooks else (None, [])
        if chosen is None:
            if len(scripts) != 1:
                raise _unreadable("zip_without_notebook", name=name, notebook=NOTEBOOK_NAME)
            chosen = scripts[0]
        elif scripts:
            notes.append(_others_ignored(chosen, scripts))
        origin = wording.IN_ZIP.format(member=wording.printable(chosen), name=name)
        info = archive.getinfo(chosen)
        if info.file_size > spec.SUBMISSION_BYTES:
            raise _unreadable("too_large", name=origin, megabytes=spec.SUBMISSION_BYTES >> 20)
        try:
            content = archive.read(info)
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError):
            raise _unreadable("damaged_zip", name=name, member=chosen) from None
    if not content:
        raise _unreadable("empty", name=origin)
    if chosen.endswith(".ipynb"):
        return from_notebook(content, chosen, origin, notes)
    return from_script(content.decode("utf-8", errors="replace"), origin, notes)


def _read(path: Path, folder: Path | None = None) -> bytes:
    """The bytes of a submitted file; inside `folder`, only a regular file that lies in it.

    The file is opened without following a symbolic link, so that a link planted in a
    submission (to the answer key, say) is never read with the grader's privileges.
    """
    name = path.name if folder is None else str(path.relative_to(folder))
    if folder is not None:
        inside = os.path.realpath(path).startswith(os.path.realpath(folder) + os.sep)
        if path.is_symlink() or not inside:
            raise _unreadable("link", name=name)
    try:
        descriptor = os.open(path, os.O_RDONLY | (os.O_NOFOLLOW if folder else 0))
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise _unreadable("link", name=name) from None
        raise _unreadable("cannot_read", name=name, why=error.strerror) from None
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise _unreadable("not_regular", name=name)
        if info.st_size > spec.SUBMISSION_BYTES:
            raise _unreadable("too_large", name=name, megabytes=spec.SUBMISSION_BYTES >> 20)
        data = file.read(spec.SUBMISSION_BYTES + 1)
    if not data:
        raise _unreadable("empty", name=name)
    return data


def _files(folder: Path) -> tuple[list[Path], list[Path]]:
    """Regular files under `folder` (sorted), and symbolic links, which are never followed.

    Raises
    ------
    SubmissionError
        If the folder holds more than `spec.FOLDER_ENTRIES` entries (counted as they are read).
    """
    files, links, folders, seen = [], [], [folder], 0
    while folders:
        try:
            entries = os.scandir(folders.pop())
        except OSError:
            continue
        with entries:
            for entry in entries:
                seen += 1
                if seen > spec.FOLDER_ENTRIES:
                    raise _unreadable(
                        "too_many_entries", most=spec.FOLDER_ENTRIES, notebook=NOTEBOOK_NAME
                    )
                path = Path(entry.path)
                if not _relevant(str(path.relative_to(folder))):
                    continue
                if entry.is_symlink():
                    links.append(path)
                elif entry.is_dir(follow_symlinks=False):
                    folders.append(path)
                elif entry.is_file(follow_symlinks=False):
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
        raise _unreadable("missing", name=path.name)
    if path.is_dir():
        files, links = _files(path)
        linked = _listed([str(link.relative_to(path)) for link in links])
        notes = [wording.LINKS_IGNORED.format(links=linked)] if links else []
        notebooks = [str(p.relative_to(path)) for p in files if p.suffix == ".ipynb"]
        zips = [p for p in files if p.suffix == ".zip"]
        scripts = [p for p in files if p.suffix == ".py" and p.name != "__init__.py"]
        if notebooks:
            chosen, picked = _pick_notebook(notebooks, wording.THE_SUBMISSION)
            if zips or scripts:
                others = [str(p.relative_to(path)) for p in zips + scripts]
                picked.append(_others_ignored(chosen, others))
            return from_notebook(_read(path / chosen, path), chosen, chosen, picked + notes)
        if len(zips) == 1:
            submission = from_zip(_read(zips[0], path), zips[0].name)
            if scripts:
                others = [str(p.relative_to(path)) for p in scripts]
                submission.notes.insert(0, _others_ignored(zips[0].name, others))
            submission.notes += notes
            return submission
        if len(scripts) == 1:
            text = _read(scripts[0], path).decode("utf-8", "replace")
            return from_script(text, scripts[0].name, notes)
        gradable = [p for p in links if p.suffix in (".ipynb", ".zip", ".py")]
        if gradable and not files:
            raise _unreadable("link", name=str(gradable[0].relative_to(path)))
        found = _listed([str(p.relative_to(path)) for p in files + links]) or wording.NOTHING_FOUND
        raise _unreadable("nothing_to_grade", found=found, notebook=NOTEBOOK_NAME)
    if path.suffix == ".ipynb":
        return from_notebook(_read(path), path.name, path.name, [])
    if path.suffix == ".zip":
        return from_zip(_read(path), path.name)
    if path.suffix == ".py":
        return from_script(_read(path).decode("utf-8", "replace"), path.name)
    raise _unreadable("wrong_suffix", name=path.name)
