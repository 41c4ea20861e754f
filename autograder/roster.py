"""Which submissions a `grade-all` PATH holds, and who submitted them.

PATH is a folder with one submission per entry, or a Gradescope "Export Submissions" zip or
folder, whose ``submission_metadata.yml`` names the students of each submission folder. The
roster is read from the root of the export only (PATH itself, or the single top folder of the
zip), never from inside a submission. Every id is a plain name (`is_plain`): it names the
submission's files in the output folder, so it can never point anywhere else.
"""

import dataclasses
import os
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from . import spec, wording
from .wording import valid_text

METADATA = "submission_metadata.yml"
NOT_LISTED = wording.NOT_LISTED.format(metadata=METADATA)
ID_BYTES = 200  # an id in UTF-8: it names results/ID.json (a file name holds 255 bytes)
FIELD_CHARS = 300  # a student's name, email or SID from the metadata
_NOT_IN_IDS = re.compile(r"[/\\\0]")  # path separators (POSIX and Windows) and NUL


class BatchError(Exception):
    """The batch cannot start (unreadable export, say); the message says why."""


@dataclass(frozen=True)
class Entry:
    """One submission of the batch."""

    id: str
    path: Path
    students: list[dict] = field(default_factory=list)  # name, email, sid
    note: str = ""  # a problem with the submission's record, for the error column
    skipped: str = ""  # why it is listed but not graded (an earlier grade-all's output)


@dataclass(frozen=True)
class Roster:
    """The submissions of a PATH, and what the terminal says of it: metadata records left out,
    folders listed but not graded, ids changed (one line each)."""

    entries: list[Entry]
    left_out: list[str] = field(default_factory=list)


def is_plain(name: object) -> bool:
    """Whether `name` can be an id: one valid, bounded file name, neither ``.`` nor ``..``.

    Parameters
    ----------
    name : object
        A candidate id (a metadata key, say).

    Returns
    -------
    bool
        True for a non-empty str without path separators or NUL, valid as UTF-8, at most
        `ID_BYTES` long, and not ``.`` or ``..``.
    """
    return (
        isinstance(name, str)
        and name not in ("", ".", "..")
        and not _NOT_IN_IDS.search(name)
        and valid_text(name) == name
        and len(name.encode("utf-8")) <= ID_BYTES
    )


def _cut_bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8, on a character boundary."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


# A cell starting with one of these is a formula to a spreadsheet (`ledger` quotes such text).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def as_id(name: str) -> str:
    """A file or folder name made a plain id: valid text, separators and NUL replaced by
    ``_``, cut to `ID_BYTES`, and ``_`` put before a first character that a spreadsheet reads
    as a formula, so that the id is the same in scores.csv, results/, report.html and
    mistakes.csv (the spreadsheet guard never needs to change it)."""
    text = _NOT_IN_IDS.sub("_", valid_text(name))
    if text.startswith(FORMULA_START):
        text = "_" + text
    text = _cut_bytes(text, ID_BYTES)
    return text if is_plain(text) else "_"


def _renamed(entry: Entry, name: str) -> Entry:
    """`entry`, its id differing from its folder or file `name`, saying so where the id
    differs for a spreadsheet's sake."""
    if not name.startswith(FORMULA_START) or entry.note:
        return entry
    shown = wording.printable(name)[:80]
    return dataclasses.replace(entry, note=wording.ID_MADE_SAFE.format(name=shown))


def _unique(entries: list[Entry]) -> list[Entry]:
    """`entries` with ids made unique: a later duplicate gets ``~2``, ``~3``… An entry whose
    id is its own name claims it before one whose id was changed for a spreadsheet's sake,
    so that an id that is a file's name is that file's."""
    safe = wording.ID_MADE_SAFE.split("{")[0]
    claims = sorted(range(len(entries)), key=lambda i: entries[i].note.startswith(safe))
    seen, given_ids = set(), {}
    for i in claims:
        given, count = entries[i].id, 1
        while given in seen:
            count += 1
            given = f"{_cut_bytes(entries[i].id, ID_BYTES - 8)}~{count}"
        seen.add(given)
        given_ids[i] = given
    return [
        e if given_ids[i] == e.id else dataclasses.replace(e, id=given_ids[i])
        for i, e in enumerate(entries)
    ]


def _text(value: object) -> str:
    """A metadata field as text: blank when missing, null or not a scalar; valid, bounded."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return ""
    text = valid_text(str(value)).strip()
    return text if len(text) <= FIELD_CHARS else text[: FIELD_CHARS - 1] + "…"


def _students(record: object) -> list[dict]:
    submitters = record.get(":submitters") if isinstance(record, dict) else None
    return [
        {key: _text(person.get(f":{key}")) for key in ("name", "email", "sid")}
        for person in (submitters if isinstance(submitters, list) else [])
        if isinstance(person, dict)
    ]


def is_output(folder: Path) -> bool:
    """Whether `folder` is the output of an earlier grade-all (never a submission)."""
    return (folder / "scores.csv").is_file() and (folder / "results").is_dir()


def _candidates(folder: Path, exclude: Path | None) -> list[Path]:
    """Entries of `folder` that may be submissions: not hidden, not this batch's output."""
    return [
        child
        for child in sorted(folder.iterdir())
        if not child.name.startswith(".")
        and child.name != METADATA
        and not (exclude is not None and Path(_real(child)) == exclude)
    ]


