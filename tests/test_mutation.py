"""The catalogue of mistakes and alternatives, the mutants, the hints, and the gate itself."""

import dataclasses
import inspect
import re
from collections import Counter

import numpy as np
import pytest

import solutions
from autograder import cases, hints, spec, variants
from autograder.cases import Case
from autograder.release import (
    gate,
    mutants,
    mutation,
    package,
    public_checks,
    run_checks,
    structure,
)

FUNCTIONS = list(solutions.GRADED)


def test_catalogue_has_enough_mistakes_and_alternatives_for_every_function():
    mistakes = Counter(m.function for m in variants.MISTAKES)
    alternatives = Counter(a.function for a in variants.ALTERNATIVES)
    assert all(mistakes[f] >= structure.MIN_MISTAKES for f in FUNCTIONS), mistakes
    assert all(alternatives[f] >= structure.MIN_ALTERNATIVES for f in FUNCTIONS), alternatives
    assert structure.catalogue_problems() == []
    assert len({(m.function, m.name) for m in variants.MISTAKES}) == len(variants.MISTAKES)
    assert all(m.hint for m in variants.MISTAKES) and not any(a.hint for a in variants.ALTERNATIVES)


@pytest.mark.parametrize("variant", variants.MISTAKES, ids=lambda v: f"{v.function}: {v.name}")
def test_every_mistake_is_really_wrong(variant):
    assert mutants.differs_from_reference(variant)


@pytest.mark.parametrize("variant", variants.ALTERNATIVES, ids=lambda v: f"{v.function}: {v.name}")
def test_every_alternative_is_really_right(variant):
    assert not mutants.differs_from_reference(variant)


def test_mutants_are_single_changes_of_the_reference_that_compile():
    made = {f: mutants.mutants(f) for f in FUNCTIONS}
    assert sum(map(len, made.values())) >= 50
    for function, made_for_it in made.items():
        for mutant in made_for_it:
            env = {"np": np, **solutions.GRADED}
            exec(mutant.source, env)
            assert callable(env[function]) and mutant.name.startswith("mutant: ")
    names = [m.name for m in made["residual_jacobian"]]
    assert "mutant: `a1 > 0`: > became >=" in names  # the ReLU'(0) slip, made mechanically


def test_an_equivalent_rewrite_is_not_counted_as_a_mutant():
    same = variants.Variant(
        "effective_column_norm",
        "same",
        "def effective_column_norm(p):\n    return (p / (1 - p)) ** 0.5",
    )
    assert not mutants.differs_from_reference(same)


@pytest.mark.parametrize("variant", variants.MISTAKES, ids=lambda v: f"{v.function}: {v.name}")
def test_every_mistake_fails_a_public_check_with_its_own_hint(variant, test_files):
    env = {"np": np, **solutions.GRADED}
    exec(variant.source, env)
    question = spec.question_of(variant.function).name
    failed = [
        o
        for o in run_checks.run_public_checks(env, test_files)
        if o.question == question and not o.passed
    ]
    assert failed, "the public checks do not notice this mistake"
    assert any(f"Hint: {variant.hint}" in o.message for o in failed)


def test_hints_name_no_expected_value(table):
    # A hint is generic text: it must not contain any number that the reference returns.
    values = {
        f"{v:.4g}"
        for rows in table.values()
        for e in rows
        for v in np.ravel(e.value)
        if abs(v) > 1e-3
    }
    for mistake in variants.MISTAKES:
        shown = {token.strip(".,:;()") for token in mistake.hint.split()}
        assert not (shown & values) - {"1", "0", "2"}, mistake.hint


@pytest.mark.slow
def test_hidden_feedback_names_each_mistake(solution_json, table, sandbox_runtime, tmp_path):
    known = hints.Hints(table)
    for variant in variants.MISTAKES:
        notebook = tmp_path / "disc05.ipynb"
        notebook.write_text(
            __import__("json").dumps(gate.with_cells(solution_json, [variant.source]))
        )
        from autograder import grader

        report = grader.grade(notebook, table, known_mistakes=known)
        text = "\n".join(
            f.feedback for q in report.questions for f in q.functions if f.name == variant.function
        )
        assert f"Hint: {variant.hint}" in text, variant.name


def _replace_record(monkeypatch, function, **changes):
    """Grade `function` with some fields of its record changed, for this test only."""
    record = dataclasses.replace(cases.FUNCTIONS[function], **changes)
    monkeypatch.setitem(cases.FUNCTIONS, function, record)


def _gate_on(monkeypatch, mistakes, alternatives, solution_json, test_files):
    monkeypatch.setattr(mutation, "MISTAKES", tuple(mistakes))
    monkeypatch.setattr(mutation, "ALTERNATIVES", tuple(alternatives))
    monkeypatch.setattr(mutation, "mutants", lambda function: [])
    zip_bytes = package.autograder_zip(test_files)
    problems, report = mutation.run(solution_json, zip_bytes, test_files, log=lambda _: None)
    return problems, report


