"""Written answers: read from the notebook as typed, and shown on Gradescope in Markdown."""

import copy
import json
import zipfile

import pytest
from conftest import write_notebook

from autograder import grader, spec, submission, written
from autograder.release import gate, leaks, notebook

MATHS = (
    r"Each factor is at most $\sigma'(0) = 1/4$, so $\|\partial x_L / \partial x_0\| \le 4^{-L}$"
)


def with_answers(notebook_json: dict, answers: dict[str, str]) -> dict:
    """The notebook with the answer cells of `answers` rewritten as a student would."""
    edited = copy.deepcopy(notebook_json)
    for cell in edited["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for question, text in answers.items():
            if f"<!-- disc05: written {question} -->" in source:
                cell["source"] = source.replace(written.PLACEHOLDER, text)
    return edited


def test_the_release_and_the_reader_agree_on_the_answer_cell():
    assert written.PLACEHOLDER == notebook.ANSWER_PLACEHOLDER


def test_untouched_student_notebook_and_model_answers(student_json, solution_json):
    untouched = written.answers(json.dumps(student_json).encode())
    assert untouched == {q: written.PLACEHOLDER for q in spec.WRITTEN_QUESTIONS}
    assert {written.state(a) for a in untouched.values()} == {"untouched"}
    model = written.answers(json.dumps(solution_json).encode())
    assert model == notebook.written_answers()


def test_answers_as_typed_with_maths_added_cells_and_leftovers(student_json):
    edited = with_answers(student_json, {"q1a": MATHS, "q2c": ""})
    cells = edited["cells"]
    (q1c,) = [i for i, c in enumerate(cells) if "written q1c" in "".join(c["source"])]
    # q1c: the placeholder left in place and the answer typed in two new cells below it
    cells[q1c + 1 : q1c + 1] = [
        {"cell_type": "markdown", "id": "a1b2c3d4", "metadata": {}, "source": ["First part,\n"]},
        {"cell_type": "markdown", "id": "e5f6a7b8", "metadata": {}, "source": "second part."},
    ]
    found = written.answers(json.dumps(edited).encode())
    assert found["q1a"] == MATHS
    assert found["q1c"] == "First part,\n\nsecond part."
    assert found["q2c"] == "" and written.state(found["q2c"]) == "empty"


def test_without_the_releases_cell_ids_only_the_answer_cell_counts(student_json):
    edited = with_answers(student_json, {"q1a": "Saturation."})
    for cell in edited["cells"]:
        cell["id"] = f"renumbered-{id(cell)}"
    assert written.answers(json.dumps(edited).encode())["q1a"] == "Saturation."


def test_a_deleted_marker_still_finds_the_answer_by_its_label(student_json):
    edited = with_answers(student_json, {"q1a": "Saturation."})
    for cell in edited["cells"]:
        cell["source"] = "".join(cell["source"]).replace("<!-- disc05: written q1a -->\n", "")
    assert written.answers(json.dumps(edited).encode())["q1a"] == "Saturation."


def test_a_deleted_answer_cell_is_missing_and_broken_bytes_give_nothing(student_json):
    edited = copy.deepcopy(student_json)
    edited["cells"] = [c for c in edited["cells"] if "written q2c" not in "".join(c["source"])]
    assert "q2c" not in written.answers(json.dumps(edited).encode())
    assert written.answers(b'{"cells": [') == {} and written.answers(b"\xff\xfe") == {}


def test_load_reads_the_answers_from_every_kind_of_upload(tmp_path, student_json):
    edited = with_answers(student_json, {"q1a": MATHS})
    path = write_notebook(tmp_path, edited)
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("disc05.ipynb", json.dumps(edited))
    folder = tmp_path / "folder"
    folder.mkdir()
    write_notebook(folder, edited)
    for upload in (path, export, folder):
        assert submission.load(upload).written["q1a"] == MATHS, upload
    script = tmp_path / "disc05.py"
    script.write_text("def sigmoid(x):\n    return x\n")
    assert submission.load(script).written == {}


def written_entries(report: grader.GradeReport) -> dict[str, dict]:
    tests = report.to_gradescope()["tests"]
    return {t["name"]: t for t in tests if t["name"].endswith(" written answer")}


def test_results_json_carries_each_answer_in_markdown():
    report = grader.empty_report("not needed here")
    report.error = None
    report.written = {"q1a": MATHS, "q1c": written.PLACEHOLDER, "q2c": " \n"}
    entries = written_entries(report)
    assert list(entries) == [f"{q} written answer" for q in spec.WRITTEN_QUESTIONS]
    head = "Graded by hand; the points appear once staff have graded it."
    assert entries["q1a written answer"] == {
        "name": "q1a written answer",
        "score": 0,
        "max_score": 0,
        "visibility": "visible",
        "output": f"{head} The answer as submitted:\n\n---\n\n{MATHS}",
        "output_format": "md",
    }
    assert entries["q1c written answer"]["output"] == (
        f"{head}\n\n**No answer**: the answer cell still holds the placeholder text."
    )
    assert entries["q2c written answer"]["output"] == (
        f"{head}\n\n**No answer**: the answer cell is empty."
    )


def test_missing_and_unreadable_answers_say_so():
    report = grader.empty_report("broken JSON")
    assert all(
        e["output"].endswith("**No answer found**: the submission could not be read.")
        for e in written_entries(report).values()
    )
    report.written = {}
    assert all("has no answer cell for" in e["output"] for e in written_entries(report).values())


@pytest.mark.parametrize("unit", ["a", "é", "\U0001f600", '"\\', "\x00"])
def test_long_answers_are_cut_and_results_stay_under_256_kb(unit):
    report = grader.empty_report("x")
    report.error = None
    report.written = {q: unit * 1_000_000 for q in spec.WRITTEN_QUESTIONS}
    data = json.dumps(report.to_gradescope(), indent=2)  # as gradescope.run writes it
    assert len(data.encode()) < gate.RESULTS_BYTES
    output = written_entries(report)["q1a written answer"]["output"]
    assert f"*[cut here: the answer has {len(unit) * 1_000_000:,} characters]*" in output
    assert len(output) < spec.ANSWER_CHARS + 200


def test_the_gate_does_not_count_the_notebooks_own_answers_as_leaks(solution_json):
    report = grader.empty_report("x")
    report.written = written.answers(json.dumps(solution_json).encode())
    results = report.to_gradescope()
    fragments = leaks.secret_fragments()
    text = " ".join(json.dumps(results).replace("\\n", " ").split())
    quoted = [f for f in fragments if f in text]
    assert quoted  # the model answers are answer key, but the notebook's own text
    assert leaks.leaked_fragments(results, fragments) == []
