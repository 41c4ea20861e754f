"""The class report: a class with known mistakes, written answers and broken uploads, graded
by `grade-all`, and what report.html and mistakes.csv say about it; the report at scale; and
the report in a real browser (headless Chromium), offline, without console errors."""

import csv
import html
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import time
from pathlib import Path

import pytest
from conftest import CHROMIUM_FLAGS, unavailable
from test_written import with_answers

from autograder import batch, class_report, grader, ledger, sandbox, spec, wording, written
from autograder.release import gate
from autograder.variants import MISTAKES

OUTPUT = Path(__file__).resolve().parent / "output"  # the screenshot is kept here
MATHS = r"The Jacobian is $D_2 (W_2 D_1 W_1 + I)$; with $I$ the gradient passes *unchanged*."
HOSTILE = '<script>alert("x")</script> & <img src=https://example.com/x.png>'


def _mistake(function: str, name: str) -> str:
    (variant,) = [m for m in MISTAKES if m.function == function and m.name == name]
    return variant.source


NO_IDENTITY = ("residual_jacobian", "without the identity from the skip connection")
ROW_NORMS = ("dropout_gamma", "row norms instead of column norms")
MEMORY = "def sigmoid(x):\n    return np.ones(10**9) * x\n"
HANGING = "def dropout_to_ridge_weights(w_check, p):\n    while True:\n        pass\n"

METADATA = {
    "submission_1": "Ada Lovelace",
    "submission_2": "Bob Stub",
    "submission_3": "Carol Jacobi",
    "submission_4": "Dan <b>Bold</b>",
    "submission_5": "Erin Broken",
    "submission_6": "Frank Memory",
    "submission_7": "Gina Hangs",
}
UNLISTED = "submission_8"  # a folder the metadata does not list: graded all the same


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory, solution_json, student_json):
    """A Gradescope export folder of eight, graded by grade-all; returns the output folder."""
    root = tmp_path_factory.mktemp("class") / "export"
    root.mkdir()
    (root / "submission_metadata.yml").write_text(
        "".join(
            f"{folder}:\n  :submitters:\n  - :name: '{name}'\n    :sid: '{i}'\n"
            f"    :email: s{i}@example.edu\n"
            for i, (folder, name) in enumerate(METADATA.items())
        )
    )
    carol = gate.with_cells(
        with_answers(student_json, {"q1a": MATHS, "q1c": "Short."}),
        [_mistake(*NO_IDENTITY)],
    )
    dan = gate.with_cells(
        with_answers(student_json, {"q1a": HOSTILE}), [_mistake(*NO_IDENTITY), _mistake(*ROW_NORMS)]
    )
    notebooks = {
        "submission_1": solution_json,
        "submission_2": student_json,
        "submission_3": carol,
        "submission_4": dan,
        "submission_6": gate.with_cells(solution_json, [MEMORY]),
        "submission_7": gate.with_cells(solution_json, [HANGING]),
        UNLISTED: solution_json,
    }
    for folder in [*METADATA, UNLISTED]:
        (root / folder).mkdir()
    for folder, notebook in notebooks.items():
        (root / folder / "disc05.ipynb").write_text(json.dumps(notebook))
    (root / "submission_5" / "disc05.ipynb").write_text('{"cells": [')
    out = root.parent / "graded"
    batch.grade_all(root, out, jobs=2, progress=None)
    return out


def test_mistakes_csv_lists_every_matched_mistake(graded_class, sandbox_runtime):
    with (graded_class / "mistakes.csv").open() as f:
        rows = [tuple(r.values()) for r in csv.DictReader(f)]
    assert rows == [
        ("submission_3", "q1c", *NO_IDENTITY),
        ("submission_4", "q1c", *NO_IDENTITY),
        ("submission_4", "q2a", *ROW_NORMS),
    ]


def _section(page: str, anchor: str) -> str:
    start = page.index(f'id="{anchor}"')
    end = page.find("<h2 ", start)
    return page[start : end if end > 0 else None]


def _function_block(page: str, function: str) -> str:
    start = page.index(f"<h3>{function} ")
    return page[start : page.index("</section>", start)]


