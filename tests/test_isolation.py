"""Isolation on every platform: the channel from the sandbox is hostile, weaker platforms are
emulated (``DISC05_PLATFORM``) and either hold the guarantees or are refused, and one
submission can never break a classmate's grading."""

import csv
import dataclasses
import io
import json
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest
from conftest import write_notebook

from autograder import confine, hints, protocol, sandbox, spec
from autograder.release import gate, package

FULL = sum(q.points for q in spec.QUESTIONS)
FAST = spec.Limits(call_seconds=1.0, cell_seconds=1.0, budget_seconds=20.0)
CHANNEL = spec.LIMITS.channel

# Platforms to emulate on this machine: (DISC05_PLATFORM, weak isolation allowed).
ACCEPTED = [
    ("landlock=0", False),  # a kernel without Landlock, with namespaces
    ("root=off,landlock=4", False),  # Ubuntu 22.04/24.04, Debian 12, every slot one uid
    ("namespaces=off,landlock=6", True),  # a container without namespaces, as root
]


def cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, **(env or {})},
    )


# ## The channel: limits, shapes and linear-time text


def _reader_over(data: bytes, max_events: int = 100) -> protocol.EventReader:
    read, write = os.pipe()

    def feed():
        with os.fdopen(write, "wb") as pipe:
            try:
                pipe.write(data)
            except BrokenPipeError:
                pass

    threading.Thread(target=feed, daemon=True).start()
    return protocol.EventReader(read, max_events, CHANNEL.submission_bytes, CHANNEL.event_bytes)


def _read_all(reader: protocol.EventReader) -> list[bytes]:
    lines = []
    while (line := reader.next_line(time.monotonic() + 10)) is not None:
        lines.append(line)
    return lines


def test_reader_refuses_an_oversized_event_without_holding_it():
    reader = _reader_over(b"x" * (40 << 20) + b"\n")
    with pytest.raises(protocol.ProtocolError, match="message_bytes"):
        _read_all(reader)
    assert len(reader.buffer) <= CHANNEL.event_bytes + (1 << 16)
    os.close(reader.fd)


def test_reader_caps_the_number_of_events_and_the_bytes_per_submission():
    with pytest.raises(protocol.ProtocolError, match="messages"):
        _read_all(_reader_over(b"{}\n" * 101))
    assert len(_read_all(_reader_over(b"{}\n" * 100))) == 100
    many = (b"y" * 1000 + b"\n") * (CHANNEL.submission_bytes // 1000 + 10)
    with pytest.raises(protocol.ProtocolError, match="submission_bytes"):
        _read_all(_reader_over(many, max_events=10**9))


def test_the_job_reaches_a_worker_that_reads_it_whole():
    read, write = os.pipe()
    job, got = os.urandom(3 << 20), []
    reader = threading.Thread(target=lambda: got.append(_read_to_end(read)))
    reader.start()
    assert sandbox.send_job(write, job, time.monotonic() + 10)
    os.close(write)
    reader.join(10)
    assert got == [job]


def test_a_worker_that_never_reads_its_job_cannot_hang_the_grader():
    read, write = os.pipe()
    start = time.monotonic()
    assert not sandbox.send_job(write, b"x" * (4 << 20), time.monotonic() + 0.5)
    assert time.monotonic() - start < 3
    os.close(write)
    assert os.read(read, 1 << 20)  # what the pipe held,
    assert os.read(read, 1 << 20) == b""  # then the end
    os.close(read)


def _read_to_end(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def test_reader_is_linear_in_what_it_reads():
    start = time.monotonic()
    lines = _read_all(_reader_over(b"z" * 1000 + b"\n" + b"w" * (900 << 10) + b"\n"))
    assert [len(line) for line in lines] == [1000, 900 << 10]
    assert time.monotonic() - start < 2


@pytest.mark.parametrize(
    "line",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"event": "cell", "index": "0"}',
        b'{"event": "cell", "index": true}',
        b'{"event": "cell", "index": 0, "extra": 1}',
        b'{"event": "ready", "uid": 0, "landlock": [[[]]]}',
        b'{"event": "result", "id": 0, "kind": "value", "value": {"array": "AAAA", "shape": [5]},'
        b' "args": []}',
        b'{"event": "result", "id": 0, "kind": "value", "value": {"array": "AAAAAAAA8D8=",'
        b' "shape": []}, "args": [{"array": "!!", "shape": []}]}',
        b'{"event": "result", "id": 999, "kind": "not_defined"}',
        b'{"event": "result", "id": 0, "kind": "unconvertible", "what": "lies", "type": "x"}',
        b'{"event": "result", "id": 0, "kind": "raised", "type": "E", "message": 5, "where": []}',
        b'{"event": "done", "peak_kb": -1}',
        b"\xff\xfe",
        b"null",
    ],
)
def test_malformed_events_are_refused(line):
    assert protocol.parse_event(line, calls=10, channel=CHANNEL) is None


