"""Every sentence the autograder writes about a submission, in one place.

Code decides (on status codes, never on text) and takes its sentences from here: feedback on
the hidden tests, notes about cells and limits, the results file and the terminal table, the
written answers' entries, why a submission cannot be read, what staff read about a
submission in ``scores.csv``, and the lines ``grader.check`` prints. Those last run in the
student's notebook without this package: the build writes them into the public test files as
constants (`autograder.public_checks`). The sentences about one call (raised, wrong shape,
not close...) are `autograder.compare`'s, which ships inside those files too.

Sentences are `str.format` templates; the names of their fields say what goes in.
`valid_text` makes any text a student controls safe to write, before a sentence quotes it;
`printable` also makes it one line that a terminal or a results page shows as it is.
"""

from .protocol import (  # noqa: F401 - the one rule; the sandbox's decoder uses it too
    printable,
    valid_text,
)


def points_text(value: float) -> str:
    """``0.5 points``, ``1 point``."""
    return f"{value:.3g} point" + ("" if value == 1 else "s")


def opening(text: str) -> str:
    """`text` as the start of a sentence: its first letter a capital."""
    return text[:1].upper() + text[1:]


# ## Feedback on one function (hidden tests)

# The whole feedback of a function that no case could run (not attempted, not defined).
UNTOUCHED = "{name}: {reason}"
FUNCTION_SCORE = "{name}: {earned:.3g} of {points}"
FUNCTION_UNSCORED = "{name}:"  # while the policy keeps the score from students
# A criterion's points, after its name ({points} in the lines below); empty while unscored.
CRITERION_POINTS = " ({points})"
CRITERION_PASSED = "    passed: {criterion}{points}"
CRITERION_UNTESTED = "    FAILED: {criterion}{points}: no case tests it"
CRITERION_FAILED = (
    "    FAILED: {criterion}{points}: {failed} of {total} cases failed; "
    "first failure, {label}: {reason}"
)
# A failed criterion while the policy keeps the detail from students: the stage it failed at.
CRITERION_FAILED_AT = "    FAILED: {criterion}{points}: {stage}"
CRITERION_WITHHELD = (
    "    FAILED: {criterion}{points}: earned only together with one of the criteria above"
)
# The stage, for the verdicts whose reason tells of the hidden case (its sizes, its shape, an
# exception's message); any other verdict's reason is its stage.
# What a failed case shows with details hidden (`results.stage`): fixed words, by status.
STAGES = {
    "raised": "raised {error}",
    "wrong_shape": "returned the wrong shape",
    "not_finite": "returned NaN or infinite values",
    "not_close": "not close to the expected values",
    "unconvertible": "returned something that does not convert to a float array",
    "broken_promise": "broke a promise of its docstring",
    "timeout": "ran out of time",
    "crashed": "ended the process running it",
    "skipped": "not run: an earlier case ran out of time or crashed",
    "stopped": "not run: the submission ran out of time, or its process ended",
    "not_attempted": "not attempted (it still raises NotImplementedError)",
    "not_defined": "is not defined in the submission",
}
STAGE_OTHER = "failed"
AN_EXCEPTION = "an exception"
# What a function's result broke of its docstring's promises (`autograder.compare`'s names).
PROMISE_BROKEN = {
    "unchanged": "modified one of its arguments in place (work on a copy instead)",
    "float": "returned {form}, not a Python float (wrap a scalar result in float(...))",
    "float64": "returned a float type narrower than float64",
}
FORM_WORDS = {"float64": "a float64 array", "narrow": "a narrower float", "other": "a non-float"}
HINT = "\n    Hint: {hint}"
# A graded function that calls another one the student wrote, which lost points on its own.
STANDIN = (
    "\n    Judged with the reference {callee} where it calls {callee}; yours is marked under "
    "{callee}, so its mistakes cost points there only."
)
STANDINS_OFF = (
    "Each function is judged with your own versions of the graded functions it calls, so a "
    "mistake in one can cost points in those that use it."
)
NOT_RUN = "{name}: not run"  # every function of a submission that could not be read

NUMPY_ONLY = "only numpy and Python's standard library are available: use numpy only"
MISSING_IMPORT = "is not defined: the cell that defines it raised {error} (" + NUMPY_ONLY + ")"

# ## What the sandbox reports about a call or a cell that did not end well

