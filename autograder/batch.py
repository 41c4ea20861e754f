"""``python -m autograder grade-all PATH``: grade a whole class, locally, in parallel.

PATH is a folder with one submission per entry (a notebook, a zip, a .py file, or a folder
holding one), or a Gradescope "Export Submissions" zip or folder (one folder per submission
and ``submission_metadata.yml`` naming the students). Every submission is graded by
`grader.grade`, the code Gradescope runs, each in its own sandboxed process; reference
outputs and mistake outputs are computed once for the batch. Results go to an output folder:

* ``results/ID.json``: the results.json Gradescope would have produced;
* ``feedback/ID.txt``: the per-question table;
* ``scores.csv``: one row per submission (students, question scores, total, max, error, the
  confinement student code ran under);
* ``report.html`` and ``mistakes.csv``: the class at a glance (`autograder.report`);
* ``resume.json``: for each submission, what was graded (a hash of its file or folder), by
  which autograder (a hash of the grading code and answer key, numpy's version and the
  limits), and whether it was graded.

A failure that is not the submission's doing (the sandbox cannot start, a fault of the
grader) is retried; if it persists the submission is *not graded*: no score, the reason in
the error column, and the next run grades it again. A rerun grades what is not graded, what
changed, and what a different autograder graded (``--force`` regrades everything).
"""

import csv
import dataclasses
import hashlib
import io
import json
import os
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from . import grader, hints, spec, wording
from . import report as class_report

METADATA = "submission_metadata.yml"
RESUME = "resume.json"
RETRIES = 2  # further attempts at a submission whose grading failed through no fault of its own
RETRY_SECONDS = 1.0  # wait before the first retry, doubled for the next
GIVE_UP_AFTER = 5  # after this many submissions in a row could not be graded, try no more
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


@dataclass(frozen=True)
class NotGraded:
    """A submission that could not be graded through no fault of its own, and why."""

    reason: str


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


def _extract(export: Path, into: Path) -> Path:
    """Unpack an export zip (names made safe by zipfile, total size capped)."""
    try:
        with zipfile.ZipFile(export) as archive:
            if sum(i.file_size for i in archive.infolist()) > spec.EXPORT_BYTES:
                raise BatchError(f"{export.name} unpacks to more than {spec.EXPORT_BYTES >> 30} GB")
            archive.extractall(into)
    except (zipfile.BadZipFile, OSError) as error:
        raise BatchError(f"{export.name} is not a readable zip file ({error})") from None
    return into


# ## What was graded, and by what


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


def identity_files() -> list[Path]:
    """The grading code and answer key: the Python files the autograder zip ships."""
    from . import gradescope

    root = Path(__file__).resolve().parent.parent
    files = [p for p in sorted((root / "autograder").glob("*.py"))]
    files = [p for p in files if p.name not in gradescope.BUILD_ONLY]
    return files + [root / "solutions" / name for name in gradescope.SOLUTION_MODULES]


def autograder_identity(limits: spec.Limits) -> str:
    """A hash of what decides a score: the grading code and answer key that the autograder
    zip ships, numpy's version, and the limits in force."""
    import numpy as np

    digest = hashlib.sha256()
    for path in identity_files():
        digest.update(f"{path.parent.name}/{path.name}\0".encode() + path.read_bytes())
    digest.update(f"numpy {np.__version__}; {limits!r}".encode())
    return digest.hexdigest()


