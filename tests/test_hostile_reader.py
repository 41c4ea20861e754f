"""The submission reader over hostile uploads: whatever bytes a notebook, script, zip or folder
holds, reading it ends quickly, in bounded memory, with the submission or with one sentence
saying why not (`SubmissionError`), never another exception."""

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_properties import json_values, nasty_text

from autograder import spec, submission
from autograder.submission import SubmissionError

MEGABYTES = 60 << 20  # near `spec.SUBMISSION_BYTES`: the largest file the reader takes


def _write(path: Path, head: str, unit: str, count: int, tail: str = "") -> None:
    """Write `head`, `count` copies of `unit` and `tail`, a megabyte at a time (the test keeps
    nothing large in memory, which a child started from it would count as its own)."""
    per_chunk = max(1, (1 << 20) // len(unit))
    with path.open("w", encoding="utf-8") as file:
        file.write(head)
        for done in range(0, count, per_chunk):
            file.write(unit * min(per_chunk, count - done))
        file.write(tail)


def _markdown(lines: int) -> str:
    """A Markdown cell of `lines` blank lines with the id of one of ours (JSON, then a comma)."""
    return (
        json.dumps({"cell_type": "markdown", "id": "cell-23", "source": "y" + "\n" * lines + "x"})
        + ", "
    )


# The head of a notebook this release wrote, as its metadata says.
OURS = '{"metadata": {"disc05": {}}, "cells": ['


def _shapes(folder: Path) -> dict[str, tuple[Path, str | None]]:
    """Uploads of about 60 MB shaped to cost memory per piece, with the word of the sentence
    that refuses each (None: it is read)."""
    n = MEGABYTES
    cell = '{"cell_type": "code", "source": "x"}, '
    recipes = {
        "markers.py": ("", "# %%\n", n // 5, "", "lines"),
        "imports.py": ("", "import a\n", n // 9, "", "lines"),
        "markdown.py": ("", "# %% [markdown]\n# x\n", n // 20, "", "lines"),
        "one-line.py": ("x = [", "0,", n // 2, "]", None),
        "cells.ipynb": ('{"cells": [', cell, n // len(cell), "{}]}", "values"),
        "objects.ipynb": ('{"cells": [], "x": [', "{},", n // 3, "{}]}", "values"),
        "text.ipynb": (
            '{"metadata": {"disc05": {}}, "cells": [{"cell_type": "code", "source": "',
            "#",
            n,
            '"}]}',
            None,
        ),
        "foreign.ipynb": ('{"cells": [{"cell_type": "code", "source": "', "#", n, '"}]}', "disc05"),
        # Every line break that str.splitlines knows, not only "\n", counts as a line.
        "returns.py": ("", "#\r", n // 2, "", "lines"),
        "separators.py": ("", "#\u2028", n // 4, "", "lines"),
        "markdown.ipynb": (OURS, _markdown(79_000), n // 160_000, "{}]}", "lines"),
        # Under the cap, the Markdown cells of one of ours that cost the most to compare with
        # it (blank lines, which match anywhere in ours): read, quickly.
        "answers.ipynb": (OURS, _markdown(1_990), 50, "{}]}", None),
    }
    shapes = {}
    for name, (head, unit, count, tail, refusal) in recipes.items():
        _write(folder / name, head, unit, count, tail)
        shapes[name] = (folder / name, refusal)
    return shapes


_MEASURE = """
import json, resource, sys
from autograder import submission
try:
    loaded = submission.load(sys.argv[1])
    said = None
except submission.SubmissionError as error:
    said = str(error)
used = resource.getrusage(resource.RUSAGE_SELF)
seconds = used.ru_utime + used.ru_stime  # CPU time: what a busy machine does not inflate
print(json.dumps({"said": said, "peak_mb": used.ru_maxrss / 1024, "seconds": seconds}))
"""


def test_uploads_shaped_to_cost_memory_are_read_or_refused_in_bounded_memory_and_time(tmp_path):
    for name, (path, refusal) in _shapes(tmp_path).items():
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, str(path)], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, (name, done.stderr[-2000:])
        measured = json.loads(done.stdout)
        # Reading 60 MB takes a few times its size; per-piece costs once took gigabytes.
        assert measured["peak_mb"] < 600, (name, measured)
        assert measured["seconds"] < 20, (name, measured)
        if refusal is None:
            assert measured["said"] is None, (name, measured)
        else:
            assert f" {refusal}" in measured["said"], (name, measured)
        path.unlink()


def test_a_number_too_long_for_python_does_not_stop_a_notebook_being_read(tmp_path, solution_json):
    notebook = dict(solution_json, metadata={**solution_json["metadata"], "n": 0})
    text = json.dumps(notebook).replace('"n": 0', '"n": ' + "9" * 5000)
    path = tmp_path / "disc05.ipynb"
    path.write_text(text)
    read = submission.load(path)
    plain = tmp_path / "plain" / "disc05.ipynb"
    plain.parent.mkdir()
    plain.write_text(json.dumps(solution_json))
    assert read.cells == submission.load(plain).cells and read.written


def test_a_zip_or_folder_of_too_many_files_is_refused_before_it_is_listed(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(spec.ZIP_MEMBERS + 1):
            archive.writestr(f"{i}", "")
    (tmp_path / "many.zip").write_bytes(buffer.getvalue())
    with pytest.raises(SubmissionError, match="more than 10,000 files"):
        submission.load(tmp_path / "many.zip")
    folder = tmp_path / "folder"
    folder.mkdir()
    for i in range(spec.FOLDER_ENTRIES + 1):
        (folder / f"{i}").touch()
    with pytest.raises(SubmissionError, match="more than 10,000 files"):
        submission.load(folder)


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            # zipfile ends a name at its first NUL, on writing as on reading
            archive.writestr(name.replace("\x00", "") or "unnamed", data)
    return buffer.getvalue()


member_names = st.one_of(
    st.sampled_from(["disc05.ipynb", "../disc05.ipynb", "/abs/disc05.ipynb", "a/b.py", "x.ipynb"]),
    nasty_text.map(lambda t: t[:50].encode("utf-8", "replace").decode("utf-8") + ".ipynb"),
)
notebook_bytes = st.one_of(
    st.binary(max_size=3000),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.builds(
        lambda cells: json.dumps({"cells": cells}).encode(),
        st.lists(
            st.fixed_dictionaries(
                {
                    "cell_type": st.sampled_from(["code", "markdown", "raw", 3]),
                    "source": json_values,
                }
            ),
            max_size=6,
        ),
    ),
)


@given(
    st.sampled_from(["disc05.ipynb", "work.py", "upload.zip"]),
    notebook_bytes | nasty_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.lists(st.tuples(member_names, notebook_bytes), max_size=4),
)
def test_any_upload_is_read_or_refused_in_one_sentence(tmp_path_factory, name, data, members):
    path = tmp_path_factory.mktemp("upload") / name
    path.write_bytes(_zip(members) if name.endswith(".zip") else data)
    try:
        read = submission.load(path)
    except SubmissionError as error:
        assert str(error) and "\n" not in str(error).strip()
        return
    assert all(isinstance(cell, str) for cell in read.cells)
    assert set(read.written) <= set(spec.WRITTEN_QUESTIONS)
