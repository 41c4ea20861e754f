"""grade-all against hostile submissions: text that is not valid Unicode, a roster smuggled in
a submission, ids that are paths, uploads that make the grader fail; and properties of the
roster, the ledger, scores.csv and the class report over hostile text (Hypothesis)."""

import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from unittest import mock

import pytest
import yaml
from conftest import write_notebook
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_written import with_answers

from autograder import batch, class_report, grader, ledger, roster, spec, wording
from autograder.release import gate

FULL = sum(q.points for q in spec.QUESTIONS)
SURROGATE_RAISE = 'def sigmoid(x):\n    raise ValueError("\\ud800 from the student")'
# A name that is not UTF-8: os.listdir gives it back with a surrogate escape.
UNDECODABLE = b"caf\xe9-\xff"

# Hostile text, deliberately: any code point (lone surrogates included), and the usual suspects.
SUSPECTS = [
    "\ud800",
    "\udcff",
    "\u202e",
    "\x00",
    "\U0001f600",
    "\x1b[2J",
    "..",
    "/",
    "/etc/passwd",
    "../../outside",
    "a\\b",
    "=HYPERLINK(1)",
    "\r\n",
    "<script>alert(1)</script>",
    "שלום",
]
any_text = st.text(alphabet=st.characters(codec=None, categories=None, exclude_categories=()))
short_hostile_text = st.one_of(
    any_text,
    st.sampled_from(SUSPECTS),
    st.lists(st.one_of(any_text, st.sampled_from(SUSPECTS)), max_size=6).map("".join),
)
huge_text = st.sampled_from(SUSPECTS).map(lambda s: s * (100_000 // len(s)))
hostile_text = short_hostile_text | huge_text
no_fixture_check = settings(suppress_health_check=[HealthCheck.function_scoped_fixture])


def read_csv(path: Path) -> dict[str, dict]:
    with path.open(encoding="utf-8", newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def assert_valid_json(path: Path) -> object:
    """The JSON in `path`, checked to be UTF-8 whose strings hold no lone surrogate."""
    data = json.loads(path.read_bytes().decode("utf-8"))
    json.dumps(data, ensure_ascii=False).encode("utf-8")
    return data


def alone(path: Path) -> dict:
    """The results.json that `grade --json` prints for `path`, graded on its own."""
    return json.loads(json.dumps(grader.grade(path).to_gradescope()))


# ## Text that is not valid Unicode


def test_invalid_unicode_stops_no_classmate_and_every_file_is_written(
    tmp_path, solution_json, sandbox_runtime
):
    subs = tmp_path / "subs"
    subs.mkdir()
    attacker = with_answers(gate.with_cells(solution_json, [SURROGATE_RAISE]), {"q1a": "\ud800"})
    write_notebook(subs, attacker, "attacker.ipynb")
    undecodable = os.fsdecode(os.fsencode(subs) + b"/" + UNDECODABLE + b".ipynb")
    write_notebook(Path(undecodable).parent, solution_json, Path(undecodable).name)
    write_notebook(subs, solution_json, "zoe.ipynb")  # graded after the attacker
    out = tmp_path / "out"
    summary = batch.grade_all(subs, out, jobs=1, progress=None)
    assert summary.not_graded == {} and summary.graded == 3
    rows = read_csv(out / "scores.csv")
    name = "caf\ufffd-\ufffd"
    assert sorted(rows) == ["attacker", name, "zoe"]
    assert float(rows["attacker"]["total"]) < FULL and float(rows["zoe"]["total"]) == FULL
    assert float(rows[name]["total"]) == FULL
    assert json.loads((out / "results" / "zoe.json").read_text()) == alone(subs / "zoe.ipynb")
    for written in (out / "scores.csv", out / "report.html", out / "mistakes.csv"):
        written.read_bytes().decode("utf-8")  # valid UTF-8 throughout
    for written in [*out.glob("results/*"), out / ledger.RESUME]:
        assert_valid_json(written)
    for written in out.glob("feedback/*"):
        written.read_bytes().decode("utf-8")
    feedback = (out / "feedback" / "attacker.txt").read_text(encoding="utf-8")
    assert "\ufffd from the student" in feedback
    page = (out / "report.html").read_text(encoding="utf-8")
    assert '<div class="who">attacker</div>' in page and "\ufffd" in page  # answers are shown
    again = batch.grade_all(subs, out, jobs=1, progress=None)  # a rerun keeps them all
    assert (again.graded, again.skipped) == (0, 3)


def test_a_text_every_writer_takes_is_made_valid():
    assert wording.valid_text("ok \U0001f600 \u202e") == "ok \U0001f600 \u202e"
    assert wording.valid_text("a\ud800b\udcff") == "a\ufffdb\ufffd"
    assert batch._one_line(ValueError("\ud800\nlast")) == "\ufffd (last)"


# ## The roster


def test_a_roster_inside_a_submission_is_only_part_of_it(tmp_path):
    for name in ("alice", "bob"):
        (tmp_path / f"{name}.ipynb").write_text("{}")
    (tmp_path / "mallory").mkdir()
    (tmp_path / "mallory" / roster.METADATA).write_text(
        '"../alice.ipynb":\n  :submitters:\n  - :name: Mallory\n    :sid: "666"\n'
    )
    found = roster.discover(tmp_path)
    assert [e.id for e in found.entries] == ["alice", "bob", "mallory"]
    assert all(e.students == [] for e in found.entries)


def test_a_zip_roster_comes_from_its_single_top_folder_only(tmp_path):
    export = tmp_path / "export.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.writestr("top/submission_1/disc05.ipynb", "{}")
        archive.writestr("top/submission_1/" + roster.METADATA, "submission_1: {}\n")
    root = roster.export_root(roster.extract(export, tmp_path / "x"))
    assert root == tmp_path / "x"  # no metadata at the root: a folder of submissions
    assert [e.id for e in roster.discover(root).entries] == ["top"]


def test_metadata_keys_that_are_paths_are_left_out_and_touch_nothing_outside(tmp_path):
    export = tmp_path / "export"
    export.mkdir()
    (export / "submission_1").mkdir()
    (export / "submission_1" / "disc05.ipynb").write_text('{"cells": [')  # scores 0, unread
    staff = {tmp_path / "staff.json": "the course's own file", tmp_path / "key.json": "a key"}
    for file, text in staff.items():
        file.write_text(text)
    (export / roster.METADATA).write_text(
        yaml.safe_dump(
            {
                "submission_1": {":submitters": [{":name": "Ada", ":sid": "1"}]},
                "../../staff": {":submitters": [{":name": "Mallory", ":sid": "666"}]},
                str(tmp_path / "key"): {":submitters": [{":name": "Mallory", ":sid": "666"}]},
            }
        )
    )
    out = tmp_path / "graded"
    summary = batch.grade_all(export, out, jobs=1, progress=None)
    assert {file: file.read_text() for file in staff} == staff
    assert sorted(read_csv(out / "scores.csv")) == ["submission_1"]
    assert len(summary.left_out) == 2 and all("not a plain folder" in s for s in summary.left_out)
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["export", "graded", "key.json", "staff.json"]


def test_an_id_is_a_plain_name():
    for bad in ("", ".", "..", "a/b", "/abs", "a\\b", "a\x00b", "\ud800", "x" * 201, 7, None):
        assert not roster.is_plain(bad), bad
    for good in ("submission_1", "Zoë \U0001f600", "\u202eabc", "x" * 200, "..a"):
        assert roster.is_plain(good), good
    assert roster.as_id("a/b\x00\udcff") == "a_b_\ufffd" and roster.as_id("..") == "_"


def test_a_file_outside_the_output_folder_is_refused_in_one_line(tmp_path):
    out = tmp_path / "out"
    (out / "results").mkdir(parents=True)
    assert ledger.inside(out, out / "results" / "a.json") == out / "results" / "a.json"
    (out / "feedback").symlink_to(tmp_path)
    with pytest.raises(roster.BatchError, match="outside the output folder") as refused:
        batch._output_folders(out)
    assert "\n" not in str(refused.value)


# ## The breaker


@pytest.mark.parametrize("jobs", [1, 2])
def test_uploads_that_make_the_grader_fail_hold_no_classmate_back(
    tmp_path, monkeypatch, no_waiting, jobs
):
    subs = tmp_path / "subs"
    subs.mkdir()
    for name in [f"a{i}" for i in range(batch.GIVE_UP_AFTER + 1)] + ["zed"]:
        (subs / f"{name}.ipynb").write_text("{}")
    calls = []

    def grade(path, *args, **kwargs):
        calls.append(path.name)
        return tripping_grade(path)

    monkeypatch.setattr(batch.grader, "grade", grade)  # grading here, with -j 1
    monkeypatch.setattr(batch, "_attempt", attempt_where_the_grader_trips)  # spawned, with -j 2
    summary = batch.grade_all(subs, tmp_path / "out", jobs=jobs, progress=None)
    assert summary.not_graded == {} and summary.graded == batch.GIVE_UP_AFTER + 2
    assert sorted(summary.grader_failed) == [f"a{i}" for i in range(batch.GIVE_UP_AFTER + 1)]
    rows = read_csv(tmp_path / "out" / "scores.csv")
    assert rows["zed"]["total"] == "0" and rows["zed"]["error"] == ""
    assert rows["a0"]["total"] == "0" and "the grader failed" in rows["a0"]["error"]
    if jobs == 1:
        assert len(calls) == len(set(calls))  # the submission's own failure: not retried


def tripping_grade(path, *args, **kwargs):
    """The grader failing on a0, a1, ...: its own fault, not the sandbox's."""
    if path.name.startswith("a"):
        raise RuntimeError("the grader tripped")
    return grader.empty_report(None)


def attempt_where_the_grader_trips(entry, progress):
    """`batch._attempt` in a spawned grading process whose grader trips on a0, a1, ..."""
    batch.grader.grade = tripping_grade
    return batch._Grading.attempt(entry, progress)


@pytest.fixture
def no_waiting(monkeypatch):
    monkeypatch.setattr(batch, "RETRY_SECONDS", 0.0)


# ## Properties of the roster


def _check_roster(found: roster.Roster, root: Path) -> None:
    ids = [e.id for e in found.entries]
    assert len(ids) == len(set(ids))
    for entry in found.entries:
        assert roster.is_plain(entry.id) and entry.path.parent == root
        assert ledger._cell(entry.id) == entry.id  # the same id in every file grade-all writes
        for student in entry.students:
            for value in student.values():
                assert wording.valid_text(value) == value and len(value) <= roster.FIELD_CHARS
    for line in found.left_out:
        assert wording.valid_text(line) == line


@no_fixture_check
@given(st.binary(max_size=2000))
def test_any_bytes_as_metadata_give_a_roster_or_one_readable_error(tmp_path, data):
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        root = Path(folder)
        (root / roster.METADATA).write_bytes(data)
        (root / "submission_1").mkdir()
        try:
            found = roster.discover(root)
        except roster.BatchError as error:
            assert "\n" not in str(error) and wording.valid_text(str(error)) == str(error)
            return
        _check_roster(found, root)


# Short texts only: YAML in pure Python reads 100k characters in about a second (one huge
# name and key are tested below).
yaml_scalar = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), short_hostile_text)
yaml_value = st.recursive(
    yaml_scalar,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(short_hostile_text, inner, max_size=4)
    ),
    max_leaves=12,
)
person = st.dictionaries(
    st.sampled_from([":name", ":email", ":sid", ":other"]), yaml_value, max_size=4
)
record = st.one_of(yaml_value, st.fixed_dictionaries({":submitters": st.lists(person)}))
metadata = st.dictionaries(
    st.one_of(short_hostile_text, st.integers(), st.sampled_from(["submission_1", "submission_2"])),
    record,
    max_size=6,
)


