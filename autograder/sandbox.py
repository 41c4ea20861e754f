"""Run student code in a separate, confined process and get plain values back.

The grading process never executes student code. Each grading thread (a *slot*) has a fork
server (`worker.py`) inside its own sandbox (`autograder.confine`: bubblewrap namespaces, a uid
of its own when root, Landlock, resource limits); the server forks one worker per submission.
Each cell and each call has a deadline; a worker that hangs, exits, crashes or breaks the
protocol is killed and replaced, the cell or function that caused it is charged, and grading
goes on with the rest. Everything that comes back is read through `autograder.protocol`, which
believes nothing it has not checked; every verdict is drawn here, on the grader's side.
"""

from __future__ import annotations

import atexit
import base64
import dataclasses
import functools
import itertools
import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import confine, protocol
from .confine import SandboxUnavailable
from .install import SANDBOX_HOME
from .spec import LIMITS, Limits

if TYPE_CHECKING:
    import numpy as np

__all__ = ["Call", "Outcome", "Report", "SandboxUnavailable", "run", "prestart", "runtime"]


@dataclass(frozen=True)
class Runtime:
    """The interpreter student code runs in, and how its slots are confined."""

    interpreter: confine.Interpreter
    platform: confine.Platform
    weak_ok: bool


@dataclass
class Call:
    """One call of a student function: name, arguments, and whether numpy warnings are errors."""

    function: str
    args: tuple
    strict: bool = False

    @functools.cached_property
    def wire(self) -> dict:
        """The call as the worker receives it, encoded once however often it is sent."""
        args = [encode_arg(a) for a in self.args]
        return {"function": self.function, "strict": self.strict, "args": args}

    @functools.cached_property
    def wire_json(self) -> str:
        """`wire` as JSON, less its closing brace: a batch encodes each hidden call once."""
        return json.dumps(self.wire)[:-1]

    @functools.cached_property
    def sent(self) -> list[str]:
        """Each argument's `protocol.digest`: what an unmodified argument reports after a call."""
        import numpy as np

        return [
            protocol.digest(array.tobytes(), array.shape)
            for array in (np.asarray(a, dtype="<f8", order="C") for a in self.args)
        ]


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


@dataclass
class Report:
    """Outcomes of all calls, in order, and notes about the cells."""

    outcomes: list[Outcome]
    cell_errors: dict[int, str] = field(default_factory=dict)
    skipped_cells: dict[int, str] = field(default_factory=dict)
    uid: int | None = None
    peak_kb: int = 0
    confinement: str = ""


def encode_arg(value: object) -> dict:
    """Arguments travel as base64 float64 (arrays), JSON lists or JSON floats."""
    import numpy as np

    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value, dtype="<f8")
        return protocol.pack_array(data.tobytes(), value.shape)
    if isinstance(value, list):
        return {"list": value}
    return {"float": float(value)}


# --- which interpreter ------------------------------------------------------------------------


def _candidates() -> list[str]:
    chosen = os.environ.get("DISC05_SANDBOX_PYTHON")
    return [chosen] if chosen else [sys.executable, str(SANDBOX_HOME / "bin" / "python")]


def _open_to_all(path: str) -> bool:
    """Whether every user can reach `path` (each folder above it searchable, it readable)."""
    parts = Path(path).parts
    for depth in range(1, len(parts) + 1):
        try:
            mode = os.stat(Path(*parts[:depth])).st_mode
        except OSError:
            return False
        need = 0o001 if stat.S_ISDIR(mode) and depth < len(parts) else 0o004
        if not mode & need:
            return False
    return True


def _describe(python: str, uid: int | None) -> confine.Interpreter | None:
    """`python` as a slot running as `uid` would see it; None if that uid cannot run it."""
    if python == sys.executable:
        own = confine.this_interpreter()
        reachable = own is not None and all(
            _open_to_all(p) for p in (own.executable, *own.stdlib, own.numpy)
        )
        if own is not None and (uid is None or reachable):
            return own  # no need to start a process to learn what this one knows
    return confine.interpreter(python, uid)


_runtime_lock = threading.Lock()
_runtime: Runtime | None = None
_prestarted: list[_Server] = []  # at most one, started by `prestart`


