"""Command line: ``python -m autograder COMMAND`` (see ``--help``).

Exit status: 0 done (for ``grade``: graded, whatever the score); 1 not done: the build
failed, or grading failed through no fault of the submission (``grade``: not graded;
``grade-all``: some submissions not graded); 2 a bad command line; 3 (``grade``) the
submission could not be read, and is scored 0 with the reason, as Gradescope would;
130 (``grade-all``) interrupted with Ctrl-C: what was graded is kept, and a rerun resumes.
"""

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

DIST = Path(__file__).resolve().parent.parent / "dist"
DONE, FAILED, USAGE, UNREADABLE = 0, 1, 2, 3
INTERRUPTED = 128 + 2  # Ctrl-C (SIGINT), as shells report it


class _Parser(argparse.ArgumentParser):
    """Reports a bad command line in one line (and exit status 2), not a usage dump."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def _existing(text: str) -> Path:
    path = Path(text)
    if not path.exists():
        raise argparse.ArgumentTypeError(f"{text} does not exist")
    return path


def _positive(kind: type, what: str):
    """An argparse type: a number of `kind` greater than zero."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected {what} greater than 0, not {text!r}")
        return value

    return parse


_positive_int = _positive(int, "a whole number")
_positive_float = _positive(float, "a number of seconds")


def _parser() -> _Parser:
    parser = _Parser(prog="python -m autograder", description="Build, check and grade disc05.")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    build = commands.add_parser("build", help="render, verify and write the release into dist/")
    build.add_argument(
        "--dist", type=Path, default=DIST, help="output folder (default: %(default)s)"
    )
    build.add_argument(
        "--no-execute",
        action="store_true",
        help="skip running the notebooks top to bottom (faster, for drafting only)",
    )
    weak = argparse.ArgumentParser(add_help=False)
    weak.add_argument(
        "--allow-weak-isolation",
        action="store_true",
        help="where bubblewrap cannot isolate student code, run it with the remaining layers "
        "(see README: isolation) instead of refusing",
    )
    grade = commands.add_parser(
        "grade", help="grade one submission and print a table", parents=[weak]
    )
    grade.add_argument("submission", type=_existing, help=".ipynb, export .zip, .py or a folder")
    grade.add_argument("--json", action="store_true", help="print the results.json instead")
    grade.add_argument(
        "--as-student",
        action="store_true",
        help="print what a student sees on Gradescope under the release's policy, before and "
        "after the due date (with --json: the results.json Gradescope receives)",
    )
    grade.add_argument(
        "--metadata",
        type=_existing,
        help="with --as-student: a submission_metadata.json to judge the submission limit on",
    )
    gradescope = commands.add_parser(
        "run-gradescope",
        help="grade ROOT/submission into ROOT/results/results.json",
        parents=[weak],
    )
    gradescope.add_argument("root", type=Path, nargs="?", default=Path("/autograder"))
    gradescope.add_argument("--submission", type=_existing, help="grade this file instead")
    gradescope.add_argument("--refused", help=argparse.SUPPRESS)  # `otter run`: why not graded
    batch = commands.add_parser(
        "grade-all", help="grade a folder of submissions or a Gradescope export zip", parents=[weak]
    )
    batch.add_argument("path", type=_existing, help="folder of submissions, or an export .zip")
    batch.add_argument("-o", "--out", type=Path, help="output folder (default: PATH-graded)")
    batch.add_argument("-j", "--jobs", type=_positive_int, help="parallel workers (default: cores)")
    batch.add_argument("--force", action="store_true", help="regrade what is already graded")
    batch.add_argument(
        "--timeout", type=_positive_float, help="seconds allowed per submission (default: 60)"
    )
    bench = commands.add_parser("bench", help="measure grading speed and memory against baselines")
    bench.add_argument("--n", type=_positive_int, default=700, help="submissions (default: 700)")
    bench.add_argument("-j", "--jobs", type=_positive_int, default=2, help="workers (default: 2)")
    bench.add_argument("--samples", type=_positive_int, default=10, help="single-run samples")
    bench.add_argument(
        "--otter-samples", type=int, default=3, help="otter run samples (0: skip Otter)"
    )
    bench.add_argument("--json", action="store_true", help="print the figures as JSON")
    bench.add_argument(
        "--python", type=_existing, help="interpreter to time (default: this one; needs numpy)"
    )
    fuzz = commands.add_parser(
        "fuzz", help="run the property-based tests at length, on random hostile inputs"
    )
    fuzz.add_argument(
        "--minutes", type=_positive_float, default=10.0, help="how long (default: 10)"
    )
    commands.add_parser(
        "install-sandbox",
        help="install bubblewrap where possible, and create the interpreter student code runs "
        "in if root needs one",
    )
    venv = commands.add_parser(
        "gradescope-venv", help="create the venv that the autograder zip's setup.sh makes"
    )
    venv.add_argument(
        "venv", type=Path, nargs="?", default=None, help="where (default: /opt/disc05/venv)"
    )
    return parser


