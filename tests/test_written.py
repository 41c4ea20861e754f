"""Written answers: read from the notebook as typed, and shown on Gradescope in Markdown."""

import copy
import json
import zipfile

import pytest
from conftest import as_script, write_notebook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import grader, handout, spec, submission, written
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


def cell_index(notebook_json: dict, cell_id: str) -> int:
    return next(i for i, c in enumerate(notebook_json["cells"]) if c["id"] == cell_id)


def markdown(text: str, cell_id: str) -> dict:
    return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": text}


def read(notebook_json: dict) -> dict[str, str]:
    return written.answers(json.dumps(notebook_json).encode())


def test_an_overwritten_answer_box_is_the_answer(student_json, release_record):
    edited = copy.deepcopy(student_json)
    q1a, q1c = (release_record.written[q].box for q in ("q1a", "q1c"))
    edited["cells"][cell_index(edited, q1a)]["source"] = "Saturation: each layer scales by 1/4."
    edited["cells"][cell_index(edited, q1c)]["source"] = "**My answer:**\n\nThe identity term."
    found = read(edited)
    assert found["q1a"] == "Saturation: each layer scales by 1/4."
    assert found["q1c"] == "**My answer:**\n\nThe identity term."
    assert found["q2c"] == written.PLACEHOLDER


def test_an_answer_typed_into_the_question_is_what_was_added(student_json, release_record):
    edited = copy.deepcopy(student_json)
    prompt = edited["cells"][cell_index(edited, release_record.written["q2c"].prompt)]
    asked = "".join(prompt["source"])
    prompt["source"] = asked.replace("\n", "\n\nAnswer: it rescales them.\n", 1) + "\nMore."
    found = read(edited)
    assert found["q2c"] == "Answer: it rescales them.\n\nMore."  # none of the question's text


def test_new_cells_anywhere_before_the_next_question_belong_to_this_one(
    student_json, release_record
):
    edited = copy.deepcopy(student_json)
    cells = edited["cells"]
    above_box = cell_index(edited, release_record.written["q1a"].box)
    cells.insert(above_box, markdown("Above the box.", "d1"))
    below_heading = cell_index(edited, release_record.written["q1a"].box) + 2  # in 1b's part
    cells.insert(below_heading, markdown("Below the next heading.", "d2"))
    q2c_prompt = cell_index(edited, release_record.written["q2c"].prompt)
    cells.insert(q2c_prompt, markdown("Before the q2c question.", "d3"))
    cells.append(markdown("At the very end.", "d4"))
    found = read(edited)
    assert found["q1a"] == "Above the box.\n\nBelow the next heading."
    assert found["q1c"] == "Before the q2c question."
    assert found["q2c"] == "At the very end."


def test_a_notebook_whose_ids_were_all_renumbered_still_gives_every_answer(
    student_json, release_record
):
    edited = copy.deepcopy(student_json)
    written_cells = release_record.written
    cells = edited["cells"]
    cells[cell_index(edited, written_cells["q1a"].box)]["source"] = "Overwritten box."
    prompt = cells[cell_index(edited, written_cells["q1c"].prompt)]
    prompt["source"] = "".join(prompt["source"]) + "\n\nTyped into the question."
    cells.insert(cell_index(edited, written_cells["q2c"].box) + 1, markdown("A new cell.", "x"))
    for number, cell in enumerate(cells):
        cell["id"] = f"{number:08x}-renumbered"
    found = read(edited)
    assert found == {
        "q1a": "Overwritten box.",
        "q1c": "Typed into the question.",
        "q2c": "A new cell.",
    }
    for cell in cells:  # an old notebook, without ids at all
        del cell["id"]
    assert read(edited) == found


@pytest.mark.parametrize("form", ["percent", "nbconvert", "light"])
def test_a_script_upload_gives_its_answers(tmp_path, student_json, release_record, form):
    edited = with_answers(student_json, {"q1a": MATHS})
    prompt = edited["cells"][cell_index(edited, release_record.written["q1c"].prompt)]
    prompt["source"] = "".join(prompt["source"]) + "\n\nIn the question's cell."
    below = cell_index(edited, release_record.written["q2c"].box) + 1
    edited["cells"].insert(below, markdown("First line,\n\nsecond paragraph.", "new"))
    script = tmp_path / "disc05.py"
    script.write_text(as_script(edited, form), encoding="utf-8")
    assert submission.load(script).written == {
        "q1a": MATHS,
        "q1c": "In the question's cell.",
        "q2c": "First line,\n\nsecond paragraph.",
    }
    untouched = tmp_path / "untouched.py"
    untouched.write_text(as_script(student_json, form), encoding="utf-8")
    assert set(submission.load(untouched).written.values()) == {written.PLACEHOLDER}


# Text a student (or a broken editor) may put anywhere: control characters, lone surrogates,
# right-to-left marks, our own marker and label lines, and strings past every cap.
HOSTILE = st.one_of(
    st.text(min_size=1, max_size=200),
    st.text(st.characters(codec=None, blacklist_categories=()), min_size=1, max_size=50),
    st.sampled_from(
        [
            "\x00",
            "\ud800 lone",
            "\u202eright to left\u202c",
            "<!-- disc05: written q1a -->",
            "<!-- disc05: written q2c -->\n**Your answer (q2c):**",
            "**Your answer (q1c):**",
            written.PLACEHOLDER,
            "x" * (3 * spec.ANSWER_CHARS),
            "\r\n\r\n\r",
        ]
    ),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_hostile_markdown_anywhere_between_questions_is_read_under_its_question(student_json, data):
    edited = copy.deepcopy(student_json)
    cells = edited["cells"]
    questions = list(spec.WRITTEN_QUESTIONS)
    starts = [cell_index(edited, handout.record().written[q].prompt) for q in questions]
    ends = [*starts[1:], len(cells)]  # a new cell at `end` goes above the next question
    placed: dict[str, str] = {}
    for question, start, end in reversed(list(zip(questions, starts, ends, strict=True))):
        if not data.draw(st.booleans()):
            continue
        text = data.draw(HOSTILE)
        where = data.draw(st.integers(start + 1, end))
        cells.insert(where, markdown(text, f"student-{question}"))
        placed[question] = text
    for line in data.draw(st.lists(HOSTILE, max_size=3)):  # and before the first question
        cells.insert(1, markdown(line, "before"))
    found = read(edited)
    assert set(found) <= set(spec.WRITTEN_QUESTIONS)
    for question, text in placed.items():
        shown = handout.normalised(text).strip()
        if shown and len(shown) < spec.ANSWER_CHARS:
            assert shown in found[question]


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
    assert submission.load(script).written == {}  # a script without the notebook's Markdown


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
