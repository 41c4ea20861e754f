"""``python -m autograder build``: make the release in `dist/` and prove it before writing it.

The build renders the public tests and both notebooks, then refuses to write anything
unless: every public check passes on the reference and fails on the stubs, both notebooks
run top to bottom in an empty folder (as a student's fresh download would), the solution
notebook's own ``grader.check`` cells all pass, and the student release contains no line
of reference code, derivation or model answer. Output is byte-for-byte reproducible.
"""

import copy
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

import solutions

from .. import sandbox, spec, wording
from ..archive import swap_folders, zip_bytes
from . import gate, mutation, notebook, package, public_checks, structure
from .leaks import answer_key_fragments, find_leaks
from .notebook import Kind
from .run_checks import ChecksWrong, verify_public_checks

ROOT = notebook.ROOT
DIST = ROOT / "dist"
STUDENT_ZIP = "disc05-student.zip"
AUTOGRADER_ZIP = "disc05-autograder.zip"
MUTATION_REPORT = "mutation-report.md"
EXECUTION_TIMEOUT = 120  # seconds per cell; the demos take about one


class BuildError(Exception):
    """The release is not fit to ship; the message says why."""


# Otter recognises Colab by the name of the IPython shell; make it see Colab in our kernel.
SIMULATE_COLAB = (
    "from otter.check.utils import IPythonInterpreter\n"
    "IPythonInterpreter.COLAB.value.check_strs.append('ipykernel')"
)


def execute_notebook(
    nb: nbformat.NotebookNode, kind: Kind, colab: bool = False, kernel_name: str = "python3"
) -> nbformat.NotebookNode:
    """Run a notebook top to bottom in an empty folder; return it with outputs.

    Locally the folder holds the notebook file alone, as a fresh download would. With
    `colab`, it holds nothing (Colab keeps the notebook off the kernel's disk) and Otter is
    made to believe it runs on Colab.

    Raises
    ------
    BuildError
        If a cell raises, or the export cell does not do what it should: write a zip holding
        the notebook (locally) or write nothing (on Colab).
    """
    executed = copy.deepcopy(nb)
    if colab:  # after the first code cell, which installs otter where it is missing
        first = next(i for i, cell in enumerate(executed.cells) if cell.cell_type == "code")
        executed.cells.insert(first + 1, nbformat.v4.new_code_cell(SIMULATE_COLAB))
    where = "on Colab" if colab else "locally"
    with tempfile.TemporaryDirectory(prefix=f"disc05-{kind}-") as folder:
        if not colab:
            nbformat.write(nb, Path(folder, spec.NOTEBOOK_NAME))
        client = NotebookClient(
            executed,
            timeout=EXECUTION_TIMEOUT,
            kernel_name=kernel_name,
            resources={"metadata": {"path": folder}},
        )
        try:
            client.execute()
        except CellExecutionError as error:
            raise BuildError(f"the {kind} notebook does not run {where}:\n{error}") from None
        exported = [p.name for p in Path(folder).glob("*.zip")]
        if colab and exported:
            raise BuildError(f"the {kind} notebook exported {exported} on Colab")
        if not colab and len(exported) != 1:
            raise BuildError(f"the {kind} notebook's export cell wrote {exported or 'no zip'}")
        if not colab:
            with zipfile.ZipFile(Path(folder, exported[0])) as archive:
                notebooks = [n for n in archive.namelist() if n.endswith(".ipynb")]
                if notebooks != [spec.NOTEBOOK_NAME]:
                    raise BuildError(
                        f"the {kind} export zip holds {notebooks}, not {spec.NOTEBOOK_NAME} alone "
                        "under its own name"
                    )
                if ".OTTER_LOG" in archive.namelist():
                    raise BuildError(f"the {kind} export zip holds Otter's log")
            said = export_lines(executed)
            if not any(exported[0] in line for line in said):
                raise BuildError(
                    f"the {kind} notebook's export cell does not name {exported[0]} in plain "
                    f"text: {said}"
                )
    return executed


def export_lines(executed: nbformat.NotebookNode) -> list[str]:
    """What the export cell (the last code cell) of an executed notebook says, as plain text."""
    cell = [c for c in executed.cells if c.cell_type == "code"][-1]
    texts = [o.get("text") or o.get("data", {}).get("text/plain", "") for o in cell.outputs]
    return "".join(texts).splitlines()


def check_outputs(executed: nbformat.NotebookNode) -> dict[str, str]:
    """The plain-text output of each ``grader.check("q…")`` cell, keyed by question."""
    results = {}
    for cell in executed.cells:
        match = re.fullmatch(r'grader\.check\("(\w+)"\)', cell.source.strip())
        if cell.cell_type == "code" and match:
            texts = [o.get("data", {}).get("text/plain", "") for o in cell.outputs]
            results[match.group(1)] = "\n".join(texts)
    return results


