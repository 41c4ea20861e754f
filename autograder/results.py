"""What the grader concluded about one submission, and the ways it is shown: results.json
in Gradescope's format (`GradeReport.to_gradescope`), under the release's policy or as staff
see it, a table for the terminal and the feedback files of ``grade-all`` (`GradeReport.text`),
and what a student sees of a results.json on Gradescope (`as_student`). The sentences are
`autograder.wording`'s.
"""

import builtins
import json
from dataclasses import dataclass, field

import numpy as np

from . import spec, wording, written
from .compare import Status, Verdict
from .policy import Standing
from .protocol import valid_text

# What staff see: every entry visible at once and every submission graded (`spec.Policy`).
STAFF_VIEW = spec.Policy()
_REVEALED = {v: i for i, v in enumerate(spec.VISIBILITIES)}  # the order entries are shown in


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


_UNTOUCHED = (Status.NOT_ATTEMPTED, Status.NOT_DEFINED)


def untouched(criteria: list[CriterionResult]) -> Verdict | None:
    """The verdict shared by every case of a function that no case could run (still the stub,
    or not defined), or None: such a function gets one line of feedback."""
    verdicts = [verdict for c in criteria for _, verdict in c.failures]
    if not verdicts or len(verdicts) != sum(c.total for c in criteria):
        return None
    if any(v.status not in _UNTOUCHED for v in verdicts) or len({v.reason for v in verdicts}) > 1:
        return None
    return verdicts[0]


# Exception types named with details hidden: Python's and numpy's own. Any other name (a
# class the student made, named as they like) could carry what they learned: it is not shown.
KNOWN_ERRORS = (
    frozenset(
        name
        for name, value in vars(builtins).items()
        if isinstance(value, type) and issubclass(value, BaseException)
    )
    | frozenset(name for name in dir(np.exceptions) if name[:1].isupper())
    | {"LinAlgError"}
)


def stage(verdict: Verdict) -> str:
    """What went wrong, in fixed words, without what it tells of the hidden case or anything
    the student chose (a message, a class name): ``not close to the expected values``,
    ``raised ValueError``, ``raised an exception``."""
    template = wording.STAGES.get(verdict.status, wording.STAGE_OTHER)
    signature = verdict.signature or ()
    error = signature[1] if len(signature) == 2 and signature[0] == "raised" else None
    return template.format(error=error if error in KNOWN_ERRORS else wording.AN_EXCEPTION)


def function_feedback(
    name: str,
    criteria: list[CriterionResult],
    max_points: float,
    standins: tuple[str, ...] = (),
    hint: str | None = None,
    points: bool = True,
    detail: bool = True,
) -> str:
    """One line for the function, then one per criterion: passed, or failed with the first
    failing case's kind and what went wrong; then the stand-ins it was judged with and the hint.

    Without `points`, no points are shown; without `detail`, a failed criterion shows only the
    stage it failed at (`stage`), and no hint (`spec.Policy`)."""
    shared = untouched(criteria)
    if shared is not None:
        reason = shared.reason if detail else stage(shared)
        return wording.UNTOUCHED.format(name=name, reason=reason)

    def shown(value: float) -> str:
        return wording.CRITERION_POINTS.format(points=wording.points_text(value)) if points else ""

    earned = sum(c.points for c in criteria)
    if points:
        head = wording.FUNCTION_SCORE.format(
            name=name, earned=earned, points=wording.points_text(max_points)
        )
    else:
        head = wording.FUNCTION_UNSCORED.format(name=name)
    lines = [head]
    for c in criteria:
        if c.passed:
            lines.append(
                wording.CRITERION_PASSED.format(criterion=c.name, points=shown(c.max_points))
            )
        elif c.withheld and not c.failures:
            lines.append(
                wording.CRITERION_WITHHELD.format(criterion=c.name, points=shown(c.max_points))
            )
        elif not c.failures:  # the build refuses this; never award what nothing tested
            lines.append(
                wording.CRITERION_UNTESTED.format(criterion=c.name, points=shown(c.max_points))
            )
        elif not detail:
            lines.append(
                wording.CRITERION_FAILED_AT.format(
                    criterion=c.name, points=shown(c.max_points), stage=stage(c.failures[0][1])
                )
            )
        else:
            label, verdict = c.failures[0]
            lines.append(
                wording.CRITERION_FAILED.format(
                    criterion=c.name,
                    points=shown(c.max_points),
                    failed=len(c.failures),
                    total=c.total,
                    label=label,
                    reason=verdict.reason,
                )
            )
    text = "\n".join(lines)
    text += "".join(wording.STANDIN.format(callee=callee) for callee in standins)
    if hint and detail:
        text += wording.HINT.format(hint=hint)
    return text


