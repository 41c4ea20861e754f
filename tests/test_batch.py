"""grade-all: a folder and a Gradescope export, same scores as `grade`, resumable, robust,
and honest when grading itself fails (the benchmark is tested in test_install.py)."""

import csv
import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import write_notebook

from autograder import batch, gradescope, ledger, roster, sandbox, spec, wording
from autograder.release import attacks, gate

FULL = sum(q.points for q in spec.QUESTIONS)
WRONG_GAMMA = (
    "def dropout_gamma(X, p):\n    return np.sqrt(p / (1 - p)) * np.diag(np.linalg.norm(X, axis=0))"
)

METADATA = """\
submission_101:
  :submitters:
  - :name: Ada Lovelace
    :sid: '101'
    :email: ada@example.edu
  :created_at: 2026-11-20 10:00:00 -0800
submission_102:
  :submitters:
  - :name: Alan Turing
    :sid: '102'
    :email: alan@example.edu
  - :name: Grace Hopper
    :sid: '103'
    :email: grace@example.edu
submission_104:
  :submitters:
  - :name: Broken Upload
    :sid: '104'
    :email: broken@example.edu
"""


@pytest.fixture
def folder(tmp_path, solution_json, student_json):
    subs = tmp_path / "subs"
    subs.mkdir()
    write_notebook(subs, solution_json, "alice.ipynb")
    write_notebook(subs, student_json, "bob.ipynb")
    write_notebook(subs, gate.with_cells(solution_json, [WRONG_GAMMA]), "carol.ipynb")
    (subs / "dave.ipynb").write_text('{"cells": [')
    return subs


def read_csv(path: Path) -> dict[str, dict]:
    with path.open() as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def cli(*args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args], capture_output=True, text=True, **options
    )


def solutions_folder(tmp_path: Path, solution_json: dict, count: int, name: str) -> Path:
    """A class of `count` copies of the solution, named by `name` (a format of ``i``)."""
    subs = tmp_path / "subs"
    subs.mkdir()
    for i in range(count):
        write_notebook(subs, solution_json, name.format(i=i) + ".ipynb")
    return subs


def quiet_batch(path: Path, out: Path, **options) -> batch.Summary:
    return batch.grade_all(path, out, jobs=options.pop("jobs", 2), progress=None, **options)


@pytest.fixture
def no_waiting(monkeypatch):
    monkeypatch.setattr(batch, "RETRY_SECONDS", 0.0)


def failing_sandbox(monkeypatch, failures: int | None = None) -> list:
    """Make `sandbox.run` raise SandboxUnavailable (the first `failures` times, or always)."""
    real, calls = sandbox.run, []

    def run(*args, **kwargs):
        calls.append(1)
        if failures is None or len(calls) <= failures:
            raise sandbox.SandboxUnavailable("the sandbox cannot start: no user namespaces")
        return real(*args, **kwargs)

    monkeypatch.setattr(sandbox, "run", run)
    return calls


def test_folder_scores_match_single_grading_and_corrupt_files_are_rows(
    folder, tmp_path, sandbox_runtime
):
    out = tmp_path / "out"
    done = cli("grade-all", str(folder), "-o", str(out), "-j", "2")
    assert done.returncode == 0, done.stderr
    rows = read_csv(out / "scores.csv")
    assert sorted(rows) == ["alice", "bob", "carol", "dave"]
    assert float(rows["alice"]["total"]) == FULL and float(rows["bob"]["total"]) == 0
    # The wrong factor keeps dropout_gamma's "diagonal matrix of column norms", and the
    # requirements it meets beside it.
    points = spec.criterion_points("dropout_gamma")
    lost = points["values on random problems"] + points["the p-dependence"]
    q2a = spec.question_of("dropout_gamma").points
    assert float(rows["carol"]["q2a"]) == pytest.approx(q2a - lost, abs=1e-3)  # as written
    assert "is not a valid notebook" in rows["dave"]["error"] and rows["alice"]["error"] == ""
    for name in ("alice", "carol", "dave"):
        single = json.loads(cli("grade", "--json", str(folder / f"{name}.ipynb")).stdout)
        stored = json.loads((out / "results" / f"{name}.json").read_text())
        assert stored == single, name
    kept = spec.function_points("dropout_gamma") - lost
    feedback = (out / "feedback" / "carol.txt").read_text()
    worth = wording.points_text(spec.function_points("dropout_gamma"))
    assert f"dropout_gamma: {kept:.3g} of {worth}" in feedback, feedback


