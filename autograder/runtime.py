"""Which Python student code runs in, on which platform: found once per grading process.

The candidates, in order: ``$DISC05_SANDBOX_PYTHON`` if set; else the grader's own
interpreter, then the one ``python -m autograder install-sandbox`` creates
(`autograder.install`), whichever the first slot's uid can run with numpy. The platform and the
policy (`autograder.confine`) are read at the same time, so that every slot of one grading
process is confined alike.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from . import confine
from .confine import SandboxUnavailable
from .install import SANDBOX_HOME


@dataclass(frozen=True)
class Runtime:
    """The interpreter student code runs in, and how its slots are confined."""

    interpreter: confine.Interpreter
    platform: confine.Platform
    weak_ok: bool


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


_lock = threading.Lock()
_found: Runtime | None = None


def get() -> Runtime:
    """The sandbox interpreter and platform: $DISC05_SANDBOX_PYTHON, else this one, else the
    installed one, whichever the first slot's uid can run with numpy.

    Raises
    ------
    SandboxUnavailable
        When no candidate works, or the platform cannot confine student code as promised.
    """
    global _found
    with _lock:
        if _found is not None:
            return _found
        found = confine.platform()
        weak_ok = confine.weak_isolation_allowed()
        uid = confine.plan(found, 0, weak_ok).uid
        for python in _candidates():
            described = _describe(python, uid)
            if described is not None:
                _found = Runtime(described, found, weak_ok)
                return _found
    who = "the grader's own user" if uid is None else f"uid {uid}"
    raise SandboxUnavailable(
        f"sandbox unavailable: no Python 3.10+ with numpy that {who} can run: create one with "
        "`python -m autograder install-sandbox`, or set DISC05_SANDBOX_PYTHON"
    )


def refuse_namespaces(rt: Runtime, reason: str) -> Runtime:
    """Remember that bubblewrap cannot start here: every later sandbox goes without it."""
    global _found
    refused = dataclasses.replace(rt.platform, refused=reason)
    with _lock:
        _found = dataclasses.replace(rt, platform=refused)
        return _found


def forget() -> None:
    """Look at the platform afresh on the next `get` (after a change of `DISC05_PLATFORM`)."""
    global _found
    with _lock:
        _found = None
