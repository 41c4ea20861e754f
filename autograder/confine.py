"""Where student code may run: the platform's isolation layers, and the policy that uses them.

What student code gets, whatever the platform (the *guarantees*):

1. it reads only the interpreter's standard library, numpy and system libraries;
2. it writes nowhere (no file, so no disk space and no file count to bound);
3. it cannot signal, trace or connect to any process outside its own sandbox, other
   workers included, and has no network;
4. its memory, CPU time and processes are bounded (512 MB, the submission's budget, none).

Which layer gives each, per platform:

* bubblewrap (user, mount, PID, network, IPC, UTS and cgroup namespaces; a read-only root that
  holds only the interpreter, numpy and system libraries; no further user namespaces): 1, 2, 3.
  Linux with unprivileged user namespaces (Debian, Ubuntu, most distributions, containers that
  allow them).
* a uid of its own per grading slot, when the grader runs as root: 3 between slots, and 1 for
  files that only their owner may read.
* Landlock: 1 and 2 from ABI 1 (Linux 5.13), TCP from ABI 4, signals and abstract sockets from
  ABI 6 (Linux 6.12).
* a seccomp filter (`autograder.syscalls`): no sockets of any family, no System V IPC, no
  keyrings, namespaces, mounts or tracing; 2 and 3 where the layers above leave gaps. Linux
  with libseccomp (everywhere apt is).
* resource limits, and a fork server that cannot be traced: 4, and no tracing, everywhere.

The policy is to fail closed: student code runs only where bubblewrap works and libseccomp can
build the filter. Elsewhere the grader refuses, with one line saying what is missing, unless
staff opt in to the layers that remain (``--allow-weak-isolation`` or
``DISC05_ALLOW_WEAK_ISOLATION=1``; the Gradescope entry point opts in, since each submission
there is alone in its container and the autograder's files are root's). Every report records
the layers actually used.

`DISC05_PLATFORM` emulates a weaker platform on a stronger one, so that tests and the build
exercise every fallback: a comma-separated list of ``namespaces=off`` (no bubblewrap),
``landlock=N`` (Landlock ABI at most N; 0: none), ``seccomp=off`` (no libseccomp) and
``root=off`` (as root: every slot shares the one uid ``nobody``, as every worker shares the
grader's uid when it is not root).
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import importlib.util
import inspect
import json
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from . import syscalls

SHARED_USER = "nobody"
# Grading slots of a root grader run as uids of their own, from this base (no account uses
# them); the grader's pid spreads concurrent graders on one machine apart.
SLOT_UID_BASE = 1_900_000_000
SYSTEM_PATHS = ("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/etc/ld.so.cache")
DEVICES = ("/dev/null", "/dev/urandom")


class SandboxUnavailable(Exception):
    """Student code cannot be run here as promised; the message says why and what to do."""


@dataclass(frozen=True)
class Platform:
    """What this machine offers, possibly weakened by `DISC05_PLATFORM`."""

    bwrap: str | None  # bubblewrap's path; None: no namespaces
    landlock: int  # highest Landlock ABI to use (0: none)
    root: bool
    seccomp: bytes | None = None  # the system-call filter (`autograder.syscalls`), if any
    refused: str = ""  # why bubblewrap, though installed, could not start a sandbox here

    @property
    def emulated(self) -> bool:
        return bool(os.environ.get("DISC05_PLATFORM"))


def kernel_landlock_abi() -> int:
    """The kernel's Landlock ABI (0 where there is none)."""
    try:
        syscall = ctypes.CDLL(None, use_errno=True).syscall
        syscall.restype = ctypes.c_long
        return max(0, int(syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))))
    except (OSError, AttributeError):
        return 0