def _load_state(out: Path) -> dict:
    try:
        state = json.loads((out / RESUME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return state if isinstance(state, dict) else {}


def _save_state(out: Path, state: dict) -> None:
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
    state = _load_state(out).get("submissions", {})
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


class Progress:
    """A one-line progress bar on stderr (a line per tenth when stderr is not a terminal)."""

    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.start, self.stream = total, 0, time.monotonic(), stream
        self.live = stream.isatty()

    def step(self) -> None:
        self.done += 1
        elapsed = time.monotonic() - self.start
        rate = self.done / elapsed if elapsed else 0.0
        eta = (self.total - self.done) / rate if rate else 0.0
        filled = int(30 * self.done / max(self.total, 1))
        bar = "#" * filled + "." * (30 - filled)
        line = f"[{bar}] {self.done}/{self.total}  {rate:.1f}/s  eta {eta:.0f}s"
        if self.live:
            self.stream.write("\r" + line + ("\n" if self.done == self.total else ""))
            self.stream.flush()
        elif self.done == self.total or self.done % max(self.total // 10, 1) == 0:
            self.stream.write(line + "\n")


@dataclass
class Summary:
    graded: int
    skipped: int
    errors: int  # unreadable submissions (graded: 0, with the reason)
    seconds: float
    csv: Path
    not_graded: dict[str, str] = field(default_factory=dict)  # id: why
    unlisted: list[str] = field(default_factory=list)  # folders missing from the metadata


class _Breaker:
    """Counts submissions in a row that could not be graded; past a limit, stop trying."""

    def __init__(self, limit: int):
        self.limit, self.in_a_row, self.last = limit, 0, ""
        self.lock = threading.Lock()

    def record(self, outcome: object) -> None:
        with self.lock:
            if isinstance(outcome, NotGraded):
                self.in_a_row, self.last = self.in_a_row + 1, outcome.reason
            else:
                self.in_a_row = 0

    @property
    def open(self) -> bool:
        return self.in_a_row >= self.limit


def _one_line(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    if len(lines) > 1:
        text += f" ({lines[-1]})"
    return text


def limits_for(timeout: float | None) -> spec.Limits:
    """The limits in force: with `timeout`, no call or cell may run longer than the whole."""
    if timeout is None:
        return spec.LIMITS
    return dataclasses.replace(
        spec.LIMITS,
        budget_seconds=timeout,
        call_seconds=min(spec.LIMITS.call_seconds, timeout),
        cell_seconds=min(spec.LIMITS.cell_seconds, timeout),
    )


def grade_all(
    path: Path,
    out: Path,
    jobs: int | None = None,
    force: bool = False,
    timeout: float | None = None,
    progress: Callable[[int], Progress] | None = Progress,
) -> Summary:
    """Grade every submission under `path` into `out`; see the module docstring."""
    start = time.monotonic()
    path, out = Path(path).resolve(), Path(out).resolve()
    if out == path:
        raise BatchError("the output folder cannot be PATH itself: choose another with -o")
    with tempfile.TemporaryDirectory(prefix="disc05-batch-") as scratch:
        root = _extract(path, Path(scratch)) if path.is_file() else path
        entries = discover(root, exclude=out)
        if not entries:
            raise BatchError(f"no submissions found in {path.name}")
        (out / "results").mkdir(parents=True, exist_ok=True)
        (out / "feedback").mkdir(parents=True, exist_ok=True)
        limits = limits_for(timeout)
        identity = autograder_identity(limits)
        digests = {e.id: content_hash(e.path) if e.path.exists() else "" for e in entries}
        state = _load_state(out)
        records = state.setdefault("submissions", {})
        todo = [
            e
            for e in entries
            if force or not is_current(records.get(e.id), digests[e.id], identity, out, e.id)
        ]
        table = grader.expected_outputs() if todo else {}
        known = hints.Hints(table) if todo else None
        bar = progress(len(todo)) if progress and todo else None
        breaker = _Breaker(GIVE_UP_AFTER)
        # Messages must not quote the scratch folder, which is gone once the batch ends.
        hide = [(str(Path(scratch).resolve()), path.name), (scratch, path.name)]

        def grade_one(entry: Entry) -> grader.GradeReport | NotGraded:
            outcome = attempt_grading(entry)
            breaker.record(outcome)
            return outcome

        def attempt_grading(entry: Entry) -> grader.GradeReport | NotGraded:
            if not entry.path.exists():
                missing = wording.NOT_IN_EXPORT.format(
                    export=path.name, id=entry.id, metadata=METADATA
                )
                return NotGraded(missing)
            reason = ""
            for attempt in range(1 + RETRIES):
                if breaker.open:
                    return NotGraded(
                        wording.NOT_TRIED.format(count=GIVE_UP_AFTER, last=breaker.last)
                    )
                if attempt:
                    time.sleep(RETRY_SECONDS * 2 ** (attempt - 1))
                try:
                    return grader.grade(entry.path, table, limits, known)
                except Exception as error:  # noqa: BLE001 - never the submission's doing
                    reason = _one_line(error)
            for long, short in hide:
                reason = reason.replace(long, short)
            return NotGraded(reason)

        not_graded, errors = {}, 0
        with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
            futures = {pool.submit(grade_one, e): e for e in todo}
            for future in as_completed(futures):
                entry, outcome = futures[future], future.result()
                stored = [
                    out / "results" / f"{entry.id}.json",
                    out / "feedback" / f"{entry.id}.txt",
                ]
                if isinstance(outcome, NotGraded):
                    not_graded[entry.id] = outcome.reason
                    for stale in stored:
                        stale.unlink(missing_ok=True)
                    records[entry.id] = {"status": "not graded", "reason": outcome.reason}
                else:
                    errors += outcome.error is not None
                    if outcome.error:
                        for long, short in hide:
                            outcome.error = outcome.error.replace(long, short)
                    stored[0].write_text(json.dumps(outcome.to_gradescope(), indent=2) + "\n")
                    stored[1].write_text(outcome.text() + "\n")
                    records[entry.id] = {
                        "status": "graded",
                        "submission": digests[entry.id],
                        "autograder": identity,
                        "timeouts": outcome.timeouts,
                    }
                _save_state(out, state)
                if bar:
                    bar.step()
        csv_path = write_csv(entries, out, digests, identity)
        class_report.write(out)
    return Summary(
        len(todo) - len(not_graded),
        len(entries) - len(todo),
        errors,
        time.monotonic() - start,
        csv_path,
        not_graded,
        [e.id for e in entries if e.note == NOT_LISTED],
    )
