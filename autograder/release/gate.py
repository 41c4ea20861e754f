"""The release gate: grade known submissions exactly as Gradescope would, before shipping.

Every submission goes through a fresh simulated ``/autograder`` tree (the autograder zip
unpacked into ``source/``, the notebook in ``submission/``) and `gradescope.run`, the code
``run_autograder`` calls. The solution must get full marks, the stubs zero, every attack
of `autograder.attacks` its expected score, and no results.json may quote the answer key
or the hidden cases.
"""

import contextlib
import io
import json
import os
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .. import cases, compare, grader, gradescope, hints, sandbox, spec
from ..variants import ALTERNATIVES
from . import attacks, leaks, public_checks
from .run_checks import run_public_checks

SCORE_EPS = 1e-6  # scores closer than this are equal (they are sums of float shares)
RESULTS_BYTES = 256_000  # the most a results.json may hold, whatever the submission does


@dataclass(frozen=True)
class Graded:
    """A submission the gate graded, and what it had to get."""

    name: str
    results: dict
    expected: float
    exact: bool  # False: at most `expected` (an attack may lose more than its base)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        score = self.results["score"]
        return abs(score - self.expected) <= SCORE_EPS or (not self.exact and score < self.expected)


MARKDOWN = "<!-- markdown -->\n"  # a cell that starts with this is appended as Markdown


def with_cells(notebook: dict, cells: list[str]) -> dict:
    """A copy of a notebook (as JSON) with code cells (or `MARKDOWN` cells) appended."""
    copy = json.loads(json.dumps(notebook))
    copy["cells"] += [
        {"cell_type": "markdown", "metadata": {}, "source": c[len(MARKDOWN) :]}
        if c.startswith(MARKDOWN)
        else {
            "cell_type": "code",
            "metadata": {},
            "source": c,
            "outputs": [],
            "execution_count": None,
        }
        for c in cells
    ]
    return copy


def grade_in_tree(
    autograder_zip: bytes, notebook: dict, table: dict, known_mistakes=None
) -> tuple[dict, grader.GradeReport]:
    """Grade `notebook` in a fresh simulated /autograder tree: (results.json, the report).

    A failure of the grading machinery (`sandbox.SandboxUnavailable`, say) is raised, not
    turned into a score: the gate must not mistake it for a verdict on the submission.
    """
    with tempfile.TemporaryDirectory(prefix="disc05-gate-") as folder:
        root = Path(folder) / "autograder"
        with zipfile.ZipFile(io.BytesIO(autograder_zip)) as archive:
            archive.extractall(root / "source")
        (root / "submission").mkdir()
        (root / "submission" / spec.NOTEBOOK_NAME).write_text(json.dumps(notebook))
        report = gradescope.run(root, table=table, known_mistakes=known_mistakes, reraise=True)
        results = json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))
    return results, report


def reference_problems() -> list[str]:
    """What is wrong with the reference itself, each problem naming the function.

    Each function of `solutions.GRADED` must return finite numbers on every hidden case and
    every public check's inputs, without raising and without changing its arguments; and on
    no hidden case may it disagree with every catalogued alternative answer
    (`autograder.variants`), which are independent implementations of the same function.
    Checked before anything else, so that a broken reference is named as such rather than
    showing up later as wrong scores of the solution or of the attacks.
    """
    import numpy as np

    import solutions

    inputs = {
        name: [(f"hidden case {c.label!r}", c.args) for c in cases.hidden_cases(name)]
        for name in solutions.GRADED
    }
    for question, checks in public_checks.CHECKS.items():
        for check in checks:
            if check.args or check.against is None:
                where = f"public check {question} / {check.description!r}"
                inputs.setdefault(check.function, []).append((where, check.args))
    problems = []
    for name, calls in inputs.items():
        reference = solutions.GRADED[name]
        alternatives = [a for a in ALTERNATIVES if a.function == name]
        for where, args in calls:
            try:
                value, given = compare.call_on_copies(reference, args, False)
                array = np.asarray(value, dtype=float)
            except Exception as error:  # noqa: BLE001 - any failure of the reference is reported
                problems.append(
                    f"solutions.{name} raises {type(error).__name__} on {where}: {error}"
                )
                break
            if not np.all(np.isfinite(array)):
                problems.append(f"solutions.{name} returns a value that is not finite on {where}")
                break
            if any(compare.changed(b, a) for b, a in zip(args, given, strict=True)):
                problems.append(f"solutions.{name} changes its arguments on {where}")
                break
            if not where.startswith("hidden") or not alternatives:
                continue
            verdicts = [hints.judge_variant(a, args, array, False, digits=1) for a in alternatives]
            if not any(verdict.passed for verdict in verdicts):
                how = verdicts[0].reason
                problems.append(
                    f"solutions.{name} disagrees with every catalogued alternative answer on "
                    f"{where} (alternative {alternatives[0].name!r} against it: {how})"
                )
                break
    return problems