def platform() -> Platform:
    """This machine, as `DISC05_PLATFORM` says to treat it.

    Raises
    ------
    SandboxUnavailable
        If the switch is malformed.
    """
    found = Platform(
        bwrap=shutil.which("bwrap"),
        landlock=kernel_landlock_abi(),
        root=os.geteuid() == 0,
        seccomp=syscalls.filter_program(),
    )
    switch = os.environ.get("DISC05_PLATFORM", "").strip()
    for item in filter(None, (part.strip() for part in switch.split(","))):
        key, _, value = item.partition("=")
        if key == "namespaces" and value == "off":
            found = dataclasses.replace(found, bwrap=None)
        elif key == "root" and value == "off":
            found = dataclasses.replace(found, root=False)
        elif key == "seccomp" and value == "off":
            found = dataclasses.replace(found, seccomp=None)
        elif key == "landlock" and value.isdigit():
            found = dataclasses.replace(found, landlock=min(found.landlock, int(value)))
        else:
            raise SandboxUnavailable(
                f"DISC05_PLATFORM: cannot read {item!r} (expected namespaces=off, "
                "landlock=N, root=off or seccomp=off, separated by commas)"
            )
    return found


def weak_isolation_allowed() -> bool:
    return os.environ.get("DISC05_ALLOW_WEAK_ISOLATION", "") not in ("", "0")


@dataclass(frozen=True)
class Interpreter:
    """A Python with numpy, and the files student code may read from it."""

    python: str  # the executable to start (a venv's, so that its numpy is found)
    executable: str  # the real binary behind it
    stdlib: tuple[str, ...]  # the standard library folders (site-packages excluded below)
    site: tuple[str, ...]  # site-packages folders: hidden, but for numpy
    numpy: str  # numpy's package folder
    numpy_libs: str | None  # numpy's bundled libraries (wheels), if any
    prefix: str  # the installation (for its shared library, if any)

    @property
    def numpy_parent(self) -> str:
        return str(Path(self.numpy).parent)

    @property
    def readable(self) -> tuple[str, ...]:
        """What a worker may read (its Landlock rules)."""
        own = (self.executable, *self.stdlib, self.numpy, *filter(None, [self.numpy_libs]))
        libs = tuple(str(p) for p in Path(self.prefix, "lib").glob("libpython*"))
        return (*own, *libs, *SYSTEM_PATHS, *DEVICES)


_PROBE_IMPORTS = "import importlib.util, json, os, sys, sysconfig"


def _facts() -> dict | None:
    """This interpreter's `Interpreter` fields but `python`, or None without numpy or 3.10.

    The grader calls it for itself; for another interpreter its source is run there, after
    `_PROBE_IMPORTS`.
    """
    spec = importlib.util.find_spec("numpy")
    if spec is None or spec.origin is None or sys.version_info < (3, 10):
        return None
    paths = sysconfig.get_paths()
    numpy_dir = os.path.dirname(os.path.realpath(spec.origin))
    libs = os.path.join(os.path.dirname(numpy_dir), "numpy.libs")
    return {
        "executable": os.path.realpath(sys.executable),
        "stdlib": sorted({os.path.realpath(paths[k]) for k in ("stdlib", "platstdlib")}),
        "site": sorted({os.path.realpath(paths[k]) for k in ("purelib", "platlib")}),
        "numpy": numpy_dir,
        "numpy_libs": libs if os.path.isdir(libs) else None,
        "prefix": os.path.realpath(sys.base_prefix),
    }


def _interpreter(python: str, facts: object) -> Interpreter | None:
    if not isinstance(facts, dict):
        return None
    return Interpreter(
        python=python, **{**facts, "stdlib": tuple(facts["stdlib"]), "site": tuple(facts["site"])}
    )


@functools.cache
def interpreter(python: str, user: int | None) -> Interpreter | None:
    """Describe `python` as the sandbox will run it, or None if it cannot (as `user`)."""
    probe = f"{_PROBE_IMPORTS}\n{inspect.getsource(_facts)}\nprint(json.dumps(_facts()))\n"
    try:
        done = subprocess.run(
            [python, "-I", "-c", probe],
            cwd="/",
            capture_output=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            **run_as(user),
        )
        facts = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    return _interpreter(python, facts)


def this_interpreter() -> Interpreter | None:
    """The grader's own interpreter, described without starting another process."""
    return _interpreter(sys.executable, _facts())


def run_as(uid: int | None) -> dict:
    """`subprocess` arguments that start a process as `uid` (and a group of the same number)."""
    if uid is None:
        return {}
    gid = pwd.getpwuid(uid).pw_gid if uid == pwd.getpwnam(SHARED_USER).pw_uid else uid
    return {"user": uid, "group": gid, "extra_groups": []}


