#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image (Ubuntu 22.04 or 24.04).
# It installs the pinned requirements with pip into a virtual environment that the
# unprivileged sandbox user can run, and bubblewrap and python3-venv with apt where they are
# missing. Nothing else is downloaded.
# DISC05_VENV and DISC05_SOURCE move it elsewhere (`python -m autograder gradescope-venv`).
set -euo pipefail
VENV="${DISC05_VENV:-{{ venv }}}"
SOURCE="${DISC05_SOURCE:-/autograder/source}"
has_venv() { python3 -c 'import ensurepip, venv' 2>/dev/null; }
# An image may come with empty or stale package lists: refresh them before installing anything.
if { ! has_venv || ! command -v bwrap >/dev/null; } && command -v apt-get >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update || echo "disc05 setup: apt-get update failed; installing from the package lists as they are" >&2
fi
if ! has_venv; then
    apt-get install -y --no-install-recommends python3 python3-venv
fi
python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
    echo "disc05 needs Python 3.10 or newer; this image has $(python3 --version)" >&2
    exit 1
}
# bubblewrap gives student code its own namespaces where the container allows them; where it
# does not, the grader falls back to a uid of its own, Landlock and resource limits.
if ! command -v bwrap >/dev/null; then
    if ! { command -v apt-get >/dev/null \
            && apt-get install -y --no-install-recommends bubblewrap \
            && command -v bwrap >/dev/null; }; then
        echo "disc05 setup: bubblewrap could not be installed; student code will be graded with the fallback isolation (a uid of its own, Landlock where the kernel has it, a seccomp filter, resource limits)" >&2
    fi
fi
python3 -m venv "$VENV"
"$VENV/bin/pip" install --no-cache-dir --requirement "$SOURCE/requirements.txt"
chmod a+rx "$(dirname "$VENV")"
chmod -R a+rX "$VENV"
