"""Every structural slip an author can make when changing the assignment stops the build with
one line naming the file and what to add there; declared weights share a question's points;
the build says which functions' points changed since the release it replaces."""

import dataclasses
import io
import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import solutions
from autograder import cases, grader, spec
from autograder.release import build, notebook, package, public_checks, structure

REPO = Path(__file__).resolve().parent.parent


def build_failure() -> str:
    """The message the build stops with (it stops before rendering anything)."""
    with pytest.raises(build.BuildError) as failure:
        build.release_files(execute=False, grade=False, log=lambda _: None)
    return str(failure.value)


def assert_one_line_naming(message: str, file: str, *words: str) -> None:
    assert "\n" not in message, message
    assert message.startswith(f"{file}: "), message
    assert (REPO / file).is_file(), file
    for word in words:
        assert word in message, message


@pytest.fixture
def source(monkeypatch, tmp_path):
    """Edit a copy of the notebook source, which the build then reads."""
    copy = tmp_path / "assignment" / notebook.SOURCE.name
    shutil.copytree(notebook.SOURCE.parent, copy.parent)
    monkeypatch.setattr(notebook, "SOURCE", copy)

    def edit(old: str, new: str) -> None:
        text = copy.read_text(encoding="utf-8")
        assert text.count(old) == 1, old
        copy.write_text(text.replace(old, new), encoding="utf-8")

    return edit


def replace_record(monkeypatch, function: str, **changes) -> None:
    record = dataclasses.replace(cases.FUNCTIONS[function], **changes)
    monkeypatch.setitem(cases.FUNCTIONS, function, record)


def cell(marker: str) -> str:
    return f"```python\n{marker}\n```\n"


def test_the_assignment_as_it_is_has_no_structural_slip():
    assert structure.problems() == []


def test_a_missing_function_marker_names_the_file_and_where_to_add_it(source):
    last = list(spec.QUESTIONS[-1].functions)
    source(cell(f"# disc05: function {last[-1]}"), "")
    message = build_failure()
    assert_one_line_naming(
        message,
        "assignment/disc05.md",
        f"no cell `# disc05: function {last[-1]}`",
        f'add one before `grader.check("{spec.QUESTIONS[-1].name}")`',
    )


def test_function_markers_out_of_the_records_order_are_named(source):
    question = next(q for q in spec.QUESTIONS if len(q.functions) > 1)
    first, second = question.functions[:2]
    source(cell(f"# disc05: function {first}"), "<<first>>")
    source(cell(f"# disc05: function {second}"), cell(f"# disc05: function {first}"))
    source("<<first>>", cell(f"# disc05: function {second}"))
    message = build_failure()
    assert_one_line_naming(
        message,
        "assignment/disc05.md",
        f"{question.name}'s function cells come in the order {second}, {first}",
        "autograder/cases.py declares",
    )


def test_a_function_marker_under_another_question_is_named(source):
    early, late = spec.QUESTIONS[0], spec.QUESTIONS[-1]
    name = late.functions[0]
    source(cell(f"# disc05: function {name}"), "")
    check = cell(f'grader.check("{early.name}")')
    source(check, cell(f"# disc05: function {name}") + "\n" + check)
    message = build_failure()
    assert_one_line_naming(message, "assignment/disc05.md", f"`# disc05: function {name}`")
    assert "move it there" in message


def test_a_marker_for_no_graded_function_is_named(source):
    check = cell(f'grader.check("{spec.QUESTIONS[0].name}")')
    source(check, cell("# disc05: function nothing_of_that_name") + "\n" + check)
    assert_one_line_naming(
        build_failure(),
        "assignment/disc05.md",
        "the cell `# disc05: function nothing_of_that_name` names no graded function",
        "declare its record in autograder/cases.py, or remove the cell",
    )


