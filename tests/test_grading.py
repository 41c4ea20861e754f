"""Hidden grading: scores, feedback, isolation, limits, and the attack suite."""

import copy
import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import as_script, write_notebook

from autograder import cases, grader, sandbox, spec, wording
from autograder.release import attacks, gate, leaks, package

FULL = sum(q.points for q in spec.QUESTIONS)
REPO = str(Path(__file__).resolve().parent.parent)
FAST = spec.Limits(call_seconds=1.0, cell_seconds=1.0, budget_seconds=20.0)
SOLUTION_SIGMOID = (
    "def sigmoid(x):\n    x = np.asarray(x, float)\n    out = np.exp(-np.logaddexp(0, -x))\n"
    "    return float(out) if out.ndim == 0 else out"
)


@pytest.fixture
def grade(tmp_path, table, sandbox_runtime):
    """Grade a notebook (JSON) plus extra code cells; return the GradeReport."""

    def run(base: dict, *cells: str, limits: spec.Limits = spec.LIMITS) -> grader.GradeReport:
        return grader.grade(
            write_notebook(tmp_path, gate.with_cells(base, list(cells))), table, limits
        )

    return run


def function_points(report: grader.GradeReport) -> dict[str, float]:
    return {f.name: f.points for q in report.questions for f in q.functions}


def feedback(report: grader.GradeReport, function: str) -> str:
    return next(f.feedback for q in report.questions for f in q.functions if f.name == function)


# ## Scores


def test_solution_gets_full_marks_and_stubs_zero(grade, solution_json, student_json):
    assert grade(solution_json).score == pytest.approx(FULL)
    stubs = grade(student_json)
    assert stubs.score == 0
    assert (
        feedback(stubs, "sigmoid") == "sigmoid: not attempted (it still raises NotImplementedError)"
    )


def test_credit_is_per_criterion(grade, solution_json, table):
    # The textbook sigmoid is right except where it overflows: it fails one criterion only.
    report = grade(
        solution_json, "def sigmoid(x):\n    return 1 / (1 + np.exp(-np.asarray(x, float)))"
    )
    result = next(f for q in report.questions for f in q.functions if f.name == "sigmoid")
    assert 0 < result.passed < result.total == len(table["sigmoid"])
    assert [c.passed for c in result.criteria if not c.requirement] == [True, False]
    assert all(c.passed for c in result.criteria if c.requirement)
    points = spec.criterion_points("sigmoid")
    assert result.points == pytest.approx(1 - points["no overflow for large |x|"])
    assert "FAILED: no overflow for large |x|" in result.feedback
    assert "raised FloatingPointError: overflow" in result.feedback
    assert report.score == pytest.approx(FULL - 1 + result.points)


# ## Each mistake costs once: a graded function calling an earlier one of the student's

_OVERFLOWING_SIGMOID = "def sigmoid(x):\n    return 1 / (1 + np.exp(-x))"
_GRAD_CALLING_SIGMOID = "def sigmoid_grad(x):\n    s = sigmoid(x)\n    return s * (1 - s)"


def test_a_correct_function_calling_a_broken_one_is_judged_with_the_reference_in_its_place(
    grade, student_json
):
    # Only these two are written: sigmoid overflows, sigmoid_grad is right but calls it. The
    # mistake costs sigmoid's points, never sigmoid_grad's; the feedback says why.
    cells = ["import numpy as np", _OVERFLOWING_SIGMOID, _GRAD_CALLING_SIGMOID]
    report = grade(student_json, *cells)
    points = function_points(report)
    overflow = spec.criterion_points("sigmoid")["no overflow for large |x|"]
    assert points["sigmoid"] == pytest.approx(spec.function_points("sigmoid") - overflow)
    assert points["sigmoid_grad"] == pytest.approx(spec.function_points("sigmoid_grad"))
    text = feedback(report, "sigmoid_grad")
    assert "Judged with the reference sigmoid where it calls sigmoid" in text
    assert "Hint" not in text and "sigmoid_grad" not in report.mistakes
    # The same sigmoid_grad beside a correct sigmoid: nothing to explain.
    fixed = grade(student_json, "import numpy as np", _GRAD_CALLING_SIGMOID, SOLUTION_SIGMOID)
    assert "Judged with the reference" not in feedback(fixed, "sigmoid_grad")


