#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image (Ubuntu 22.04 or 24.04).
# It installs the pinned requirements with pip into a virtual environment that the
# unprivileged sandbox user can run. Nothing else is downloaded.
# DISC05_VENV and DISC05_SOURCE move it elsewhere (`python -m autograder gradescope-venv`).
set -euo pipefail
VENV="${DISC05_VENV:-{{ venv }}}"
SOURCE="${DISC05_SOURCE:-/autograder/source}"
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    apt-get update
    apt-get install -y --no-install-recommends python3 python3-venv
fi
python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {
    echo "disc05 needs Python 3.10 or newer; this image has $(python3 --version)" >&2
    exit 1
}
# bubblewrap gives student code its own namespaces where the container allows them; where it
# does not, the grader falls back to a uid of its own, Landlock and resource limits.
apt-get install -y --no-install-recommends bubblewrap || echo "bubblewrap not installed" >&2
python3 -m venv "$VENV"
"$VENV/bin/pip" install --no-cache-dir --requirement "$SOURCE/requirements.txt"
chmod a+rx "$(dirname "$VENV")"
chmod -R a+rX "$VENV"
