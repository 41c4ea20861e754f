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
* ``report.html`` and ``mistakes.csv``: the class at a glance (`autograder.class_report`);
* ``resume.json``: for each submission, what was graded (a hash of its file or folder), by
  which autograder (a hash of the grading code and answer key, numpy's version and the
  limits), and whether it was graded.

A failure that is not the submission's doing (the sandbox cannot start) is retried; if it
persists the submission is *not graded*: no score, the reason in the error column, and the
next run grades it again; after `GIVE_UP_AFTER` such failures in a row the rest is not tried.
A submission that makes the grader itself fail is that submission's problem: it scores 0 with
the reason, and holds no classmate back. A rerun grades what is not graded, what changed, and
what a different autograder graded (``--force`` regrades everything).

Nothing a submission holds can stop the batch: every text it controls is made valid UTF-8
(`wording.valid_text`) before it is written, every id is a plain name (`roster.is_plain`), and
every file written or removed is checked to lie inside the output folder (`ledger.inside`).
"""

import contextlib
import dataclasses
import json
import multiprocessing
import multiprocessing.util
import os
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import (
    class_report,
    forkserver,
    grader,
    handout,
    hints,
    ledger,
    pool,
    roster,
    sandbox,
    spec,
    wording,
)
from .results import capped, results_json
from .roster import METADATA, NOT_LISTED, BatchError, Entry
from .wording import valid_text

RETRIES = 2  # further attempts at a submission whose grading failed through no fault of its own
RETRY_SECONDS = 1.0  # wait before the first retry, doubled for the next
GIVE_UP_AFTER = 5  # after the sandbox failed this many submissions in a row, try no more
SAVE_SECONDS = 2.0  # resume.json is written at most this often while grading, and at the end
# A grading process silent for longer than a submission's budget and this margin is stuck.
STALL_MARGIN_SECONDS = 120.0


@dataclass(frozen=True)
class NotGraded:
    """A submission that could not be graded through no fault of its own, and why;
    `sandbox`: because the sandbox could not start (what the breaker counts)."""

    reason: str
    sandbox: bool = False


@dataclass(frozen=True)
class Graded:
    """A graded submission as grade-all stores it: its results.json (valid text throughout),
    its feedback table, and what ran out of time."""

    results: dict
    feedback: str
    timeouts: list[str] = field(default_factory=list)
    grader_failed: bool = False  # the grader failed on it: scored 0 with the reason

    @property
    def error(self) -> str | None:
        return self.results["extra_data"]["error"]


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
    grader_failed: list[str] = field(default_factory=list)  # scored 0: the grader failed
    left_out: list[str] = field(default_factory=list)  # metadata records naming no folder


class Interrupted(KeyboardInterrupt):
    """Staff stopped the batch (Ctrl-C): what was graded is kept, and a rerun resumes."""

    def __init__(self, graded: int, left: int, skipped: int, out: Path):
        super().__init__(graded, left, skipped, out)
        self.graded, self.left, self.skipped, self.out = graded, left, skipped, out

    def __str__(self) -> str:
        return wording.INTERRUPTED.format(
            graded=self.graded,
            total=self.graded + self.left,
            skipped=self.skipped,
            resume=self.out / ledger.RESUME,
        )


class _Breaker:
    """Counts submissions in a row that the sandbox could not grade; past a limit, stop trying.

    Only the sandbox failing to start counts: what one submission does (even one that makes
    the grader fail or stops its grading process) never holds back the next.
    """

    def __init__(self, limit: int):
        self.limit, self.in_a_row, self.last = limit, 0, ""

    def record(self, outcome: object) -> None:
        if isinstance(outcome, NotGraded) and outcome.sandbox:
            self.in_a_row, self.last = self.in_a_row + 1, outcome.reason
        elif isinstance(outcome, Graded):
            self.in_a_row = 0

    @property
    def open(self) -> bool:
        return self.in_a_row >= self.limit


def _one_line(error: BaseException) -> str:
    """An exception as one valid, bounded line: its first line (and its last)."""
    lines = [line.strip() for line in valid_text(str(error)).splitlines() if line.strip()]
    text = lines[0] if lines else type(error).__name__
    if len(lines) > 1:
        text += f" ({lines[-1]})"
    return capped(text, spec.NOTE_CHARS)


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


class _Grading:
    """What a grading process needs, set before the processes are forked so that they inherit
    it: the reference outputs and the catalogue's outputs, computed once for the batch."""

    table: dict = {}
    limits: spec.Limits = spec.LIMITS
    known: "hints.Hints | None" = None
    source = ""  # the name of PATH, for messages
    hide: tuple[tuple[str, str], ...] = ()  # (a temporary path, what messages say instead)

    @classmethod
    def start(
        cls,
        table: dict,
        limits: spec.Limits,
        known: "hints.Hints | None",
        source: str,
        hide: tuple[tuple[str, str], ...] = (),
    ):
        cls.table, cls.limits, cls.known, cls.source, cls.hide = table, limits, known, source, hide

    @classmethod
    def state(cls) -> tuple:
        """What `start` was given, to pass to a grading process."""
        return cls.table, cls.limits, cls.known, cls.source, cls.hide

    @classmethod
    def hidden(cls, text: str) -> str:
        """`text`, valid, quoting no temporary folder (gone once the batch ends)."""
        for long, short in cls.hide:
            text = text.replace(long, short)
        return valid_text(text)

    @classmethod
    def attempt(
        cls, entry: Entry, progress: Callable[[], None] = lambda: None
    ) -> "Graded | NotGraded":
        """Grade `entry`, retrying when the sandbox cannot start; any other failure of the
        grader is the submission's (scored 0 with the reason, not retried). `progress` is
        called as each attempt starts."""
        reason = ""
        for attempt in range(1 + RETRIES):
            if attempt:
                time.sleep(RETRY_SECONDS * 2 ** (attempt - 1))
            progress()
            try:
                if not entry.path.exists():
                    return NotGraded(
                        wording.NOT_IN_EXPORT.format(
                            export=cls.source, id=entry.id, metadata=METADATA
                        )
                    )
                return cls.stored(grader.grade(entry.path, cls.table, cls.limits, cls.known))
            except sandbox.SandboxUnavailable as error:  # never the submission's doing
                reason = _one_line(error)
            except Exception as error:  # noqa: BLE001 - this submission made the grader fail
                why = wording.GRADER_FAILED_ON.format(why=_one_line(error))
                return cls.stored(grader.empty_report(why), grader_failed=True)
        return NotGraded(reason, sandbox=True)

    @classmethod
    def stored(cls, report: "grader.GradeReport", grader_failed: bool = False) -> Graded:
        """What grade-all writes of `report`: valid text, no temporary folder quoted."""
        if report.error:
            report.error = cls.hidden(report.error)
        return Graded(
            json.loads(results_json(report.to_gradescope())),  # as `grade --json` prints it
            valid_text(report.text()),
            [valid_text(t) for t in report.timeouts],
            grader_failed,
        )


