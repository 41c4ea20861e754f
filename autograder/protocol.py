"""What crosses the sandbox boundary, written once for both sides: the schema and its codec.

The grader sends the sandboxed worker one *job* (one line of JSON, `encode_job`, read by
`read_job`): the submission's cells, the calls to make, the limits and the paths it may read.
The worker answers with *events*, one JSON object per line on a pipe (`send`). On the job's
pipe, after the job, the grader sends one *answer* per ``standin`` event, and nothing else.
Student code runs in the worker's process and can write anything to the events' pipe, so the
grader treats every byte as hostile: `EventReader` reads with hard limits (bytes per event,
events and bytes per submission), `parse_event` accepts only the shapes declared below and
returns None for anything else, and every string a student controls is cut to a fixed length
first and only then cleaned, in linear time. The worker decides nothing; it only reports what
happened, and the grader draws every conclusion.

Standard library only, Python 3.10 syntax: the worker loads this source privately, in an
interpreter that has nothing but the standard library and numpy. Functions that make or read
arrays take numpy as an argument (`np`), so that importing this module never imports numpy.
The caps it applies are not declared here but in `autograder.spec` (`Channel`, `Limits`), and
given to it by the grader, or to the worker in the job.

The job, as the grader writes it:

* ``cells``: [str], the submission's cells in order; ``skip``: [int], cells not to run (they
  failed a previous worker).
* ``limits``: ``{"memory_mb": int, "cpu_seconds": int, "open_files": int}``, the resource
  limits the worker sets on itself; ``report``: ``{"text_chars": int, "frames": int,
  "standin_elements": int}``, how much of an exception it sends (no more than the grader
  reads), and the most array elements a stand-in sends.
* ``landlock``: int, the highest Landlock ABI to use (0: none); ``seccomp``: the system-call
  filter as base64, or null; ``readable``: [str], the paths it may read.
* ``calls``: [``{"function": str, "strict": bool, "args": [ARG], "id": int}``], in order;
  an ARG is an array, ``{"list": [...]}`` or ``{"float": number}``.
* ``graded``: [[str, [str]]], every graded function with its parameters, in question order.
  Before it calls a function, the worker puts a *stand-in* in place of each graded function
  listed before it (`autograder.worker`): a function that asks the grader for the
  reference's value (a ``standin`` event, then one answer) and calls the student's own
  function only when the grader answers ``own``. A function's own calls all come before any
  later function's, so no function is ever judged with a stand-in of itself.

Events, as the worker writes them:

* ``{"event": "ready", "uid": int, "landlock": int, "seccomp": bool}``: confined; student
  code runs next.
* ``{"event": "cell", "index": int}``: cell `index` starts.
* ``{"event": "cell_error", "index": int, "type": str, "message": str, "where": [str]}``.
* ``{"event": "calls"}``: the graded calls start, in the order the job gave them.
* ``{"event": "result", "id": int, "kind": KIND, ...}`` with KIND one of ``value`` (plus
  ``value``: an array, ``args``: the `fingerprint` of each argument after the call, or null
  where it no longer reads as a float array, ``form``: one of `FORMS`, what was returned),
  ``raised`` (plus ``type``, ``message``, ``where``), ``not_defined``, ``unconvertible``
  (plus ``what``: one of `UNCONVERTIBLE`, ``type``: str).
* ``{"event": "standin", "function": str, "args": [ARG]}``: the call being judged called a
  stand-in; ARG is an array or ``{"float": number}`` (`standin_arg`).
* ``{"event": "done", "peak_kb": int}``.
* ``{"event": "fatal", "message": str}``: the worker could not start (before student code).

Answers, as the grader writes them on the job's pipe: ``{"value": ARG}``, the reference's
value (an array or ``{"float": number}``), or ``{"own": true, "more": bool}``: call the
student's own function (the reference could not answer, or the arguments were not what it
takes); with ``more`` false, stop asking (the submission used up `Channel.standin_calls`).

An array is ``{"array": base64 of little-endian float64, "shape": [int, ...]}``.
"""

