"""The Gradescope autograder zip, in Otter's layout, and a venv made as its setup.sh makes one.

The zip holds the grading runtime whole (`gradescope.shipped_files`: the `autograder`
package without this `release` subpackage, and the answer key), the public tests, the record
of the student notebook's own cells (`autograder.handout`), the release's policy
(`autograder.policy`: what students see and when, and the submission limit), and the files
Gradescope and Otter read, rendered from the templates beside this module.
"""

import json
import os
import subprocess
import tempfile
from pathlib import Path

import jinja2

from .. import gradescope, handout, policy, spec
from ..archive import zip_bytes
from . import notebook

TEMPLATES = Path(__file__).with_name("templates")
POINTS = "points.json"  # each function's points as released: the next build compares with it
EXECUTABLE = ("run_autograder", "setup.sh")
_ENVIRONMENT = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # noqa: S701 - shell scripts and JSON, never HTML
)


def rendered(name: str) -> str:
    """The template `name`, filled in with the Gradescope venv and the pinned numpy."""
    return _ENVIRONMENT.get_template(name).render(
        venv=gradescope.VENV, numpy_version=spec.NUMPY_VERSION, ijson_version=spec.IJSON_VERSION
    )


def points_record() -> dict:
    """Each function's points and question, and each question's points, as this release
    grades them (`POINTS` in the autograder zip)."""
    return {
        "questions": {f: q.name for q in spec.QUESTIONS for f in q.functions},
        "question_points": {q.name: q.points for q in spec.QUESTIONS},
        "functions": {f: spec.function_points(f) for q in spec.QUESTIONS for f in q.functions},
    }


def autograder_files(
    public_tests: dict[str, str], rules: spec.Policy = spec.POLICY
) -> dict[str, bytes]:
    """Contents of the Gradescope autograder zip (Otter's layout), by path, under `rules`
    (the release's policy unless a test asks for another)."""
    files = {path.name: rendered(path.name).encode() for path in sorted(TEMPLATES.iterdir())}
    json.loads(files["otter_config.json"])  # a template typo fails the build, not Gradescope
    files |= {name: path.read_bytes() for name, path in gradescope.shipped_files().items()}
    files |= {path: text.encode() for path, text in public_tests.items()}
    student = notebook.build_notebook("student", public_tests)
    files[handout.RECORD_NAME] = notebook.release_record(student).to_json().encode()
    files[policy.POLICY_NAME] = policy.to_json(rules).encode()
    files[POINTS] = (json.dumps(points_record(), indent=1) + "\n").encode()
    return files


def autograder_zip(public_tests: dict[str, str], rules: spec.Policy = spec.POLICY) -> bytes:
    return zip_bytes(autograder_files(public_tests, rules), executable=EXECUTABLE)


def gradescope_venv(venv: Path) -> str:
    """Create `venv` the way the autograder zip's setup.sh does on Gradescope (by running it).

    Returns a one-line description of what was done.
    """
    with tempfile.TemporaryDirectory(prefix="disc05-setup-") as source:
        for name in ("setup.sh", "requirements.txt"):
            Path(source, name).write_text(rendered(name), encoding="utf-8")
        # The system's python3, as on Gradescope's image, not one first on this shell's PATH.
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        env = {**os.environ, "PATH": path, "DISC05_VENV": str(venv), "DISC05_SOURCE": source}
        done = subprocess.run(
            ["bash", str(Path(source, "setup.sh"))], env=env, capture_output=True, text=True
        )
    if done.returncode != 0:
        lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
        raise RuntimeError(f"setup.sh failed (exit status {done.returncode}): {lines[-1]}")
    pinned = rendered("requirements.txt").strip()
    return f"{venv} is ready ({pinned}, as setup.sh makes it on Gradescope): {venv}/bin/python"
