"""grade-all always ends, and leaves nothing running, on a busy machine or an idle one.

A batch is run beside CPU-bound processes (a shared course server, a loaded CI runner), with
submissions that SIGKILL every pid they can; its main process is killed mid-batch; a grading
process is stopped mid-submission. Every run must end within a bound, and afterwards no
process of it may remain: none in its session, none running as a sandbox slot's uid.
"""

import ast
import csv
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import write_notebook

from autograder import batch, confine, pool, spec
from autograder.release import gate

FULL = sum(q.points for q in spec.QUESTIONS)

KILLER = (
    "import os, signal, time\n"
    "end = time.monotonic() + 3\n"
    "while time.monotonic() < end:\n"
    "    for pid in [-1] + list(range(2, 4000)):\n"
    "        try:\n"
    "            os.kill(pid, signal.SIGKILL)\n"
    "        except OSError:\n"
    "            pass"
)
SLEEPER = "import time\ntime.sleep(2)"

RUN_SECONDS = 240  # one run's bound on a loaded 2-core machine (it takes about 15 s idle)


@contextmanager
def cpu_burners(count: int):
    """`count` CPU-bound processes beside the test, ended when it ends."""
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
        for _ in range(count)
    ]
    try:
        yield
    finally:
        for each in burners:
            each.kill()
            each.wait(10)


def _grading_process_of(uid: int) -> int:
    """The pid (modulo 100,000) of the grading process whose slot runs as `uid`
    (`confine.slot_uid`)."""
    return (uid - confine.SLOT_UID_BASE) // 64 % 100_000


def _alive(pids_mod: int) -> bool:
    """Whether a process whose pid is `pids_mod` modulo 100,000 is running."""
    return any(int(entry) % 100_000 == pids_mod for entry in os.listdir("/proc") if entry.isdigit())


def processes_of(session: int) -> list[str]:
    """Live processes (zombies aside) in `session`, or running as a sandbox slot's uid whose
    grading process is gone (an orphan: a live one may be another batch's, on a busy
    machine)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            status = (entry / "status").read_text()
        except OSError:
            continue
        # /proc/PID/stat: "pid (comm) state ppid pgrp session ...", comm may hold spaces.
        state, _, _, sid = stat.rsplit(")", 1)[1].split()[:4]
        uid = int(next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1])
        if state == "Z":
            continue
        orphan = uid >= confine.SLOT_UID_BASE and not _alive(_grading_process_of(uid))
        if int(sid) == session or orphan:
            found.append(f"{entry.name} {state} uid={uid} {stat.split(')')[0]})")
    return found


def wait_until_gone(session: int, seconds: float) -> list[str]:
    """The processes of `session` still there after waiting up to `seconds` for them to end."""
    deadline = time.monotonic() + seconds
    while (left := processes_of(session)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


class Started:
    """A command in a session of its own, its output in files: what it leaves running (and
    so holding a pipe) can never keep the test waiting."""

    def __init__(self, args: list[str], folder: Path, env: dict | None = None):
        folder.mkdir(parents=True, exist_ok=True)
        self.out, self.err = folder / "stdout.txt", folder / "stderr.txt"
        with self.out.open("w") as stdout, self.err.open("w") as stderr:
            self.process = subprocess.Popen(
                args, stdout=stdout, stderr=stderr, start_new_session=True, env=env
            )
        self.pid = self.process.pid

    def finish(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds; past it, SIGKILL the main process alone (as a test's
        timeout would) and return False."""
        try:
            self.process.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            return False

    @property
    def returncode(self) -> int | None:
        return self.process.returncode

    @property
    def stdout(self) -> str:
        return self.out.read_text(errors="replace")

    @property
    def stderr(self) -> str:
        return self.err.read_text(errors="replace")


def start_grade_all(folder: Path, out: Path, *options: str, env: dict | None = None) -> Started:
    args = [sys.executable, "-m", "autograder", "grade-all", str(folder), "-o", str(out)]
    return Started([*args, *options], out.with_name(out.name + "-log"), env)


