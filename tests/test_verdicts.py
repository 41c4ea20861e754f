"""One judgement: the hidden grader, the catalogued mistakes' hints and the public checks reach
the same verdict on the same result, since all three ask `compare.judge`."""

import numpy as np
import pytest
from conftest import write_notebook

import solutions
from autograder import compare, grader, hints, spec, variants, wording
from autograder.cases import FUNCTIONS
from autograder.compare import Status, Verdict
from autograder.release import gate


def catalogued(function: str, name: str) -> variants.Variant:
    return next(m for m in variants.MISTAKES if m.function == function and m.name == name)


def made_up(function: str, name: str, body: str) -> variants.Variant:
    return variants.Variant(function, name, f"def {function}(p):\n    {body}")


# A result that fails in each way a returned value can, and the stage it must fail at.
CASES = [
    (catalogued("sigmoid", "the textbook formula, which overflows for large negative x"), "raised"),
    (catalogued("sigmoid", "a scalar returned as an array of shape (1,)"), "wrong_shape"),
    (catalogued("dropout_gamma", "square root missing"), "not_close"),
    (catalogued("dropout_to_ridge_weights", "argument modified in place"), "modified"),
    (made_up("effective_column_norm", "returns nothing", "return None"), "unconvertible"),
    (made_up("effective_column_norm", "returns infinity", "return np.inf"), "not_finite"),
    (made_up("effective_column_norm", "still the stub", "raise NotImplementedError"), None),
]
IDS = [f"{variant.function}: {variant.name}" for variant, _ in CASES]


def same_signature(one: tuple | None, other: tuple | None) -> bool:
    if one is None or other is None:
        return one is other
    return compare.same_failure(*one, *other)


def assert_same(verdict: Verdict, other: Verdict) -> None:
    assert verdict.status == other.status
    assert same_signature(verdict.signature, other.signature)
    if verdict.status == Status.RAISED:  # the sandbox adds the cell and line it was raised in
        assert verdict.reason.startswith(other.reason)
    else:
        assert verdict.reason == other.reason


def implementation(variant: variants.Variant):
    env = {"np": np, **solutions.GRADED}
    exec(variant.source, env)  # noqa: S102 - the project's own variants
    return env[variant.function]


def public_file(test_files: dict[str, str], function: str) -> dict:
    """The namespace of the public test file that checks `function`, as the notebook runs it."""
    namespace: dict = {}
    exec(test_files[f"tests/{spec.question_of(function).name}.py"], namespace)  # noqa: S102
    return namespace


@pytest.fixture(scope="module")
def graded(solution_json, table, sandbox_runtime, tmp_path_factory) -> dict:
    """Each variant graded through the sandbox, as the only change to the solution."""
    reports = {}
    for variant, _ in CASES:
        folder = tmp_path_factory.mktemp("verdict")
        notebook = write_notebook(folder, gate.with_cells(solution_json, [variant.source]))
        reports[variant.name] = grader.grade(notebook, table)
    return reports


def hidden_verdicts(report: grader.GradeReport, function: str) -> tuple[dict, dict, str]:
    """The grader's verdicts on the failing hidden cases of `function`, in case order, by label
    (labels may repeat), for its criteria and for its requirements; and its feedback."""
    (result,) = [f for q in report.questions for f in q.functions if f.name == function]
    failed: dict[str, list[Verdict]] = {}
    promises: dict[str, list[Verdict]] = {}
    for criterion in result.criteria:
        for label, verdict in criterion.failures:
            (promises if criterion.requirement else failed).setdefault(label, []).append(verdict)
    return failed, promises, result.feedback


@pytest.mark.parametrize(("variant", "stage"), CASES, ids=IDS)
def test_grader_hints_and_public_checks_reach_the_same_verdict(
    variant, stage, graded, table, test_files
):
    function = variant.function
    strict = FUNCTIONS[function].strict
    tolerance = FUNCTIONS[function].tolerance
    failed, promises, feedback = hidden_verdicts(graded[variant.name], function)
    public = public_file(test_files, function)
    in_process: dict[str, list[Verdict]] = {}
    broken_here: dict[str, int] = {}
    for expected in table[function]:
        args = expected.case.args
        outcome = hints.run_variant(variant, args, strict)
        verdict, broken = grader.judge_case(function, outcome, expected)
        # The public checks judge the same value the same way (and, as a check, a changed
        # argument too: there it is a stage of the verdict).
        public_outcome = public["call"](implementation(variant), args, strict)
        public_verdict = public["judge"](
            public_outcome, expected.value, tolerance.rtol, tolerance.atol, 1, values_only=True
        )
        assert_same(public_verdict, verdict)
        if not verdict.passed:
            in_process.setdefault(expected.case.label, []).append(verdict)
        for _ in broken or ():
            broken_here[expected.case.label] = broken_here.get(expected.case.label, 0) + 1
    assert failed.keys() == in_process.keys()
    for label, verdicts in failed.items():
        assert len(verdicts) == len(in_process[label])
        for in_sandbox, here in zip(verdicts, in_process[label], strict=True):
            assert_same(in_sandbox, here)
    assert {label: len(v) for label, v in promises.items()} == broken_here
    statuses = {v.status for verdicts in (*failed.values(), *promises.values()) for v in verdicts}
    if stage is None:  # a stub: one line, and nothing to match a mistake on
        assert statuses == {Status.NOT_ATTEMPTED}
        (reason,) = {v.reason for verdicts in failed.values() for v in verdicts}
        assert feedback == wording.UNTOUCHED.format(name=function, reason=reason)
        assert function in graded[variant.name].not_attempted
        return
    assert (Status.BROKEN_PROMISE if stage == Status.MODIFIED else stage) in statuses
    if variant.hint:  # the hints found it as the student's own mistake
        assert graded[variant.name].mistakes[function] == variant.name
        assert feedback.endswith(wording.HINT.format(hint=variant.hint))


@pytest.mark.parametrize(("variant", "stage"), CASES[:-1], ids=IDS[:-1])
def test_a_public_check_on_a_hidden_case_prints_the_verdict_and_the_mistake_s_hint(
    variant, stage, table, test_files
):
    function = variant.function
    strict = FUNCTIONS[function].strict
    tolerance = FUNCTIONS[function].tolerance
    expected = next(
        e
        for e in table[function]
        if hints.judge_variant(variant, e.case.args, e.value, strict).status == stage
    )
    verdict = hints.judge_variant(variant, expected.case.args, expected.value, strict)
    public = public_file(test_files, function)
    public["CHECKS"][function] = [
        (
            "a hidden case",
            expected.case.args,
            expected.value,
            None,
            [],
            tolerance.rtol,
            tolerance.atol,
            strict,
            [(*verdict.signature, "the hint")],
        )
    ]
    env = {"np": np, **solutions.GRADED, function: implementation(variant)}
    state, line = public["_run_checks"](function, env[function], env)
    assert state == "failed"
    said = wording.CHECK_LINES["failed"].format(
        name=function, description="a hidden case", reason=verdict.reason
    )
    assert line == said + wording.CHECK_LINES["hint"].format(hint="the hint")
