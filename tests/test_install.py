"""One numpy everywhere, sandboxes that other checkouts can rely on, and Gradescope's venv
made locally the way setup.sh makes it."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest

from autograder import install, spec
from autograder.release import notebook, package

tomllib = pytest.importorskip("tomllib")  # Python 3.11+

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="a separate sandbox is only made as root")


def numpy_of(python: str) -> str:
    done = subprocess.run(
        [python, "-I", "-c", "import numpy; print(numpy.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


@pytest.fixture
def open_folder():
    """A folder that the sandbox user can reach (pytest's own are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="disc05-test-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_numpy_is_pinned_to_one_version_everywhere(sandbox_runtime):
    pyproject = tomllib.loads((notebook.ROOT / "pyproject.toml").read_text())
    assert f"numpy=={spec.NUMPY_VERSION}" in pyproject["project"]["dependencies"]
    pinned = f"numpy=={spec.NUMPY_VERSION}\nijson=={spec.IJSON_VERSION}\n"
    assert package.rendered("requirements.txt") == pinned
    assert f"ijson=={spec.IJSON_VERSION}" in pyproject["project"]["dependencies"]
    assert np.__version__ == spec.NUMPY_VERSION  # the grader computes the expected values
    assert (
        numpy_of(sandbox_runtime.interpreter.python) == spec.NUMPY_VERSION
    )  # student code runs here
    assert spec.NUMPY_VERSION in str(install.SANDBOX_HOME)


@as_root
def test_install_leaves_a_working_sandbox_alone(tmp_path, monkeypatch):
    """Another checkout may be grading with it: a working sandbox is never recreated."""
    home = tmp_path / "sandbox"
    (home / "bin").mkdir(parents=True)
    (home / "in-use").write_text("another checkout grades with this")
    usable = str(home / "bin" / "python")
    monkeypatch.setattr(install, "_usable", lambda python, *_: python == usable)
    made = []
    monkeypatch.setattr(install.subprocess, "run", lambda *a, **k: made.append(a))
    assert install.install(home).startswith("already there")
    assert made == [] and (home / "in-use").exists()


@as_root
@pytest.mark.slow
def test_install_makes_a_sandbox_beside_its_place_then_moves_it_in(open_folder):
    home = open_folder / "sandbox"
    home.mkdir()
    (home / "half-made").write_text("an interrupted install: no working Python here")
    if install._usable(sys.executable, "nobody", spec.NUMPY_VERSION):
        pytest.skip("this Python is usable by the sandbox user: no separate sandbox is made")
    assert install.install(home).startswith(f"created {home} (numpy=={spec.NUMPY_VERSION})")
    assert not (home / "half-made").exists()
    assert numpy_of(str(home / "bin" / "python")) == spec.NUMPY_VERSION
    assert sorted(p.name for p in open_folder.iterdir()) == ["sandbox"]
    assert install.install(home).startswith("already there")


@pytest.fixture(scope="module")
def gradescope_python():
    """Gradescope's venv, made by `gradescope-venv` as setup.sh makes it."""
    folder = Path(tempfile.mkdtemp(prefix="disc05-test-", dir="/tmp"))
    folder.chmod(0o755)
    venv = folder / "disc05" / "venv"
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "gradescope-venv", str(venv)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert str(venv / "bin" / "python") in done.stdout
    yield venv / "bin" / "python"
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.slow
def test_gradescope_venv_holds_the_pinned_requirements_only(gradescope_python):
    assert numpy_of(str(gradescope_python)) == spec.NUMPY_VERSION
    listed = subprocess.run(
        [str(gradescope_python), "-m", "pip", "list", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    names = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert names <= {"numpy", "ijson", "pip", "setuptools"} and "ijson" in names


@pytest.mark.slow
def test_benchmark_runs_from_any_folder_in_gradescopes_layout(
    tmp_path, gradescope_python, sandbox_runtime
):
    done = subprocess.run(
        [
            *(sys.executable, "-m", "autograder", "bench", "--n", "12", "--samples", "2"),
            *("--otter-samples", "1", "--json", "--python", str(gradescope_python)),
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["python"] == str(gradescope_python)
    assert figures["numpy"] == {"grader": spec.NUMPY_VERSION, "sandbox": spec.NUMPY_VERSION}
    assert figures["batch_graded"] == 12
    assert figures["gigabyte_stopped_by_cap"] is True
    assert 0 < figures["floor_seconds"] < figures["core_seconds"] < figures["otter_seconds"]
    assert figures["sandbox_peak_mb"] < 300