@dataclass
class FunctionResult:
    """How one graded function did on its hidden cases, criterion by criterion."""

    name: str
    max_points: float
    feedback: str  # as staff read it: `function_feedback` with everything shown
    criteria: list[CriterionResult] = field(default_factory=list)
    failing_cases: list[str] = field(default_factory=list)
    standins: tuple[str, ...] = ()  # earlier functions it was judged with, which lost points
    hint: str | None = None  # the catalogued mistake's hint, if its result matches one

    def view(self, points: bool = True, detail: bool = True) -> str:
        """The feedback with or without its points and its detail (`function_feedback`)."""
        if (points and detail) or not self.criteria:
            return self.feedback
        return function_feedback(
            self.name, self.criteria, self.max_points, self.standins, self.hint, points, detail
        )

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
    # The notes in fixed words, shown while the policy hides details; None: `notes` has none
    # that the student's code worded.
    quiet_notes: list[str] | None = None
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

    def to_gradescope(
        self, policy: spec.Policy = STAFF_VIEW, standing: Standing | None = None
    ) -> dict:
        """results.json in Gradescope's format: the questions' entries, then the written parts.

        A question's entry carries its points at the `policy`'s score visibility; while the
        policy keeps its points or its detail from students, entries of its own show what they
        may see before then (`spec.Policy`). With a `standing` (the submission limit), a
        submission past the limit shows students the score it keeps, and staff everything."""
        tests = [entry for q in self.questions for entry in _question_entries(q, policy)]
        answers = self._written_entries()
        deferred = any(t["visibility"] in spec.VISIBILITIES[1:3] for t in tests)
        score = round(sum(t["score"] for t in tests), 4)
        lines = []
        if standing is not None and standing.graded and standing.line:
            lines.append(standing.line)
        if deferred and policy.score == "visible":
            lines.append(wording.SCORE_LINE.format(score=score, max=self.max_score))
        own = self._output_lines(quiet=policy.detail != "visible")
        extra = self._extra_data()
        if standing is not None:
            extra["limit"] = standing.record()
        if standing is not None and not standing.graded:
            staff = [
                {**entry, "visibility": "hidden"}
                for q in self.questions
                for entry in _question_entries(q, STAFF_VIEW)
            ]
            if own:
                staff.append(
                    _entry(wording.LIMITED_OUTPUT_TEST, 0, 0, "hidden", capped("\n".join(own)))
                )
            return {
                "score": standing.kept,
                "output": standing.line,
                "visibility": "visible",
                "stdout_visibility": "hidden",
                "tests": staff + answers,
                "extra_data": extra,
            }
        return {
            # The questions' scores as shown, added: the total is what students can add up.
            "score": score,
            "output": capped("\n".join(lines + own)),
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests + answers,
            "extra_data": extra,
        }

    def _written_entries(self) -> list[dict]:
        """The written answers' entries, always visible: graded by hand, 0 points here."""
        entries = []
        for name in spec.WRITTEN_QUESTIONS:
            answer = (self.written or {}).get(name)
            entry = _entry(
                wording.WRITTEN_TEST.format(question=name),
                0,
                0,
                "visible",
                written.gradescope_output(name, answer, self.written is not None),
            )
            entries.append(entry | {"output_format": "md"})
        return entries

    def _output_lines(self, quiet: bool = False) -> list[str]:
        """The lines of results.json's own output: where the submission came from, why it could
        not be graded, the notes about its cells (`quiet`: in fixed words)."""
        lines = [wording.RESULTS_ORIGIN.format(origin=self.origin) if self.origin else ""]
        if self.error:
            lines.append(wording.RESULTS_ERROR.format(error=self.error))
        notes = self.quiet_notes if quiet and self.quiet_notes is not None else self.notes
        lines += [capped(note, spec.NOTE_CHARS) for note in notes]
        return [line for line in lines if line]

    def _extra_data(self) -> dict:
        return {
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


def _entry(name: str, score: float, max_score: float, visibility: str, output: str) -> dict:
    return {
        "name": name,
        "score": score,
        "max_score": max_score,
        "visibility": visibility,
        "output": output,
    }


def _question_entries(question: QuestionResult, policy: spec.Policy) -> list[dict]:
    """A question's entries under `policy`: one per moment that shows students more of it
    (now; the policy's score visibility; its detail visibility), each showing all that is
    shown by then. The one at the score's visibility carries the points; the others 0."""
    moments = sorted({"visible", policy.score, policy.detail}, key=_REVEALED.__getitem__)
    entries = []
    for moment in moments:
        points = _REVEALED[policy.score] <= _REVEALED[moment]
        detail = _REVEALED[policy.detail] <= _REVEALED[moment]
        output = capped("\n".join(f.view(points, detail) for f in question.functions))
        if moment == policy.score:
            score = round(question.score, 4)
            entries.append(_entry(question.name, score, question.max_score, moment, output))
        else:
            name = (wording.DETAIL_TEST if detail else wording.CRITERIA_TEST).format(
                question=question.name
            )
            entries.append(_entry(name, 0, 0, moment, output))
    return entries


# When an entry of each visibility is shown to students, by moment (`as_student`).
_SHOWN = {
    "before_due_date": ("visible",),
    "after_due_date": ("visible", "after_due_date"),
    "after_published": ("visible", "after_due_date", "after_published"),
}


def as_student(data: dict, moment: str) -> str:
    """What a student sees of results.json `data` on Gradescope at `moment` (a key of
    `wording.AS_STUDENT`): the total, unless an entry with points or detail is still to be
    shown (Gradescope hides it then), the output, and each entry shown by then."""
    shown = _SHOWN[moment]
    later = [t for t in data["tests"] if t["visibility"] not in (*shown, "hidden")]
    full = sum(q.points for q in spec.QUESTIONS)
    lines = [wording.AS_STUDENT[moment]]
    if later:
        lines.append(wording.AS_STUDENT_NO_TOTAL)
    else:
        lines.append(wording.AS_STUDENT_TOTAL.format(score=data["score"], max=full))
    if data.get("output"):
        lines += ["", data["output"]]
    for test in data["tests"]:
        if test["visibility"] not in shown:
            continue
        if test["max_score"]:
            head = wording.AS_STUDENT_ENTRY.format(
                name=test["name"], score=test["score"], max=test["max_score"]
            )
        else:
            head = wording.AS_STUDENT_UNSCORED_ENTRY.format(name=test["name"])
        lines += ["", head, test["output"]]
    return "\n".join(lines)
