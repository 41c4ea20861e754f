"""The class report of a batch: ``report.html`` and ``mistakes.csv``, from what `grade-all` wrote.

`write` reads ``scores.csv`` and ``results/ID.json`` in a batch's output folder and writes,
beside them:

* ``report.html``: one file that opens offline (inline CSS, plots as embedded PNG, no script at
  all, and a content security policy that forbids loading anything): score distributions and
  summary numbers; where the class lost its points, criterion by criterion, ranked; per
  function, the pass rate per criterion and per kind of hidden case, the catalogued mistakes
  matched across the class, with counts and one anonymised example each, and examples of the
  failures no catalogued mistake explains (criterion, kind of case and what went wrong, as the
  feedback words it); the submissions without a score, and the notes on graded ones (limits
  hit, a folder missing from the metadata, an upload that could not be read), with the reason;
  and per written question, every answer beside the student's name, in a collapsible section.

A submission counts as graded whenever it has a score in ``scores.csv`` (an unreadable upload
scores 0, as on Gradescope); what its error column says is shown beside it, not instead.
* ``mistakes.csv``: one row per submission and function whose result matched a catalogued
  mistake (submission, question, function, mistake).

Everything a student wrote or named (answers, names, file names, error messages) is escaped,
and both files are valid UTF-8 whatever the results hold (`wording.valid_text`).
"""

import base64
import csv
import html
import importlib.util
import io
import statistics
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import ledger, roster, spec, wording, written

FUNCTIONS = [(q.name, f) for q in spec.QUESTIONS for f in q.functions]
MAX_TOTAL = sum(q.points for q in spec.QUESTIONS)


@dataclass
class Row:
    """One submission as the batch left it."""

    id: str
    name: str
    error: str  # the error column of scores.csv: why not graded, or notes beside a score
    scores: dict[str, float] = field(default_factory=dict)
    total: float = 0.0
    results: dict = field(default_factory=dict)
    scored: bool = False  # scores.csv gives it a total

    @property
    def graded(self) -> bool:
        """It has a score, and its results to report on."""
        return self.scored and bool(self.results)

    def criteria(self, function: str) -> list[dict]:
        """`function`'s criteria as results.json records them (`CriterionResult.summary`)."""
        found = self.results.get("extra_data", {}).get("criteria", {})
        rows = found.get(function, []) if isinstance(found, dict) else []
        return [r for r in rows if isinstance(r, dict) and isinstance(r.get("name"), str)]

    @property
    def who(self) -> str:
        return self.name or self.id

    def feedback(self, function: str) -> str:
        """The feedback on `function`: its first line, and its first failed criterion."""
        for test in self.results.get("tests", []):
            lines = str(test.get("output", "")).splitlines()
            for at, line in enumerate(lines):
                if line.startswith(f"{function}:"):
                    rest = (x.strip() for x in lines[at + 1 :] if x.startswith("    "))
                    failed = next((x for x in rest if x.startswith("FAILED")), None)
                    return f"{line}; {failed}" if failed else line
        return ""

    def answer(self, question: str) -> tuple[str | None, str | None]:
        """(the written answer, None) or (None, why there is none), from the results."""
        for test in self.results.get("tests", []):
            if test.get("name") == wording.WRITTEN_TEST.format(question=question):
                return written.read_back(question, str(test.get("output", "")))
        return None, "not graded" if not self.graded else "missing"


def _number(text: object) -> float:
    try:
        return float(text or 0)
    except (TypeError, ValueError):
        return 0.0


def read(out: Path) -> list[Row]:
    """Every submission listed in ``out/scores.csv``, with its stored results."""
    rows = []
    with (out / "scores.csv").open(encoding="utf-8", errors="replace", newline="") as f:
        for record in csv.DictReader(f):
            record = {k: wording.valid_text(v or "") for k, v in record.items() if k}
            entry_id = record.get("id", "")
            stored = ledger.stored_results(out, entry_id) if roster.is_plain(entry_id) else None
            results = stored or {}
            scored = bool(results) and record.get("total", "").strip() != ""
            rows.append(
                Row(
                    id=entry_id,
                    name=record.get("name", ""),
                    error=record.get("error", "") or ("" if scored else "not graded"),
                    scores={q.name: _number(record.get(q.name)) for q in spec.QUESTIONS},
                    total=_number(record.get("total")),
                    results=results,
                    scored=scored,
                )
            )
    return rows


def mistakes_of(row: Row) -> dict[str, str]:
    found = row.results.get("extra_data", {}).get("mistakes", {})
    return found if isinstance(found, dict) else {}


