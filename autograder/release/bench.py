"""``python -m autograder bench``: how fast and how lean grading is, against baselines.

It makes N synthetic submissions (a quarter correct, half catalogued mistakes, some stubs,
some attacks; no attack that hangs, since each costs its full time limit) and measures, in
one run and on this machine:

* the floor: ``python -c "import numpy"``;
* one submission through the core grader: ``python -m autograder grade FILE``, a whole
  process, as staff would run it;
* the same submissions through ``otter run -a disc05-autograder.zip FILE``;
* the whole batch through ``python -m autograder grade-all -j J``;
* peak resident memory: of the batch process (and its fork servers), and of the sandboxed
  process that runs a submission; and that a 1 GB allocation is stopped by the sandbox;
* the numpy versions of the grader and of the sandbox (the autograder zip pins one).

It runs from any working directory: the package is put on the interpreter's path.

Times are medians over the samples; ratios are against the floor and Otter of the same run.
"""

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from .. import grader, spec
from ..variants import MISTAKES
from . import attacks, gate, notebook, package, public_checks

TARGETS = {
    "core_seconds": 0.5,
    "otter_ratio": 10.0,
    "floor_ratio": 4.0,
    "batch_700_seconds": 30.0,  # at -j 2, on 2 cores
    "peak_mb": 300.0,
}


def _quick_attacks() -> list[attacks.Attack]:
    """Attacks that do not hang (a hang costs its whole time limit by design)."""
    slow = ("while True", "recursion")
    return [a for a in attacks.ATTACKS if not any(s in "".join(a.cells) + a.name for s in slow)]


def make_submissions(folder: Path, n: int) -> list[Path]:
    """N synthetic submissions: 25 % correct, 50 % mistakes, 15 % stubs, 10 % attacks."""
    files = public_checks.render_all()
    student = json.loads(nbformat.writes(notebook.build_notebook("student", files)))
    solution = json.loads(nbformat.writes(notebook.build_notebook("solution", files)))
    quick = _quick_attacks()
    repo = str(notebook.ROOT)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        kind = i % 20
        if kind < 5:
            nb = solution
        elif kind < 15:
            nb = gate.with_cells(solution, [MISTAKES[i % len(MISTAKES)].source])
        elif kind < 18:
            nb = student
        else:
            attack = quick[i % len(quick)]
            base = {"solution": solution, "stubs": student}.get(attack.base)
            base = base or gate.with_cells(student, [attacks.WRONG_ANSWERS])
            nb = gate.with_cells(
                base, attacks.attack_cells(attack, repo=repo, source="/autograder/source")
            )
        path = folder / f"student{i:04d}.ipynb"
        path.write_text(json.dumps(nb), encoding="utf-8")
        paths.append(path)
    return paths


def _wall(command: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env
    )
    return time.perf_counter() - start


def numpy_versions(python: str, env: dict) -> dict:
    """numpy's version in `python` (the grader's) and in the sandbox interpreter it picks."""
    code = (
        "import numpy\n"
        "from autograder import sandbox\n"
        "print(numpy.__version__)\n"
        "print(sandbox.runtime().interpreter.python)\n"
    )
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        return {"grader": "unknown", "sandbox": "unknown"}
    grader_numpy, sandbox_python = done.stdout.split()[:2]
    version = subprocess.run(
        [sandbox_python, "-I", "-c", "import numpy; print(numpy.__version__)"],
        capture_output=True,
        text=True,
    )
    return {"grader": grader_numpy, "sandbox": version.stdout.strip() or "unknown"}


