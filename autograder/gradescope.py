"""The Gradescope side: grade ``/autograder/submission`` into ``results/results.json``.

`run` is what the zip's ``run_autograder`` calls, what ``otter run`` reaches through
`autograder.otter_plugin`, and what ``python -m autograder grade`` shares its code with.
"""

import os
import sys
import traceback
from pathlib import Path

from . import grader, hints, policy, sandbox, spec, wording
from .results import results_json

VENV = "/opt/disc05/venv"  # where setup.sh installs the grading venv on Gradescope
SOLUTION_MODULES = ("__init__.py", "residual.py", "dropout.py")


def shipped_files() -> dict[str, Path]:
    """The grading runtime that the autograder zip ships, by path in the zip.

    That is the `autograder` package whole, without its `release` subpackage (nothing there
    grades), and the answer key's modules.
    """
    root = Path(__file__).resolve().parent.parent
    package = root / "autograder"
    files = {
        path.relative_to(root).as_posix(): path
        for path in sorted(package.rglob("*"))
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.relative_to(package).parts[0] != "release"
    }
    files |= {f"solutions/{name}": root / "solutions" / name for name in SOLUTION_MODULES}
    return files


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
    refused: str | None = None,
    rules: spec.Policy | None = None,
) -> grader.GradeReport:
    """Grade ``root/submission`` (or `submission`) and write ``root/results/results.json``.

    Always writes a results file, whatever the submission does; an internal failure of the
    grader becomes a zero with a message to contact staff, and its traceback goes to stderr
    (with `reraise`, as the release gate asks, it is raised instead). `table` and
    `known_mistakes` let a batch compute reference outputs and mistake outputs once. With
    `refused` (why the upload is not graded: `otter run` found it unpacked too large), nothing
    is graded and results.json says so. results.json follows the policy shipped in
    ``root/source`` (or `rules`), its submission limit judged on
    ``root/submission_metadata.json``.
    """
    rules = rules or policy.release_policy(root / "source")
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    _protect(root)
    try:
        if refused is not None:
            raise grader.SubmissionError(refused)
        report = grader.grade(
            submission or root / "submission", table, known_mistakes=known_mistakes
        )
    except grader.SubmissionError as error:
        report = grader.empty_report(str(error))
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
    metadata = root / policy.METADATA_NAME
    standing = policy.standing_of(rules, metadata)
    if standing is not None and standing.why is not None and metadata.exists():
        # Staff read the autograder's stdout on Gradescope, which always writes the file (the
        # gate's trees and `otter run` write none: nothing to say there).
        print(wording.LIMIT_NOT_APPLIED.format(why=standing.why))
    results.write_bytes(results_json(report.to_gradescope(rules, standing)))
    return report