def _say(text: str) -> None:
    """Print to stdout; a reader that stopped reading (``| head``) is not an error."""
    from .protocol import valid_text

    try:
        print(valid_text(text), flush=True)
    except BrokenPipeError:
        # Point stdout at /dev/null so that nothing else tries to write to the closed pipe.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _fail(message: str) -> None:
    print(f"python -m autograder: {message}", file=sys.stderr)


def _not_graded(error: Exception) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"not graded: {lines[0] if lines else type(error).__name__}"


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command; return the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if getattr(args, "metadata", None) is not None and not args.as_student:
        parser.error("--metadata needs --as-student")
    if getattr(args, "allow_weak_isolation", False):
        os.environ["DISC05_ALLOW_WEAK_ISOLATION"] = "1"
    # Imports are per command: grading must not pay for (or need) the build's dependencies.
    if args.command == "build":
        from .release import build

        try:
            build.build(args.dist, execute=not args.no_execute)
        except build.BuildError as error:
            print(f"build failed: {error}", file=sys.stderr)
            return FAILED
    elif args.command == "grade":
        _use_release_record()
        return _grade(args)
    elif args.command == "run-gradescope":
        _use_release_record()
        _with_sandbox("gradescope").run(args.root, args.submission, refused=args.refused)
    elif args.command == "grade-all":
        try:
            _use_release_record()
            return _grade_all(args)
        except KeyboardInterrupt:  # before grading began (grade_all says more once it has)
            _fail("interrupted before grading began: nothing was graded")
            return INTERRUPTED
    elif args.command == "bench":
        from .release import bench

        python = str(args.python.absolute()) if args.python else None
        figures = bench.run(args.n, args.jobs, args.samples, args.otter_samples, python)
        _say(json.dumps(figures, indent=2) if args.json else bench.report(figures))
    elif args.command == "fuzz":
        from .release import fuzz

        try:
            campaign = fuzz.run(args.minutes)
        except FileNotFoundError as error:
            _fail(f"fuzz: {error}")
            return FAILED
        _say(campaign.summary())
        return FAILED if campaign.failures else 0
    elif args.command == "install-sandbox":
        from . import confine, install

        _say(confine.provide_bubblewrap())
        try:
            _say(install.install())
        except (confine.SandboxUnavailable, OSError, subprocess.CalledProcessError) as error:
            _fail(f"install-sandbox failed: {error}")
            return FAILED
    elif args.command == "gradescope-venv":
        from . import gradescope
        from .release import package

        venv = args.venv or Path(gradescope.VENV)
        try:
            _say(package.gradescope_venv(venv.resolve()))
        except (RuntimeError, OSError) as error:
            _fail(f"gradescope-venv failed: {error}")
            return FAILED
    return DONE


_RENDER_RECORD = (
    "from autograder.release import notebook, public_checks\n"
    "student = notebook.build_notebook('student', public_checks.render_all())\n"
    "print(notebook.release_record(student).to_json(), end='')\n"
)


def _use_release_record() -> None:
    """In a checkout, where no release record ships beside the package, grade against the one
    the build would ship, so that a local grading skips our cells and reads the written answers
    as Gradescope does. It is rendered in a process of its own (a few seconds): what rendering
    leaves running in a process must not be there when a batch forks its grading processes.
    The rendering is kept in `build/`, named by a digest of every source it is made from, so
    the next command reads it (a few milliseconds) until a source changes."""
    from . import handout

    if handout.SHIPPED.exists():
        return
    root = Path(__file__).resolve().parent.parent
    kept = root / "build" / f"handout-{_sources_digest(root)}.json"
    try:
        handout.use(handout.Record.from_json(kept.read_text("utf-8")))
        return
    except (OSError, ValueError, KeyError, TypeError):  # none yet, or not one we wrote
        pass
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", _RENDER_RECORD], capture_output=True, text=True, env=env, cwd=root
    )
    if done.returncode != 0:  # the runtime alone, as shipped without its record
        return
    handout.use(handout.Record.from_json(done.stdout))
    try:  # written whole, then renamed: a reader sees the last rendering or this one
        kept.parent.mkdir(mode=0o700, exist_ok=True)
        partial = kept.with_name(f".{kept.name}.{os.getpid()}")
        partial.write_text(done.stdout, encoding="utf-8")
        partial.replace(kept)
        for earlier in kept.parent.glob("handout-*.json"):  # renderings of other sources
            if earlier != kept:
                earlier.unlink(missing_ok=True)
    except OSError:  # a checkout this user cannot write to renders on every command
        pass