import base64
import binascii
import hashlib
import json
import math
import os
import re
import select
import time
import types
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # never at run time (so the annotations are quoted): the worker has neither
    import io

    import numpy

    from .spec import Channel

UNCONVERTIBLE = ("none", "bool", "complex", "other")
FORMS = ("float", "float64", "narrow", "other")  # `autograder.compare.FORMS`, for the worker


class ProtocolError(Exception):
    """The worker went past a cap; it is ended, and what it was doing is charged to it.

    `cap` names the cap: ``messages`` (events per worker), ``message_bytes`` (one event) or
    ``submission_bytes`` (everything the submission's workers sent); the grader words it.
    """

    def __init__(self, cap: str):
        super().__init__(cap)
        self.cap = cap


# --- arrays -------------------------------------------------------------------------------


def pack_array(data: bytes, shape: tuple[int, ...] | list[int]) -> dict:
    """An array for the wire: `data` are little-endian float64 bytes."""
    return {"array": base64.b64encode(data).decode("ascii"), "shape": list(shape)}


def encode_array(value: object, np: types.ModuleType) -> dict:
    """Anything numpy reads as a float64 array, for the wire."""
    array = np.asarray(value, dtype="<f8", order="C")
    return pack_array(array.tobytes(), array.shape)


def to_array(
    data: bytes, shape: tuple[int, ...] | list[int], np: types.ModuleType
) -> "numpy.ndarray":
    """A writable float64 array from wire bytes (`unpack_array`'s, or a trusted job's)."""
    return np.frombuffer(data, dtype="<f8").reshape(shape).copy()


def digest(data: bytes, shape: tuple[int, ...]) -> str:
    """A float64 array's fingerprint, from its bytes and shape."""
    return hashlib.blake2b(repr(tuple(shape)).encode() + data, digest_size=16).hexdigest()


def fingerprint(value: object, np: types.ModuleType) -> str | None:
    """An argument's `digest` as a float64 array, or None if it no longer reads as one. The
    grader computes it for what it sends, the worker for what the call left: equal if and only
    if the call did not change the argument."""
    try:
        array = np.asarray(value, dtype="<f8", order="C")
        return digest(array.tobytes(), array.shape)
    except BaseException:  # noqa: BLE001 - student code may have mangled it beyond reading
        return None


_DIGEST = re.compile(r"[0-9a-f]{32}")


def unpack_array(value: object, channel: "Channel") -> tuple[bytes, tuple[int, ...]] | None:
    """The bytes and shape of a well-formed wire array within `channel`'s caps, or None."""
    if not isinstance(value, dict) or set(value) != {"array", "shape"}:
        return None
    shape, text = value["shape"], value["array"]
    if not isinstance(shape, list) or len(shape) > channel.dims or not isinstance(text, str):
        return None
    if not all(type(n) is int and 0 <= n <= channel.elements for n in shape):
        return None
    size = math.prod(shape)
    if size > channel.elements or len(text) != 4 * math.ceil(8 * size / 3):
        return None
    try:
        data = binascii.a2b_base64(text)  # any bytes are floats; a wrong length is refused
    except (binascii.Error, ValueError):
        return None
    return (data, tuple(shape)) if len(data) == 8 * size else None


# --- the job --------------------------------------------------------------------------------


def encode_call(function: str, args: tuple | list, strict: bool, np: types.ModuleType) -> str:
    """One call of the job as JSON, without its id (`encode_job` adds it): a batch encodes
    each hidden call once, however many submissions it is sent to."""
    wire = [encode_array(a, np) if isinstance(a, np.ndarray) else _plain(a) for a in args]
    return json.dumps({"function": function, "strict": strict, "args": wire})


def _plain(value: object) -> dict:
    return {"list": value} if isinstance(value, list) else {"float": float(value)}


def encode_job(
    cells: list[str],
    skip: list[int],
    limits: dict,
    report: dict,
    landlock: int,
    seccomp: bytes | None,
    readable: list[str],
    calls: list[tuple[int, str]],
    graded: list | tuple = (),
) -> bytes:
    """The job (see the schema above); `calls` pairs each id with its `encode_call` text."""
    head = {
        "graded": [[name, list(params)] for name, params in graded],
        "cells": cells,
        "skip": skip,
        "limits": limits,
        "report": report,
        "landlock": landlock,
        "seccomp": None if seccomp is None else base64.b64encode(seccomp).decode("ascii"),
        "readable": readable,
    }
    wire = ", ".join(f'{text[:-1]}, "id": {ident}}}' for ident, text in calls)
    return f'{json.dumps(head)[:-1]}, "calls": [{wire}]}}\n'.encode()


