"""What earns the points: criteria declared in the function records, all-or-nothing credit per
criterion, feedback per criterion, and what mistakes and trivial answers are worth."""

import dataclasses

import pytest

import solutions
from autograder import cases, grader, spec, variants, wording
from autograder.compare import Status, Verdict
from autograder.release import mutants, mutation, notebook, structure
from autograder.results import function_feedback

FUNCTIONS = list(solutions.GRADED)


def lost(variant: variants.Variant, table: dict) -> float:
    """Points `variant` loses on its own function, judged in this process."""
    return spec.function_points(variant.function) - mutants.points_in_process(variant, table)


def labels(function: str) -> list[str]:
    return [case.label for case in cases.hidden_cases(function)]


# ## Declarations


def test_every_function_has_criteria_whose_weights_add_up_to_one():
    assert list(cases.FUNCTIONS) == FUNCTIONS
    for function, record in cases.FUNCTIONS.items():
        criteria = record.criteria
        assert sum(c.weight for c in criteria) == pytest.approx(1), function
        assert len({c.name for c in criteria}) == len(criteria), function
        share = spec.function_points(function)
        assert sum(spec.criterion_points(function).values()) == pytest.approx(share)


def test_no_criterion_is_worth_less_than_a_quarter_of_its_function():
    # What a question asks for in words must carry a visible share of the points; the
    # docstring's other promises (requirements) take a small one, together at most a quarter.
    assert min(c.weight for f in cases.FUNCTIONS.values() for c in f.criteria) >= 1 / 4
    for function, record in cases.FUNCTIONS.items():
        assert 0 < sum(r.weight for r in record.requirements) <= 1 / 4, function


def test_every_hidden_case_belongs_to_one_criterion_and_every_criterion_has_cases():
    assert structure.case_problems() == []


def test_an_unassigned_case_and_an_empty_criterion_are_reported(monkeypatch):
    criteria = (
        cases.Criterion("random p", 1, ("random",)),
        cases.Criterion("nothing", 0, ("edge: p = 2",)),
    )
    record = dataclasses.replace(cases.FUNCTIONS["effective_column_norm"], criteria=criteria)
    monkeypatch.setitem(cases.FUNCTIONS, "effective_column_norm", record)
    problems = structure.case_problems()
    assert (
        "autograder/cases.py: effective_column_norm's hidden cases of kind 'edge: p = 0.5' "
        "belong to no criterion: add the kind to the kinds of one of its criteria"
    ) in problems
    assert (
        "autograder/cases.py: the criterion 'nothing' of effective_column_norm has no hidden "
        "case: add cases of kind 'edge: p = 2' to its generator"
    ) in problems


def test_a_case_kind_is_its_label_up_to_the_first_comma():
    assert spec.case_kind("random, N = 3, d = 2") == "random"
    assert spec.case_kind("edge: targets fitted exactly, N = 9, d = 4") == (
        "edge: targets fitted exactly"
    )


# ## Credit


def test_credit_within_a_criterion_is_all_or_nothing():
    names = labels("sigmoid")
    points = list(spec.criterion_points("sigmoid").values())
    one_random_case = grader.criterion_results(
        "sigmoid", names, {0: Verdict(Status.NOT_CLOSE, "not close")}
    )
    assert [c.points for c in one_random_case] == [0, *points[1:]]
    values, overflow = cases.FUNCTIONS["sigmoid"].criteria
    assert [c.total for c in one_random_case[:2]] == [
        sum(spec.case_kind(n) in c.kinds for n in names) for c in (values, overflow)
    ]
    earned = sum(c.points for c in grader.criterion_results("sigmoid", names, {}))
    assert earned == pytest.approx(spec.function_points("sigmoid"))


def test_requirements_take_their_weight_first_and_the_criteria_share_the_rest():
    for function, record in cases.FUNCTIONS.items():
        points = spec.criterion_points(function)
        share = spec.function_points(function)
        kept = 1 - sum(r.weight for r in record.requirements)
        for criterion in record.criteria:
            assert points[criterion.name] == pytest.approx(share * kept * criterion.weight)
        for requirement in record.requirements:
            assert points[requirement.name] == pytest.approx(share * requirement.weight)


