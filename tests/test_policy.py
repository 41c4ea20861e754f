"""The release's policy: what students see on Gradescope and when, and the submission limit.

results.json is checked field by field under every setting; the limit against recorded
``submission_metadata.json`` files (`tests/metadata/`, in Gradescope's format), against an
independent count, and against hostile metadata; releases built under two policies are graded
as Gradescope grades them.
"""

import json
import math
import os
import re
import subprocess
import sys
import tempfile
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import write_notebook
from hypothesis import given
from hypothesis import strategies as st

from autograder import policy, spec, wording, written
from autograder.compare import Status, Verdict
from autograder.grader import grade
from autograder.release import build, gate
from autograder.results import (
    KNOWN_ERRORS,
    CriterionResult,
    FunctionResult,
    GradeReport,
    QuestionResult,
    as_student,
    function_feedback,
    results_json,
    stage,
)

METADATA = Path(__file__).with_name("metadata")
POINTS = re.compile(r"\d points?\b")  # "0.5 points", "1 point": a score or a criterion's worth
FULL = sum(q.points for q in spec.QUESTIONS)
LIMITED = spec.Policy(submissions=3, window_hours=24)

# ## results.json under each setting, exactly

LABEL = "edge: |x| up to 1e4"
REASON = (
    "not close: mismatched elements 1 / 4 (25%), max abs error 0.5, max rel error 1 "
    "(rtol=1e-07, atol=1e-10)"
)
HINT = "Which branch of sigma overflows?"
FULL_TEXT = (
    "sigmoid: 0.5 of 1 point\n"
    "    passed: values on ordinary inputs (0.5 points)\n"
    f"    FAILED: no overflow for large |x| (0.5 points): 1 of 2 cases failed; first failure, "
    f"{LABEL}: {REASON}\n"
    f"    Hint: {HINT}"
)
SCORED = (  # the points, without the detail
    "sigmoid: 0.5 of 1 point\n"
    "    passed: values on ordinary inputs (0.5 points)\n"
    "    FAILED: no overflow for large |x| (0.5 points): not close to the expected values"
)
CRITERIA = (  # neither
    "sigmoid:\n"
    "    passed: values on ordinary inputs\n"
    "    FAILED: no overflow for large |x|: not close to the expected values"
)
DETAILS = (  # the detail, without the points
    "sigmoid:\n"
    "    passed: values on ordinary inputs\n"
    f"    FAILED: no overflow for large |x|: 1 of 2 cases failed; first failure, {LABEL}: "
    f"{REASON}\n"
    f"    Hint: {HINT}"
)


def one_question_report() -> GradeReport:
    """sigmoid alone, half right: one criterion passed, one failed on a case, with a hint."""
    failure = Verdict(Status.NOT_CLOSE, REASON, ("value", 0.0))
    criteria = [
        CriterionResult("values on ordinary inputs", 0.5, 3),
        CriterionResult("no overflow for large |x|", 0.5, 2, [(LABEL, failure)]),
    ]
    text = function_feedback("sigmoid", criteria, 1.0, hint=HINT)
    function = FunctionResult("sigmoid", 1.0, text, criteria, [LABEL], hint=HINT)
    return GradeReport([QuestionResult("q1a", [function])], origin="disc05.ipynb", written={})


def entry(name, score, max_score, visibility, output) -> dict:
    return {
        "name": name,
        "score": score,
        "max_score": max_score,
        "visibility": visibility,
        "output": output,
    }