@pytest.fixture
def hostile_class(tmp_path, solution_json, student_json) -> Path:
    """4 correct notebooks and 4 that SIGKILL every pid they can for 3 s."""
    folder = tmp_path / "class"
    folder.mkdir()
    for i in range(4):
        write_notebook(folder, solution_json, f"honest{i}.ipynb")
        write_notebook(folder, gate.with_cells(student_json, [KILLER]), f"killer{i}.ipynb")
    return folder


def sleeping_class(tmp_path: Path, solution_json: dict, count: int) -> Path:
    """`count` correct notebooks that each sleep 2 s in a cell: a batch long enough to
    interrupt mid-way."""
    folder = tmp_path / "class"
    folder.mkdir()
    slow = gate.with_cells(solution_json, [SLEEPER])
    for i in range(count):
        write_notebook(folder, slow, f"s{i}.ipynb")
    return folder


def scores(out: Path) -> dict[str, float]:
    with (out / "scores.csv").open() as table:
        return {row["id"]: float(row["total"] or "nan") for row in csv.DictReader(table)}


@pytest.mark.slow
@pytest.mark.timeout(20 * RUN_SECONDS)
def test_grade_all_always_ends_and_leaves_nothing_on_a_busy_machine(
    hostile_class, tmp_path, sandbox_runtime
):
    hung, left, wrong = [], [], []
    with cpu_burners(3):
        for run in range(20):
            out = tmp_path / f"out{run}"
            running = start_grade_all(hostile_class, out, "-j", "2")
            if not running.finish(RUN_SECONDS):
                hung.append(run)
            if remaining := wait_until_gone(running.pid, 10):
                left.append((run, remaining))
            if run not in hung and (
                running.returncode != 0
                or scores(out)
                != {**{f"honest{i}": FULL for i in range(4)}, **{f"killer{i}": 0 for i in range(4)}}
            ):
                wrong.append((run, running.returncode, running.stderr[-2000:]))
    assert hung == [], f"{len(hung)} of 20 runs never ended"
    assert left == [], f"processes left behind: {left}"
    assert wrong == []


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_nothing_of_grade_all_remains_when_its_main_process_is_ended(
    how, tmp_path, solution_json, sandbox_runtime
):
    folder, out = sleeping_class(tmp_path, solution_json, 8), tmp_path / "out"
    with cpu_burners(2):
        running = start_grade_all(folder, out, "-j", "2")
        deadline = time.monotonic() + RUN_SECONDS
        # Mid-batch: a submission graded, sandboxes running for the next ones.
        while not list((out / "results").glob("*.json")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert running.process.poll() is None, running.stderr
        assert len(processes_of(running.pid)) > 3  # the batch, its graders, their sandboxes
        os.kill(running.pid, how)  # the main process only
        assert running.finish(60), "grade-all did not end"
        assert wait_until_gone(running.pid, 10) == []
    if how != signal.SIGKILL:  # ended as on Ctrl-C: one line, and a rerun resumes
        assert running.returncode == 130
        again = subprocess.run(
            [sys.executable, "-m", "autograder", "grade-all", str(folder), "-o", str(out)],
            capture_output=True,
            text=True,
            timeout=RUN_SECONDS,
        )
        assert again.returncode == 0, again.stderr
        assert set(scores(out).values()) == {FULL}


@pytest.mark.slow
def test_a_grading_process_that_makes_no_progress_is_replaced(
    tmp_path, solution_json, sandbox_runtime
):
    folder, out = sleeping_class(tmp_path, solution_json, 6), tmp_path / "out"
    env = {**os.environ, "DISC05_STALL_SECONDS": "20"}
    running = start_grade_all(folder, out, "-j", "2", env=env)
    graders = []
    deadline = time.monotonic() + RUN_SECONDS
    while len(graders) < 2 and time.monotonic() < deadline:
        graders = grading_processes(running.pid)
        time.sleep(0.1)
    os.kill(graders[0], signal.SIGSTOP)  # stuck, as on a lock no thread will release
    assert running.finish(RUN_SECONDS), "grade-all did not end"
    stderr = running.stderr
    # Replaced, its threads' stacks written, and its submission graded again alone.
    assert running.returncode == 0, stderr
    assert "made no progress" in stderr and "Thread 0x" in stderr, stderr
    assert scores(out) == {f"s{i}": FULL for i in range(6)}
    assert wait_until_gone(running.pid, 10) == []


def grading_processes(main: int) -> list[int]:
    """The pids of grade-all's grading processes: its children that multiprocessing spawned
    (not its fork server, nor multiprocessing's resource tracker)."""
    children = Path(f"/proc/{main}/task/{main}/children")
    try:
        pids = [int(p) for p in children.read_text().split()]
    except OSError:
        return []
    found = []
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in command:
            found.append(pid)
    return found


def test_no_grading_process_is_forked_from_the_grader():
    """The grading processes are started fresh (spawn), never forked from a process that may
    run threads: the only fork in the package's code is the sandbox's fork server's."""
    root = Path(batch.__file__).parent
    forks = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            called = ast.unparse(node.func)
            arguments = [ast.unparse(a) for a in node.args]
            if called in ("os.fork", "os.forkpty") or (
                called.endswith(("get_context", "set_start_method")) and arguments != ["'spawn'"]
            ):
                forks.append(f"{path.relative_to(root)}: {ast.unparse(node)}")
    assert forks == ["worker.py: os.fork()"]


SLOW_PROBE = """
import sys, time
from pathlib import Path
from autograder import batch, confine, handout, sandbox
from autograder.release import notebook, public_checks

handout.use(notebook.release_record(notebook.build_notebook("student", public_checks.render_all())))
probe = confine.platform
def slow_platform():  # a platform probe on a busy machine: it holds the runtime's lock long
    time.sleep(4)
    return probe()
confine.platform = slow_platform
sandbox.prestart()  # as the command line does: the probe runs in a thread while the batch starts
time.sleep(0.5)
summary = batch.grade_all(Path(sys.argv[1]), Path(sys.argv[2]), jobs=2, progress=None)
print(summary.graded, len(summary.not_graded))
"""


@pytest.mark.slow
def test_a_batch_started_while_a_thread_holds_the_runtime_lock_ends(
    tmp_path, solution_json, sandbox_runtime
):
    """The hang of a busy machine, made certain: the sandbox's first probe holds its lock
    while the batch starts its grading processes. Forked, they would inherit the lock held,
    and wait on it for ever; spawned, they never see it."""
    folder = tmp_path / "class"
    folder.mkdir()
    for i in range(4):
        write_notebook(folder, solution_json, f"s{i}.ipynb")
    command = [sys.executable, "-c", SLOW_PROBE, str(folder), str(tmp_path / "out")]
    running = Started(command, tmp_path / "log")
    ended = running.finish(120)
    left = wait_until_gone(running.pid, 10)
    assert ended, f"the batch never ended: {running.stderr[-2000:]}"
    assert running.returncode == 0, running.stderr
    assert running.stdout.split() == ["4", "0"] and left == []


ORPHAN_MAKER = """
import subprocess, sys
# A grandchild in a session of its own, stopped (as a sandbox's process stopped between fork
# and exec would be), whose parent then exits: it is orphaned.
grandchild = subprocess.Popen(
    ["sleep", "600"], start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
)
print(grandchild.pid, flush=True)
import os, signal
os.kill(grandchild.pid, signal.SIGSTOP)
"""


def test_an_orphan_of_a_grading_process_is_adopted_and_ended():
    before = pool.children()
    pool.adopt_orphans()
    try:
        made = subprocess.run(
            [sys.executable, "-c", ORPHAN_MAKER], capture_output=True, text=True, timeout=60
        )
        orphan = int(made.stdout)
        assert orphan in pool.children()  # reparented to this process, not to init
        pool.end_orphans(before)
        assert not Path(f"/proc/{orphan}").exists()
    finally:
        pool.adopt_orphans(False)
