"""Run student code in a separate, confined process and get plain values back.

The grading process never executes student code. It starts a fresh interpreter
(`worker.py`) for each submission, as the unprivileged user ``nobody`` when it runs as root,
in an empty scratch folder, with memory, CPU, file-size and process limits, and Landlock
file-system confinement where the kernel supports it. Each cell and each call has a
deadline; a worker that hangs, exits or crashes is killed and replaced, the cell or
function that caused it is recorded, and grading goes on with the rest. Everything that
comes back is parsed as untrusted data.
"""

from __future__ import annotations

import atexit
import base64
import functools
import json
import math
import os
import pwd
import re
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .install import SANDBOX_HOME
from .spec import LIMITS, Limits

if TYPE_CHECKING:
    import numpy as np

SANDBOX_USER = "nobody"
_MAX_LINE = 64 << 20  # bytes of one protocol line (a 64x64 float64 result is ~44 kB)
_MAX_ELEMENTS = 1 << 22


class SandboxUnavailable(Exception):
    """No interpreter that the sandbox user can run with numpy; the message says what to do."""


@dataclass(frozen=True)
class Runtime:
    """The interpreter student code runs in, and what a worker may read."""

    python: str
    user: str | None  # switched to when the grader runs as root
    readable: tuple[str, ...]  # the standard library, numpy, system libraries


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


@dataclass
class Outcome:
    """What one call produced.

    `status` is ``ok`` (then `value`, and `modified` if an argument was changed in place),
    ``not_defined``, ``not_attempted``, ``error``, ``unconvertible``, ``timeout``,
    ``crashed`` or ``skipped``; `message` explains any status but ``ok``.
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
    landlock: int = 0
    peak_kb: int = 0


@functools.cache
def _worker_source() -> str:
    return Path(__file__).with_name("worker.py").read_text(encoding="utf-8")


@functools.cache
def _compare_source() -> str:
    return Path(__file__).with_name("compare.py").read_text(encoding="utf-8")


def _run_as(user: str | None) -> dict:
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _sandbox_user() -> str | None:
    return SANDBOX_USER if os.geteuid() == 0 else None


def _candidates() -> list[str]:
    chosen = os.environ.get("DISC05_SANDBOX_PYTHON")
    return [chosen] if chosen else [sys.executable, str(SANDBOX_HOME / "bin" / "python")]


_runtime_lock = threading.Lock()
_runtime: Runtime | None = None
_prestarted: list = []


def prestart() -> None:
    """Start the first candidate's fork server now and let it boot while the grader imports."""
    with _runtime_lock:
        if _runtime is None and not _prestarted:
            try:
                _prestarted.append(_Server(_candidates()[0], _sandbox_user()))
            except ServerGone:
                pass


def runtime() -> Runtime:
    """The sandbox interpreter: $DISC05_SANDBOX_PYTHON, else this one, else the installed one.

    A candidate qualifies when the sandbox user can start a fork server with it (which also
    tells what the workers may read); that first server is kept for this thread.

    Raises
    ------
    SandboxUnavailable
        When no candidate works (as root: none that ``nobody`` can run with numpy).
    """
    global _runtime
    with _runtime_lock:
        if _runtime is not None:
            return _runtime
        user = _sandbox_user()
        for python in _candidates():
            try:
                started = [s for s in _prestarted if s.python == python]
                server = started[0] if started else _Server(python, user)
                _runtime = server.runtime
            except ServerGone:
                continue
            finally:
                _prestarted.clear()
            _servers.server = server
            return _runtime
    raise SandboxUnavailable(
        f"no Python with numpy that the user {user or 'running the grader'!r} can run: create "
        "one with `python -m autograder install-sandbox`, or set DISC05_SANDBOX_PYTHON"
    )


def encode_arg(value: object) -> dict:
    """Arguments travel as base64 float64 (arrays), JSON lists or JSON floats."""
    import numpy as np

    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value, dtype="<f8")
        return {"array": base64.b64encode(data.tobytes()).decode(), "shape": list(value.shape)}
    if isinstance(value, list):
        return {"list": value}
    return {"float": float(value)}