WRITTEN = [
    entry(f"{q} written answer", 0, 0, "visible", written.gradescope_output(q, None))
    | {"output_format": "md"}
    for q in spec.WRITTEN_QUESTIONS
]
EXTRA = {
    "error": None,
    "confinement": "",
    "mistakes": {},
    "case_kinds": {},
    "limits": [],
    "not_attempted": [],
    "criteria": {  # for the class report: staff's, whatever the policy shows students
        "sigmoid": [
            {
                "name": "values on ordinary inputs",
                "points": 0.5,
                "max_points": 0.5,
                "requirement": False,
                "failed": 0,
                "total": 3,
                "first_failure": None,
            },
            {
                "name": "no overflow for large |x|",
                "points": 0.0,
                "max_points": 0.5,
                "requirement": False,
                "failed": 1,
                "total": 2,
                "first_failure": {"case": LABEL, "status": "not_close", "reason": REASON},
            },
        ]
    },
}
ORIGIN = "Graded disc05.ipynb."
SCORE_LINE = "Autograded score: 0.5 of 1 points."
CRITERIA_ENTRY = entry("q1a: criteria", 0, 0, "visible", CRITERIA)

# (score, detail): the question's entries, and results.json's own output.
SETTINGS = {
    ("visible", "visible"): ([entry("q1a", 0.5, 1.0, "visible", FULL_TEXT)], ORIGIN),
    ("visible", "after_due_date"): (
        [
            entry("q1a", 0.5, 1.0, "visible", SCORED),
            entry("q1a: details", 0, 0, "after_due_date", FULL_TEXT),
        ],
        f"{SCORE_LINE}\n{ORIGIN}",
    ),
    ("visible", "after_published"): (
        [
            entry("q1a", 0.5, 1.0, "visible", SCORED),
            entry("q1a: details", 0, 0, "after_published", FULL_TEXT),
        ],
        f"{SCORE_LINE}\n{ORIGIN}",
    ),
    ("visible", "hidden"): (  # a hidden entry never hides the total on Gradescope
        [
            entry("q1a", 0.5, 1.0, "visible", SCORED),
            entry("q1a: details", 0, 0, "hidden", FULL_TEXT),
        ],
        ORIGIN,
    ),
    ("after_published", "visible"): (
        [
            entry("q1a: details", 0, 0, "visible", DETAILS),
            entry("q1a", 0.5, 1.0, "after_published", FULL_TEXT),
        ],
        ORIGIN,
    ),
    ("after_published", "after_published"): (
        [CRITERIA_ENTRY, entry("q1a", 0.5, 1.0, "after_published", FULL_TEXT)],
        ORIGIN,
    ),
    ("after_published", "after_due_date"): (
        [
            CRITERIA_ENTRY,
            entry("q1a: details", 0, 0, "after_due_date", DETAILS),
            entry("q1a", 0.5, 1.0, "after_published", FULL_TEXT),
        ],
        ORIGIN,
    ),
    ("after_published", "hidden"): (
        [
            CRITERIA_ENTRY,
            entry("q1a", 0.5, 1.0, "after_published", SCORED),
            entry("q1a: details", 0, 0, "hidden", FULL_TEXT),
        ],
        ORIGIN,
    ),
    ("after_due_date", "after_due_date"): (
        [CRITERIA_ENTRY, entry("q1a", 0.5, 1.0, "after_due_date", FULL_TEXT)],
        ORIGIN,
    ),
    ("after_due_date", "after_published"): (
        [
            CRITERIA_ENTRY,
            entry("q1a", 0.5, 1.0, "after_due_date", SCORED),
            entry("q1a: details", 0, 0, "after_published", FULL_TEXT),
        ],
        ORIGIN,
    ),
}


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: f"score {s[0]}, detail {s[1]}")
def test_results_json_under_each_setting(setting):
    rules = spec.Policy(score=setting[0], detail=setting[1])
    entries, output = SETTINGS[setting]
    assert one_question_report().to_gradescope(rules) == {
        "score": 0.5,
        "output": output,
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": entries + WRITTEN,
        "extra_data": EXTRA,
    }


def test_the_default_policy_is_the_staff_view_and_todays_results():
    assert spec.Policy() == spec.Policy("visible", "visible", None, 24.0)
    report = one_question_report()
    assert report.to_gradescope(spec.Policy()) == report.to_gradescope()
    assert report.to_gradescope()["tests"][0] == entry("q1a", 0.5, 1.0, "visible", FULL_TEXT)


