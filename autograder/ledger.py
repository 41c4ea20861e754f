"""The record of a `grade-all` run: what was graded, by which autograder, and scores.csv.

``resume.json`` keeps, per submission, a hash of what was graded and of the autograder that
graded it, so that a rerun grades only what is new, changed, not graded or graded by other
code; ``scores.csv`` is rebuilt from the results that still stand.
"""

import csv
import hashlib
import io
import json
import os
from pathlib import Path

from . import gradescope, spec, wording
from .roster import Entry

RESUME = "resume.json"


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
            digest.update(str(item.relative_to(path)).encode() + b"\0")
            if item.is_symlink():
                digest.update(b"link:" + os.fsencode(os.readlink(item)))
            elif item.is_file():
                digest.update(content_hash(item).encode())
    return digest.hexdigest()


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
    temporary.write_text(json.dumps(state, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(temporary, out / RESUME)


def is_current(record: object, digest: str, identity: str, out: Path, entry_id: str) -> bool:
    """Whether a stored result still stands: same submission, same autograder, graded."""
    return (
        isinstance(record, dict)
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
    """Text for a spreadsheet cell: never read as a formula (names come from students)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _row(entry: Entry, results: dict | None, record: dict, why_not: str) -> dict:
    """One line of scores.csv; without `results`, the submission is not graded (no score)."""
    row = {
        "id": _cell(entry.id),
        "name": _cell("; ".join(s["name"] for s in entry.students)),
        "email": _cell("; ".join(s["email"] for s in entry.students)),
        "sid": _cell("; ".join(s["sid"] for s in entry.students)),
        "max": sum(q.points for q in spec.QUESTIONS),
        "confinement": ((results or {}).get("extra_data") or {}).get("confinement", ""),
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
    if record.get("timeouts"):
        errors.append(wording.TIMED_OUT.format(what=", ".join(record["timeouts"])))
    return {
        **row,
        **{q.name: scores.get(q.name, 0) for q in spec.QUESTIONS},
        "total": results.get("score", 0),
        "error": _cell("; ".join(errors)),
    }


def write_csv(entries: list[Entry], out: Path, digests: dict[str, str], identity: str) -> Path:
    """scores.csv from every stored result that still stands (a resumed batch lists everyone)."""
    state = load_state(out).get("submissions", {})
    rows = []
    for entry in entries:
        record = state.get(entry.id) or {}
        if is_current(record, digests[entry.id], identity, out, entry.id):
            stored = out / "results" / f"{entry.id}.json"
            rows.append(_row(entry, json.loads(stored.read_text(encoding="utf-8")), record, ""))
        else:
            rows.append(_row(entry, None, record, record.get("reason") or wording.NOT_GRADED_YET))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    path = out / "scores.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path