def write_mistakes_csv(rows: list[Row], path: Path) -> None:
    """``mistakes.csv``: a row per submission and function matching a catalogued mistake."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["submission", "question", "function", "mistake"])
    for row in rows:
        found = mistakes_of(row)
        for question, function in FUNCTIONS:
            if function in found:
                writer.writerow([row.id, question, function, str(found[function])])
    ledger.write_text(path.parent, path, buffer.getvalue())


# --- plots --------------------------------------------------------------------------------------


def _png(figure) -> str:
    """A matplotlib figure as an <img> with a data URI."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def _score_plots(graded: list[Row]) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import MaxNLocator

    figure, axes = plt.subplots(1, 1 + len(spec.QUESTIONS), figsize=(15, 2.6))
    figure.subplots_adjust(left=0.04, right=0.99, bottom=0.12, top=0.88, wspace=0.3)
    totals = [r.total for r in graded]
    axes[0].hist(totals, bins=np.linspace(0, MAX_TOTAL, 2 * int(MAX_TOTAL) + 1), color="#3b6ea5")
    axes[0].set_title(f"total (of {MAX_TOTAL:g})")
    axes[0].set_ylabel("submissions")
    for axis, question in zip(axes[1:], spec.QUESTIONS, strict=True):
        values = [r.scores[question.name] for r in graded]
        bins = np.linspace(0, question.points, 4 * int(question.points) + 1)
        axis.hist(values, bins=bins, color="#6a9f58")
        axis.set_title(f"{question.name} (of {question.points:g})")
    for axis in axes:
        axis.spines[["top", "right"]].set_visible(False)
        axis.yaxis.set_major_locator(MaxNLocator(integer=True))
    return _png(figure)


def _function_plot(outcomes: dict[str, Counter]) -> str:
    import matplotlib.pyplot as plt

    names = [f for _, f in FUNCTIONS][::-1]
    parts = [
        ("all cases passed", "#6a9f58"),
        ("some cases failed", "#e0b040"),
        ("every case failed", "#c8553d"),
        ("not attempted", "#bbbbbb"),
    ]
    figure, axis = plt.subplots(figsize=(9, 0.32 * len(names) + 0.9))
    figure.subplots_adjust(left=0.25, right=0.97, bottom=0.15, top=0.86)
    left = [0] * len(names)
    for label, colour in parts:
        counts = [outcomes[n][label] for n in names]
        axis.barh(names, counts, left=left, color=colour, label=label)
        left = [a + b for a, b in zip(left, counts, strict=True)]
    axis.set_xlabel("submissions")
    axis.legend(
        loc="lower center", bbox_to_anchor=(0.4, 1.0), ncol=4, frameon=False, fontsize="small"
    )
    axis.spines[["top", "right"]].set_visible(False)
    return _png(figure)


# --- sections -----------------------------------------------------------------------------------


def _outcome(row: Row, function: str) -> str:
    extra = row.results.get("extra_data", {})
    kinds = extra.get("case_kinds", {}).get(function)
    if function in extra.get("not_attempted", ()) or not kinds:
        return "not attempted"
    passed = sum(p for p, _ in kinds.values())
    total = sum(t for _, t in kinds.values())
    if passed == total:
        return "all cases passed"
    return "every case failed" if passed == 0 else "some cases failed"


def _summary(rows: list[Row], graded: list[Row]) -> str:
    totals = [r.total for r in graded]
    items = [
        ("submissions", f"{len(rows)}"),
        ("graded", f"{len(graded)}"),
        ("not graded", f"{len(rows) - len(graded)}"),
    ]
    if totals:
        items += [
            ("mean total", f"{statistics.fmean(totals):.2f} / {MAX_TOTAL:g}"),
            ("median", f"{statistics.median(totals):.2f}"),
            ("full marks", f"{sum(t >= MAX_TOTAL - 1e-9 for t in totals)}"),
            ("zero", f"{sum(t <= 1e-9 for t in totals)}"),
        ]
    cards = "".join(
        f'<div class="card"><b>{html.escape(v)}</b><span>{html.escape(k)}</span></div>'
        for k, v in items
    )
    head = "".join(f"<th>{q.name}</th>" for q in spec.QUESTIONS)
    means = "".join(
        f"<td>{statistics.fmean(r.scores[q.name] for r in graded):.2f} / {q.points:g}</td>"
        if graded
        else "<td>–</td>"
        for q in spec.QUESTIONS
    )
    return (
        f'<div class="cards">{cards}</div>'
        f'<table class="small"><tr><th></th>{head}</tr><tr><th>mean</th>{means}</tr></table>'
    )


