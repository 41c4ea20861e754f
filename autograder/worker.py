"""The sandboxed side of grading: runs a submission's cells and calls its functions.

This file is never imported by the grader. `autograder.sandbox` starts it as a fork server:
a fresh interpreter started with ``-I -S`` (no site packages, no environment, no current
directory on the path) as an unprivileged user, which imports numpy once and forks a child
for every submission. Each child reads one job from a pipe, confines itself (resource
limits, and Landlock where the kernel has it: read access only to the interpreter, numpy and
system libraries, write access only to its own scratch folder, no TCP, no signals or ptrace
outside itself), and only then runs student code. It reports over a second pipe, one JSON
line per event, and sends back plain data only: float64 arrays as base64 bytes, strings and
numbers. It decides no score: every value it sends is checked by the grader, which never
runs student code.

Standard library and numpy only, and Python 3.10 syntax: it runs on the grading machine's
Python, not the one that built the release.
"""

import base64
import builtins
import ctypes
import json
import os
import resource
import sys
import traceback
import types

_dumps, _write, _b64encode = json.dumps, os.write, base64.b64encode
_MESSAGE_CHARS = 300


def _send(fd, event):
    data = (_dumps(event) + "\n").encode()
    while data:
        data = data[_write(fd, data) :]


def _read_job(fd):
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return json.loads(b"".join(chunks))


def _decode(value, np):
    if "array" in value:
        data = base64.b64decode(value["array"])
        return np.frombuffer(data, dtype="<f8").reshape(value["shape"]).copy()
    if "list" in value:
        return value["list"]
    return float(value["float"])


def _encode(array):
    array = array.astype("<f8", copy=False)
    return {"array": _b64encode(array.tobytes()).decode(), "shape": list(array.shape)}


def _limit(name, value):
    resource.setrlimit(getattr(resource, name), (value, value))


def _confine(limits):
    _limit("RLIMIT_AS", limits["memory_mb"] << 20)
    _limit("RLIMIT_CPU", limits["cpu_seconds"])
    _limit("RLIMIT_FSIZE", limits["file_mb"] << 20)
    _limit("RLIMIT_NOFILE", 64)
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


def _landlock(readable, writable):
    """Allow reads below `readable`, everything below `writable`, nothing else; return the ABI."""
    libc = ctypes.CDLL(None, use_errno=True)
    syscall = libc.syscall
    syscall.restype = ctypes.c_long
    abi = syscall(_CREATE_RULESET, None, ctypes.c_size_t(0), ctypes.c_uint32(1))
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
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    if syscall(_RESTRICT_SELF, ruleset, 0) < 0:
        raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    os.close(ruleset)
    return abi


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


def _short(text):
    text = " ".join(str(text).split())
    return text if len(text) <= _MESSAGE_CHARS else text[: _MESSAGE_CHARS - 1] + "…"


def _describe(error):
    """Exception type, message and the student's own frames (cells), nothing of ours."""
    try:
        message = _short(error)
    except BaseException:
        message = "<the exception's message could not be printed>"
    frames = [
        f"{frame.filename[1:-1]}, line {frame.lineno}, in {frame.name}"
        for frame in traceback.extract_tb(error.__traceback__)
        if frame.filename.startswith("<cell ")
    ]
    return {"type": type(error).__name__, "message": message, "where": frames[-3:]}


def _run_cells(cells, skip, out, namespace):
    for index, source in enumerate(cells):
        if index in skip:
            continue
        _send(out, {"event": "cell", "index": index})
        try:
            code = compile(source, f"<cell {index + 1}>", "exec")
            exec(code, namespace)  # noqa: S102 - the sandbox's purpose
        except BaseException as error:  # noqa: BLE001 - students may raise anything
            _send(out, {"event": "cell_error", "index": index, **_describe(error)})


def _run_calls(calls, namespace, out, np):
    """Call the graded functions; one ``result`` line per call, in the order given."""
    _send(out, {"event": "calls"})
    for call in calls:
        head = {"event": "result", "id": call["id"]}
        function = namespace.get(call["function"])
        if not callable(function):
            _send(out, {**head, "status": "not_defined"})
            continue
        try:
            # call_on_copies, as_float_array and changed come from autograder.compare.
            result, given = call_on_copies(function, call["args"], call["strict"])  # noqa: F821
            array, problem = as_float_array(result)  # noqa: F821
            modified = any(changed(b, a) for b, a in zip(call["args"], given, strict=True))  # noqa: F821
        except NotImplementedError as error:
            _send(out, {**head, "status": "not_attempted", **_describe(error)})
            continue
        except BaseException as error:  # noqa: BLE001
            _send(out, {**head, "status": "error", **_describe(error)})
            continue
        if problem is not None:
            _send(out, {**head, "status": "unconvertible", "message": problem})
            continue
        _send(out, {**head, "status": "ok", "value": _encode(array), "modified": bool(modified)})


