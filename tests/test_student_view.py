"""What a student reads: check output, hints, blame, the setup and install cells, the demos and
the export. Grouped by the item of the notebook they are about."""

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pytest
from conftest import write_notebook
from otter.nbmeta_config import NBMetadataConfig
from otter.test_files import create_test_file

import solutions
from autograder import grader, spec, variants
from autograder.release import build, notebook, public_checks
from autograder.wording import FAILED_MARK as FAILED
from autograder.wording import NOT_ATTEMPTED_MARK as NOT_ATTEMPTED
from autograder.wording import PASSED_MARK as PASSED
from autograder.wording import WAITING_MARK as WAITING


def setup_namespace(test_files: dict[str, str], folder: Path) -> dict:
    """Run the setup cell in `folder` (outside IPython) and return its namespace."""
    env: dict = {}
    here = Path.cwd()
    os.chdir(folder)
    try:
        exec(notebook.setup_source(test_files), env)
    finally:
        os.chdir(here)
    return env


@pytest.fixture(scope="module")
def setup(test_files, tmp_path_factory) -> dict:
    return setup_namespace(test_files, tmp_path_factory.mktemp("setup"))


@pytest.fixture(scope="module")
def show(test_files, tmp_path_factory):
    """show(question, **replacements): the check's line per function for the reference with
    some functions replaced by source code (or removed, with None); with raw=True, the hint
    lines below them too."""
    folder = tmp_path_factory.mktemp("checks")
    env = setup_namespace(test_files, folder)
    checks = folder / env["CHECKS_FOLDER"]

    def run(question: str, raw: bool = False, **replaced: str | None) -> list[str]:
        namespace = {"np": np, **solutions.GRADED}
        for name, source in replaced.items():
            namespace.pop(name)
            if source is not None:
                exec(source, namespace)
        test_file = create_test_file(str(checks / f"{question}.py"), NBMetadataConfig())
        test_file.run(namespace)
        lines = env["check_output"](test_file).splitlines()
        return lines if raw else [line for line in lines if not line.startswith(" ")]

    return run


def mistake(function: str, name: str) -> str:
    return next(m.source for m in variants.MISTAKES if m.function == function and m.name == name)


# ## 1. Check output: one short line per function


def test_untouched_stubs_show_one_not_attempted_line_per_function(show):
    for question in spec.QUESTIONS:
        stubs = {f: notebook.stub_source(f) for f in question.functions}
        lines = show(question.name, **stubs)
        assert lines == [f"{NOT_ATTEMPTED} {f}: not attempted yet" for f in question.functions]


def test_a_function_not_run_yet_is_one_line_too(show):
    lines = show("q2b", effective_matrix=None, ridge_to_tikhonov_weights=None)
    assert lines == [
        f"{FAILED} {f}: not defined: run the cell that defines it"
        for f in ("effective_matrix", "ridge_to_tikhonov_weights")
    ]


def test_reference_shows_one_passing_line_per_function(show):
    for question in spec.QUESTIONS:
        lines = show(question.name)
        assert len(lines) == len(question.functions)
        assert all(line.startswith(PASSED) for line in lines)


def test_a_failure_is_one_line_with_its_hint_below_and_no_otter_internals(show):
    slip = next(m for m in variants.MISTAKES if m.name == "sign flipped in the exponent: sigma(-x)")
    lines = show("q1a", raw=True, sigmoid=slip.source)
    assert len(lines) == 4
    assert lines[0].startswith(f"{FAILED} sigmoid: values at x = ") and "Hint" not in lines[0]
    assert lines[1] == f"    Hint: {slip.hint}"
    assert lines[2].startswith(PASSED) and lines[3].startswith(PASSED)
    assert "Error at line" not in "\n".join(lines) and "_check(" not in "\n".join(lines)


def test_check_html_wraps_between_words_and_hangs_the_hint_under_itself(test_files, tmp_path):
    env = setup_namespace(test_files, tmp_path)
    slip = next(m for m in variants.MISTAKES if m.name == "sign flipped in the exponent: sigma(-x)")
    namespace = {"np": np, **solutions.GRADED}
    exec(slip.source, namespace)
    checks = tmp_path / env["CHECKS_FOLDER"]
    test_file = create_test_file(str(checks / "q1a.py"), NBMetadataConfig())
    test_file.run(namespace)
    shown = env["check_html"](test_file)
    assert 'style="white-space: pre-wrap; word-break: normal; overflow-wrap: anywhere"' in shown
    rows = re.findall(r'<div style="([^"]*)">([^<]*)</div>', shown)
    assert [style for style, _ in rows] == [
        "padding-left: 2ch; text-indent: -2ch",
        "padding-left: 4ch",
        "padding-left: 2ch; text-indent: -2ch",
        "padding-left: 2ch; text-indent: -2ch",
    ]
    assert rows[1][1].startswith("Hint: ")