def _bar(passed: int, total: int) -> str:
    share = passed / total if total else 0.0
    return (
        f'<span class="bar"><span style="width:{100 * share:.0f}%"></span></span> '
        f"{100 * share:.0f}% <small>({passed}/{total})</small>"
    )


def _functions(graded: list[Row]) -> tuple[str, dict[str, Counter]]:
    status = {(id(r), f): _outcome(r, f) for r in graded for _, f in FUNCTIONS}
    outcomes = {f: Counter(status[id(r), f] for r in graded) for _, f in FUNCTIONS}
    blocks = []
    for question, function in FUNCTIONS:
        attempted = [r for r in graded if status[id(r), function] != "not attempted"]
        kinds: dict[str, list[int]] = {}
        for row in attempted:
            for kind, (passed, total) in row.results["extra_data"]["case_kinds"][function].items():
                counts = kinds.setdefault(kind, [0, 0])
                counts[0] += passed
                counts[1] += total
        rates = "".join(
            f"<tr><td>{html.escape(kind)}</td><td>{_bar(p, t)}</td></tr>"
            for kind, (p, t) in kinds.items()
        )
        criteria = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{_bar(p, t)}</td></tr>"
            for name, (p, t) in _criterion_rates(attempted, function).items()
        )
        matched = Counter(mistakes_of(r).get(function) for r in attempted)
        matched.pop(None, None)
        examples = {}
        for row in attempted:
            name = mistakes_of(row).get(function)
            if name and name not in examples:
                examples[name] = row.feedback(function)
        failing = sum(status[id(r), function] != "all cases passed" for r in attempted)
        unexplained = failing - sum(matched.values())
        items = "".join(
            f"<li><b>{count} submission{'s' if count != 1 else ''}</b>: {html.escape(name)}"
            f"<details><summary>example</summary><code>{html.escape(examples[name])}</code>"
            "</details></li>"
            for name, count in matched.most_common()
        )
        if unexplained:
            items += (
                f"<li><b>{unexplained} submission{'s' if unexplained != 1 else ''}</b>: "
                "failing, matching no catalogued mistake</li>"
            )
        unmatched = [
            r
            for r in attempted
            if status[id(r), function] != "all cases passed" and not mistakes_of(r).get(function)
        ]
        count = outcomes[function]
        blocks.append(
            f'<section class="function"><h3>{function} <small>({question})</small></h3>'
            f"<p>{count['all cases passed']} of {len(graded)} pass every case; "
            f"{len(graded) - len(attempted)} did not attempt it. Over the {len(attempted)} "
            "that attempted it, the pass rate per criterion:</p>"
            f'<table class="rates criteria">{criteria}</table>'
            f"<p>and per kind of hidden case:</p>"
            f'<table class="rates">{rates}</table>'
            f"<h4>Catalogued mistakes matched</h4><ul>{items or '<li>none</li>'}</ul>"
            f"<h4>Failures no catalogued mistake explains</h4>{_unexplained(unmatched, function)}"
            "</section>"
        )
    return "".join(blocks), outcomes


def _criterion_rates(attempted: list[Row], function: str) -> dict[str, list[int]]:
    """[passed, out of] per criterion of `function` (requirements included), over the
    submissions that attempted it, in the record's order."""
    rates = {name: [0, 0] for name in spec.criterion_points(function)}
    for row in attempted:
        for criterion in row.criteria(function):
            counts = rates.get(criterion["name"])
            if counts is not None:
                counts[0] += _passed(criterion)
                counts[1] += 1
    return {name: counts for name, counts in rates.items() if counts[1]}


def _passed(criterion: dict) -> bool:
    return _number(criterion.get("points")) >= _number(criterion.get("max_points")) - EPS > 0


def _lost(criterion: dict) -> float:
    return max(0.0, _number(criterion.get("max_points")) - _number(criterion.get("points")))


EPS = 1e-9  # points closer than this are equal (they are sums of float shares)
UNEXPLAINED_SHOWN = 5  # kinds of unexplained failure shown per function
LOSSES_SHOWN = 15  # criteria in the ranking of where the class lost its points
NOT_RUN = "not run: the upload could not be read"  # in that ranking, for every function