def run(
    n: int = 700,
    jobs: int = 2,
    samples: int = 10,
    otter_samples: int = 3,
    python: str | None = None,
) -> dict:
    """Measure everything; return the figures (seconds, MB and ratios).

    `python` is the interpreter for the floor, the core grader and the batch (default: this
    one); it needs only numpy, since the package is put on its path.
    """
    env = {**os.environ, "PYTHONPATH": str(notebook.ROOT)}
    python = python or sys.executable
    figures: dict = {"n": n, "jobs": jobs, "python": python}
    figures["numpy"] = numpy_versions(python, env)
    with tempfile.TemporaryDirectory(prefix="disc05-bench-") as scratch:
        root = Path(scratch)
        paths = make_submissions(root / "submissions", n)
        sample = [paths[i] for i in range(0, n, max(n // samples, 1))][:samples]

        _wall([python, "-c", "import numpy"])  # warm the file cache for both sides
        figures["floor_seconds"] = statistics.median(
            _wall([python, "-c", "import numpy"]) for _ in sample
        )
        figures["core_seconds"] = statistics.median(
            _wall([python, "-m", "autograder", "grade", str(p)], env) for p in sample
        )

        start = time.perf_counter()
        subprocess.run(
            [
                python,
                "-m",
                "autograder",
                "grade-all",
                str(root / "submissions"),
                "-j",
                str(jobs),
                "-o",
                str(root / "graded"),
                "--force",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=True,
            env=env,
        )
        figures["batch_seconds"] = time.perf_counter() - start
        figures["batch_per_submission"] = figures["batch_seconds"] / n
        figures["batch_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        scores = [
            json.loads(p.read_text())["score"] for p in (root / "graded" / "results").glob("*.json")
        ]
        figures["batch_graded"] = len(scores)

        table = grader.expected_outputs()
        peaks = [grader.grade(p, table).sandbox_peak_kb for p in sample]
        figures["sandbox_peak_mb"] = max(peaks) / 1024
        hog = next(a for a in attacks.ATTACKS if a.name == "1 GB allocations")
        hog_path = root / "hog.ipynb"
        solution = json.loads(sample[0].read_text())
        hog_path.write_text(json.dumps(gate.with_cells(solution, list(hog.cells))))
        report = grader.grade(hog_path, table)
        feedback = " ".join(f.feedback for q in report.questions for f in q.functions)
        figures["gigabyte_stopped_by_cap"] = "MemoryError" in feedback

        otter = str(Path(sys.executable).with_name("otter"))
        if otter_samples and Path(otter).exists():
            zip_path = root / "disc05-autograder.zip"
            zip_path.write_bytes(package.autograder_zip(public_checks.render_all()))
            out = root / "otter-out"
            out.mkdir()
            figures["otter_seconds"] = statistics.median(
                _wall([otter, "run", "-a", str(zip_path), "-o", str(out), str(p)])
                for p in sample[:otter_samples]
            )
            figures["otter_ratio"] = figures["otter_seconds"] / figures["core_seconds"]
    figures["floor_ratio"] = figures["core_seconds"] / figures["floor_seconds"]
    figures["batch_700_seconds"] = figures["batch_per_submission"] * 700
    figures["peak_mb"] = max(figures["batch_peak_mb"], figures["sandbox_peak_mb"])
    return figures


def report(figures: dict) -> str:
    """The figures as a table, each against its target."""

    def verdict(key: str, value: float, higher_is_better: bool = False) -> str:
        target = TARGETS[key]
        ok = value >= target if higher_is_better else value <= target
        return (
            f"{'meets' if ok else 'misses'} target {'>=' if higher_is_better else '<='} {target:g}"
        )

    f = figures
    lines = [
        f"interpreter: {f['python']}",
        f"numpy: {f['numpy']['grader']} in the grader, {f['numpy']['sandbox']} in the sandbox "
        f"(the autograder zip pins {spec.NUMPY_VERSION})",
        f"submissions: {f['n']} synthetic (25% correct, 50% mistakes, 15% stubs, 10% attacks)",
        f"floor, python -c 'import numpy':       {f['floor_seconds']:.3f} s",
        f"core grader, one submission (process): {f['core_seconds']:.3f} s   "
        f"{verdict('core_seconds', f['core_seconds'])}",
        f"  ratio to the floor:                  {f['floor_ratio']:.2f}x    "
        f"{verdict('floor_ratio', f['floor_ratio'])}",
    ]
    if "otter_seconds" in f:
        lines += [
            f"otter run -a, one submission:          {f['otter_seconds']:.3f} s",
            f"  Otter / core grader:                 {f['otter_ratio']:.1f}x    "
            f"{verdict('otter_ratio', f['otter_ratio'], higher_is_better=True)}",
        ]
    lines += [
        f"grade-all -j {f['jobs']}, {f['n']} submissions:      {f['batch_seconds']:.1f} s "
        f"({1000 * f['batch_per_submission']:.0f} ms each)",
        f"  scaled to 700 submissions:           {f['batch_700_seconds']:.1f} s   "
        f"{verdict('batch_700_seconds', f['batch_700_seconds'])}",
        f"peak memory, batch process:            {f['batch_peak_mb']:.0f} MB",
        f"peak memory, sandboxed process:        {f['sandbox_peak_mb']:.0f} MB   "
        f"{verdict('peak_mb', f['peak_mb'])}",
        f"1 GB allocation stopped by the cap:    {'yes' if f['gigabyte_stopped_by_cap'] else 'NO'}",
    ]
    return "\n".join(lines)