def _sources_digest(root: Path) -> str:
    """A digest of the files the release record is rendered from: the assignment's sources,
    the grader and the release tooling, the answer key (each file's path and bytes)."""
    import hashlib

    digest = hashlib.sha256()
    for folder in ("assignment", "autograder", "solutions"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(f"{path.relative_to(root)}\0".encode())
                digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:32]


def _with_sandbox(name: str) -> ModuleType:
    """Import the grading module `name` while the sandbox boots on another core: its first
    fork server starts now (`sandbox.prestart`), not when the first submission needs it."""
    from . import sandbox

    sandbox.prestart()
    return importlib.import_module(f".{name}", __package__)


def _grade(args: argparse.Namespace) -> int:
    grader = _with_sandbox("grader")
    from .sandbox import SandboxUnavailable

    try:
        report = grader.grade(args.submission)
    except SandboxUnavailable as error:
        _fail(_not_graded(error))
        return FAILED
    except Exception as error:  # noqa: BLE001 - a fault of the grader, not the submission
        import traceback

        traceback.print_exc()
        _fail(f"{_not_graded(error)} (the grader failed: {type(error).__name__})")
        return FAILED
    from .results import results_json

    if args.as_student:
        _say(_as_student(report, args))
    elif args.json:
        _say(results_json(report.to_gradescope()).decode("utf-8").rstrip("\n"))
    else:
        from .wording import printable

        _say(printable(report.text(), lines=True))  # no student text steers the terminal
    return UNREADABLE if report.error is not None else DONE


def _as_student(report, args: argparse.Namespace) -> str:
    """What a student sees of `report` under the release's policy, at each moment; with
    ``--json``, the results.json Gradescope receives."""
    from . import policy, results, wording

    rules = policy.release_policy(Path(__file__).resolve().parent.parent)
    standing = None
    if rules.submissions is not None and args.metadata is not None:
        standing = policy.standing_of(rules, args.metadata)
    data = json.loads(results.results_json(report.to_gradescope(rules, standing)))
    if args.json:
        return json.dumps(data, indent=2, ensure_ascii=False)
    moments = ["before_due_date", "after_due_date"]
    if any(t["visibility"] == "after_published" for t in data["tests"]):
        moments.append("after_published")
    text = "\n\n".join(results.as_student(data, moment) for moment in moments)
    return wording.printable(text, lines=True)  # no student text steers the terminal


def _printable(text: str) -> str:
    """`text` as one line a terminal shows as it is (`wording.printable`)."""
    from .wording import printable

    return printable(text)


def _grade_all(args: argparse.Namespace) -> int:
    batch = _with_sandbox("batch")
    path = args.path.resolve()
    out = args.out or path.with_name(path.stem + "-graded")
    try:
        summary = batch.grade_all(path, out, args.jobs, args.force, args.timeout)
    except batch.BatchError as error:
        _fail(_printable(str(error)))
        return FAILED
    except batch.Interrupted as interrupted:
        _fail(_printable(str(interrupted)))
        return INTERRUPTED
    for line in summary.left_out:
        _fail(_printable(line))
    if summary.unlisted:
        _fail(
            f"{len(summary.unlisted)} submission folder(s) not in {batch.METADATA}, graded "
            f"without names: {_printable(', '.join(summary.unlisted))}"
        )
    if summary.grader_failed:
        from .wording import GRADER_FAILED_COUNT

        ids = _printable(", ".join(summary.grader_failed))
        _fail(GRADER_FAILED_COUNT.format(count=len(summary.grader_failed), ids=ids))
    _say(
        f"graded {summary.graded}, skipped {summary.skipped} already graded, "
        f"{summary.errors} unreadable, {len(summary.not_graded)} not graded, "
        f"in {summary.seconds:.1f} s: {_printable(str(summary.csv))}"
    )
    if summary.not_graded:
        reasons = sorted(set(summary.not_graded.values()))
        _fail(
            f"{len(summary.not_graded)} submission(s) not graded, through no fault of their "
            f"own (no score recorded; the next run grades them): {_printable(reasons[0])}"
            + (f" (and {len(reasons) - 1} other reasons)" if len(reasons) > 1 else "")
        )
        return FAILED
    return DONE


if __name__ == "__main__":
    status = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except BrokenPipeError:
        pass
    # Skip interpreter teardown (tens of milliseconds with numpy loaded), but end the fork
    # servers first: one that student code stopped (without namespaces it can signal them)
    # would never see its control socket close.
    if "autograder.forkserver" in sys.modules:
        sys.modules["autograder.forkserver"].stop_all()
    os._exit(status)
