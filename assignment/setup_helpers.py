# What the setup cell runs: it creates `grader`, which runs the public checks in the folder
# CHECKS_FOLDER and shows each result as one line per function, and teaches `grader.export`
# to find this notebook's file and to write the zip for Gradescope beside it.
import datetime
import html
import json
import os
import urllib.request
from pathlib import Path

import otter
from IPython import get_ipython
from IPython.display import display
from otter.check.utils import IPythonInterpreter
from otter.test_files.abstract_test import TestFile

CHECKS_FOLDER = "__CHECKS_FOLDER__"
EXPORT_NAME = "__EXPORT_NAME__"  # the zip is EXPORT_NAME_<timestamp>.zip
FAILED_CHECK = "\nCheckFailed: "  # where Otter's message for a failing check gives our lines


def check_output(result: TestFile) -> str:
    """What grader.check shows: one line per function and, below a failing one, its hint."""
    lines = []
    for outcome in result.test_case_results:
        if outcome.passed:
            lines.append(outcome.test_case.success_message or f"{outcome.test_case.name}: passed")
            continue
        message = (outcome.message or "").strip()
        lines.append(message.rpartition(FAILED_CHECK)[2] if FAILED_CHECK in message else message)
    return "\n".join(lines)


def check_html(result: TestFile) -> str:
    """The same lines as HTML that wraps only between words, a hint indented under its line.

    Each line is a block of its own (a div: JupyterLab keeps these styles even where it does
    not trust an output, and drops a ``display`` one)."""
    rows = []
    for line in check_output(result).splitlines():
        indent = len(line) - len(line.lstrip())
        # A function's line wraps under its text, past the mark; a hint under itself.
        hang = f"padding-left: {indent}ch" if indent else "padding-left: 2ch; text-indent: -2ch"
        rows.append(f'<div style="{hang}">{html.escape(line.strip())}</div>')
    style = "white-space: pre-wrap; word-break: normal; overflow-wrap: anywhere"
    return f'<pre class="disc05-check" style="{style}">{"".join(rows)}</pre>'


def _asked_the_server() -> Path | None:
    """The notebook that the Jupyter server running this kernel has open on it, or None.

    The server knows the notebook's current name (after a rename too). Any failure (no
    server, another kind of front end, a server that does not answer within a second) is
    passed over in silence: the other ways are tried.
    """
    try:
        from ipykernel import get_connection_file
        from jupyter_core.paths import jupyter_runtime_dir

        kernel = Path(get_connection_file()).stem.removeprefix("kernel-")
        servers = sorted(Path(jupyter_runtime_dir()).glob("jpserver-*.json"))
    except Exception:  # noqa: BLE001 - not a Jupyter kernel, or no runtime folder
        return None
    for info in servers:
        try:
            server = json.loads(info.read_text(encoding="utf-8"))
            request = urllib.request.Request(
                server["url"].rstrip("/") + "/api/sessions",
                headers={"Authorization": f"token {server.get('token', '')}"},
            )
            with urllib.request.urlopen(request, timeout=1) as answer:
                sessions = json.load(answer)
            for session in sessions:
                path = session.get("path") or ""
                if (session.get("kernel") or {}).get("id") == kernel and path.endswith(".ipynb"):
                    return Path(server["root_dir"], path)
        except Exception:  # noqa: BLE001 - a server gone or not ours: ask the next one
            continue
    return None


def _named_at_start() -> Path | None:
    """The notebook that Jupyter (JPY_SESSION_NAME, ``__session__``) or VS Code
    (``__vsc_ipynb_file__``) named when this kernel started, if that file exists."""
    for name in (
        globals().get("__vsc_ipynb_file__"),
        os.environ.get("JPY_SESSION_NAME"),
        globals().get("__session__"),
    ):
        if isinstance(name, str) and name.endswith(".ipynb") and Path(name).is_file():
            return Path(name).resolve()
    return None


def this_notebook() -> Path:
    """The file of this notebook, for the export, whatever else is in its folder.

    Asks the Jupyter server that runs this kernel, then the name the kernel was started with;
    failing both, takes the disc05 notebook in this folder, saying which one it took when
    there are several copies.

    Raises FileNotFoundError, saying why, when it cannot be found.
    """
    for found in (_asked_the_server(), _named_at_start()):
        if found is not None and found.is_file():
            return found.resolve()
    ours = []
    for path in sorted(Path.cwd().glob("*.ipynb")):
        try:
            if "disc05" in json.loads(path.read_text(encoding="utf-8")).get("metadata", {}):
                ours.append(path)
        except (OSError, ValueError, AttributeError):
            continue  # not a notebook we can read: not ours
    if not ours:
        raise FileNotFoundError(
            f"none of the notebooks in {Path.cwd()} is this disc05 notebook; save it "
            "(File → Save) in the folder where it runs and try again"
        )
    newest = max(ours, key=lambda path: path.stat().st_mtime)
    if len(ours) > 1:
        others = ", ".join(path.name for path in ours if path != newest)
        print(
            f"Jupyter did not say which notebook this is: exporting {newest.name}, the copy "
            f"saved last (also here: {others})."
        )
    return newest.resolve()


class Grader(otter.Notebook):
    """Otter's notebook client, whose export finds this notebook's file and says in a line,
    as text and as HTML, which zip it wrote."""

    def export(self, nb_path=None, export_path=None, **options) -> None:
        """Write EXPORT_NAME_<timestamp>.zip beside this notebook, holding the notebook as
        saved, under its own name; or say, in two lines, why that is not possible here."""
        try:
            if self.interpreter is IPythonInterpreter.COLAB:
                raise RuntimeError("exporting does not work on Google Colab")
            notebook = Path(nb_path).resolve() if nb_path else this_notebook()
            stamp = datetime.datetime.now().strftime("%Y_%m_%dT%H_%M_%S_%f")
            zip_name = export_path or f"{EXPORT_NAME}_{stamp}.zip"
            options = {"pdf": False, **options, "display_link": False, "ignore_log": True}
            here = Path.cwd()
            os.chdir(notebook.parent)  # so the zip holds the notebook by its name alone
            try:
                super().export(notebook.name, export_path=zip_name, **options)
            finally:
                os.chdir(here)
        except Exception as problem:  # noqa: BLE001 - whatever it is, say what to do instead
            print(f"Export is not available here: {problem}.")
            print("Download this notebook as .ipynb and upload that file to Gradescope instead.")
            return
        saved = datetime.datetime.fromtimestamp(notebook.stat().st_mtime).strftime("%H:%M:%S")
        said = f"Wrote {zip_name} beside {notebook.name} (as saved at {saved}): upload it to "
        link = html.escape(zip_name, quote=True)
        display(
            {
                "text/plain": said + "Gradescope.",
                "text/html": (
                    f"<p>Wrote <a href='{link}' download='{link}'>{html.escape(zip_name)}</a> "
                    f"beside {html.escape(notebook.name)} (as saved at {saved}): upload it to "
                    "Gradescope. Click its name to download it.</p>"
                ),
            },
            raw=True,
        )


grader = Grader(tests_dir=CHECKS_FOLDER)

_shell = get_ipython()
if _shell is not None:
    _formatters = _shell.display_formatter.formatters
    _formatters["text/plain"].for_type(
        TestFile, lambda result, printer, cycle: printer.text(check_output(result))
    )
    _formatters["text/html"].for_type(TestFile, check_html)