def test_a_missing_criteria_marker_is_named(source):
    question = spec.QUESTIONS[0].name
    source(f"<!-- disc05: criteria {question} -->", "")
    assert_one_line_naming(
        build_failure(),
        "assignment/disc05.md",
        f"no cell `<!-- disc05: criteria {question} -->`",
        f"add one before the cells of {question}'s functions",
    )


def test_missing_public_checks_name_the_function_not_a_stub_that_passes(monkeypatch):
    question = spec.QUESTIONS[-1]
    monkeypatch.setitem(public_checks.CHECKS, question.name, ())
    message = build_failure()
    problems = message.splitlines()
    assert len(problems) == len(question.functions)
    for function, problem in zip(question.functions, problems, strict=True):
        assert_one_line_naming(
            problem,
            "autograder/release/public_checks.py",
            f"{function} has no public check",
            f"add PublicCheck({function!r}, description, args) to CHECKS[{question.name!r}]",
        )
    assert "not attempted" not in message


def test_missing_mistakes_and_alternatives_say_how_many_to_add(monkeypatch):
    function = spec.QUESTIONS[-1].functions[0]
    monkeypatch.setattr(
        structure, "MISTAKES", tuple(m for m in structure.MISTAKES if m.function != function)
    )
    only_one = [a for a in structure.ALTERNATIVES if a.function == function][:1]
    others = tuple(a for a in structure.ALTERNATIVES if a.function != function)
    monkeypatch.setattr(structure, "ALTERNATIVES", others + tuple(only_one))
    mistakes, alternatives = build_failure().splitlines()
    assert_one_line_naming(
        mistakes,
        "autograder/variants.py",
        f"{function} has 0 catalogued mistakes",
        f"add {structure.MIN_MISTAKES} more mistake({function!r}, name, hint, body)",
    )
    assert_one_line_naming(
        alternatives,
        "autograder/variants.py",
        f"{function} has 1 alternative answer",
        f"add {structure.MIN_ALTERNATIVES - 1} more alternative({function!r}, name, body)",
    )


def test_a_question_without_functions_is_named(monkeypatch):
    monkeypatch.setattr(spec, "QUESTIONS", (*spec.QUESTIONS, spec.Question("q3a", points=2)))
    assert_one_line_naming(
        build_failure(),
        "autograder/spec.py",
        "q3a has no graded function",
        "@graded(NAME, 'q3a', criteria)",
    )


def test_a_record_naming_no_question_is_named(monkeypatch):
    function = spec.QUESTIONS[0].functions[0]
    replace_record(monkeypatch, function, question="q9")
    assert_one_line_naming(
        build_failure(), "autograder/cases.py", f"the record of {function} names 'q9'"
    )


def test_criteria_weights_that_do_not_add_up_are_named(monkeypatch):
    function = spec.QUESTIONS[0].functions[0]
    first, *rest = cases.FUNCTIONS[function].criteria
    criteria = (dataclasses.replace(first, weight=first.weight + 0.25), *rest)
    replace_record(monkeypatch, function, criteria=criteria)
    assert_one_line_naming(
        build_failure(), "autograder/cases.py", f"the weights of {function}'s criteria add up to"
    )


@pytest.mark.parametrize("extra", [0.25, -0.25])
def test_function_weights_that_do_not_add_up_to_the_question_are_named(monkeypatch, extra):
    question = next(q for q in spec.QUESTIONS if len(q.functions) > 1)
    share = 1 / len(question.functions)
    for function in question.functions:
        replace_record(monkeypatch, function, weight=share)
    replace_record(monkeypatch, question.functions[0], weight=share + extra)
    assert_one_line_naming(
        build_failure(),
        "autograder/cases.py",
        f"the weights of {question.name}'s functions add up to {1 + extra:.4g}, not 1",
        f"would not add up to the question's {question.points:.4g}",
    )


def test_declared_weights_that_leave_nothing_for_the_rest_are_named(monkeypatch):
    question = next(q for q in spec.QUESTIONS if len(q.functions) > 1)
    replace_record(monkeypatch, question.functions[0], weight=1.0)
    assert_one_line_naming(
        build_failure(),
        "autograder/cases.py",
        f"the weights declared for {question.name}'s functions add up to 1",
        f"leaving nothing for {', '.join(question.functions[1:])}",
    )