def test_student_text_is_cut_before_it_is_cleaned_in_linear_time():
    start = time.monotonic()
    text = protocol.student_text("9" * 1_000_000 + "." + "1" * 1_000_000, CHANNEL.text_chars)
    assert time.monotonic() - start < 0.5
    assert len(text) <= CHANNEL.text_chars and "9999" not in text
    shown = protocol.student_text("got 0.4821316 and 1e-3, shape (3, 4), 123456", 300)
    assert shown == "got … and …, shape (3, 4), …"
    names = CHANNEL.name_chars
    assert protocol.type_name("E" + "x" * names, names) is None
    assert protocol.type_name("E" + "x" * (names - 1), names) == "E" + "x" * (names - 1)
    assert protocol.type_name("1.5", names) is None
    where = ["cell 3, line 2, in v48213162", "junk"]
    assert protocol.frames(where, CHANNEL.frames) == ["cell 3, line 2, in v…"]
    assert protocol.frames(["cell 1, line 1, in f"] * 10, CHANNEL.frames) == (
        ["cell 1, line 1, in f"] * CHANNEL.frames
    )


def test_arrays_on_the_wire_are_checked_exactly():
    assert protocol.unpack_array({"array": "AAAAAAAA8D8=", "shape": []}, CHANNEL) == (
        b"\x00" * 6 + b"\xf0\x3f",
        (),
    )
    for bad in (
        {"array": "AAAA", "shape": [5]},
        {"array": "!!", "shape": []},
        {"array": "AAAAAAAAAAA=", "shape": [-1]},
        {"array": "AAAAAAAA8D8=", "shape": [True]},
        {"array": "AAAAAAAA8D8=", "shape": [1] * (CHANNEL.dims + 1)},
        {"array": "AAAAAAAA8D8=", "shape": [], "extra": 1},
        [1.0],
    ):
        assert protocol.unpack_array(bad, CHANNEL) is None


def test_the_grader_decides_whether_an_argument_was_modified(sandbox_runtime):
    import numpy as np

    code = (
        "import sys\n"
        "worker = sys.modules['__main__']\n"
        "def quiet(x):\n    x[0] = 5.0\n    return x.copy()\n"
        "def honest(x):\n    return x * 2\n"
    )
    calls = [sandbox.Call(name, (np.arange(3.0),)) for name in ("quiet", "honest")]
    report = sandbox.run([code], calls, FAST)
    assert [o.modified for o in report.outcomes] == [True, False]