# ## 2. Hints ask, they do not tell


TELLS = (
    "contributes its own Jacobian, the identity",
    "W2 D1 W1",
    "multiplies on the left",
    "square the column norms",
    "has variance p (1 - p)",
    "return a new array",
)


@pytest.mark.parametrize("variant", variants.MISTAKES, ids=lambda v: f"{v.function}: {v.name}")
def test_every_hint_is_a_question_that_does_not_state_the_fix(variant):
    assert variant.hint.rstrip().endswith("?"), variant.hint
    assert not any(tell in variant.hint for tell in TELLS), variant.hint


# np.where(x >= 0, a, b) evaluates a and b on every element: guarded by it, the textbook
# formulas still overflow, and are the same slip as the formulas unguarded.
GUARDED_BY_WHERE = {
    "sigmoid": (
        "the textbook formula, which overflows for large negative x",
        "def sigmoid(x):\n    x = np.asarray(x, dtype=float)\n"
        "    out = np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x)))\n"
        "    return float(out) if out.ndim == 0 else out",
    ),
    "sigmoid_grad": (
        "the overflow-prone quotient e^-x / (1 + e^-x)^2",
        "def sigmoid_grad(x):\n    x = np.asarray(x, dtype=float)\n"
        "    out = np.where(x >= 0, np.exp(-x) / (1 + np.exp(-x)) ** 2,"
        " np.exp(x) / (1 + np.exp(x)) ** 2)\n"
        "    return float(out) if out.ndim == 0 else out",
    ),
}


@pytest.mark.parametrize("function", sorted(GUARDED_BY_WHERE))
def test_the_overflow_hint_fits_a_formula_guarded_by_np_where(show, table, function):
    from autograder import compare, hints
    from autograder.cases import FUNCTIONS

    name, source = GUARDED_BY_WHERE[function]
    slip = next(m for m in variants.MISTAKES if m.function == function and m.name == name)
    assert "np.where" in slip.hint and "both" in slip.hint  # it does not assume np.where absent
    lines = show("q1a", raw=True, **{function: source})
    assert f"    Hint: {slip.hint}" in lines
    namespace = {"np": np, **solutions.GRADED}
    exec(source, namespace)
    record = FUNCTIONS[function]
    signatures = [
        compare.case_signature(
            *record.judge(
                compare.call(namespace[function], e.case.args, record.strict),
                e.value,
                e.promised,
            )
        )
        for e in table[function]
    ]
    assert hints.Hints(table).match(function, signatures) == slip


# ## 3. A correct function is never blamed for another one's mistake


def test_a_correct_max_sigmoid_grad_is_not_blamed_for_a_wrong_sigmoid_grad(show):
    lines = show("q1a", sigmoid_grad=mistake("sigmoid_grad", "sigma(x) instead of its derivative"))
    assert lines[0].startswith(PASSED)
    assert lines[1].startswith(f"{FAILED} sigmoid_grad:")
    assert lines[2].startswith(f"{WAITING} max_sigmoid_grad: not checked yet")
    assert "fix sigmoid_grad first" in lines[2] and "error" not in lines[2]


def test_a_function_that_calls_a_wrong_one_says_to_fix_that_one_first(show):
    lines = show(
        "q1a",
        sigmoid=mistake("sigmoid", "tanh instead of the logistic sigmoid"),
        sigmoid_grad="def sigmoid_grad(x):\n    s = sigmoid(x)\n    return s * (1 - s)",
    )
    assert lines[1] == (
        f"{FAILED} sigmoid_grad: fix sigmoid first: sigmoid_grad calls your sigmoid, "
        "which does not pass its own checks"
    )
    composed = (
        "def effective_column_norm(p):\n    X = np.eye(2)\n"
        "    return float(np.linalg.norm(effective_matrix(X, dropout_gamma(X, p))[:, 0]))"
    )
    wrong_gamma = mistake("dropout_gamma", "square root missing")
    assert show("q2c", effective_column_norm=composed)[0].startswith(PASSED)
    namespace_lines = show("q2c", effective_column_norm=composed, dropout_gamma=wrong_gamma)
    assert "fix dropout_gamma first" in namespace_lines[0]


