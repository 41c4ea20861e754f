"""The student release: stubs agree with the reference, public checks discriminate, nothing
leaks, the build is reproducible, and (slow) the real build runs both notebooks."""

import base64
import hashlib
import importlib.metadata
import inspect
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import numpy as np
import pytest
from otter.nbmeta_config import NBMetadataConfig
from otter.test_files import create_test_file
from otter.test_files.exception_test import ExceptionTestFile

import solutions
from autograder import spec, wording
from autograder.release import build, leaks, notebook, public_checks, run_checks

ALL_FUNCTIONS = [f for q in spec.QUESTIONS for f in q.functions]


@pytest.fixture(scope="module")
def test_files():
    return public_checks.render_all()


@pytest.fixture(scope="module")
def student(test_files):
    return notebook.build_notebook("student", test_files)


@pytest.fixture(scope="module")
def solution(test_files):
    return notebook.build_notebook("solution", test_files)


# ## Stubs and reference


def test_spec_and_answer_key_name_the_same_functions():
    assert ALL_FUNCTIONS == list(solutions.GRADED)


@pytest.mark.parametrize("name", ALL_FUNCTIONS)
def test_stub_has_reference_signature_and_public_docstring(name):
    env = {"np": np}
    exec(notebook.stub_source(name), env)
    stub, reference = env[name], solutions.GRADED[name]
    assert inspect.signature(stub) == inspect.signature(reference)
    assert inspect.getdoc(stub) == notebook.public_docstring(name)
    assert "Notes" not in inspect.getdoc(stub)
    for section in ("Parameters" if inspect.signature(reference).parameters else "", "Returns"):
        assert section in inspect.getdoc(stub)
    with pytest.raises(NotImplementedError, match=name):
        stub(*[None] * len(inspect.signature(stub).parameters))


def test_student_notebook_has_one_stub_per_function_and_a_check_per_question(student):
    sources = notebook.code_cells(student)
    defined = [s.split("(")[0][4:] for s in sources if s.startswith("def ") and "raise Not" in s]
    assert [d for d in defined if d in solutions.GRADED] == ALL_FUNCTIONS
    checks = [s for s in sources if s.startswith("grader.check(")]
    assert checks == [f'grader.check("{q.name}")' for q in spec.QUESTIONS]
    assert sources[0].lstrip().startswith("# Checks that this Python is recent enough")
    assert f"otter-grader=={spec.OTTER_VERSION}" in sources[0]
    assert "exec(compile(" in sources[1] and notebook.HELPERS in sources[1]
    assert "class Grader(otter.Notebook)" in notebook.helpers_source()
    assert "grader.export(" in sources[-1]


def test_otter_is_pinned_to_one_version_everywhere():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    pyproject = tomllib.loads((notebook.ROOT / "pyproject.toml").read_text())
    assert f"otter-grader=={spec.OTTER_VERSION}" in pyproject["project"]["dependencies"]
    assert f"otter-grader=={spec.OTTER_VERSION}" in notebook.SOURCE.read_text()


def test_written_answer_boxes_are_empty_for_students_and_filled_for_staff(student, solution):
    answers = notebook.written_answers()
    assert sorted(answers) == sorted(spec.WRITTEN_QUESTIONS)

    def boxes(nb):
        return [c.source for c in nb.cells if c.source.startswith("<!-- disc05: written")]

    assert all(notebook.ANSWER_PLACEHOLDER in box for box in boxes(student))
    assert len(boxes(student)) == len(spec.WRITTEN_QUESTIONS)
    for question, box in zip(spec.WRITTEN_QUESTIONS, boxes(solution), strict=True):
        assert answers[question] in box


def test_figure_is_embedded_so_the_notebook_stands_alone(student):
    markdown = "\n".join(c.source for c in student.cells if c.cell_type == "markdown")
    assert "data:image/svg+xml;base64," in markdown
    assert ".svg)" not in markdown


def test_solution_notebook_is_the_student_notebook_with_answers_filled_in(student, solution):
    assert len(student.cells) == len(solution.cells)
    for s, r in zip(student.cells, solution.cells, strict=True):
        if s.source != r.source:
            assert "raise NotImplementedError" in s.source or "disc05: written" in s.source


# ## Public checks