def test_with_stand_ins_off_a_function_is_judged_with_the_students_own_callees(
    grade, student_json, monkeypatch
):
    monkeypatch.setattr(grader, "stand_ins_allowed", lambda: False)  # spec.Policy.standins
    cells = ["import numpy as np", _OVERFLOWING_SIGMOID, _GRAD_CALLING_SIGMOID]
    report = grade(student_json, *cells)
    overflow = spec.criterion_points("sigmoid_grad")["no overflow for large |x|"]
    full = spec.function_points("sigmoid_grad")
    assert function_points(report)["sigmoid_grad"] <= full - overflow + 1e-9
    assert "Judged with the reference" not in feedback(report, "sigmoid_grad")
    assert wording.STANDINS_OFF in report.text()


def test_a_function_not_written_yet_has_no_stand_in_and_earns_its_callers_nothing(
    grade, student_json
):
    # sigmoid is still the stub: sigmoid_grad calling it calls the stub, and earns nothing.
    report = grade(student_json, "import numpy as np", _GRAD_CALLING_SIGMOID)
    points = function_points(report)
    assert points["sigmoid"] == 0 and points["sigmoid_grad"] == 0
    assert "Judged with the reference" not in feedback(report, "sigmoid_grad")
    # The same for one that is not defined at all.
    report = grade(student_json, "import numpy as np", "sigmoid = None", _GRAD_CALLING_SIGMOID)
    assert function_points(report)["sigmoid_grad"] == 0


def test_a_stand_in_answers_only_for_arguments_of_the_kinds_the_hidden_cases_pass(
    grade, solution_json
):
    # Broadcasting a (253, 256, 1, 1, 1) W1 would make the key build tens of millions of
    # values: the grader answers "your own" instead, and stays small.
    cells = [
        "import numpy as np",
        "def residual_jacobian(W1, W2, x0):\n"
        "    big = residual_block(np.ones((253, 256, 1, 1, 1)), np.ones((512, 1)), np.ones(1))\n"
        "    return np.eye(len(x0)) + 0 * np.sum(big)",
    ]
    report = grade(solution_json, *cells)
    assert "Judged with the reference residual_block" not in feedback(report, "residual_jacobian")


def test_a_function_is_never_judged_with_a_stand_in_of_itself_or_of_a_later_one(
    grade, student_json
):
    # sigmoid calling sigmoid_grad (later) gets the student's own; max_sigmoid_grad, later
    # still, is judged with the reference sigmoid_grad, whatever the student's returns.
    cells = [
        "import numpy as np",
        "def sigmoid_grad(x):\n    return 0.0 * np.asarray(x, float) + 7.25",
        "def sigmoid(x):\n    g = sigmoid_grad(x)\n    return np.exp(-np.logaddexp(0, -x)) + 0 * g",
        "def max_sigmoid_grad():\n    return float(sigmoid_grad(0.0))",
    ]
    report = grade(student_json, *cells)
    points = function_points(report)
    assert points["sigmoid"] == pytest.approx(spec.function_points("sigmoid"))
    assert points["sigmoid_grad"] == 0
    assert points["max_sigmoid_grad"] == pytest.approx(spec.function_points("max_sigmoid_grad"))
    assert "Judged with the reference sigmoid_grad" in feedback(report, "max_sigmoid_grad")
    # The student's own sigmoid_grad would make this one right: it is never called.
    seven = grade(
        student_json, *cells[:2], "def max_sigmoid_grad():\n    return float(sigmoid_grad(0.0)) - 7"
    )
    assert function_points(seven)["max_sigmoid_grad"] == 0


_LOSS = (
    "    r = y - p * (X @ w_check)\n"
    "    return float(r @ r + p * (1 - p) * np.sum((X * X) @ (w_check * w_check)))\n"
)