@pytest.mark.slow
def test_gate_fails_naming_the_mistake_a_weakened_case_set_lets_through(
    monkeypatch, solution_json, test_files, sandbox_runtime
):
    X = np.array([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0]])
    # One case per criterion, all at p = 1/2, where the factor sqrt((1 - p) / p) is 1.
    weakened = [Case(label, (X, 0.5)) for label in ("random", "edge: p = 0.5", "edge: p = 0.99")]
    _replace_record(monkeypatch, "dropout_gamma", generate=lambda rng: weakened)
    mistake = next(m for m in variants.MISTAKES if m.name.startswith("sqrt(p / (1 - p))"))
    problems, _ = _gate_on(monkeypatch, [mistake], [], solution_json, test_files)
    assert problems == [
        f"mistake dropout_gamma: {mistake.name} survived: no hidden case of q2a catches it"
    ]


@pytest.mark.slow
def test_gate_fails_when_an_over_strict_tolerance_rejects_an_alternative(
    monkeypatch, solution_json, test_files, sandbox_runtime
):
    _replace_record(monkeypatch, "effective_matrix", tolerance=cases.Tolerance(rtol=0.0, atol=0.0))
    inverse = next(a for a in variants.ALTERNATIVES if a.name == "np.linalg.inv")
    problems, _ = _gate_on(monkeypatch, [], [inverse], solution_json, test_files)
    assert problems == [
        "alternative effective_matrix: np.linalg.inv is correct but lost points on q2b"
    ]


@pytest.mark.slow
def test_gate_passes_and_reports_on_a_sound_subset(
    monkeypatch, solution_json, test_files, sandbox_runtime
):
    chosen = [m for m in variants.MISTAKES if m.function == "effective_column_norm"]
    problems, report = _gate_on(
        monkeypatch, chosen, variants.ALTERNATIVES[:2], solution_json, test_files
    )
    assert problems == []
    record = cases.FUNCTIONS["effective_column_norm"]
    worth = spec.function_points("effective_column_norm")
    row = re.search(r"^\| effective_column_norm \|.*\|$", report, re.M).group(0).split(" | ")
    question = spec.question_of("effective_column_norm").name
    assert row[1:3] == [f"{worth:.3g} of {question}", str(len(record.hidden_cases()))]
    assert (
        row[3].startswith("values for random p: 1/2 (") and "requirement a Python float" in row[3]
    )
    assert row[4:] == ["rtol 1e-07, atol 1e-10", "5/5", "0/0", "0", "0/0 |"]
    assert (
        "| effective_column_norm | sqrt((1 - p) / p), the factor of Gamma itself | "
        f"{worth:.3g} of {worth:g} (100%): "
        "values for random p; p near 0, at 1/2 and near 1; a Python float where the docstring "
        "says float |"  # a requirement earns nothing without a criterion beside it
    ) in report
    arity = [len(inspect.signature(f).parameters) for f in solutions.GRADED.values()]
    assert f"| zeros of the right shape | {len(FUNCTIONS)} | 0 |" in report
    assert f"| the first argument returned | {sum(a >= 1 for a in arity)} | 0 |" in report
    assert f"| the fourth argument returned | {sum(a >= 4 for a in arity)} | 0 |" in report


@pytest.mark.slow
def test_gate_refuses_a_mistake_that_loses_less_than_a_tenth(
    monkeypatch, solution_json, test_files, sandbox_runtime
):
    values, stability = cases.FUNCTIONS["sigmoid"].criteria
    _replace_record(
        monkeypatch,
        "sigmoid",
        criteria=(
            cases.Criterion(values.name, 0.95, values.kinds),
            cases.Criterion(stability.name, 0.05, stability.kinds),
        ),
    )
    overflowing = next(m for m in variants.MISTAKES if m.name.startswith("the textbook formula"))
    problems, report = _gate_on(monkeypatch, [overflowing], [], solution_json, test_files)
    lost = spec.criterion_points("sigmoid")[stability.name]
    worth = spec.function_points("sigmoid")
    (problem,) = problems
    said = re.fullmatch(
        f"mistake sigmoid: {re.escape(overflowing.name)} loses only ([0-9.]+) of {worth:g} points "
        r"\(less than 10%\): give the criterion it fails more weight, or add hidden cases that "
        "catch it to a criterion it passes",
        problem,
    )
    assert said and float(said.group(1)) == pytest.approx(lost, abs=1e-4), problem
    assert f" of {worth:g} ({lost / worth:.0%}): no overflow for large \\|x\\| |" in report


@pytest.mark.slow
def test_gate_refuses_a_case_set_on_which_a_trivial_answer_earns_points(
    monkeypatch, solution_json, test_files, sandbox_runtime
):
    # At p = 1/2 the answer is 1: a constant 1.0 would pass every case.
    halves = [Case(label, (0.5,)) for label in ("random", "edge: p = 0.5")]
    _replace_record(monkeypatch, "effective_column_norm", generate=lambda rng: halves)
    problems, report = _gate_on(monkeypatch, [], [], solution_json, test_files)
    # Ones in an array: every value right, but not the Python float the docstring promises.
    worth = spec.function_points("effective_column_norm")
    earns = worth - spec.criterion_points("effective_column_norm")[cases.FLOAT.name]
    assert problems == [
        f"trivial answer earns points: effective_column_norm, ones of the right shape, "
        f"earns {earns:.3g}"
    ]
    shown = f"| ones of the right shape | {len(FUNCTIONS)} | effective_column_norm {earns:.3g} |"
    assert shown in report