@pytest.mark.parametrize("score", spec.VISIBILITIES[:3])
@pytest.mark.parametrize("detail", spec.VISIBILITIES)
def test_no_entry_shows_students_a_detail_or_a_point_before_the_policy_allows(score, detail):
    data = one_question_report().to_gradescope(spec.Policy(score=score, detail=detail))
    order = spec.VISIBILITIES.index
    questions = [t for t in data["tests"] if not t["name"].endswith("written answer")]
    for test in questions:
        early_detail = order(test["visibility"]) < order(detail)
        assert (LABEL in test["output"] or HINT in test["output"]) is not early_detail, test
        early_score = order(test["visibility"]) < order(score)
        assert bool(POINTS.search(test["output"])) is not early_score, test
    carriers = [t for t in questions if t["max_score"]]
    assert [(t["name"], t["visibility"]) for t in carriers] == [("q1a", score)]
    assert data["score"] == sum(t["score"] for t in data["tests"]) == 0.5


def test_a_policy_refuses_what_gradescope_does_not_know():
    for wrong in (
        {"standins": "yes"},
        {"score": "hidden"},  # Gradescope: hidden entries must carry no points
        {"detail": "later"},
        {"submissions": 0},
        {"submissions": True},
        {"submissions": 2.5},
        {"window_hours": 0},
        {"window_hours": float("nan")},
    ):
        with pytest.raises(ValueError, match="Policy"):
            spec.Policy(**wrong)


def test_the_shipped_policy_reads_back_as_declared(tmp_path):
    rules = spec.Policy("after_published", "after_due_date", 3, 12.0, standins=False)
    (tmp_path / policy.POLICY_NAME).write_text(policy.to_json(rules))
    assert policy.release_policy(tmp_path) == rules
    assert policy.release_policy(tmp_path / "elsewhere") == spec.POLICY
    (tmp_path / policy.POLICY_NAME).write_text('{"show_hidden": true}')
    with pytest.raises(ValueError):
        policy.release_policy(tmp_path)


def test_a_student_sees_each_entry_at_its_moment():
    rules = spec.Policy(score="after_published", detail="after_due_date")
    data = json.loads(results_json(one_question_report().to_gradescope(rules)))
    before, after, published = (
        as_student(data, moment)
        for moment in ("before_due_date", "after_due_date", "after_published")
    )
    assert wording.AS_STUDENT_NO_TOTAL in before and CRITERIA in before
    assert LABEL not in before and HINT not in before and "0.5" not in before
    assert DETAILS in after and wording.AS_STUDENT_NO_TOTAL in after
    assert f"Total: 0.5 / {FULL:g}" in published and "[q1a] 0.5 / 1" in published
    assert all(f"[{q} written answer]" in text for text in (before, after) for q in ("q1a", "q2c"))


# ## The submission limit, on recorded metadata

DEADLINE_LINE = (
    " No later submission can be graded before your deadline (2024-10-10 23:59 UTC-07:00)."
)
RECORDED = {  # file: (graded, graded submissions in the window, score kept, what students read)
    "first_submission.json": (
        True,
        1,
        None,
        "Graded submission 1 of the 3 allowed in any 24 hours.",
    ),
    "gradescope_example.json": (
        True,
        1,
        None,
        "Graded submission 1 of the 3 allowed in any 24 hours.",
    ),
    "third_in_a_day.json": (True, 3, None, "Graded submission 3 of the 3 allowed in any 24 hours."),
    # 24 hours after the second, two of the five in the window; the two past the limit then
    # were not graded, so they do not count (counting them, Otter's plugin would refuse it).
    "burst_after_the_limit.json": (
        True,
        2,
        None,
        "Graded submission 2 of the 3 allowed in any 24 hours.",
    ),
    "autograder_error.json": (
        True,
        3,
        None,
        "Graded submission 3 of the 3 allowed in any 24 hours.",
    ),
    "past_the_limit.json": (
        False,
        3,
        11.0,
        "Not graded: 3 submissions were graded in the 24 hours before this one, as many as are "
        "allowed. Your score stays 11 points, that of your last graded submission (2024-10-02 "
        "10:00 UTC-07:00). The next submission graded is one made from 2024-10-02 12:06 "
        "UTC-07:00.",
    ),
    "past_the_deadline.json": (
        False,
        3,
        13.0,
        "Not graded: 3 submissions were graded in the 24 hours before this one, as many as are "
        "allowed. Your score stays 13 points, that of your last graded submission (2024-10-10 "
        "18:00 UTC-07:00)." + DEADLINE_LINE,
    ),
    "extension.json": (  # the student's own due date, three days later than the class's
        False,
        3,
        13.0,
        "Not graded: 3 submissions were graded in the 24 hours before this one, as many as are "
        "allowed. Your score stays 13 points, that of your last graded submission (2024-10-10 "
        "18:00 UTC-07:00). The next submission graded is one made from 2024-10-11 08:00 "
        "UTC-07:00.",
    ),
}


