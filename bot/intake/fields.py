"""Strict, bounded reading of one JSON document from outside: its size, its parse, and typed field reads."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from bot.domain.errors import BadMessage
from bot.domain.times import parse_time

MAX_URL = 2048  # CodePipeline's Url limit
MAX_TEXT = 8192  # free text (summaries, custom data) is shown to people, not interpreted
MAX_TIME = 40
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_UNSAFE_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")


class Fields:
    """Typed, bounded reads from one JSON object; every failure names the field's path."""

    def __init__(self, doc: Mapping[str, Any], where: str, prefix: str = ""):
        self._doc = doc
        self._where = where
        self._prefix = prefix

    def _path(self, key: str) -> str:
        return f"{self._prefix}{key}"

    def _fail(self, key: str, problem: str) -> BadMessage:
        return BadMessage(f"In {self._where}, {self._path(key)} {problem}.")

    def _string(self, key: str, pattern: re.Pattern[str] | None, limit: int | None, required: bool) -> str:
        value = self._doc.get(key)
        if value is None:
            if required:
                raise self._fail(key, "is missing")
            return ""
        if not isinstance(value, str):
            raise self._fail(key, f"must be a string, not a {kind(value)}")
        if not value and not required:
            return ""
        if limit is not None and len(value) > limit:
            raise self._fail(key, f"is longer than {limit} characters")
        if not value.isascii() and not _encodes(value):
            # A JSON escape can carry half a surrogate pair; nothing after the edge could send or store it.
            raise self._fail(key, "is not valid Unicode text")
        if pattern is not None and not pattern.fullmatch(value):
            raise self._fail(key, "is not in the expected format")
        return value

    def text(self, key: str, pattern: re.Pattern[str] | None = None, *, limit: int | None = MAX_TEXT) -> str:
        return self._string(key, pattern, limit, required=True)

    def optional_text(
        self, key: str, pattern: re.Pattern[str] | None = None, *, limit: int = MAX_TEXT
    ) -> str:
        return self._string(key, pattern, limit, required=False)

    def time(self, key: str) -> str:
        """A UTC time as AWS writes it, kept as sent; read with the same parser every later reader uses."""
        value = self.text(key, limit=MAX_TIME)
        try:
            parse_time(value)
        except ValueError:
            raise self._fail(key, "is not a real UTC date and time like 2026-11-26T09:14Z") from None
        return value

    def url(self, key: str) -> str:
        return self._check_url(key, self.text(key, limit=MAX_URL))

    def optional_url(self, key: str) -> str:
        value = self.optional_text(key, limit=MAX_URL)
        return self._check_url(key, value) if value else ""

    def _check_url(self, key: str, value: str) -> str:
        # Links end up as Slack buttons: only web links, with no whitespace or control characters. `<`, `>`
        # and `|` pass (AWS's own links carry them); bot.slack.text.link makes them safe in mrkdwn.
        try:
            parts = urlsplit(value)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            raise self._fail(key, "is not an http(s) link") from None
        if parts.scheme not in ("http", "https") or not parts.netloc or _UNSAFE_CHARS.search(value):
            raise self._fail(key, "is not an http(s) link")
        return value

    def object(self, key: str) -> Fields:
        value = self._doc.get(key)
        if value is None:
            raise self._fail(key, "is missing")
        if not isinstance(value, dict):
            raise self._fail(key, f"must be an object, not a {kind(value)}")
        return Fields(value, self._where, f"{self._path(key)}.")

    def optional_object(self, key: str) -> Fields | None:
        return self.object(key) if self._doc.get(key) is not None else None

    def objects(self, key: str, *, limit: int) -> list[Fields]:
        value = self._doc.get(key)
        if not isinstance(value, list):
            raise self._fail(key, "is missing" if value is None else f"must be a list, not a {kind(value)}")
        if len(value) > limit:
            raise self._fail(key, f"has more than {limit} entries")
        items = []
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                raise self._fail(f"{key}[{index}]", f"must be an object, not a {kind(item)}")
            items.append(Fields(item, self._where, f"{self._path(key)}[{index}]."))
        return items


def load_json(body: str | bytes, *, limit: int, what: str) -> Any:
    """The JSON value in body, which must be UTF-8 and at most `limit` bytes; BadMessage naming `what`."""
    check_size(body, limit, what)
    if isinstance(body, bytes | bytearray):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise BadMessage(f"{what} is not UTF-8 text.") from None
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise BadMessage(f"{what} is not valid JSON ({exc.msg} at {where}).") from None
    except ValueError as exc:
        raise BadMessage(f"{what} is not valid JSON ({exc}).") from None
    except RecursionError:
        raise BadMessage(f"{what} nests JSON too deeply to read.") from None


def check_size(body: str | bytes, limit: int, what: str) -> None:
    # A str's UTF-8 size is at least its length: only encode when the cheap check cannot decide. Lone
    # surrogates are counted here, not refused: the field reads refuse them with the field's name.
    if isinstance(body, bytes | bytearray) or len(body) > limit:
        size = len(body)
    else:
        size = len(body.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise BadMessage(f"{what} is {size} bytes, over the {limit // 1024} KiB limit.")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def kind(value: Any) -> str:
    """The JSON name of a value's type, for messages."""
    return {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def quote(value: Any) -> str:
    """A value from outside as logs and Slack may show it: a short, single-line prefix only."""
    try:
        text = value if isinstance(value, str) else json.dumps(value)
    except RecursionError:  # nested just below the parser's limit, then a few frames deeper here
        text = f"a deeply nested {kind(value)}"
    text = _CONTROL_CHARS.sub("?", text)
    return repr(text if len(text) <= 60 else text[:57] + "...")
