"""grade-all: a folder and a Gradescope export, same scores as `grade`, resumable, robust;
and the benchmark, at a small N so that it cannot rot."""

import csv
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import write_notebook

from autograder import batch, gate, spec

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


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args], capture_output=True, text=True
    )


def test_folder_scores_match_single_grading_and_corrupt_files_are_rows(
    folder, tmp_path, sandbox_runtime
):
    out = tmp_path / "out"
    done = cli("grade-all", str(folder), "-o", str(out), "-j", "2")
    assert done.returncode == 0, done.stderr
    rows = read_csv(out / "scores.csv")
    assert sorted(rows) == ["alice", "bob", "carol", "dave"]
    assert float(rows["alice"]["total"]) == FULL and float(rows["bob"]["total"]) == 0
    # The wrong factor keeps dropout_gamma's "diagonal matrix of column norms" (0.25 points).
    assert float(rows["carol"]["q2a"]) == pytest.approx(3 - 0.75)
    assert "is not a valid notebook" in rows["dave"]["error"] and rows["alice"]["error"] == ""
    for name in ("alice", "carol", "dave"):
        single = json.loads(cli("grade", "--json", str(folder / f"{name}.ipynb")).stdout)
        stored = json.loads((out / "results" / f"{name}.json").read_text())
        assert stored == single, name
    assert "dropout_gamma: 0.25 of 1 point" in (out / "feedback" / "carol.txt").read_text()


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
    assert [e.id for e in batch.discover(tmp_path)] == ["x", "y"]
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


@pytest.mark.slow
def test_benchmark_runs_at_small_n(sandbox_runtime):
    done = cli("bench", "--n", "12", "--samples", "2", "--otter-samples", "1", "--json")
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["batch_graded"] == 12
    assert figures["gigabyte_stopped_by_cap"] is True
    assert 0 < figures["floor_seconds"] < figures["core_seconds"] < figures["otter_seconds"]
    assert figures["sandbox_peak_mb"] < 300