@no_fixture_check
@given(metadata)
def test_hostile_metadata_gives_plain_unique_ids_and_valid_names(tmp_path, listed):
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        root = Path(folder)
        (root / roster.METADATA).write_text(yaml.safe_dump(listed), encoding="ascii")
        (root / "submission_1").mkdir()
        found = roster.discover(root)
        _check_roster(found, root)
        plain = [k for k in listed if roster.is_plain(str(k)) and not isinstance(k, bool)]
        # Every plain key is a submission, its folder the key and its id the key made safe.
        assert {e.path.name for e in found.entries} >= {str(k) for k in plain} | {"submission_1"}
        assert {e.id for e in found.entries} >= {roster.as_id(str(k)) for k in plain}


def test_a_huge_name_and_key_are_cut_or_left_out(tmp_path):
    huge = "\u202e\ud800" * 50_000
    listed = {"submission_1": {":submitters": [{":name": huge}]}, huge: {}}
    (tmp_path / roster.METADATA).write_text(yaml.safe_dump(listed), encoding="ascii")
    found = roster.discover(tmp_path)
    _check_roster(found, tmp_path)
    (entry,) = found.entries
    assert entry.students[0]["name"].startswith("\u202e\ufffd") and len(found.left_out) == 1


@no_fixture_check
@given(
    st.lists(
        st.binary(min_size=1, max_size=250).filter(
            lambda b: b"/" not in b and b"\0" not in b and not b.startswith(b".")
        ),
        max_size=8,
        unique=True,
    )
)
def test_any_file_names_give_plain_unique_ids(tmp_path, names):
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        root = Path(folder)
        for name in names:
            os.close(os.open(os.fsencode(root) + b"/" + name, os.O_CREAT | os.O_WRONLY))
        found = roster.discover(root)
        _check_roster(found, root)
        assert len(found.entries) == len(names)