@pytest.mark.parametrize("name", RECORDED)
def test_the_limit_on_recorded_metadata(name):
    graded, used, kept, line = RECORDED[name]
    standing = policy.standing_of(LIMITED, METADATA / name)
    assert (standing.graded, standing.used, standing.kept, standing.line) == (
        graded,
        used,
        kept,
        line,
    )
    assert standing.applied


def test_no_limit_reads_no_metadata():
    assert policy.standing_of(spec.Policy(), METADATA / "past_the_limit.json") is None
    assert policy.standing_of(spec.Policy(), METADATA / "no-such-file.json") is None


def test_a_submission_past_the_limit_shows_students_the_kept_score_and_staff_everything():
    standing = policy.standing_of(LIMITED, METADATA / "past_the_limit.json")
    data = one_question_report().to_gradescope(LIMITED, standing)
    assert data == {
        "score": 11.0,
        "output": RECORDED["past_the_limit.json"][3],
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": [
            entry("q1a", 0.5, 1.0, "hidden", FULL_TEXT),
            entry(wording.LIMITED_OUTPUT_TEST, 0, 0, "hidden", ORIGIN),
            *WRITTEN,
        ],
        "extra_data": EXTRA
        | {
            "limit": {
                "graded": False,
                "allowed": 3,
                "hours": 24,
                "used": 3,
                "kept": 11.0,
                "kept_at": "2024-10-02T10:00:00.123456-07:00",
                "next_at": "2024-10-02T12:05:10-07:00",
                "deadline": "2024-10-10T23:59:00-07:00",
                "not_applied": None,
            }
        },
    }
    before = as_student(json.loads(results_json(data)), "before_due_date")
    assert f"Total: 11 / {FULL:g}" in before and "[q1a]" not in before
    assert "q1a written answer" in before


def test_a_graded_submission_says_how_many_of_the_allowed_it_is():
    standing = policy.standing_of(LIMITED, METADATA / "third_in_a_day.json")
    data = one_question_report().to_gradescope(LIMITED, standing)
    assert data["output"] == f"Graded submission 3 of the 3 allowed in any 24 hours.\n{ORIGIN}"
    assert data["score"] == 0.5 and data["extra_data"]["limit"]["graded"] is True


HOSTILE = {
    "missing": None,
    "empty": b"",
    "not json": b"{created_at: soon",
    "not an object": b"[1, 2, 3]",
    "gradescope's empty": b"{}",
    "no created_at": json.dumps({"previous_submissions": []}).encode(),
    "created_at a number": json.dumps(
        {"created_at": 1727817752, "previous_submissions": []}
    ).encode(),
    "created_at without offset": json.dumps(
        {"created_at": "2024-10-02T11:30:00", "previous_submissions": []}
    ).encode(),
    "previous not a list": json.dumps(
        {"created_at": "2024-10-02T11:30:00-07:00", "previous_submissions": {"0": {}}}
    ).encode(),
    "deeply nested": b"[" * 200_000 + b"]" * 200_000,
    "a number too long": b'{"created_at": ' + b"9" * 5000 + b"}",
    "not UTF-8": b'{"created_at": "\xff\xfe"}',
    "a lone surrogate": b'{"created_at": "\\ud800", "previous_submissions": []}',
    "too many": json.dumps(
        {"created_at": "2024-10-02T11:30:00-07:00", "previous_submissions": [{}] * 10_001}
    ).encode(),
    "the end of the calendar": json.dumps(
        {
            "created_at": "9999-12-31T23:59:59.999999+00:00",
            "previous_submissions": [
                {"submission_time": f"9999-12-31T23:5{i}:00+00:00", "score": 1} for i in range(3)
            ],
        }
    ).encode(),
}