@pytest.mark.parametrize("side", [spec.Channel().standin_side, spec.Channel().standin_side + 1])
def test_a_stand_in_whose_sides_are_too_long_is_the_students_own(grade, solution_json, side):
    # What the reference makes grows with the sides: a Jacobian of side**2 from 3 * side
    # elements, a diagonal of side**2 from none. Past the cap, the student's own answers
    # (here: arrays of 3, whatever it is asked), and the grading process never builds it.
    cells = [
        "def residual_jacobian(W1, W2, x0):\n    return np.zeros(3)",
        "def dropout_gamma(X, p):\n    return np.zeros(3)",
        "def dropout_loss(w_check, X, y, p):\n"
        f"    n = {side}\n"
        "    J = residual_jacobian(np.ones((1, n)), np.ones((n, 1)), np.ones(n))\n"
        "    G = dropout_gamma(np.zeros((0, n)), 0.5)\n"
        "    assert len(J) == len(G) == 3, 'answered by the reference'\n" + _LOSS,
    ]
    points = function_points(grade(solution_json, *cells))
    full = spec.function_points("dropout_loss")
    if side > spec.Channel().standin_side:
        assert points["dropout_loss"] == pytest.approx(full)
    else:
        assert points["dropout_loss"] == 0


def test_each_stage_of_feedback(grade, solution_json):
    report = grade(
        solution_json,
        "def residual_block(W1, W2, x0):\n    return [[0.0]]",  # wrong shape
        "def residual_jacobian(W1, W2, x0):\n    return np.full((len(x0), len(x0)), np.nan)",
        "def dropout_gamma(X, p):\n    return 'diag'",  # not numbers
        "def effective_column_norm(p):\n    return np.sqrt((1 - p) / p)",  # not close
        "del ridge_to_tikhonov_weights",
        "def dropout_loss(w_check, X, y, p):\n    raise ValueError('bad p')",
    )
    assert "wrong shape: returned shape (1, 1), expected shape" in feedback(
        report, "residual_block"
    )
    assert "not finite:" in feedback(report, "residual_jacobian")
    assert "not convertible to a float array" in feedback(report, "dropout_gamma")
    text = feedback(report, "effective_column_norm")
    assert re.search(r"not close: mismatched elements 1 / 1 \(100%\), max abs error \d", text)
    assert feedback(report, "ridge_to_tikhonov_weights").endswith(
        "is not defined in the submission"
    )
    assert "raised ValueError: bad p (line 2 of the cell defining dropout_loss)" in feedback(
        report, "dropout_loss"
    )


def test_feedback_never_shows_hidden_inputs_or_expected_values(grade, solution_json, table):
    report = grade(
        solution_json,
        "def dropout_gamma(X, p):\n    raise ValueError(repr(X) + repr(p))",
        "def effective_column_norm(p):\n    return 0.0",
    )
    text = json.dumps(report.to_gradescope())
    secrets = set()
    for name in ("dropout_gamma", "effective_column_norm"):
        for expected in table[name]:
            secrets |= {f"{v:.6g}" for v in np.ravel(expected.value) if abs(v) > 1e-3}
            for arg in expected.case.args:
                secrets |= {f"{v:.6g}" for v in np.ravel(np.asarray(arg, float)) if abs(v) > 1e-3}
    shown = {s for s in secrets if len(s.replace("-", "").replace(".", "")) >= 4 and s in text}
    assert not shown


def test_same_submission_same_results(grade, solution_json):
    cells = ("def effective_column_norm(p):\n    return float(np.sqrt(p))",)
    first, second = grade(solution_json, *cells), grade(solution_json, *cells)
    assert first.to_gradescope() == second.to_gradescope()


def test_cell_with_syntax_error_costs_only_its_own_functions(grade, solution_json):
    report = grade(
        solution_json,
        "def dropout_loss(w_check, X, y, p):\n    return (",
        "def effective_column_norm(p):\n    return float(np.sqrt(p / (1 - p)))",
    )
    assert report.score == pytest.approx(
        FULL
    )  # the broken redefinition never replaced the good one
    assert any("SyntaxError" in note for note in report.notes)


def test_magics_are_skipped_not_run(grade, solution_json, tmp_path):
    marker = tmp_path / "ran"
    report = grade(solution_json, f"!touch {marker}\n%sx touch {marker}", f"%%bash\ntouch {marker}")
    assert report.score == pytest.approx(FULL)
    assert not marker.exists()


# ## Notes speak of the student's cells, as the student sees them

CELL_NUMBER = re.compile(r"\bcell \d+\b", re.IGNORECASE)


def everything_said(report: grader.GradeReport) -> str:
    return json.dumps(report.to_gradescope())