def _unexplained(rows: list[Row], function: str) -> str:
    """The failures of `function` that no catalogued mistake explains, grouped by criterion,
    kind of case and what went wrong: how many submissions, and the feedback's words for the
    first failing case of one of them (the kind of case and the error size, never an input
    or an expected value). The seed of new catalogued mistakes."""
    groups: dict[tuple[str, str, str], list[str]] = {}
    for row in rows:
        for criterion in row.criteria(function):
            first = criterion.get("first_failure")
            if not isinstance(first, dict):
                continue
            kind = spec.case_kind(str(first.get("case", "")))
            key = (criterion["name"], kind, str(first.get("status", "")))
            groups.setdefault(key, []).append(str(first.get("reason", "")))
    if not groups:
        return "<p>none</p>"
    ranked = sorted(groups.items(), key=lambda item: (-len(item[1]), item[0]))
    items = "".join(
        f"<li><b>{len(reasons)} submission{'s' if len(reasons) != 1 else ''}</b>: "
        f"{html.escape(name)}, first failing on {html.escape(kind)}"
        f"<details><summary>example</summary><code>{html.escape(reasons[0])}</code></details>"
        "</li>"
        for (name, kind, _), reasons in ranked[:UNEXPLAINED_SHOWN]
    )
    more = len(ranked) - UNEXPLAINED_SHOWN
    if more > 0:
        items += f"<li>and {more} more kind{'s' if more != 1 else ''} of failure</li>"
    return f'<ul class="unexplained">{items}</ul>'


def _losses(graded: list[Row]) -> str:
    """Where the class lost its points: every criterion ranked by the points the graded
    submissions lost on it, with how many lost it and how many of those did not attempt the
    function at all."""
    lost: dict[tuple[str, str], list] = {}
    for row in graded:
        skipped = set(row.results.get("extra_data", {}).get("not_attempted", ()))
        for _, function in FUNCTIONS:
            # A function that was not run (the upload could not be read) lost all its points.
            losses = [(c["name"], _lost(c)) for c in row.criteria(function)] or [
                (NOT_RUN, spec.function_points(function))
            ]
            for name, points in losses:
                if points <= EPS:
                    continue
                # An upload not run lost every function: one row for all of them.
                key = ("", name) if name == NOT_RUN else (function, name)
                entry = lost.setdefault(key, [0.0, set(), set()])
                entry[0] += points
                entry[1].add(id(row))
                if function in skipped or name == NOT_RUN:
                    entry[2].add(id(row))
    if not lost:
        return "<p>No graded submission lost a point.</p>"
    total = sum(entry[0] for entry in lost.values())
    possible = MAX_TOTAL * len(graded)
    ranked = sorted(lost.items(), key=lambda item: (-item[1][0], item[0]))
    question = {f: q for q, f in FUNCTIONS}
    body = "".join(
        f"<tr><td>{rank}</td><td>{html.escape(name)}</td>"
        + (
            f"<td>{function} <small>({question.get(function, '')})</small></td>"
            if function
            else "<td>every function</td>"
        )
        + f"<td>{points:.3g} <small>({points / total:.0%})</small></td>"
        f"<td>{len(rows)}</td><td>{len(untried)}</td></tr>"
        for rank, ((function, name), (points, rows, untried)) in enumerate(ranked[:LOSSES_SHOWN], 1)
    )
    more = len(ranked) - LOSSES_SHOWN
    tail = f"<p>… and {more} more criteria that lost points.</p>" if more > 0 else ""
    return (
        f"<p>The {len(graded)} graded submissions lost {total:.3g} of {possible:g} points "
        f"({total / possible:.0%}). Criteria by the points lost on them:</p>"
        '<table class="losses"><tr><th>#</th><th>criterion</th><th>function</th>'
        "<th>points lost (share of all lost)</th><th>submissions that lost it</th>"
        f"<th>of which did not attempt the function</th></tr>{body}</table>{tail}"
    )


def _notes(rows: list[Row]) -> str:
    """The submissions without a score, with why; then the graded ones with a note (a limit
    hit, an upload that could not be read, a folder missing from the metadata), with it and
    their score."""
    missing, noted = [], []
    for row in rows:
        reasons = [row.error] if row.error else []
        reasons += [str(line) for line in row.results.get("extra_data", {}).get("limits", [])]
        if not row.graded:
            missing.append((row, reasons or ["not graded"]))
        elif reasons:
            noted.append((row, reasons))
    if not missing and not noted:
        return "<p>Every submission was graded within its limits, without a note.</p>"

    def table(entries: list, scored: bool) -> str:
        head = "<th>score</th>" if scored else ""
        body = "".join(
            f"<tr><td>{html.escape(row.id)}</td><td>{html.escape(row.name)}</td>"
            + (f"<td>{row.total:g} / {MAX_TOTAL:g}</td>" if scored else "")
            + f"<td>{'<br>'.join(html.escape(r) for r in reasons)}</td></tr>"
            for row, reasons in entries
        )
        return (
            f"<table><tr><th>submission</th><th>students</th>{head}<th>why</th></tr>{body}</table>"
        )

    summary = (
        f"{len(missing)} not graded (no score); {len(noted)} graded with a note (their "
        "score counts: what was not run scores 0)"
    )
    opened = " open" if len(missing) + len(noted) <= 20 else ""
    parts = []
    if missing:
        parts.append(f"<h4>Not graded: no score</h4>{table(missing, False)}")
    if noted:
        parts.append(f"<h4>Graded, with a note</h4>{table(noted, True)}")
    return f"<details{opened}><summary>{summary}</summary>{''.join(parts)}</details>"