def test_rerun_skips_what_is_graded_unless_forced(folder, tmp_path, sandbox_runtime):
    out = tmp_path / "out"
    assert "graded 4, skipped 0" in cli("grade-all", str(folder), "-o", str(out)).stdout
    (out / "results" / "bob.json").unlink()
    again = cli("grade-all", str(folder), "-o", str(out))
    assert "graded 1, skipped 3" in again.stdout
    assert sorted(read_csv(out / "scores.csv")) == ["alice", "bob", "carol", "dave"]
    assert "graded 4, skipped 0" in cli("grade-all", str(folder), "-o", str(out), "--force").stdout


def test_gradescope_export_zip_with_metadata(
    tmp_path, solution_json, student_json, sandbox_runtime
):
    export = tmp_path / "assignment_export.zip"
    with zipfile.ZipFile(export, "w") as archive:
        root = "assignment_77_export"
        archive.writestr(f"{root}/submission_metadata.yml", METADATA)
        archive.writestr(f"{root}/submission_101/disc05.ipynb", json.dumps(solution_json))
        with zipfile.ZipFile(tmp_path / "inner.zip", "w") as inner:
            inner.writestr("disc05.ipynb", json.dumps(student_json))
        archive.write(tmp_path / "inner.zip", f"{root}/submission_102/disc05_2026.zip")
        archive.writestr(f"{root}/submission_104/notes.txt", "no notebook here")
    out = tmp_path / "graded"
    assert cli("grade-all", str(export), "-o", str(out)).returncode == 0
    rows = read_csv(out / "scores.csv")
    assert rows["submission_101"]["name"] == "Ada Lovelace"
    assert (
        rows["submission_101"]["email"] == "ada@example.edu"
        and float(rows["submission_101"]["total"]) == FULL
    )
    assert (
        rows["submission_102"]["sid"] == "102; 103" and float(rows["submission_102"]["total"]) == 0
    )
    assert "no notebook to grade" in rows["submission_104"]["error"]


def test_discover_plain_folder_and_bad_exports(tmp_path):
    (tmp_path / "x.ipynb").write_text("{}")
    (tmp_path / "y").mkdir()
    (tmp_path / ".hidden").write_text("")
    assert [e.id for e in roster.discover(tmp_path).entries] == ["x", "y"]
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(batch.BatchError, match="not a readable zip"):
        batch.grade_all(bad, tmp_path / "out", progress=None)


def test_bad_arguments_get_one_line(tmp_path):
    for args in (
        ["grade-all", str(tmp_path / "missing")],
        ["grade-all", str(tmp_path), "-j", "two"],
    ):
        done = cli(*args)
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr


# ## Failures that are not the submission's doing


def test_a_failing_sandbox_never_becomes_a_score_and_the_next_run_grades(
    folder, tmp_path, monkeypatch, no_waiting, sandbox_runtime
):
    out = tmp_path / "out"
    calls = failing_sandbox(monkeypatch)
    summary = quiet_batch(folder, out, jobs=1)  # graded here, where `calls` can count
    assert sorted(summary.not_graded) == ["alice", "bob", "carol"]
    assert len(calls) == 3 * (1 + batch.RETRIES)  # each retried before giving up
    rows = read_csv(out / "scores.csv")
    for name in ("alice", "bob", "carol"):
        assert rows[name]["total"] == "" and rows[name]["q1a"] == ""
        assert rows[name]["error"] == "not graded: the sandbox cannot start: no user namespaces"
        assert not (out / "results" / f"{name}.json").exists()
    assert "is not a valid notebook" in rows["dave"]["error"]  # the student's own doing: a 0
    monkeypatch.undo()
    again = quiet_batch(folder, out)
    assert (again.graded, again.skipped, again.not_graded) == (3, 1, {})
    rows = read_csv(out / "scores.csv")
    assert float(rows["alice"]["total"]) == FULL and rows["alice"]["error"] == ""


