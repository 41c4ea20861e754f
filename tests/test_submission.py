"""Reading submissions: every accepted form, and a clear error for every broken one."""

import ast
import io
import json
import zipfile

import nbformat
import pytest
from conftest import write_notebook
from hypothesis import given
from hypothesis import strategies as st

import solutions
from autograder import grader, spec
from autograder.submission import (
    SubmissionError,
    load,
    notebook_cells,
    script_cells,
    without_magics,
)


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
    nb = {"cells": [{"cell_type": "code", "source": ["def sigmoid(x):\n", "    return x\n"]}]}
    assert load(write_notebook(tmp_path, nb)).cells == ["def sigmoid(x):\n    return x"]


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
    both = load(folder)
    assert both.origin == "Copy of disc05.ipynb"
    # Uploaded together, one is graded: the note says which, and which was not.
    assert both.notes == [
        "graded Copy of disc05.ipynb; ignored the other files uploaded with it: export.zip"
    ]
    (folder / "Copy of disc05.ipynb").unlink()
    (folder / "helpers.py").write_text("def sigmoid(x):\n    return x\n")
    assert load(folder).notes == [
        "graded export.zip; ignored the other files uploaded with it: helpers.py"
    ]


def test_another_assignments_notebook_is_refused_in_one_sentence(tmp_path, student_json):
    lab = {
        "metadata": {"kernelspec": {"name": "python3"}},
        "cells": [
            {"cell_type": "code", "source": f"def softmax(z):\n    return z\n{i}"}
            for i in range(11)
        ],
    }
    for where in ("lab02.ipynb", "upload.zip", "folder"):
        path = tmp_path / where
        if where == "upload.zip":
            path.write_bytes(zip_of({"lab02.ipynb": json.dumps(lab).encode()}))
        elif where == "folder":
            path.mkdir()
            write_notebook(path, lab, "lab02.ipynb")
        else:
            write_notebook(tmp_path, lab, where)
        with pytest.raises(SubmissionError) as refused:
            load(path)
        said = str(refused.value)
        assert "\n" not in said and "is not the disc05 notebook" in said, said
        assert "lab02.ipynb" in said and "upload disc05.ipynb" in said
    # Ours however little is done: the stubs, a function of ours alone, our metadata alone,
    # a cell of ours alone; and a .py file is never refused for this.
    untouched = {"cells": [c for c in student_json["cells"] if c["cell_type"] == "markdown"]}
    alone = [
        student_json,
        {"cells": [{"cell_type": "code", "source": "sigmoid = lambda x: x"}]},
        {**untouched, "metadata": student_json["metadata"]},
        {"cells": [{"cell_type": "code", "source": 'grader.check("q1a")'}]},
    ]
    for index, notebook_json in enumerate(alone):
        load(write_notebook(tmp_path, notebook_json, f"ours-{index}.ipynb"))
    (tmp_path / "lab02.py").write_text("def softmax(z):\n    return z\n")
    assert load(tmp_path / "lab02.py").cells == ["def softmax(z):\n    return z"]


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
    # Markdown cells hold only comments and are left out, as a notebook's would be.
    assert script_cells("# %%\nx = 1\n# %% [markdown]\n# text\n# %%\ny = 2\n") == [
        "x = 1",
        "y = 2",
    ]


def test_nbconvert_script_markers_are_cell_boundaries(solution_json):
    nbconvert = pytest.importorskip("nbconvert")
    notebook = nbformat.reads(json.dumps(solution_json), as_version=4)
    script, _ = nbconvert.PythonExporter().from_notebook_node(notebook)
    assert "# In[" in script  # the markers `jupyter nbconvert --to script` writes
    cells = script_cells(script)
    code = [c for c in solution_json["cells"] if c["cell_type"] == "code"]
    assert len(cells) == len(code)
    demos = [c for c in cells if "import matplotlib" in c]
    assert len(demos) == 2  # the two demos
    assert not any(f"def {name}(" in demo for demo in demos for name in solutions.GRADED)


@pytest.mark.parametrize("form", ["py:percent", "py:light"])
def test_jupytext_scripts_keep_cells_and_leave_out_ignored_ones(solution_json, form):
    jupytext = pytest.importorskip("jupytext")
    notebook = nbformat.reads(json.dumps(solution_json), as_version=4)
    cells = script_cells(jupytext.writes(notebook, fmt=form))
    ignored = [
        c
        for c in solution_json["cells"]
        if c["cell_type"] == "code" and "otter_ignore" in c["metadata"].get("tags", [])
    ]
    assert ignored and not any("import matplotlib" in c for c in cells)
    code = [c for c in solution_json["cells"] if c["cell_type"] == "code"]
    assert len(cells) == len(code) - len(ignored)