def test_a_requirement_is_judged_on_every_case_and_earns_only_beside_a_criterion():
    names = labels("residual_block")
    record = cases.FUNCTIONS["residual_block"]
    (unchanged,) = [r for r in record.requirements if r.promise == "unchanged"]
    # Right values everywhere, one argument changed on one case: only that requirement fails.
    broken = {i: set() for i in range(len(names))} | {0: {"unchanged"}}
    results = grader.criterion_results("residual_block", names, {}, broken)
    by_name = {c.name: c for c in results}
    assert not by_name[unchanged.name].passed and by_name[unchanged.name].total == len(names)
    assert all(c.passed for c in results if c.name != unchanged.name)
    assert sum(c.points for c in results) == pytest.approx(
        spec.function_points("residual_block") * (1 - unchanged.weight)
    )
    # Wrong values everywhere: the requirements it keeps earn nothing alone.
    wrong = dict.fromkeys(range(len(names)), Verdict(Status.NOT_CLOSE, "x", ("value", 0.0)))
    results = grader.criterion_results("residual_block", names, wrong)
    assert sum(c.points for c in results) == 0
    assert all(c.withheld for c in results if c.requirement)
    text = function_feedback("residual_block", results, 1.0)
    assert "earned only together with one of the criteria above" in text


def test_a_criterion_without_cases_earns_nothing():
    (criterion, *_) = grader.criterion_results("max_sigmoid_grad", [], {})
    assert not criterion.passed and criterion.points == 0
    points = spec.criterion_points("max_sigmoid_grad")
    line = function_feedback("max_sigmoid_grad", [criterion], 1.0).splitlines()[1]
    assert line == (
        "    FAILED: the largest value of sigma' "
        f"({wording.points_text(points[criterion.name])}): no case tests it"
    )


@pytest.mark.parametrize("function", FUNCTIONS)
def test_trivial_answers_earn_nothing(function, table):
    answers = mutants.trivial_answers(function)
    assert len(answers) >= 4
    for answer in answers:
        assert mutants.points_in_process(answer, table) == 0, answer.name


@pytest.mark.parametrize("variant", variants.MISTAKES, ids=lambda v: f"{v.function}: {v.name}")
def test_every_catalogued_mistake_loses_at_least_a_tenth_of_its_function(variant, table):
    share = spec.function_points(variant.function)
    assert lost(variant, table) >= mutation.MIN_LOSS * share


# ## Feedback


def test_feedback_lists_each_criterion_and_the_first_failing_case_of_a_failed_one():
    names = labels("sigmoid")
    extreme = names.index("edge: |x| up to 1e4 beside ordinary values")
    raised = Verdict(Status.RAISED, "raised FloatingPointError: overflow encountered in exp")
    criteria = grader.criterion_results("sigmoid", names, {extreme: raised})
    points = {n: wording.points_text(v) for n, v in spec.criterion_points("sigmoid").items()}
    earned = sum(c.points for c in criteria)
    lines = function_feedback("sigmoid", criteria, 1.0).splitlines()
    assert lines[:3] == [
        f"sigmoid: {earned:.3g} of 1 point",
        f"    passed: values on ordinary inputs ({points['values on ordinary inputs']})",
        f"    FAILED: no overflow for large |x| ({points['no overflow for large |x|']}): 1 of 2 "
        "cases failed; first failure, edge: |x| up to 1e4 beside ordinary values: raised "
        "FloatingPointError: overflow encountered in exp",
    ]
    assert all(line.startswith("    passed: ") for line in lines[3:])


def test_an_unattempted_function_gets_one_line():
    names = labels("dropout_gamma")
    reason = "not attempted (it still raises NotImplementedError)"
    stub = Verdict(Status.NOT_ATTEMPTED, reason)
    criteria = grader.criterion_results(
        "dropout_gamma", names, dict.fromkeys(range(len(names)), stub)
    )
    assert function_feedback("dropout_gamma", criteria, 1.0) == f"dropout_gamma: {reason}"


# ## The notebook


def test_the_notebook_names_each_question_s_criteria_but_no_case(student_json):
    cells = ["".join(c["source"]) for c in student_json["cells"] if c["cell_type"] == "markdown"]
    shown = [c for c in cells if c.startswith("<!-- disc05: criteria ")]
    assert len(shown) == len(spec.QUESTIONS)
    every_label = {label for f in FUNCTIONS for label in labels(f) if label.startswith("edge")}
    for question, text in zip(spec.QUESTIONS, shown, strict=True):
        assert text.startswith(f"<!-- disc05: criteria {question.name} -->")
        for function in question.functions:
            assert f"`{function}` ({wording.points_text(spec.function_points(function))})" in text
            for name, points in spec.criterion_points(function).items():
                assert f"{name} ({wording.points_text(points)})" in text
        assert not [label for label in every_label if label in text]
    assert notebook.criteria_cell("q1c") in cells