def test_report_counts_mistakes_with_an_anonymised_example(graded_class, sandbox_runtime):
    page = (graded_class / "report.html").read_text()
    jacobian = _function_block(page, "residual_jacobian")
    assert f"<b>2 submissions</b>: {html.escape(NO_IDENTITY[1])}" in jacobian
    worth = wording.points_text(spec.function_points("residual_jacobian"))
    assert f"<code>residual_jacobian: 0 of {worth}; FAILED: " in jacobian  # the example: feedback
    assert not any(name in jacobian for name in ("Carol", "Dan", "submission_"))
    gamma = _function_block(page, "dropout_gamma")
    assert f"<b>1 submission</b>: {html.escape(ROW_NORMS[1])}" in gamma
    sigmoid = _function_block(page, "sigmoid")
    assert "failing, matching no catalogued mistake" in sigmoid  # Frank's MemoryError
    # Pass rates per kind, over those who attempted: the edge case x0 = 0 has no identity
    # to lose, so both mistaken submissions pass it and so do the four right ones (Ada, Frank,
    # Gina and the unlisted folder).
    assert re.search(r"edge: x0 = 0</td><td>.*?100% <small>\(6/6\)</small>", jacobian)


def _scores(out: Path) -> dict[str, dict]:
    with (out / "scores.csv").open() as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def test_every_submission_with_a_score_counts_as_graded(graded_class, sandbox_runtime):
    scores = _scores(graded_class)
    scored = [r for r in scores.values() if r["total"] != ""]
    assert len(scored) == len(scores) == len(METADATA) + 1
    assert "timed out: dropout_to_ridge_weights" in scores["submission_7"]["error"]
    assert "not listed in" in scores[UNLISTED]["error"]
    page = (graded_class / "report.html").read_text()
    summary = _section(page, "scores")
    assert f"<b>{len(scored)}</b><span>graded</span>" in summary
    assert "<b>0</b><span>not graded</span>" in summary
    totals = [float(r["total"]) for r in scored]
    assert f"{statistics.fmean(totals):.2f} / {class_report.MAX_TOTAL:g}" in summary
    # Their answers (the model answers) are read, not set aside as "not graded".
    written_part = _section(page, "written")
    for who in ("Gina Hangs", UNLISTED):
        assert written_part.count(f'<div class="who">{who}</div>') == len(spec.WRITTEN_QUESTIONS)
    assert "not graded" not in written_part


def test_report_lists_notes_beside_the_score_and_what_has_none(graded_class, sandbox_runtime):
    section = _section((graded_class / "report.html").read_text(), "not-graded")
    assert "0 not graded (no score); 4 graded with a note" in section
    noted = section[section.index("Graded, with a note") :]
    scores = _scores(graded_class)
    for folder, why in (
        ("submission_5", "is not a valid notebook"),
        ("submission_6", "sigmoid: raised MemoryError"),
        ("submission_7", "timed out: dropout_to_ridge_weights"),
        (UNLISTED, "not listed in"),
    ):
        row = noted[noted.index(f"<td>{folder}</td>") :].split("</tr>")[0]
        assert why in row, row
        assert f"<td>{float(scores[folder]['total']):g} / " in row, row
    assert "Erin Broken" in noted
    assert "submission_1" not in section and "submission_3" not in section


def test_a_submission_without_a_score_is_not_graded_and_said_so(tmp_path, table):
    write_synthetic_batch(tmp_path, 6, table)
    path = tmp_path / "scores.csv"
    with path.open() as f:
        rows = list(csv.DictReader(f))
    rows[2].update(total="", error="not graded: the sandbox cannot start")
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    class_report.write(tmp_path)
    page = (tmp_path / "report.html").read_text()
    graded = sum(r["total"] != "" for r in rows)
    assert f"<b>{graded}</b><span>graded</span>" in page
    assert "<b>1</b><span>not graded</span>" in page
    missing = _section(page, "not-graded").split("Graded, with a note")[0]
    assert "Not graded: no score" in missing and rows[2]["id"] in missing
    assert "the sandbox cannot start" in missing


