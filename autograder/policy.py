"""The release's policy at grading time (`spec.Policy`): the one shipped in the autograder zip,
what Gradescope's ``submission_metadata.json`` says of this submission and the ones before it,
and whether this one is within the submission limit (`standing`).

The metadata is read as hostile, streamed, without the earlier submissions' results (which
every upload makes larger): at most `spec.METADATA_BYTES`, any JSON, any key missing or
of any type. A file that does not say enough to apply the limit never stops grading and never
raises a score: the submission is graded as without a limit, and staff read why in
results.json's ``extra_data.limit``. Every time comes from the metadata (the submission's
``created_at``, the previous ones' ``submission_time``, the due dates, a student's own where
Gradescope gives an extension), never from this machine's clock, so a regrade decides alike.
"""

import bisect
import dataclasses
import io
import json
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import BinaryIO

from . import spec, wording

POLICY_NAME = "policy.json"  # in the autograder zip, beside the `autograder` package
METADATA_NAME = "submission_metadata.json"  # in Gradescope's /autograder
_TEXT_CHARS = 64  # a time or a score written as text; Gradescope's are about 32


def to_json(policy: spec.Policy) -> str:
    """`policy` as the autograder zip ships it."""
    return json.dumps(dataclasses.asdict(policy), indent=2) + "\n"


def from_json(text: str) -> spec.Policy:
    """The policy shipped as `text` (`to_json`).

    Raises
    ------
    ValueError
        If it is not such a policy: not JSON, a key `spec.Policy` does not declare, a value it
        refuses.
    """
    data = json.loads(text)
    names = {f.name for f in dataclasses.fields(spec.Policy)}
    if not isinstance(data, dict) or not set(data) <= names:
        raise ValueError(f"{POLICY_NAME} must be an object with keys among {sorted(names)}")
    return spec.Policy(**data)


def release_policy(folder: Path) -> spec.Policy:
    """The policy shipped in `folder` (the unpacked autograder zip), or, where none is (a
    checkout), the one `spec.POLICY` declares."""
    path = Path(folder) / POLICY_NAME
    return from_json(path.read_text(encoding="utf-8")) if path.is_file() else spec.POLICY


# ## submission_metadata.json


class MetadataError(Exception):
    """The metadata does not say enough to apply the limit; the message says why (staff)."""


@dataclass(frozen=True)
class Previous:
    """An earlier submission of the same students, as the metadata records it."""

    time: datetime
    score: float | None  # None: not a finite number
    counted: bool  # False where Gradescope marks an autograder error: never the student's doing


@dataclass(frozen=True)
class Metadata:
    """What the limit needs of ``submission_metadata.json``."""

    created_at: datetime
    previous: tuple[Previous, ...]  # made before `created_at`, oldest first
    deadline: datetime | None  # the last moment Gradescope takes a submission of these students


def _time(value: object) -> datetime | None:
    """A time Gradescope writes (``2024-10-01T14:22:32.365935-07:00``), or None: not text,
    not such a time, or without its offset from UTC."""
    if not isinstance(value, str) or len(value) > _TEXT_CHARS:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def _score(value: object) -> float | None:
    """A finite score, given as a number or as text (Gradescope writes either), or None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and len(value) <= _TEXT_CHARS:
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:
            return None
        return number if math.isfinite(number) else None
    return None


def _deadline(assignment: object) -> datetime | None:
    """An assignment's last moment for submissions: its late due date, else its due date."""
    if not isinstance(assignment, dict):
        return None
    return _time(assignment.get("late_due_date")) or _time(assignment.get("due_date"))


def _students_deadline(data: dict) -> datetime | None:
    """The latest deadline among the submission's students: each one's own dates where
    Gradescope gives them (``users[].assignment``: an extension), else the assignment's."""
    shared = _deadline(data.get("assignment"))
    users = data.get("users")
    found = [
        _deadline(user.get("assignment")) or shared
        for user in (users if isinstance(users, list) else [])[:100]
        if isinstance(user, dict)
    ]
    found = [moment for moment in found if moment is not None]
    return max(found) if found else shared


class _Capped(io.RawIOBase):
    """A binary file read through, refusing to go past `spec.METADATA_BYTES`."""

    def __init__(self, file: BinaryIO):
        self.file, self.read_so_far = file, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = self.file.readinto(buffer)
        self.read_so_far += count or 0
        if self.read_so_far > spec.METADATA_BYTES:
            megabytes = spec.METADATA_BYTES >> 20
            raise MetadataError(wording.METADATA_WHY["too_large"].format(megabytes=megabytes))
        return count


