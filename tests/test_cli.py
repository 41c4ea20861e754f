"""The command line as staff scripts see it: exit statuses, one-line errors, pipes."""

import json
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from conftest import write_notebook
from hypothesis import given
from hypothesis import strategies as st

from autograder import __main__ as main
from autograder import handout, spec
from autograder.__main__ import DONE, FAILED, UNREADABLE, USAGE

FULL = sum(q.points for q in spec.QUESTIONS)


def cli(*args: str, **options) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder", *args], capture_output=True, text=True, **options
    )


@pytest.fixture
def unreadable(tmp_path, student_json) -> dict[str, Path]:
    """Submissions that cannot be read, by kind."""
    made = {}
    made["pdf"] = tmp_path / "disc05.pdf"
    made["pdf"].write_bytes(b"%PDF-1.7\n")
    made["corrupt zip"] = tmp_path / "export.zip"
    made["corrupt zip"].write_bytes(b"PK\x03\x04 not really a zip")
    made["empty"] = tmp_path / "disc05.ipynb"
    made["empty"].write_bytes(b"")
    made["two notebooks"] = tmp_path / "two"
    made["two notebooks"].mkdir()
    write_notebook(made["two notebooks"], student_json, "a.ipynb")
    write_notebook(made["two notebooks"], student_json, "b.ipynb")
    return made


def test_grade_exits_with_its_own_status_when_the_submission_cannot_be_read(
    unreadable, sandbox_runtime
):
    for kind, path in unreadable.items():
        done = cli("grade", str(path))
        assert done.returncode == UNREADABLE, (kind, done.stdout, done.stderr)
        assert "Could not grade:" in done.stdout, kind
    assert "the file is empty" in cli("grade", str(unreadable["empty"])).stdout


def test_grade_exits_zero_when_graded_whatever_the_score(tmp_path, student_json, sandbox_runtime):
    done = cli("grade", "--json", str(write_notebook(tmp_path, student_json)))
    assert done.returncode == DONE and '"score": 0' in done.stdout


def test_grade_says_not_graded_when_the_sandbox_cannot_start(tmp_path, solution_json):
    env = {**os.environ, "DISC05_SANDBOX_PYTHON": str(tmp_path / "no-such-python")}
    done = cli("grade", str(write_notebook(tmp_path, solution_json)), env=env)
    assert done.returncode == FAILED and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "not graded" in done.stderr


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path, solution_json, sandbox_runtime):
    path = write_notebook(tmp_path, solution_json)
    for args in (["grade", str(path)], ["grade", "--json", str(path)]):
        command = " ".join([sys.executable, "-m", "autograder", *args]) + " | head -c 1 >/dev/null"
        # `exec true` closes the pipe before anything is written; `head -c 1` just after.
        for reader in (command, command.replace("head -c 1 >/dev/null", "true")):
            done = subprocess.run(["bash", "-c", reader], capture_output=True, text=True)
            assert "Traceback" not in done.stderr and "BrokenPipe" not in done.stderr, reader


def test_grade_table_lists_the_written_parts_as_graded_by_hand(
    tmp_path, solution_json, sandbox_runtime
):
    table = cli("grade", str(write_notebook(tmp_path, solution_json))).stdout
    for name in spec.WRITTEN_QUESTIONS:
        assert any(
            line.startswith(name) and "graded by hand" in line for line in table.splitlines()
        ), table
    assert table.strip().splitlines()[-1].split()[:3] == ["total", f"{FULL:.2f}", f"{FULL:g}"]


@pytest.mark.parametrize(
    "args",
    [
        ["grade", "missing.ipynb"],
        ["grade", ".", "--metadata", "."],  # the limit is judged only for --as-student
        ["grade-all", "missing-folder"],
        ["grade-all", ".", "--timeout", "soon"],
        ["grade-all", ".", "-j", "0"],
        ["build", "--frobnicate"],
        ["bench", "--n", "-3"],
        ["bench", "--python", "no-such-python"],
        ["gradescope-venv", "a", "b"],
    ],
)
def test_a_bad_argument_gets_one_readable_line(tmp_path, args):
    done = cli(*args, cwd=tmp_path)
    assert done.returncode == USAGE and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("python -m autograder") and "Traceback" not in done.stderr


def test_exit_statuses_are_documented():
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    staff = readme[readme.index("## For staff") : readme.index("## Layout")]
    for status in (DONE, FAILED, USAGE, UNREADABLE):
        assert f"| {status} |" in staff
    assert "not graded" in staff and "resume.json" in staff