def test_public_checks_pass_on_reference_and_report_stubs_as_not_attempted(
    student, solution, test_files
):
    run_checks.verify_public_checks(student, solution, test_files)
    outcomes = run_checks.run_public_checks(run_checks.notebook_functions(solution), test_files)
    assert {o.question for o in outcomes} == {q.name for q in spec.QUESTIONS}
    assert all(o.passed for o in outcomes)


def with_function(source: str) -> dict:
    """The reference namespace with one function replaced by `source`."""
    env = {"np": np, **solutions.GRADED}
    exec(source, env)
    return env


def test_public_checks_flag_a_function_that_modifies_its_argument(test_files):
    env = with_function(
        "def dropout_to_ridge_weights(w_check, p):\n    w_check *= p\n    return w_check"
    )
    outcomes = run_checks.run_public_checks(env, test_files)
    assert any("modified one of its arguments" in o.message for o in outcomes if not o.passed)


# ## Leaks and reproducibility


def test_leak_scan_finds_nothing_in_the_release_and_finds_planted_answers(student):
    files = {spec.NOTEBOOK_NAME: nbformat.writes(student).encode()}
    assert leaks.find_leaks(files) == []
    for planted in (
        notebook.reference_source("effective_matrix"),
        notebook.written_answers()["q1c"],
    ):
        tampered = json.loads(files[spec.NOTEBOOK_NAME])
        tampered["cells"].append(nbformat.v4.new_markdown_cell(planted))
        assert leaks.find_leaks({"x.ipynb": json.dumps(tampered).encode()})


def test_leak_scan_looks_inside_the_embedded_public_checks():
    planted = {"tests/q9.py": notebook.reference_source("dropout_gamma")}
    cell = notebook.setup_source(planted)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)])
    assert leaks.find_leaks({"x.ipynb": nbformat.writes(nb).encode()})


def test_two_builds_give_identical_bytes():
    first = build.release_files(execute=False, grade=False, log=lambda _: None)
    second = build.release_files(execute=False, grade=False, log=lambda _: None)
    assert first == second
    with zipfile.ZipFile(__import__("io").BytesIO(first[build.STUDENT_ZIP])) as archive:
        assert archive.namelist() == [spec.NOTEBOOK_NAME]