def _unless_output(entry: Entry) -> Entry:
    """`entry`, skipped with the reason if it looks like an earlier grade-all's output: it is
    listed (a row, a line on the terminal), never left out in silence."""
    if entry.path.is_dir() and is_output(entry.path):
        return dataclasses.replace(entry, skipped=wording.SKIPPED_OUTPUT)
    return entry


def _real(path: Path) -> str:
    return os.path.realpath(path)  # unlike Path.resolve, never raises on a loop of links


def read_metadata(file: Path) -> dict:
    """The mapping of ``submission_metadata.yml``: submission folder to its record."""
    import yaml

    try:
        metadata = yaml.safe_load(file.read_bytes()) or {}  # bytes: YAML reads the encoding
    except (yaml.YAMLError, RecursionError, OSError) as error:
        why = " ".join(valid_text(str(error)).split())[:FIELD_CHARS]
        raise BatchError(f"{METADATA} is not valid YAML: {why}") from None
    if not isinstance(metadata, dict):
        raise BatchError(f"{METADATA} does not map submission folders to their students")
    return metadata


def _listed(metadata: dict, base: Path) -> Roster:
    """The entries `metadata` lists, each a plain folder name once; the rest left out."""
    entries, left_out, seen = [], [], set()
    for key, record in metadata.items():
        folder = str(key) if isinstance(key, (str, int)) and not isinstance(key, bool) else None
        why = None if is_plain(folder) else "not_plain"
        why = why or ("duplicate" if folder in seen else None)
        if why:
            shown = _cut_bytes(valid_text(repr(key)), 80)
            left_out.append(
                wording.NOT_IN_ROSTER.format(
                    metadata=METADATA, key=shown, why=wording.ROSTER_WHY[why]
                )
            )
            continue
        seen.add(folder)
        entries.append(_renamed(Entry(as_id(folder), base / folder, _students(record)), folder))
    return Roster(entries, left_out)


def discover(root: Path, exclude: Path | None = None) -> Roster:
    """The submissions under `root` (an export's root, or a plain folder), sorted by id.

    The roster is ``root/submission_metadata.yml`` when there is one, and nothing else: a
    metadata file inside a submission is part of that submission. `exclude` (resolved) is left
    out: the output folder, when it lies inside `root`.
    """
    metadata_file = root / METADATA
    if metadata_file.is_file():
        roster = _listed(read_metadata(metadata_file), root)
        listed = {e.path.name for e in roster.entries}
        unlisted = [
            _unless_output(Entry(as_id(child.name), child, note=NOT_LISTED))
            for child in _candidates(root, exclude)
            if child.name not in listed
        ]
        entries = _unique(roster.entries + unlisted)
        return _said(sorted(entries, key=lambda e: e.id), roster.left_out)
    entries = []
    for child in _candidates(root, exclude):
        name = child.stem if child.is_file() else child.name
        entries.append(_unless_output(_renamed(Entry(as_id(name), child), name)))
    ids = [e.id for e in entries]
    duplicates = {i for i in ids if ids.count(i) > 1}
    named = [
        dataclasses.replace(e, id=as_id(e.path.name)) if e.id in duplicates else e for e in entries
    ]
    return _said(_unique(named), [])


def _said(entries: list[Entry], left_out: list[str]) -> Roster:
    """The roster, with a line for the terminal per entry listed but not graded, or whose id
    differs from its name for a spreadsheet's sake."""
    lines = list(left_out)
    for entry in entries:
        if entry.skipped:
            lines.append(f"{entry.id}: {entry.skipped}")
        elif entry.note.startswith(wording.ID_MADE_SAFE.split("{")[0]):
            lines.append(f"{entry.id}: {entry.note}")
    return Roster(entries, lines)


def export_root(folder: Path) -> Path:
    """The root of an unpacked export zip: its single top folder when that holds the
    metadata (as Gradescope's exports do), else the unpacked folder itself."""
    if (folder / METADATA).is_file():
        return folder
    tops = [child for child in folder.iterdir() if not child.name.startswith(".")]
    if len(tops) == 1 and tops[0].is_dir() and (tops[0] / METADATA).is_file():
        return tops[0]
    return folder


def extract(export: Path, into: Path) -> Path:
    """Unpack an export zip (names made safe by zipfile, total size capped)."""
    try:
        with zipfile.ZipFile(export) as archive:
            if sum(i.file_size for i in archive.infolist()) > spec.EXPORT_BYTES:
                raise BatchError(f"{export.name} unpacks to more than {spec.EXPORT_BYTES >> 30} GB")
            archive.extractall(into)
    except (zipfile.BadZipFile, OSError) as error:
        raise BatchError(f"{export.name} is not a readable zip file ({error})") from None
    return into