# ## 4. Plausible slips that used to pass every public check


def test_outer_relu_mask_at_zero_fails_a_check_of_q1c(show):
    ge = (
        "def residual_jacobian(W1, W2, x0):\n"
        "    W1, W2, x0 = (np.asarray(a, dtype=float) for a in (W1, W2, x0))\n"
        "    a1 = W1 @ x0\n    a2 = W2 @ np.maximum(a1, 0) + x0\n"
        "    return (a2 >= 0)[:, None] * (W2 @ ((a1 > 0)[:, None] * W1) + np.eye(len(x0)))"
    )
    (line,) = show("q1c", residual_jacobian=ge)
    assert line.startswith(f"{FAILED} residual_jacobian: n = 3, one outer pre-activation exactly 0")


def test_sigmoid_in_float32_fails_and_the_docstrings_ask_for_float64(show):
    float32 = (
        "def sigmoid(x):\n    x = np.asarray(x, dtype=np.float32)\n    z = np.exp(-np.abs(x))\n"
        "    out = np.where(x >= 0, 1 / (1 + z), z / (1 + z))\n"
        "    return float(out) if out.ndim == 0 else out"
    )
    line = show("q1a", sigmoid=float32)[0]
    assert line.startswith(FAILED) and "float64" in line
    for name in ("sigmoid", "sigmoid_grad"):
        assert "float64" in notebook.public_docstring(name)


TAKES_ARRAYS = [
    n for n in solutions.GRADED if "numpy.ndarray of float64" in notebook.public_docstring(n)
]


def test_docstrings_promise_float64_arrays_and_never_array_like():
    # One input contract: the docstrings, the notebook's intro and the checks say the same.
    assert len(TAKES_ARRAYS) >= 1
    for name in solutions.GRADED:
        assert "array_like" not in notebook.public_docstring(name), name


@pytest.mark.parametrize("function", TAKES_ARRAYS)
def test_a_function_that_takes_only_arrays_passes_every_public_check(show, function):
    # The checks pass only what the contract promises: code written for arrays alone (the
    # natural `W2 @ np.maximum(W1 @ x0, 0) + x0`) is never told about lists.
    reference = notebook.reference_source(function).replace(f"def {function}(", "def _reference(")
    names = solutions.GRADED[function].__code__.co_varnames
    params = ", ".join(names[: solutions.GRADED[function].__code__.co_argcount])
    arrays_only = (
        f"{reference}\n\n\ndef {function}({params}):\n"
        f"    for given in ({params},):\n"
        f"        assert isinstance(given, float) or given.dtype == np.float64, type(given)\n"
        f"    return _reference({params})"
    )
    lines = show(spec.question_of(function).name, **{function: arrays_only})
    line = next(line for line in lines if f" {function}: " in line)
    assert line.startswith(PASSED), line


def test_a_function_using_another_package_is_told_to_use_numpy_only(show, monkeypatch):
    fake = types.ModuleType("scipy_like")
    fake.expit = lambda x: solutions.sigmoid(x)
    fake.expit.__module__ = "scipy_like.special"
    monkeypatch.setitem(sys.modules, "scipy_like", fake)
    through_global = "from scipy_like import expit\n\ndef sigmoid(x):\n    return expit(x)"
    line = show("q1a", sigmoid=through_global)[0]
    assert line.startswith(f"{FAILED} sigmoid: uses scipy_like") and "numpy only" in line
    imported_inside = "def sigmoid(x):\n    import scipy.special\n    return scipy.special.expit(x)"
    assert "uses scipy" in show("q1a", sigmoid=imported_inside)[0]
    helper = "def helper(x):\n    import scipy\n    return x\n\n"
    helper += "def sigmoid_grad(x):\n    return helper(x)"
    assert "uses scipy" in show("q1a", sigmoid_grad=helper)[1]
    allowed = "import math\n\ndef effective_column_norm(p):\n    return math.sqrt(p / (1 - p))"
    assert show("q2c", effective_column_norm=allowed)[0].startswith(PASSED)


