"""disc05 answer key: reference implementations of every graded function.

`GRADED` maps each graded function (its record in `autograder.cases`), in the order students
meet them (by question, then as declared), to its reference in `residual.py` or `dropout.py`;
the references are also attributes of this package (``solutions.sigmoid``). The written
answers are in `written_answers.md` beside this file.
"""

from collections.abc import Callable
from pathlib import Path

from autograder.cases import FUNCTIONS
from autograder.spec import QUESTIONS, question_of

from . import dropout, residual

WRITTEN_ANSWERS = Path(__file__).with_name("written_answers.md")


def _reference(name: str) -> Callable:
    """The function `name` of the answer key's modules."""
    found = [getattr(m, name) for m in (residual, dropout) if callable(getattr(m, name, None))]
    if len(found) != 1:
        raise ImportError(
            f"the answer key defines {name} {len(found)} times; a graded function has one "
            "reference, in solutions/residual.py or solutions/dropout.py"
        )
    return found[0]


def _notebook_position(name: str) -> int:
    return QUESTIONS.index(question_of(name))


GRADED: dict[str, Callable] = {
    name: _reference(name) for name in sorted(FUNCTIONS, key=_notebook_position)
}
globals().update(GRADED)

__all__ = ["GRADED", "WRITTEN_ANSWERS", *GRADED]
