"""Interpreters for grading: the sandbox's (``install-sandbox``) and Gradescope's venv
(``gradescope-venv``), both with the numpy that the autograder zip pins.

Grading as root needs a Python that the sandbox user can run. When the installing Python
lives where that user cannot reach (under /root, say), `install` creates one from the system
Python, in a folder named after the pinned numpy version: checkouts on one machine that pin
the same numpy share it, and one that pins another version gets its own folder. An existing
sandbox that works is never recreated; a new one is made beside its final place and moved
there in one step, so that no other checkout ever sees it half made.
"""

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from . import confine
from .archive import swap_folders
from .confine import SandboxUnavailable
from .spec import NUMPY_VERSION

SANDBOX_HOME = Path(f"/opt/disc05-sandbox-numpy-{NUMPY_VERSION}")
_BASES = ("/usr/bin/python3", "/usr/local/bin/python3")


def _as(user: str | None) -> dict:
    """`subprocess` arguments that run a command as `user` (by name; None: as ourselves)."""
    return {} if user is None else confine.run_as(pwd.getpwnam(user).pw_uid)


def _usable(python: str, user: str | None, numpy_version: str | None = None) -> bool:
    """Whether `user` can run `python` with numpy (of `numpy_version`, if given), 3.10 or newer."""
    code = "import sys, numpy; sys.exit(sys.version_info < (3, 10))"
    if numpy_version is not None:
        code += f"; sys.exit(numpy.__version__ != {numpy_version!r})"
    try:
        done = subprocess.run(
            [python, "-I", "-c", code], cwd="/", capture_output=True, timeout=60, **_as(user)
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


def _base_python(user: str) -> str:
    """A system Python 3.10+ with venv that `user` can run."""
    check = "import sys, ensurepip, venv; sys.exit(sys.version_info < (3, 10))"
    for base in _BASES:
        if not Path(base).exists():
            continue
        done = subprocess.run([base, "-I", "-c", check], cwd="/", capture_output=True, **_as(user))
        if done.returncode == 0:
            return base
    raise SandboxUnavailable(
        f"no Python 3.10+ with venv that {user!r} can run in {', '.join(_BASES)}"
    )


def install(home: Path = SANDBOX_HOME) -> str:
    """Create the sandbox interpreter (a venv with the pinned numpy) if grading needs one.

    Returns a one-line description of what was done.

    Raises
    ------
    SandboxUnavailable
        If no system Python can be used, or the new venv does not work for the sandbox user.
    """
    user = confine.SHARED_USER if os.geteuid() == 0 else None
    pin = f"numpy=={NUMPY_VERSION}"
    if user is None or _usable(sys.executable, user, NUMPY_VERSION):
        return f"not needed: student code will run under {sys.executable}"
    python = home / "bin" / "python"
    if _usable(str(python), user, NUMPY_VERSION):
        return f"already there: {home} ({pin}); left as it is"
    base = _base_python(user)
    home.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{home.name}.new-", dir=home.parent))
    try:
        subprocess.run([base, "-m", "venv", str(staging)], check=True, capture_output=True)
        subprocess.run(
            [str(staging / "bin" / "python"), "-m", "pip", "install", "--quiet", pin],
            check=True,
        )
        staging.chmod(0o755)
        if not _usable(str(staging / "bin" / "python"), user, NUMPY_VERSION):
            raise SandboxUnavailable(f"a new venv with {pin} does not work for {user!r}")
        if home.exists() or home.is_symlink():
            # Not usable (checked above): a broken or older one, swapped out, then removed.
            swap_folders(staging, home)
        else:
            staging.rename(home)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return f"created {home} ({pin}) from {base}"