def test_hidden_feedback_names_the_failed_import(solution_json, table, sandbox_runtime, tmp_path):
    # A package that no grading Python has (on Gradescope, scipy is one of them).
    cell = "from scipy_extras.special import expit\n\n\ndef sigmoid(x):\n    return expit(x)"
    submission = json.loads(json.dumps(solution_json))
    for notebook_cell in submission["cells"]:
        if "".join(notebook_cell["source"]).startswith("def sigmoid("):
            notebook_cell["source"] = cell  # written where the stub was
    path = write_notebook(tmp_path, submission)
    report = grader.grade(path, table)
    text = next(f.feedback for q in report.questions for f in q.functions if f.name == "sigmoid")
    assert "No module named 'scipy_extras'" in text and "numpy only" in text
    assert "not defined in the submission" not in text


# ## 5. The first cell: Python version, quiet install


def install_cell() -> str:
    return notebook.code_cells(notebook.build_notebook("student", {}))[0]


def run_install_cell(monkeypatch, pip_result: subprocess.CompletedProcess) -> str:
    """Run the first cell as if otter were missing; return what it prints."""
    real_import = __import__

    def without_otter(name, *args, **kwargs):
        if name == "otter":
            raise ImportError("No module named 'otter'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr("builtins.__import__", without_otter)
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: pip_result)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(install_cell(), {})
    return printed.getvalue()


def test_install_prints_one_line_however_much_pip_says(monkeypatch):
    noisy = subprocess.CompletedProcess([], 0, stdout="", stderr="WARNING: ...\n" * 50)
    printed = run_install_cell(monkeypatch, noisy)
    assert printed.count("\n") == 1 and "otter-grader 7.0.0" in printed


def test_a_failed_install_says_so_plainly(monkeypatch):
    failed = subprocess.CompletedProcess([], 1, stdout="", stderr="noise\n" * 20 + "ERROR: no net")
    with pytest.raises(RuntimeError, match="Could not install otter-grader"):
        run_install_cell(monkeypatch, failed)


def test_first_cell_refuses_an_old_python_plainly(monkeypatch):
    monkeypatch.setattr(sys, "version_info", (3, 9, 18, "final", 0))
    with pytest.raises(RuntimeError, match="needs Python 3.10 or newer"):
        exec(install_cell(), {})


# ## 6. The demos say what their code does


def demo_sources() -> list[str]:
    source = notebook.SOURCE.read_text(encoding="utf-8")
    return re.findall(r'```python tags=\["otter_ignore"\]\n(.*?)```', source, flags=re.S)[:2]


def run_demo(source: str, **functions) -> str:
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.close("all")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(source, {"np": np, **solutions.GRADED, **functions})
    assert plt.get_fignums(), "the demo drew no figure"
    return printed.getvalue()


def test_relu_stack_keeps_its_gradient_and_the_sigmoid_stack_loses_it():
    namespace = {"np": np, **solutions.GRADED}
    matplotlib.use("Agg")
    run_demo(demo_sources()[0])
    exec(demo_sources()[0].split("try:")[0], namespace)
    norms = namespace["gradient_norms_by_depth"]()
    assert norms["sigmoid"][-1] < 1e-15
    assert 1e-2 < norms["ReLU"][-1] < 1e2  # depth alone does not shrink it
    assert 0.5 < norms["residual"][-1] < 10


def test_dropout_demo_plots_training_converging_and_reads_agreement_plainly():
    printed = run_demo(demo_sources()[1])
    assert "inside that range, they agree" in printed
    assert re.search(r"is 0\.\d% away from the Tikhonov minimiser", printed), printed
    wrong = solutions.GRADED["dropout_loss"]
    printed = run_demo(demo_sources()[1], dropout_loss=lambda w, X, y, p: 1.02 * wrong(w, X, y, p))
    assert "outside that range" in printed


def test_the_residual_curve_is_described_as_it_is_drawn():
    namespace = {"np": np, **solutions.GRADED}
    exec(demo_sources()[0].split("try:")[0], namespace)
    residual = namespace["gradient_norms_by_depth"]()["residual"]
    text = " ".join(notebook.SOURCE.read_text(encoding="utf-8").split())
    said = re.search(
        r"The residual curve starts at ([\d.]+) after one block and climbs slowly, "
        r"to about (\d+) after (\d+) blocks",
        text,
    )
    assert said, "the text no longer describes the residual curve with its numbers"
    assert round(residual[0], 1) == float(said.group(1))
    assert round(residual[-1]) == int(said.group(2)) and len(residual) == int(said.group(3))
    assert all(b > 0.9 * a for a, b in zip(residual, residual[1:], strict=False))  # no collapse