def runtime() -> Runtime:
    """The sandbox interpreter and platform: $DISC05_SANDBOX_PYTHON, else this one, else the
    installed one, whichever the first slot's uid can run with numpy.

    Raises
    ------
    SandboxUnavailable
        When no candidate works, or the platform cannot confine student code as promised.
    """
    global _runtime
    with _runtime_lock:
        if _runtime is not None:
            return _runtime
        found = confine.platform()
        weak_ok = confine.weak_isolation_allowed()
        uid = confine.plan(found, 0, weak_ok).uid
        for python in _candidates():
            described = _describe(python, uid)
            if described is not None:
                _runtime = Runtime(described, found, weak_ok)
                return _runtime
    who = "the grader's own user" if uid is None else f"uid {uid}"
    raise SandboxUnavailable(
        f"sandbox unavailable: no Python 3.10+ with numpy that {who} can run: create one with "
        "`python -m autograder install-sandbox`, or set DISC05_SANDBOX_PYTHON"
    )


def prestart() -> None:
    """Find the runtime and start a fork server now, on another core, while the grader imports;
    the first slot to need a server takes this one."""

    def start() -> None:
        try:
            server = _Server(runtime(), next(_slots)).ready()
        except (SandboxUnavailable, ServerGone):
            return  # the same failure is met, and reported, when grading starts
        _prestarted.append(server)

    thread = threading.Thread(target=start, daemon=True)
    _prestarting.append(thread)
    thread.start()


_prestarting: list[threading.Thread] = []


# --- fork servers -----------------------------------------------------------------------------


class ServerGone(Exception):
    """The fork server stopped answering; it is replaced and the current work retried."""


_slots = itertools.count()
_local = threading.local()


def _slot() -> int:
    """This thread's grading slot: its own sandbox, and its own uid when root."""
    if not hasattr(_local, "slot"):
        _local.slot = next(_slots)
    return _local.slot


# Every fork server is started from this one thread, which lives as long as the grader:
# bubblewrap's --die-with-parent follows the thread that started it, not the process.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="disc05-spawn")