def test_a_passing_failure_is_retried(folder, tmp_path, monkeypatch, no_waiting, sandbox_runtime):
    failing_sandbox(monkeypatch, failures=1)
    summary = batch.grade_all(folder, tmp_path / "out", jobs=1, progress=None)
    assert summary.not_graded == {} and summary.graded == 4
    assert float(read_csv(summary.csv)["alice"]["total"]) == FULL


def test_after_several_failures_in_a_row_the_rest_is_not_tried(
    tmp_path, solution_json, monkeypatch, no_waiting
):
    subs = solutions_folder(tmp_path, solution_json, 8, "s{i}")
    monkeypatch.setattr(batch, "GIVE_UP_AFTER", 2)
    calls = failing_sandbox(monkeypatch)
    summary = batch.grade_all(subs, tmp_path / "out", jobs=1, progress=None)
    assert len(summary.not_graded) == 8
    assert len(calls) == 2 * (1 + batch.RETRIES)
    assert "not tried" in summary.not_graded["s7"]


def test_grade_all_exits_non_zero_when_the_sandbox_cannot_start(folder, tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "DISC05_SANDBOX_PYTHON": str(tmp_path / "no-such-python")}
    done = cli("grade-all", str(folder), "-o", str(out), env=env)
    assert done.returncode == 1, done.stdout
    assert "0 unreadable" not in done.stdout and "3 not graded" in done.stdout
    assert "3 submission(s) not graded" in done.stderr and "Traceback" not in done.stderr
    rows = read_csv(out / "scores.csv")
    assert rows["alice"]["total"] == "" and rows["alice"]["error"].startswith("not graded: ")


def test_an_attack_that_kills_its_worker_costs_only_itself(
    tmp_path, solution_json, sandbox_runtime
):
    (attack,) = [a for a in attacks.ATTACKS if a.name == "os._exit inside a function"]
    subs = tmp_path / "subs"
    subs.mkdir()
    cells = attacks.attack_cells(attack, repo="/nonexistent", source="/autograder/source")
    write_notebook(subs, gate.with_cells(solution_json, cells), "attacker.ipynb")
    for name in ("before", "after"):
        write_notebook(subs, solution_json, f"{name}.ipynb")
    summary = batch.grade_all(subs, tmp_path / "out", jobs=1, progress=None)
    rows = read_csv(summary.csv)
    assert summary.not_graded == {}
    assert float(rows["attacker"]["total"]) == pytest.approx(FULL - 1)
    assert float(rows["before"]["total"]) == float(rows["after"]["total"]) == FULL


# ## Resume


def test_a_replaced_submission_is_regraded_without_force(
    folder, tmp_path, solution_json, sandbox_runtime
):
    out = tmp_path / "out"
    quiet_batch(folder, out)
    assert float(read_csv(out / "scores.csv")["bob"]["total"]) == 0
    write_notebook(folder, solution_json, "bob.ipynb")  # bob resubmits the full solution
    again = quiet_batch(folder, out)
    assert (again.graded, again.skipped) == (1, 3)
    assert float(read_csv(out / "scores.csv")["bob"]["total"]) == FULL


def test_results_of_another_autograder_are_regraded(folder, tmp_path, monkeypatch, sandbox_runtime):
    out = tmp_path / "out"
    quiet_batch(folder, out)
    monkeypatch.setattr(ledger, "autograder_identity", lambda limits: "points changed")
    again = quiet_batch(folder, out)
    assert (again.graded, again.skipped) == (4, 0)
    state = json.loads((out / ledger.RESUME).read_text())["submissions"]
    assert state["alice"]["autograder"] == "points changed"


def test_the_autograder_identity_covers_code_answer_key_and_limits():
    names = set(gradescope.shipped_files())
    assert "autograder/spec.py" in names and "autograder/cases.py" in names
    assert "solutions/residual.py" in names and "autograder/release/build.py" not in names
    default = ledger.autograder_identity(spec.LIMITS)
    assert default == ledger.autograder_identity(spec.LIMITS)
    assert default != ledger.autograder_identity(batch.limits_for(30.0))


