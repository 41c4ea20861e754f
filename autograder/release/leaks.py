"""What must never reach students, and where it would show: the leak scans.

The build scans the student release for answer-key fragments (reference code, derivations,
model answers); the gate scans every results.json it grades for them and for hidden numbers
(hidden inputs and expected values, by their leading digits).
"""

import base64
import functools
import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np

import solutions

from . import notebook


def answer_key_fragments() -> list[str]:
    """Text that must never reach students: reference code, derivations, model answers.

    Fragments are whitespace-normalised lines of reference code (after the docstring), lines
    of the ``Notes`` sections, and sentences of the written answers, long enough to be
    specific (short ones such as ``return out`` could occur anywhere).
    """
    fragments = []
    for name in solutions.GRADED:
        source = notebook.reference_source(name)
        code = source.split('"""')[-1]
        fragments += [line.strip() for line in code.splitlines() if len(line.strip()) >= 20]
        doc = notebook.public_docstring(name)
        full = solutions.GRADED[name].__doc__ or ""
        notes = full[full.find("Notes\n") :] if "Notes\n" in full else ""
        fragments += [
            line.strip()
            for line in notes.splitlines()[2:]
            if len(line.strip()) >= 25 and line.strip() not in doc
        ]
    for answer in notebook.written_answers().values():
        sentences = re.split(r"(?<=[.:;])\s+", " ".join(answer.split()))
        fragments += [s for s in sentences if len(s) >= 30]
    return [" ".join(f.split()) for f in fragments]


def release_texts(files: dict[str, bytes]) -> dict[str, str]:
    """Every text students receive, with the public-check archive inside the notebook unpacked."""
    texts = {}
    for name, data in files.items():
        text = data.decode("utf-8")
        texts[name] = text
        for blob in re.findall(r'PUBLIC_CHECKS = \\"([A-Za-z0-9+/=]+)\\"', text):
            with zipfile.ZipFile(io.BytesIO(base64.b64decode(blob))) as archive:
                for inner in archive.namelist():
                    texts[f"{name}!{inner}"] = archive.read(inner).decode("utf-8")
    return texts


def find_leaks(files: dict[str, bytes]) -> list[str]:
    """Answer-key fragments found in the student release, as ``file: fragment`` lines."""
    leaks = []
    fragments = answer_key_fragments()
    for name, text in release_texts(files).items():
        # Notebook JSON escapes newlines and quotes; undo that before comparing.
        plain = " ".join(
            text.replace("\\n", "\n").replace('\\"', '"').replace("\\\\", "\\").split()
        )
        leaks += [f"{name}: {fragment}" for fragment in fragments if fragment in plain]
    return leaks


def leaked_fragments(results: dict, fragments: list[str]) -> list[str]:
    """The fragments that `results` quotes (numbers are looked up by their leading digits),
    leaving out the written answers: they quote the notebook's own Markdown."""
    results = without_written_answers(results)
    text = " ".join(json.dumps(results).replace("\\n", " ").split())
    numbers, others = _numbers_apart(tuple(fragments))
    quoted = _specific_numbers(float(n) for n in _DECIMAL.findall(text)) & numbers
    return sorted(quoted) + [f for f in others if f in text]


@functools.lru_cache(maxsize=4)
def _numbers_apart(fragments: tuple[str, ...]) -> tuple[frozenset[str], list[str]]:
    numbers = frozenset(f for f in fragments if _DECIMAL.fullmatch(f))
    return numbers, [f for f in fragments if f not in numbers]


_DECIMAL = re.compile(r"\d+\.\d+")


def _specific_numbers(values) -> set[str]:
    """Each value's leading six significant digits as printed (``0.482131`` of 0.4821316...),
    for values with that many: a result quoting one of them quotes a hidden number."""
    found = set()
    for value in values:
        text = repr(abs(float(value)))
        if "e" in text or "inf" in text or "nan" in text:
            continue
        digits = 0
        for end, char in enumerate(text):
            digits += char.isdigit() and (digits > 0 or char != "0")
            if digits == 6:
                found.add(text[: end + 1])
                break
    return found


def hidden_numbers(table: dict) -> set[str]:
    """The hidden inputs and the expected values, as `_specific_numbers`."""
    values = []
    for expected in (e for entries in table.values() for e in entries):
        values += np.ravel(expected.value).tolist()
        for arg in expected.case.args:
            values += np.ravel(np.asarray(arg, dtype=float)).tolist()
    return _specific_numbers(values)


def secret_fragments(table: dict | None = None) -> list[str]:
    """Lines of the hidden cases and of the reference code, long enough to be specific, and
    (given the reference outputs) every specific hidden input and expected value."""
    cases = (Path(__file__).parent.parent / "cases.py").read_text(encoding="utf-8")
    lines = [
        " ".join(line.split())
        for line in cases.splitlines()
        if len(line.strip()) >= 25 and not _NAMING.fullmatch(line)
    ]
    return answer_key_fragments() + lines + sorted(hidden_numbers(table or {}))


# A line that is one string and nothing else names a function, a criterion or a kind of case,
# which feedback shows by design: not a secret.
_NAMING = re.compile(r"""\s*(?:"[^"\\]*"|'[^'\\]*')\s*[,)]*\s*""")


def without_written_answers(results: dict) -> dict:
    """`results` with the written answers left out: they quote the notebook's own Markdown
    (the solution's holds the model answers), which the grader read, not student code."""
    tests = [
        {**test, "output": ""} if test.get("name", "").endswith(" written answer") else test
        for test in results.get("tests", [])
    ]
    return {**results, "tests": tests}