def decode_array(value: object) -> np.ndarray | None:
    """A float64 array from the worker, or None if the message is not a well-formed one."""
    import numpy as np

    if not isinstance(value, dict) or not isinstance(value.get("array"), str):
        return None
    shape = value.get("shape")
    if not isinstance(shape, list) or len(shape) > 8:
        return None
    if not all(isinstance(n, int) and 0 <= n <= _MAX_ELEMENTS for n in shape):
        return None
    try:
        data = base64.b64decode(value["array"], validate=True)
    except ValueError:
        return None
    if len(data) != 8 * math.prod(shape):
        return None
    return np.frombuffer(data, dtype="<f8").reshape(shape).copy()


class ServerGone(Exception):
    """The fork server stopped answering; it is replaced and the current work retried."""


class _Server:
    """A fork server in the sandbox: numpy loaded once, one forked child per worker."""

    def __init__(self, python: str, user: str | None):
        ours, theirs = socket.socketpair()
        env = {
            "PATH": "/usr/bin:/bin",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "LANG": "C.UTF-8",
        }
        try:
            self.process = subprocess.Popen(
                [python, "-I", "-B", "-c", _worker_source(), str(theirs.fileno())],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd="/",
                env=env,
                pass_fds=(theirs.fileno(),),
                start_new_session=True,
                **_run_as(user),
            )
        except OSError as error:
            raise ServerGone(str(error)) from None
        finally:
            theirs.close()
        self.channel = ours
        self.python, self.user = python, user
        self._runtime: Runtime | None = None
        _every_server.add(self)

    @property
    def runtime(self) -> Runtime:
        """What the server reported once started (it is waited for on first use)."""
        if self._runtime is None:
            hello = self._receive(timeout=60.0)
            system = (
                "/usr/lib",
                "/usr/lib64",
                "/lib",
                "/lib64",
                "/etc/ld.so.cache",
                "/dev/urandom",
            )
            self._runtime = Runtime(
                self.python, self.user, (*hello["path"], *hello["numpy"], *system)
            )
        return self._runtime

    def _receive(self, timeout: float) -> dict:
        try:
            self.channel.settimeout(timeout)
            reply = self.channel.recv(1 << 16)
        except OSError as error:
            raise ServerGone(str(error)) from None
        if not reply:
            self.process.wait()
            raise ServerGone("the fork server exited")
        return json.loads(reply)

    def _ask(self, request: dict, fds: tuple[int, ...] = (), timeout: float = 30.0) -> dict:
        self.runtime  # noqa: B018 - the server's first message is its hello: read it first
        try:
            socket.send_fds(self.channel, [json.dumps(request).encode()], list(fds))
        except OSError as error:
            raise ServerGone(str(error)) from None
        return self._receive(timeout)

    def spawn(self, job_read: int, events_write: int) -> int:
        return int(self._ask({"op": "spawn"}, (job_read, events_write))["pid"])

    def wait(self, pid: int, timeout: float) -> int | None:
        reply = self._ask({"op": "wait", "pid": pid, "timeout": timeout}, timeout=timeout + 30)
        return reply["status"]

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self.channel.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


_servers = threading.local()
_every_server: set = set()


def _server(rt: Runtime) -> _Server:
    """This thread's fork server, started on first use (and again if it died)."""
    server = getattr(_servers, "server", None)
    if server is None or not server.alive():
        server = _servers.server = _Server(rt.python, rt.user)
    return server


@atexit.register
def _stop_servers() -> None:
    """Close the control sockets, so that every fork server exits."""
    for thread_server in list(_every_server):
        thread_server.close()