@pytest.mark.slow
def test_points_in_process_agree_with_the_grader(solution_json, table, sandbox_runtime, tmp_path):
    # tests/test_criteria.py measures mistakes in-process; the grader must give the same points.
    from autograder import grader

    partial = [m for m in variants.MISTAKES if 0 < mutants.points_in_process(m, table)]
    partial += mutants.trivial_answers("residual_jacobian")
    assert len(partial) >= 8
    for variant in partial:
        notebook = tmp_path / "disc05.ipynb"
        notebook.write_text(
            __import__("json").dumps(gate.with_cells(solution_json, [variant.source]))
        )
        report = grader.grade(notebook, table)
        (own,) = [f for q in report.questions for f in q.functions if f.name == variant.function]
        assert own.points == pytest.approx(mutants.points_in_process(variant, table)), variant.name


def test_a_live_mutant_passing_every_public_check_fails_the_gate_unless_a_reason_is_given(
    monkeypatch,
):
    without_outer_kink = tuple(
        c for c in public_checks.CHECKS["q1c"] if "outer pre-activation" not in c.description
    )
    monkeypatch.setitem(public_checks.CHECKS, "q1c", without_outer_kink)
    test_files = public_checks.render_all()
    outer = "`a2 > 0`: > became >="
    live = [m for m in mutants.mutants("residual_jacobian") if m.name == f"mutant: {outer}"]
    assert len(live) == 1 and mutants.differs_from_reference(live[0])
    problems, listed = mutation.unchecked_mutants(test_files, live, {})
    assert len(problems) == 1 and "UNCHECKED_MUTANTS" in problems[0] and outer in problems[0]
    reasons = {("residual_jacobian", outer): "the reason"}
    assert mutation.unchecked_mutants(test_files, live, reasons) == (
        [],
        [f"- residual_jacobian: {outer} — the reason"],
    )


def test_every_live_mutant_fails_a_public_check_of_its_question(test_files):
    live = [m for f in FUNCTIONS for m in mutants.mutants(f) if mutants.differs_from_reference(m)]
    problems, listed = mutation.unchecked_mutants(test_files, live, public_checks.UNCHECKED_MUTANTS)
    assert problems == []
    assert len(listed) == len(public_checks.UNCHECKED_MUTANTS)


def test_the_report_opens_with_a_table_per_function_and_lists_equivalent_mutants():
    made = mutants.mutants("sigmoid")
    live = [m for m in made if mutants.differs_from_reference(m)]
    report = mutation._report([], made, live, [])
    head = report.split("## Equivalent mutants")[0]
    rows = [line for line in head.splitlines() if line.startswith("| ") and "---" not in line]
    assert rows[0].startswith("| function | points | hidden cases | criteria: weight")
    assert [r.split(" | ")[0].removeprefix("| ") for r in rows[1:]] == FUNCTIONS
    for function, row in zip(FUNCTIONS, rows[1:], strict=True):
        record = cases.FUNCTIONS[function]
        cells = row.split(" | ")
        question = spec.question_of(function).name
        assert cells[1] == f"{spec.function_points(function):.3g} of {question}"
        assert cells[2] == str(len(record.hidden_cases()))
        for criterion in record.criteria:
            assert f"{criterion.name.replace('|', chr(92) + '|')}: " in cells[3], cells[3]
        for requirement in record.requirements:
            assert f"requirement {requirement.name}: " in cells[3]
        tolerance = f"rtol {record.tolerance.rtol:g}, atol {record.tolerance.atol:g}"
        assert cells[4].startswith(tolerance)
        assert ("numpy warnings are errors" in cells[4]) == record.strict
    sigmoid = next(r for r in rows if r.startswith("| sigmoid |"))
    assert "values on ordinary inputs: 1/2 (" in sigmoid
    equivalent = [m for m in made if m not in live]
    assert equivalent, "sigmoid has a mutant equivalent to the reference"
    listed = report.split("## Equivalent mutants, set aside")[1].split("##")[0]
    for mutant in equivalent:
        name = mutant.name.removeprefix("mutant: ")
        line = next(x for x in listed.splitlines() if x.startswith(f"- sigmoid: {name} — "))
        assert "agrees with the reference within its tolerance on all" in line
        if ("sigmoid", name) in mutants.EQUIVALENT_BECAUSE:
            assert mutants.EQUIVALENT_BECAUSE["sigmoid", name] in line
    assert f"| sigmoid | {spec.function_points('sigmoid'):.3g} of " in sigmoid
    assert sigmoid.endswith(f"| 0/0 | 0/0 | {len(equivalent)} | 0/0 |")  # nothing graded here
