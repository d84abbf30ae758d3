"""Log records as one event and its fields, for the JSON log format (`--log-format json`).

Every log call in bot/ and handlers/ reads `log.info("event.name key=%s other=%r", a, b)`: the format string
is the schema. `fields_of` reads the event and each field's name from it and takes each value from the
call's arguments, never from the rendered text (tests/test_log_calls.py keeps every call in that shape).
`processors()` is the chain structlog's ProcessorFormatter runs over stdlib records (bot/logs.py).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

import structlog

from bot.observe.context import current

# One printf placeholder, as logging's %-formatting reads it (no mapping keys: the calls pass positions).
PLACEHOLDER = re.compile(r"%[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]")
# `event.name`, or `%s.name` where a helper logs on behalf of its caller (the first argument names the event).
EVENT = re.compile(r"(?:[a-z][a-z0-9_]*|%s)(?:\.[a-z0-9_]+)+")
FIELD = re.compile(r"([a-z][a-z0-9_]*)=(\S*)")
SCALARS = (str, int, float, bool, type(None))
RESERVED = frozenset({"event", "timestamp", "level", "logger", "exception", "stack"})


def parse_format(msg: str) -> tuple[str, list[tuple[str, str]]] | None:
    """`"a.b key=%s n=%.1fs"` -> ("a.b", [("key", "%s"), ("n", "%.1fs")]); None when it is not that shape."""
    event, _, rest = msg.partition(" ")
    if not EVENT.fullmatch(event):
        return None
    fields = []
    for token in rest.split():
        match = FIELD.fullmatch(token)
        if match is None or match.group(1) in RESERVED:
            return None
        fields.append((match.group(1), match.group(2)))
    return event, fields


def fields_of(msg: object, args: object) -> dict[str, Any]:
    """The event and fields of one record (its format string and arguments); {"event", "message"} otherwise."""
    parsed = parse_format(msg) if isinstance(msg, str) else None
    values = tuple(args) if isinstance(args, tuple) else ((args,) if args not in (None, ()) else ())
    if parsed is not None and not isinstance(args, Mapping):
        out = _fields(parsed, values)
        if out is not None:
            return out
    text = str(msg)
    try:
        rendered = text % values if values else text
    except (TypeError, ValueError):
        rendered = f"{text} {values!r}"
    return {"event": text.split(" ", 1)[0], "message": rendered}


def _fields(parsed: tuple[str, list[tuple[str, str]]], values: tuple[Any, ...]) -> dict[str, Any] | None:
    event, fields = parsed
    at = 0
    if event.startswith("%s"):
        if not values or not isinstance(values[0], str):
            return None
        event, at = values[0] + event[2:], 1
    out: dict[str, Any] = {"event": event}
    for name, spec in fields:
        holes = PLACEHOLDER.findall(spec)
        if "%" in PLACEHOLDER.sub("", spec.replace("%%", "")):
            return None  # a placeholder logging would read differently
        taken = values[at : at + len(holes)]
        if len(taken) != len(holes):
            return None
        at += len(holes)
        out[name] = _value(spec, taken)
    return out if at == len(values) else None


def _value(spec: str, taken: tuple[Any, ...]) -> Any:
    if spec in ("%s", "%d", "%i") and isinstance(taken[0], SCALARS):
        value = taken[0]
        return int(value) if spec != "%s" and isinstance(value, float | int) and not isinstance(value, bool) else value
    if spec in ("%f", "%g") and isinstance(taken[0], int | float) and not isinstance(taken[0], bool):
        return float(taken[0])
    try:
        return spec % taken
    except (TypeError, ValueError):
        return " ".join(map(str, taken))


def event_and_fields(logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
    """structlog processor: a stdlib record's `event` and fields from its format string and arguments."""
    record = event_dict.get("_record")
    args = event_dict.pop("positional_args", ())
    if isinstance(record, logging.LogRecord):
        event_dict.update({**current(), **fields_of(record.msg, args)})
    return event_dict


def processors() -> tuple[list[Any], list[Any]]:
    """(the chain run over each stdlib record, the chain that renders it): one JSON object per line."""
    pre_chain = [
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        event_and_fields,
    ]
    render = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.format_exc_info,  # exc_info as one string: `exception`
        structlog.processors.JSONRenderer(default=str),
    ]
    return pre_chain, render


def json_formatter() -> logging.Formatter:
    pre_chain, render = processors()
    return structlog.stdlib.ProcessorFormatter(
        processors=render, foreign_pre_chain=pre_chain, pass_foreign_args=True, use_get_message=False
    )
