"""The Gradescope contract, ``otter run`` on the built zip, and local grading agree."""

import io
import json
import os
import pickle
import shutil
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from conftest import write_notebook

from autograder import spec, wording
from autograder.release import attacks, gate, package

FULL = sum(q.points for q in spec.QUESTIONS)
OTTER = Path(sys.executable).with_name("otter")
WRONG_GAMMA = (
    "def dropout_gamma(X, p):\n    return np.sqrt(p / (1 - p)) * np.diag(np.linalg.norm(X, axis=0))"
)
# What it earns: its one right criterion, and the requirements it keeps beside it.
_GAMMA_POINTS = spec.criterion_points("dropout_gamma")
WRONG_GAMMA_EARNS = sum(
    points
    for name, points in _GAMMA_POINTS.items()
    if name not in ("values on random problems", "the p-dependence")
)


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory, test_files):
    path = tmp_path_factory.mktemp("dist") / "disc05-autograder.zip"
    path.write_bytes(package.autograder_zip(test_files))
    return path


@pytest.fixture
def submissions(tmp_path, solution_json, student_json):
    """A few submissions of known score, as files."""
    folder = tmp_path / "submissions"
    folder.mkdir()
    made = {
        "solution": (write_notebook(folder, solution_json, "solution.ipynb"), FULL),
        "stubs": (write_notebook(folder, student_json, "stubs.ipynb"), 0.0),
        "wrong gamma": (
            write_notebook(folder, gate.with_cells(solution_json, [WRONG_GAMMA]), "wrong.ipynb"),
            # only "a diagonal matrix of column norms" is right
            FULL - spec.function_points("dropout_gamma") + WRONG_GAMMA_EARNS,
        ),
    }
    for attack, expected in (
        ("the reference imported", 0.0),
        ("os._exit inside a function", FULL - 1),
    ):
        (chosen,) = [a for a in attacks.ATTACKS if a.name == attack]
        base = solution_json if chosen.base == "solution" else student_json
        cells = attacks.attack_cells(chosen, repo=str(Path.cwd()), source="/autograder/source")
        path = write_notebook(
            folder, gate.with_cells(base, cells), f"{attack.replace(' ', '-')}.ipynb"
        )
        made[f"attack: {attack}"] = (path, expected)
    export = folder / "export.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("disc05.ipynb", json.dumps(solution_json))
        archive.writestr("__zip_filename__", "export.zip")
    made["export zip"] = (export, FULL)
    return made


def validate_results(data: dict) -> None:
    """Gradescope's results.json: a score, and tests with the fields it reads."""
    assert isinstance(data["score"], (int, float))
    assert data["stdout_visibility"] in ("hidden", "visible", "after_due_date", "after_published")
    names = [t["name"] for t in data["tests"]]
    assert names[: len(spec.QUESTIONS)] == [q.name for q in spec.QUESTIONS]
    assert [n for n in names if "written" in n] == [
        f"{q} written answer" for q in spec.WRITTEN_QUESTIONS
    ]
    for test in data["tests"]:
        assert set(test) >= {"name", "score", "max_score", "visibility", "output"}
        assert 0 <= test["score"] <= test["max_score"] or test["max_score"] == 0
        assert test["visibility"] == "visible" and isinstance(test["output"], str)
        # Gradescope's formats for a test's output (its autograder specification)
        assert test.get("output_format", "text") in ("text", "html", "simple_format", "md", "ansi")
    assert data["score"] == pytest.approx(sum(t["score"] for t in data["tests"]))


def autograder_tree(root: Path, autograder_zip: Path, submission: Path) -> Path:
    """A simulated /autograder: source (the unpacked zip), submission, results, metadata."""
    tree = root / "autograder"
    with zipfile.ZipFile(autograder_zip) as archive:
        archive.extractall(tree / "source")
    (tree / "submission").mkdir()
    shutil.copy(submission, tree / "submission")
    (tree / "results").mkdir()
    (tree / "submission_metadata.json").write_text("{}")
    return tree


def bare_python(folder: Path) -> Path:
    """An interpreter with numpy and nothing else of this environment, like Gradescope's venv.

    It runs with -S, so no installed copy of this repository can fill in for a module that
    the autograder zip lacks.
    """
    numpy_site = Path(np.__file__).resolve().parent.parent
    wrapper = folder / "bare-python"
    wrapper.write_text(
        f'#!/bin/sh\nPYTHONPATH="$PYTHONPATH:{numpy_site}" exec {sys.executable} -S "$@"\n'
    )
    wrapper.chmod(0o755)
    return wrapper


def run_autograder(tree: Path) -> dict:
    """Gradescope's step: run source/run_autograder (setup.sh is not re-run here)."""
    python = bare_python(tree.parent)
    env = {**os.environ, "DISC05_AUTOGRADER_ROOT": str(tree), "DISC05_PYTHON": str(python)}
    subprocess.run(
        ["bash", str(tree / "source" / "run_autograder")], env=env, check=True, timeout=300
    )
    return json.loads((tree / "results" / "results.json").read_text())