def reference_disagreements(test_files: dict[str, str]) -> list[str]:
    """Public checks that the reference functions themselves fail, naming the function."""
    import numpy as np

    import solutions

    env = {"np": np, **solutions.GRADED}
    return [
        f"solutions.{o.case.split(':')[0]} disagrees with the public check {o.question} / "
        f"{o.case}: {' '.join(o.message.split())}"
        for o in run_public_checks(env, test_files)
        if not o.passed
    ]


def missing_from_zip(autograder_zip: bytes) -> list[str]:
    """Modules of the zip's `autograder` package that the unpacked zip cannot import from its
    own files (with numpy only): the runtime must stand without the release tooling."""
    import importlib.util
    import subprocess
    import sys

    numpy_site = Path(importlib.util.find_spec("numpy").origin).parent.parent
    with tempfile.TemporaryDirectory(prefix="disc05-zip-") as folder:
        with zipfile.ZipFile(io.BytesIO(autograder_zip)) as archive:
            archive.extractall(folder)
            modules = sorted(
                Path(name).stem
                for name in archive.namelist()
                if name.startswith("autograder/")
                and name.endswith(".py")
                and name.count("/") == 1
                and not name.endswith("__main__.py")
            )
        code = (
            "import importlib, json, sys\n"
            f"sys.path[:0] = [{folder!r}, {str(numpy_site)!r}]\n"
            "found = {}\n"
            f"for name in {modules!r}:\n"
            "    try:\n"
            "        found[name] = importlib.import_module('autograder.' + name).__file__\n"
            "    except ImportError as error:\n"
            "        found[name] = str(error)\n"
            "print(json.dumps(found))\n"
        )
        done = subprocess.run(
            [sys.executable, "-S", "-c", code], cwd=folder, capture_output=True, text=True
        )
        if done.returncode != 0:
            return [f"the autograder zip does not import: {done.stderr.strip()[-300:]}"]
        found = json.loads(done.stdout)
        return [
            f"the autograder zip cannot import autograder.{name} on its own ({where})"
            for name, where in found.items()
            if not str(where).startswith(folder)
        ]


# The platforms the gate grades the attack suite on: this machine as it is, and the fallback a
# Gradescope container gets when it refuses namespaces (see `autograder.confine`).
PLATFORMS = (("", ""), ("namespaces=off", "without namespaces"))


@contextlib.contextmanager
def emulated(platform: str):
    """Grade as on `platform` (a `DISC05_PLATFORM` value; "" for this machine) for a while;
    weaker platforms with weak isolation allowed, as staff would have to."""
    saved = {k: os.environ.get(k) for k in ("DISC05_PLATFORM", "DISC05_ALLOW_WEAK_ISOLATION")}
    if platform:
        os.environ.update(DISC05_PLATFORM=platform, DISC05_ALLOW_WEAK_ISOLATION="1")
    sandbox.reset()
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        sandbox.reset()


