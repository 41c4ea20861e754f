"""grade-all's grading processes: started fresh, watched, and never outliving the batch.

Where it is decided, and why: the grading processes are *spawned* (a fresh interpreter),
never forked. The batch's own process runs threads (the one that starts every fork server,
the one that boots the first sandbox while the grader imports, numpy's), and a fork copies
each lock as it is at that instant: a lock another thread held is held for ever in the child,
whose own threads then wait on it for ever. Spawning copies no lock, so no interleaving of
threads can deadlock a grading process. What a process needs is passed to it explicitly
(`Worker`'s ``setup``), pickled.

What it costs: each grading process imports the grader afresh, about 0.4 s of one core, once
per batch (`python -m autograder bench` measures the batch against its targets).

Nothing outlives the batch: a grading process asks the kernel to kill it when the batch's
process dies (``PR_SET_PDEATHSIG``), however that dies, SIGKILL included; its fork servers
follow it (bubblewrap's ``--die-with-parent``, or the servers' own death signal without
namespaces), and their workers follow them. A process that makes no progress for longer than
the batch allows is killed (after writing its threads' stacks to stderr) and replaced.
"""

from __future__ import annotations

import ctypes
import faulthandler
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
PROGRESS = "progress"  # a grading process says it is working: its clock starts again
DONE = "done"


def die_with(parent: int) -> None:
    """Have the kernel SIGKILL this process when `parent` (the one that started it) dies;
    if it died already, exit now."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # it died before the death signal was asked for
        os._exit(0)


def adopt_orphans(on: bool = True) -> None:
    """Have the processes orphaned below this one reparented to it, not to init (a child
    subreaper), so that `end_orphans` can end them: a grading process that is killed may leave
    one (a sandbox's process stopped between fork and exec by another submission's code, on a
    platform where slots share a uid, has no death signal yet)."""
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_CHILD_SUBREAPER, int(on), 0, 0, 0)


def children() -> set[int]:
    """The pids of this process's children (from /proc: the parent of each process)."""
    me, found = os.getpid(), set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == me:
            found.add(int(entry))
    return found


def end_orphans(known: set[int]) -> None:
    """SIGKILL and reap every child of this process but `known` ones: orphans it adopted."""
    for pid in children() - known:
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (OSError, ChildProcessError):
            pass


def _serve(
    conn: multiprocessing.connection.Connection,
    parent: int,
    setup: Callable[..., None],
    setup_args: tuple,
    work: Callable[[Any, Callable[[], None]], Any],
) -> None:
    """A grading process: set up, then do one item at a time until told to stop."""
    die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the batch's process to decide
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # the stacks, when it is stuck
    setup(*setup_args)

    def progress() -> None:
        conn.send((PROGRESS, None))

    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        conn.send((DONE, work(item, progress)))


class Gone(Exception):
    """The grading process ended without answering (it died, or was killed)."""


class Worker:
    """One spawned grading process, handed one item at a time over a pipe.

    Parameters
    ----------
    setup : callable
        Run once in the new process with `setup_args` (which are pickled).
    work : callable
        ``work(item, progress)``: run in the process for each item; its return value (pickled)
        is the answer. It may call ``progress()`` to say it is still working.
    """

    def __init__(self, setup: Callable[..., None], setup_args: tuple, work: Callable):
        context = multiprocessing.get_context("spawn")
        self.conn, theirs = context.Pipe()
        self.process = context.Process(
            target=_serve,
            args=(theirs, os.getpid(), setup, setup_args, work),
            name="disc05-grading",
            daemon=True,
        )
        self.process.start()
        theirs.close()
        self.item: Any = None
        self.busy = False
        self.since = time.monotonic()

    def give(self, item: Any) -> None:
        self.item, self.busy, self.since = item, True, time.monotonic()
        try:
            self.conn.send(item)
        except OSError:  # it died already: `receive` says so
            pass

    def receive(self) -> Any | None:
        """The answer, once it is there (None while the process is still working).

        Raises
        ------
        Gone
            When the process ended without answering.
        """
        try:
            while self.conn.poll():
                kind, payload = self.conn.recv()
                self.since = time.monotonic()
                if kind == DONE:
                    self.busy = False
                    return payload
        except (EOFError, OSError):
            raise Gone(self._why()) from None
        if not self.process.is_alive():
            raise Gone(self._why())
        return None

    def _why(self) -> str:
        self.process.join(1)
        code = self.process.exitcode
        if code is None:
            return "it stopped answering"
        if code < 0:
            return f"it was ended by signal {signal.Signals(-code).name}"
        return f"it exited with status {code}"

    def waiting_on(self) -> list:
        """What `multiprocessing.connection.wait` watches for this process."""
        return [self.conn, self.process.sentinel]

    def kill(self, stacks: bool = False) -> None:
        """End the process now (first having it write its threads' stacks, if asked)."""
        if stacks and self.process.is_alive():
            try:
                os.kill(self.process.pid, signal.SIGCONT)  # a stopped process writes nothing
                os.kill(self.process.pid, signal.SIGUSR1)
            except OSError:
                pass
            self.process.join(2)
        self.process.kill()
        self.process.join(10)
        self.conn.close()

    def stop(self) -> None:
        """Let the process finish and exit (it ends its fork servers); kill it if it will not."""
        try:
            self.conn.send(None)
        except OSError:
            pass
        self.process.join(10)
        if self.process.is_alive():
            self.kill()
        self.conn.close()


def wait_any(workers: list[Worker], timeout: float) -> None:
    """Wait until one of `workers` has something to say or ends, or `timeout` seconds."""
    watched = [w for each in workers for w in each.waiting_on()]
    multiprocessing.connection.wait(watched, timeout=max(timeout, 0.0))


def say_stuck(pid: int, item: str, seconds: float) -> None:
    """On stderr: which grading process made no progress, before its stacks follow."""
    sys.stderr.write(
        f"grade-all: grading process {pid} made no progress on {item} for {seconds:.0f} s; "
        "it is replaced (its threads' stacks follow)\n"
    )
    sys.stderr.flush()