def _start(state: tuple, record: "handout.Record") -> None:
    """In a new grading process (`pool.Worker`): take what the batch passed (the reference
    outputs, the limits, the release record), boot its sandbox now, and end its fork servers
    when it exits (a pool's processes leave through `os._exit`, past every `atexit` handler)."""
    handout.use(record)
    _Grading.start(*state)
    sandbox.prestart()
    multiprocessing.util.Finalize(None, forkserver.stop_all, exitpriority=10)


def _attempt(entry: Entry, progress: Callable[[], None]) -> "Graded | NotGraded":
    return _Grading.attempt(entry, progress)


def _resource_tracker() -> set[int]:
    """multiprocessing's resource tracker, a child of the batch's process once it runs."""
    from multiprocessing import resource_tracker

    pid = getattr(resource_tracker._resource_tracker, "_pid", None)
    return {pid} if pid else set()


def stall_seconds(limits: spec.Limits) -> float:
    """How long a grading process may go without progress before it is replaced: the
    submission's budget, and a margin for starting its sandbox on a busy machine
    (``DISC05_STALL_SECONDS`` sets the whole bound instead)."""
    chosen = os.environ.get("DISC05_STALL_SECONDS", "")
    try:
        return max(float(chosen), 1.0)
    except ValueError:
        return limits.budget_seconds + STALL_MARGIN_SECONDS


