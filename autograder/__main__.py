"""Command line: ``python -m autograder COMMAND`` (see ``--help``)."""

import argparse
import json
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
    grade = commands.add_parser("grade", help="grade one submission and print a table")
    grade.add_argument("submission", type=_existing, help=".ipynb, export .zip, .py or a folder")
    grade.add_argument("--json", action="store_true", help="print the results.json instead")
    gradescope = commands.add_parser(
        "run-gradescope", help="grade ROOT/submission into ROOT/results/results.json"
    )
    gradescope.add_argument("root", type=Path, nargs="?", default=Path("/autograder"))
    gradescope.add_argument("--submission", type=_existing, help="grade this file instead")
    commands.add_parser(
        "install-sandbox", help="create the interpreter student code runs in, if root needs one"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command; return the exit status."""
    args = _parser().parse_args(argv)
    # Imports are per command: grading must not pay for (or need) the build's dependencies.
    if args.command == "build":
        from . import build

        try:
            build.build(args.dist, execute=not args.no_execute)
        except build.BuildError as error:
            print(f"build failed: {error}", file=sys.stderr)
            return 1
    elif args.command == "grade":
        from . import grader, sandbox

        try:
            report = grader.grade(args.submission)
        except sandbox.SandboxUnavailable as error:
            print(f"python -m autograder: {error}", file=sys.stderr)
            return 1
        print(json.dumps(report.to_gradescope(), indent=2) if args.json else report.table())
    elif args.command == "run-gradescope":
        from . import gradescope

        gradescope.run(args.root, args.submission)
    elif args.command == "install-sandbox":
        from . import sandbox

        try:
            print(sandbox.install())
        except sandbox.SandboxUnavailable as error:
            print(f"python -m autograder: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