def passed_all(check_output: str) -> bool:
    """Whether the output of a ``grader.check`` cell says that every function passes."""
    lines = check_output.strip().splitlines()
    return bool(lines) and all(line.startswith(wording.PASSED_MARK) for line in lines)


def verify_executions(student: nbformat.NotebookNode, solution: nbformat.NotebookNode) -> None:
    """Both notebooks run; in the solution every check passes, in the stubs every one fails."""
    expected = [q.name for q in spec.QUESTIONS]
    for kind, nb, must_pass in (("solution", solution, True), ("student", student, False)):
        outputs = check_outputs(execute_notebook(nb, kind))
        if sorted(outputs) != sorted(expected):
            raise BuildError(f"the {kind} notebook checks {sorted(outputs)}, not {expected}")
        wrong = [q for q, text in outputs.items() if passed_all(text) != must_pass]
        if wrong:
            verdict = "fail" if must_pass else "pass"
            raise BuildError(
                f"in the executed {kind} notebook, grader.check {verdict}s for {wrong}"
            )


def release_files(
    execute: bool = True,
    grade: bool = True,
    log: Callable[[str], None] = print,
    rules: spec.Policy = spec.POLICY,
) -> dict[str, bytes]:
    """Render and verify the release under the policy `rules`; return it as {path under dist/:
    contents}.

    `execute` runs both notebooks and `grade` runs the grading gate; skipping either is for
    drafting and for tests of the rest, never for a release. Tests pass `rules`; a release
    has the one `spec.POLICY` declares.

    Raises
    ------
    BuildError
        If any verification fails.
    """
    problems = structure.problems()
    if problems:
        raise BuildError("\n".join(problems))
    problems = gate.reference_problems()
    if problems:
        raise BuildError("the reference is wrong:\n" + "\n".join(problems))
    test_files = public_checks.render_all()
    problems = gate.reference_disagreements(test_files)
    if problems:
        raise BuildError("the reference is wrong:\n" + "\n".join(problems))
    log(f"reference: {len(solutions.GRADED)} functions run on every hidden case and public check")
    student = notebook.build_notebook("student", test_files)
    solution = notebook.build_notebook("solution", test_files)
    log("rendered the student and solution notebooks")

    try:
        verify_public_checks(student, solution, test_files)
    except ChecksWrong as error:
        raise BuildError(f"public checks are wrong:\n{error}") from None
    count = sum(len(checks) for checks in public_checks.CHECKS.values())
    log(f"public checks: {count} cases pass on the solution and fail on the stubs")

    if execute:
        verify_executions(student, solution)
        log("both notebooks run top to bottom in an empty folder; their grader.check cells agree")

    student_files = {spec.NOTEBOOK_NAME: nbformat.writes(student).encode("utf-8") + b"\n"}
    leaks = find_leaks(student_files)
    if leaks:
        raise BuildError("the student release leaks the answer key:\n" + "\n".join(leaks))
    log(f"leak scan: none of {len(answer_key_fragments())} answer-key fragments in the release")

    autograder_zip = package.autograder_zip(test_files, rules)
    limit = (
        f"at most {rules.submissions} graded submissions in any {rules.window_hours:g} hours"
        if rules.submissions
        else "no submission limit"
    )
    standins = "stand-ins on" if rules.standins else "stand-ins off"
    log(f"policy: scores {rules.score}, details {rules.detail}, {limit}, {standins} (spec.POLICY)")
    report = ""
    try:
        if grade:
            problems = gate.run_gate(
                json.loads(student_files[spec.NOTEBOOK_NAME]),
                json.loads(nbformat.writes(solution)),
                autograder_zip,
                log,
            )
            if problems:
                raise BuildError(
                    "the autograder does not grade as it must:\n" + "\n".join(problems)
                )
            solution_json = json.loads(nbformat.writes(solution))
            problems, report = mutation.run(solution_json, autograder_zip, test_files, log)
            if problems:
                raise BuildError(
                    "the hidden tests are not up to the catalogue:\n" + "\n".join(problems)
                )
    except sandbox.SandboxUnavailable as error:
        raise BuildError(f"sandbox unavailable: {one_line(error)}") from None

    files = {f"student/{name}": data for name, data in student_files.items()}
    files[AUTOGRADER_ZIP] = autograder_zip
    if report:
        files[MUTATION_REPORT] = report.encode()
    files[STUDENT_ZIP] = zip_bytes(student_files)
    files[f"solutions/{spec.NOTEBOOK_NAME}"] = nbformat.writes(solution).encode("utf-8") + b"\n"
    files["solutions/written_answers.md"] = solutions.WRITTEN_ANSWERS.read_bytes()
    return files