class _Worker:
    """One forked worker and the reading end of its event pipe."""

    def __init__(self, rt: Runtime, job: dict):
        job_read, job_write = os.pipe()
        self.events, events_write = os.pipe()
        try:
            try:
                self.server = _server(rt)
                self.pid = self.server.spawn(job_read, events_write)
            except ServerGone:  # a previous submission took the server down: start another
                _servers.server = None
                self.server = _server(rt)
                self.pid = self.server.spawn(job_read, events_write)
        finally:
            os.close(job_read)
            os.close(events_write)
        self.status: str | None = None
        data = json.dumps(job).encode()
        try:
            with os.fdopen(job_write, "wb") as pipe:
                pipe.write(data)
        except BrokenPipeError:
            pass
        self.buffer = b""
        self.closed = False

    def next_event(self, deadline: float) -> dict | None:
        """The next event, or None at end of stream; raises TimeoutError past `deadline`."""
        while b"\n" not in self.buffer:
            if self.closed:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError
            ready, _, _ = select.select([self.events], [], [], remaining)
            if not ready:
                raise TimeoutError
            chunk = os.read(self.events, 1 << 20)
            if not chunk:
                self.closed = True
                continue
            self.buffer += chunk
            if len(self.buffer) > _MAX_LINE and b"\n" not in self.buffer:
                raise ValueError("a message from the sandbox was too large")
        line, self.buffer = self.buffer.split(b"\n", 1)
        event = json.loads(line)
        if not isinstance(event, dict):
            raise ValueError("malformed message from the sandbox")
        return event

    def close(self) -> str:
        """End the worker (idempotent) and describe how it ended.

        A worker that closed its end of the pipe is given a moment to exit on its own, so that
        an exit or a crash is reported as such; then its whole session is killed.
        """
        if self.status is None:
            try:
                code = self.server.wait(self.pid, 1.0) if self.closed else None
            except ServerGone:
                code = None
            if code is None:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                try:
                    code = self.server.wait(self.pid, 10.0)
                except ServerGone:  # the server died (killed by this worker?): it cannot tell
                    code = None
            os.close(self.events)
            if code is None:
                self.status = "an unknown end"
            elif code < 0:
                self.status = f"signal {signal.Signals(-code).name}"
            else:
                self.status = f"exit status {code}"
        return self.status


def _crash_message(how: str) -> str:
    if how == "signal SIGXCPU":
        return "used up the CPU time allowed for the whole submission"
    if how.startswith("signal"):
        return f"crashed the Python interpreter ({how})"
    return f"ended the Python process ({how})"


_FLOAT = re.compile(r"\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+|\.\d+")


def redact(message: str) -> str:
    """Hide decimal numbers in a student's exception message: they could be hidden inputs."""
    return _FLOAT.sub("…", message)


def _outcome(event: dict) -> Outcome:
    status = event.get("status")
    if status == "ok":
        value = decode_array(event.get("value"))
        if value is None:
            return Outcome("error", "returned a value the grader could not read")
        return Outcome("ok", value=value, modified=event.get("modified") is not False)
    if status == "not_defined":
        return Outcome(status, "is not defined in the submission")
    if status in ("not_attempted", "error"):
        where = event.get("where") or []
        place = f" ({'; '.join(str(w) for w in where)})" if where else ""
        text = f"{event.get('type', 'Exception')}: {redact(str(event.get('message', '')))}"
        text = text.rstrip(": ")
        return Outcome(status, f"{text}{place}", error_type=str(event.get("type", "")))
    if status == "unconvertible":
        return Outcome(status, str(event.get("message", "returned something that is not a number")))
    return Outcome("error", "sent an unreadable result")