def test_report_shows_every_written_answer_beside_its_student(graded_class, sandbox_runtime):
    page = (graded_class / "report.html").read_text()
    section = _section(page, "written")
    q1a = section[section.index("q1a: ") : section.index("q1c: ")]
    assert "q1a: 6 answers (no answer: 1 unreadable, 1 untouched)" in q1a
    assert (
        f'<div class="who">Carol Jacobi</div><div class="answer">{html.escape(MATHS)}</div>' in q1a
    )
    assert f'<div class="who">{html.escape("Dan <b>Bold</b>")}</div>' in q1a
    assert html.escape(HOSTILE) in q1a
    assert "<script" not in page and "https://example.com" not in page.replace(
        html.escape(HOSTILE), ""
    )
    model = written.answers(
        (graded_class.parent / "export" / "submission_1" / "disc05.ipynb").read_bytes()
    )["q1a"]
    assert html.escape(model) in q1a
    q1c = section[section.index("q1c: ") : section.index("q2c: ")]
    assert "q1c: 5 answers (no answer: 1 unreadable, 2 untouched)" in q1c and "Short." in q1c


def test_report_gives_the_pass_rate_of_every_criterion(graded_class, sandbox_runtime):
    page = (graded_class / "report.html").read_text()
    jacobian = _function_block(page, "residual_jacobian")
    rates = jacobian[jacobian.index('class="rates criteria"') :].split("</table>")[0]
    names = re.findall(r"<tr><td>(.*?)</td>", rates)
    assert names == [html.escape(n) for n in spec.criterion_points("residual_jacobian")]
    # Carol and Dan lose the skip's identity term; the other four who attempted it pass it.
    identity = html.escape("the skip's identity term, special cases (i)-(iii)")
    assert re.search(rf"{re.escape(identity)}</td><td>.*?67% <small>\(4/6\)</small>", rates)


def test_report_ranks_where_the_class_lost_its_points(graded_class, sandbox_runtime):
    page = (graded_class / "report.html").read_text()
    section = _section(page, "losses")
    rows = re.findall(r"<tr><td>(\d+)</td><td>(.*?)</td><td>(\w+) .*?</td><td>([\d.]+) ", section)
    lost = [float(points) for *_, points in rows]
    assert lost == sorted(lost, reverse=True) and [int(r[0]) for r in rows] == list(
        range(1, len(rows) + 1)
    )
    # What the ranking adds up to is what scores.csv says the graded class lost.
    scores = [r for r in _scores(graded_class).values() if r["total"] != ""]
    expected = sum(class_report.MAX_TOTAL - float(r["total"]) for r in scores)
    said = re.search(r"submissions lost ([\d.]+) of ([\d.]+) points", section)
    assert float(said.group(1)) == pytest.approx(expected, rel=1e-3)
    assert float(said.group(2)) == class_report.MAX_TOTAL * len(scores)
    # Bob left everything as stubs: every criterion has lost points, topped by the heaviest.
    heaviest = max(
        ((f, c, p) for _, f in class_report.FUNCTIONS for c, p in spec.criterion_points(f).items()),
        key=lambda item: item[2],
    )
    assert (html.escape(heaviest[1]), heaviest[0]) in [(r[1], r[2]) for r in rows]