def test_a_stale_result_is_never_listed_as_a_score(
    folder, tmp_path, monkeypatch, no_waiting, sandbox_runtime
):
    out = tmp_path / "out"
    quiet_batch(folder, out)
    write_notebook(folder, {"metadata": {"disc05": {}}, "cells": []}, "alice.ipynb")
    failing_sandbox(monkeypatch)
    quiet_batch(folder, out)
    row = read_csv(out / "scores.csv")["alice"]
    assert row["total"] == "" and row["error"].startswith("not graded")


# ## Where PATH and the output are


def test_grade_all_dot_from_inside_the_class_folder(folder, sandbox_runtime):
    done = cli("grade-all", ".", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert sorted(read_csv(folder.with_name("subs-graded") / "scores.csv")) == [
        "alice",
        "bob",
        "carol",
        "dave",
    ]


def test_an_output_folder_inside_path_is_not_a_submission(folder, tmp_path, sandbox_runtime):
    quiet_batch(folder, folder / "graded")
    again = quiet_batch(folder, folder / "graded")
    assert (again.graded, again.skipped) == (0, 4)
    # graded/ is an earlier output, but not this batch's: listed, with why it is not graded.
    elsewhere = quiet_batch(folder, tmp_path / "elsewhere")
    rows = read_csv(tmp_path / "elsewhere" / "scores.csv")
    assert sorted(rows) == ["alice", "bob", "carol", "dave", "graded"]
    assert rows["graded"]["total"] == "" and "earlier grade-all" in rows["graded"]["error"]
    assert (elsewhere.graded, elsewhere.skipped, elsewhere.not_graded) == (4, 0, {})
    with pytest.raises(batch.BatchError, match="cannot be PATH itself"):
        quiet_batch(folder, folder)


def test_a_submission_that_looks_like_an_output_is_named_not_dropped(
    folder, tmp_path, solution_json, sandbox_runtime
):
    mimic = folder / "mallory"
    (mimic / "results").mkdir(parents=True)
    (mimic / "scores.csv").write_text("id,total\n")
    write_notebook(mimic, solution_json)
    out = tmp_path / "out"
    done = cli("grade-all", str(folder), "-o", str(out))
    assert done.returncode == 0, done.stderr
    assert "mallory: not graded: it holds scores.csv and results/" in done.stderr
    rows = read_csv(out / "scores.csv")
    assert rows["mallory"]["total"] == "" and "earlier grade-all" in rows["mallory"]["error"]
    assert float(rows["alice"]["total"]) == FULL


def test_an_id_a_spreadsheet_would_read_as_a_formula_is_one_id_everywhere(
    tmp_path, solution_json, sandbox_runtime
):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in ("-minus", "=equals", "+plus", "@at", "_-minus"):
        write_notebook(subs, gate.with_cells(solution_json, [WRONG_GAMMA]), f"{name}.ipynb")
    out = tmp_path / "out"
    done = cli("grade-all", str(subs), "-o", str(out))
    assert done.returncode == 0, done.stderr
    rows = read_csv(out / "scores.csv")
    # -minus and _-minus would share an id: both get their file's name, and the one whose
    # name it is keeps it (-minus.ipynb gets ~2).
    ids = {"_-minus.ipynb", "_=equals", "_+plus", "_@at", "_-minus.ipynb~2"}
    assert set(rows) == ids and all(float(r["total"]) > 0 for r in rows.values())
    assert "=equals" in rows["_=equals"]["error"] and "spreadsheet" in rows["_=equals"]["error"]
    assert "_=equals: listed under this id" in done.stderr
    assert "spreadsheet" not in rows["_-minus.ipynb"]["error"]  # the file of that name
    assert "spreadsheet" in rows["_-minus.ipynb~2"]["error"]
    assert {p.stem for p in (out / "results").glob("*.json")} == ids
    report = (out / "report.html").read_text()
    assert "not graded</" not in report.split('id="not-graded"')[1].split("</table>")[0]
    with (out / "mistakes.csv").open() as table:
        assert {row["submission"] for row in csv.DictReader(table)} == ids


# ## Gradescope exports


def test_export_problems_are_reported_and_quote_no_temporary_path(
    tmp_path, solution_json, sandbox_runtime
):
    export = tmp_path / "assignment_export.zip"
    metadata = METADATA + "submission_105:\n  :submitters:\n  - :name: No Folder\n"
    metadata += "submission_106:\n  :submitters:\n  - :name: No Sid\n    :sid:\n"
    with zipfile.ZipFile(export, "w") as archive:
        root = "assignment_77_export"
        archive.writestr(f"{root}/submission_metadata.yml", metadata)
        for folder in ("submission_101", "submission_102", "submission_106", "submission_999"):
            archive.writestr(f"{root}/{folder}/disc05.ipynb", json.dumps(solution_json))
        archive.writestr(f"{root}/submission_104/disc05.ipynb", "")
    summary = quiet_batch(export, tmp_path / "graded")
    rows = read_csv(summary.csv)
    assert summary.unlisted == ["submission_999"]
    assert float(rows["submission_999"]["total"]) == FULL
    assert rows["submission_999"]["error"] == f"not listed in {batch.METADATA}"
    assert (
        rows["submission_105"]["total"] == ""
        and "submission_105" in rows["submission_105"]["error"]
    )
    assert rows["submission_106"]["sid"] == "" and rows["submission_105"]["sid"] == ""
    assert "the file is empty" in rows["submission_104"]["error"]
    text = summary.csv.read_text() + "".join(
        p.read_text() for p in (tmp_path / "graded").rglob("*.json")
    )
    assert "disc05-batch-" not in text and "/tmp" not in text


def test_unlisted_folders_are_named_on_the_command_line(tmp_path, solution_json, sandbox_runtime):
    export = tmp_path / "export"
    (export / "submission_101").mkdir(parents=True)
    (export / "submission_999").mkdir()
    (export / batch.METADATA).write_text(METADATA.split("submission_102")[0])
    write_notebook(export / "submission_101", solution_json)
    write_notebook(export / "submission_999", solution_json)
    done = cli("grade-all", str(export))
    assert done.returncode == 0, done.stderr
    assert f"not in {batch.METADATA}" in done.stderr and "submission_999" in done.stderr


# ## Limits


def test_feedback_states_the_limits_in_force_and_a_timeout_is_marked(
    tmp_path, student_json, sandbox_runtime
):
    subs = tmp_path / "subs"
    subs.mkdir()
    write_notebook(subs, gate.with_cells(student_json, ["while True:\n    pass"]), "hang.ipynb")
    summary = batch.grade_all(subs, tmp_path / "out", timeout=1.0, progress=None)
    feedback = (tmp_path / "out" / "feedback" / "hang.txt").read_text()
    assert "within 1 s" in feedback and "10 s" not in feedback
    assert "timed out" in read_csv(summary.csv)["hang"]["error"]


def test_a_timeout_bounds_every_call_and_cell():
    limits = batch.limits_for(0.05)
    assert limits.budget_seconds == limits.call_seconds == limits.cell_seconds == 0.05
    assert batch.limits_for(None) == spec.LIMITS
    assert batch.limits_for(600).call_seconds == spec.LIMITS.call_seconds


def test_student_text_in_scores_csv_is_never_a_formula():
    assert ledger._cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert ledger._cell("+1") == "'+1" and ledger._cell("Ada Lovelace") == "Ada Lovelace"


def refusing_run(*args, **kwargs):
    raise sandbox.SandboxUnavailable("the sandbox cannot start: no user namespaces")


def attempt_without_a_sandbox(entry, progress):
    """`batch._attempt` in a grading process whose sandbox cannot start (a grading process
    is spawned: what a test changes reaches it only through the function it runs)."""
    batch.RETRY_SECONDS = 0.0
    sandbox.run = refusing_run
    return batch._Grading.attempt(entry, progress)


def attempt_that_ends_its_process_on_s1(entry, progress):
    """`batch._attempt`, but s1 ends the grading process itself (not a sandboxed worker)."""
    if entry.path.name == "s1.ipynb":
        os._exit(1)
    return batch._Grading.attempt(entry, progress)


def test_after_several_failures_in_a_row_the_parallel_rest_is_not_tried(
    tmp_path, solution_json, monkeypatch, no_waiting
):
    subs = solutions_folder(tmp_path, solution_json, 12, "s{i:02}")
    monkeypatch.setattr(batch, "GIVE_UP_AFTER", 2)
    monkeypatch.setattr(batch, "_attempt", attempt_without_a_sandbox)
    summary = quiet_batch(subs, tmp_path / "out")
    assert len(summary.not_graded) == 12
    tried = [r for r in summary.not_graded.values() if not r.startswith("not tried")]
    assert 2 <= len(tried) <= 2 + 2 * 2  # those handed out before the second failure came back
    assert "no user namespaces" in summary.not_graded["s11"]


def test_a_grading_process_that_dies_costs_no_score_and_the_next_run_grades(
    tmp_path, solution_json, monkeypatch, sandbox_runtime
):
    subs = solutions_folder(tmp_path, solution_json, 8, "s{i}")
    monkeypatch.setattr(batch, "_attempt", attempt_that_ends_its_process_on_s1)
    out = tmp_path / "out"
    summary = quiet_batch(subs, out)
    # A new process grades the rest, and s1 is graded again alone: it stops that process
    # too, so it is not graded.
    assert list(summary.not_graded) == ["s1"] and summary.graded == 7
    assert summary.not_graded["s1"].startswith("its grading process stopped")
    rows = read_csv(out / "scores.csv")
    assert rows["s1"]["total"] == "" and float(rows["s7"]["total"]) == FULL
    monkeypatch.undo()
    again = quiet_batch(subs, out)
    assert again.not_graded == {} and float(read_csv(out / "scores.csv")["s1"]["total"]) == FULL


def test_an_interrupted_batch_keeps_what_it_graded(tmp_path, solution_json, monkeypatch):
    subs = solutions_folder(tmp_path, solution_json, 4, "s{i}")
    real, seen = batch.grader.grade, []

    def grade(path, *args, **kwargs):
        seen.append(path.name)
        if len(seen) == 3:
            raise KeyboardInterrupt  # staff press Ctrl-C
        return real(path, *args, **kwargs)

    monkeypatch.setattr(batch.grader, "grade", grade)
    out = tmp_path / "out"
    with pytest.raises(KeyboardInterrupt):
        quiet_batch(subs, out, jobs=1)
    state = json.loads((out / ledger.RESUME).read_text())["submissions"]
    assert sorted(state) == ["s0", "s1"] and state["s0"]["status"] == "graded"
    monkeypatch.undo()
    again = quiet_batch(subs, out)
    assert (again.graded, again.skipped) == (2, 2)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_ends_grade_all_in_one_line_and_a_rerun_resumes(
    tmp_path, solution_json, jobs, sandbox_runtime
):
    subs = tmp_path / "subs"
    subs.mkdir()
    slow = gate.with_cells(solution_json, ["import time\ntime.sleep(1.5)"])
    for i in range(12):
        write_notebook(subs, slow, f"s{i:02}.ipynb")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder", "grade-all", str(subs), "-o", str(out)]
    # As a terminal does: Ctrl-C sends SIGINT to the whole foreground process group.
    running = subprocess.Popen(
        [*command, "-j", jobs],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 300
    while len(list((out / "results").glob("*.json"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(running.pid, signal.SIGINT)
    stdout, stderr = running.communicate(timeout=120)
    assert running.returncode == 130, stderr
    lines = [line for line in stderr.splitlines() if not line.startswith("[")]  # progress bar
    assert len(lines) == 1 and "Traceback" not in stderr and "KeyboardInterrupt" not in stderr
    said = re.fullmatch(
        r"python -m autograder: interrupted: graded (\d+) of the 12 submissions this run had to "
        r"grade \(0 already graded before\); run the same command again to grade the rest "
        rf"\(it resumes from {re.escape(str(out / ledger.RESUME))}\)",
        lines[0],
    )
    assert said, lines[0]
    graded = int(said.group(1))
    assert 2 <= graded < 12 and stdout == ""
    assert len(list((out / "results").glob("*.json"))) == graded
    again = cli(*command[3:], "-j", "2")
    assert again.returncode == 0, again.stderr
    assert f"graded {12 - graded}, skipped {graded} already graded" in again.stdout