class _Server:
    """A fork server in a slot's sandbox: numpy loaded once, one forked child per worker."""

    def __init__(self, rt: Runtime, slot: int):
        self.slot = slot
        self.plan = confine.plan(rt.platform, slot, rt.weak_ok)
        interp = rt.interpreter
        prefix = confine.bwrap_argv(self.plan.prefix[0], interp) if self.plan.prefix else []
        ours, theirs = socket.socketpair()
        source = Path(__file__).with_name
        command = [
            *prefix,
            interp.executable if prefix else interp.python,
            "-I",
            "-S",
            "-B",
            "-c",
            source("worker.py").read_text(encoding="utf-8"),
            str(theirs.fileno()),
            interp.numpy_parent,
            source("protocol.py").read_text(encoding="utf-8"),
            source("compare.py").read_text(encoding="utf-8"),
        ]
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        env |= {f"{lib}_NUM_THREADS": "1" for lib in ("OPENBLAS", "OMP", "MKL")}
        self.channel = ours
        self.runtime = rt
        self.namespaced = bool(prefix)
        self._ready = False
        try:
            self.process = _SPAWNER.submit(
                subprocess.Popen,
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,  # read only if the server fails to start
                cwd="/",
                env=env,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
                **confine.run_as(self.plan.uid),
            ).result()
        except OSError as error:
            self.process = None
            self.start_error = str(error)
        finally:
            theirs.close()
        _every_server.add(self)

    def ready(self) -> _Server:
        """Wait for the server's first message (once) and return the server that answered.

        Where bubblewrap is installed but cannot start a sandbox (a container that refuses
        user namespaces, say) and staff allowed weak isolation, the runtime is changed to use
        none, and a server without namespaces is returned instead; otherwise that is refused.
        """
        global _namespaces_worked
        if self._ready:
            return self
        try:
            if self.process is None:
                raise ServerGone(self.start_error)
            self._receive(timeout=60.0)
        except ServerGone as error:
            self.destroy()
            if self.process is None:
                reason = str(error)
            else:
                reason = " ".join(self.process.stderr.read(4000).decode(errors="replace").split())
            if not self.namespaced:
                raise SandboxUnavailable(
                    f"sandbox unavailable: the sandbox's Python did not start ({reason})"
                ) from None
            if _namespaces_worked:  # they did before: this is a failure, not the platform
                raise SandboxUnavailable(
                    f"sandbox unavailable: bubblewrap failed ({reason})"
                ) from None
            self.runtime = _refuse_namespaces(self.runtime, reason or "no reason given")
            if not self.runtime.weak_ok:
                why = f"bubblewrap could not start a sandbox ({reason or 'no reason given'})"
                raise SandboxUnavailable(confine.refusal(why, self.runtime.platform)) from None
            return _Server(self.runtime, self.slot).ready()
        self.process.stderr.close()
        self._ready = True
        if self.namespaced:
            _namespaces_worked = True
        return self

    def _receive(self, timeout: float) -> dict:
        try:
            self.channel.settimeout(timeout)
            reply = self.channel.recv(4096)
        except OSError as error:
            raise ServerGone(str(error)) from None
        if not reply:
            raise ServerGone("the fork server exited")
        try:
            answer = json.loads(reply)
        except ValueError:
            answer = None
        if not isinstance(answer, dict):
            raise ServerGone("the fork server sent an unreadable reply")
        return answer

    def _ask(self, request: dict, fds: tuple[int, ...] = (), timeout: float = 10.0) -> dict:
        try:
            socket.send_fds(self.channel, [json.dumps(request).encode()], list(fds))
        except OSError as error:
            raise ServerGone(str(error)) from None
        return self._receive(timeout)

    def spawn(self, job_read: int, events_write: int) -> int:
        pid = self._ask({"op": "spawn"}, (job_read, events_write)).get("pid")
        if type(pid) is not int or pid <= 1:
            raise ServerGone("the fork server sent no pid")
        return pid

    def wait(self, pid: int, timeout: float) -> int | None:
        status = self._ask({"op": "wait", "pid": pid, "timeout": timeout}, timeout=timeout + 30)
        code = status.get("status")
        return code if type(code) is int else None

    def kill(self, pid: int) -> None:
        self._ask({"op": "kill", "pid": pid})

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def destroy(self) -> None:
        """End the server and, with namespaces, every process in its sandbox."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except OSError:
                pass
        self.close()

    def close(self) -> None:
        self.channel.close()
        if self.process is not None:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        _every_server.discard(self)


_every_server: set[_Server] = set()
_namespaces_worked = False  # a sandbox with namespaces has started in this process


def _server() -> _Server:
    """This thread's fork server, started on first use (and again if it died)."""
    server = getattr(_local, "server", None)
    if server is not None and server.alive():
        return server
    while _prestarting:
        _prestarting.pop().join()
    with _runtime_lock:
        adopted = _prestarted.pop() if _prestarted and not hasattr(_local, "slot") else None
    if adopted is not None:
        _local.slot = adopted.slot
        server = adopted
    else:
        server = _Server(runtime(), _slot()).ready()
    _local.server = server
    return server


@atexit.register
def _stop_servers() -> None:
    """Close the control sockets, so that every fork server exits."""
    for server in list(_every_server):
        server.close()


def _forget_after_fork() -> None:
    """In a forked process (a grading process of `grade-all`): the fork servers, and the
    thread that starts them, are the parent's; start afresh, leaving the parent's running."""
    global _SPAWNER
    _SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="disc05-spawn")
    for server in list(_every_server):
        server.channel.close()  # this process's copy of the control socket only
    _every_server.clear()
    _prestarted.clear()
    _prestarting.clear()
    _local.__dict__.pop("server", None)


os.register_at_fork(after_in_child=_forget_after_fork)


def _refuse_namespaces(rt: Runtime, reason: str) -> Runtime:
    """Remember that bubblewrap cannot start here: every later server goes without it."""
    global _runtime
    refused = dataclasses.replace(rt.platform, refused=reason)
    with _runtime_lock:
        _runtime = dataclasses.replace(rt, platform=refused)
        return _runtime


def reset() -> None:
    """Forget the runtime and stop every fork server, so that the next grading looks at the
    platform afresh (after a change of `DISC05_PLATFORM`, say)."""
    global _runtime, _namespaces_worked
    while _prestarting:
        _prestarting.pop().join()
    _stop_servers()
    _namespaces_worked = False
    with _runtime_lock:
        _runtime = None
        _prestarted.clear()
    _local.__dict__.pop("server", None)


# --- one worker -------------------------------------------------------------------------------


