"""Otter plugin: ``otter run -a disc05-autograder.zip SUBMISSION`` grades with disc05's grader.

Otter would run the submission inside its own Jupyter kernel, as the user running Otter,
beside the results it writes. This plugin keeps every line of student code out of Otter:

* `before_grading` deletes ``.OTTER_LOG`` (an export zip carries it, and Otter would unpickle
  this student-made file as the grading user);
* `before_execution` hands Otter's kernel an empty notebook;
* `after_grading` grades the submission with the zip's own ``run-gradescope`` entry point,
  in a separate process that runs student code only in the sandbox, and makes Otter report
  exactly that results.json.

Otter loads plugins by import name, so ``autograder`` must be importable where ``otter run``
runs (``pip install -e .`` in this repository); the grading itself uses the zip's code only.
"""

import copy
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from otter.plugins import AbstractOtterPlugin


class _Results:
    """Replaces GradingResults.to_gradescope_dict with disc05's results (picklable)."""

    def __init__(self, data: dict):
        self.data = data

    def __call__(self, ag_config=None) -> dict:
        return self.data


class Disc05Grading(AbstractOtterPlugin):
    """Grades with disc05's sandboxed grader instead of Otter's in-kernel checks."""

    def before_grading(self, config):
        log = Path(self.submission_path).with_name(".OTTER_LOG")
        log.unlink(missing_ok=True)

    def before_execution(self, submission):
        empty = copy.deepcopy(submission)
        empty.cells = []
        return empty

    def after_grading(self, results):
        submission = Path(self.submission_path)
        root = submission.parent.parent
        # Only the zip's code and numpy, as on Gradescope: -S keeps this environment's site
        # packages (and any installed copy of the grader) off the path.
        numpy_site = Path(importlib.util.find_spec("numpy").origin).parent.parent
        env = {**os.environ, "PYTHONPATH": f"{root / 'source'}{os.pathsep}{numpy_site}"}
        subprocess.run(
            [
                sys.executable,
                "-S",
                "-m",
                "autograder",
                "run-gradescope",
                str(root),
                "--submission",
                str(submission),
            ],
            cwd=root / "source",
            env=env,
            check=True,
        )
        data = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
        results.to_gradescope_dict = _Results(data)