def test_metadata_past_its_byte_cap_leaves_the_submission_graded_saying_why(tmp_path, monkeypatch):
    monkeypatch.setattr(spec, "METADATA_BYTES", 1 << 20)  # a gigabyte, in the release
    path = tmp_path / policy.METADATA_NAME
    path.write_bytes(b" " * ((1 << 20) + 1))
    standing = policy.standing_of(LIMITED, path)
    assert standing.graded and "larger than 1 MB" in standing.record()["not_applied"]


def _upload(day: int, hour: int, score: float, padding: int) -> dict:
    """An earlier upload as Gradescope lists it, its results as large as the student made them."""
    results = {"tests": [{"output": "x" * padding}], "score": score}
    time = f"2024-10-{day:02}T{hour:02}:00:00-07:00"
    return {"submission_time": time, "score": score, "results": results}


def test_no_upload_lifts_the_limit_by_making_the_metadata_large(tmp_path):
    # 120 earlier uploads of 150 kB of results each (18 MB): the last three within the day.
    earlier = [_upload(1, 0, 1.0, 150_000) for _ in range(117)]
    earlier += [_upload(2, hour, 2.5, 150_000) for hour in (8, 9, 10)]
    data = {"created_at": "2024-10-02T11:30:00-07:00", "previous_submissions": earlier}
    path = tmp_path / policy.METADATA_NAME
    path.write_text(json.dumps(data))
    assert path.stat().st_size > 16 << 20
    standing = policy.standing_of(LIMITED, path)
    assert standing.applied and not standing.graded and standing.kept == 2.5


@pytest.mark.parametrize("kind", HOSTILE)
def test_metadata_that_says_too_little_leaves_the_submission_graded_saying_why(kind, tmp_path):
    path = tmp_path / policy.METADATA_NAME
    if HOSTILE[kind] is not None:
        path.write_bytes(HOSTILE[kind])
    standing = policy.standing_of(LIMITED, path)
    assert standing.graded and not standing.applied and standing.line == ""
    record = standing.record()
    assert record["not_applied"].startswith("the submission limit was not applied: ")
    data = json.loads(results_json(one_question_report().to_gradescope(LIMITED, standing)))
    assert data["score"] == 0.5 and data["output"] == ORIGIN


def test_an_unreadable_kept_score_leaves_the_submission_graded():
    standing = policy.standing_of(LIMITED, METADATA / "unreadable_kept_score.json")
    assert standing.graded and "cannot be read" in standing.why


@pytest.mark.parametrize(
    ("score", "kept"),
    [("1e6", FULL), (-3, 0.0), ("12.3456789", 12.3457), ("NaN", None), ("Infinity", None),
     (True, None), ("", None), ([11], None), ({"score": 11}, None), ("1" * 100, None)],
)  # fmt: skip
def test_a_kept_score_is_between_zero_and_full_marks_or_not_kept(score, kept, tmp_path):
    data = json.loads((METADATA / "past_the_limit.json").read_text())
    data["previous_submissions"][-1]["score"] = score
    path = tmp_path / policy.METADATA_NAME
    path.write_text(json.dumps(data))
    standing = policy.standing_of(LIMITED, path)
    assert standing.kept == kept and standing.graded is (kept is None)


def _metadata_file(data: object) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="disc05-metadata-"))
    path = folder / policy.METADATA_NAME
    path.write_bytes(data if isinstance(data, bytes) else json.dumps(data).encode())
    return path


