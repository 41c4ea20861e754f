"""Which submissions a `grade-all` PATH holds, and who submitted them.

PATH is a folder with one submission per entry, or a Gradescope "Export Submissions" zip or
folder, whose ``submission_metadata.yml`` names the students of each submission folder.
"""

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from . import spec, wording

METADATA = "submission_metadata.yml"
NOT_LISTED = wording.NOT_LISTED.format(metadata=METADATA)


class BatchError(Exception):
    """The batch cannot start (unreadable export, say); the message says why."""


@dataclass(frozen=True)
class Entry:
    """One submission of the batch."""

    id: str
    path: Path
    students: list[dict] = field(default_factory=list)  # name, email, sid
    note: str = ""  # a problem with the submission's record, for the error column


def _students(record: object) -> list[dict]:
    submitters = record.get(":submitters", []) if isinstance(record, dict) else []
    return [
        {key: _text(person.get(f":{key}")) for key in ("name", "email", "sid")}
        for person in submitters
        if isinstance(person, dict)
    ]


def _text(value: object) -> str:
    """A metadata field as text: blank when missing or null."""
    return "" if value is None else str(value).strip()


def _find_metadata(root: Path) -> Path | None:
    for candidate in (root / METADATA, *sorted(root.glob(f"*/{METADATA}"))):
        if candidate.is_file():
            return candidate
    return None


def is_output(folder: Path) -> bool:
    """Whether `folder` is the output of an earlier grade-all (never a submission)."""
    return (folder / "scores.csv").is_file() and (folder / "results").is_dir()


def _candidates(folder: Path, exclude: Path | None) -> list[Path]:
    """Entries of `folder` that may be submissions: not hidden, not a grade-all output."""
    return [
        child
        for child in sorted(folder.iterdir())
        if not child.name.startswith(".")
        and child.name != METADATA
        and not (exclude is not None and child.resolve() == exclude)
        and not (child.is_dir() and is_output(child))
    ]


def discover(root: Path, exclude: Path | None = None) -> list[Entry]:
    """The submissions under `root` (an extracted export, or a plain folder), sorted by id.

    `exclude` (resolved) is left out: the output folder, when it lies inside `root`.
    """
    metadata_file = _find_metadata(root)
    if metadata_file is not None:
        import yaml

        try:
            metadata = yaml.safe_load(metadata_file.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise BatchError(f"{METADATA} is not valid YAML: {error}") from None
        if not isinstance(metadata, dict):
            raise BatchError(f"{METADATA} does not map submission folders to their students")
        base = metadata_file.parent
        entries = [
            Entry(str(folder), base / str(folder), _students(record))
            for folder, record in metadata.items()
        ]
        listed = {str(folder) for folder in metadata}
        entries += [
            Entry(child.name, child, note=NOT_LISTED)
            for child in _candidates(base, exclude)
            if child.name not in listed
        ]
        return sorted(entries, key=lambda e: e.id)
    entries = [
        Entry(child.stem if child.is_file() else child.name, child)
        for child in _candidates(root, exclude)
    ]
    ids = [e.id for e in entries]
    duplicates = {i for i in ids if ids.count(i) > 1}
    return [Entry(e.path.name, e.path) if e.id in duplicates else e for e in entries]


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
