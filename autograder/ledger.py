"""The record of a `grade-all` run: what was graded, by which autograder, and scores.csv.

``resume.json`` keeps, per submission, a hash of what was graded and of the autograder that
graded it, so that a rerun grades only what is new, changed, not graded or graded by other
code; ``scores.csv`` is rebuilt from the results that still stand. Whatever a submission
holds, what is written here is valid UTF-8 (`valid_data`) and lies inside the output folder
(`inside`).
"""

import csv
import hashlib
import io
import json
import os
from pathlib import Path

from . import gradescope, spec, wording
from .roster import BatchError, Entry
from .wording import valid_text

RESUME = "resume.json"
CELL_CHARS = 32_000  # of one cell of scores.csv (spreadsheets hold 32,767 characters a cell)


def valid_data(value: object) -> object:
    """`value` (decoded JSON) with `wording.valid_text` applied to every string in it."""
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, dict):
        return {valid_data(k): valid_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [valid_data(v) for v in value]
    return value


def inside(out: Path, path: Path) -> Path:
    """`path`, once checked to lie inside the output folder `out` (links followed).

    Raises
    ------
    BatchError
        When `path` resolves outside `out`: nothing there is written or removed.
    """
    where = Path(os.path.realpath(path))
    if not where.is_relative_to(os.path.realpath(out)):
        raise BatchError(wording.OUTSIDE_OUTPUT.format(path=valid_text(str(path)), out=out))
    return path


def write_text(out: Path, path: Path, text: str) -> None:
    """Write `text` to `path` inside `out` as UTF-8 that nothing in it can stop."""
    inside(out, path).write_text(valid_text(text), encoding="utf-8", errors="replace")


def content_hash(path: Path) -> str:
    """A hash of a submission file, or of a folder's names and files (links not followed)."""
    digest = hashlib.sha256()
    if path.is_file() and not path.is_dir():
        with path.open("rb") as file:
            for block in iter(lambda: file.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    for top, dirs, names in os.walk(path):
        dirs.sort()
        for name in sorted(names + [d for d in dirs if Path(top, d).is_symlink()]):
            item = Path(top, name)
            digest.update(os.fsencode(item.relative_to(path)) + b"\0")
            if item.is_symlink():
                digest.update(b"link:" + os.fsencode(os.readlink(item)))
            elif item.is_file():
                digest.update(content_hash(item).encode())
    return digest.hexdigest()


def submission_hash(path: Path) -> str:
    """`content_hash` of a submission, or "" (never current: always graded) when it is
    missing or cannot be read whole."""
    try:
        return content_hash(path) if path.exists() else ""
    except (OSError, RecursionError, ValueError):
        return ""


def autograder_identity(limits: spec.Limits) -> str:
    """A hash of what decides a score: the grading code and answer key that the autograder
    zip ships, numpy's version, and the limits in force."""
    import numpy as np

    digest = hashlib.sha256()
    for name, path in gradescope.shipped_files().items():
        digest.update(f"{name}\0".encode() + path.read_bytes())
    digest.update(f"numpy {np.__version__}; {limits!r}".encode())
    return digest.hexdigest()


def load_state(out: Path) -> dict:
    try:
        state = json.loads((out / RESUME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def save_state(out: Path, state: dict) -> None:
    """Write resume.json in one step, so that an interrupted batch never leaves half of it."""
    temporary = out / f".{RESUME}.tmp"
    write_text(out, temporary, json.dumps(valid_data(state), indent=1, sort_keys=True) + "\n")
    os.replace(temporary, inside(out, out / RESUME))


def is_current(record: object, digest: str, identity: str, out: Path, entry_id: str) -> bool:
    """Whether a stored result still stands: same submission, same autograder, graded."""
    return (
        bool(digest)
        and isinstance(record, dict)
        and record.get("status") == "graded"
        and record.get("submission") == digest
        and record.get("autograder") == identity
        and (out / "results" / f"{entry_id}.json").is_file()
    )


# ## scores.csv

COLUMNS = [
    "id",
    "name",
    "email",
    "sid",
    *(q.name for q in spec.QUESTIONS),
    "total",
    "max",
    "error",
    "confinement",
]


def _cell(text: str) -> str:
    """Text for a spreadsheet cell (names and messages come from students): valid UTF-8
    without NUL, at most `CELL_CHARS` long, and never read as a formula."""
    text = valid_text(str(text)).replace("\0", "\ufffd")
    if len(text) > CELL_CHARS:
        text = text[: CELL_CHARS - 1] + "…"
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _row(entry: Entry, results: dict | None, record: dict, why_not: str) -> dict:
    """One line of scores.csv; without `results`, the submission is not graded (no score)."""
    row = {
        "id": _cell(entry.id),
        "name": _cell("; ".join(s["name"] for s in entry.students)),
        "email": _cell("; ".join(s["email"] for s in entry.students)),
        "sid": _cell("; ".join(s["sid"] for s in entry.students)),
        "max": sum(q.points for q in spec.QUESTIONS),
        "confinement": _cell(((results or {}).get("extra_data") or {}).get("confinement", "")),
    }
    errors = [entry.note] if entry.note else []
    if results is None:
        errors.insert(0, wording.NOT_GRADED.format(reason=why_not))
        return {
            **row,
            **{q.name: "" for q in spec.QUESTIONS},
            "total": "",
            "error": _cell("; ".join(errors)),
        }
    scores = {t["name"]: t["score"] for t in results.get("tests", [])}
    error = (results.get("extra_data") or {}).get("error")
    if error:
        errors.insert(0, error)
    timeouts = record.get("timeouts")
    if timeouts and isinstance(timeouts, list):
        errors.append(wording.TIMED_OUT.format(what=", ".join(map(str, timeouts))))
    return {
        **row,
        **{q.name: scores.get(q.name, 0) for q in spec.QUESTIONS},
        "total": results.get("score", 0),
        "error": _cell("; ".join(errors)),
    }


def stored_results(out: Path, entry_id: str) -> dict | None:
    """The results.json stored for `entry_id`, valid text throughout; None if unreadable."""
    try:
        results = json.loads((out / "results" / f"{entry_id}.json").read_bytes())
    except (OSError, ValueError, RecursionError):
        return None
    return valid_data(results) if isinstance(results, dict) else None


def write_csv(entries: list[Entry], out: Path, digests: dict[str, str], identity: str) -> Path:
    """scores.csv from every stored result that still stands (a resumed batch lists everyone)."""
    state = load_state(out).get("submissions", {})
    state = state if isinstance(state, dict) else {}
    rows = []
    for entry in entries:
        if entry.skipped:
            rows.append({**_row(entry, None, {}, ""), "error": _cell(entry.skipped)})
            continue
        record = state.get(entry.id)
        record = record if isinstance(record, dict) else {}
        current = is_current(record, digests[entry.id], identity, out, entry.id)
        results = stored_results(out, entry.id) if current else None
        if results is not None:
            rows.append(_row(entry, results, record, ""))
        else:
            why = record.get("reason") if record.get("status") == "not graded" else None
            rows.append(_row(entry, None, record, str(why or wording.NOT_GRADED_YET)))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    path = out / "scores.csv"
    write_text(out, path, buffer.getvalue())
    return path