def _scores(data: object) -> set[float]:
    """Every score written in `data`'s previous submissions, as the limit may keep it."""
    listed = data.get("previous_submissions") if isinstance(data, dict) else None
    found = set()
    for item in listed if isinstance(listed, list) else []:
        value = item.get("score") if isinstance(item, dict) else None
        try:
            number = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError, OverflowError):
            continue
        if math.isfinite(number):
            found.add(round(min(max(number, 0.0), FULL), 4))
    return found


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
zones = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
moments = st.datetimes(datetime(2024, 9, 1), datetime(2024, 10, 20), timezones=zones)


@st.composite
def metadata(draw) -> dict:
    """submission_metadata.json as Gradescope writes it, its times near the submission's,
    with now and then a key missing or a value of any type in its place."""
    created = draw(moments)

    def hostile(valid):
        return draw(json_values | st.text(max_size=40)) if draw(st.integers(0, 5)) == 0 else valid

    def moment():
        minutes = draw(st.integers(-72 * 60, 24 * 60))
        return hostile((created + timedelta(minutes=minutes)).astimezone(draw(zones)).isoformat())

    def score():
        value = draw(st.floats(-5, 50))
        return hostile(str(value) if draw(st.booleans()) else value)

    previous = []
    for _ in range(draw(st.integers(0, 12))):
        entry = {"submission_time": moment(), "score": score()}
        if draw(st.booleans()):
            entry["autograder_error"] = hostile(draw(st.booleans()))
        previous.append(hostile(entry))
    data = {
        "created_at": hostile(created.isoformat()),
        "assignment": hostile({"due_date": moment(), "late_due_date": moment()}),
        "users": [
            hostile({"assignment": {"due_date": moment()}}) for _ in range(draw(st.integers(0, 2)))
        ],
        "previous_submissions": hostile(previous),
    }
    if draw(st.integers(0, 9)) == 0:
        del data[draw(st.sampled_from(sorted(data)))]
    return data


def judged_without_error_keeping_only_a_score_once_earned(data, allowed, hours) -> None:
    rules = spec.Policy(submissions=allowed, window_hours=hours)
    standing = policy.standing_of(rules, _metadata_file(data))
    results = json.loads(results_json(one_question_report().to_gradescope(rules, standing)))
    if standing.graded:
        assert results["score"] == 0.5  # what this submission earned
    else:  # what an earlier one earned, as Gradescope recorded it, within full marks
        assert standing.applied and standing.kept in _scores(data)
        assert results["score"] == standing.kept and 0 <= standing.kept <= FULL
        created = policy.parse_metadata(json.dumps(data).encode()).created_at
        assert standing.next_at > created


@given(metadata(), st.integers(1, 4), st.floats(0.5, 200))
def test_any_metadata_is_judged_without_error_keeping_only_a_score_once_earned(
    data, allowed, hours
):
    judged_without_error_keeping_only_a_score_once_earned(data, allowed, hours)


@given(json_values | st.binary(max_size=200), st.integers(1, 4))
def test_any_json_or_bytes_as_metadata_leave_the_submission_graded(data, allowed):
    judged_without_error_keeping_only_a_score_once_earned(data, allowed, 24.0)


def _graded_by_count(times: list[datetime], allowed: int, window: timedelta) -> list[bool]:
    """Which submissions are graded, counted out one by one: an independent oracle."""
    graded = []
    for i, moment in enumerate(times):
        recent = sum(
            1 for j in range(i) if graded[j] and timedelta(0) <= moment - times[j] < window
        )
        graded.append(recent < allowed)
    return graded