def _grade_in_processes(
    todo: list[Entry],
    workers: int,
    record: Callable[[Entry, "Graded | NotGraded"], None],
    breaker: _Breaker,
    not_tried: Callable[[], NotGraded],
    alone: bool = False,
) -> None:
    """Grade `todo` in `workers` spawned processes (`autograder.pool`), one submission each
    at a time.

    A process per slot, not a thread: the grader's own work (reading the sandbox's messages,
    judging every call) holds Python's interpreter lock, so threads would take turns. Each
    process starts its own fork server (and, as root, gets its own uids). Once
    `GIVE_UP_AFTER` in a row could not be graded, the rest are not tried. A process that
    makes no progress for `stall_seconds` is killed and replaced. Should a grading process
    die or stall, its submission is graded again afterwards, `alone` (nothing else in
    flight): only one that stops or stalls its grading process by itself is not graded.
    """
    waiting, suspects = list(reversed(todo)), []
    setup = (_Grading.state(), handout.record())
    stall = stall_seconds(_Grading.limits)
    idle: list[pool.Worker] = []
    busy: list[pool.Worker] = []
    ours = pool.children()  # before any grading process: what else turns up was orphaned
    pool.adopt_orphans()

    def end_orphans() -> None:
        pool.end_orphans(ours | {w.process.pid for w in idle + busy} | _resource_tracker())

    try:
        while waiting or busy:
            while waiting and len(busy) < workers and not breaker.open:
                worker = idle.pop() if idle else pool.Worker(_start, setup, _attempt)
                worker.give(waiting.pop())
                busy.append(worker)
            while waiting and breaker.open:
                record(waiting.pop(), not_tried())
            if not busy:
                break
            now = time.monotonic()
            pool.wait_any(busy, min(w.since + stall for w in busy) - now)
            for worker in list(busy):
                entry = worker.item
                try:
                    outcome = worker.receive()
                except pool.Gone as gone:
                    busy.remove(worker)
                    worker.kill()
                    end_orphans()
                    if alone:  # the only one in flight: it stopped its process itself
                        record(entry, NotGraded(wording.PROCESS_STOPPED.format(why=gone)))
                    else:
                        suspects.append(entry)
                    continue
                if outcome is not None:
                    busy.remove(worker)
                    idle.append(worker)
                    record(entry, outcome)
                elif time.monotonic() - worker.since > stall:
                    busy.remove(worker)
                    pool.say_stuck(worker.process.pid, entry.id, stall)
                    worker.kill(stacks=True)
                    end_orphans()
                    if alone:  # stuck again with nothing beside it: not graded this run
                        record(entry, NotGraded(wording.STALLED.format(seconds=round(stall))))
                    else:  # perhaps a classmate's code stopped it: graded again, alone
                        suspects.append(entry)
    except BaseException:  # Ctrl-C, SIGTERM or a fault of ours: end every process now
        for worker in busy + idle:
            worker.kill()
        idle.clear()
        raise
    finally:
        for worker in idle:
            worker.stop()
        idle.clear()
        end_orphans()
        pool.adopt_orphans(False)
    if suspects:
        _grade_in_processes(suspects, 1, record, breaker, not_tried, alone=True)


@contextlib.contextmanager
def _terminate_as_interrupt():
    """SIGTERM (a job scheduler, `kill`, a test's timeout) ends the batch as Ctrl-C does:
    what was graded is kept, every grading process is ended, and a rerun resumes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    before = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, before)


def _output_folders(out: Path) -> None:
    """Create `out`'s results/ and feedback/, refusing either if it leads outside `out`."""
    for name in ("results", "feedback"):
        (out / name).mkdir(parents=True, exist_ok=True)
        ledger.inside(out, out / name)