def test_an_export_zip_that_is_not_a_zip_is_one_line(tmp_path):
    bad = tmp_path / "export.zip"
    bad.write_bytes(b"nope")
    assert not zipfile.is_zipfile(bad)
    done = cli("grade-all", str(bad))
    assert done.returncode == FAILED and done.stderr.count("\n") == 1


def test_no_file_name_or_message_a_student_chose_steers_the_terminal_or_the_results(
    tmp_path, solution_json, sandbox_runtime
):
    # A notebook member named like the table's end, with a screen clear and a right-to-left
    # override, and a cell raising a message that clears the screen and hides what follows.
    fake = "x\n\x1b[2J\u202etotal        14.00    14\n\x1b[8m/disc05.ipynb"
    notebook = json.loads(json.dumps(solution_json))
    notebook["cells"].append(
        {
            "cell_type": "code",
            "metadata": {},
            "outputs": [],
            "execution_count": None,
            "source": "raise ValueError('\\x1b[2J\\x1b[H all hidden tests passed \\x1b[8m')",
        }
    )
    upload = tmp_path / "upload.zip"
    with zipfile.ZipFile(upload, "w") as archive:
        archive.writestr(fake, json.dumps(notebook))
    table = cli("grade", str(upload))
    results = cli("grade", "--json", str(upload))
    assert table.returncode == results.returncode == DONE, table.stderr
    for shown in (table.stdout, json.loads(results.stdout)["output"]):
        assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]", shown), shown
        assert "\\u001b[2J" in shown  # shown, escaped, not obeyed
    assert "\n14.00" not in table.stdout.replace(" ", "")


# ## The release record a checkout renders, kept until a source changes

ROOT = Path(__file__).resolve().parents[1]


def test_a_checkout_keeps_its_release_record_until_a_source_changes(
    tmp_path, student_json, release_record, sandbox_runtime
):
    # An answer typed into q2c's question is found only through the release record, so the
    # grading shows which record it used: the kept one, or a new rendering.
    edited = json.loads(json.dumps(student_json))
    prompt = next(c for c in edited["cells"] if c["id"] == release_record.written["q2c"].prompt)
    prompt["source"] = "".join(prompt["source"]) + "\n\nAnswer: it rescales them."
    submission = write_notebook(tmp_path, edited)
    kept = ROOT / "build" / f"handout-{main._sources_digest(ROOT)}.json"
    answered = "it rescales them"
    try:
        assert answered in cli("grade", "--json", str(submission), cwd=tmp_path).stdout
        assert handout.Record.from_json(kept.read_text("utf-8")) == release_record
        kept.write_text(handout.Record().to_json(), encoding="utf-8")  # read, not rendered again
        assert answered not in cli("grade", "--json", str(submission), cwd=tmp_path).stdout
        kept.write_text('{"cells": ', encoding="utf-8")  # not a record: rendered and kept again
        assert answered in cli("grade", "--json", str(submission), cwd=tmp_path).stdout
        assert handout.Record.from_json(kept.read_text("utf-8")) == release_record
        assert [p.name for p in kept.parent.glob("handout-*.json")] == [kept.name]
    finally:
        kept.unlink(missing_ok=True)


SOURCE_NAMES = st.sampled_from(
    ["assignment/disc05.md", "autograder/cases.py", "autograder/release/x.py", "solutions/a.py"]
)


@given(
    st.dictionaries(SOURCE_NAMES, st.binary(max_size=64), min_size=1),
    st.data(),
)
def test_the_kept_record_s_name_changes_with_every_source_byte_and_name(files, data):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for name, content in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(content)
        before = main._sources_digest(root)
        cache = root / "autograder" / "__pycache__" / "cases.cpython-311.pyc"
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(b"compiled")  # not a source
        (root / "tests").mkdir(exist_ok=True)
        (root / "tests" / "test_x.py").write_bytes(b"not rendered from")
        assert main._sources_digest(root) == before
        name = data.draw(st.sampled_from(sorted(files)))
        changed = data.draw(st.binary(max_size=64).filter(lambda b: b != files[name]))
        (root / name).write_bytes(changed)
        assert main._sources_digest(root) != before
        (root / name).write_bytes(files[name])
        assert main._sources_digest(root) == before
        (root / name).rename(root / (name + ".moved"))
        assert main._sources_digest(root) != before