@pytest.mark.parametrize("index", [0, 1])
def test_a_demo_run_before_the_cells_above_it_says_so_in_one_line(index):
    matplotlib.use("Agg")
    for namespace in ({}, {"np": np}):  # after a restart: nothing run, or only the setup cell
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(demo_sources()[index], dict(namespace))
        (line,) = printed.getvalue().splitlines()
        assert line.startswith("Demo skipped: name '") and "run the cells above first" in line
    # A name missing inside a student's own function is theirs to see, with its traceback.
    broken = "def sigmoid_grad(x):\n    return sigmid(x)\n\ndef dropout_loss(*a):\n    return lss\n"
    namespace = {"np": np, **solutions.GRADED}
    exec(broken, namespace)
    with pytest.raises(NameError):
        exec(demo_sources()[index], namespace)


def test_demo_text_does_not_give_away_a_mapping():
    text = notebook.SOURCE.read_text(encoding="utf-8")
    assert "compares $p\\check w$, mapped by" not in text
    assert "same random matrices" in text or "from the same matrices" in text


# ## 7. Export and checks in a folder of their own


def test_setup_writes_only_into_its_own_folder(test_files, tmp_path):
    other = tmp_path / "tests" / "q1a.py"
    other.parent.mkdir()
    other.write_text("# another assignment's check\n")
    env = setup_namespace(test_files, tmp_path)
    assert other.read_text() == "# another assignment's check\n"
    checks = tmp_path / notebook.CHECKS_FOLDER
    written = sorted(str(p.relative_to(checks)) for p in checks.rglob("*") if p.is_file())
    assert written == sorted([*(Path(p).name for p in test_files), notebook.HELPERS])
    beside = sorted(p.name for p in tmp_path.iterdir())
    assert beside == [".OTTER_LOG", notebook.CHECKS_FOLDER, "tests"]  # Otter's log: Otter's
    assert env["grader"]._tests_dir == notebook.CHECKS_FOLDER


def test_the_setup_cell_is_a_dozen_lines_and_its_code_is_beside_the_checks(test_files):
    # Unfolding the setup cell shows a short cell, not the code behind grader.
    lines = notebook.setup_source(test_files).splitlines()
    assert len(lines) <= 20 and sum(len(line) > 100 for line in lines) == 1
    assert "PUBLIC_CHECKS = " in next(line for line in lines if len(line) > 100)


def test_export_finds_its_own_notebook_among_others(setup, student_json, tmp_path, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "no-server"))
    monkeypatch.chdir(tmp_path)
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "another.ipynb")
    (tmp_path / "broken.ipynb").write_text("{not json")
    with pytest.raises(FileNotFoundError, match="none of the notebooks"):
        setup["this_notebook"]()
    write_notebook(tmp_path, student_json)
    assert setup["this_notebook"]() == tmp_path / spec.NOTEBOOK_NAME
    copy = write_notebook(tmp_path, student_json, name="disc05 (1).ipynb")
    os.utime(copy, (2e9, 2e9))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert setup["this_notebook"]() == copy
    # A guess, and said so in one line, naming the other copy.
    assert printed.getvalue().count("\n") == 1 and "saved last" in printed.getvalue()
    assert spec.NOTEBOOK_NAME in printed.getvalue()
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / spec.NOTEBOOK_NAME))
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert setup["this_notebook"]() == tmp_path / spec.NOTEBOOK_NAME
    assert printed.getvalue() == ""


@contextlib.contextmanager
def jupyter_server(sessions: list[dict]):
    """A stand-in Jupyter server answering GET /api/sessions (with its token only)."""
    import http.server
    import threading

    class Sessions(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            ok = self.path == "/api/sessions" and self.headers["Authorization"] == "token t0k"
            body = json.dumps(sessions).encode() if ok else b"{}"
            self.send_response(200 if ok else 403)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Sessions)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/"
    finally:
        server.shutdown()
        server.server_close()