def run(cells: list[str], calls: list[Call], limits: Limits = LIMITS) -> Report:
    """Run `cells` in order, then every call, in the sandbox; never raises for student faults."""
    rt = runtime()
    report = Report(outcomes=[Outcome("skipped", "was not run") for _ in calls])
    pending = list(range(len(calls)))
    budget_end = time.monotonic() + limits.budget_seconds
    with tempfile.TemporaryDirectory(prefix="disc05-sandbox-") as folder:
        scratch = Path(folder)
        if rt.user is not None:
            entry = pwd.getpwnam(rt.user)
            os.chown(scratch, entry.pw_uid, entry.pw_gid)
        scratch.chmod(0o700)
        while True:
            job = {
                "compare": _compare_source(),
                "cells": cells,
                "skip": sorted(report.skipped_cells),
                "calls": [{"id": i, **calls[i].wire} for i in pending],
                "limits": {
                    "memory_mb": limits.memory_mb,
                    "file_mb": limits.file_mb,
                    "cpu_seconds": int(limits.budget_seconds) + 2,
                },
                "landlock": True,
                "readable": list(rt.readable),
                "writable": [str(scratch), "/dev/null"],
            }
            if _run_worker(rt, job, calls, pending, report, limits, budget_end) or not pending:
                break
            if time.monotonic() >= budget_end:
                for i in pending:
                    report.outcomes[i] = Outcome(
                        "skipped",
                        f"was not run: the submission used up its {limits.budget_seconds:g} s",
                    )
                break
    return report


def _run_worker(rt, job, calls, pending, report, limits, budget_end) -> bool:
    """Run one worker until done (True) or until it must be replaced (False)."""
    worker = _Worker(rt, job)
    phase, current = "start", None
    try:
        while True:
            limit = (
                30.0
                if phase == "start"
                else limits.cell_seconds
                if phase == "cell"
                else limits.call_seconds
            )
            deadline = min(time.monotonic() + limit, budget_end)
            try:
                event = worker.next_event(deadline)
            except TimeoutError:
                _fail_current(
                    phase,
                    current,
                    calls,
                    pending,
                    report,
                    f"did not finish within {limit:g} s",
                    timeout=True,
                )
                return False
            except (ValueError, UnicodeDecodeError):
                _fail_current(phase, current, calls, pending, report, "sent a malformed message")
                return False
            if event is None:
                how = worker.close()
                if phase == "start":
                    raise SandboxUnavailable(f"the sandbox worker failed to start ({how})")
                _fail_current(phase, current, calls, pending, report, _crash_message(how))
                return False
            kind = event.get("event")
            if kind == "fatal":
                raise SandboxUnavailable(
                    f"the sandbox worker failed to start:\n{event.get('message')}"
                )
            if kind == "ready":
                report.uid, report.landlock = event.get("uid"), int(event.get("landlock") or 0)
            elif kind == "cell" and isinstance(event.get("index"), int):
                phase, current = "cell", event["index"]
            elif kind == "cell_error" and event.get("index") == current:
                report.cell_errors[current] = (
                    f"{event.get('type')}: {redact(str(event.get('message')))}"
                )
            elif kind == "calls":
                phase, current = "call", (pending[0] if pending else None)
            elif kind == "result" and phase == "call" and event.get("id") == current:
                report.outcomes[current] = _outcome(event)
                pending.remove(current)
                current = pending[0] if pending else None
            elif kind == "done":
                peak = event.get("peak_kb")
                if isinstance(peak, int):
                    report.peak_kb = max(report.peak_kb, peak)
                for i in list(pending):  # announced but never called: protocol broken
                    report.outcomes[i] = Outcome(
                        "skipped", "was not run: the sandbox stopped early"
                    )
                pending.clear()
                return True
            else:
                _fail_current(phase, current, calls, pending, report, "sent an unexpected message")
                return False
    finally:
        worker.close()


def _fail_current(phase, current, calls, pending, report, message, timeout=False):
    """Record why the worker must be replaced, and what will not be run again."""
    if phase == "cell" and current is not None:
        report.skipped_cells[current] = message
    elif phase == "call" and current is not None:
        function = calls[current].function
        report.outcomes[current] = Outcome("timeout" if timeout else "crashed", message)
        if current in pending:
            pending.remove(current)
        for i in [i for i in pending if calls[i].function == function]:
            report.outcomes[i] = Outcome("skipped", "was not run: an earlier case " + message)
            pending.remove(i)
    elif phase == "start":
        raise SandboxUnavailable(f"the sandbox worker {message} while starting")