@given(
    st.lists(st.integers(0, 6 * 24 * 60), min_size=1, max_size=25, unique=True),
    st.integers(1, 4),
    st.integers(1, 72),
)
def test_the_limit_agrees_with_counting_each_submission_out(minutes, allowed, hours):
    start = datetime(2024, 10, 1, tzinfo=timezone(timedelta(hours=-7)))
    times = sorted(start + timedelta(minutes=m) for m in minutes)
    expected = _graded_by_count(times, allowed, timedelta(hours=hours))
    scores = [float(i % 15) for i in range(len(times))]
    data = {
        "created_at": times[-1].isoformat(),
        "previous_submissions": [
            {"submission_time": t.isoformat(), "score": s}
            for t, s in zip(times[:-1], scores[:-1], strict=True)
        ],
    }
    standing = policy.standing(
        spec.Policy(submissions=allowed, window_hours=hours),
        policy.parse_metadata(json.dumps(data).encode()),
    )
    assert standing.graded is expected[-1]
    if not standing.graded:
        last = max(i for i in range(len(times) - 1) if expected[i])
        assert standing.kept == min(scores[last], FULL)


# ## Releases built under two policies, graded as Gradescope grades them

STRICT = spec.Policy(score="after_published", detail="after_due_date", submissions=3)
WRONG_GAMMA = (
    "def dropout_gamma(X, p):\n    return np.sqrt(p / (1 - p)) * np.diag(np.linalg.norm(X, axis=0))"
)


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    """The autograder zip of a release built under the default policy and under `STRICT`."""
    made = {}
    for name, rules in (("default", spec.Policy()), ("strict", STRICT)):
        files = build.release_files(execute=False, grade=False, log=lambda line: None, rules=rules)
        path = tmp_path_factory.mktemp(name) / build.AUTOGRADER_ZIP
        path.write_bytes(files[build.AUTOGRADER_ZIP])
        made[name] = path
    return made


def graded_on_gradescope(tmp_path, zip_path, submission, metadata_name) -> dict:
    from test_gradescope import autograder_tree, run_autograder

    tree = autograder_tree(tmp_path, zip_path, submission)
    if metadata_name:
        (tree / policy.METADATA_NAME).write_bytes((METADATA / metadata_name).read_bytes())
    return run_autograder(tree)


@pytest.mark.slow
def test_releases_under_two_policies_on_recorded_metadata(
    tmp_path, releases, solution_json, sandbox_runtime
):
    submission = write_notebook(tmp_path, gate.with_cells(solution_json, [WRONG_GAMMA]))
    questions = [q.name for q in spec.QUESTIONS]
    with zipfile.ZipFile(releases["strict"]) as archive:
        assert policy.from_json(archive.read(policy.POLICY_NAME).decode()) == STRICT

    default = graded_on_gradescope(
        tmp_path / "a", releases["default"], submission, "past_the_limit.json"
    )
    names = [t["name"] for t in default["tests"]]
    assert names == questions + [f"{q} written answer" for q in spec.WRITTEN_QUESTIONS]
    assert {t["visibility"] for t in default["tests"]} == {"visible"}
    assert "limit" not in default["extra_data"] and default["score"] < FULL

    graded = graded_on_gradescope(
        tmp_path / "b", releases["strict"], submission, "third_in_a_day.json"
    )
    assert graded["score"] == default["score"]
    assert graded["output"].startswith("Graded submission 3 of the 3 allowed in any 24 hours.")
    shown = {t["name"]: t["visibility"] for t in graded["tests"]}
    for q in questions:
        assert shown[f"{q}: criteria"] == "visible" and shown[q] == "after_published"
        assert shown[f"{q}: details"] == "after_due_date"
    visible = " ".join(
        t["output"]
        for t in graded["tests"]
        if t["visibility"] == "visible" and not t["name"].endswith("written answer")
    )
    assert "first failure" not in visible and "Hint:" not in visible
    assert not POINTS.search(visible)
    assert [t["score"] for t in graded["tests"] if t["name"] in questions] == [
        t["score"] for t in default["tests"] if t["name"] in questions
    ]

    limited = graded_on_gradescope(
        tmp_path / "c", releases["strict"], submission, "past_the_limit.json"
    )
    assert limited["score"] == 11.0 and limited["output"] == RECORDED["past_the_limit.json"][3]
    assert all(
        t["visibility"] == ("visible" if t["name"].endswith("written answer") else "hidden")
        for t in limited["tests"]
    )
    assert sum(t["score"] for t in limited["tests"]) == pytest.approx(default["score"])

    unknown = graded_on_gradescope(tmp_path / "d", releases["strict"], submission, None)  # "{}"
    assert unknown["score"] == default["score"]
    assert "no readable created_at" in unknown["extra_data"]["limit"]["not_applied"]