# ## Properties of the ledger and scores.csv


def _student(name: str, email: str, sid: str) -> dict:
    return {"name": name, "email": email, "sid": sid}


def _batch(out: Path, texts: list[tuple[str, str, str, str]]) -> list[roster.Entry]:
    """An output folder as grade-all leaves it: a graded submission per text (name, email,
    sid, error) and one not graded (the error as its reason)."""
    (out / "results").mkdir(parents=True)
    entries, records = [], {}
    for i, (name, email, sid, error) in enumerate(texts):
        report = grader.empty_report(error)
        report.notes, report.origin = [error], name
        entry = roster.Entry(f"s{i}", out, [_student(name, email, sid)])
        results = json.dumps(report.to_gradescope())  # a lone surrogate is kept, escaped
        (out / "results" / f"{entry.id}.json").write_text(results)
        entries.append(entry)
        records[entry.id] = {"status": "graded", "submission": "h", "autograder": "a"}
        records[f"n{i}"] = {"status": "not graded", "reason": error}
        entries.append(roster.Entry(f"n{i}", out, [_student(name, email, sid)]))
    ledger.save_state(out, {"submissions": records})
    ledger.write_csv(entries, out, {e.id: "h" for e in entries}, "a")
    return entries


four_texts = st.lists(st.tuples(hostile_text, hostile_text, hostile_text, hostile_text), max_size=3)