class _Worker:
    """One forked worker and the reading end of its event pipe."""

    def __init__(self, job: bytes, max_events: int, max_bytes: int):
        job_read, job_write = os.pipe()
        events, events_write = os.pipe()
        try:
            try:
                self.server = _server()
                self.pid = self.server.spawn(job_read, events_write)
            except ServerGone:  # a previous submission took the server down: start another
                _local.server = None
                self.server = _server()
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
        self.reader = protocol.EventReader(events, max_events, max_bytes)
        try:
            with os.fdopen(job_write, "wb") as pipe:
                pipe.write(job)
        except BrokenPipeError:
            pass

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
            self.status = "an unknown end"
        elif code < 0:
            self.status = f"signal {_signal_name(-code)}"
        else:
            self.status = f"exit status {code}"
        os.close(self.reader.fd)
        return self.status


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # a real-time signal, say
        return str(number)


def _crash_message(how: str) -> str:
    if how == "signal SIGXCPU":
        return "used up the CPU time allowed for the whole submission"
    if how.startswith("signal"):
        return f"crashed the Python interpreter ({how})"
    return f"ended the Python process ({how})"


_UNCONVERTIBLE = {
    "none": "returned None (is a `return` statement missing?)",
    "bool": "returned a bool, not a number",
    "complex": "returned a {type} of complex numbers, not convertible to a float array",
    "other": "returned a {type} of values that is not convertible to a float array",
}


def _outcome(fields: dict, call: Call) -> Outcome:
    """The grader's conclusion from one validated ``result`` event."""
    kind = fields["kind"]
    if kind == "value":
        data, shape = fields["value"]
        import numpy as np

        value = np.frombuffer(data, dtype="<f8").reshape(shape).copy()
        after = fields["args"]
        sent = call.sent
        modified = len(after) != len(sent) or any(a != s for a, s in zip(after, sent, strict=True))
        return Outcome("ok", value=value, modified=modified)
    if kind == "not_defined":
        return Outcome("not_defined", "is not defined in the submission")
    if kind == "unconvertible":
        return Outcome("unconvertible", _UNCONVERTIBLE[fields["what"]].format(type=fields["type"]))
    place = f" ({'; '.join(fields['where'])})" if fields["where"] else ""
    text = f"{fields['type']}: {fields['message']}".rstrip(": ")
    status = "not_attempted" if fields["type"] == "NotImplementedError" else "error"
    return Outcome(status, f"{text}{place}", error_type=fields["type"])


# --- one submission ---------------------------------------------------------------------------