def _written(rows: list[Row]) -> str:
    sections = []
    for question in spec.WRITTEN_QUESTIONS:
        typed, silent, nobody = [], Counter(), []
        for row in sorted(rows, key=lambda r: (r.who.casefold(), r.id)):
            answer, why = row.answer(question) if row.graded else (None, "not graded")
            if why:
                silent[why] += 1
                nobody.append(f"{html.escape(row.who)} ({why})")
            else:
                typed.append((row, answer))
        answers = "".join(
            f'<div class="who">{html.escape(row.who)}</div>'
            f'<div class="answer">{html.escape(text)}</div>'
            for row, text in typed
        )
        none = ", ".join(f"{n} {why}" for why, n in sorted(silent.items()))
        listed = ", ".join(nobody)
        sections.append(
            f'<details class="written"><summary>{question}: {len(typed)} answers'
            f"{f' (no answer: {none})' if none else ''}</summary>"
            f'<div class="answers">{answers}</div>'
            f"{f'<p>No answer: {listed}.</p>' if nobody else ''}</details>"
        )
    return "".join(sections)


_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
h2{border-bottom:1px solid #ccc;margin-top:2em}
img{max-width:100%}
.cards{display:flex;gap:1em;flex-wrap:wrap;margin:1em 0}
.card{border:1px solid #ddd;border-radius:6px;padding:.5em 1em;min-width:7em}
.card b{display:block;font-size:1.4em}.card span{color:#666}
table{border-collapse:collapse}td,th{padding:.2em .6em;text-align:left;vertical-align:top}
tr:nth-child(even){background:#f6f6f6}
.functions{display:grid;grid-template-columns:repeat(auto-fill,minmax(520px,1fr));gap:0 2em}
.function{border-top:1px solid #eee;padding-top:.3em}
.bar{display:inline-block;width:140px;height:.8em;background:#eee;vertical-align:middle}
.bar span{display:block;height:100%;background:#6a9f58}
code{background:#f3f3f3;padding:.1em .3em;white-space:pre-wrap}
summary{cursor:pointer;font-weight:600;margin:.4em 0}
.answers{display:grid;grid-template-columns:minmax(10em,16em) 1fr;gap:.4em 1em}
.who{font-weight:600;border-top:1px solid #eee;padding-top:.4em}
.answer{white-space:pre-wrap;overflow-wrap:anywhere;border-top:1px solid #eee;padding-top:.4em}
"""

_CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


def render(rows: list[Row]) -> str:
    """The whole report as one HTML document."""
    graded = [r for r in rows if r.graded]
    functions, outcomes = _functions(graded)
    if not graded:
        plots, overview = "<p>No submission was graded.</p>", ""
    elif importlib.util.find_spec("matplotlib") is None:  # the grading-only venv (Gradescope's)
        plots, overview = "<p>Plots need matplotlib, which this Python does not have.</p>", ""
    else:
        plots, overview = _score_plots(graded), _function_plot(outcomes)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{_CSP}">
<title>disc05: class report</title><style>{_STYLE}</style></head>
<body>
<h1>disc05: class report</h1>
<h2 id="scores">Scores</h2>
{_summary(rows, graded)}
{plots}
<h2 id="losses">Where the class lost its points</h2>
{_losses(graded)}
<h2 id="functions">Functions</h2>
{overview}
<div class="functions">{functions}</div>
<h2 id="not-graded">Not graded, and notes on graded submissions</h2>
{_notes(rows)}
<h2 id="written">Written answers</h2>
<p>Every answer as the student typed it (Markdown and maths as typed), by student name.</p>
{_written(rows)}
</body></html>
"""


def write(out: Path) -> tuple[Path, Path]:
    """Write ``out/report.html`` and ``out/mistakes.csv`` from the batch in `out`."""
    rows = read(out)
    report, mistakes = out / "report.html", out / "mistakes.csv"
    ledger.write_text(out, report, render(rows))
    write_mistakes_csv(rows, mistakes)
    return report, mistakes
