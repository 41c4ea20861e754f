"""Changing the assignment as README's Contributing section says, in a copy of the repository:
a function added to q2c (the five files README lists) and q1b's points changed (spec.py). The
copy then builds, which grades the reference, the stubs, the attacks, every catalogued
mistake and mutant and the trivial answers end to end, and its whole test suite passes (but
for this test): the tests read the assignment from its records."""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

import solutions
from autograder import spec
from autograder.release import build, package

REPO = Path(__file__).resolve().parent.parent
COPIED = ("assignment", "solutions", "autograder", "tests", "pyproject.toml", "README.md")
NAME = "dropout_gamma_factor"
QUESTION = "q2c"
REPOINTED = ("q1b", 3)  # a question whose points change, and to what

# What each file of README's list receives, keyed by the file.
REFERENCE = '''

def dropout_gamma_factor(p: float) -> float:
    r"""Ratio of each diagonal entry of the dropout matrix $\\Gamma$ to its column's norm.

    Parameters
    ----------
    p : float
        Keep probability, $0 < p < 1$.

    Returns
    -------
    float

    Notes
    -----
    Read off `dropout_gamma`: every diagonal entry is the column norm times this factor.
    """
    return float(np.sqrt((1 - p) / p))
'''
RECORD = """

@graded(
    "dropout_gamma_factor",
    "q2c",
    (
        Criterion("values for random p", 1 / 2, ("random",)),
        Criterion(
            "p near 0, at 1/2 and near 1",
            1 / 2,
            ("edge: p = 0.01", "edge: p = 0.5", "edge: p = 0.99"),
        ),
    ),
    requirements=(FLOAT,),
)
def _dropout_gamma_factor_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case("random", (_keep_probability(rng),)) for _ in range(RANDOM_CASES)]
    return cases + [Case(f"edge: p = {p}", (p,)) for p in (0.01, 0.5, 0.99)]
"""
NOTEBOOK_CELL = "```python\n# disc05: function dropout_gamma_factor\n```\n\n"
PUBLIC_CHECKS = """

CHECKS["q2c"] += (
    PublicCheck("dropout_gamma_factor", "p = 0.7", (0.7,)),
    PublicCheck("dropout_gamma_factor", "p = 0.2", (0.2,)),
)
"""
VARIANTS = """

MISTAKES += (
    mistake(
        "dropout_gamma_factor",
        "p and 1 - p swapped",
        "Your factor grows with p: which of p and 1 - p is the chance that an input is dropped?",
        "return float(np.sqrt(p / (1 - p)))",
    ),
    mistake(
        "dropout_gamma_factor",
        "no square root: the variance itself",
        "Does your factor come out squared: which entries of Gamma come from a variance?",
        "return float((1 - p) / p)",
    ),
    mistake(
        "dropout_gamma_factor",
        "sqrt(p (1 - p)): the rescaling by 1 / p left out",
        "Where does the rescaling of the kept inputs by 1 / p enter your factor?",
        "return float(np.sqrt(p * (1 - p)))",
    ),
    mistake(
        "dropout_gamma_factor",
        "1 / sqrt(p): the dropped share left out",
        "Does your factor vanish as p approaches 1, when nothing is dropped?",
        "return float(1 / np.sqrt(p))",
    ),
    mistake(
        "dropout_gamma_factor",
        "sqrt(1 - p): the division by p left out",
        "Does your factor grow without bound as p approaches 0?",
        "return float(np.sqrt(1 - p))",
    ),
)
ALTERNATIVES += (
    alternative("dropout_gamma_factor", "(1 / p - 1) ** 0.5", "return (1 / p - 1) ** 0.5"),
    alternative(
        "dropout_gamma_factor", "sqrt(1 - p) / sqrt(p)", "return float(np.sqrt(1 - p) / np.sqrt(p))"
    ),
)
"""