def test_export_asks_the_jupyter_server_which_notebook_runs_this_kernel(
    setup, student_json, tmp_path, monkeypatch
):
    import ipykernel

    root = tmp_path / "root"
    (root / "sub").mkdir(parents=True)
    running = write_notebook(root / "sub", student_json, "renamed.ipynb")
    copy = write_notebook(root / "sub", student_json)  # saved later, and named like ours
    os.utime(copy, (2e9, 2e9))
    runtime = tmp_path / "runtime"
    runtime.mkdir()
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
    monkeypatch.setenv("JPY_SESSION_NAME", str(copy))  # stale: the name before a rename
    monkeypatch.setattr(ipykernel, "get_connection_file", lambda: "/x/kernel-abc-123.json")
    monkeypatch.chdir(root / "sub")
    sessions = [
        {"path": "other.ipynb", "kernel": {"id": "another"}},
        {"path": "sub/renamed.ipynb", "kernel": {"id": "abc-123"}},
    ]
    with jupyter_server(sessions) as url:
        # A server that is gone is passed over; the one running this kernel answers.
        (runtime / "jpserver-1.json").write_text(
            json.dumps({"url": "http://127.0.0.1:9/", "token": "t0k", "root_dir": "/"})
        )
        (runtime / "jpserver-2.json").write_text(
            json.dumps({"url": url, "token": "t0k", "root_dir": str(root)})
        )
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            assert setup["this_notebook"]() == running
        assert printed.getvalue() == ""
        (runtime / "jpserver-2.json").write_text(
            json.dumps({"url": url, "token": "wrong", "root_dir": str(root)})
        )
        assert setup["this_notebook"]() == copy  # refused: the name the kernel started with


def test_export_zip_holds_the_notebook_by_its_name_and_no_log(setup, student_json, tmp_path):
    folder = tmp_path / "course" / "week 5"
    folder.mkdir(parents=True)
    notebook_file = write_notebook(folder, student_json, "disc05 copy.ipynb")
    (folder / ".OTTER_LOG").write_bytes(b"x" * 100_000)
    here = Path.cwd()
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        setup["grader"].export(str(notebook_file))
    assert Path.cwd() == here
    (written,) = folder.glob("disc05_*.zip")
    assert re.fullmatch(r"disc05_\d{4}_\d\d_\d\dT\d\d_\d\d_\d\d_\d+\.zip", written.name)
    with zipfile.ZipFile(written) as archive:
        assert sorted(archive.namelist()) == ["__zip_filename__", "disc05 copy.ipynb"]
        assert archive.read("disc05 copy.ipynb") == notebook_file.read_bytes()
    assert "Export is not available" not in printed.getvalue()


def test_export_says_what_to_do_where_it_cannot(setup, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        setup["grader"].export(str(tmp_path / "missing.ipynb"))
    lines = printed.getvalue().splitlines()
    assert len(lines) == 2 and lines[0].startswith("Export is not available here")
    assert "upload that file to Gradescope" in lines[1]


def test_grader_before_the_setup_cell_says_to_run_it():
    namespace: dict = {}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(install_cell(), namespace)
        printed.truncate(0)
        printed.seek(0)
        namespace["grader"].check("q1a")
        namespace["grader"].export()
    lines = printed.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("grader.check is not ready: run the setup cell")
    assert lines[1].startswith("grader.export is not ready")
    with pytest.raises(AttributeError):
        namespace["grader"]._repr_html_  # noqa: B018 - what a display would look up


@pytest.mark.slow
def test_notebook_exports_beside_other_notebooks_and_another_tests_folder(tmp_path):
    student = notebook.build_notebook("student", public_checks.render_all())
    nbformat.write(student, tmp_path / spec.NOTEBOOK_NAME)
    nbformat.write(nbformat.v4.new_notebook(), tmp_path / "lab02.ipynb")
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "q1a.py").write_text("# lab02's check\n")
    client = build.NotebookClient(
        student, timeout=build.EXECUTION_TIMEOUT, resources={"metadata": {"path": tmp_path}}
    )
    client.execute()
    (written,) = tmp_path.glob("disc05_*.zip")
    with zipfile.ZipFile(written) as archive:
        assert sorted(archive.namelist()) == ["__zip_filename__", spec.NOTEBOOK_NAME]
    assert (tmp_path / "tests" / "q1a.py").read_text() == "# lab02's check\n"
    # As jupyter execute shows it: the confirmation as plain text, in one line.
    said = build.export_lines(student)
    assert said == [
        f"Wrote {written.name} beside {spec.NOTEBOOK_NAME} (as saved at "
        + said[0].split("(as saved at ")[1]
    ]
    assert said[0].endswith("): upload it to Gradescope.")
    outputs = build.check_outputs(student)
    assert all(len(outputs[q.name].splitlines()) == len(q.functions) for q in spec.QUESTIONS)
    json.dumps(outputs)


@pytest.mark.parametrize("variant", variants.ALTERNATIVES, ids=lambda v: f"{v.function}: {v.name}")
def test_every_alternative_correct_answer_passes_the_public_checks(show, variant):
    question = spec.question_of(variant.function).name
    lines = show(question, **{variant.function: variant.source})
    assert all(line.startswith(PASSED) for line in lines), lines