@pytest.mark.parametrize("form", ["notebook", "percent", "nbconvert"])
def test_the_solution_graded_hears_nothing_about_the_notebooks_own_cells(
    tmp_path, solution_json, table, sandbox_runtime, form
):
    if form == "notebook":
        path = write_notebook(tmp_path, solution_json)
    else:
        path = tmp_path / "disc05.py"
        path.write_text(as_script(solution_json, form), encoding="utf-8")
    report = grader.grade(path, table)
    assert report.score == pytest.approx(FULL), report.text()
    assert report.notes == [] and report.limits == []
    said = everything_said(report)
    assert "IPython" not in said and "otter" not in said and "matplotlib" not in said


def test_a_students_failing_cell_is_named_by_its_function_or_first_line(grade, solution_json):
    report = grade(
        solution_json,
        "import scipy\ndef residual_block(W1, W2, x0):\n    return x0",
        "\n  # my helper\n\nimport sklearn",
        "def helper(x):\n    return x.no_such_attribute",
        "def residual_jacobian(W1, W2, x0):\n    J = helper(x0)\n    return J",
    )
    assert report.notes == [
        "The cell defining residual_block raised ModuleNotFoundError: No module named 'scipy'",
        "The cell starting `# my helper` raised ModuleNotFoundError: No module named 'sklearn': "
        "only numpy and Python's standard library are available: use numpy only",
    ]
    assert (
        "(line 2 of the cell defining residual_jacobian; line 2 of the cell starting "
        "`def helper(x):`, in helper)" in feedback(report, "residual_jacobian")
    )
    assert not CELL_NUMBER.search(everything_said(report))


def test_an_edited_setup_cell_runs_and_is_the_students(grade, solution_json):
    edited = copy.deepcopy(solution_json)
    setup = next(c for c in edited["cells"] if "# @title Setup" in "".join(c["source"]))
    setup["source"] = "def from_setup(p):\n    return 2 * p\n\n" + "".join(setup["source"])
    report = grade(edited, "def effective_column_norm(p):\n    return float(from_setup(p))")
    assert "values for random p" in feedback(report, "effective_column_norm")  # judged, not
    assert "not defined" not in feedback(report, "effective_column_norm")  # missing
    # It stops where it unpacks the checks (nothing in the sandbox is writable): an error in a
    # cell that defines no graded function and imports nothing missing is not a note.
    assert report.notes == []


# ## Isolation


def test_student_code_runs_unprivileged_confined_and_sees_no_answer_key(sandbox_runtime):
    code = (
        "import os, sys\n"
        "def probe(path):\n"
        "    try:\n"
        "        open(path).read()\n"
        "        return 1.0\n"
        "    except OSError:\n"
        "        return 0.0\n"
        "def importable():\n"
        "    try:\n"
        "        import solutions, autograder\n"
        "        return 1.0\n"
        "    except ImportError:\n"
        "        return 0.0\n"
    )
    # Paths are strings, which the argument encoding does not carry: bake them into the code.
    code += "".join(
        f"def probe{i}():\n    return probe({path!r})\n"
        for i, path in enumerate((f"{REPO}/autograder/cases.py", f"{REPO}/solutions/residual.py"))
    )
    code += "def probe_numpy():\n    import numpy\n    return probe(numpy.__file__)\n"
    names = ["probe0", "probe1", "importable", "probe_numpy"]
    report = sandbox.run([code], [sandbox.Call(name, ()) for name in names], FAST)
    assert [o.status for o in report.outcomes] == ["ok"] * 4
    # The answer key is out of reach; what the worker needs (numpy) is not.
    assert [float(o.value) for o in report.outcomes] == [0.0, 0.0, 0.0, 1.0]
    if os.geteuid() == 0:
        assert report.uid != 0
    assert "bubblewrap namespaces" in report.confinement


def test_forks_and_threads_are_refused(sandbox_runtime):
    code = (
        "import os, threading\n"
        "def forks():\n    return float(os.fork())\n"
        "def threads():\n    t = threading.Thread(target=print)\n    t.start()\n    return 1.0\n"
    )
    report = sandbox.run([code], [sandbox.Call("forks", ()), sandbox.Call("threads", ())], FAST)
    assert [o.status for o in report.outcomes] == ["error", "error"]
    assert "BlockingIOError" in report.outcomes[0].message
    assert "can't start new thread" in report.outcomes[1].message