def readme_files() -> list[str]:
    """The files README's Contributing section says a new function of a question takes."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    bullet = re.search(r"^- \*\*A new function or question\*\*:(.*?)^- \*\*", text, re.M | re.S)
    assert bullet, "README has no 'A new function or question' bullet"
    for_a_function = bullet.group(1).split("A new question")[0]
    return re.findall(r"`([\w./-]+\.(?:py|md))`", for_a_function)


def readme_points_file() -> str:
    """The one file README's Contributing section says points are declared in."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    bullet = re.search(r"^- \*\*Points and the limits.*?:(.*?)^- \*\*", text, re.M | re.S)
    assert bullet, "README has no 'Points and the limits' bullet"
    (file,) = set(re.findall(r"`(autograder/[\w./-]+\.py)`, nowhere else", bullet.group(1)))
    return file


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def add_function(copy: Path) -> None:
    """Add `NAME` to `QUESTION`, editing only the files README lists (the reference in
    dropout.py)."""
    append(copy / "solutions/dropout.py", REFERENCE)
    append(copy / "autograder/cases.py", RECORD)
    append(copy / "autograder/release/public_checks.py", PUBLIC_CHECKS)
    append(copy / "autograder/variants.py", VARIANTS)
    source = copy / "assignment/disc05.md"
    text = source.read_text(encoding="utf-8")
    check = f'```python\ngrader.check("{QUESTION}")\n```\n'
    assert text.count(check) == 1
    source.write_text(text.replace(check, NOTEBOOK_CELL + check), encoding="utf-8")


def change_points(copy: Path) -> None:
    """Give `REPOINTED`'s question its new points, in the file README names for points."""
    question, points = REPOINTED
    path = copy / readme_points_file()
    text = path.read_text(encoding="utf-8")
    (old,) = re.findall(rf'Question\("{question}", points=[\d.]+', text)
    path.write_text(text.replace(old, f'Question("{question}", points={points}'), encoding="utf-8")


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for name in COPIED
        for p in ([root / name] if (root / name).is_file() else (root / name).rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def copy_repository(copy: Path) -> None:
    """The sources and tests, without this checkout's build output and caches."""
    ignored = shutil.ignore_patterns("__pycache__", "output", ".hypothesis", ".pytest_cache")
    for name in COPIED:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, copy / name, ignore=ignored)
        else:
            shutil.copy2(REPO / name, copy / name)


def in_copy(copy: Path, *command: str, timeout: float) -> subprocess.CompletedProcess:
    """`python COMMAND` in the copy, with the copy, not this repository, first on sys.path."""
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, *command],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def previous_release(dist: Path) -> None:
    """A release folder holding what the build compares points with: the record of this
    repository's points as its autograder zip carries it (nothing else of a build)."""
    dist.mkdir()
    with zipfile.ZipFile(dist / build.AUTOGRADER_ZIP, "w") as archive:
        archive.writestr(package.POINTS, json.dumps(package.points_record()))


def test_readme_lists_five_files_for_a_new_function():
    files = readme_files()
    references = [f for f in files if f.startswith("solutions/")]
    assert sorted(references) == ["solutions/dropout.py", "solutions/residual.py"]
    assert len(files) - len(references) + 1 == 5, files
    assert all((REPO / f).is_file() for f in files), files
    assert readme_points_file() == "autograder/spec.py"


@pytest.fixture
def checkout():
    """A folder for the copy that other users can read, as a checkout is (pytest's own temporary
    folders are its owner's only, which would hide the answer key from the sandbox's uid and
    change what tests/test_isolation.py sees)."""
    folder = Path(tempfile.mkdtemp(prefix="disc05-copy-"))
    folder.chmod(0o755)
    yield folder / "repo"
    shutil.rmtree(folder, ignore_errors=True)


THIS_TEST = "test_a_function_added_and_points_changed_as_readme_says_leave_the_suite_green"


