"""The grader's promises over hostile input, tested with Hypothesis: whatever bytes the sandbox
sends back and whatever text a submission holds, the decoder never raises and accepts only
checked, capped, valid text, and a results file is valid UTF-8 JSON under its byte budget.

The suite runs a short, derandomized profile (tests/conftest.py); ``HYPOTHESIS_PROFILE=campaign``
or ``python -m autograder fuzz --minutes N`` runs many more inputs."""

import inspect
import json
import math
import os
import re
import threading
import time
import tracemalloc

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import solutions
from autograder import grader, protocol, results, sandbox, spec
from autograder.results import CriterionResult, FunctionResult, GradeReport, QuestionResult

CHANNEL = spec.LIMITS.channel

# Text built to hurt: lone surrogates, astral and right-to-left characters, NUL, markers of our
# own formats, numbers that could be hidden values, and very long runs of any of them.
NASTY = ["\ud800", "\udfff", "\U0001f600", "\u202e", "\u200f", "\x00", "\ufeff", "\r\n", "0.125"]
nasty_text = st.one_of(
    st.text(),
    st.lists(st.sampled_from(NASTY) | st.text(max_size=3), max_size=40).map("".join),
    st.builds(lambda piece, n: piece * n, st.sampled_from(NASTY), st.integers(1000, 60_000)),
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**40), 10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    nasty_text,
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(nasty_text, inner, max_size=5),
    max_leaves=20,
)
KINDS = ["ready", "cell", "cell_error", "calls", "result", "standin", "done", "fatal", "x"]
KEYS = [
    "event", "uid", "landlock", "seccomp", "index", "type", "message", "where", "id", "kind",
    "value", "args", "form", "what", "function", "peak_kb",
]  # fmt: skip


@st.composite
def events(draw) -> bytes:
    """An event line: well-formed keys with hostile values, or arbitrary JSON, or raw bytes."""
    choice = draw(st.integers(0, 2))
    if choice == 0:
        return draw(st.binary(max_size=2000))
    if choice == 1:
        return json.dumps(draw(json_values), ensure_ascii=draw(st.booleans())).encode(
            "utf-8", "surrogatepass"
        )
    event = {"event": draw(st.sampled_from(KINDS))}
    for key in draw(st.lists(st.sampled_from(KEYS), max_size=8, unique=True)):
        event[key] = draw(json_values)
    return json.dumps(event).encode()


