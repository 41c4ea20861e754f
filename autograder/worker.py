"""The sandboxed side of grading: runs a submission's cells and calls its functions.

The grader never imports this file. `autograder.forkserver` starts it as a fork server inside
the sandbox (see `autograder.confine`): ``python -I -S -B -c SOURCE FD NUMPY_PARENT PROTOCOL
COMPARE``, where FD is the control socket, NUMPY_PARENT the folder numpy is imported from, and
PROTOCOL and COMPARE the sources of `autograder.protocol` and `autograder.compare`, loaded once
into private modules. The server imports numpy once, makes itself non-dumpable (so no worker
can trace it), and forks a child per submission. Each child reads one job from a pipe,
confines itself (resource limits, and Landlock where the kernel has it: reads only below the
paths it is given, writes nowhere, no TCP, no signals or tracing outside itself), and only then
runs student code. It reports over a second pipe (see `autograder.protocol`) and decides
nothing: the grader checks every value it sends.

When a graded function calls another graded function listed before it, the call goes to a
stand-in that asks the grader for the reference's value (`_StandIns`): each mistake is charged
once, to the function that makes it. The reference itself never comes here, only its values
on what the student's code passed.

Standard library and numpy only, and Python 3.10 syntax: it runs on the grading machine's
Python, not the one that built the release.
"""

import builtins
import ctypes
import json
import math
import os
import resource
import sys
import traceback
import types


def _module(name, source):
    """A private module made from `source`: not in sys.modules, so not importable by name."""
    module = types.ModuleType(name)
    exec(compile(source, f"<{name}>", "exec"), module.__dict__)
    return module


def _limit(name, value):
    resource.setrlimit(getattr(resource, name), (value, value))


def _confine(limits):
    """The job's resource limits (`autograder.spec.Limits`), and the zeros that are not limits
    but the promise itself: nothing written, no core dumps, no processes or threads."""
    _limit("RLIMIT_AS", limits["memory_mb"] << 20)
    _limit("RLIMIT_CPU", limits["cpu_seconds"])
    _limit("RLIMIT_NOFILE", limits["open_files"])
    _limit("RLIMIT_FSIZE", 0)  # nothing to write: the sandbox's files are all read-only
    _limit("RLIMIT_CORE", 0)
    _limit("RLIMIT_NPROC", 0)  # no fork, no threads: nothing can outlive this process


# Landlock, through its three system calls (the same numbers on x86-64 and arm64).
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1, 2, 4, 8
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | (1 << 14) | (1 << 15)
_READ = _EXECUTE | _READ_FILE | _READ_DIR


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def _landlock(readable, writable, most):
    """Allow reads below `readable`, everything on `writable`, nothing else; return the ABI used.

    `most` caps the ABI (0: no Landlock), so that a weaker kernel can be emulated.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    abi = min(syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1)), most)
    if abi < 1:
        return 0
    handled = (1 << 13) - 1
    handled |= (1 << 13) if abi >= 2 else 0  # refer
    handled |= (1 << 14) if abi >= 3 else 0  # truncate
    handled |= (1 << 15) if abi >= 5 else 0  # ioctl on devices
    attr = _RulesetAttr(handled, 3 if abi >= 4 else 0, 3 if abi >= 6 else 0)
    size = 8 if abi < 4 else (16 if abi < 6 else 24)
    ruleset = syscall(
        _CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
    )
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    for paths, rights in ((readable, _READ), (writable, handled)):
        for path in paths:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue
            allowed = rights & handled
            if not os.path.isdir(path):
                allowed &= _FILE_RIGHTS
            rule = _PathBeneath(allowed, fd)
            if syscall(_ADD_RULE, ruleset, 1, ctypes.byref(rule), 0) < 0:
                raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for {path}")
            os.close(fd)
    if syscall(_RESTRICT_SELF, ruleset, 0) < 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    os.close(ruleset)
    return abi


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def _seccomp(program):
    """Install the system-call filter the grader compiled (see autograder.syscalls)."""
    if program is None:
        return False
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _Program(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    if ctypes.CDLL(None, use_errno=True).prctl(22, 2, ctypes.byref(fprog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
    return True


def _no_new_privileges():
    if ctypes.CDLL(None, use_errno=True).prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")


def _fake_otter():
    """A stand-in for otter-grader, so that the notebook's grader cells run as no-ops."""

    class Notebook:
        def __init__(self, *args, **kwargs):
            pass

        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    module = types.ModuleType("otter")
    module.Notebook = Notebook
    return module


