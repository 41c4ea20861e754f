"""Adding a graded function takes exactly the files README lists: the test follows that list in
a copy of the repository, adds a function to q2c, and builds and grades the release."""

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
COPIED = ("assignment", "solutions", "autograder", "pyproject.toml", "README.md")
NAME = "dropout_gamma_factor"

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
        Criterion("p near 0 and near 1", 1 / 2, ("edge: p = 0.01", "edge: p = 0.99")),
    ),
)
def _dropout_gamma_factor_cases(rng: np.random.Generator) -> list[Case]:
    cases = [Case("random", (_keep_probability(rng),)) for _ in range(RANDOM_CASES)]
    return cases + [Case(f"edge: p = {p}", (p,)) for p in (0.01, 0.99)]
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
        "Your factor grows with p: which of p and 1 - p does dropout remove?",
        "return float(np.sqrt(p / (1 - p)))",
    ),
)
ALTERNATIVES += (
    alternative("dropout_gamma_factor", "(1 / p - 1) ** 0.5", "return (1 / p - 1) ** 0.5"),
)
"""


def readme_files() -> list[str]:
    """The files README's Contributing section says a new function of a question takes."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    bullet = re.search(r"^- \*\*A new function or question\*\*:(.*?)^- \*\*", text, re.M | re.S)
    assert bullet, "README has no 'A new function or question' bullet"
    for_a_function = bullet.group(1).split("A new question")[0]
    return re.findall(r"`([\w./-]+\.(?:py|md))`", for_a_function)


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def add_function(copy: Path) -> None:
    """Add `NAME` to q2c, editing only the files README lists (the reference in dropout.py)."""
    append(copy / "solutions/dropout.py", REFERENCE)
    append(copy / "autograder/cases.py", RECORD)
    append(copy / "autograder/release/public_checks.py", PUBLIC_CHECKS)
    append(copy / "autograder/variants.py", VARIANTS)
    source = copy / "assignment/disc05.md"
    text = source.read_text(encoding="utf-8")
    check = '```python\ngrader.check("q2c")\n```\n'
    assert text.count(check) == 1
    source.write_text(text.replace(check, NOTEBOOK_CELL + check), encoding="utf-8")


def files_of(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for name in COPIED
        for p in ([root / name] if (root / name).is_file() else (root / name).rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts
    }


def run(copy: Path, *args: str, timeout: float) -> subprocess.CompletedProcess:
    """`python -m autograder ARGS` with the copy, not this repository, first on sys.path."""
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_readme_lists_five_files_for_a_new_function():
    files = readme_files()
    references = [f for f in files if f.startswith("solutions/")]
    assert sorted(references) == ["solutions/dropout.py", "solutions/residual.py"]
    assert len(files) - len(references) + 1 == 5, files
    assert all((REPO / f).is_file() for f in files), files


@pytest.mark.slow
def test_a_function_added_as_readme_says_is_built_and_graded(tmp_path, sandbox_runtime):
    copy = tmp_path / "repo"
    for name in COPIED:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, copy / name)
    before = files_of(copy)
    add_function(copy)
    after = files_of(copy)
    touched = {f for f in after if before.get(f) != after[f]}
    assert touched == set(readme_files()) - {"solutions/residual.py"}

    dist = tmp_path / "dist"
    built = run(copy, "build", "--dist", str(dist), "--no-execute", timeout=1800)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert "reference: 12 functions" in built.stdout
    assert "mutation: " in built.stdout and "gate: solution 14/14" in built.stdout

    student = json.loads((dist / "student/disc05.ipynb").read_text(encoding="utf-8"))
    stubs = ["".join(c["source"]) for c in student["cells"] if c["cell_type"] == "code"]
    (stub,) = [s for s in stubs if f"def {NAME}(p: float) -> float:" in s]
    assert "raise NotImplementedError" in stub and "np.sqrt" not in stub
    with zipfile.ZipFile(dist / "disc05-autograder.zip") as archive:
        assert f"def {NAME}(" in archive.read("solutions/dropout.py").decode()
        assert f'"{NAME}"' in archive.read("autograder/cases.py").decode()
        assert f"def check_{NAME}(env)" in archive.read("tests/q2c.py").decode()
    report = (dist / "mutation-report.md").read_text(encoding="utf-8")
    assert re.search(rf"^\| {NAME} \| 1/1 \| (\d+)/\1 \| \d+ \| 1/1 \|$", report, re.M), report

    graded = run(copy, "grade", "--json", str(dist / "solutions/disc05.ipynb"), timeout=300)
    assert graded.returncode == 0, graded.stderr
    results = json.loads(graded.stdout)
    (q2c,) = [t for t in results["tests"] if t["name"] == "q2c"]
    assert q2c["score"] == q2c["max_score"] == 1
    assert f"{NAME}: 0.5 of 0.5 points\n    passed: values for random p" in q2c["output"]
