"""What the build writes and how it fails: only into a folder it owns, in one step, and
with the cause of a failure named once."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import solutions
from autograder import sandbox
from autograder.release import build, gate

RELEASE = {
    build.STUDENT_ZIP: b"student zip",
    build.AUTOGRADER_ZIP: b"autograder zip",
    build.MUTATION_REPORT: b"report",
    "student/disc05.ipynb": b"{}",
    "solutions/disc05.ipynb": b"{}",
    "solutions/written_answers.md": b"answers",
}


def contents(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture
def quick_release(monkeypatch):
    """The build without its minutes of checks: it 'renders' RELEASE."""
    monkeypatch.setattr(build, "release_files", lambda **_: dict(RELEASE))


def test_the_build_never_deletes_what_it_did_not_write(tmp_path, quick_release):
    course = tmp_path / "course"
    course.mkdir()
    (course / "grades.xlsx").write_bytes(b"a term of work")
    with pytest.raises(build.BuildError, match="not an earlier build output .it holds grades"):
        build.build(course, log=lambda _: None)
    assert contents(course) == {"grades.xlsx": b"a term of work"}
    # Nor beside an earlier release: a stray file makes the folder not the build's own.
    build.build(tmp_path / "dist", log=lambda _: None)
    (tmp_path / "dist" / "student" / "notes.md").write_text("mine")
    with pytest.raises(build.BuildError, match="student/notes.md"):
        build.build(tmp_path / "dist", log=lambda _: None)
    assert (tmp_path / "dist" / "student" / "notes.md").read_text() == "mine"


def test_a_refused_folder_is_refused_before_the_build_runs(tmp_path, monkeypatch):
    ran = []
    monkeypatch.setattr(build, "release_files", lambda **_: ran.append(1) or dict(RELEASE))
    (tmp_path / "keep.txt").write_text("x")
    with pytest.raises(build.BuildError):
        build.build(tmp_path, log=lambda _: None)
    assert ran == []
    with pytest.raises(build.BuildError, match="is a file"):
        build.build(tmp_path / "keep.txt", log=lambda _: None)


def test_an_earlier_release_is_replaced_exactly(tmp_path, quick_release):
    dist = tmp_path / "dist"
    build.build(dist, log=lambda _: None)
    assert contents(dist) == RELEASE
    smaller = {k: v + b"!" for k, v in RELEASE.items() if k != build.MUTATION_REPORT}
    build.write_release(smaller, dist)
    assert contents(dist) == smaller
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist"]  # nothing left beside it


def test_an_empty_folder_and_the_current_folder_can_be_the_output(tmp_path, quick_release):
    here = tmp_path / "here"
    here.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", "from autograder.release import build; build.check_dist('.')"],
        cwd=here,
    )
    assert done.returncode == 0
    build.write_release(dict(RELEASE), here)
    assert contents(here) == RELEASE


def test_a_failed_write_leaves_the_previous_release_whole(tmp_path, monkeypatch):
    dist = tmp_path / "dist"
    build.write_release(dict(RELEASE), dist)
    real, written = Path.write_bytes, []

    def write_bytes(self, data):
        if written:
            raise OSError(28, "No space left on device")
        written.append(self)
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", write_bytes)
    with pytest.raises(OSError, match="No space left"):
        build.write_release({k: b"new" for k in RELEASE}, dist)
    monkeypatch.undo()
    assert contents(dist) == RELEASE
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dist"]


def test_swap_folders_exchanges_both(tmp_path):
    from autograder.archive import swap_folders

    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "new").write_text("")
    (tmp_path / "b" / "old").write_text("")
    swap_folders(tmp_path / "a", tmp_path / "b")
    assert [p.name for p in (tmp_path / "b").iterdir()] == ["new"]
    assert [p.name for p in (tmp_path / "a").iterdir()] == ["old"]


# ## A failed build names its cause


def test_a_sandbox_that_cannot_start_is_one_line(tmp_path, monkeypatch, capsys):
    def run(*args, **kwargs):
        raise sandbox.SandboxUnavailable("bubblewrap: setting up uid map: Permission denied")

    monkeypatch.setattr(sandbox, "run", run)
    with pytest.raises(build.BuildError) as failure:
        build.release_files(execute=False, log=lambda _: None)
    message = str(failure.value)
    assert message == "sandbox unavailable: bubblewrap: setting up uid map: Permission denied"
    assert "Traceback" not in capsys.readouterr().err


def test_the_build_command_reports_an_unavailable_sandbox_once(tmp_path):
    env = {"DISC05_SANDBOX_PYTHON": str(tmp_path / "no-such-python"), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "autograder",
            "build",
            "--no-execute",
            "--dist",
            str(tmp_path / "d"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and done.stderr.startswith(
        "build failed: sandbox unavailable"
    )
    assert "attack" not in done.stdout + done.stderr
    assert not (tmp_path / "d").exists()


@pytest.mark.parametrize(
    "replacement,message",
    [
        (
            lambda p: float(np.sqrt((1 - p) / p)),
            "solutions.effective_column_norm disagrees with every catalogued alternative",
        ),
        (lambda p: 1 / 0, "solutions.effective_column_norm raises ZeroDivisionError on hidden"),
        (
            lambda p: float(np.sqrt(p / (1 - p))) if p < 0.99 else float("nan"),
            "solutions.effective_column_norm returns a value that is not finite on hidden case",
        ),
    ],
)
def test_a_wrong_reference_is_named_as_such(monkeypatch, replacement, message):
    monkeypatch.setitem(solutions.GRADED, "effective_column_norm", replacement)
    problems = gate.reference_problems()
    assert len(problems) == 1 and problems[0].startswith(message), problems
    with pytest.raises(build.BuildError, match="the reference is wrong"):
        build.release_files(execute=False, grade=False, log=lambda _: None)


def test_a_reference_failing_a_public_check_is_named(monkeypatch, test_files):
    # max_sigmoid_grad's public check compares with the reference's own sigmoid_grad.
    monkeypatch.setitem(solutions.GRADED, "max_sigmoid_grad", lambda: 0.2)
    problems = gate.reference_disagreements(test_files)
    assert problems and problems[0].startswith(
        "solutions.max_sigmoid_grad disagrees with the public check q1a"
    )


def test_the_reference_as_it_is_has_no_problem(test_files):
    assert gate.reference_problems() == []
    assert gate.reference_disagreements(test_files) == []