def _describe(error, report, protocol):
    """Exception type, message and the student's own frames (cells), nothing of ours, and no
    more of them than the grader reads (the job's `report` caps)."""
    try:
        message = protocol.clip(str(error), report["text_chars"])
    except BaseException:
        message = "<the exception's message could not be printed>"
    frames = [
        f"{frame.filename[1:-1]}, line {frame.lineno}, in {frame.name}"
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename.startswith("<cell ")
    ]
    where = frames[max(0, len(frames) - report["frames"]) :]
    return {"type": type(error).__name__, "message": message, "where": where}


def _run_cells(job, out, namespace, protocol):
    """Run the job's cells in order, but those it says to skip; report each, and its error."""
    skip = set(job["skip"])
    for index, source in enumerate(job["cells"]):
        if index in skip:
            continue
        protocol.send(out, {"event": "cell", "index": index})
        try:
            code = compile(source, f"<cell {index + 1}>", "exec")
            exec(code, namespace)  # noqa: S102 - the sandbox's purpose
        except BaseException as error:  # noqa: BLE001 - students may raise anything
            described = _describe(error, job["report"], protocol)
            protocol.send(out, {"event": "cell_error", "index": index, **described})


def _unconvertible(value, np):
    """Why a returned value is not a float array, as one of the protocol's words."""
    if value is None:
        return "none"
    if isinstance(value, (bool, np.bool_)):
        return "bool"
    try:
        return "complex" if np.asarray(value).dtype.kind == "c" else "other"
    except BaseException:  # noqa: BLE001
        return "other"


class _StandIns:
    """Stand-ins for the graded functions, put in place in question order: before a call of
    a function, every graded function listed before it (whose own calls are all made)."""

    def __init__(self, job, namespace, answers, out, np, protocol):
        self.graded = job["graded"]
        self.position = {name: i for i, (name, _) in enumerate(self.graded)}
        self.most = job["report"]["standin_elements"]
        self.namespace, self.answers, self.out = namespace, answers, out
        self.np, self.protocol = np, protocol
        self.placed = 0
        self.asking = True

    def before(self, function):
        """Put stand-ins in place of the graded functions listed before `function`."""
        while self.placed < self.position.get(function, 0):
            name, params = self.graded[self.placed]
            self.namespace[name] = self._stand_in(name, params, self.namespace.get(name))
            self.placed += 1

    def _stand_in(self, name, params, own):
        def stand_in(*args, **kwargs):
            value = self._ask(name, params, args, kwargs)
            if value is not None:
                return value
            if not callable(own):
                raise NameError(f"name '{name}' is not defined")
            return own(*args, **kwargs)

        stand_in.__name__ = stand_in.__qualname__ = name
        return stand_in

    def _ask(self, name, params, args, kwargs):
        """The reference's value for these arguments, or None (call the student's own)."""
        if not self.asking or len(args) > len(params) or set(kwargs) - set(params[len(args) :]):
            return None
        bound = list(args) + [kwargs[p] for p in params[len(args) :] if p in kwargs]
        if len(bound) != len(params):
            return None
        wire = [self.protocol.standin_arg(a, self.np) for a in bound]
        if any(w is None for w in wire):
            return None
        if sum(math.prod(w.get("shape", ())) for w in wire) > self.most:
            return None  # larger than the grader answers for
        self.protocol.send(self.out, {"event": "standin", "function": name, "args": wire})
        value, self.asking = self.protocol.read_answer(self.answers, self.np)
        return value


def _run_calls(job, namespace, out, np, protocol, compare, stand_ins):
    """Call the graded functions; one ``result`` event per call, in the order given."""
    protocol.send(out, {"event": "calls"})
    for call in job["calls"]:
        stand_ins.before(call["function"])
        head = {"event": "result", "id": call["id"]}
        function = namespace.get(call["function"])
        if not callable(function):
            protocol.send(out, {**head, "kind": "not_defined"})
            continue
        try:
            result, given = compare.call_on_copies(function, call["args"], call["strict"])
            array, problem = compare.as_float_array(result)
            if problem is None:
                event = {**head, "kind": "value", "value": protocol.encode_array(array, np)}
                event["args"] = [protocol.fingerprint(a, np) for a in given]
                event["form"] = compare.form_of(result)
            else:
                what = _unconvertible(result, np)
                event = {**head, "kind": "unconvertible", "what": what}
                event["type"] = type(result).__name__
        except BaseException as error:  # noqa: BLE001
            event = {**head, "kind": "raised", **_describe(error, job["report"], protocol)}
        protocol.send(out, event)