def test_a_job_reads_back_as_it_was_written():
    import numpy as np

    x = np.arange(6.0).reshape(2, 3).T  # not contiguous: sent as the values it holds
    calls = [
        (4, protocol.encode_call("f", (x, [1.0, 2.0], 0.5), True, np)),
        (7, protocol.encode_call("g", (), False, np)),
    ]
    job = protocol.encode_job(
        cells=["a = 1"],
        skip=[0],
        limits={"memory_mb": 1, "cpu_seconds": 2, "open_files": 3},
        report={"text_chars": 4, "frames": 5},
        landlock=6,
        seccomp=b"\x00\xff",
        readable=["/usr/lib"],
        calls=calls,
        graded=[("f", ("x", "y", "p")), ("g", ())],
    )
    answer = protocol.encode_answer(np.eye(2), np) + protocol.own_answer(False)
    answer += protocol.encode_answer(0.25, np)
    reader = io.BytesIO(job + answer)  # the job's pipe: the job, then answers to stand-ins
    back = protocol.read_job(reader, np)
    assert back["graded"] == [["f", ["x", "y", "p"]], ["g", []]]
    value, more = protocol.read_answer(reader, np)
    assert np.array_equal(value, np.eye(2)) and value.flags.writeable and more
    assert protocol.read_answer(reader, np) == (None, False)
    assert protocol.read_answer(reader, np) == (0.25, True)
    assert back["seccomp"] == b"\x00\xff" and back["report"] == {"text_chars": 4, "frames": 5}
    assert [(c["id"], c["function"], c["strict"]) for c in back["calls"]] == [
        (4, "f", True),
        (7, "g", False),
    ]
    array, values, number = back["calls"][0]["args"]
    assert np.array_equal(array, x) and array.flags.writeable
    assert values == [1.0, 2.0] and number == 0.5
    assert protocol.fingerprint(array, np) == protocol.fingerprint(x, np)
    assert protocol.fingerprint(object(), np) is None


def _other_pythons() -> list[str]:
    """Interpreters of the oldest Python the grader supports (3.10), where this machine has one."""
    found = [shutil.which("python3.10")]
    found += [str(p) for p in Path.home().glob(".pyenv/versions/3.10*/bin/python3.10")]
    check = "import sys; sys.exit(sys.version_info[:2] != (3, 10))"
    return [
        python
        for python in dict.fromkeys(filter(None, found))
        if subprocess.run([python, "-c", check], capture_output=True).returncode == 0
    ]


def test_the_protocol_loads_without_numpy_or_the_package_on_the_oldest_python():
    # As the worker loads it: a private module, from its source, with numpy out of reach; a
    # job without arrays reads back there, and the grader's checks run (Gradescope's Ubuntu
    # 22.04 grades with Python 3.10).
    import numpy as np

    source = Path(protocol.__file__).read_text(encoding="utf-8")
    call = protocol.encode_call("f", ([1.5], 2.0), False, np)
    job = protocol.encode_job([], [], {}, {}, 0, None, [], [(0, call)]).decode()
    code = (
        "import json, os, sys, types\n"
        "sys.modules['numpy'] = None\n"
        "protocol = types.ModuleType('disc05_protocol')\n"
        "exec(compile(sys.argv[1], '<disc05_protocol>', 'exec'), protocol.__dict__)\n"
        "import io\n"
        "read = io.BytesIO(sys.argv[2].encode())\n"
        "channel = types.SimpleNamespace(text_chars=20, name_chars=9, frames=1)\n"
        'line = b\'{"event": "cell_error", "index": 0, "type": "E", \'\n'
        'line += b\'"message": "x = 0.123", "where": []}\'\n'
        "event = protocol.parse_event(line, 1, channel)\n"
        "args = protocol.read_job(read, None)['calls'][0]['args']\n"
        "print(json.dumps([args, event.fields['message']]))\n"
    )
    worker = Path(protocol.__file__).with_name("worker.py")
    pythons = [sys.executable, *_other_pythons()]
    for python in pythons:
        done = subprocess.run(
            [python, "-I", "-S", "-c", code, source, job], capture_output=True, text=True
        )
        assert done.returncode == 0, (python, done.stderr)
        assert json.loads(done.stdout) == [[[1.5], 2.0], "x = …"]
        compiled = subprocess.run([python, "-I", "-m", "py_compile", str(worker)])
        assert compiled.returncode == 0, python
    if len(pythons) == 1:
        pytest.skip("no Python 3.10 on this machine: checked with this one only")