def _texts(value: object):
    """Every string inside a decoded event's fields."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _texts(key)
            yield from _texts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _texts(item)


@given(events())
def test_any_event_line_is_refused_or_read_as_checked_capped_valid_text(line):
    event = protocol.parse_event(line, 5, CHANNEL)
    if event is None:
        return
    assert event.kind in KINDS
    for text in _texts(event.fields):
        text.encode("utf-8")  # raises on a lone surrogate
        assert len(text) <= 2000
    if "message" in event.fields and event.kind != "fatal":
        assert len(event.fields["message"]) <= CHANNEL.text_chars


# What a terminal or a browser obeys: control characters and direction overrides.
_OBEYED = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


@given(nasty_text, st.integers(1, 400))
def test_a_students_message_is_one_line_shown_as_it_is(text, limit):
    shown = protocol.student_text(text, limit)
    shown.encode("utf-8")
    assert len(shown) <= limit and not _OBEYED.search(shown)
    kept = protocol.printable(text, lines=True)
    assert not _OBEYED.search(kept.replace("\n", "").replace("\t", ""))
    assert kept.count("\n") == text.count("\n")


@given(st.lists(st.binary(max_size=5000), max_size=30), st.integers(1, 50))
def test_the_event_reader_stays_within_its_caps_whatever_arrives(chunks, max_events):
    read, write = os.pipe()
    feeder = threading.Thread(target=_feed, args=(write, chunks))
    feeder.start()
    reader = protocol.EventReader(read, max_events, 20_000, 3000)
    try:
        lines = 0
        while True:
            try:
                line = reader.next_line(deadline=time.monotonic() + 30)
            except protocol.ProtocolError as error:
                assert error.cap in ("messages", "message_bytes", "submission_bytes")
                break
            if line is None:
                break
            lines += 1
            assert len(line) <= 3000
        assert lines <= max_events and reader.total <= 20_000 + (1 << 16)
    finally:
        os.close(read)
        feeder.join()


def _feed(fd: int, chunks: list[bytes]) -> None:
    try:
        for chunk in chunks:
            os.write(fd, chunk)
    except BrokenPipeError:
        pass
    finally:
        os.close(fd)


def _report(feedback: list[str], notes: list[str], written: dict, error: str | None):
    names = [f for q in spec.QUESTIONS for f in q.functions]
    texts = iter(feedback * (len(names) // max(1, len(feedback)) + 1) if feedback else [])
    questions = [
        QuestionResult(
            q.name,
            [
                FunctionResult(
                    name,
                    spec.function_points(name),
                    next(texts, ""),
                    [CriterionResult("c", spec.function_points(name), 1)],
                    [],
                )
                for name in q.functions
            ],
        )
        for q in spec.QUESTIONS
    ]
    return GradeReport(questions, origin=notes[0] if notes else "", notes=notes,
                       written=written, error=error)  # fmt: skip


@given(
    st.lists(nasty_text, max_size=4),
    st.lists(nasty_text, max_size=30),
    st.dictionaries(st.sampled_from(spec.WRITTEN_QUESTIONS), nasty_text),
    st.none() | nasty_text,
)
def test_a_results_file_is_valid_utf8_json_under_its_byte_budget(feedback, notes, written, error):
    data = results.results_json(_report(feedback, notes, written, error).to_gradescope())
    assert len(data) <= spec.RESULTS_BYTES
    parsed = json.loads(data.decode("utf-8"))  # strict UTF-8: no lone surrogate survives
    assert parsed["score"] == sum(t["score"] for t in parsed["tests"])
    assert [t["name"] for t in parsed["tests"][: len(spec.QUESTIONS)]] == [
        q.name for q in spec.QUESTIONS
    ]


def test_multibyte_feedback_is_cut_to_the_byte_budget_saying_so():
    # 20 000 characters an output, four bytes each: over the budget until cut.
    report = _report(["\U0001f600" * 30_000], [], {}, None).to_gradescope()
    assert len(json.dumps(report, ensure_ascii=False).encode()) > spec.RESULTS_BYTES
    data = results.results_json(report)
    assert len(data) <= spec.RESULTS_BYTES
    assert "cut here: the results of a submission must stay under 256 kB" in data.decode()


def test_the_fuzz_campaign_finds_every_property_file_and_counts_what_pytest_reports():
    from autograder.release import fuzz

    assert __file__ in fuzz.property_files()
    report = "    - 40 passing, 0 failing, and 5 invalid test cases\n    - 7 passing, 1 failing"
    assert fuzz._EXAMPLES.findall(report) == [("40", "0"), ("7", "1")]


# ## What the answer key makes for a stand-in is bounded before it is made

STANDIN_PEAK_BYTES = 64 << 20  # the most the key allocates for one accepted stand-in call


@st.composite
def standin_call(draw):
    """A graded function a later one may call, and argument shapes a hostile student might
    send for it (any number of dimensions, sides up to past the cap, size-1 sides that
    broadcast), within the protocol's cap on elements."""
    name = draw(st.sampled_from([n for n, _ in grader.reference().graded[:-1]]))
    arity = len(inspect.signature(solutions.GRADED[name]).parameters)
    channel = spec.LIMITS.channel
    side = st.one_of(st.just(1), st.integers(0, channel.standin_side + 8))
    shapes = []
    for kinds in grader.reference().kinds[name]:
        # Mostly of a kind the hidden cases pass (the grader answers those), else any.
        kind = draw(st.one_of(st.sampled_from(sorted(kinds, key=str)), st.integers(0, 5)))
        ndim = 0 if kind == "float" else kind
        shape = tuple(draw(st.lists(side, min_size=ndim, max_size=ndim)))
        shapes.append(None if kind == "float" else shape)
    elements = sum(math.prod(s) for s in shapes if s is not None)
    return name, shapes if elements <= channel.standin_elements else [None] * arity


@given(standin_call(), st.integers(0, 2**32 - 1))
def test_a_stand_in_the_grader_answers_costs_it_a_bounded_amount_of_memory(call, seed):
    name, shapes = call
    allowed = grader.reference().kinds[name]
    if not sandbox.answerable(allowed, shapes, spec.LIMITS.channel):
        return
    rng = np.random.default_rng(seed)
    args = [rng.uniform(0.1, 0.9) if s is None else rng.normal(size=s) for s in shapes]
    tracemalloc.start()
    try:
        grader._reference_value(name, args)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak <= STANDIN_PEAK_BYTES, (name, shapes, peak)


def test_the_broadcasting_attack_is_not_answered():
    allowed = grader.reference().kinds["residual_block"]
    shapes = [(253, 256, 1, 1, 1), (512, 1), (1,)]
    assert not sandbox.answerable(allowed, shapes, spec.LIMITS.channel)
    assert sandbox.answerable(allowed, [(5, 5), (5, 5), (5,)], spec.LIMITS.channel)
