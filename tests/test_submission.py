"""Reading submissions: every accepted form, and a clear error for every broken one."""

import io
import json
import zipfile

import pytest
from conftest import write_notebook

from autograder.submission import SubmissionError, load, script_cells, without_magics


def zip_of(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_magics_and_shell_lines_become_pass_and_cell_magics_vanish():
    source = "%pip install numpy\nimport numpy as np\nif True:\n    !rm -rf /\n    x = 1"
    assert without_magics(source) == "pass\nimport numpy as np\nif True:\n    pass\n    x = 1"
    assert without_magics("%%bash\nrm -rf /") == ""


def test_notebook_code_cells_are_read_in_order_without_ignored_ones(tmp_path, student_json):
    submission = load(write_notebook(tmp_path, student_json))
    code = [c for c in student_json["cells"] if c["cell_type"] == "code"]
    ignored = [c for c in code if "otter_ignore" in c["metadata"].get("tags", [])]
    assert len(ignored) == 3  # the two demos and the export cell
    assert len(submission.cells) == len(code) - len(ignored)
    assert submission.cells[-1] == 'grader.check("q2c")'
    assert submission.origin == "disc05.ipynb"


def test_notebook_source_given_as_a_list_of_lines(tmp_path):
    nb = {"cells": [{"cell_type": "code", "source": ["def f():\n", "    return 1\n"]}]}
    assert load(write_notebook(tmp_path, nb)).cells == ["def f():\n    return 1"]


def test_export_zip_is_read_in_memory(tmp_path, student_json):
    data = zip_of(
        {
            "disc05.ipynb": json.dumps(student_json).encode(),
            ".OTTER_LOG": b"\x80\x04not for us",
            "__zip_filename__": b"disc05_2026.zip",
        }
    )
    (tmp_path / "disc05_2026.zip").write_bytes(data)
    submission = load(tmp_path / "disc05_2026.zip")
    assert submission.origin == "disc05.ipynb in disc05_2026.zip"
    assert submission.cells == load(write_notebook(tmp_path, student_json)).cells


def test_gradescope_folder_with_a_zip_or_a_notebook(tmp_path, student_json):
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "export.zip").write_bytes(zip_of({"disc05.ipynb": json.dumps(student_json).encode()}))
    assert load(folder).origin == "disc05.ipynb in export.zip"
    write_notebook(folder, student_json, "Copy of disc05.ipynb")
    assert load(folder).origin == "Copy of disc05.ipynb"


def test_two_notebooks_prefer_the_one_named_like_the_assignment(tmp_path, student_json):
    write_notebook(tmp_path, student_json, "disc05.ipynb")
    write_notebook(tmp_path, student_json, "scratch.ipynb")
    submission = load(tmp_path)
    assert submission.origin == "disc05.ipynb"
    assert "ignored the other notebooks: scratch.ipynb" in submission.notes[0]


@pytest.mark.parametrize(
    "files,message",
    [
        ({}, "no notebook to grade"),
        ({"notes.txt": b"hello"}, "no notebook to grade: the submission holds notes.txt"),
        ({"a.ipynb": b"{}", "b.ipynb": b"{}"}, "holds 2 notebooks (a.ipynb, b.ipynb)"),
        (
            {"disc05.ipynb": b'{"cells": [}'},
            "is not a valid notebook: its JSON is broken at line 1",
        ),
        ({"disc05.ipynb": b'{"nbformat": 4}'}, "is JSON but not a Jupyter notebook"),
        ({"disc05.ipynb": b"\xff\xfe\x00"}, "is not a text file"),
        ({"upload.zip": b"PK not really"}, "upload.zip is not a valid zip file"),
    ],
)
def test_broken_submissions_get_a_message_for_the_student(tmp_path, files, message):
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    with pytest.raises(SubmissionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load(tmp_path)


def test_python_file_with_a_syntax_error_is_cut_into_pieces(tmp_path):
    text = "import numpy as np\n\ndef sigmoid(x):\n    return 1 / (1 + np.exp(-x)\n\n"
    text += "def f(p):\n    return p\n"
    pieces = script_cells(text)
    assert len(pieces) == 3 and pieces[2].startswith("def f(p):")
    (tmp_path / "answers.py").write_text(text)
    assert load(tmp_path / "answers.py").cells == pieces


def test_python_file_with_cell_markers(tmp_path):
    assert script_cells("# %%\nx = 1\n# %% [markdown]\n# text\n# %%\ny = 2\n") == [
        "\nx = 1\n",
        "\n# text\n",
        "\ny = 2",
    ]


def test_oversized_zip_member_is_refused(tmp_path, monkeypatch):
    from autograder import submission

    monkeypatch.setattr(submission, "MAX_BYTES", 100)
    (tmp_path / "big.zip").write_bytes(zip_of({"disc05.ipynb": b" " * 1000}))
    with pytest.raises(SubmissionError, match="larger than"):
        load(tmp_path / "big.zip")
