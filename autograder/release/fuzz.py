"""``python -m autograder fuzz --minutes N``: the property-based tests, at length.

The test suite runs each property on a few dozen inputs, the same ones every run. A campaign
runs every test file that uses Hypothesis again and again under the ``campaign`` profile
(tests/conftest.py: thousands of random inputs per property, a new seed each round) until the
time is up, and reports how many inputs it tried and what failed. It needs a checkout (the
tests are not part of the autograder).
"""

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

TESTS = Path(__file__).resolve().parents[2] / "tests"
_EXAMPLES = re.compile(r"(\d+) passing(?: examples?| test cases?)?, (\d+) failing")


@dataclass
class Campaign:
    """What a campaign tried and found."""

    files: list[str]
    rounds: int = 0
    inputs: int = 0
    failures: list[str] = field(default_factory=list)  # the end of pytest's report, per round
    seconds: float = 0.0

    def summary(self) -> str:
        found = f"{len(self.failures)} failing rounds" if self.failures else "nothing failed"
        return (
            f"fuzz: {self.inputs:,} inputs in {self.rounds} rounds over {len(self.files)} test "
            f"files ({self.seconds / 60:.1f} min): {found}"
        )


def property_files() -> list[str]:
    """The test files that use Hypothesis."""
    return sorted(
        str(path)
        for path in TESTS.glob("test_*.py")
        if "from hypothesis import" in path.read_text(encoding="utf-8")
    )


def _failures(report: str, most: int = 8000) -> str:
    """What pytest said about the failures of a round: the start of its FAILURES section and
    its short summary (the statistics that follow them are long and say nothing of it)."""
    failures = report.find("= FAILURES =")
    summary = report.find("= short test summary info =")
    shown = report[failures : failures + most] if failures >= 0 else ""
    return shown + ("\n" + report[summary:][:most] if summary >= 0 else report[-most:])


def run(minutes: float, log=print) -> Campaign:
    """Run rounds of every property under the campaign profile for about `minutes`."""
    campaign = Campaign(property_files())
    if not campaign.files:
        raise FileNotFoundError(f"no property-based tests under {TESTS}: fuzz needs a checkout")
    start = time.monotonic()
    end = start + 60 * minutes
    env = {**os.environ, "HYPOTHESIS_PROFILE": "campaign"}
    while time.monotonic() < end or not campaign.rounds:
        seed = str(int.from_bytes(os.urandom(4), "little"))
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        command += ["-m", "not slow", "--hypothesis-show-statistics", f"--hypothesis-seed={seed}"]
        done = subprocess.run(
            [*command, *campaign.files], capture_output=True, text=True, env=env, cwd=TESTS.parent
        )
        counts = _EXAMPLES.findall(done.stdout)
        campaign.inputs += sum(int(passed) + int(failed) for passed, failed in counts)
        campaign.rounds += 1
        if done.returncode != 0:
            found = _failures(done.stdout)
            campaign.failures.append(f"seed {seed}:\n{found}")
            log(f"round {campaign.rounds} (seed {seed}) failed:\n{found}")
        else:
            log(f"round {campaign.rounds} (seed {seed}): {campaign.inputs:,} inputs so far")
    campaign.seconds = time.monotonic() - start
    return campaign