@pytest.mark.slow
@pytest.mark.timeout(3600)  # a build and a whole suite, in a copy
def test_a_function_added_and_points_changed_as_readme_says_leave_the_suite_green(
    tmp_path, checkout, sandbox_runtime
):
    copy = checkout
    copy_repository(copy)
    before = files_of(copy)
    add_function(copy)
    change_points(copy)
    after = files_of(copy)
    touched = {f for f in after if before.get(f) != after[f]}
    assert touched == set(readme_files()) - {"solutions/residual.py"} | {readme_points_file()}

    # The build, into a folder whose release records this repository's points.
    dist = tmp_path / "dist"
    previous_release(dist)
    built = in_copy(copy, "-m", "autograder", "build", "--dist", str(dist), timeout=3600)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    functions = len(solutions.GRADED) + 1
    question, points = REPOINTED
    full = sum(q.points for q in spec.QUESTIONS if q.name != question) + points
    assert f"reference: {functions} functions" in built.stdout
    assert f"gate: solution {full:g}/{full:g}" in built.stdout and "mutation: " in built.stdout
    (target,) = [q for q in spec.QUESTIONS if q.name == QUESTION]
    (repointed,) = [q for q in spec.QUESTIONS if q.name == question]
    others = list(target.functions)
    share = target.points / (len(others) + 1)  # an equal share, as no weight is declared
    changed = "points changed since the last release: "
    expected = [
        f"{changed}{f} ({question}) {spec.function_points(f):.3g} -> "
        f"{points / len(repointed.functions):.3g}"
        for f in repointed.functions
    ]
    expected += [
        f"{changed}{f} ({QUESTION}) {spec.function_points(f):.3g} -> {share:.3g}" for f in others
    ]
    expected += [f"{changed}{NAME} ({QUESTION}) new, {share:.3g}"]
    said = [line for line in built.stdout.splitlines() if line.startswith(changed)]
    assert sorted(said) == sorted(expected), built.stdout[:2000]

    student = json.loads((dist / "student/disc05.ipynb").read_text(encoding="utf-8"))
    stubs = ["".join(c["source"]) for c in student["cells"] if c["cell_type"] == "code"]
    (stub,) = [s for s in stubs if f"def {NAME}(p: float) -> float:" in s]
    assert "raise NotImplementedError" in stub and "np.sqrt" not in stub
    with zipfile.ZipFile(dist / "disc05-autograder.zip") as archive:
        assert f"def {NAME}(" in archive.read("solutions/dropout.py").decode()
        assert f'"{NAME}"' in archive.read("autograder/cases.py").decode()
        assert f"def check_{NAME}(env)" in archive.read(f"tests/{QUESTION}.py").decode()
        record = json.loads(archive.read(package.POINTS))
    assert record["functions"][NAME] == pytest.approx(share)
    report = (dist / "mutation-report.md").read_text(encoding="utf-8")
    row = (
        rf"^\| {NAME} \| {share:.3g} of {QUESTION} \| 23 \| .* \| 5/5 \| (\d+)/\1 \| \d+ \| 2/2 \|$"
    )
    assert re.search(row, report, re.M), report[:3000]

    graded = in_copy(
        copy, "-m", "autograder", "grade", "--json", str(dist / "solutions/disc05.ipynb"),
        timeout=300,
    )  # fmt: skip
    assert graded.returncode == 0, graded.stderr
    results = json.loads(graded.stdout)
    scores = {t["name"]: (t["score"], t["max_score"]) for t in results["tests"]}
    assert scores[QUESTION] == pytest.approx((target.points, target.points))
    assert scores[question] == pytest.approx((points, points))
    assert results["score"] == pytest.approx(full)
    (test,) = [t for t in results["tests"] if t["name"] == QUESTION]
    assert (
        f"{NAME}: {share:.3g} of {share:.3g} points\n    passed: values for random p"
        in (test["output"])
    )

    # The copy's whole test suite, on the changed assignment, but for this test (which would
    # copy the copy).
    suite = in_copy(
        copy, "-m", "pytest", "-q", "-p", "no:cacheprovider",
        "--deselect", f"tests/test_new_function.py::{THIS_TEST}",
        timeout=5400,
    )  # fmt: skip
    assert suite.returncode == 0, suite.stdout[-6000:] + suite.stderr[-2000:]
    assert " passed" in suite.stdout.splitlines()[-1] and "failed" not in suite.stdout