def test_autograder_zip_runs_on_its_own_code(
    tmp_path, autograder_zip, student_json, sandbox_runtime
):
    """Every module the grader loads comes from the zip, none from this checkout."""
    tree = autograder_tree(tmp_path, autograder_zip, write_notebook(tmp_path, student_json))
    code = (
        "import json, sys\n"
        "from autograder.__main__ import main\n"
        f"main(['run-gradescope', {str(tree)!r}])\n"
        "mods = [m for m in list(sys.modules) if m.split('.')[0] in ('autograder', 'solutions')]\n"
        "print(json.dumps({m: sys.modules[m].__file__ for m in mods}))\n"
    )
    done = subprocess.run(
        [str(bare_python(tmp_path)), "-c", code],
        env={**os.environ, "PYTHONPATH": str(tree / "source")},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    loaded = json.loads(done.stdout.splitlines()[-1])
    assert "autograder.hints" in loaded and "solutions.residual" in loaded
    assert all(f.startswith(str(tree / "source")) for f in loaded.values()), loaded
    assert json.loads((tree / "results" / "results.json").read_text())["score"] == 0


def test_autograder_zip_has_otters_layout_and_no_stray_files(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as archive:
        names = set(archive.namelist())
        modes = {i.filename: i.external_attr >> 16 for i in archive.infolist()}
        config = json.loads(archive.read("otter_config.json"))
        setup = archive.read("setup.sh").decode()
        requirements = archive.read("requirements.txt").decode()
    assert {"run_autograder", "setup.sh", "requirements.txt", "otter_config.json"} <= names
    assert {f"tests/{q.name}.py" for q in spec.QUESTIONS} <= names
    assert (
        "autograder/release/build.py" not in names and "solutions/written_answers.md" not in names
    )
    assert modes["run_autograder"] & stat.S_IXUSR and modes["setup.sh"] & stat.S_IXUSR
    assert config["plugins"] == ["autograder.otter_plugin.Disc05Grading"]
    assert all("==" in line for line in requirements.split())
    for banned in ("conda", "mamba", "chromium", "texlive", "curl", "wget"):
        assert banned not in setup.lower()


@pytest.mark.slow
def test_gradescope_contract_in_a_simulated_tree(
    tmp_path, autograder_zip, submissions, sandbox_runtime
):
    for name, (path, expected) in submissions.items():
        tree = autograder_tree(tmp_path / name.replace(" ", "-"), autograder_zip, path)
        data = run_autograder(tree)
        validate_results(data)
        assert data["score"] == pytest.approx(expected, abs=1e-4), name
        if os.geteuid() == 0:
            assert stat.S_IMODE((tree / "source").stat().st_mode) == 0o700
            assert stat.S_IMODE((tree / "results").stat().st_mode) == 0o700


@pytest.mark.slow
def test_results_cannot_be_rewritten_after_grading(
    tmp_path, autograder_zip, student_json, sandbox_runtime
):
    (attack,) = [a for a in attacks.ATTACKS if "rewrite the results" in a.name]
    tree = tmp_path / "autograder"
    cells = attacks.attack_cells(attack, repo="/nonexistent", source=str(tree / "source"))
    notebook = write_notebook(tmp_path, gate.with_cells(student_json, cells))
    autograder_tree(tmp_path, autograder_zip, notebook)
    first = run_autograder(tree)
    time.sleep(1.5)  # the attack's child would write after one second
    assert json.loads((tree / "results" / "results.json").read_text()) == first
    assert first["score"] == 0


@pytest.mark.slow
def test_a_broken_submission_still_gets_results(tmp_path, autograder_zip):
    broken = tmp_path / "disc05.ipynb"
    broken.write_text('{"cells": [')
    data = run_autograder(autograder_tree(tmp_path, autograder_zip, broken))
    validate_results(data)
    assert data["score"] == 0
    assert "is not a valid notebook" in data["output"]


@pytest.mark.slow
def test_otter_run_and_local_grading_agree(tmp_path, autograder_zip, submissions, sandbox_runtime):
    for name, (path, expected) in submissions.items():
        out = tmp_path / name.replace(" ", "-")
        out.mkdir()
        subprocess.run(
            [str(OTTER), "run", "-a", str(autograder_zip), "-o", str(out), str(path)],
            check=True,
            capture_output=True,
            timeout=300,
        )
        by_otter = json.loads((out / "results.json").read_text())
        local = subprocess.run(
            [sys.executable, "-m", "autograder", "grade", "--json", str(path)],
            check=True,
            capture_output=True,
            text=True,
        )
        by_us = json.loads(local.stdout)
        validate_results(by_otter)
        assert by_otter["score"] == pytest.approx(expected, abs=1e-4), name
        by_otter["output"] = by_us["output"] = ""  # names the file, which otter run renames
        assert by_otter == by_us, name


class _Planted:
    """A pickle that, when loaded, creates a file: what a forged .OTTER_LOG would do."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.slow
def test_otter_run_never_unpickles_the_students_log(tmp_path, autograder_zip, solution_json):
    marker = tmp_path / "unpickled"
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("disc05.ipynb", json.dumps(solution_json))
        archive.writestr(".OTTER_LOG", pickle.dumps(_Planted(marker)))
    # Check the pickle does what it claims, so that the test below could fail.
    pickle.load(io.BytesIO(pickle.dumps(_Planted(tmp_path / "control"))))
    assert (tmp_path / "control").exists()
    subprocess.run(
        [str(OTTER), "run", "-a", str(autograder_zip), "-o", str(tmp_path), str(export)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert not marker.exists()
    assert json.loads((tmp_path / "results.json").read_text())["score"] == pytest.approx(FULL)


def test_grade_command_prints_a_table(submissions, sandbox_runtime):
    path, _ = submissions["wrong gamma"]
    out = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    worth = wording.points_text(spec.function_points("dropout_gamma"))
    assert f"dropout_gamma: {WRONG_GAMMA_EARNS:.3g} of {worth}" in out
    assert "FAILED: the p-dependence" in out
    total = FULL - 1 + WRONG_GAMMA_EARNS
    assert out.strip().splitlines()[-1].split()[:3] == ["total", f"{total:.2f}", f"{FULL:g}"]


# Files an export zip may carry that Python, IPython or Otter would run at start-up if they were
# left in the folder where the kernel starts; each leaves a marker when it runs.
START_UP_PLANTS = {
    "otter.py": "{mark}",
    "ipython_config.py": "{mark}",
    "ipython_kernel_config.py": "{mark}",
    "sitecustomize.py": "{mark}",
    "numpy/__init__.py": "{mark}",
    "ipykernel/__init__.py": "{mark}",
    "planted.pth": "import sys; {mark}",
}


def _plant_zip(path: Path, notebook: dict, markers: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("disc05.ipynb", json.dumps(notebook))
        for name, code in START_UP_PLANTS.items():
            marker = markers / name.replace("/", "_")
            archive.writestr(name, code.format(mark=f"open({str(marker)!r}, 'w').close()"))


@pytest.mark.slow
def test_otter_run_starts_nothing_that_came_with_the_upload(
    tmp_path, autograder_zip, student_json, solution_json, sandbox_runtime
):
    markers = tmp_path / "markers"
    markers.mkdir()
    # Control: the same upload, graded by Otter without disc05's plugin, runs the plants.
    plain = tmp_path / "plain-autograder.zip"
    with zipfile.ZipFile(autograder_zip) as source, zipfile.ZipFile(plain, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "otter_config.json":
                data = json.dumps({**json.loads(data), "plugins": []}).encode()
            target.writestr(item, data)
    control = tmp_path / "control.zip"
    _plant_zip(control, solution_json, markers)
    otter = [str(OTTER), "run", "-o", str(tmp_path)]
    subprocess.run([*otter, "-a", str(plain), str(control)], capture_output=True, timeout=300)
    assert (markers / "otter.py").exists(), "the control upload should have run its otter.py"
    shutil.rmtree(markers)
    markers.mkdir()

    for notebook, expected in ((student_json, 0.0), (solution_json, FULL)):
        upload = tmp_path / "upload.zip"
        _plant_zip(upload, notebook, markers)
        done = subprocess.run(
            [*otter, "-a", str(autograder_zip), str(upload)], capture_output=True, timeout=300
        )
        assert done.returncode == 0, done.stderr.decode()[-2000:]
        assert sorted(p.name for p in markers.iterdir()) == []
        results = json.loads((tmp_path / "results.json").read_text())
        assert results["score"] == pytest.approx(expected, abs=1e-4)


@pytest.mark.slow
def test_otter_run_refuses_an_upload_that_unpacks_too_large(
    tmp_path, autograder_zip, solution_json, sandbox_runtime
):
    # Otter unzips the upload before disc05's plugin runs: too many files come out, so the
    # plugin deletes them and results.json says why, instead of grading the notebook.
    upload = tmp_path / "upload.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        archive.writestr("disc05.ipynb", json.dumps(solution_json))
        for i in range(spec.UNPACKED_FILES + 1):
            archive.writestr(f"many/{i}.txt", "")
    done = subprocess.run(
        [str(OTTER), "run", "-a", str(autograder_zip), "-o", str(tmp_path), str(upload)],
        capture_output=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr.decode()[-2000:]
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["score"] == 0
    assert f"more than {spec.UNPACKED_FILES} files" in results["output"]