def test_a_hang_costs_its_function_and_the_budget_bounds_the_whole_run(grade, solution_json):
    limits = spec.Limits(call_seconds=1.0, cell_seconds=1.0, budget_seconds=4.0)
    start = time.monotonic()
    report = grade(
        solution_json,
        "import time\ntime.sleep(30)",  # a cell that hangs: skipped after 1 s
        "def sigmoid(x):\n    while True:\n        pass",
        "def residual_block(W1, W2, x0):\n    while True:\n        pass",
        "def dropout_loss(w_check, X, y, p):\n    while True:\n        pass",
        "def effective_matrix(X, Gamma):\n    while True:\n        pass",
        limits=limits,
    )
    assert time.monotonic() - start < limits.budget_seconds + 3
    assert "did not finish within 1 s" in feedback(report, "sigmoid")
    assert "The cell starting `import time` was skipped: it did not finish within 1 s." in (
        report.notes
    )
    not_run = [f for q in report.questions for f in q.functions if "used up its 4 s" in f.feedback]
    assert not_run, "the budget should have stopped grading before the end"
    assert report.score < FULL


def test_results_are_plain_data_even_for_subclasses(sandbox_runtime):
    code = (
        "import numpy as np\n"
        "class Weird(np.ndarray):\n    pass\n"
        "def f():\n    return np.arange(3.0).view(Weird)\n"
        "def g():\n    return True\n"
    )
    report = sandbox.run([code], [sandbox.Call("f", ()), sandbox.Call("g", ())], FAST)
    assert type(report.outcomes[0].value) is np.ndarray
    np.testing.assert_array_equal(report.outcomes[0].value, [0.0, 1.0, 2.0])
    assert report.outcomes[1].status == "unconvertible"


# ## The attack suite (the build runs it too, as its gate)


@pytest.mark.slow
@pytest.mark.parametrize("attack", attacks.ATTACKS, ids=lambda a: a.name)
def test_attack_gets_its_expected_score(
    attack, solution_json, student_json, table, sandbox_runtime, tmp_path
):
    from autograder.release import build

    zip_bytes = package.autograder_zip(build.public_checks.render_all())
    wrong = gate.with_cells(student_json, [attacks.WRONG_ANSWERS])
    base = {"solution": solution_json, "stubs": student_json, "wrong": wrong}[attack.base]
    cells = attacks.attack_cells(attack, repo=REPO, source="/autograder/source")
    results, _ = gate.grade_in_tree(zip_bytes, gate.with_cells(base, cells), table)
    if attack.base == "solution":
        assert results["score"] == pytest.approx(gate.attack_score(attack), abs=1e-4)
        lost = {*attack.broken, *(f for f, _ in attack.broken_requirements)}
        for test in results["tests"][: len(spec.QUESTIONS)]:
            for line in (x for x in test["output"].splitlines() if not x.startswith(" ")):
                earned = re.match(r"(\w+): ([\d.]+) of ([\d.]+) points?$", line)
                full_marks = earned is not None and earned.group(2) == earned.group(3)
                assert full_marks != (line.split(":")[0] in lost), line
    elif attack.base == "stubs":
        assert results["score"] == 0
    else:
        assert results["score"] <= gate.grade_in_tree(zip_bytes, wrong, table)[0]["score"]
    assert not leaks.leaked_fragments(results, leaks.secret_fragments(table))
    assert len(json.dumps(results)) < 256_000


def test_every_graded_function_and_question_appears_in_the_hidden_cases():
    assert set(cases.all_hidden_cases()) == {f for q in spec.QUESTIONS for f in q.functions}


def test_a_worker_that_kills_its_fork_server_costs_only_itself(
    grade, solution_json, emulate, sandbox_runtime
):
    # Landlock and the PID namespace leave the worker nothing else to signal; its own fork
    # server it may kill (without Landlock), which is then replaced.
    emulate("landlock=0")
    # Once the server is dead the worker's parent is another process, which it may not signal.
    # The server's death reaches the worker a moment later: it waits for it in this call.
    killer = (
        "def sigmoid(x):\n    import os, signal, time\n    try:\n"
        "        os.kill(os.getppid(), signal.SIGKILL)\n    except OSError:\n        pass\n"
        "    time.sleep(2)\n"
        "    return 0.0"
    )
    report = grade(solution_json, killer)
    assert report.score == pytest.approx(FULL - 1)  # a constant 0.0 earns no criterion
    assert grade(solution_json).score == pytest.approx(FULL)