def test_bad_command_line_gets_one_readable_line():
    result = subprocess.run(
        [sys.executable, "-m", "autograder", "biuld"], capture_output=True, text=True
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "invalid choice: 'biuld'" in result.stderr


# ## The real build (executes both notebooks)


@pytest.mark.slow
def test_build_command_writes_a_verified_release(tmp_path):
    dist = tmp_path / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "autograder", "build", "--dist", str(dist)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert "both notebooks run top to bottom" in result.stdout
    full = sum(q.points for q in spec.QUESTIONS)
    assert f"gate: solution {full:g}/{full:g}, stubs 0" in result.stdout
    written = sorted(str(p.relative_to(dist)) for p in dist.rglob("*") if p.is_file())
    assert written == sorted(
        [
            build.STUDENT_ZIP,
            build.AUTOGRADER_ZIP,
            build.MUTATION_REPORT,
            f"student/{spec.NOTEBOOK_NAME}",
            f"solutions/{spec.NOTEBOOK_NAME}",
            "solutions/written_answers.md",
        ]
    )
    again = build.release_files(execute=False, grade=False, log=lambda _: None)
    for name in written:
        if name != build.MUTATION_REPORT:  # only a build that grades writes the report
            assert (dist / name).read_bytes() == again[name], name
    assert "not caught" not in (dist / build.MUTATION_REPORT).read_text()


def test_build_refuses_a_solution_that_breaks_a_public_check(monkeypatch, tmp_path):
    broken = tmp_path / "broken_reference.py"
    broken.write_text(
        "from solutions import sigmoid_grad\n\n\n"
        'def max_sigmoid_grad() -> float:\n    """Off the peak."""\n    return sigmoid_grad(0.5)\n'
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    module = __import__("broken_reference")
    monkeypatch.setitem(solutions.GRADED, "max_sigmoid_grad", module.max_sigmoid_grad)
    with pytest.raises(build.BuildError, match="solutions.max_sigmoid_grad disagrees"):
        build.build(tmp_path / "dist", execute=False, log=lambda _: None)
    assert not (tmp_path / "dist").exists()


@pytest.mark.slow
def test_notebook_works_on_colab_where_only_the_notebook_exists(solution):
    executed = build.execute_notebook(solution, "solution", colab=True)
    outputs = build.check_outputs(executed)
    assert all(build.passed_all(text) for text in outputs.values())
    assert len(outputs) == len(spec.QUESTIONS)
    export = executed.cells[-1]
    printed = "".join(o.get("text", "") for o in export.outputs)
    assert "Download this notebook as .ipynb" in printed


def _wheel_of_installed(distribution: str, folder: Path) -> Path:
    """Repack an installed pure-Python distribution as a wheel, so pip can install it offline."""
    dist = importlib.metadata.distribution(distribution)
    site = Path(dist.locate_file(""))
    info = next(f for f in dist.files if f.name == "WHEEL").parent
    records, wheel = [], folder / f"{info.name.removesuffix('.dist-info')}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for file in dist.files:
            path = str(file)
            skipped = ("RECORD", "INSTALLER", "REQUESTED", "direct_url.json")
            if path.startswith("..") or "__pycache__" in path or file.name in skipped:
                continue
            data = (site / path).read_bytes()
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
            records.append(f"{path},sha256={digest.decode()},{len(data)}")
            archive.writestr(path, data)
        archive.writestr(f"{info}/RECORD", "\n".join([*records, f"{info}/RECORD,,"]) + "\n")
    return wheel


@pytest.fixture
def python_without_otter(tmp_path, monkeypatch):
    """A kernel on a fresh Python that has this project's packages but not otter-grader, and
    whose pip installs from a local folder only (nothing is downloaded)."""
    python = tmp_path / "python"
    subprocess.run([sys.executable, "-m", "venv", str(python)], check=True)
    site = next(python.glob("lib/python3*/site-packages"))
    ours = Path(importlib.metadata.distribution("numpy").locate_file(""))
    for entry in ours.iterdir():
        hidden = entry.name.startswith(("otter", "__editable__", "disc05", "_distutils_hack"))
        if hidden or entry.suffix == ".pth" or (site / entry.name).exists():
            continue
        (site / entry.name).symlink_to(entry)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    _wheel_of_installed("otter-grader", wheels)
    kernel = tmp_path / "jupyter" / "kernels" / "without-otter"
    kernel.mkdir(parents=True)
    argv = [str(python / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    spec_json = {"argv": argv, "display_name": "without otter", "language": "python"}
    (kernel / "kernel.json").write_text(json.dumps(spec_json))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(wheels))
    check = [str(python / "bin" / "python"), "-c", "import otter"]
    assert subprocess.run(check, capture_output=True).returncode != 0
    return "without-otter"


@pytest.mark.slow
def test_student_notebook_installs_otter_on_colab_from_a_python_without_it(
    student, python_without_otter
):
    executed = build.execute_notebook(
        student, "student", colab=True, kernel_name=python_without_otter
    )
    install = next(cell for cell in executed.cells if cell.cell_type == "code")
    first = "".join(o.get("text", "") for o in install.outputs)
    assert first.count("\n") == 1 and "Installed the grading client otter-grader" in first
    assert not any(o.get("name") == "stderr" for o in install.outputs)
    outputs = build.check_outputs(executed)
    assert sorted(outputs) == sorted(q.name for q in spec.QUESTIONS)
    for question in spec.QUESTIONS:
        lines = outputs[question.name].splitlines()
        assert [line.split(":")[0] for line in lines] == [
            f"{wording.NOT_ATTEMPTED_MARK} {f}" for f in question.functions
        ]
    printed = "".join(o.get("text", "") for o in executed.cells[-1].outputs)
    assert "Download this notebook as .ipynb" in printed


def test_public_checks_are_otter_exception_tests_with_one_case_per_function(tmp_path, test_files):
    for question in spec.QUESTIONS:
        path = tmp_path / f"{question.name}.py"
        path.write_text(test_files[f"tests/{question.name}.py"])
        test_file = create_test_file(str(path), NBMetadataConfig())
        assert isinstance(test_file, ExceptionTestFile)
        assert [c.name for c in test_file.test_cases] == list(question.functions)


def test_naming_every_function_and_case_kind_is_not_a_leak(table):
    fragments = leaks.secret_fragments(table)
    labels = sorted({e.case.label for entries in table.values() for e in entries})
    results = {"tests": [], "extra_data": {"not_attempted": list(table), "kinds": labels}}
    assert leaks.leaked_fragments(results, fragments) == []
    code = {"tests": [{"name": "q1a", "output": fragments[-1]}]}  # a real secret still is one
    assert leaks.leaked_fragments(code, fragments)
