"""Run student code in a separate, confined process and get plain values back.

The grading process never executes student code. `run` hands a submission's cells and calls to
a worker forked by this thread's fork server (`autograder.forkserver`), in a sandbox
(`autograder.confine`), and follows it event by event. Each cell and each call has a deadline;
a worker that hangs, exits, crashes or breaks the protocol is killed and replaced, the cell or
function that caused it is charged, and grading goes on with the rest. Everything that comes
back is read through `autograder.protocol`, which believes nothing it has not checked; every
verdict is drawn here, on the grader's side.
"""

from __future__ import annotations

import functools
import os
import re
import select
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from . import forkserver, protocol, wording
from .confine import SandboxUnavailable
from .forkserver import ServerGone, prestart, reset
from .runtime import Runtime
from .runtime import get as runtime
from .spec import LIMITS, WORKER_START_SECONDS, Limits
from .submission import graded_defined, place

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "Call",
    "Outcome",
    "Reference",
    "RunRecord",
    "SandboxUnavailable",
    "run",
    "prestart",
    "reset",
    "runtime",
]


@dataclass
class Call:
    """One call of a student function: name, arguments, and whether numpy warnings are errors."""

    function: str
    args: tuple
    strict: bool = False

    @functools.cached_property
    def wire(self) -> str:
        """The call as the worker receives it (`protocol.encode_call`), encoded once however
        often it is sent: a batch sends each hidden call to every submission."""
        import numpy as np

        return protocol.encode_call(self.function, self.args, self.strict, np)

    @functools.cached_property
    def sent(self) -> list[str | None]:
        """Each argument's `protocol.fingerprint`: what an unmodified argument reports after
        the call."""
        import numpy as np

        return [protocol.fingerprint(a, np) for a in self.args]


@dataclass
class Outcome:
    """What one call produced, as the grader concluded from the worker's report.

    `status` is ``ok`` (then `value`, and `modified` if an argument was changed in place),
    ``not_defined``, ``not_attempted``, ``error``, ``unconvertible``, ``timeout``,
    ``crashed``, ``skipped`` (an earlier case of the function timed out or crashed) or
    ``stopped`` (the submission used up its time, or the worker ended outside a cell or call);
    `message` explains any status but ``ok``.
    """

    status: str
    message: str = ""
    value: np.ndarray | None = None
    modified: bool = False
    error_type: str | None = None
    form: str | None = None  # `compare.form_of` what the call returned
    standins: tuple[str, ...] = ()  # graded functions the reference answered for in the call


@dataclass(frozen=True)
class Reference:
    """The grader's side of the stand-ins (`autograder.worker`): every graded function with
    its parameters, in question order, and `answer(function, args)`, the reference's value
    on those arguments (arrays and floats), or None where it has none. A call of a graded
    function may ask for the value of any function listed before it."""

    graded: tuple[tuple[str, tuple[str, ...]], ...]
    answer: Callable[[str, list], object]
    # Per function, per parameter: the kinds of argument its hidden cases pass ("float", or
    # an array's number of dimensions). A stand-in answers only for arguments of those
    # kinds, so that what the key makes stays within the sides' cap (no broadcasting of a
    # (253, 256, 1, 1, 1) array into millions of values): empty, no such check.
    kinds: dict[str, tuple[frozenset, ...]] = field(default_factory=dict)

    @functools.cached_property
    def _earlier(self) -> dict[str, frozenset[str]]:
        names = [name for name, _ in self.graded]
        return {name: frozenset(names[:i]) for i, name in enumerate(names)}

    def before(self, function: str) -> frozenset[str]:
        """The graded functions a call of `function` may ask for (asked on every stand-in)."""
        return self._earlier.get(function, frozenset())


@dataclass
class RunRecord:
    """What happened when a submission ran in the sandbox: the outcome of every call, in
    order, the cells that raised or were skipped, and how the sandbox was confined."""

    outcomes: list[Outcome]
    cell_errors: dict[int, str] = field(default_factory=dict)
    skipped_cells: dict[int, str] = field(default_factory=dict)
    uid: int | None = None
    peak_kb: int = 0
    confinement: str = ""


# --- one worker -------------------------------------------------------------------------------