def one_line(error: BaseException) -> str:
    """An error's message on one line: its first line, and its last if there are more."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    if not lines:
        return type(error).__name__
    return lines[0] if len(lines) == 1 else f"{lines[0]} ... {lines[-1]}"


# Everything the build writes: a folder holding nothing else is an earlier build's output.
RELEASE_FOLDERS = ("student", "solutions")
RELEASE_NAMES = frozenset(
    {
        STUDENT_ZIP,
        AUTOGRADER_ZIP,
        MUTATION_REPORT,
        f"student/{spec.NOTEBOOK_NAME}",
        f"solutions/{spec.NOTEBOOK_NAME}",
        "solutions/written_answers.md",
    }
)


def check_dist(dist: Path) -> Path:
    """The output folder, resolved, if the build may replace it: absent, empty, or holding
    nothing but an earlier release.

    Raises
    ------
    BuildError
        If `dist` holds anything the build did not write (it would be lost), or is a file.
    """
    dist = Path(dist).expanduser().resolve()
    if dist.exists() and not dist.is_dir():
        raise BuildError(f"{dist} is a file, not a folder: choose another --dist")
    if not dist.exists():
        return dist
    foreign = [
        str(path.relative_to(dist))
        for path in sorted(dist.rglob("*"))
        if str(path.relative_to(dist)) not in RELEASE_NAMES
        and not (path.is_dir() and not path.is_symlink() and path.name in RELEASE_FOLDERS)
    ]
    if foreign:
        more = f" and {len(foreign) - 1} more" if len(foreign) > 1 else ""
        raise BuildError(
            f"{dist} is not empty and not an earlier build output (it holds {foreign[0]}{more}), "
            "so the build will not replace it: choose an empty or new folder with --dist"
        )
    return dist


def write_release(files: dict[str, bytes], dist: Path = DIST) -> None:
    """Replace `dist` with exactly `files`, in one step.

    The release is written into a new folder beside `dist`, which then takes its place; an
    interrupted or failed write leaves the previous release as it was.
    """
    dist = check_dist(dist)
    dist.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dist.name}.new-", dir=dist.parent))
    try:
        for name, data in files.items():
            path = staging / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        staging.chmod(0o755)
        if dist.exists():
            swap_folders(staging, dist)  # staging now holds the previous release
        else:
            staging.rename(dist)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def released_points(dist: Path) -> dict | None:
    """The points of the release in `dist` (`package.POINTS` in its autograder zip): None
    where `dist` holds no release, {} where its release records no points."""
    path = Path(dist) / AUTOGRADER_ZIP
    if not path.is_file():
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            record = json.loads(archive.read(package.POINTS))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return {}
    functions = record.get("functions") if isinstance(record, dict) else None
    return record if isinstance(functions, dict) else {}


def _points(value: float) -> str:
    return f"{value:.3g}"


def points_lines(before: dict | None, after: dict, dist: Path) -> list[str]:
    """What the build says of each function's points against the release in `dist`: one line
    per function whose points changed (added, removed or another value), one line that none
    did, or, with no earlier release, every function's points in one line."""
    now, where = after["functions"], after["questions"]
    if not before:
        listed = ", ".join(f"{f} {_points(p)}" for f, p in now.items())
        why = (
            f"no earlier release in {dist}" if before is None else f"the release in {dist} has none"
        )
        return [f"points ({why} to compare with): {listed}"]
    then = before["functions"]
    lines = []
    for function in [*now, *(f for f in then if f not in now)]:
        old, new = then.get(function), now.get(function)
        if old is not None and new is not None and abs(old - new) <= 1e-9:
            continue
        question = where.get(function) or (before.get("questions") or {}).get(function, "?")
        shown = (
            f"{_points(old)} -> {_points(new)}"
            if old is not None and new is not None
            else (f"new, {_points(new)}" if old is None else f"{_points(old)} -> removed")
        )
        lines.append(f"points changed since the last release: {function} ({question}) {shown}")
    total = sum(now.values())
    return lines or [f"points: as in the last release, {_points(total)} in all"]


def build(dist: Path = DIST, execute: bool = True, log: Callable[[str], None] = print) -> None:
    """Build, verify and write the release into `dist` (refused up front if it is not ours);
    say first which functions' points differ from the release it replaces."""
    dist = check_dist(dist)
    problems = structure.problems()
    if problems:
        raise BuildError("\n".join(problems))
    for line in points_lines(released_points(dist), package.points_record(), dist):
        log(line)
    files = release_files(execute=execute, log=log)
    write_release(files, dist)
    log(f"wrote {len(files)} files to {dist}")