def attack_score(attack: attacks.Attack) -> float:
    """The score an attack on the solution must get: full marks less what it breaks."""
    lost = sum(spec.function_points(f) for f in attack.broken) + sum(
        spec.criterion_points(f)[r] for f, r in attack.broken_requirements
    )
    return sum(q.points for q in spec.QUESTIONS) - lost


def grade_known(
    student: dict, solution: dict, autograder_zip: bytes, table: dict, known_mistakes
) -> list[Graded]:
    """Grade the solution, the stubs and every attack, in parallel, each in a fresh simulated
    /autograder tree."""
    repo = str(Path(__file__).resolve().parents[2])
    full = sum(q.points for q in spec.QUESTIONS)
    wrong = with_cells(student, [attacks.WRONG_ANSWERS])

    def grade(notebook: dict) -> tuple[dict, float]:
        start = time.monotonic()
        results = grade_in_tree(autograder_zip, notebook, table, known_mistakes)[0]
        return results, time.monotonic() - start

    wrong_score = grade(wrong)[0]["score"]
    jobs = [("solution", solution, full, True), ("stubs", student, 0.0, True)]
    for attack in attacks.ATTACKS:
        cells = attacks.attack_cells(attack, repo=repo, source="/autograder/source")
        base = {"solution": solution, "stubs": student, "wrong": wrong}[attack.base]
        if attack.base == "solution":
            expected, exact = attack_score(attack), True
        else:
            expected, exact = (0.0 if attack.base == "stubs" else wrong_score), False
        jobs.append((f"attack: {attack.name}", with_cells(base, cells), expected, exact))
    with ThreadPoolExecutor() as pool:
        results = list(pool.map(lambda job: grade(job[1]), jobs))
    return [
        Graded(name, r, expected, exact, seconds)
        for (name, _, expected, exact), (r, seconds) in zip(jobs, results, strict=True)
    ]


def problems_of(graded: list[Graded], table: dict) -> list[str]:
    """What is wrong with graded submissions: a score off, a results file too large or too
    late, or one that quotes the answer key, the hidden cases or a hidden number."""
    problems = [
        f"{g.name}: scored {g.results['score']:g}, "
        f"expected {'' if g.exact else 'at most '}{g.expected:g}"
        for g in graded
        if not g.ok
    ]
    limit = spec.LIMITS.budget_seconds + 15
    problems += [
        f"{g.name}: took {g.seconds:.0f} s (> {limit:g} s)" for g in graded if g.seconds > limit
    ]
    problems += [
        f"{g.name}: results.json has {size} bytes (> {RESULTS_BYTES})"
        for g in graded
        if (size := len(json.dumps(g.results))) > RESULTS_BYTES
    ]
    fragments = leaks.secret_fragments(table)
    for g in graded:
        problems += [
            f"{g.name}: results.json quotes {leak!r}"
            for leak in leaks.leaked_fragments(g.results, fragments)
        ]
    return problems


def run_gate(
    student: dict, solution: dict, autograder_zip: bytes, log: Callable[[str], None] = print
) -> list[str]:
    """Grade the solution, the stubs and every attack on each of `PLATFORMS`; return the
    problems found (none: ship)."""
    table = grader.expected_outputs()
    known_mistakes = hints.Hints(table)
    problems = missing_from_zip(autograder_zip)
    for platform, label in PLATFORMS:
        with emulated(platform):
            graded = grade_known(student, solution, autograder_zip, table, known_mistakes)
        found = problems_of(graded, table)
        problems += [f"{p} ({label})" if label else p for p in found]
        if not found:
            full = sum(q.points for q in spec.QUESTIONS)
            confinement = graded[0].results["extra_data"]["confinement"]
            log(
                f"gate{' ' + label if label else ''}: solution {graded[0].results['score']:g}/"
                f"{full:g}, stubs {graded[1].results['score']:g}, {len(graded) - 2} attacks "
                "graded as expected, every results.json small, prompt and free of the answer "
                f"key, the hidden cases and hidden numbers ({confinement})"
            )
    return problems