def _roster(path: Path, scratch: Path, out: Path) -> roster.Roster:
    """The submissions of PATH: a folder, or an export zip unpacked into `scratch`."""
    root = roster.export_root(roster.extract(path, scratch)) if path.is_file() else path
    try:
        found = roster.discover(root, exclude=out)
    except OSError as error:
        raise BatchError(f"{path.name} cannot be read ({valid_text(str(error))})") from None
    if not found.entries:
        raise BatchError(f"no submissions found in {path.name}")
    return found


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
        found = _roster(path, Path(scratch), out)
        entries = found.entries
        _output_folders(out)
        limits = limits_for(timeout)
        identity = ledger.autograder_identity(limits)
        digests = {e.id: ledger.submission_hash(e.path) for e in entries if not e.skipped}
        state = ledger.load_state(out)
        if not isinstance(state.get("submissions"), dict):
            state["submissions"] = {}
        records = state["submissions"]
        todo = [
            e
            for e in entries
            if not e.skipped
            and (
                force
                or not ledger.is_current(records.get(e.id), digests[e.id], identity, out, e.id)
            )
        ]
        table = grader.expected_outputs() if todo else {}
        known = hints.Hints(table) if todo else None
        bar = progress(len(todo)) if progress and todo else None
        breaker = _Breaker(GIVE_UP_AFTER)
        not_graded, failed, errors, saved = {}, [], 0, time.monotonic()

        def record(entry: Entry, outcome: Graded | NotGraded) -> None:
            nonlocal errors, saved
            breaker.record(outcome)
            results = ledger.inside(out, out / "results" / f"{entry.id}.json")
            feedback = ledger.inside(out, out / "feedback" / f"{entry.id}.txt")
            if isinstance(outcome, NotGraded):
                reason = _Grading.hidden(outcome.reason)
                not_graded[entry.id] = reason
                for stale in (results, feedback):
                    stale.unlink(missing_ok=True)
                records[entry.id] = {"status": "not graded", "reason": reason}
            else:
                errors += outcome.error is not None and not outcome.grader_failed
                if outcome.grader_failed:
                    failed.append(entry.id)
                ledger.write_text(out, results, results_json(outcome.results).decode("utf-8"))
                feedback_text = wording.printable(outcome.feedback, lines=True)  # for a terminal
                ledger.write_text(out, feedback, feedback_text + "\n")
                records[entry.id] = {
                    "status": "graded",
                    "submission": digests[entry.id],
                    "autograder": identity,
                    "timeouts": outcome.timeouts,
                }
            # resume.json is rewritten whole: not after every submission of a large class, but
            # every few seconds and at the end (an interrupted batch regrades those few).
            if time.monotonic() - saved >= SAVE_SECONDS:
                ledger.save_state(out, state)
                saved = time.monotonic()
            if bar:
                bar.step()

        def not_tried() -> NotGraded:
            return NotGraded(wording.NOT_TRIED.format(count=GIVE_UP_AFTER, last=breaker.last))

        # Messages must not quote the scratch folder, which is gone once the batch ends.
        hide = ((str(Path(scratch).resolve()), path.name), (scratch, path.name))
        _Grading.start(table, limits, known, path.name, hide)
        workers = max(1, min(jobs or os.cpu_count() or 1, len(todo)))
        recorded = set()

        def kept(entry: Entry, outcome: Graded | NotGraded) -> None:
            record(entry, outcome)
            recorded.add(entry.id)

        try:
            with _terminate_as_interrupt():
                if workers == 1:  # here, in this process
                    for entry in todo:
                        kept(entry, not_tried() if breaker.open else _Grading.attempt(entry))
                else:
                    _grade_in_processes(todo, workers, kept, breaker, not_tried)
        except KeyboardInterrupt:
            if bar and bar.live:
                bar.stream.write("\n")
            graded = len(recorded - set(not_graded))
            raise Interrupted(graded, len(todo) - graded, len(digests) - len(todo), out) from None
        finally:
            ledger.save_state(out, state)
        csv_path = ledger.write_csv(entries, out, digests, identity)
        class_report.write(out)
    return Summary(
        len(todo) - len(not_graded),
        len(digests) - len(todo),
        errors,
        time.monotonic() - start,
        csv_path,
        not_graded,
        [e.id for e in entries if e.note == NOT_LISTED],
        failed,
        found.left_out,
    )
