"""Every logging call in bot/ and handlers/ reads `log.x("event.name key=%s other=%r", a, b)`.

The JSON log format (`--log-format json`, bot/observe/logfields.py) reads the event and each field's name
from the format string and each value from the call's arguments, so the format string is the schema: this
keeps every call in that shape, with as many placeholders as arguments.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.observe.logfields import PLACEHOLDER, fields_of, parse_format

ROOT = Path(__file__).resolve().parents[1]
LEVELS = {"debug", "info", "warning", "error", "exception", "critical"}
# Logs on behalf of its callers: the format is the caller's event and keyword names (`"%s.refused" + names`);
# tests/observe/test_json_logs.py reads one such record's fields.
BUILT_FORMATS = {"handlers/errors.py"}


def logging_calls() -> list[tuple[str, ast.Call]]:
    calls = []
    for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            receiver = ast.unparse(node.func.value)
            if node.func.attr in LEVELS and receiver.split(".")[-1].lstrip("_").lower() in ("log", "logger"):
                if str(path.relative_to(ROOT)) not in BUILT_FORMATS:
                    calls.append((f"{path.relative_to(ROOT)}:{node.lineno}", node))
    return calls


CALLS = logging_calls()


def problem(call: ast.Call) -> str | None:
    """Why this call's fields could not be read from its format string and arguments; None when they can."""
    if not call.args or not isinstance(call.args[0], ast.Constant) or not isinstance(call.args[0].value, str):
        return "the first argument is not a literal string"
    if any(isinstance(a, ast.Starred) for a in call.args):
        return "*args: the placeholders cannot be matched to the arguments"
    fmt = call.args[0].value
    parsed = parse_format(fmt)
    if parsed is None:
        return f"{fmt!r} is not 'event.name key=%x ...'"
    event, fields = parsed
    holes = sum(len(PLACEHOLDER.findall(spec)) for _, spec in fields)
    values: tuple[object, ...] = tuple(range(holes))
    if event.startswith("%s"):  # the first argument names the event
        values = ("caller", *values)
    if len(values) != len(call.args) - 1:
        return f"{fmt!r} has {len(values)} placeholders for {len(call.args) - 1} arguments"
    if "message" in fields_of(fmt, values):
        return f"{fmt!r} does not read as an event and fields"
    return None


def test_the_scan_finds_the_bots_logging_calls():
    assert len(CALLS) > 100  # about 140 today: a scan that finds none would pass vacuously
    assert any(where.startswith("handlers/") for where, _ in CALLS)


@pytest.mark.parametrize("where,call", CALLS, ids=[where for where, _ in CALLS])
def test_every_logging_call_is_an_event_with_fields(where, call):
    assert problem(call) is None, f"{where}: {problem(call)}"


@pytest.mark.parametrize(
    "source,why",
    [
        ('log.info("bake opened %s", rid)', "is not 'event.name"),
        ('log.info(f"bake.opened request_id={rid}")', "not a literal string"),
        ('log.info("bake.opened request_id=%s image=%s", rid)', "2 placeholders for 1 arguments"),
        ('log.info("bake.opened request_id=%s", rid, image)', "1 placeholders for 2 arguments"),
        ('log.warning("bake.opened %s", rid)', "is not 'event.name"),
    ],
)
def test_calls_of_other_shapes_are_named(source, why):
    call = ast.parse(source).body[0].value
    assert why in (problem(call) or "")