def slot_uid(platform: Platform, slot: int) -> int | None:
    """The uid a grading slot's sandbox runs as: its own when root, else the grader's own.

    ``root=off`` emulation makes every slot share ``nobody``, as every slot shares the
    grader's uid when it is not root.
    """
    if os.geteuid() != 0:
        return None
    if not platform.root:
        return pwd.getpwnam(SHARED_USER).pw_uid
    return SLOT_UID_BASE + (os.getpid() % 100_000) * 64 + slot % 64


def bwrap_argv(bwrap: str, interp: Interpreter) -> list[str]:
    """bubblewrap's command line: new namespaces, and a read-only root that holds only the
    interpreter, numpy and system libraries (site-packages folders are empty but for numpy)."""
    argv = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns"]
    # --die-with-parent: the sandbox ends with the grader (which starts it from a thread that
    # lives as long as it does), or when its bubblewrap is killed.
    argv += ["--die-with-parent", "--new-session", "--cap-drop", "ALL", "--hostname", "sandbox"]
    seen: list[str] = []
    for path in (*SYSTEM_PATHS, interp.executable, *interp.stdlib, interp.prefix + "/lib"):
        if not os.path.lexists(path) or any(path == s or path.startswith(s + "/") for s in seen):
            continue
        if os.path.islink(path):
            argv += ["--symlink", os.readlink(path), path]
        else:
            argv += ["--ro-bind", path, path]
            seen.append(path)
    installed = [f"{d}/{n}" for d in interp.stdlib for n in ("site-packages", "dist-packages")]
    hidden = [
        site
        for site in dict.fromkeys((*interp.site, *installed, "/usr/lib/python3/dist-packages"))
        if os.path.isdir(site) and any(site.startswith(s + "/") for s in seen)
    ]
    for site in hidden:  # an empty folder over it: nothing installed there but numpy is seen
        argv += ["--tmpfs", site]
    argv += ["--ro-bind", interp.numpy, interp.numpy]
    if interp.numpy_libs:
        argv += ["--ro-bind", interp.numpy_libs, interp.numpy_libs]
    for site in hidden:
        argv += ["--remount-ro", site]
    for device in DEVICES:
        argv += ["--dev-bind", device, device]
    return [*argv, "--remount-ro", "/", "--chdir", "/", "--"]


@dataclass(frozen=True)
class Plan:
    """How one grading slot's sandbox is started, and what to record about it."""

    prefix: tuple[str, ...]  # the bubblewrap command line, or nothing
    uid: int | None  # switched to before starting it (root only)
    landlock: int  # the highest Landlock ABI the workers may use
    layers: str  # the confinement, in words, for reports

    def describe(self, landlock_used: int, seccomp_used: bool) -> str:
        abi = f"Landlock ABI {landlock_used}" if landlock_used else "no Landlock"
        filtered = "a seccomp filter" if seccomp_used else "no seccomp filter"
        return f"{self.layers}, {abi}, {filtered}, resource limits"


def plan(found: Platform, slot: int, weak_ok: bool) -> Plan:
    """The layers a slot uses on `found`, or why student code may not run there.

    Raises
    ------
    SandboxUnavailable
        Without bubblewrap or without a system-call filter, unless `weak_ok`.
    """
    uid = slot_uid(found, slot)
    if uid is None:
        who = "the grader's own uid"
    elif found.root:
        who = "a uid of its own per slot"
    else:
        who = f"one uid ({SHARED_USER}) shared by every slot"
    namespaces = found.bwrap is not None and not found.refused
    if namespaces and found.seccomp is not None:
        return Plan((found.bwrap,), uid, found.landlock, f"bubblewrap namespaces, {who}")
    if found.refused:
        why = f"bubblewrap could not start a sandbox ({found.refused})"
    elif namespaces:
        why = "libseccomp is not installed, so no system-call filter can be built"
    elif shutil.which("bwrap") is None:
        why = "bubblewrap is not installed"
    else:
        why = "bubblewrap is switched off (DISC05_PLATFORM)"
    if not weak_ok:
        raise SandboxUnavailable(refusal(why, found))
    if namespaces:
        layers = f"bubblewrap namespaces ({why}; weak isolation allowed), {who}"
        return Plan((found.bwrap,), uid, found.landlock, layers)
    return Plan((), uid, found.landlock, f"no namespaces ({why}; weak isolation allowed), {who}")