def test_unmarked_script_runs_each_top_level_statement_as_a_cell():
    text = "import numpy as np\nimport matplotlib\n\n@staticmethod\ndef f(x):\n    return x\n"
    text += "y = f(\n    2\n)\n"
    assert script_cells(text) == [
        "import numpy as np",
        "import matplotlib",
        "@staticmethod\ndef f(x):\n    return x",
        "y = f(\n    2\n)",
    ]


def test_a_symbolic_link_in_a_submission_folder_is_never_read(tmp_path, student_json):
    secret = tmp_path / "source" / "solutions" / "residual.py"
    secret.parent.mkdir(parents=True)
    secret.write_text("ANSWER = 42\n")
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "disc05.py").symlink_to("../source/solutions/residual.py")
    with pytest.raises(SubmissionError, match="disc05.py is a symbolic link"):
        load(folder)
    # A linked folder is not followed either; a real notebook beside a link is graded.
    (folder / "linked").symlink_to(secret.parent, target_is_directory=True)
    write_notebook(folder, student_json)
    submission = load(folder)
    assert submission.origin == "disc05.ipynb"
    assert not any("ANSWER" in cell for cell in submission.cells)
    assert any("symbolic links" in note and "disc05.py" in note for note in submission.notes)


def test_a_notebook_linked_into_the_folder_is_refused(tmp_path, student_json):
    outside = write_notebook(tmp_path, student_json, "elsewhere.ipynb")
    folder = tmp_path / "submission"
    folder.mkdir()
    (folder / "disc05.ipynb").symlink_to(outside)
    with pytest.raises(SubmissionError, match="disc05.ipynb is a symbolic link"):
        load(folder)


@pytest.mark.parametrize("name", ["disc05.ipynb", "answers.py", "export.zip"])
def test_an_empty_file_is_named_as_empty(tmp_path, name):
    (tmp_path / name).write_bytes(b"")
    with pytest.raises(SubmissionError, match="the file is empty"):
        load(tmp_path / name)
    with pytest.raises(SubmissionError, match="the file is empty"):
        load(tmp_path)


def test_an_empty_notebook_inside_a_zip_is_named_as_empty(tmp_path):
    (tmp_path / "export.zip").write_bytes(zip_of({"disc05.ipynb": b""}))
    with pytest.raises(SubmissionError, match="disc05.ipynb in export.zip: the file is empty"):
        load(tmp_path / "export.zip")


def test_a_damaged_zip_gets_a_message(tmp_path, student_json):
    data = bytearray(zip_of({"disc05.ipynb": json.dumps(student_json).encode() * 3}))
    data[100:140] = b"\0" * 40  # inside the compressed notebook: a CRC or inflate error
    (tmp_path / "export.zip").write_bytes(bytes(data))
    with pytest.raises(SubmissionError, match="export.zip is damaged"):
        load(tmp_path / "export.zip")


def test_oversized_zip_member_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(spec, "SUBMISSION_BYTES", 100)
    (tmp_path / "big.zip").write_bytes(zip_of({"disc05.ipynb": b" " * 1000}))
    with pytest.raises(SubmissionError, match="larger than"):
        load(tmp_path / "big.zip")


def script_of(notebook_json: dict, form: str) -> str:
    notebook = nbformat.reads(json.dumps(notebook_json), as_version=4)
    if form == "nbconvert":
        nbconvert = pytest.importorskip("nbconvert")
        return nbconvert.PythonExporter().from_notebook_node(notebook)[0]
    return pytest.importorskip("jupytext").writes(notebook, fmt=form)


@pytest.mark.parametrize("form", ["nbconvert", "py:percent", "py:light"])
def test_a_script_of_the_full_solution_gets_full_marks(
    tmp_path, solution_json, table, sandbox_runtime, form
):
    """The demo's matplotlib import fails in the sandbox; it costs nothing but its own cell."""
    path = tmp_path / "disc05.py"
    path.write_text(script_of(solution_json, form), encoding="utf-8")
    report = grader.grade(path, table)
    assert report.score == pytest.approx(sum(q.points for q in spec.QUESTIONS)), report.text()


def test_scripts_and_notebooks_built_to_exhaust_the_grader_are_read_in_bounded_memory(tmp_path):
    import tracemalloc

    from autograder.submission import script_cells

    tracemalloc.start()
    cells = script_cells("a" + "[0]" * 500_000 + "\ndef sigmoid(x):\n    return x\n")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 64 << 20 and any("def sigmoid" in cell for cell in cells)
    deep = tmp_path / "deep.ipynb"
    deep.write_text("[" * 200_000 + "]" * 200_000)
    with pytest.raises(SubmissionError, match="nested too deeply"):
        load(deep)