def _work(job_fd, out):
    """A forked child: read one job, confine itself, run the student's code, report, exit."""
    try:
        job = _read_job(job_fd)
        import numpy as np

        exec(job["compare"], globals())  # the calling and judging code shared with the grader

        calls = [{**call, "args": [_decode(a, np) for a in call["args"]]} for call in job["calls"]]
        os.chdir(job["writable"][0])
        _confine(job["limits"])
        try:
            abi = _landlock(job["readable"], job["writable"]) if job["landlock"] else 0
        except OSError:
            abi = 0  # a kernel or container that refuses Landlock: the user switch still holds
    except BaseException as error:  # noqa: BLE001
        _send(out, {"event": "fatal", "message": "".join(traceback.format_exception(error))})
        os._exit(3)
    _send(out, {"event": "ready", "uid": os.getuid(), "landlock": abi})
    sys.modules["otter"] = _fake_otter()
    namespace = {"__name__": "__main__", "__builtins__": builtins}
    _run_cells(job["cells"], set(job["skip"]), out, namespace)
    _run_calls(calls, namespace, out, np)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _send(out, {"event": "done", "peak_kb": peak})
    os._exit(0)  # skip atexit handlers and finalizers registered by student code


def _serve(control):
    """The fork server: numpy is imported once here; every job runs in a fresh forked child.

    Requests arrive on a Unix socket, one at a time: ``spawn`` (with the job's two pipe ends
    attached) answers the child's pid; ``wait`` answers its exit status, or None if it is still
    running after the given timeout. The server itself never runs student code.
    """
    import socket
    import time

    import numpy  # noqa: F401 - imported once, before any fork

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
                try:
                    _work(*fds)
                finally:
                    os._exit(4)
            for fd in fds:
                os.close(fd)
            channel.sendall(_dumps({"pid": pid}).encode())
        elif request["op"] == "wait":
            deadline = time.monotonic() + request["timeout"]
            status = None
            while status is None:
                done, code = os.waitpid(request["pid"], os.WNOHANG)
                if done:
                    status = -os.WTERMSIG(code) if os.WIFSIGNALED(code) else os.WEXITSTATUS(code)
                elif time.monotonic() >= deadline:
                    break
                else:
                    time.sleep(0.005)
            channel.sendall(_dumps({"status": status}).encode())


def _strip_to_stdlib():
    """Leave only the standard library importable (numpy is already imported).

    The server starts with its site packages, to find numpy; afterwards nothing else there
    (such as an installed copy of the grader) may be importable by student code.
    """
    import importlib
    import sysconfig

    paths = sysconfig.get_paths()
    stdlib = tuple(os.path.realpath(paths[k]) for k in ("stdlib", "platstdlib"))
    site = tuple(os.path.realpath(paths[k]) for k in ("purelib", "platlib"))

    def standard(path):
        real = os.path.realpath(path) if path else ""
        return real.startswith(stdlib) and not real.startswith(site)

    sys.path[:] = [p for p in sys.path if standard(p)]
    standard_modules = ("_frozen_importlib", "_frozen_importlib_external", "zipimport")
    sys.meta_path[:] = [
        f for f in sys.meta_path if getattr(f, "__module__", "") in standard_modules
    ]
    sys.path_hooks[:] = [
        h for h in sys.path_hooks if getattr(h, "__module__", "") in standard_modules
    ]
    sys.path_importer_cache.clear()
    for name, module in list(sys.modules.items()):
        where = getattr(module, "__file__", None) or ""
        if where.startswith(site) and not (name == "numpy" or name.startswith("numpy.")):
            del sys.modules[name]
    importlib.invalidate_caches()
    return list(sys.path)


def main():
    import numpy

    control = int(sys.argv[1])
    numpy_dir = os.path.dirname(os.path.realpath(numpy.__file__))
    libs = os.path.join(os.path.dirname(numpy_dir), "numpy.libs")
    path = _strip_to_stdlib()
    hello = {"path": path, "numpy": [numpy_dir] + ([libs] if os.path.isdir(libs) else [])}
    os.write(control, _dumps(hello).encode())
    _serve(control)


main()