def test_the_worker_starts_nothing_when_imported():
    done = subprocess.run(
        [sys.executable, "-c", "import autograder.worker as w; print(callable(w.main))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout == "True\n", done.stderr


def test_student_code_cannot_reach_the_workers_modules_by_name(sandbox_runtime):
    code = (
        "import importlib, sys\n"
        "def seen():\n"
        "    found = [n for n in ('compare', 'protocol', 'disc05_compare', 'disc05_protocol')\n"
        "             if n in sys.modules]\n"
        "    for name in ('disc05_compare', 'disc05_protocol', 'autograder'):\n"
        "        try:\n"
        "            importlib.import_module(name)\n"
        "            found.append(name)\n"
        "        except ImportError:\n"
        "            pass\n"
        "    main = vars(sys.modules['__main__'])\n"
        "    names = ('call_on_copies', 'as_float_array', 'parse_event')\n"
        "    found += [n for n in names if n in main]\n"
        "    if found:\n"
        "        raise RuntimeError(' '.join(found))\n"
        "    return 1.0\n"
    )
    outcome = sandbox.run([code], [sandbox.Call("seen", ())], FAST).outcomes[0]
    assert outcome.status == "ok", outcome.message


def test_the_limits_in_spec_are_the_ones_applied(sandbox_runtime):
    code = (
        "import os\n"
        "def opened():\n"
        "    fds = []\n"
        "    try:\n"
        "        while len(fds) < 1000:\n"
        "            fds.append(os.open('/dev/null', os.O_RDONLY))\n"
        "    except OSError:\n"
        "        pass\n"
        "    return float(max(fds) + 1)\n"
        "def long():\n"
        "    raise ValueError('x' * 500)\n"
        "def deep(n=5):\n"
        "    return deep(n - 1) if n else 1 / 0\n"
    )
    narrow = spec.Channel(text_chars=40, frames=2)
    limits = dataclasses.replace(FAST, open_files=20, channel=narrow)
    calls = [sandbox.Call(name, ()) for name in ("opened", "long", "deep")]
    opened, long, deep = sandbox.run([code], calls, limits).outcomes
    assert opened.status == "ok" and float(opened.value) == 20
    assert long.status == "error" and "x" * 39 + "… (" in long.message
    assert "x" * 40 not in long.message
    assert deep.message.count("line") == 2
    wide = sandbox.run([code], calls, FAST).outcomes
    assert float(wide[0].value) == spec.LIMITS.open_files
    assert wide[2].message.count("line") == spec.LIMITS.channel.frames


def test_bubblewrap_shows_numpy_but_no_installed_package(sandbox_runtime):
    interp = sandbox_runtime.interpreter
    argv = confine.bwrap_argv("bwrap", interp)
    hidden = {argv[i + 1] for i, arg in enumerate(argv) if arg == "--tmpfs"}
    for folder in (*interp.site, *(f"{d}/site-packages" for d in interp.stdlib)):
        bound_above = any(
            folder.startswith(argv[i + 1] + "/") for i, a in enumerate(argv) if a == "--ro-bind"
        )
        assert not (bound_above and Path(folder).is_dir()) or folder in hidden, folder
    assert ["--ro-bind", interp.numpy, interp.numpy] == argv[argv.index(interp.numpy) - 1 :][:3]


# ## Platforms: the switch, the refusal, the record


def test_platform_switch_reads_each_setting(monkeypatch):
    monkeypatch.setenv("DISC05_PLATFORM", "namespaces=off, landlock=3,root=off")
    found = confine.platform()
    assert found.bwrap is None and not found.root
    assert found.landlock == min(3, confine.kernel_landlock_abi())
    monkeypatch.setenv("DISC05_PLATFORM", "landlock=many")
    with pytest.raises(confine.SandboxUnavailable, match="cannot read 'landlock=many'"):
        confine.platform()


def test_without_namespaces_grading_is_refused_in_one_line_unless_staff_opt_in(
    tmp_path, solution_json
):
    path = write_notebook(tmp_path, solution_json)
    refused = cli("grade", str(path), env={"DISC05_PLATFORM": "namespaces=off"})
    assert refused.returncode == 1 and refused.stdout == ""
    assert refused.stderr.count("\n") == 1
    assert "sandbox unavailable: bubblewrap is switched off" in refused.stderr
    assert "--allow-weak-isolation" in refused.stderr
    allowed = cli(
        "grade", "--json", "--allow-weak-isolation", str(path),
        env={"DISC05_PLATFORM": "namespaces=off"},
    )  # fmt: skip
    results = json.loads(allowed.stdout)
    assert results["score"] == pytest.approx(FULL)
    assert results["extra_data"]["confinement"].startswith("no namespaces (bubblewrap is switched")


@pytest.fixture
def refusing_bwrap(monkeypatch):
    """A `bwrap` first on PATH that fails as bubblewrap does where user namespaces are refused."""
    folder = Path(tempfile.mkdtemp(prefix="disc05-test-", dir="/tmp"))
    folder.chmod(0o755)  # the sandbox's uid starts it
    fake = folder / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")
    yield
    fake.unlink()
    folder.rmdir()


def test_bubblewrap_that_cannot_start_is_refused_or_replaced_as_staff_chose(
    refusing_bwrap, emulate, sandbox_runtime
):
    emulate("")
    with pytest.raises(sandbox.SandboxUnavailable) as refused:
        sandbox.run(["def f(): return 1.0"], [sandbox.Call("f", ())], FAST)
    assert "No permissions to create new namespace" in str(refused.value)
    emulate("", weak=True)
    report = sandbox.run(["def f(): return 1.0"], [sandbox.Call("f", ())], FAST)
    assert report.outcomes[0].status == "ok"
    assert report.confinement.startswith("no namespaces (bubblewrap could not start a sandbox")


def test_every_report_records_its_confinement(tmp_path, solution_json, sandbox_runtime):
    results = json.loads(
        cli("grade", "--json", str(write_notebook(tmp_path, solution_json))).stdout
    )
    confinement = results["extra_data"]["confinement"]
    assert confinement.startswith("bubblewrap namespaces") and "resource limits" in confinement


def test_gradescope_entry_point_uses_what_the_container_allows(
    tmp_path, solution_json, test_files, sandbox_runtime
):
    import io
    import zipfile

    root = tmp_path / "autograder"
    with zipfile.ZipFile(io.BytesIO(package.autograder_zip(test_files))) as archive:
        archive.extractall(root / "source")
    (root / "submission").mkdir()
    write_notebook(root / "submission", solution_json)
    env = {"DISC05_AUTOGRADER_ROOT": str(root), "DISC05_PYTHON": sys.executable}
    env["DISC05_PLATFORM"] = "namespaces=off"
    subprocess.run(
        ["bash", str(root / "source" / "run_autograder")], env={**os.environ, **env}, check=True
    )
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == pytest.approx(FULL)
    assert results["extra_data"]["confinement"].startswith("no namespaces")


# ## The attack suite on every emulated platform


@pytest.mark.slow
@pytest.mark.parametrize("platform, weak", ACCEPTED, ids=[p for p, _ in ACCEPTED])
def test_attack_suite_holds_on_an_emulated_platform(
    platform, weak, emulate, student_json, solution_json, table, test_files, tmp_path, monkeypatch
):
    emulate(platform, weak=weak)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    graded = gate.grade_known(
        student_json,
        solution_json,
        package.autograder_zip(test_files),
        table,
        hints.Hints(table),
    )
    assert gate.problems_of(graded, table) == []
    assert graded[0].results["score"] == pytest.approx(FULL)
    assert list(tmp_path.iterdir()) == [], "grading left files behind"
    sandbox.reset()
    time.sleep(0.5)
    assert _processes_of_our_slots() == [], "grading left processes behind"


def _processes_of_our_slots() -> list[str]:
    """Processes still running as a uid of this grader's slots (root only; else none)."""
    first = confine.slot_uid(confine.platform(), 0)
    if first is None or first < confine.SLOT_UID_BASE:
        return []
    return _processes_running_as(range(first, first + 64))


def _processes_running_as(uids) -> list[str]:
    """Processes (not zombies, which await their reaping by init) whose uid is in `uids`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        zombie = fields.get("State", "").split()[:1] == ["Z"]
        if int(fields.get("Uid", "-1").split()[0]) in uids and not zombie:
            found.append(f"{entry.name} {fields.get('State', '').strip()} {fields['Name'].strip()}")
    return found


# ## Classmates in the same batch


KILLER = (
    "import os, signal, time\n"
    "end = time.monotonic() + 3\n"
    "while time.monotonic() < end:\n"
    "    for pid in [-1] + list(range(2, 2000)):\n"
    "        try:\n"
    "            os.kill(pid, signal.SIGKILL)\n"
    "        except OSError:\n"
    "            pass"
)


@pytest.mark.slow
@pytest.mark.parametrize("platform", ["", "root=off,landlock=4"])
def test_a_submission_that_signals_everything_costs_no_classmate(
    platform, tmp_path, solution_json, student_json, sandbox_runtime
):
    folder = tmp_path / "class"
    folder.mkdir()
    for i in range(4):
        write_notebook(folder, solution_json, f"honest{i}.ipynb")
        write_notebook(folder, gate.with_cells(student_json, [KILLER]), f"killer{i}.ipynb")
    out = tmp_path / "out"
    done = cli(
        "grade-all", str(folder), "-o", str(out), "-j", "2", env={"DISC05_PLATFORM": platform}
    )
    assert done.returncode == 0, done.stderr
    with (out / "scores.csv").open() as table:
        rows = list(csv.DictReader(table))
    scores = {row["id"]: float(row["total"]) for row in rows}
    assert all(row["confinement"].startswith("bubblewrap namespaces") for row in rows)
    assert scores == {
        **{f"honest{i}": FULL for i in range(4)},
        **{f"killer{i}": 0 for i in range(4)},
    }


STOPPER = (
    "import os, signal, time\n"
    "end = time.monotonic() + 4\n"
    "while time.monotonic() < end:\n"
    "    try:\n"
    "        os.kill(-1, signal.SIGSTOP)\n"
    "    except OSError:\n"
    "        pass"
)


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="slots share the grader's own uid when not root")
def test_a_submission_that_stops_everything_leaves_no_process_behind_on_a_weak_platform(
    tmp_path, solution_json, sandbox_runtime
):
    folder = tmp_path / "class"
    folder.mkdir()
    write_notebook(folder, gate.with_cells(solution_json, [STOPPER]), "stopper.ipynb")
    for i in range(3):
        write_notebook(folder, solution_json, f"honest{i}.ipynb")
    env = {"DISC05_PLATFORM": "namespaces=off,root=off,landlock=5"}
    done = cli("grade-all", str(folder), "-o", str(tmp_path / "out"), "-j", "2",
               "--allow-weak-isolation", env=env)  # fmt: skip
    assert done.returncode == 0, done.stderr
    time.sleep(0.5)
    with_env = {**os.environ, **env}
    uid = json.loads(subprocess.run(
        [sys.executable, "-c", "import json; from autograder import confine; "
         "print(json.dumps(confine.slot_uid(confine.platform(), 0)))"],
        env=with_env, capture_output=True, text=True, check=True).stdout)  # fmt: skip
    assert uid is not None  # the one uid every slot shares there
    assert _processes_running_as({uid}) == [], "grading left processes behind"


def test_a_platform_without_a_system_call_filter_is_refused(emulate):
    emulate("seccomp=off")
    with pytest.raises(sandbox.SandboxUnavailable, match="libseccomp is not installed"):
        sandbox.run(["def f(): return 1.0"], [sandbox.Call("f", ())], FAST)


def test_a_platform_where_slots_share_a_uid_without_namespaces_is_refused(tmp_path, solution_json):
    path = write_notebook(tmp_path, solution_json)
    done = cli("grade-all", str(tmp_path), "-o", str(tmp_path / "out"),
               env={"DISC05_PLATFORM": "namespaces=off,root=off,landlock=4"})  # fmt: skip
    assert done.returncode == 1 and "sandbox unavailable" in done.stderr, done.stderr
    assert path.exists()


# ## Reaching out: sockets that really listen


@pytest.fixture
def listeners(tmp_path):
    """A TCP port, a pathname UNIX socket anyone may connect to, and an abstract socket, all
    listening on this machine, each recording whether anything connected."""
    made, connected = [], []
    tcp = socket.create_server(("127.0.0.1", 0))
    made.append((tcp, ("127.0.0.1", tcp.getsockname()[1])))
    path = Path(tempfile.mkdtemp(prefix="disc05-test-", dir="/tmp")) / "open.sock"
    unix = socket.socket(socket.AF_UNIX)
    unix.bind(str(path))
    path.chmod(0o777)
    path.parent.chmod(0o755)
    unix.listen()
    made.append((unix, str(path)))
    abstract = socket.socket(socket.AF_UNIX)
    abstract.bind(f"\0disc05-test-{os.getpid()}")
    abstract.listen()
    made.append((abstract, f"\0disc05-test-{os.getpid()}"))
    for sock, _ in made:
        sock.setblocking(False)

    def any_connected() -> bool:
        ready, _, _ = select.select([s for s, _ in made], [], [], 0.2)
        connected.extend(ready)
        return bool(connected)

    yield [address for _, address in made], any_connected
    for sock, _ in made:
        sock.close()
    path.unlink()
    path.parent.rmdir()


@pytest.mark.parametrize(
    "platform, weak",
    [("", False), ("landlock=0", False), ("root=off,landlock=4", False), ("seccomp=off", True)],
)
def test_no_connection_reaches_a_listener_on_this_machine(
    platform, weak, listeners, emulate, sandbox_runtime
):
    emulate(platform, weak=weak)
    addresses, any_connected = listeners
    code = (
        "import socket\n"
        f"ADDRESSES = {addresses!r}\n"
        "def reach():\n"
        "    reached = 0.0\n"
        "    for address in ADDRESSES:\n"
        "        family = socket.AF_INET if isinstance(address, tuple) else socket.AF_UNIX\n"
        "        try:\n"
        "            s = socket.socket(family)\n"
        "            s.settimeout(0.5)\n"
        "            s.connect(address if family == socket.AF_UNIX else tuple(address))\n"
        "            reached += 1\n"
        "        except OSError:\n"
        "            pass\n"
        "    return reached\n"
    )
    # Control: the same code, run here, reaches all three.
    namespace: dict = {}
    exec(code, namespace)
    assert namespace["reach"]() == 3.0 and any_connected()
    report = sandbox.run([code], [sandbox.Call("reach", ())], FAST)
    assert report.outcomes[0].status == "ok" and float(report.outcomes[0].value) == 0.0


def test_a_stand_in_question_is_read_only_in_the_shapes_the_protocol_declares():
    import numpy as np

    def parse(function: object, args: object) -> object:
        line = json.dumps({"event": "standin", "function": function, "args": args}).encode()
        event = protocol.parse_event(line, 1, CHANNEL)
        return None if event is None else event.fields

    x = protocol.standin_arg(np.arange(6.0).reshape(2, 3), np)
    fields = parse("sigmoid", [x, {"float": 0.5}, {"float": 3}])
    assert fields["function"] == "sigmoid" and fields["args"][1:] == [0.5, 3.0]
    data, shape = fields["args"][0]
    assert shape == (2, 3) and np.array_equal(np.frombuffer(data), np.arange(6.0))
    too_many = protocol.standin_arg(np.zeros(CHANNEL.standin_elements + 1), np)
    refused = [
        ("sigmoid", [too_many]),  # more elements than the reference answers for
        ("sigmoid", [{"float": 10**400}]),  # an integer no float holds
        ("sigmoid", [{"float": True}]),
        ("sigmoid", [{"float": "1"}]),
        ("sigmoid", [{"list": [1.0]}]),  # only arrays and numbers
        ("sigmoid", [{"float": 1.0}] * 9),
        ("sigmoid", {"float": 1.0}),
        ("no such name!", []),
        ("x" * (CHANNEL.name_chars + 1), []),
        (3, []),
    ]
    for function, args in refused:
        assert parse(function, args) is None, (function, str(args)[:80])
    # The worker's side sends only what numpy reads as real numbers.
    for value in ("text", True, 1j, np.array(["a"]), object(), 10**400):
        assert protocol.standin_arg(value, np) is None, value
    assert protocol.standin_arg(2, np) == {"float": 2.0}


def test_weak_mode_without_landlock_refuses_where_the_sandbox_could_read_the_answer_key(
    emulate, sandbox_runtime
):
    # Without namespaces and Landlock only file permissions stand between a stub and the
    # answer key; this checkout is readable by everyone, so grading is refused, saying why.
    emulate("namespaces=off,landlock=0", weak=True)
    with pytest.raises(sandbox.SandboxUnavailable, match="can read /") as refused:
        sandbox.run(["x = 1"], [sandbox.Call("f", ())], FAST)
    (path,) = re.findall(r"can read (\S+);", str(refused.value))
    assert path in confine.secrets()


def test_the_answer_key_check_runs_as_the_sandbox_uid(sandbox_runtime):
    if os.geteuid() != 0:
        pytest.skip("needs root, to run the check as another uid")
    python = sandbox.runtime().interpreter.python
    uid = confine.slot_uid(confine.platform(), 0)
    top = Path(tempfile.mkdtemp())  # below /tmp, which every user may enter
    key = top / "key" / "answers.py"
    key.parent.mkdir()
    key.write_text("ANSWER = 42\n")
    top.chmod(0o755)
    key.parent.chmod(0o755)
    with pytest.raises(confine.SandboxUnavailable, match=re.escape(str(key))):
        confine.check_unreadable(python, uid, [str(key)])
    key.parent.chmod(0o700)  # root's only, as on Gradescope: the same check passes
    confine.check_unreadable(python, uid, [str(key)])
    with pytest.raises(confine.SandboxUnavailable):  # and this process's own uid reads it
        confine.check_unreadable(python, None, [str(key)])
    shutil.rmtree(top)


def test_the_answer_key_check_covers_the_release_and_the_history_beside_the_grader(tmp_path):
    # Without namespaces and Landlock, a stub walking the disk finds the key wherever a copy
    # of it lies in the checkout: the built release (the solution notebook, the autograder
    # zip) and every version of it in git. Each is checked, not only the sources.
    root = Path(confine.__file__).resolve().parents[1]
    checked = set(confine.secrets())
    for folder in ("autograder", "solutions", "dist"):
        files = [p for p in (root / folder).rglob("*") if p.is_file()]
        files = [p for p in files if "__pycache__" not in p.parts]
        assert {str(p) for p in files} <= checked, folder
    if (root / ".git").exists():  # a copy of the sources without git (the walk-through's) has none
        for history in confine._git_folders(root / ".git"):
            assert any(Path(p).is_relative_to(history) for p in checked), history
    # A linked worktree's .git is a file; its folder and the repository's common one count.
    common = tmp_path / "repo" / ".git"
    own = common / "worktrees" / "copy"
    own.mkdir(parents=True)
    (own / "commondir").write_text("../..\n")
    checkout = tmp_path / "copy"
    checkout.mkdir()
    (checkout / ".git").write_text(f"gitdir: {own}\n")
    assert confine._git_folders(checkout / ".git") == {own.resolve(), common.resolve()}
    (checkout / ".git").write_text("not a pointer")
    assert confine._git_folders(checkout / ".git") == set()