def read_job(reader: "io.BufferedReader", np: types.ModuleType) -> dict:
    """The job, the first line of `reader`, each call's arguments decoded (the worker's side;
    the grader wrote it, so it is not checked)."""
    job = json.loads(reader.readline())
    job["seccomp"] = None if job["seccomp"] is None else base64.b64decode(job["seccomp"])
    for call in job["calls"]:
        call["args"] = [_decode_arg(a, np) for a in call["args"]]
    return job


def read_answer(reader: "io.BufferedReader", np: types.ModuleType) -> tuple[object, bool]:
    """The grader's answer to a stand-in's question (the worker's side): the reference's
    value, or None to call the student's own function; and whether to go on asking."""
    answer = json.loads(reader.readline())
    if "value" in answer:
        return _decode_arg(answer["value"], np), True
    return None, bool(answer.get("more"))


def encode_answer(value: object, np: types.ModuleType) -> bytes:
    """The grader's answer to a stand-in: the reference's `value` (a float, or anything numpy
    reads as a float64 array)."""
    wire = {"float": value} if isinstance(value, float) else encode_array(value, np)
    return (json.dumps({"value": wire}) + "\n").encode()


def own_answer(more: bool) -> bytes:
    """The grader's answer that the stand-in calls the student's own function."""
    return (json.dumps({"own": True, "more": more}) + "\n").encode()


def standin_arg(value: object, np: types.ModuleType) -> dict | None:
    """A stand-in's argument for the wire (the worker's side): a number as ``{"float": x}``,
    anything numpy reads as a real array as an array; None for anything else (a string, a
    bool, a complex number), which the student's own function is then called with."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        try:
            return {"float": float(value)}
        except OverflowError:
            return None
    try:
        array = np.asarray(value)
    except BaseException:  # noqa: BLE001 - a student's object may raise anything
        return None
    if array.dtype.kind not in "fiu":
        return None
    return encode_array(array, np)


def _decode_arg(value: dict, np: types.ModuleType) -> object:
    if "array" in value:
        return to_array(base64.b64decode(value["array"]), value["shape"], np)
    if "list" in value:
        return value["list"]
    return float(value["float"])


# --- student text ---------------------------------------------------------------------------

# Numbers with a decimal point or an exponent, and integers of four or more digits: any of them
# could be a hidden input. The match is linear (no quantifier can give back what the next one
# needs: digits are never dots) and only ever sees text already cut to its cap. No possessive
# quantifiers: Python 3.10, which grades on Ubuntu 22.04, has none.
_NUMBER = re.compile(r"\d*\.\d+(?:[eE][-+]?\d+)?|\d+\.?(?:[eE][-+]?\d+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_FRAME = re.compile(r"cell (\d{1,5}), line (\d{1,6}), in ([A-Za-z_<>][A-Za-z0-9_<>.]{0,59})")
# Code points that no UTF-8 file can hold: lone surrogates (a Python str may carry them, from
# an escape in JSON or YAML, or a file name that is not UTF-8).
_UNENCODABLE = re.compile("[\ud800-\udfff]")
# Control characters and bidirectional overrides, which a terminal or a browser would obey:
# shown escaped, none can clear a screen, recolour, hide or reorder the text around it.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_UNPRINTABLE_BUT_LINES = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def valid_text(text: str) -> str:
    """`text` with every code point that UTF-8 cannot encode replaced by U+FFFD: any text a
    student controls (a message, an answer, a name), made safe to write anywhere."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _UNENCODABLE.sub("\ufffd", text)
    return text