def send_job(fd: int, job: bytes, deadline: float) -> bool:
    """Write `job` (or an answer to a stand-in) to a worker's job pipe, giving up at
    `deadline`; whether all of it was written.

    The job is larger than a pipe holds, so the write waits for the worker to read; a worker
    that never does (stopped by another submission's code, where nothing keeps them apart) must
    not hang the grader. What is not written by then is not sent: the worker reads a cut job,
    or nothing, and fails to start, which the grader sees within the same deadline.
    """
    os.set_blocking(fd, False)
    rest = memoryview(job)
    try:
        while rest:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([], [fd], [], remaining)[1]:
                return False
            try:
                rest = rest[os.write(fd, rest) :]
            except BlockingIOError:
                continue
    except BrokenPipeError:
        return False
    return True


class _Worker:
    """One forked worker and the reading end of its event pipe."""

    def __init__(self, job: bytes, max_events: int, max_bytes: int, event_bytes: int):
        job_read, job_write = os.pipe()
        events, events_write = os.pipe()
        try:
            try:
                self.server = forkserver.server()
                self.pid = self.server.spawn(job_read, events_write)
            except ServerGone:  # a previous submission took the server down: start another
                self.server = forkserver.replace()
                self.pid = self.server.spawn(job_read, events_write)
        except (ServerGone, SandboxUnavailable) as error:
            os.close(events)
            os.close(job_write)
            if isinstance(error, SandboxUnavailable):
                raise
            raise SandboxUnavailable(f"sandbox unavailable: {error}") from None
        finally:
            os.close(job_read)
            os.close(events_write)
        self.status: str | None = None
        self.reader = protocol.EventReader(events, max_events, max_bytes, event_bytes)
        self.answers = job_write  # kept open: answers to stand-ins follow the job
        send_job(job_write, job, time.monotonic() + WORKER_START_SECONDS)

    def close(self) -> str:
        """End the worker (idempotent) and describe how it ended.

        A worker that closed its end of the pipe is given a moment to exit on its own, so that
        an exit or a crash is reported as such; then it is killed.
        """
        if self.status is not None:
            return self.status
        try:
            code = self.server.wait(self.pid, 1.0) if self.reader.closed else None
            if code is None:
                self.server.kill(self.pid)
                code = self.server.wait(self.pid, 10.0)
        except ServerGone:  # the server died (killed by this worker?): end its whole sandbox
            code = None
            self.server.destroy()
            if not self.server.namespaced:  # without a PID namespace the worker outlives it
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except OSError:
                    pass
        if code is None:
            self.status = wording.WORKER_UNKNOWN_END
        elif code < 0:
            self.status = wording.WORKER_SIGNAL.format(name=_signal_name(-code))
        else:
            self.status = wording.WORKER_EXIT.format(code=code)
        os.close(self.reader.fd)
        os.close(self.answers)
        return self.status


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal, say
        return str(number)


def _crash_message(how: str) -> str:
    if how == wording.WORKER_SIGNAL.format(name="SIGXCPU"):
        return wording.CPU_USED_UP
    if how.startswith(wording.WORKER_SIGNAL.format(name="")):
        return wording.CRASHED.format(how=how)
    return wording.ENDED.format(how=how)


_WHERE = re.compile(r"cell (\S+), line (\S+), in (\S+)")  # a `protocol` frame (numbers hidden)


def _place(where: list[str], cells: list[str]) -> str:
    """Where in the student's cells an error came from, as they see the cells: by what each
    defines or its first line (`submission.place`), not by the worker's count of cells."""
    places = []
    for frame in filter(None, map(_WHERE.fullmatch, where)):  # `protocol` let only these in
        number, line, function = frame.groups()
        index = int(number) - 1 if number.isdigit() else -1
        if not 0 <= index < len(cells):
            places.append(wording.FRAME_UNPLACED.format(line=line, function=function))
            continue
        cell = cells[index]
        if function == "<module>" or function in graded_defined(cell):
            places.append(wording.FRAME.format(line=line, place=place(cell)))
        else:
            places.append(wording.FRAME_IN.format(line=line, place=place(cell), function=function))
    return f" ({'; '.join(places)})" if places else ""


