"""Otter plugin: ``otter run -a disc05-autograder.zip SUBMISSION`` grades with disc05's grader.

Otter unpacks an export zip into its submission folder and would then start a Jupyter kernel
there, as the user running Otter: any file of the zip that the kernel or Python reads at start-up
(a module named ``otter``, IPython configuration, ``sitecustomize``, a package folder, a ``.pth``
file, the ``.OTTER_LOG`` pickle) would run outside the sandbox. So, before Otter starts anything:

* `before_grading` moves the notebook or script text (the one file Otter chose) out of the
  submission folder, deletes everything else that came with the upload, and leaves in its place
  an empty notebook of the same name: no byte of the upload is left where an interpreter looks.
  An upload that unpacked to more than `spec.UNPACKED_FILES` files or `spec.UNPACKED_BYTES` is
  deleted all the same and not graded: its results.json says why;
* `before_execution` hands Otter's kernel an empty notebook, too;
* `after_grading` grades the saved text with the zip's own ``run-gradescope`` entry point, in a
  separate process that runs student code only in the sandbox, and makes Otter report exactly
  that results.json.

Otter loads plugins by import name, so ``autograder`` must be importable where ``otter run``
runs (``pip install -e .`` in this repository); the grading itself uses the zip's code only.
"""

import copy
import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
from otter.plugins import AbstractOtterPlugin

from . import spec, wording


def _regular_file_bytes(path: Path) -> bytes | None:
    """The file's bytes if it is a regular file (not a link, device or folder), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as file:
        return file.read() if stat.S_ISREG(os.fstat(fd).st_mode) else None


def _unpacked_too_much(folder: Path) -> bool:
    """Whether `folder` holds more than `spec.UNPACKED_FILES` entries or `spec.UNPACKED_BYTES`
    (links not followed; counting stops at the first limit passed)."""
    entries = size = 0
    for top, dirs, files in os.walk(folder):
        for name in dirs + files:
            entries += 1
            try:
                size += os.lstat(os.path.join(top, name)).st_size
            except OSError:
                continue
            if entries > spec.UNPACKED_FILES or size > spec.UNPACKED_BYTES:
                return True
    return False


class _Results:
    """Replaces GradingResults.to_gradescope_dict with disc05's results (picklable)."""

    def __init__(self, data: dict):
        self.data = data

    def __call__(self, ag_config=None) -> dict:
        return self.data


class Disc05Grading(AbstractOtterPlugin):
    """Grades with disc05's sandboxed grader instead of Otter's in-kernel checks."""

    def before_grading(self, config):
        submission = Path(self.submission_path)
        kept = submission.parent.parent / "disc05-submission"
        kept.mkdir(mode=0o700)
        self.refused = None
        if _unpacked_too_much(submission.parent):
            self.refused = wording.UNREADABLE["unpacked_too_much"].format(
                files=spec.UNPACKED_FILES,
                megabytes=spec.UNPACKED_BYTES >> 20,
                notebook=spec.NOTEBOOK_NAME,
            )
        text = None if self.refused else _regular_file_bytes(submission)
        for entry in list(submission.parent.iterdir()):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        (kept / submission.name).write_bytes(text or b"")
        empty = "" if submission.suffix == ".py" else nbformat.writes(nbformat.v4.new_notebook())
        submission.write_text(empty, encoding="utf-8")
        self.kept = kept / submission.name

    def before_execution(self, submission):
        empty = copy.deepcopy(submission)
        empty.cells = []
        return empty

    def after_grading(self, results):
        submission = self.kept
        root = submission.parent.parent
        # Only the zip's code and numpy, as on Gradescope: -S keeps this environment's site
        # packages (and any installed copy of the grader) off the path.
        numpy_site = Path(importlib.util.find_spec("numpy").origin).parent.parent
        env = {**os.environ, "PYTHONPATH": f"{root / 'source'}{os.pathsep}{numpy_site}"}
        refused = ["--refused", self.refused] if self.refused else []
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
                *refused,
            ],
            cwd=root / "source",
            env=env,
            check=True,
        )
        data = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
        results.to_gradescope_dict = _Results(data)