def test_report_is_self_contained(graded_class, sandbox_runtime):
    page = (graded_class / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 2
    tags = re.findall(r"<[a-zA-Z][^>]*>", page)  # escaped student text holds no "<"
    links = [m for t in tags for m in re.findall(r"""(?:src|href)=["']?([^"' >]*)""", t)]
    assert links and all(link.startswith("data:") for link in links), links
    assert "<script" not in page and "<link" not in page


def _synthetic_results(rng: random.Random, table: dict) -> dict:
    """A plausible results.json, without grading: for the report at scale."""
    report = grader.empty_report("x") if rng.random() < 0.02 else grader.empty_report("")
    if report.error == "":
        report.error = None
        report.written = {
            q: rng.choice(["", written.PLACEHOLDER, "An answer with $x^2$. " * rng.randint(1, 60)])
            for q in spec.WRITTEN_QUESTIONS
        }
        for question in report.questions:
            for result in question.functions:
                kinds = {}
                for entry in table[result.name]:
                    counts = kinds.setdefault(grader.case_kind(entry.case.label), [0, 0])
                    counts[0] += rng.random() < 0.7
                    counts[1] += 1
                report.case_kinds[result.name] = kinds
                passed, total = (sum(c[i] for c in kinds.values()) for i in (0, 1))
                result.feedback = f"{result.name}: {passed}/{total} cases passed"
                options = [m.name for m in MISTAKES if m.function == result.name]
                if options and rng.random() < 0.3:
                    report.mistakes[result.name] = rng.choice(options)
        if rng.random() < 0.03:
            report.limits = ["the cell starting `while True:` did not finish within 10 s"]
    return report.to_gradescope()


def write_synthetic_batch(out: Path, n: int, table: dict) -> None:
    """What grade-all would leave for `n` submissions: results and scores.csv."""
    rng = random.Random(5)
    (out / "results").mkdir(parents=True)
    entries = []
    for i in range(n):
        entry = batch.Entry(
            f"submission_{i:04d}", out, [{"name": f"Student {i}", "email": "", "sid": ""}]
        )
        results = _synthetic_results(rng, table)
        (out / "results" / f"{entry.id}.json").write_text(json.dumps(results, indent=2))
        entries.append(entry)
    record = {"status": "graded", "submission": "synthetic", "autograder": "synthetic"}
    state = {"submissions": {e.id: record for e in entries}}
    (out / ledger.RESUME).write_text(json.dumps(state))
    digests = {e.id: "synthetic" for e in entries}
    ledger.write_csv(entries, out, digests, "synthetic")


def test_report_at_scale_is_quick(tmp_path, table):
    write_synthetic_batch(tmp_path, 120, table)
    start = time.monotonic()
    class_report.write(tmp_path)
    seconds = time.monotonic() - start
    page = (tmp_path / "report.html").read_text()
    assert seconds < 10, seconds
    assert page.count('<div class="who">') <= 3 * 120
    assert page.count("<tr>") < 300  # plots and per-kind rates, not a row per submission


def test_report_without_matplotlib_keeps_everything_but_the_plots(tmp_path, table, monkeypatch):
    import importlib.util

    write_synthetic_batch(tmp_path, 10, table)
    find = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "matplotlib" else find(name, *a),
    )
    class_report.write(tmp_path)
    page = (tmp_path / "report.html").read_text()
    assert "Plots need matplotlib" in page and "data:image/png" not in page
    assert "<details" in page  # the written answers are all there


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if found := shutil.which(name):
            return found
    return None