def _outcome(fields: dict, call: Call, cells: list[str]) -> Outcome:
    """The grader's conclusion from one validated ``result`` event."""
    kind = fields["kind"]
    if kind == "value":
        import numpy as np

        value = protocol.to_array(*fields["value"], np)
        after = fields["args"]
        sent = call.sent
        modified = len(after) != len(sent) or any(a != s for a, s in zip(after, sent, strict=True))
        return Outcome("ok", value=value, modified=modified, form=fields["form"])
    if kind == "not_defined":
        return Outcome("not_defined", wording.NOT_DEFINED_IN_SUBMISSION)
    if kind == "unconvertible":
        return Outcome(
            "unconvertible", wording.UNCONVERTIBLE[fields["what"]].format(type=fields["type"])
        )
    text = f"{fields['type']}: {fields['message']}".rstrip(": ")
    status = "not_attempted" if fields["type"] == "NotImplementedError" else "error"
    return Outcome(status, f"{text}{_place(fields['where'], cells)}", error_type=fields["type"])


# --- one submission ---------------------------------------------------------------------------


def answerable(allowed: tuple[frozenset, ...] | None, shapes: list, channel) -> bool:
    """Whether the reference answers a stand-in whose arguments have `shapes` (None for a
    number): no side over `channel.standin_side`, and each argument of a kind that
    `allowed` lists for its parameter (`Reference.kinds`; None or empty: any kind). The
    protocol already caps the elements of all arguments together (`standin_elements`)."""
    if max((n for shape in shapes if shape for n in shape), default=0) > channel.standin_side:
        return False
    if not allowed:
        return True
    kinds = ["float" if not shape else len(shape) for shape in shapes]  # 0-d: a number
    return len(kinds) == len(allowed) and all(
        kind in each for kind, each in zip(kinds, allowed, strict=True)
    )


