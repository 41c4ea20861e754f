"""``python -m autograder grade-all PATH``: grade a whole class, locally, in parallel.

PATH is a folder with one submission per entry (a notebook, a zip, a .py file, or a folder
holding one), or a Gradescope "Export Submissions" zip or folder (one folder per submission
and ``submission_metadata.yml`` naming the students). Every submission is graded by
`grader.grade`, the code Gradescope runs, each in its own sandboxed process; reference
outputs and mistake outputs are computed once for the batch. Results go to an output folder:

* ``results/ID.json``: the results.json Gradescope would have produced;
* ``feedback/ID.txt``: the per-question table;
* ``scores.csv``: one row per submission (students, question scores, total, error);
* ``report.html`` and ``mistakes.csv``: the class at a glance (`autograder.report`).

A rerun grades only what has no results yet (``--force`` regrades everything).
"""

import csv
import io
import json
import os
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from . import grader, hints, spec
from . import report as class_report

METADATA = "submission_metadata.yml"
MAX_EXPORT_BYTES = 4 << 30


class BatchError(Exception):
    """The batch cannot start (unreadable export, say); the message says why."""


@dataclass(frozen=True)
class Entry:
    """One submission of the batch."""

    id: str
    path: Path
    students: list[dict] = field(default_factory=list)  # name, email, sid


def _students(record: object) -> list[dict]:
    submitters = record.get(":submitters", []) if isinstance(record, dict) else []
    return [
        {key: str(person.get(f":{key}", "") or "") for key in ("name", "email", "sid")}
        for person in submitters
        if isinstance(person, dict)
    ]


def _find_metadata(root: Path) -> Path | None:
    for candidate in (root / METADATA, *root.glob(f"*/{METADATA}")):
        if candidate.is_file():
            return candidate
    return None


def discover(root: Path) -> list[Entry]:
    """The submissions under `root` (an extracted export, or a plain folder), sorted by id."""
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
        return sorted(
            (
                Entry(str(folder), base / str(folder), _students(record))
                for folder, record in metadata.items()
            ),
            key=lambda e: e.id,
        )
    entries = [
        Entry(child.stem if child.is_file() else child.name, child)
        for child in sorted(root.iterdir())
        if not child.name.startswith(".")
    ]
    ids = [e.id for e in entries]
    duplicates = {i for i in ids if ids.count(i) > 1}
    return [Entry(e.path.name, e.path) if e.id in duplicates else e for e in entries]


def _extract(export: Path, into: Path) -> Path:
    """Unpack an export zip (names made safe by zipfile, total size capped)."""
    try:
        with zipfile.ZipFile(export) as archive:
            if sum(i.file_size for i in archive.infolist()) > MAX_EXPORT_BYTES:
                raise BatchError(f"{export.name} unpacks to more than {MAX_EXPORT_BYTES >> 30} GB")
            archive.extractall(into)
    except (zipfile.BadZipFile, OSError) as error:
        raise BatchError(f"{export.name} is not a readable zip file ({error})") from None
    return into


def _row(entry: Entry, results: dict) -> dict:
    scores = {t["name"]: t["score"] for t in results.get("tests", [])}
    extra = results.get("extra_data", {})
    return {
        "id": entry.id,
        "name": "; ".join(s["name"] for s in entry.students),
        "email": "; ".join(s["email"] for s in entry.students),
        "sid": "; ".join(s["sid"] for s in entry.students),
        **{q.name: scores.get(q.name, 0) for q in spec.QUESTIONS},
        "total": results.get("score", 0),
        "max": sum(q.points for q in spec.QUESTIONS),
        "error": extra.get("error") or "",
    }


def write_csv(entries: list[Entry], out: Path) -> Path:
    """scores.csv from every stored result (so a resumed batch still lists everyone)."""
    rows = []
    for entry in entries:
        stored = out / "results" / f"{entry.id}.json"
        results = json.loads(stored.read_text(encoding="utf-8")) if stored.exists() else {}
        if not results:
            results = {"extra_data": {"error": "not graded"}}
        rows.append(_row(entry, results))
    buffer = io.StringIO()
    columns = [
        "id",
        "name",
        "email",
        "sid",
        *(q.name for q in spec.QUESTIONS),
        "total",
        "max",
        "error",
    ]
    writer = csv.DictWriter(buffer, fieldnames=columns)
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
    errors: int
    seconds: float
    csv: Path


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
    with tempfile.TemporaryDirectory(prefix="disc05-batch-") as scratch:
        root = _extract(path, Path(scratch)) if path.is_file() else path
        entries = discover(root)
        if not entries:
            raise BatchError(f"no submissions found in {path}")
        (out / "results").mkdir(parents=True, exist_ok=True)
        (out / "feedback").mkdir(parents=True, exist_ok=True)
        todo = [e for e in entries if force or not (out / "results" / f"{e.id}.json").exists()]
        limits = spec.LIMITS if timeout is None else spec.Limits(budget_seconds=timeout)
        table = grader.expected_outputs()
        known = hints.Hints(table)
        bar = progress(len(todo)) if progress and todo else None
        errors = 0

        def grade_one(entry: Entry) -> grader.GradeReport:
            try:
                return grader.grade(entry.path, table, limits, known)
            except Exception as error:  # noqa: BLE001 - one bad submission must not stop the batch
                return grader.empty_report(f"the grader failed on this submission ({error})")

        with ThreadPoolExecutor(max_workers=jobs or os.cpu_count() or 1) as pool:
            futures = {pool.submit(grade_one, e): e for e in todo}
            for future in as_completed(futures):
                entry, report = futures[future], future.result()
                errors += report.error is not None
                results = report.to_gradescope()
                (out / "results" / f"{entry.id}.json").write_text(
                    json.dumps(results, indent=2) + "\n"
                )
                (out / "feedback" / f"{entry.id}.txt").write_text(report.table() + "\n")
                if bar:
                    bar.step()
        csv_path = write_csv(entries, out)
        class_report.write(out)
    return Summary(len(todo), len(entries) - len(todo), errors, time.monotonic() - start, csv_path)