def test_report_renders_in_headless_chromium_without_console_errors(
    graded_class, tmp_path, sandbox_runtime
):
    if _chromium() is None:
        unavailable("no Chromium on this machine (apt-get install chromium; .ci/run does)")
    OUTPUT.mkdir(exist_ok=True)
    screenshot = OUTPUT / "class-report.png"
    screenshot.unlink(missing_ok=True)
    page = (graded_class / "report.html").resolve()
    common = [
        _chromium(),
        *CHROMIUM_FLAGS,
        f"--user-data-dir={tmp_path / 'profile'}",
        "--enable-logging=stderr",
        "--v=0",
    ]
    env = {**os.environ, "HOME": str(tmp_path)}
    shot = subprocess.run(
        [*common, f"--screenshot={screenshot}", "--window-size=1280,2000", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert shot.returncode == 0, shot.stderr[-2000:]
    assert screenshot.stat().st_size > 20_000
    dom = subprocess.run(
        [*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, env=env
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Carol Jacobi" in dom.stdout and "<script" not in dom.stdout
    console = [
        line
        for line in (shot.stderr + dom.stderr).splitlines()
        if "CONSOLE" in line or "Uncaught" in line or "Content Security Policy" in line
    ]
    assert console == []


def test_limits_hit_name_the_cell_or_function_and_the_limit():
    outcome = sandbox.Outcome
    report = sandbox.RunRecord(
        outcomes=[
            outcome("ok"),
            outcome("timeout", "did not finish within 5 s"),
            outcome("skipped", "was not run: an earlier case did not finish within 5 s"),
            outcome("error", "MemoryError: Unable to allocate", error_type="MemoryError"),
            outcome("stopped", "was not run: the submission used up its 60 s"),
            outcome("stopped", "was not run: the submission used up its 60 s"),
        ],
        cell_errors={2: "MemoryError: out of memory", 5: "NameError: name 'x' is not defined"},
        skipped_cells={7: "did not finish within 10 s"},
    )
    functions = ["sigmoid", "residual_block", "residual_block", "dropout_loss", "dropout_gamma"]
    cells = ["x = 1"] * 8
    cells[2] = "big = [0] * 10**10"
    cells[7] = "def sigmoid(x):\n    while True:\n        pass"
    assert grader._limits_hit(cells, report, [*functions, "dropout_gamma"]) == [
        "the cell defining sigmoid did not finish within 10 s",
        "the cell starting `big = [0] * 10**10` raised MemoryError: out of memory",
        "residual_block: did not finish within 5 s",
        "dropout_loss: raised MemoryError: Unable to allocate",
        "dropout_gamma was not run: the submission used up its 60 s",
    ]


# Failing for reasons no catalogued mistake explains: values off by a constant, and an error.
UNEXPLAINED = {
    "residual_block": "def residual_block(W1, W2, x0):\n"
    "    return np.maximum(W2 @ np.maximum(W1 @ x0, 0) + x0, 0) + 0.125",
    "dropout_gamma": "def dropout_gamma(X, p):\n    raise ValueError('<b>not</b> today')",
}


def test_a_failure_no_catalogued_mistake_explains_gets_no_hint_and_no_row(
    tmp_path, solution_json, sandbox_runtime
):
    folder = tmp_path / "class"
    folder.mkdir()
    notebook = gate.with_cells(solution_json, list(UNEXPLAINED.values()))
    (folder / "odd.ipynb").write_text(json.dumps(notebook))
    out = tmp_path / "graded"
    batch.grade_all(folder, out, jobs=1, progress=None)
    results = json.loads((out / "results" / "odd.json").read_text())
    assert results["score"] < sum(q.points for q in spec.QUESTIONS)
    assert results.get("extra_data", {}).get("mistakes", {}) == {}
    for function in UNEXPLAINED:
        question = spec.question_of(function).name
        (test,) = [t for t in results["tests"] if t["name"] == question]
        block = test["output"].split(f"{function}: ", 1)[1].split("\n    Hint")[0]
        assert "FAILED" in block and "Hint" not in test["output"], test["output"]
    with (out / "mistakes.csv").open() as f:
        assert list(csv.DictReader(f)) == []
    page = (out / "report.html").read_text()
    assert "failing, matching no catalogued mistake" in _function_block(page, "residual_block")


def test_failures_no_mistake_explains_are_shown_by_criterion_kind_and_error_size(
    tmp_path, solution_json, table, sandbox_runtime
):
    folder = tmp_path / "class"
    folder.mkdir()
    notebook = gate.with_cells(solution_json, list(UNEXPLAINED.values()))
    for name in ("odd", "odder"):
        (folder / f"{name}.ipynb").write_text(json.dumps(notebook))
    out = tmp_path / "graded"
    batch.grade_all(folder, out, jobs=1, progress=None)
    page = (out / "report.html").read_text()
    block = _function_block(page, "residual_block")
    unexplained = block[block.index("Failures no catalogued mistake explains") :]
    first = cases_of("residual_block")[0]
    criterion = spec.criterion_of("residual_block", first)
    assert (
        f"<b>2 submissions</b>: {html.escape(criterion.name)}, first failing on "
        f"{html.escape(spec.case_kind(first))}"
    ) in unexplained
    assert "not close: mismatched elements" in unexplained and "max abs error 0.1" in unexplained
    gamma = _function_block(page, "dropout_gamma")
    assert "raised ValueError: &lt;b&gt;not&lt;/b&gt; today" in gamma and "<b>not</b>" not in gamma
    # Only what the feedback shows: no hidden input or expected value reaches the report.
    from autograder.release import leaks

    shown = {"output": _section(page, "functions")}
    assert leaks.leaked_fragments(shown, leaks.secret_fragments(table)) == []


def cases_of(function: str) -> list[str]:
    return [expected.case.label for expected in grader.expected_outputs()[function]]