def test_a_missing_model_answer_is_named(monkeypatch):
    question = spec.WRITTEN_QUESTIONS[-1]
    answers = {q: a for q, a in notebook.written_answers().items() if q != question}
    monkeypatch.setattr(notebook, "written_answers", lambda: answers)
    assert_one_line_naming(
        build_failure(), "solutions/written_answers.md", f"no section `## {question}`"
    )


def test_too_few_hidden_cases_are_named(monkeypatch):
    function = next(f for f in solutions.GRADED if cases.FUNCTIONS[f].hidden_cases()[0].args)
    generate = cases.FUNCTIONS[function].generate

    def fewer(rng):
        made = generate(rng)
        return [c for i, c in enumerate(made) if i < 5 or not c.label.startswith("random")]

    replace_record(monkeypatch, function, generate=fewer)
    assert_one_line_naming(
        build_failure(),
        "autograder/cases.py",
        f"{function} has 5 random hidden cases: make at least {cases.RANDOM_CASES}",
    )


# ## Slips that stop the sources from importing: the build command still says one line


def _copy(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    for name in ("assignment", "solutions", "autograder"):
        shutil.copytree(REPO / name, copy / name, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _build_in(copy: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", "build", "--no-execute", "--dist", str(copy / "d")],
        cwd=copy,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(copy)},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_a_record_declared_twice_or_without_a_reference_is_one_line(tmp_path):
    copy = _copy(tmp_path)
    first = spec.QUESTIONS[0].functions[0]
    residual = copy / "solutions" / "residual.py"
    kept = residual.read_text(encoding="utf-8")
    residual.write_text(kept.replace(f"def {first}(", f"def renamed_{first}("), encoding="utf-8")
    done = _build_in(copy)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr == (
        "build failed: solutions/residual.py or solutions/dropout.py: no reference for the "
        f"graded function {first}: define it in one of them\n"
    )
    residual.write_text(kept, encoding="utf-8")
    records = copy / "autograder" / "cases.py"
    records.write_text(
        records.read_text(encoding="utf-8")
        + f'\n\n@graded("{first}", "q1a", ())\ndef _again(rng):\n    return []\n',
        encoding="utf-8",
    )
    done = _build_in(copy)
    assert done.returncode == 1 and done.stderr == (
        f"build failed: autograder/cases.py: {first} is declared twice: keep one "
        f"@graded({first!r}, ...)\n"
    ), done.stderr
    assert not (copy / "d").exists()


# ## Declared weights


def test_declared_weights_share_a_question_and_the_rest_is_split_equally(monkeypatch):
    question = next(q for q in spec.QUESTIONS if len(q.functions) > 1)
    first, *rest = question.functions
    replace_record(monkeypatch, first, weight=0.5)
    assert spec.function_points(first) == pytest.approx(question.points / 2)
    for function in rest:
        assert spec.function_points(function) == pytest.approx(question.points / 2 / len(rest))
    total = sum(spec.function_points(f) for f in question.functions)
    assert total == pytest.approx(question.points)
    assert sum(spec.criterion_points(first).values()) == pytest.approx(question.points / 2)
    assert structure.weight_problems() == []
    labels = [c.label for c in cases.hidden_cases(first)]
    earned = sum(c.points for c in grader.criterion_results(first, labels, {}))
    assert earned == pytest.approx(question.points / 2)
    shown = notebook.criteria_cell(question.name)
    assert f"`{first}` ({question.points / 2:.3g} point" in shown


def test_without_declared_weights_a_question_is_shared_equally():
    for question in spec.QUESTIONS:
        for function in question.functions:
            assert cases.FUNCTIONS[function].weight is None
            assert spec.function_points(function) == pytest.approx(
                question.points / len(question.functions)
            )


# ## The points of each function, against the last release


def test_the_autograder_zip_records_each_function_s_points(test_files):
    with zipfile.ZipFile(io.BytesIO(package.autograder_zip(test_files))) as archive:
        record = json.loads(archive.read(package.POINTS))
    assert record == json.loads(json.dumps(package.points_record()))
    assert list(record["functions"]) == list(solutions.GRADED)
    assert sum(record["functions"].values()) == pytest.approx(sum(q.points for q in spec.QUESTIONS))


def _release_with(dist: Path, record: dict | None) -> None:
    dist.mkdir()
    with zipfile.ZipFile(dist / build.AUTOGRADER_ZIP, "w") as archive:
        archive.writestr("run_autograder", "")
        if record is not None:
            archive.writestr(package.POINTS, json.dumps(record))


def test_the_build_says_which_functions_points_changed_since_the_last_release(tmp_path):
    now = package.points_record()
    first, second, *_ = now["functions"]
    before = json.loads(json.dumps(now))
    before["functions"][first] += 1
    del before["functions"][second]
    before["functions"]["retired_function"] = 2.0
    before["questions"]["retired_function"] = "q1a"
    _release_with(tmp_path / "dist", before)
    lines = build.points_lines(build.released_points(tmp_path / "dist"), now, tmp_path / "dist")
    said = "points changed since the last release: "
    q = now["questions"]
    assert lines == [
        f"{said}{first} ({q[first]}) {before['functions'][first]:.3g} -> "
        f"{now['functions'][first]:.3g}",
        f"{said}{second} ({q[second]}) new, {now['functions'][second]:.3g}",
        f"{said}retired_function (q1a) 2 -> removed",
    ]
    assert build.points_lines(now, now, tmp_path) == [
        f"points: as in the last release, {sum(now['functions'].values()):.3g} in all"
    ]


def test_with_no_points_to_compare_the_build_lists_every_function_s(tmp_path):
    now = package.points_record()
    assert build.released_points(tmp_path / "none") is None
    (line,) = build.points_lines(None, now, tmp_path / "none")
    assert line.startswith(f"points (no earlier release in {tmp_path / 'none'} to compare with)")
    assert all(f"{f} {p:.3g}" in line for f, p in now["functions"].items())
    _release_with(tmp_path / "old", None)  # built before releases recorded their points
    assert build.released_points(tmp_path / "old") == {}
    (line,) = build.points_lines({}, now, tmp_path / "old")
    assert line.startswith("points (the release in ")


def test_the_build_prints_the_points_before_it_renders(tmp_path, monkeypatch):
    now = package.points_record()
    before = json.loads(json.dumps(now))
    changed = next(iter(now["functions"]))
    before["functions"][changed] += 0.5
    dist = tmp_path / "dist"
    _release_with(dist, before)
    said = []
    monkeypatch.setattr(build, "release_files", lambda **_: said.append("rendered") or {})
    build.build(dist, log=said.append)
    assert said[0].startswith(f"points changed since the last release: {changed} ")
    assert said[1] == "rendered"


# ## Content tests name the file to update


def test_a_failing_content_test_names_its_file_and_an_engine_test_does_not(tmp_path):
    (tmp_path / "conftest.py").write_text(
        f"import sys\nsys.path.insert(0, {str(REPO / 'tests')!r})\n"
        "from content import pytest_runtest_makereport  # noqa: F401\n"
    )
    (tmp_path / "test_this_week.py").write_text(
        "import pytest\n\npytestmark = pytest.mark.content\n\n\n"
        "def test_old_points():\n    assert 3 == 2\n"
    )
    (tmp_path / "test_engine.py").write_text("def test_engine():\n    assert 3 == 2\n")
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stdout.count("checks this week's assignment, not the grading engine") == 1
    engine = done.stdout.split("test_engine")[1].split("test_old_points")[0]
    assert "this week's" not in engine
    assert "update tests/test_this_week.py to match it" in done.stdout