WORKER_UNKNOWN_END = "an unknown end"  # how a worker ended, inside the sentences below
WORKER_SIGNAL = "signal {name}"
WORKER_EXIT = "exit status {code}"
CPU_USED_UP = "used up the CPU time allowed for the whole submission"
CRASHED = "crashed the Python interpreter ({how})"
ENDED = "ended the Python process ({how})"
DID_NOT_FINISH = "did not finish within {seconds:g} s"
MALFORMED_MESSAGE = "sent a malformed message"
UNEXPECTED_MESSAGE = "sent an unexpected message"
CHANNEL = {  # a cap on what the sandbox may send back (`spec.Channel`), by `protocol` code
    "messages": "sent more messages than the job allows",
    "message_bytes": "sent a message larger than the grader accepts",
    "submission_bytes": "sent more data than the grader accepts",
}
UNCONVERTIBLE = {  # a result that is not a float array, by what the worker saw
    "none": "returned None (is a `return` statement missing?)",
    "bool": "returned a bool, not a number",
    "complex": "returned a {type} of complex numbers, not convertible to a float array",
    "other": "returned a {type} of values that is not convertible to a float array",
}
NOT_DEFINED_IN_SUBMISSION = "is not defined in the submission"
NOT_RUN = "was not run"
NOT_RUN_OUT_OF_TIME = "was not run: the submission used up its {seconds:g} s"
NOT_RUN_OUT_OF_BYTES = "was not run: the submission sent more than {megabytes} MB"
NOT_RUN_EARLIER_CASE = "was not run: an earlier case {why}"
NOT_RUN_SANDBOX = "was not run: the sandbox {why}"

# ## Notes about cells, shown with the results

# A cell as a student sees it: by the graded functions it defines, or else by its first line
# (the grader's count of code cells is not one a student can see).
CELL_DEFINING = "the cell defining {names}"
CELL_STARTING = "the cell starting `{line}`"
CELL_BLANK = "a blank cell"
NAMES_AND = "{names} and {last}"  # sigmoid, sigmoid_grad and max_sigmoid_grad
CELL_SKIPPED = "{place} was skipped: it {why}."
# The same with details hidden (`spec.Policy.detail`): fixed words, the code cell's number.
CELL_SKIPPED_QUIET = "Code cell {number} was skipped: it ran out of time or ended its process."
CELL_RAISED_QUIET = "Code cell {number} raised an exception."
CELL_RAISED = "{place} raised {error}"
CELL_IMPORT_FAILED = "{place} raised {error}: " + NUMPY_ONLY
MORE_CELLS = "… and {count} more cells like these."
# Where in a student's cells an error came from, after the error: "(line 2 of the cell ...)".
FRAME = "line {line} of {place}"
FRAME_IN = "line {line} of {place}, in {function}"  # in a function the cell does not name
FRAME_UNPLACED = "line {line}, in {function}"  # a cell beyond what the sandbox may number

# ## Limits hit, one line each (the class report lists them)

LIMIT_CELL = "{place} {why}"
LIMIT_CELL_RAISED = "{place} raised {error}"
LIMIT_CALL = "{function}: {message}"
LIMIT_CALL_RAISED = "{function}: raised {message}"
LIMIT_NOT_RUN = "{function} {message}"
MORE_LIMITS = "… and {count} more"
WHOLE_SUBMISSION = "the whole submission ({seconds:g} s)"  # what timed out

# ## The results file (Gradescope) and the terminal table

RESULTS_ORIGIN = "Graded {origin}."
RESULTS_ERROR = "The submission could not be graded: {error}"
WRITTEN_TEST = "{question} written answer"  # the name of its entry in results.json
TABLE_HEAD = f"{'question':<10}{'score':>8}{'max':>6}  feedback"
TABLE_ROW = "{question:<10}{score:>8.2f}{max:>6g}  {feedback}"
TABLE_MORE = " " * 26 + "{feedback}"  # further lines of a question's feedback
TABLE_WRITTEN = "{question:<10}" + " " * 14 + "  written answer: graded by hand"
TABLE_TOTAL = f"{'total':<10}" + "{score:>8.2f}{max:>6g}"
TABLE_ORIGIN = "Graded {origin}"
TABLE_CONFINEMENT = "Student code ran under: {confinement}."
TABLE_ERROR = "Could not grade: {error}"

# ## What the policy adds to results.json (`spec.Policy`)

