"""Command line: ``python -m autograder build``."""

import argparse
import sys
from pathlib import Path

from . import build


class _Parser(argparse.ArgumentParser):
    """Reports a bad command line in one line (and exit status 2), not a usage dump."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: {message} (see --help)\n")


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the command; return the exit status."""
    parser = _Parser(prog="python -m autograder", description="Build and check the disc05 release.")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    build_parser = commands.add_parser(
        "build", help="render, verify and write the release into dist/"
    )
    build_parser.add_argument(
        "--dist", type=Path, default=build.DIST, help="output folder (default: %(default)s)"
    )
    build_parser.add_argument(
        "--no-execute",
        action="store_true",
        help="skip running the notebooks top to bottom (faster, for drafting only)",
    )
    args = parser.parse_args(argv)

    if args.command == "build":
        try:
            build.build(args.dist, execute=not args.no_execute)
        except build.BuildError as error:
            print(f"build failed: {error}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
