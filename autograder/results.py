"""What the grader concluded about one submission, and the two ways it is shown: results.json
in Gradescope's format (`GradeReport.to_gradescope`) and a table for the terminal and the
feedback files of ``grade-all`` (`GradeReport.text`). The sentences are `autograder.wording`'s.
"""

import json
from dataclasses import dataclass, field

from . import spec, wording, written
from .compare import Verdict
from .protocol import valid_text


def capped(text: str, limit: int = spec.OUTPUT_CHARS) -> str:
    """`text`, cut to `limit` characters: a results file stays small whatever it reports."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _valid(value: object) -> object:
    """`value` with every string in it made valid text (`protocol.valid_text`)."""
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, dict):
        return {_valid(k): _valid(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_valid(v) for v in value]
    return value


def _encoded(data: dict) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def results_json(data: dict, limit: int = spec.RESULTS_BYTES) -> bytes:
    """A results file's bytes: valid UTF-8 JSON of at most `limit` bytes, whatever text it
    holds. While it is too large, the longest output is cut (saying so)."""
    data = _valid(data)
    encoded = _encoded(data)
    while len(encoded) > limit:
        holders = [data, *data.get("tests", [])]
        longest = max(holders, key=lambda h: len(h.get("output", "").encode("utf-8")))
        text, cut = longest.get("output", ""), wording.RESULTS_CUT.format(kilobytes=limit // 1000)
        if len(text) <= len(cut):  # nothing left to cut: the rest is the grader's own
            raise ValueError(f"a results file is over {limit} bytes without its outputs")
        excess = len(encoded) - limit + 200  # bytes; cutting as many characters is enough
        longest["output"] = text[: max(0, len(text) - len(cut) - excess)] + cut
        encoded = _encoded(data)
    return encoded


@dataclass
class CriterionResult:
    """How one graded function did on the hidden cases of one of its criteria."""

    name: str
    max_points: float
    total: int
    failures: list[tuple[str, Verdict]] = field(default_factory=list)  # (case label, verdict)
    requirement: bool = False  # a promise of the docstring judged on every case (cases.py)
    # A requirement held, but no criterion of the function passed: it earns nothing alone.
    withheld: bool = False

    @property
    def passed(self) -> bool:
        """Every case passed (a criterion without cases never passes: it tests nothing)."""
        return self.total > 0 and not self.failures and not self.withheld

    @property
    def points(self) -> float:
        """All or nothing: the criterion's points if every one of its cases passed."""
        return self.max_points if self.passed else 0.0

    def summary(self) -> dict:
        """What results.json's ``extra_data.criteria`` records of it, for the class report:
        points, cases failed, and the first failure as the feedback words it (the kind of
        case, its status code and the reason a student reads: never an input or a value)."""
        first = None
        if self.failures:
            label, verdict = self.failures[0]
            first = {"case": label, "status": verdict.status, "reason": verdict.reason}
        return {
            "name": self.name,
            "points": self.points,
            "max_points": self.max_points,
            "requirement": self.requirement,
            "failed": len(self.failures),
            "total": self.total,
            "first_failure": first,
        }


@dataclass
class FunctionResult:
    """How one graded function did on its hidden cases, criterion by criterion."""

    name: str
    max_points: float
    feedback: str
    criteria: list[CriterionResult] = field(default_factory=list)
    failing_cases: list[str] = field(default_factory=list)

    @property
    def points(self) -> float:
        return sum(c.points for c in self.criteria)

    @property
    def passed(self) -> int:
        """Hidden cases passed."""
        return self.total - len(self.failing_cases)

    @property
    def total(self) -> int:
        """Hidden cases."""
        return sum(c.total for c in self.criteria if not c.requirement)


@dataclass
class QuestionResult:
    name: str
    functions: list[FunctionResult]

    @property
    def score(self) -> float:
        return sum(f.points for f in self.functions)

    @property
    def max_score(self) -> float:
        return sum(f.max_points for f in self.functions)


@dataclass
class GradeReport:
    """Everything the grader concluded about one submission."""

    questions: list[QuestionResult]
    origin: str = ""
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    sandbox_peak_kb: int = 0  # largest resident size of the sandboxed process
    confinement: str = ""  # the isolation layers student code ran under
    timeouts: list[str] = field(default_factory=list)  # what ran out of time, if anything
    written: dict[str, str] | None = None  # answers by question; None: submission unreadable
    mistakes: dict[str, str] = field(default_factory=dict)  # function: catalogued mistake
    case_kinds: dict[str, dict[str, list[int]]] = field(default_factory=dict)  # [passed, total]
    limits: list[str] = field(default_factory=list)  # time and memory limits hit, and where
    not_attempted: list[str] = field(default_factory=list)  # functions no case could run

    @property
    def score(self) -> float:
        return sum(q.score for q in self.questions)

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions)

    def to_gradescope(self) -> dict:
        """results.json in Gradescope's format: one test per question, plus written parts."""
        tests = []
        for question in self.questions:
            tests.append(
                {
                    "name": question.name,
                    "score": round(question.score, 4),
                    "max_score": question.max_score,
                    "visibility": "visible",
                    "output": capped("\n".join(f.feedback for f in question.functions)),
                }
            )
        for name in spec.WRITTEN_QUESTIONS:
            answer = (self.written or {}).get(name)
            tests.append(
                {
                    "name": wording.WRITTEN_TEST.format(question=name),
                    "score": 0,
                    "max_score": 0,
                    "visibility": "visible",
                    "output": written.gradescope_output(name, answer, self.written is not None),
                    "output_format": "md",
                }
            )
        lines = [wording.RESULTS_ORIGIN.format(origin=self.origin) if self.origin else ""]
        if self.error:
            lines.append(wording.RESULTS_ERROR.format(error=self.error))
        lines += [capped(note, spec.NOTE_CHARS) for note in self.notes]
        return {
            # The questions' scores as shown, added: the total is what students can add up.
            "score": round(sum(t["score"] for t in tests), 4),
            "output": capped("\n".join(line for line in lines if line)),
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
            "extra_data": {
                "error": None if self.error is None else capped(self.error, spec.NOTE_CHARS),
                "confinement": self.confinement,
                "mistakes": self.mistakes,
                "case_kinds": self.case_kinds,
                "limits": self.limits,
                "not_attempted": self.not_attempted,
                "criteria": {
                    f.name: [c.summary() for c in f.criteria]
                    for q in self.questions
                    for f in q.functions
                },
            },
        }

    def text(self) -> str:
        """The report as a per-question table, for the terminal and feedback files."""
        rows = [wording.TABLE_HEAD]
        for q in self.questions:
            feedback = [line for f in q.functions for line in f.feedback.splitlines()]
            row = wording.TABLE_ROW.format(
                question=q.name, score=q.score, max=q.max_score, feedback=feedback[0]
            )
            rows += [row, *(wording.TABLE_MORE.format(feedback=line) for line in feedback[1:])]
        rows += [wording.TABLE_WRITTEN.format(question=name) for name in spec.WRITTEN_QUESTIONS]
        rows.append(wording.TABLE_TOTAL.format(score=self.score, max=self.max_score))
        head = [wording.TABLE_ORIGIN.format(origin=self.origin) if self.origin else ""]
        head += self.notes
        if self.confinement:
            head.append(wording.TABLE_CONFINEMENT.format(confinement=self.confinement))
        if self.error:
            head.append(wording.TABLE_ERROR.format(error=self.error))
        return "\n".join([*(h for h in head if h), *rows])