def secrets() -> list[str]:
    """Every file student code must never read, where this grading process has them: the
    grader (whose `autograder.cases` makes the hidden cases), the answer key, and beside them
    in a checkout the built release (``dist/``: the solution notebook, the autograder zip) and
    the git history (which holds every version of the key)."""
    import solutions

    package = Path(__file__).resolve().parent
    folders = {package, Path(solutions.__file__).resolve().parent, package.parent / "dist"}
    folders |= _git_folders(package.parent / ".git")
    return sorted(
        str(path)
        for folder in folders
        if folder.is_dir()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )


def _git_folders(git: Path) -> set[Path]:
    """A checkout's git folders: ``.git`` itself, or for a linked worktree (a ``.git`` file
    saying ``gitdir: PATH``) that folder and the repository's common one."""
    if git.is_dir():
        return {git}
    try:
        line = git.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return set()
    if not line.startswith("gitdir:"):
        return set()
    own = (git.parent / line.removeprefix("gitdir:").strip()).resolve()
    try:
        common = (own / (own / "commondir").read_text(encoding="utf-8").strip()).resolve()
    except (OSError, UnicodeDecodeError):
        return {own}
    return {own, common}


# Run as the sandbox's uid: prints the first of the files named on stdin that it can open.
_PROBE = """
import json, os, sys
for path in json.load(sys.stdin):
    try:
        os.close(os.open(path, os.O_RDONLY))
    except OSError:
        continue
    print(path)
    break
"""


def check_unreadable(python: str, uid: int | None, files: list[str]) -> None:
    """Refuse unless a process of `uid` (None: this one's) can open none of `files`: without
    namespaces and Landlock, file permissions are all that keep the answer key from a stub.

    Raises
    ------
    SandboxUnavailable
        If one of them can be read, or the check itself cannot run.
    """
    try:
        done = subprocess.run(
            [python, "-I", "-S", "-c", _PROBE],
            input=json.dumps(files),
            capture_output=True,
            text=True,
            timeout=60,
            cwd="/",
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
            **run_as(uid),
        )
    except (OSError, subprocess.SubprocessError) as error:
        raise SandboxUnavailable(
            f"sandbox unavailable: could not check what student code can read ({error})"
        ) from None
    found = done.stdout.strip()
    if done.returncode != 0 or found:
        who = "the grader's own uid" if uid is None else f"uid {uid}"
        what = found or f"the check failed: {' '.join(done.stderr.split())[-300:]}"
        raise SandboxUnavailable(
            f"sandbox unavailable: without namespaces or Landlock only file permissions keep "
            f"student code from the answer key, and {who} can read {what}; grade as root with "
            "that file's folder readable by root only (mode 0700), or "
            "on a kernel with Landlock, or with bubblewrap"
        )


def refusal(why: str, found: Platform) -> str:
    """One line: why student code will not run here, and the two ways forward."""
    rest = "a uid per slot" if found.root else "the grader's own uid"
    if found.landlock:
        rest += f" and Landlock ABI {found.landlock}"
    if "libseccomp" in why:
        fix = "install libseccomp (package libseccomp2)"
    else:
        fix = "install bubblewrap (apt-get install bubblewrap) on a kernel with user namespaces"
    return (
        f"sandbox unavailable: {why}, so student code cannot be isolated as promised; {fix}, "
        f"or pass --allow-weak-isolation to grade with {rest} and resource limits only"
    )


def provide_bubblewrap() -> str:
    """Install bubblewrap with the system's package manager where it is missing and this can be
    done (root, apt); return one line saying what is there, or what staff should do."""
    if shutil.which("bwrap"):
        return "bubblewrap: already installed"
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return "bubblewrap: not installed; install it (package bubblewrap) to grade locally"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "bubblewrap"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(install, env=env, **quiet).returncode != 0:
        subprocess.run(["apt-get", "update"], env=env, **quiet)
        subprocess.run(install, env=env, **quiet)
    found = shutil.which("bwrap")
    return "bubblewrap: installed" if found else "bubblewrap: apt-get could not install it"
