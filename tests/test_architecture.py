"""The shape of the code: what ships, what imports what.

The autograder zip ships the grading runtime, the `autograder` package without its `release`
subpackage, and nothing chosen by a list; the runtime never reaches for the release tooling
(only the command line does, for the commands that build); and no two modules import each
other, even through imports inside functions.
"""

import ast
import io
import os
import re
import zipfile
from pathlib import Path

import pytest

from autograder.release import package

PACKAGE = Path(__file__).resolve().parent.parent / "autograder"


def _module_files() -> dict[str, Path]:
    """Every module of the package by dotted name (``autograder.release.gate``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(name: str, path: Path) -> list[tuple[str, bool]]:
    """(imported module of this package, whether at module level) for each import in `path`."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    top = {id(node) for node in tree.body}
    modules = set(_module_files())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            base = package
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            target = (
                (f"{base}.{node.module}" if node.module else base) if node.level else node.module
            )
            for alias in node.names:
                full = f"{target}.{alias.name}"
                found.append((full if full in modules else target, id(node) in top))
        elif isinstance(node, ast.Import):
            found += [(alias.name, id(node) in top) for alias in node.names]
    return [(m, top_level) for m, top_level in found if m in modules and m != name]


def test_the_zip_ships_exactly_the_runtime_package():
    zipped = zipfile.ZipFile(io.BytesIO(package.autograder_zip({})))
    shipped = {n for n in zipped.namelist() if n.startswith("autograder/")}
    on_disk = set()
    for top, dirs, names in os.walk(PACKAGE):
        dirs[:] = [d for d in dirs if d not in ("__pycache__", "release") or top != str(PACKAGE)]
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        on_disk |= {Path(top, n).relative_to(PACKAGE.parent).as_posix() for n in names}
    assert shipped == on_disk
    assert "autograder/release/build.py" not in shipped and "autograder/grader.py" in shipped


def test_the_runtime_never_imports_the_release_tooling():
    for name, path in _module_files().items():
        if name.startswith("autograder.release"):
            continue
        for target, top_level in _imports(name, path):
            if target.startswith("autograder.release"):
                # Only the command line reaches it, inside the commands that build.
                assert name == "autograder.__main__" and not top_level, (name, target)


@pytest.mark.parametrize("count_function_level", [False, True])
def test_no_modules_import_each_other(count_function_level):
    graph = {
        name: {t for t, top in _imports(name, path) if top or count_function_level}
        for name, path in _module_files().items()
        if name != "autograder.__main__"
    }

    def cycle_from(start: str, seen: tuple[str, ...]) -> tuple[str, ...] | None:
        for target in sorted(graph.get(start, ())):
            if target == seen[0]:
                return (*seen, target)
            if target not in seen:
                found = cycle_from(target, (*seen, target))
                if found:
                    return found
        return None

    cycles = [c for name in graph if (c := cycle_from(name, (name,)))]
    assert not cycles, " -> ".join(cycles[0])


def _layout_row(folder: str) -> set[str]:
    """The files README's Layout table names in the row of `folder`."""
    readme = (PACKAGE.parent / "README.md").read_text(encoding="utf-8")
    layout = readme[readme.index("## Layout") :]
    row = next(line for line in layout.splitlines() if line.startswith(f"| `{folder}` |"))
    return set(re.findall(r"`([\w]+\.py|[\w]+/)`", row.split("|")[2]))


@pytest.mark.parametrize("folder", ["autograder", "autograder/release"])
def test_readmes_layout_table_names_every_module_of_the_tree(folder):
    here = PACKAGE.parent / folder
    tree = {p.name for p in here.glob("*.py") if p.name != "__init__.py"}
    tree |= {f"{p.name}/" for p in here.iterdir() if p.is_dir() and p.name != "__pycache__"}
    tree.discard("release/")  # a row of its own
    assert _layout_row(f"{folder}/") == tree