def _work(job_fd, out, np, protocol, compare):
    """A forked child: read one job, confine itself, run the student's code, report, exit."""
    try:
        answers = os.fdopen(job_fd, "rb")  # the job, then answers to stand-ins
        job = protocol.read_job(answers, np)
        os.chdir("/")
        _confine(job["limits"])
        _no_new_privileges()
        abi = _landlock(job["readable"], ["/dev/null"], job["landlock"])
        filtered = _seccomp(job["seccomp"])
    except BaseException as error:  # noqa: BLE001
        message = "".join(traceback.format_exception(error))
        protocol.send(out, {"event": "fatal", "message": message})
        os._exit(3)
    protocol.send(out, {"event": "ready", "uid": os.getuid(), "landlock": abi, "seccomp": filtered})
    sys.modules["otter"] = _fake_otter()
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    _run_cells(job, out, namespace, protocol)
    stand_ins = _StandIns(job, namespace, answers, out, np, protocol)
    _run_calls(job, namespace, out, np, protocol, compare, stand_ins)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    protocol.send(out, {"event": "done", "peak_kb": peak})
    os._exit(0)  # skip atexit handlers and finalizers registered by student code


def _wait(pid, timeout):
    """A child's exit status (negative: the signal that ended it), or None if it is still
    running after `timeout` seconds. Woken by the child's pid file descriptor the moment it
    ends (polled where the kernel has none): the grader waits for this after every worker."""
    import select
    import time

    try:
        handle = os.pidfd_open(pid)
    except (AttributeError, OSError):  # no pid file descriptors on this system
        handle = None
    deadline = time.monotonic() + timeout
    try:
        while True:
            done, code = os.waitpid(pid, os.WNOHANG)
            if done:
                return -os.WTERMSIG(code) if os.WIFSIGNALED(code) else os.WEXITSTATUS(code)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            if handle is None:
                time.sleep(min(0.002, remaining))
            else:
                select.select([handle], [], [], remaining)
    finally:
        if handle is not None:
            os.close(handle)


def _serve(control, np, protocol, compare):
    """The fork server: every job runs in a fresh forked child; the server runs no student code.

    Requests arrive on a Unix socket, one at a time: ``spawn`` (with the job's two pipe ends
    attached) answers the child's pid; ``wait`` answers its exit status, or None if it is still
    running after the given timeout; ``kill`` ends the child's whole process group.
    """
    import socket

    channel = socket.socket(fileno=control)
    while True:
        message, fds, _, _ = socket.recv_fds(channel, 4096, 2)
        if not message:
            os._exit(0)
        request = json.loads(message)
        if request["op"] == "spawn":
            pid = os.fork()
            if pid == 0:
                channel.close()
                os.setsid()
                # A worker that kills its server dies at once, in the call that did it.
                ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
                try:
                    _work(*fds, np, protocol, compare)
                finally:
                    os._exit(4)
            for fd in fds:
                os.close(fd)
            reply = {"pid": pid}
        elif request["op"] == "kill":
            try:
                os.killpg(request["pid"], 9)
            except OSError:
                pass
            reply = {}
        else:  # wait
            reply = {"status": _wait(request["pid"], request["timeout"])}
        channel.sendall(json.dumps(reply).encode())


def main():
    control, numpy_parent, protocol_source, compare_source = sys.argv[1:5]
    sys.path.append(numpy_parent)
    import numpy as np

    sys.path.remove(numpy_parent)  # numpy finds its own submodules; nothing else is importable
    protocol = _module("disc05_protocol", protocol_source)
    compare = _module("disc05_compare", compare_source)
    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE 0: workers cannot trace the server
    # Without namespaces nothing else ends the server with its grading process: SIGKILL then.
    ctypes.CDLL(None).prctl(1, 9, 0, 0, 0)  # PR_SET_PDEATHSIG, SIGKILL
    # Started: the grader stops reading stderr, where start-up errors went; from now on
    # whatever the server or a worker prints goes nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    os.close(devnull)
    # What notebooks import besides numpy (the setup cell: zip archives, paths, html), loaded
    # once here rather than in every worker; student code could import them anyway.
    import html  # noqa: F401
    import pathlib  # noqa: F401
    import zipfile  # noqa: F401

    os.write(int(control), b'{"hello": 1}')
    _serve(int(control), np, protocol, compare)


if __name__ == "__main__":
    main()
