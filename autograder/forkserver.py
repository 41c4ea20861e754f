"""The grader's side of the fork servers: one per grading slot, each in a sandbox of its own.

Each grading thread (a *slot*) has a fork server (`autograder.worker`) inside its own sandbox
(`autograder.confine`: bubblewrap namespaces, a uid of its own when root, Landlock, resource
limits): numpy is imported there once, and one child is forked per submission. This module
starts the servers (the first one early, by `prestart`, while the grader imports), asks them
over a Unix socket to spawn, wait for and kill workers, replaces one that dies, and stops them
all when the grader exits. What a worker says is read elsewhere (`autograder.sandbox`).
"""

from __future__ import annotations

import atexit
import functools
import itertools
import json
import os
import signal
import socket
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import confine, runtime
from .confine import SandboxUnavailable
from .runtime import Runtime


class ServerGone(Exception):
    """The fork server stopped answering; it is replaced and the current work retried."""


_slots = itertools.count()
_local = threading.local()
_lock = threading.Lock()
_prestarted: list[Server] = []  # at most one, started by `prestart`
_prestarting: list[threading.Thread] = []


def _slot() -> int:
    """This thread's grading slot: its own sandbox, and its own uid when root."""
    if not hasattr(_local, "slot"):
        _local.slot = next(_slots)
    return _local.slot


# Every fork server is started from this one thread, which lives as long as the grader:
# bubblewrap's --die-with-parent follows the thread that started it, not the process.
_SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="disc05-spawn")


@functools.cache
def _check_secrets(python: str, uid: int | None) -> None:
    """`confine.check_unreadable` on the grader and the answer key, once per uid that passes."""
    confine.check_unreadable(python, uid, confine.secrets())


class Server:
    """A fork server in a slot's sandbox: numpy loaded once, one forked child per worker."""

    def __init__(self, rt: Runtime, slot: int):
        self.slot = slot
        self.plan = confine.plan(rt.platform, slot, rt.weak_ok)
        interp = rt.interpreter
        prefix = confine.bwrap_argv(self.plan.prefix[0], interp) if self.plan.prefix else []
        if not prefix and not self.plan.landlock:  # weak isolation: permissions alone
            _check_secrets(interp.python, self.plan.uid)
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

    def ready(self) -> Server:
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
            self.runtime = runtime.refuse_namespaces(self.runtime, reason or "no reason given")
            if not self.runtime.weak_ok:
                why = f"bubblewrap could not start a sandbox ({reason or 'no reason given'})"
                raise SandboxUnavailable(confine.refusal(why, self.runtime.platform)) from None
            return Server(self.runtime, self.slot).ready()
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
        """Fork a worker that reads its job from `job_read` and reports on `events_write`."""
        pid = self._ask({"op": "spawn"}, (job_read, events_write)).get("pid")
        if type(pid) is not int or pid <= 1:
            raise ServerGone("the fork server sent no pid")
        return pid

    def wait(self, pid: int, timeout: float) -> int | None:
        """The worker's exit status (negative: the signal that ended it), or None if it is
        still running after `timeout` seconds."""
        status = self._ask({"op": "wait", "pid": pid, "timeout": timeout}, timeout=timeout + 30)
        code = status.get("status")
        return code if type(code) is int else None

    def kill(self, pid: int) -> None:
        """End the worker and every process it started."""
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


_every_server: set[Server] = set()
_namespaces_worked = False  # a sandbox with namespaces has started in this process


def prestart() -> None:
    """Find the runtime and start a fork server now, on another core, while the grader imports;
    the first slot to need a server takes this one."""

    def start() -> None:
        try:
            server = Server(runtime.get(), next(_slots)).ready()
        except (SandboxUnavailable, ServerGone):
            return  # the same failure is met, and reported, when grading starts
        _prestarted.append(server)

    thread = threading.Thread(target=start, daemon=True)
    _prestarting.append(thread)
    thread.start()


def server() -> Server:
    """This thread's fork server, started on first use (and again if it died)."""
    current = getattr(_local, "server", None)
    if current is not None and current.alive():
        return current
    while _prestarting:
        _prestarting.pop().join()
    with _lock:
        adopted = _prestarted.pop() if _prestarted and not hasattr(_local, "slot") else None
    if adopted is not None:
        _local.slot = adopted.slot
        current = adopted
    else:
        current = Server(runtime.get(), _slot()).ready()
    _local.server = current
    return current


def replace() -> Server:
    """A new fork server for this thread, the last one having gone (a submission took it down,
    say). The old one is ended first: one that was stopped, not killed, still counts as alive,
    and would outlive the grader without namespaces to take it down."""
    old = getattr(_local, "server", None)
    if old is not None:
        old.destroy()
    _local.server = None
    return server()


def stop_all() -> None:
    """End every fork server of this process now, and whatever each left running (for a
    grading process of `grade-all`, which exits without running `atexit` handlers)."""
    for each in list(_every_server):
        each.destroy()


@atexit.register
def _stop_servers() -> None:
    """Close the control sockets, so that every fork server exits."""
    for each in list(_every_server):
        each.close()


def _forget_after_fork() -> None:
    """In a forked process (a grading process of `grade-all`): the fork servers, and the
    thread that starts them, are the parent's; start afresh, leaving the parent's running."""
    global _SPAWNER
    _SPAWNER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="disc05-spawn")
    for each in list(_every_server):
        each.channel.close()  # this process's copy of the control socket only
    _every_server.clear()
    _prestarted.clear()
    _prestarting.clear()
    _local.__dict__.pop("server", None)


os.register_at_fork(after_in_child=_forget_after_fork)


def reset() -> None:
    """Forget the runtime and stop every fork server, so that the next grading looks at the
    platform afresh (after a change of `DISC05_PLATFORM`, say)."""
    global _namespaces_worked
    while _prestarting:
        _prestarting.pop().join()
    _stop_servers()
    _namespaces_worked = False
    runtime.forget()
    with _lock:
        _prestarted.clear()
    _local.__dict__.pop("server", None)