# The entries of a question besides the one that carries its points, by what they show.
CRITERIA_TEST = "{question}: criteria"  # passed or failed, without points
DETAIL_TEST = "{question}: details"  # each failure in full, and the hint
# Gradescope hides the total while an entry is still to be shown; the output states it.
SCORE_LINE = "Autograded score: {score:.4g} of {max:g} points."
LIMIT_COUNT = "Graded submission {used} of the {allowed} allowed in any {hours:g} hours."
LIMIT_REACHED = (
    "Not graded: {allowed} submissions were graded in the {hours:g} hours before this one, as "
    "many as are allowed. Your score stays {score:g} points, that of your last graded "
    "submission ({last})."
)
LIMIT_NEXT = " The next submission graded is one made from {next}."
LIMIT_NONE_BEFORE_DEADLINE = " No later submission can be graded before your deadline ({deadline})."
# The entry (staff only) holding what this submission's results would have said.
LIMITED_OUTPUT_TEST = "Past the submission limit: this submission's own output (staff only)"
# Why no limit applied (staff read it in extra_data and the autograder's stdout).
LIMIT_NOT_APPLIED = "the submission limit was not applied: {why}"
METADATA_WHY = {
    "missing": "there is no submission_metadata.json",
    "unreadable": "submission_metadata.json cannot be read ({error})",
    "too_large": "submission_metadata.json is larger than {megabytes} MB",
    "too_deep": "submission_metadata.json nests values more than {depth} deep",
    "not_json": "submission_metadata.json is not JSON",
    "not_object": "submission_metadata.json does not hold a JSON object",
    "no_created_at": "submission_metadata.json has no readable created_at",
    "no_previous": "submission_metadata.json has no list of previous_submissions",
    "too_many": "submission_metadata.json lists more than {most:,} previous submissions",
    "out_of_range": "submission_metadata.json gives times too near the end of the calendar",
    "no_kept_score": "the score of the last graded submission ({last}) cannot be read",
}
# `grade --as-student`: what a student sees on Gradescope, at three moments.
AS_STUDENT = {
    "before_due_date": "What the student sees before the due date:",
    "after_due_date": "What the student sees after the due date:",
    "after_published": "What the student sees once grades are published:",
}
AS_STUDENT_TOTAL = "Total: {score:.4g} / {max:g}"
AS_STUDENT_NO_TOTAL = "Total: not shown yet (an entry is still to be shown)"
AS_STUDENT_ENTRY = "[{name}] {score:.4g} / {max:g}"
AS_STUDENT_UNSCORED_ENTRY = "[{name}]"

# When the grader, not the submission, is at fault (Gradescope shows it as the only output).
SANDBOX_UNAVAILABLE = (
    "the autograder could not run student code safely here ({error}); please tell the course staff"
)
GRADER_FAILED = "the autograder itself failed on this submission; please tell the course staff"

# ## Written answers, as their entries in results.json show them (Markdown)

WRITTEN_HEAD = "Graded by hand; the points appear once staff have graded it."
WRITTEN_FOLLOWS = " The answer as submitted:\n\n---\n\n"
# The end of an output cut so that the whole results file stays under its byte budget.
RESULTS_CUT = "\n… [cut here: the results of a submission must stay under {kilobytes} kB]"
WRITTEN_CUT = "{answer}\n\n*[cut here: the answer has {length:,} characters]*"
NO_ANSWER = {
    "unreadable": "**No answer found**: the submission could not be read.",
    "missing": (
        "**No answer found**: the submission has no answer cell for {question} "
        "(one deleted with nothing written in its place, or a file without the notebook's "
        "Markdown)."
    ),
    "untouched": "**No answer**: the answer cell still holds the placeholder text.",
    "empty": "**No answer**: the answer cell is empty.",
}

# ## Why a submission cannot be read, and what was left out of it

UNREADABLE = {
    "missing": "{name} does not exist",
    "not_text": "{name} is not a text file, so not a notebook",
    "too_deep": "{name} is not a notebook: its JSON is nested too deeply",
    "broken_json": (
        "{name} is not a valid notebook: its JSON is broken at line {line} ({error}). "
        "Download the notebook again from Jupyter (File → Download) and resubmit."
    ),
    "no_cells": "{name} is JSON but not a Jupyter notebook (it has no cells)",
    "many_notebooks": (
        "{where} holds {count} notebooks ({names}), and none of them is named {notebook}: "
        "submit only the notebook you want graded"
    ),
    "bad_zip": "{name} is not a valid zip file",
    "zip_without_notebook": "{name} holds no notebook ({notebook} expected)",
    "too_large": "{name} is larger than {megabytes} MB",
    "damaged_zip": "{name} is damaged: {member} in it cannot be read",
    "link": (
        "{name} is a symbolic link, and only regular files in the submission are read: "
        "submit the file itself"
    ),
    "cannot_read": "{name} cannot be read ({why})",
    "not_regular": "{name} is not a regular file",
    "empty": (
        "{name}: the file is empty (0 bytes). Save the notebook in Jupyter, then download "
        "or export it again and resubmit."
    ),
    "nothing_to_grade": (
        "no notebook to grade: the submission holds {found}. Upload {notebook} "
        "or the zip that the notebook's last cell writes."
    ),
    "wrong_suffix": "{name}: expected a .ipynb, .zip or .py file",
    "not_this_assignment": (
        "{name} is not the disc05 notebook: it defines none of disc05's functions "
        "({function} and the others), so it was not graded; upload {notebook} or the zip that "
        "its last cell writes"
    ),
    "too_many_values": (
        "{name} is not a notebook this assignment could produce: its JSON holds more than "
        "{most:,} values. Download the notebook again from Jupyter and resubmit."
    ),
    "too_many_lines": "{name} has more than {most:,} lines: upload {notebook} instead",
    "too_many_cells": (
        "{name} holds more than {most:,} code cells (or statements): upload {notebook} as "
        "the notebook's last cell exports it"
    ),
    "too_many_members": (
        "{name} holds more than {most:,} files: upload {notebook} or the zip its last cell writes"
    ),
    "too_many_entries": (
        "the submission holds more than {most:,} files: upload {notebook} or the zip that its "
        "last cell writes"
    ),
    "unpacked_too_much": (
        "the upload unpacked to more than {files} files or {megabytes} MB, so it was not "
        "graded: upload {notebook} or the zip that the notebook's last cell writes"
    ),
}
THE_SUBMISSION = "the submission"  # a submitted folder, as a message names it
IN_ZIP = "{member} in {name}"  # a file inside a submitted zip
LISTED_MORE = " and {count} more"  # after the first few names of a list
NOTHING_FOUND = "nothing"
OTHER_NOTEBOOKS = "graded {chosen}; ignored the other notebooks: {others}"
OTHER_FILES = "graded {chosen}; ignored the other files uploaded with it: {others}"
LINKS_IGNORED = "ignored symbolic links (only regular files are read): {links}"