class _Session:
    """Grading one submission: workers run the cells, then the calls, until all are done.

    A worker that must be replaced charges what it was doing (`phase`, `current`) and the
    next worker resumes with what is left (`pending`), skipping the cells that failed.
    """

    def __init__(
        self,
        rt: Runtime,
        cells: list[str],
        calls: list[Call],
        limits: Limits,
        reference: Reference | None,
    ):
        self.rt, self.cells, self.calls, self.limits = rt, cells, calls, limits
        self.reference = reference
        self.record = RunRecord(outcomes=[Outcome("skipped", wording.NOT_RUN) for _ in calls])
        self.pending = list(range(len(calls)))
        self.budget_end = time.monotonic() + limits.budget_seconds
        self.phase, self.current = "start", None
        self.started = time.monotonic()  # when the current cell or call began
        self.answered: set[str] = set()  # stand-ins the reference answered for in this call
        # Whether the student attempted each graded function asked for (`attempted`).
        self.attempted: dict[str, bool] = {}
        self.standin_calls = 0  # in the whole submission: `Channel.standin_calls` caps them
        self.errors_seen: set[int] = set()  # cells this worker reported an error for
        self.landlock, self.seccomp = 0, False
        self.received = 0  # bytes from every worker so far: the cap is per submission

    def job(self) -> bytes:
        """The job for the next worker: the cells not yet charged, the calls not yet made."""
        limits, channel, platform = self.limits, self.limits.channel, self.rt.platform
        return protocol.encode_job(
            cells=self.cells,
            skip=sorted(self.record.skipped_cells),
            limits={
                "memory_mb": limits.memory_mb,
                # CPU time is a backstop for the wall-clock budget, which is enforced here
                "cpu_seconds": int(limits.budget_seconds) + 2,
                "open_files": limits.open_files,
            },
            report={
                "text_chars": channel.text_chars,
                "frames": channel.frames,
                "standin_elements": channel.standin_elements,
            },
            landlock=platform.landlock,  # the same whether namespaces are used or not
            seccomp=platform.seccomp,
            readable=list(self.rt.interpreter.readable),
            calls=[(i, self.calls[i].wire) for i in self.pending],
            graded=[] if self.reference is None else self.reference.graded,
        )

    def run(self) -> RunRecord:
        while True:
            done = self.run_worker()
            if done or not self.pending:
                break
            left = self.limits.channel.submission_bytes - self.received
            if left < self.limits.channel.event_bytes:  # no room left for another worker
                megabytes = self.limits.channel.submission_bytes >> 20
                for i in self.pending:
                    self.record.outcomes[i] = Outcome(
                        "stopped", wording.NOT_RUN_OUT_OF_BYTES.format(megabytes=megabytes)
                    )
                break
            if time.monotonic() >= self.budget_end:
                for i in self.pending:
                    self.record.outcomes[i] = Outcome(
                        "stopped",
                        wording.NOT_RUN_OUT_OF_TIME.format(seconds=self.limits.budget_seconds),
                    )
                break
        return self.record

    def deadline(self) -> tuple[float, float]:
        if self.phase == "start":  # no student code yet: the budget is not the worker's to use
            return WORKER_START_SECONDS, time.monotonic() + WORKER_START_SECONDS
        limit = self.limits.cell_seconds if self.phase == "cell" else self.limits.call_seconds
        return limit, min(self.started + limit, self.budget_end)

    def begin(self, phase: str, current: int | None) -> None:
        self.phase, self.current, self.started = phase, current, time.monotonic()
        self.answered = set()

    def run_worker(self) -> bool:
        """Run one worker until done (True) or until it must be replaced (False)."""
        self.phase, self.current, self.errors_seen = "start", None, set()
        channel = self.limits.channel
        # All an honest job sends: a stand-in asks until the grader says it may no more.
        max_events = 2 * len(self.cells) + len(self.pending) + channel.standin_calls + 5
        max_bytes = channel.submission_bytes - self.received
        worker = _Worker(self.job(), max_events, max_bytes, channel.event_bytes)
        self.record.confinement = worker.server.plan.describe(self.landlock, self.seccomp)
        try:
            while True:
                limit, deadline = self.deadline()
                try:
                    line = worker.reader.next_line(deadline)
                except TimeoutError:
                    return self.fail(wording.DID_NOT_FINISH.format(seconds=limit), timeout=True)
                except protocol.ProtocolError as error:
                    return self.fail(wording.CHANNEL[error.cap])
                if line is None:
                    return self.fail(_crash_message(worker.close()))
                event = protocol.parse_event(line, len(self.calls), self.limits.channel)
                if event is None:
                    return self.fail(wording.MALFORMED_MESSAGE)
                if self.phase == "start" and event.kind != "ready":
                    raise SandboxUnavailable(
                        "sandbox unavailable: the worker failed to start "
                        f"({event.fields.get('message', event.kind)})"
                    )
                if not self.handle(event, worker):
                    return self.phase == "done"
        finally:
            self.received += worker.reader.total
            worker.close()

    def handle(self, event: protocol.Event, worker: _Worker) -> bool:
        """Take one event in; False when this worker is finished (done, or out of order)."""
        kind, fields = event.kind, event.fields
        if kind == "ready" and self.phase == "start":
            self.record.uid, self.landlock = fields["uid"], fields["landlock"]
            self.seccomp = fields["seccomp"]
            self.record.confinement = worker.server.plan.describe(self.landlock, self.seccomp)
            self.begin("ready", None)
        elif kind == "cell" and self.phase in ("ready", "cell") and self.next_cell(fields["index"]):
            self.begin("cell", fields["index"])
        elif (
            kind == "cell_error"
            and self.phase == "cell"
            and fields["index"] == self.current
            and self.current not in self.errors_seen  # a worker sends one per cell
        ):
            self.errors_seen.add(self.current)
            error = f"{fields['type']}: {fields['message']}".rstrip(": ")
            self.record.cell_errors[self.current] = error
        elif kind == "calls" and self.phase in ("ready", "cell"):
            self.begin("call", self.pending[0] if self.pending else None)
        elif kind == "standin" and self.phase == "call" and self.may_ask(fields["function"]):
            return self.answer(fields, worker)
        elif kind == "result" and self.phase == "call" and fields["id"] == self.current:
            outcome = _outcome(fields, self.calls[self.current], self.cells)
            outcome.standins = tuple(sorted(self.answered))
            self.record.outcomes[self.current] = outcome
            self.pending.remove(self.current)
            self.begin("call", self.pending[0] if self.pending else None)
        elif kind == "done" and self.phase == "call" and not self.pending:
            self.record.peak_kb = max(self.record.peak_kb, fields["peak_kb"])
            self.phase = "done"
            return False
        else:
            self.fail(wording.UNEXPECTED_MESSAGE)
            return False
        return True

    def may_ask(self, function: str) -> bool:
        """Whether the call being made may ask for the reference's value of `function`: one
        listed before the function being called (so each mistake is charged once).
        Whether the reference answers is decided in `answer`."""
        if self.reference is None or self.current is None:
            return False
        return function in self.reference.before(self.calls[self.current].function)

    def was_attempted(self, function: str) -> bool:
        """Whether one of `function`'s own calls (all made before any later function's) did
        something: returned, raised anything but NotImplementedError, hung or crashed. A
        stricter bar would buy nothing (``return 0 * x`` clears any), and the release gate
        holds that a broken function costs its callers nothing."""
        if function not in self.attempted:
            idle = ("not_attempted", "not_defined", "skipped", "stopped")
            self.attempted[function] = any(
                outcome.status not in idle
                for call, outcome in zip(self.calls, self.record.outcomes, strict=True)
                if call.function == function
            )
        return self.attempted[function]

    def answers_for(self, function: str, args: list) -> bool:
        """Whether the reference answers for `function` on `args` (wire form): only for a
        function the student attempted (a stub, or a function never written, is called as
        it is), and only for arguments of the kinds its hidden cases pass, within the caps."""
        channel = self.limits.channel
        if not self.was_attempted(function) or self.standin_calls > channel.standin_calls:
            return False
        shapes = [None if isinstance(a, float) else tuple(a[1]) for a in args]
        return answerable(self.reference.kinds.get(function), shapes, channel)

    def answer(self, fields: dict, worker: _Worker) -> bool:
        """Answer a stand-in: the reference's value, computed here on the arguments the
        student's code passed, or ``own``. False if the worker does not take the answer."""
        import numpy as np

        self.standin_calls += 1
        value, channel = None, self.limits.channel
        if self.answers_for(fields["function"], fields["args"]):
            args = [
                a if isinstance(a, float) else protocol.to_array(*a, np) for a in fields["args"]
            ]
            value = self.reference.answer(fields["function"], args)
        if value is None:
            more = self.standin_calls < channel.standin_calls
            data = protocol.own_answer(more)
        else:
            data = protocol.encode_answer(value, np)
            self.answered.add(fields["function"])
        limit, deadline = self.deadline()
        if not send_job(worker.answers, data, deadline):
            return self.fail(wording.DID_NOT_FINISH.format(seconds=limit), timeout=True)
        return True

    def next_cell(self, index: int) -> bool:
        """Whether `index` is a cell this worker may run next (in order, not skipped)."""
        after = -1 if self.phase == "ready" else self.current
        return after < index < len(self.cells) and index not in self.record.skipped_cells

    def fail(self, message: str, timeout: bool = False) -> bool:
        """Charge what the worker was doing, so that it is not run again; return False."""
        if self.phase == "start":
            raise SandboxUnavailable(f"sandbox unavailable: the worker {message} while starting")
        if self.phase == "cell" and self.current is not None:
            self.record.skipped_cells[self.current] = message
        elif self.phase == "call" and self.current is not None:
            function = self.calls[self.current].function
            status = "timeout" if timeout else "crashed"
            self.record.outcomes[self.current] = Outcome(status, message)
            self.pending.remove(self.current)
            for i in [i for i in self.pending if self.calls[i].function == function]:
                why = wording.NOT_RUN_EARLIER_CASE.format(why=message)
                self.record.outcomes[i] = Outcome("skipped", why)
                self.pending.remove(i)
        elif self.phase in ("ready", "done"):  # between cells, or after the last call
            for i in self.pending:
                self.record.outcomes[i] = Outcome(
                    "stopped", wording.NOT_RUN_SANDBOX.format(why=message)
                )
            self.pending.clear()
        return False


def run(
    cells: list[str],
    calls: list[Call],
    limits: Limits = LIMITS,
    reference: Reference | None = None,
) -> RunRecord:
    """Run `cells` in order, then every call, in the sandbox; never raises for student faults.

    With a `reference`, a graded function that calls one listed before it is judged with the
    reference standing in for that one (`Outcome.standins` says where it did).

    Raises
    ------
    SandboxUnavailable
        When the sandbox itself cannot be had (never because of what the submission does).
    """
    return _Session(runtime(), cells, calls, limits, reference).run()