@pytest.mark.slow
def test_grade_as_student_prints_what_a_student_sees_under_the_shipped_policy(
    tmp_path, releases, solution_json, sandbox_runtime
):
    source = tmp_path / "source"
    with zipfile.ZipFile(releases["strict"]) as archive:
        archive.extractall(source)
    submission = write_notebook(tmp_path, gate.with_cells(solution_json, [WRONG_GAMMA]))
    env = {**os.environ, "PYTHONPATH": str(source)}

    def grade(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "autograder", "grade", "--as-student", *args, str(submission)],
            cwd=source, env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        return done.stdout

    before, after, published = grade().split("\n\n" + "What the student sees ")
    assert before.startswith(wording.AS_STUDENT["before_due_date"])
    assert "[q2a: criteria]" in before and "q2a: details" not in before and "Hint:" not in before
    assert after.startswith("after the due date") and "[q2a: details]" in after and "Hint:" in after
    assert published.startswith("once grades") and "[q2a] " in published
    limited = grade("--metadata", str(METADATA / "past_the_limit.json"))
    assert f"Total: 11 / {FULL:g}" in limited and RECORDED["past_the_limit.json"][3] in limited
    data = json.loads(grade("--json", "--metadata", str(METADATA / "first_submission.json")))
    assert data["output"].startswith("Graded submission 1 of the 3")


# ## With details hidden, nothing the student chose is shown

FIXED_STAGES = {
    template.format(error=error)
    for template in [*wording.STAGES.values(), wording.STAGE_OTHER]
    for error in [*KNOWN_ERRORS, wording.AN_EXCEPTION]
}


@given(
    st.sampled_from([*vars(Status).values(), "made up"]).filter(lambda s: isinstance(s, str)),
    st.text(),
    st.one_of(st.text(), st.sampled_from(sorted(KNOWN_ERRORS)), st.none()),
)
def test_a_hidden_detail_is_one_of_a_fixed_set_of_words(status, reason, raised):
    verdict = Verdict(status, reason, None if raised is None else ("raised", raised))
    shown = stage(verdict)
    assert shown in FIXED_STAGES


CHOSEN = "Xqzqzqz" + "abcdefghij" * 5  # a name and a message the student chose


@pytest.mark.slow
def test_with_details_hidden_no_class_name_or_message_of_the_student_is_shown(
    tmp_path, solution_json, sandbox_runtime
):
    cells = [
        f"class {CHOSEN}(Exception):\n    pass\n\n"
        f"def sigmoid(x):\n    raise {CHOSEN}('{CHOSEN.lower()} 0.7310585786300049')\n\n"
        f"class Mine:\n    pass\n\n"
        f"{CHOSEN}Value = type('{CHOSEN}Value', (), {{}})\n\n"
        f"def sigmoid_grad(x):\n    return {CHOSEN}Value()\n",
        f"def residual_block(W1, W2, x0):\n    return x0\n\nraise ValueError('{CHOSEN}')",
        f"raise ModuleNotFoundError('{CHOSEN}')\ndef dropout_gamma(X, p):\n    return X",
    ]
    path = write_notebook(tmp_path, gate.with_cells(solution_json, cells))
    report = grade(path)
    assert report.score < FULL
    hidden = spec.Policy(detail="hidden")
    data = json.loads(results_json(report.to_gradescope(hidden)))
    shown = [t for t in data["tests"] if t["visibility"] != "hidden"]
    seen = "\n".join([data["output"], *(t["output"] for t in shown)])
    assert "raised an exception" in seen and "does not convert to a float array" in seen
    assert "Code cell" in seen  # the cells that raised, by number
    assert CHOSEN not in seen and CHOSEN.lower() not in seen