def test_the_line_limit_counts_only_what_the_grader_reads_of_a_markdown_cell(
    tmp_path, solution_json
):
    """A Markdown cell is read on its first `written.CELL_CHARS` characters: a long one costs
    no more than that, and the code beside it is graded; many long ones are still refused."""
    from autograder import written

    notebook = json.loads(json.dumps(solution_json))
    blank = {"cell_type": "markdown", "metadata": {}, "source": "\n" * (3 * spec.SCRIPT_LINES)}
    notebook["cells"].insert(1, blank)
    submission = load(write_notebook(tmp_path, notebook))
    assert any("def sigmoid" in cell for cell in submission.cells)
    many = spec.SCRIPT_LINES // written.CELL_CHARS + 2
    notebook["cells"][1:2] = [blank] * many
    with pytest.raises(SubmissionError, match=f"more than {spec.SCRIPT_LINES:,} lines"):
        load(write_notebook(tmp_path, notebook))


def test_messages_name_a_few_files_however_many_there_are(tmp_path):
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(300):
        (folder / f"{i:05d}{'x' * 200}.ipynb").write_text("{}")
    with pytest.raises(SubmissionError) as refused:
        load(folder)
    assert len(str(refused.value)) < 1000 and "and 295 more" in str(refused.value)


# ## The grader runs what Python runs: lines break only where Python breaks them

# What `str.splitlines` breaks at and Python does not: inside a comment or a string, code.
NOT_PYTHON_BREAKS = ["\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


def _python_defines(code: str) -> list[str]:
    """The functions CPython defines when it runs `code` (top-level ``def``s, in order)."""
    return [node.name for node in ast.parse(code).body if isinstance(node, ast.FunctionDef)]


@st.composite
def code_with_odd_breaks(draw) -> str:
    """Function definitions whose comments and strings hold line separators that Python reads
    as ordinary characters, some hiding a definition behind them."""
    names = draw(st.lists(st.sampled_from(GRADED + ["helper", "other"]), min_size=1, max_size=4))
    odd = st.sampled_from(NOT_PYTHON_BREAKS)
    pieces = []
    for name in names:
        hidden = draw(st.sampled_from(GRADED))
        pieces.append(
            f"def {name}(x):  # note{draw(odd)}def {hidden}(x): return 0.0\n"
            f"    text = 'a{draw(odd)}b'{draw(st.sampled_from(['', '  # ' + draw(odd) + 'x']))}\n"
            f"    # {draw(odd)}    return 1.0\n"
            f"    raise NotImplementedError\n"
        )
    separator = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    return "\n".join(pieces).replace("\n", separator)


GRADED = [name for question in spec.QUESTIONS for name in question.functions]


@given(code_with_odd_breaks())
def test_the_grader_sees_the_functions_python_defines_in_a_notebook(code):
    notebook = {"metadata": {"disc05": {}}, "nbformat": 4, "nbformat_minor": 5, "cells": [
        {"cell_type": "code", "metadata": {}, "source": code, "outputs": [],
         "execution_count": None}]}  # fmt: skip
    (cell,) = notebook_cells(notebook, "disc05.ipynb")
    assert _python_defines(cell) == _python_defines(code)
    assert ast.dump(ast.parse(cell)) == ast.dump(ast.parse(code))  # the same program


@given(code_with_odd_breaks(), st.sampled_from(["# %%\n", "# In[1]:\n\n", ""]))
def test_the_grader_sees_the_functions_python_defines_in_a_script(code, marker):
    cells = script_cells(marker + code)
    defined = [name for cell in cells for name in _python_defines(cell)]
    assert defined == _python_defines(code)


def test_a_comment_holding_a_line_separator_costs_nothing_and_hides_nothing():
    honest = "def sigmoid(x):\n    # stable\u2028for large |x|\n    return 0.5\n"
    assert _python_defines(without_magics(honest)) == ["sigmoid"]
    hiding = "def sigmoid(x):\n    # stub\x1c    return 0.5\n    raise NotImplementedError\n"
    compiled = {}
    exec(compile(without_magics(hiding), "<cell>", "exec"), compiled)  # noqa: S102
    with pytest.raises(NotImplementedError):
        compiled["sigmoid"](0.0)


def test_a_percent_line_inside_a_string_is_python_not_a_magic():
    # Jupyter and CPython run the raising sigmoid: the grader must not close the string early.
    cell = (
        '_doc = """\n%"""\ndef sigmoid(x):\n    raise ValueError("what Python runs")\n"""\n'
        'def sigmoid(x):\n    return 0.5\n#"""\n'
    )
    compiled = {}
    exec(compile(without_magics(cell), "<cell>", "exec"), compiled)  # noqa: S102
    with pytest.raises(ValueError, match="what Python runs"):
        compiled["sigmoid"](0.0)
    assert without_magics("%pip install numpy\nx = 1") == "pass\nx = 1"  # a real magic still