# Each earlier submission's results: their size is the student's doing (every upload adds its
# results.json), and the limit never reads them, so they are skipped as they stream past.
_RESULTS_PATH = ["previous_submissions", "item", "results"]
_DEPTH = 64  # Gradescope's metadata is a few levels deep; the skipped results may be any depth


def _what_the_limit_reads(file: BinaryIO) -> object:
    """The metadata's JSON, streamed (`ijson`), without the earlier submissions' results.

    Raises
    ------
    MetadataError
        If it is not JSON, is larger than `spec.METADATA_BYTES`, nests deeper than `_DEPTH`
        or holds more than `spec.METADATA_VALUES` values besides the results.
    """
    import ijson

    builder, kept, path, skipping = ijson.ObjectBuilder(), 0, [], 0
    try:
        for event, value in ijson.basic_parse(_Capped(file), use_float=True):
            opens, closes = event in ("start_map", "start_array"), event in ("end_map", "end_array")
            if skipping:  # inside a skipped value: only its nesting is followed
                skipping += opens - closes
                if skipping == 1 and not (opens or closes):
                    skipping = 0  # it was a number, a string or null
                elif skipping == 1 and closes:
                    skipping = 0
                continue
            if event == "map_key" and path[:-1] == _RESULTS_PATH[:-1] and value == "results":
                path[-1], skipping = value, 1
                continue
            if opens:
                path.append("item" if event == "start_array" else None)
            elif closes:
                path.pop()
            elif event == "map_key":
                path[-1] = value
            kept += 1
            if len(path) > _DEPTH:
                raise MetadataError(wording.METADATA_WHY["too_deep"].format(depth=_DEPTH))
            if kept > spec.METADATA_VALUES:
                megabytes = spec.METADATA_BYTES >> 20
                raise MetadataError(wording.METADATA_WHY["too_large"].format(megabytes=megabytes))
            builder.event(event, value)
    except (ijson.JSONError, ValueError):  # ValueError: a lone surrogate, not UTF-8
        raise MetadataError(wording.METADATA_WHY["not_json"]) from None
    if not hasattr(builder, "value"):  # no document at all
        raise MetadataError(wording.METADATA_WHY["not_json"])
    return builder.value


def parse_metadata(raw: bytes | BinaryIO) -> Metadata:
    """What `raw`, a ``submission_metadata.json`` (its bytes, or the file), says of this
    submission and the earlier ones, read as a stream: however many earlier uploads it lists,
    and however large their results, it is read to the end, so no upload can lift the limit
    by making it large.

    Earlier submissions without a readable time, or made after this one, are left out.

    Raises
    ------
    MetadataError
        If it is too large, not a JSON object, or lacks a readable ``created_at`` or a list of
        ``previous_submissions``.
    """
    data = _what_the_limit_reads(io.BytesIO(raw) if isinstance(raw, bytes) else raw)
    if not isinstance(data, dict):
        raise MetadataError(wording.METADATA_WHY["not_object"])
    created_at = _time(data.get("created_at"))
    if created_at is None:
        raise MetadataError(wording.METADATA_WHY["no_created_at"])
    listed = data.get("previous_submissions")
    if not isinstance(listed, list):
        raise MetadataError(wording.METADATA_WHY["no_previous"])
    if len(listed) > spec.PREVIOUS_SUBMISSIONS:
        why = wording.METADATA_WHY["too_many"].format(most=spec.PREVIOUS_SUBMISSIONS)
        raise MetadataError(why)
    previous = []
    for entry in listed:
        if not isinstance(entry, dict):
            continue
        moment = _time(entry.get("submission_time"))
        if moment is None or moment >= created_at:
            continue
        counted = entry.get("autograder_error") is not True
        previous.append(Previous(moment, _score(entry.get("score")), counted))
    previous.sort(key=lambda p: p.time)
    return Metadata(created_at, tuple(previous), _students_deadline(data))


def read_metadata(path: Path) -> Metadata:
    """`parse_metadata` of the file at `path`, streamed.

    Raises
    ------
    MetadataError
        If it cannot be read, or `parse_metadata` refuses it.
    """
    try:
        with open(path, "rb") as file:
            return parse_metadata(file)
    except FileNotFoundError:
        raise MetadataError(wording.METADATA_WHY["missing"]) from None
    except OSError as error:
        why = wording.METADATA_WHY["unreadable"].format(error=type(error).__name__)
        raise MetadataError(why) from None


# ## The submission limit


def when(moment: datetime, zone: tzinfo | None, up: bool = False) -> str:
    """`moment` to the minute in `zone` (the submission's own offset from UTC): rounded up with
    `up`, so that "from 14:23" is never early."""
    if up and (moment.second or moment.microsecond):
        moment = moment + timedelta(minutes=1)
    moment = moment.replace(second=0, microsecond=0).astimezone(zone)
    offset = moment.strftime("%z")
    offset = "" if offset in ("", "+0000") else f"{offset[:3]}:{offset[3:]}"
    return f"{moment:%Y-%m-%d %H:%M} UTC{offset}"


