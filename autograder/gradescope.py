"""The Gradescope side: grade ``/autograder/submission`` into ``results/results.json``, and
package the autograder zip in Otter's layout.

`run` is what the zip's ``run_autograder`` calls, what ``otter run`` reaches through
`autograder.otter_plugin`, and what ``python -m autograder grade`` shares its code with.
"""

import json
import os
import sys
import traceback
from pathlib import Path

from . import grader, hints, sandbox, spec, wording
from .archive import zip_bytes

REQUIREMENTS = f"numpy=={spec.NUMPY_VERSION}\n"
VENV = "/opt/disc05/venv"
# Build-only modules stay out of the zip; everything else of the package goes in, so that a
# module added to the grading path can never be forgotten.
BUILD_ONLY = ("build.py", "notebook.py", "public_checks.py", "bench.py")
SOLUTION_MODULES = ("__init__.py", "residual.py", "dropout.py")

SETUP_SH = f"""#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image (Ubuntu 22.04 or 24.04).
# It installs the pinned requirements with pip into a virtual environment that the
# unprivileged sandbox user can run. Nothing else is downloaded.
# DISC05_VENV and DISC05_SOURCE move it elsewhere (`python -m autograder gradescope-venv`).
set -euo pipefail
VENV="${{DISC05_VENV:-{VENV}}}"
SOURCE="${{DISC05_SOURCE:-/autograder/source}}"
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
    apt-get update
    apt-get install -y --no-install-recommends python3 python3-venv
fi
python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' || {{
    echo "disc05 needs Python 3.10 or newer; this image has $(python3 --version)" >&2
    exit 1
}}
# bubblewrap gives student code its own namespaces where the container allows them; where it
# does not, the grader falls back to a uid of its own, Landlock and resource limits.
apt-get install -y --no-install-recommends bubblewrap || echo "bubblewrap not installed" >&2
python3 -m venv "$VENV"
"$VENV/bin/pip" install --no-cache-dir --requirement "$SOURCE/requirements.txt"
chmod a+rx "$(dirname "$VENV")"
chmod -R a+rX "$VENV"
"""

RUN_AUTOGRADER = f"""#!/usr/bin/env bash
# Gradescope runs this for every submission: it grades /autograder/submission into
# /autograder/results/results.json, with the same code as `python -m autograder grade`.
set -u
ROOT="${{DISC05_AUTOGRADER_ROOT:-/autograder}}"
PYTHON="${{DISC05_PYTHON:-{VENV}/bin/python}}"
RESULTS="$ROOT/results/results.json"
cd "$ROOT/source"
# Each submission is alone in its container, and source/ and results/ are root's: where the
# container refuses namespaces, the remaining layers are enough here (README: isolation).
PYTHONPATH="$ROOT/source" "$PYTHON" -m autograder run-gradescope --allow-weak-isolation "$ROOT" \
    || [ -s "$RESULTS" ] || {{
    # The grader could not even start: still leave a results file that says so.
    MESSAGE="The autograder failed to start; please tell the course staff."
    echo "{{\\"score\\": 0, \\"output\\": \\"$MESSAGE\\", \\"tests\\": []}}" > "$RESULTS"
}}
"""

OTTER_CONFIG = {
    "lang": "python",
    "plugins": ["autograder.otter_plugin.Disc05Grading"],
    "pdf": False,
    "show_stdout": False,
    "print_summary": True,
}


def _protect(root: Path) -> None:
    """As root, make the answer key and the results unreadable to everyone else."""
    if os.geteuid() != 0:
        return
    for path in (root / "source", root / "results"):
        if path.exists():
            path.chmod(0o700)


def run(
    root: Path,
    submission: Path | None = None,
    table: dict | None = None,
    known_mistakes: hints.Hints | None = None,
    reraise: bool = False,
) -> grader.GradeReport:
    """Grade ``root/submission`` (or `submission`) and write ``root/results/results.json``.

    Always writes a results file, whatever the submission does; an internal failure of the
    grader becomes a zero with a message to contact staff, and its traceback goes to stderr
    (with `reraise`, as the release gate asks, it is raised instead). `table` and
    `known_mistakes` let a batch compute reference outputs and mistake outputs once.
    """
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    _protect(root)
    try:
        report = grader.grade(
            submission or root / "submission", table, known_mistakes=known_mistakes
        )
    except sandbox.SandboxUnavailable as error:
        if reraise:
            raise
        print(error, file=sys.stderr)
        report = grader.empty_report(wording.SANDBOX_UNAVAILABLE.format(error=error))
    except Exception:  # noqa: BLE001 - the results file must be written in any case
        if reraise:
            raise
        traceback.print_exc(file=sys.stderr)
        report = grader.empty_report(wording.GRADER_FAILED)
    results.write_text(json.dumps(report.to_gradescope(), indent=2) + "\n", encoding="utf-8")
    return report


def autograder_files(public_tests: dict[str, str]) -> dict[str, bytes]:
    """Contents of the Gradescope autograder zip (Otter's layout), by path."""
    root = Path(__file__).resolve().parent.parent
    files = {
        "run_autograder": RUN_AUTOGRADER.encode(),
        "setup.sh": SETUP_SH.encode(),
        "requirements.txt": REQUIREMENTS.encode(),
        "otter_config.json": (json.dumps(OTTER_CONFIG, indent=2) + "\n").encode(),
    }
    for module in sorted((root / "autograder").glob("*.py")):
        if module.name not in BUILD_ONLY:
            files[f"autograder/{module.name}"] = module.read_bytes()
    for name in SOLUTION_MODULES:
        files[f"solutions/{name}"] = (root / "solutions" / name).read_bytes()
    files.update({path: text.encode() for path, text in public_tests.items()})
    return files


def autograder_zip(public_tests: dict[str, str]) -> bytes:
    return zip_bytes(autograder_files(public_tests), executable=("run_autograder", "setup.sh"))