@no_fixture_check
@given(four_texts)
def test_scores_csv_stays_parseable_with_the_same_rows_and_valid_text(tmp_path, texts):
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        out = Path(folder)
        entries = _batch(out, texts)
        page = (out / "scores.csv").read_bytes().decode("utf-8")
        rows = list(csv.DictReader(io.StringIO(page, newline="")))
        assert [r["id"] for r in rows] == [e.id for e in entries]
        for row, entry in zip(rows, entries, strict=True):
            assert (row["total"] == "") == entry.id.startswith("n")
            for cell in row.values():
                assert wording.valid_text(cell) == cell and "\0" not in cell
                assert len(cell) <= ledger.CELL_CHARS + 1 and cell[:1] not in ("=", "+", "-", "@")
        assert len(assert_valid_json(out / ledger.RESUME)["submissions"]) == len(entries)


safe_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_characters="\0"), max_size=200
).filter(lambda s: s[:1] not in ("=", "+", "-", "@", "\t", "\r"))


@no_fixture_check
@given(st.lists(st.tuples(safe_text, safe_text, safe_text, safe_text), max_size=3))
def test_names_that_need_no_replacing_round_trip_through_scores_csv(tmp_path, texts):
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder:
        out = Path(folder)
        _batch(out, texts)
        rows = read_csv(out / "scores.csv")
        for i, (name, email, sid, _) in enumerate(texts):
            for key in (f"s{i}", f"n{i}"):
                assert (rows[key]["name"], rows[key]["email"], rows[key]["sid"]) == (
                    name,
                    email,
                    sid,
                )


# ## Properties of the class report


def _no_plots():
    return mock.patch.multiple(
        class_report, _score_plots=lambda graded: "", _function_plot=lambda outcomes: ""
    )


@no_fixture_check
@given(four_texts, hostile_text)
def test_the_class_report_is_written_valid_and_escaped_whatever_the_text(tmp_path, texts, answer):
    marker = "<i>student</i>"
    texts = [tuple(t + marker for t in group) for group in texts]
    with tempfile.TemporaryDirectory(dir=tmp_path) as folder, _no_plots():
        out = Path(folder)
        entries = _batch(out, texts)
        for i, entry in enumerate(entries[::2]):  # the graded ones get answers and feedback
            report = grader.empty_report(None)
            report.written = {q: answer + marker for q in spec.WRITTEN_QUESTIONS}
            report.mistakes = {"sigmoid": texts[i][0]}
            for question in report.questions:
                for result in question.functions:
                    result.feedback = f"{result.name}: {texts[i][1]}"
            stored = out / "results" / f"{entry.id}.json"
            stored.write_text(json.dumps(report.to_gradescope()))
        ledger.write_csv(entries, out, {e.id: "h" for e in entries}, "a")
        class_report.write(out)
        page = (out / "report.html").read_bytes().decode("utf-8")
        assert page.rstrip().endswith("</html>") and marker not in page
        assert "<script" not in page
        (out / "mistakes.csv").read_bytes().decode("utf-8")


def test_the_terminal_shows_hostile_folder_names_escaped(tmp_path):
    export = tmp_path / "export"
    (export / "submission_1").mkdir(parents=True)
    (export / roster.METADATA).write_text("submission_1:\n  :submitters:\n  - :name: Ada\n")
    hostile = os.fsencode(export) + b"/\x1b[2J\xff\xe2\x80\xae"
    os.mkdir(hostile)
    for folder in (export / "submission_1", Path(os.fsdecode(hostile))):
        (folder / "disc05.ipynb").write_text('{"cells": [')  # unreadable: no sandbox needed
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade-all", str(export)],
        capture_output=True,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},
    )
    stderr = done.stderr.decode("utf-8")
    assert done.returncode == 0 and "Traceback" not in stderr, stderr
    assert "\\u001b[2J\ufffd\\u202e" in stderr and "\x1b" not in stderr
