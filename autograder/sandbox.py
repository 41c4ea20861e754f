"""Run student code in a separate, confined process and get plain values back.

The grading process never executes student code. It starts a fresh interpreter
(`worker.py`) for each submission, as the unprivileged user ``nobody`` when it runs as root,
in an empty scratch folder, with memory, CPU, file-size and process limits, and Landlock
file-system confinement where the kernel supports it. Each cell and each call has a
deadline; a worker that hangs, exits or crashes is killed and replaced, the cell or
function that caused it is recorded, and grading goes on with the rest. Everything that
comes back is parsed as untrusted data.
"""

import atexit
import base64
import functools
import inspect
import json
import os
import pwd
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import compare
from .spec import LIMITS, Limits

SANDBOX_USER = "nobody"
SANDBOX_HOME = Path("/opt/disc05-sandbox")
_MAX_LINE = 64 << 20  # bytes of one protocol line (a 64x64 float64 result is ~44 kB)
_MAX_ELEMENTS = 1 << 22


class SandboxUnavailable(Exception):
    """No interpreter that the sandbox user can run with numpy; the message says what to do."""


@dataclass(frozen=True)
class Runtime:
    """The interpreter student code runs in, and what the worker may read."""

    python: str
    user: str | None  # switched to when the grader runs as root
    path: tuple[str, ...]  # the worker's sys.path: the standard library only
    numpy_dirs: tuple[str, ...]  # numpy and its bundled libraries, linked into the scratch folder
    readable: tuple[str, ...]


@dataclass
class Call:
    """One call of a student function: name, arguments, and whether numpy warnings are errors."""

    function: str
    args: tuple
    strict: bool = False


@dataclass
class Outcome:
    """What one call produced.

    `status` is ``ok`` (then `value` and `after`, the arguments after the call, are set),
    ``not_defined``, ``not_attempted``, ``error``, ``unconvertible``, ``timeout``,
    ``crashed`` or ``skipped``; `message` explains any status but ``ok``.
    """

    status: str
    message: str = ""
    value: np.ndarray | None = None
    after: list[np.ndarray | None] | None = None
    error_type: str | None = None


@dataclass
class Report:
    """Outcomes of all calls, in order, and notes about the cells."""

    outcomes: list[Outcome]
    cell_errors: dict[int, str] = field(default_factory=dict)
    skipped_cells: dict[int, str] = field(default_factory=dict)
    uid: int | None = None
    landlock: int = 0


@functools.cache
def _worker_source() -> str:
    return Path(__file__).with_name("worker.py").read_text(encoding="utf-8")


@functools.cache
def _compare_source() -> str:
    return inspect.getsource(compare)


def _run_as(user: str | None) -> dict:
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


_PROBE = (
    "import json, os, sys, sysconfig\n"
    "stdlib = list(sys.path)\n"  # run with -S: the standard library only
    "import site\n"
    "site.main()\n"
    "import numpy\n"
    "paths = sysconfig.get_paths()\n"
    "print(json.dumps({'path': stdlib, 'numpy': os.path.dirname(numpy.__file__),"
    " 'stdlib': sorted({paths['stdlib'], paths['platstdlib']})}))"
)