class _Session:
    """Grading one submission: workers run the cells, then the calls, until all are done.

    A worker that must be replaced charges what it was doing (`phase`, `current`) and the
    next worker resumes with what is left (`pending`), skipping the cells that failed.
    """

    def __init__(self, rt: Runtime, cells: list[str], calls: list[Call], limits: Limits):
        self.rt, self.cells, self.calls, self.limits = rt, cells, calls, limits
        self.report = Report(outcomes=[Outcome("skipped", "was not run") for _ in calls])
        self.pending = list(range(len(calls)))
        self.budget_end = time.monotonic() + limits.budget_seconds
        self.phase, self.current = "start", None
        self.landlock, self.seccomp = 0, False
        self.received = 0  # bytes from every worker so far: the cap is per submission

    def job(self) -> bytes:
        """The job, as JSON: each call is its cached `Call.wire_json` with its id added."""
        head = {
            "cells": self.cells,
            "skip": sorted(self.report.skipped_cells),
            "limits": {
                "memory_mb": self.limits.memory_mb,
                "cpu_seconds": int(self.limits.budget_seconds) + 2,
            },
            "landlock": self.rt.platform.landlock,  # the same whether namespaces are used or not
            "seccomp": _b64(self.rt.platform.seccomp),
            "readable": list(self.rt.interpreter.readable),
        }
        calls = ", ".join(f'{self.calls[i].wire_json}, "id": {i}}}' for i in self.pending)
        return f'{json.dumps(head)[:-1]}, "calls": [{calls}]}}'.encode()

    def run(self) -> Report:
        while True:
            done = self.run_worker()
            if done or not self.pending:
                break
            if time.monotonic() >= self.budget_end:
                for i in self.pending:
                    self.report.outcomes[i] = Outcome(
                        "stopped",
                        f"was not run: the submission used up its {self.limits.budget_seconds:g} s",
                    )
                break
        return self.report

    def deadline(self) -> tuple[float, float]:
        if self.phase == "start":  # no student code yet: the budget is not the worker's to use
            return 30.0, time.monotonic() + 30.0
        limit = self.limits.cell_seconds if self.phase == "cell" else self.limits.call_seconds
        return limit, min(time.monotonic() + limit, self.budget_end)

    def run_worker(self) -> bool:
        """Run one worker until done (True) or until it must be replaced (False)."""
        self.phase, self.current = "start", None
        max_events = 2 * len(self.cells) + len(self.pending) + 4
        worker = _Worker(self.job(), max_events, protocol.MAX_SUBMISSION_BYTES - self.received)
        self.report.confinement = worker.server.plan.describe(self.landlock, self.seccomp)
        try:
            while True:
                limit, deadline = self.deadline()
                try:
                    line = worker.reader.next_line(deadline)
                except TimeoutError:
                    return self.fail(f"did not finish within {limit:g} s", timeout=True)
                except protocol.ProtocolError as error:
                    return self.fail(str(error))
                if line is None:
                    return self.fail(_crash_message(worker.close()))
                event = protocol.parse_event(line, len(self.calls))
                if event is None:
                    return self.fail("sent a malformed message")
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
            self.report.uid, self.landlock = fields["uid"], fields["landlock"]
            self.seccomp = fields["seccomp"]
            self.report.confinement = worker.server.plan.describe(self.landlock, self.seccomp)
            self.phase = "ready"
        elif kind == "cell" and self.phase in ("ready", "cell") and self.next_cell(fields["index"]):
            self.phase, self.current = "cell", fields["index"]
        elif kind == "cell_error" and self.phase == "cell" and fields["index"] == self.current:
            error = f"{fields['type']}: {fields['message']}".rstrip(": ")
            self.report.cell_errors[self.current] = error
        elif kind == "calls" and self.phase in ("ready", "cell"):
            self.phase, self.current = "call", (self.pending[0] if self.pending else None)
        elif kind == "result" and self.phase == "call" and fields["id"] == self.current:
            self.report.outcomes[self.current] = _outcome(fields, self.calls[self.current])
            self.pending.remove(self.current)
            self.current = self.pending[0] if self.pending else None
        elif kind == "done" and self.phase == "call" and not self.pending:
            self.report.peak_kb = max(self.report.peak_kb, fields["peak_kb"])
            self.phase = "done"
            return False
        else:
            self.fail("sent an unexpected message")
            return False
        return True

    def next_cell(self, index: int) -> bool:
        """Whether `index` is a cell this worker may run next (in order, not skipped)."""
        after = -1 if self.phase == "ready" else self.current
        return after < index < len(self.cells) and index not in self.report.skipped_cells

    def fail(self, message: str, timeout: bool = False) -> bool:
        """Charge what the worker was doing, so that it is not run again; return False."""
        if self.phase == "start":
            raise SandboxUnavailable(f"sandbox unavailable: the worker {message} while starting")
        if self.phase == "cell" and self.current is not None:
            self.report.skipped_cells[self.current] = message
        elif self.phase == "call" and self.current is not None:
            function = self.calls[self.current].function
            status = "timeout" if timeout else "crashed"
            self.report.outcomes[self.current] = Outcome(status, message)
            self.pending.remove(self.current)
            for i in [i for i in self.pending if self.calls[i].function == function]:
                why = "was not run: an earlier case " + message
                self.report.outcomes[i] = Outcome("skipped", why)
                self.pending.remove(i)
        elif self.phase in ("ready", "done"):  # between cells, or after the last call
            for i in self.pending:
                self.report.outcomes[i] = Outcome("stopped", "was not run: the sandbox " + message)
            self.pending.clear()
        return False


def _b64(data: bytes | None) -> str | None:
    return None if data is None else base64.b64encode(data).decode("ascii")


def run(cells: list[str], calls: list[Call], limits: Limits = LIMITS) -> Report:
    """Run `cells` in order, then every call, in the sandbox; never raises for student faults.

    Raises
    ------
    SandboxUnavailable
        When the sandbox itself cannot be had (never because of what the submission does).
    """
    return _Session(runtime(), cells, calls, limits).run()