def printable(text: str, lines: bool = False) -> str:
    """`text` shown as it is: valid (`valid_text`), with its control characters and direction
    marks escaped (``\\u001b``); one line, unless `lines` keeps its line breaks and tabs."""
    unprintable = _UNPRINTABLE_BUT_LINES if lines else _UNPRINTABLE
    return unprintable.sub(lambda m: f"\\u{ord(m.group()):04x}", valid_text(text))


def _hide_number(match: re.Match) -> str:
    text = match.group()
    return "…" if ("." in text or "e" in text.lower() or len(text) >= 4) else text


def clip(text: str, limit: int) -> str:
    """As much of a student's `text` as `student_text` reads: the worker sends no more."""
    return text[: limit + 1]


def student_text(value: object, limit: int) -> str | None:
    """A student-controlled string as it may be shown, at most `limit` characters: cut first,
    then whitespace collapsed and numbers hidden (all in linear time); None if `value` is not a
    string."""
    if not isinstance(value, str):
        return None
    text = printable(" ".join(clip(value, limit).split()))
    text = _NUMBER.sub(_hide_number, text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def type_name(value: object, limit: int) -> str | None:
    """An exception's type name, if it looks like one (a dotted identifier of at most `limit`
    characters), with long numbers in it hidden."""
    if isinstance(value, str) and len(value) <= limit and _NAME.fullmatch(value):
        return _NUMBER.sub(_hide_number, value)
    return None


def frames(value: object, limit: int) -> list[str] | None:
    """Where in the student's cells an exception came from: the well-formed lines among the
    first `limit` (None if `value` is not a list)."""
    if not isinstance(value, list):
        return None
    well_formed = (v for v in value[:limit] if isinstance(v, str) and _FRAME.fullmatch(v[:101]))
    return [_NUMBER.sub(_hide_number, v) for v in well_formed]


# --- events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One validated event: `kind` is the event name, `fields` its checked content."""

    kind: str
    fields: dict


def _int(value: object, low: int = 0, high: int = 1 << 31) -> int | None:
    return value if type(value) is int and low <= value <= high else None


def _error_fields(event: dict, channel: "Channel") -> dict | None:
    name = type_name(event.get("type"), channel.name_chars)
    where = frames(event.get("where"), channel.frames)
    message = student_text(event.get("message"), channel.text_chars)
    if message is None or where is None:
        return None
    return {"type": name or "Exception", "message": message, "where": where}


def _result(event: dict, calls: int, channel: "Channel") -> dict | None:
    ident, kind = _int(event.get("id"), 0, calls), event.get("kind")
    if ident is None:
        return None
    if kind == "value" and set(event) == {"event", "id", "kind", "value", "args", "form"}:
        value, args, form = unpack_array(event["value"], channel), event["args"], event["form"]
        if value is None or not isinstance(args, list) or len(args) > 8 or form not in FORMS:
            return None
        if not all(a is None or (isinstance(a, str) and _DIGEST.fullmatch(a)) for a in args):
            return None
        return {"id": ident, "kind": kind, "value": value, "args": list(args), "form": form}
    if kind == "raised" and set(event) == {"event", "id", "kind", "type", "message", "where"}:
        fields = _error_fields(event, channel)
        return None if fields is None else {"id": ident, "kind": kind, **fields}
    if kind == "not_defined" and set(event) == {"event", "id", "kind"}:
        return {"id": ident, "kind": kind}
    if kind == "unconvertible" and set(event) == {"event", "id", "kind", "what", "type"}:
        what, name = event["what"], type_name(event["type"], channel.name_chars)
        if what not in UNCONVERTIBLE:
            return None
        return {"id": ident, "kind": kind, "what": what, "type": name or "object"}
    return None


def _standin(event: dict, channel: "Channel") -> dict | None:
    """A stand-in's question: a function name and at most eight arguments (arrays within
    `Channel.standin_elements` together, or plain numbers), or None."""
    function, args = event["function"], event["args"]
    if not (isinstance(function, str) and _NAME.fullmatch(function[: channel.name_chars + 1])):
        return None
    if len(function) > channel.name_chars or not isinstance(args, list) or len(args) > 8:
        return None
    decoded, elements = [], 0
    for arg in args:
        if isinstance(arg, dict) and set(arg) == {"float"}:
            number = arg["float"]
            if type(number) is int and abs(number) < 1 << 53:
                number = float(number)
            if type(number) is not float:
                return None
            decoded.append(number)
            continue
        array = unpack_array(arg, channel)
        if array is None:
            return None
        elements += math.prod(array[1])
        decoded.append(array)
    if elements > channel.standin_elements:
        return None
    return {"function": function, "args": decoded}


def parse_event(line: bytes, calls: int, channel: "Channel") -> Event | None:
    """Validate one line from the worker: an `Event`, or None if it is not a well-formed one
    (within `channel`'s caps) for a job of `calls` calls."""
    try:
        event = json.loads(line.decode("utf-8"))  # the worker writes ASCII JSON
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    if not isinstance(event, dict):
        return None
    kind, keys = event.get("event"), set(event)
    fields: dict | None = None
    if kind == "ready" and keys == {"event", "uid", "landlock", "seccomp"}:
        uid, abi = _int(event["uid"], 0, (1 << 32) - 1), _int(event["landlock"], 0, 64)
        filtered = event["seccomp"] if type(event["seccomp"]) is bool else None
        if uid is not None and abi is not None and filtered is not None:
            fields = {"uid": uid, "landlock": abi, "seccomp": filtered}
    elif kind == "cell" and keys == {"event", "index"}:
        index = _int(event["index"], 0, 1 << 20)
        fields = None if index is None else {"index": index}
    elif kind == "cell_error" and keys == {"event", "index", "type", "message", "where"}:
        index, error = _int(event["index"], 0, 1 << 20), _error_fields(event, channel)
        fields = None if index is None or error is None else {"index": index, **error}
    elif kind == "calls" and keys == {"event"}:
        fields = {}
    elif kind == "result":
        fields = _result(event, calls, channel)
    elif kind == "standin" and keys == {"event", "function", "args"}:
        fields = _standin(event, channel)
    elif kind == "done" and keys == {"event", "peak_kb"}:
        peak = _int(event["peak_kb"], 0, 1 << 40)
        fields = None if peak is None else {"peak_kb": peak}
    elif kind == "fatal" and keys == {"event", "message"} and isinstance(event["message"], str):
        fields = {"message": " ".join(valid_text(event["message"][-2000:]).split())}
    return None if fields is None else Event(kind, fields)


class EventReader:
    """Reads newline-separated events from a pipe, within fixed limits.

    Raises `ProtocolError` when an event is longer than `event_bytes`, or the worker has sent
    more than `max_bytes` or more than `max_events` events; `TimeoutError` past a deadline.
    Memory stays proportional to one event, and each byte is scanned once.
    """

    def __init__(self, fd: int, max_events: int, max_bytes: int, event_bytes: int):
        self.fd, self.max_events, self.max_bytes = fd, max_events, max_bytes
        self.event_bytes = event_bytes
        self.buffer = bytearray()
        self.scanned = 0  # bytes of `buffer` known to hold no newline
        self.total = self.events = 0
        self.closed = False

    def next_line(self, deadline: float) -> bytes | None:
        """The next line (without its newline), or None once the worker closed the pipe."""
        while True:
            end = self.buffer.find(b"\n", self.scanned)
            if end >= 0:
                line = bytes(self.buffer[:end])
                del self.buffer[: end + 1]
                self.scanned = 0
                self.events += 1
                if self.events > self.max_events:
                    raise ProtocolError("messages")
                return line
            self.scanned = len(self.buffer)
            if self.scanned > self.event_bytes:
                raise ProtocolError("message_bytes")
            if self.closed:
                return None
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([self.fd], [], [], remaining)[0]:
                raise TimeoutError
            chunk = os.read(self.fd, 1 << 16)
            self.total += len(chunk)
            if self.total > self.max_bytes:
                raise ProtocolError("submission_bytes")
            if not chunk:
                self.closed = True
            self.buffer += chunk


# --- the worker's side ----------------------------------------------------------------------


def send(fd: int, event: dict) -> None:
    """Write one event (used by the worker)."""
    data = (json.dumps(event) + "\n").encode()
    while data:
        data = data[os.write(fd, data) :]