def _probe(python: str, user: str | None) -> dict | None:
    """What `python` looks like when the sandbox user runs it, or None if it cannot."""
    try:
        done = subprocess.run(
            [python, "-I", "-S", "-c", _PROBE],
            capture_output=True,
            text=True,
            timeout=60,
            cwd="/",
            env={"PATH": "/usr/bin:/bin"},
            **_run_as(user),
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return json.loads(done.stdout)


@functools.cache
def runtime() -> Runtime:
    """Find the sandbox interpreter: $DISC05_SANDBOX_PYTHON, this one, or the installed one.

    Raises
    ------
    SandboxUnavailable
        When running as root and no candidate is runnable by the sandbox user with numpy.
    """
    user = SANDBOX_USER if os.geteuid() == 0 else None
    candidates = [os.environ.get("DISC05_SANDBOX_PYTHON"), sys.executable]
    candidates.append(str(SANDBOX_HOME / "bin" / "python"))
    for python in filter(None, candidates):
        info = _probe(python, user)
        if info is None:
            continue
        numpy_dir = info["numpy"]
        libs = Path(numpy_dir).parent / "numpy.libs"
        numpy_dirs = (numpy_dir, *([str(libs)] if libs.is_dir() else []))
        system = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/etc/ld.so.cache", "/dev/urandom")
        return Runtime(
            python=python,
            user=user,
            path=tuple(info["path"]),
            numpy_dirs=numpy_dirs,
            readable=(*info["path"], *info["stdlib"], *numpy_dirs, *system),
        )
    raise SandboxUnavailable(
        f"no Python with numpy that the user {user!r} can run: create one with "
        "`python -m autograder install-sandbox`, or set DISC05_SANDBOX_PYTHON"
    )


def install(home: Path = SANDBOX_HOME) -> str:
    """Create the sandbox interpreter (a venv with numpy) where the sandbox user can run it.

    Only needed when grading as root with an interpreter that user cannot run (one under
    /root, say). Returns a one-line description of what was done.
    """
    user = SANDBOX_USER if os.geteuid() == 0 else None
    if user is None or _probe(sys.executable, user) is not None:
        return f"not needed: student code will run under {sys.executable}"
    bases = [p for p in ("/usr/bin/python3", "/usr/local/bin/python3") if Path(p).exists()]
    base = next((p for p in bases if _probe_version(p, user)), None)
    if base is None:
        raise SandboxUnavailable(
            f"no Python 3.10+ that {user!r} can run in /usr/bin, /usr/local/bin"
        )
    subprocess.run([base, "-m", "venv", "--clear", str(home)], check=True)
    pin = f"numpy=={np.__version__}"
    subprocess.run([str(home / "bin" / "pip"), "install", "--quiet", pin], check=True)
    home.chmod(0o755)
    if _probe(str(home / "bin" / "python"), user) is None:
        raise SandboxUnavailable(f"{home} was created but {user!r} cannot run it")
    runtime.cache_clear()
    return f"created {home} ({pin}) from {base}"


def _probe_version(python: str, user: str) -> bool:
    code = "import sys, venv; sys.exit(sys.version_info < (3, 10))"
    try:
        return subprocess.run([python, "-I", "-c", code], cwd="/", **_run_as(user)).returncode == 0
    except OSError:
        return False


def encode_arg(value: object) -> dict:
    """Arguments travel as base64 float64 (arrays), JSON lists or JSON floats."""
    if isinstance(value, np.ndarray):
        data = np.ascontiguousarray(value, dtype="<f8")
        return {"array": base64.b64encode(data.tobytes()).decode(), "shape": list(value.shape)}
    if isinstance(value, list):
        return {"list": value}
    return {"float": float(value)}


def decode_array(value: object) -> np.ndarray | None:
    """A float64 array from the worker, or None if the message is not a well-formed one."""
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
    if len(data) != 8 * int(np.prod(shape, dtype=np.int64)):
        return None
    return np.frombuffer(data, dtype="<f8").reshape(shape).copy()


class ServerGone(Exception):
    """The fork server stopped answering; it is replaced and the current work retried."""


class _Server:
    """A fork server in the sandbox: numpy loaded once, one forked child per worker."""

    def __init__(self, rt: Runtime):
        # numpy is reached through links in a folder of its own, so that nothing else of the
        # site-packages it lives in (this repository, if installed there) is on the path.
        self.site = Path(tempfile.mkdtemp(prefix="disc05-site-"))
        self.site.chmod(0o755)
        for directory in rt.numpy_dirs:
            (self.site / Path(directory).name).symlink_to(directory)
        ours, theirs = socket.socketpair()
        env = {
            "PATH": "/usr/bin:/bin",
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "LANG": "C.UTF-8",
        }
        self.process = subprocess.Popen(
            [
                rt.python,
                "-I",
                "-S",
                "-B",
                "-c",
                _worker_source(),
                str(theirs.fileno()),
                json.dumps([*rt.path, str(self.site)]),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            env=env,
            pass_fds=(theirs.fileno(),),
            start_new_session=True,
            **_run_as(rt.user),
        )
        theirs.close()
        self.channel = ours

    def _ask(self, request: dict, fds: tuple[int, ...] = (), timeout: float = 30.0) -> dict:
        try:
            self.channel.settimeout(timeout)
            socket.send_fds(self.channel, [json.dumps(request).encode()], list(fds))
            reply = self.channel.recv(4096)
        except OSError as error:
            raise ServerGone(str(error)) from None
        if not reply:
            raise ServerGone("the fork server exited")
        return json.loads(reply)

    def spawn(self, job_read: int, events_write: int) -> int:
        return int(self._ask({"op": "spawn"}, (job_read, events_write))["pid"])

    def wait(self, pid: int, timeout: float) -> int | None:
        return self._ask({"op": "wait", "pid": pid, "timeout": timeout}, timeout=timeout + 30)[
            "status"
        ]

    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        self.channel.close()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.site, ignore_errors=True)


_servers = threading.local()


def _server(rt: Runtime) -> _Server:
    """This thread's fork server, started on first use (and again if it died)."""
    server = getattr(_servers, "server", None)
    if server is None or not server.alive():
        server = _servers.server = _Server(rt)
        atexit.register(server.close)
    return server


class _Worker:
    """One forked worker and the reading end of its event pipe."""

    def __init__(self, rt: Runtime, job: dict):
        job_read, job_write = os.pipe()
        self.events, events_write = os.pipe()
        self.server = _server(rt)
        try:
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
            code = self.server.wait(self.pid, 1.0) if self.closed else None
            if code is None:
                try:
                    os.killpg(self.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                code = self.server.wait(self.pid, 10.0)
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
        after = event.get("after")
        if value is None or not isinstance(after, list):
            return Outcome("error", "returned a value the grader could not read")
        return Outcome("ok", value=value, after=[decode_array(a) for a in after])
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
                "calls": [
                    {
                        "id": i,
                        "function": calls[i].function,
                        "strict": calls[i].strict,
                        "args": [encode_arg(a) for a in calls[i].args],
                    }
                    for i in pending
                ],
                "limits": {
                    "memory_mb": limits.memory_mb,
                    "file_mb": limits.file_mb,
                    "cpu_seconds": int(limits.budget_seconds) + 2,
                },
                "landlock": True,
                "readable": list(rt.readable),
                "writable": [str(scratch), "/dev/null"],
            }
            if _run_worker(rt, job, scratch, calls, pending, report, limits, budget_end):
                break
            if time.monotonic() >= budget_end:
                for i in pending:
                    report.outcomes[i] = Outcome(
                        "skipped",
                        f"was not run: the submission used up its {limits.budget_seconds:g} s",
                    )
                break
    return report


def _run_worker(rt, job, scratch, calls, pending, report, limits, budget_end) -> bool:
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
            elif kind == "call" and event.get("id") in pending:
                phase, current = "call", event["id"]
            elif kind == "result" and phase == "call" and event.get("id") == current:
                report.outcomes[current] = _outcome(event)
                pending.remove(current)
                phase = "between"
            elif kind == "done":
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
