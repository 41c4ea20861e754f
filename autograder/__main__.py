"""Command line: ``python -m autograder COMMAND`` (see ``--help``)."""

import argparse
import json
import os
import sys
from pathlib import Path

DIST = Path(__file__).resolve().parent.parent / "dist"


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
    gradescope = commands.add_parser(
        "run-gradescope",
        help="grade ROOT/submission into ROOT/results/results.json",
        parents=[weak],
    )
    gradescope.add_argument("root", type=Path, nargs="?", default=Path("/autograder"))
    gradescope.add_argument("--submission", type=_existing, help="grade this file instead")
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
    commands.add_parser(
        "install-sandbox",
        help="install bubblewrap where possible, and create the interpreter student code runs "
        "in if root needs one",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command; return the exit status."""
    args = _parser().parse_args(argv)
    if getattr(args, "allow_weak_isolation", False):
        os.environ["DISC05_ALLOW_WEAK_ISOLATION"] = "1"
    # Imports are per command: grading must not pay for (or need) the build's dependencies.
    if args.command == "build":
        from . import build

        try:
            build.build(args.dist, execute=not args.no_execute)
        except build.BuildError as error:
            print(f"build failed: {error}", file=sys.stderr)
            return 1
    elif args.command == "grade":
        from . import sandbox

        sandbox.prestart()  # the sandbox boots on another core while the grader imports
        from . import grader

        try:
            report = grader.grade(args.submission)
        except sandbox.SandboxUnavailable as error:
            print(f"python -m autograder: {error}", file=sys.stderr)
            return 1
        print(json.dumps(report.to_gradescope(), indent=2) if args.json else report.table())
    elif args.command == "run-gradescope":
        from . import sandbox

        sandbox.prestart()
        from . import gradescope

        gradescope.run(args.root, args.submission)
    elif args.command == "grade-all":
        from . import sandbox

        sandbox.prestart()
        from . import batch

        out = args.out or args.path.with_name(args.path.stem + "-graded")
        try:
            summary = batch.grade_all(args.path, out, args.jobs, args.force, args.timeout)
        except (batch.BatchError, sandbox.SandboxUnavailable) as error:
            print(f"python -m autograder: {error}", file=sys.stderr)
            return 1
        print(
            f"graded {summary.graded}, skipped {summary.skipped} already graded, "
            f"{summary.errors} unreadable, in {summary.seconds:.1f} s: {summary.csv}"
        )
    elif args.command == "bench":
        from . import bench

        python = str(args.python) if args.python else None
        figures = bench.run(args.n, args.jobs, args.samples, args.otter_samples, python)
        print(json.dumps(figures, indent=2) if args.json else bench.report(figures))
    elif args.command == "install-sandbox":
        from . import confine, sandbox

        print(confine.provide_bubblewrap())
        try:
            print(sandbox.install())
        except sandbox.SandboxUnavailable as error:
            print(f"python -m autograder: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    status = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip interpreter teardown (tens of milliseconds with numpy loaded); fork servers see
    # their control socket close and exit on their own.
    os._exit(status)