# ## What staff read about a submission in scores.csv (``grade-all``)

NOT_GRADED = "not graded: {reason}"
NOT_GRADED_YET = "not graded yet"
TIMED_OUT = "timed out: {what}"
NOT_LISTED = "not listed in {metadata}"
ID_MADE_SAFE = (
    "listed under this id: its name {name} begins with a character a spreadsheet reads as "
    "the start of a formula"
)
SKIPPED_OUTPUT = (
    "not graded: it holds scores.csv and results/, as an earlier grade-all's output does "
    "(move it out of PATH to grade it as a submission)"
)
NOT_IN_EXPORT = "{export} has no {id}, which {metadata} lists"
NOT_TRIED = "not tried: the {count} submissions before it could not be graded either ({last})"
PROCESS_STOPPED = "its grading process stopped ({why})"
STALLED = (
    "its grading process made no progress for {seconds} s and was replaced; the next run grades it"
)
GRADER_FAILED_ON = "the grader failed on this submission ({why}); scored 0"
INTERRUPTED = (  # on the terminal, after Ctrl-C
    "interrupted: graded {graded} of the {total} submissions this run had to grade "
    "({skipped} already graded before); run the same command again to grade the rest "
    "(it resumes from {resume})"
)
GRADER_FAILED_COUNT = (  # on the terminal, after a batch
    "the grader failed on {count} submission(s), scored 0 with the reason in the error "
    "column: {ids}"
)
NOT_IN_ROSTER = "{metadata} entry {key} left out: {why}"  # a record that names no plain folder
ROSTER_WHY = {
    "not_plain": "not a plain folder name",
    "duplicate": "a folder listed twice",
}
OUTSIDE_OUTPUT = "refusing to write {path}: it lies outside the output folder {out}"

# ## What ``grader.check`` prints: one line per function, starting with a mark (and below a
# failing one, its hint)

PASSED_MARK, FAILED_MARK, WAITING_MARK, NOT_ATTEMPTED_MARK = "✓", "✗", "…", "○"
CHECK_LINES = {
    "not defined": FAILED_MARK + " {name}: not defined: run the cell that defines it",
    "not attempted": NOT_ATTEMPTED_MARK + " {name}: not attempted yet",
    "foreign": (
        FAILED_MARK + " {name}: uses {packages}, which is not available when your work is "
        "graded: use numpy only, as the notebook asks"
    ),
    "waiting": (
        WAITING_MARK + " {name}: not checked yet: its check compares it with your {other}, "
        "which {why}; {todo} {other} first"
    ),
    "blocked": FAILED_MARK + " {name}: fix {other} first: {name} calls your {other}, which {why}",
    "failed": FAILED_MARK + " {name}: {description}: {reason}",
    "hint": HINT,  # on a line of its own, below the function's
}
# Why another function holds this one up, and what to do about it, by that function's state.
CHECK_WHY = {
    "failed": "does not pass its own checks",
    "not attempted": "is not attempted yet",
    "not defined": "is not defined (run its cell)",
    "waiting": "is waiting for another function",
}
CHECK_TODO = {"failed": "fix", "not attempted": "write", "not defined": "run", "waiting": "fix"}


def check_passed(name: str, count: int) -> str:
    """The line of a function that passes all its `count` public checks."""
    return f"{PASSED_MARK} {name}: passes its {count} check{'s' * (count > 1)}"