@dataclass(frozen=True)
class Standing:
    """Where a submission stands against the submission limit.

    `graded`: whether the student gets this submission's results; `line`: what they read about
    the limit, first in results.json's output. A submission past the limit keeps `kept`, the
    score of the last graded one (made at `kept_at`), until `next_at`. Where the metadata does
    not allow the limit to be applied (`why`), every submission is graded and `line` is empty.
    """

    allowed: int
    hours: float
    graded: bool = True
    used: int = 0  # graded submissions in the window, this one included when it is graded
    line: str = ""
    kept: float | None = None
    kept_at: datetime | None = None
    next_at: datetime | None = None
    deadline: datetime | None = None
    why: str | None = None

    @property
    def applied(self) -> bool:
        return self.why is None

    def record(self) -> dict:
        """The standing as results.json's ``extra_data.limit`` keeps it, for staff."""
        moments = {k: getattr(self, k) for k in ("kept_at", "next_at", "deadline")}
        why = None if self.why is None else wording.LIMIT_NOT_APPLIED.format(why=self.why)
        return {
            "graded": self.graded,
            "allowed": self.allowed,
            "hours": self.hours,
            "used": self.used,
            "kept": self.kept,
            **{k: None if v is None else v.isoformat() for k, v in moments.items()},
            "not_applied": why,
        }


def standing(policy: spec.Policy, metadata: Metadata) -> Standing:
    """Whether the submission `metadata` describes is graded under `policy`'s limit.

    The earlier submissions are replayed oldest first under the same rule, so that one past the
    limit (not graded) never counts: a submission is graded when fewer than
    ``policy.submissions`` graded ones were made in the ``policy.window_hours`` before it
    (one made exactly that long before no longer counts). Submissions that Gradescope marks
    as an autograder error are not counted. A submission past the limit keeps the score of the
    last graded one, between 0 and full marks; if that score cannot be read, it is graded.

    Raises
    ------
    OverflowError
        If a time lies so near the end of the calendar that the window passes it.
    """
    allowed, hours = policy.submissions, policy.window_hours
    window, zone = timedelta(hours=hours), metadata.created_at.tzinfo
    times, graded = [], []
    for earlier in metadata.previous:
        if earlier.counted and _in_window(times, earlier.time, window) < allowed:
            times.append(earlier.time)
            graded.append(earlier)
    used = _in_window(times, metadata.created_at, window)
    deadline = None if metadata.deadline is None else metadata.deadline.astimezone(zone)
    if used < allowed:
        line = wording.LIMIT_COUNT.format(used=used + 1, allowed=allowed, hours=hours)
        return Standing(allowed, hours, used=used + 1, line=line, deadline=deadline)
    last = graded[-1]
    if last.score is None:
        why = wording.METADATA_WHY["no_kept_score"].format(last=when(last.time, zone))
        return Standing(allowed, hours, used=used + 1, deadline=deadline, why=why)
    full = sum(q.points for q in spec.QUESTIONS)
    kept = round(min(max(last.score, 0.0), full), 4)
    next_at = (times[len(times) - allowed] + window).astimezone(zone)
    line = wording.LIMIT_REACHED.format(
        allowed=allowed, hours=hours, score=kept, last=when(last.time, zone)
    )
    if deadline is not None and next_at > deadline:
        line += wording.LIMIT_NONE_BEFORE_DEADLINE.format(deadline=when(deadline, zone))
    else:
        line += wording.LIMIT_NEXT.format(next=when(next_at, zone, up=True))
    kept_at = last.time.astimezone(zone)
    return Standing(allowed, hours, False, used, line, kept, kept_at, next_at, deadline)


def _in_window(times: list[datetime], moment: datetime, window: timedelta) -> int:
    """How many of `times` (sorted) lie less than `window` before `moment`."""
    return len(times) - bisect.bisect_right(times, moment - window)


def standing_of(policy: spec.Policy, path: Path) -> Standing | None:
    """The submission's standing under `policy`'s limit, from the metadata file at `path`;
    None when the policy sets no limit. Never raises: metadata that cannot be used leaves the
    submission graded, saying why."""
    if policy.submissions is None:
        return None
    try:
        return standing(policy, read_metadata(path))
    except MetadataError as error:
        why = str(error)
    except OverflowError:
        why = wording.METADATA_WHY["out_of_range"]
    return Standing(policy.submissions, policy.window_hours, why=why)
