"""The checks of single fields (mappings, strings, numbers, booleans, lists), each problem with its key path."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from typing import Any


class FieldChecks:
    """Collects every problem instead of stopping at the first; each check returns what it could accept."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def err(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    def mapping(
        self, value: Any, path: str, allowed: AbstractSet[str], required: AbstractSet[str] = frozenset()
    ) -> dict[Any, Any]:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            self.err(path, f"must be a mapping, not {kind(value)}")
            return {}
        for key in value:
            if not isinstance(key, str):
                self.err(path, f"key {key!r} must be a string")
            elif key not in allowed:
                self.err(f"{path}.{key}" if path else key, unknown_key(key, allowed))
        for key in sorted(required):
            if key not in value:
                self.err(f"{path}.{key}" if path else key, "required key is missing")
            elif value[key] is None:  # `channel:` with nothing after it; elsewhere null means "the default"
                self.err(f"{path}.{key}" if path else key, "required key has no value")
        return value

    def string(self, value: Any, path: str, pattern: re.Pattern[str] | None = None, what: str = "") -> str | None:
        if value is None:
            return None
        if not isinstance(value, str) or not value:
            self.err(path, f"must be a non-empty string, not {kind(value)}")
            return None
        if pattern and not pattern.fullmatch(value):
            self.err(path, f"{value!r} is not {what or 'valid'}")
            return None
        return value

    def checked(self, value: Any, path: str, problem_of: Callable[[str], str | None]) -> str | None:
        """A string that `problem_of` finds nothing wrong with; else its problem is reported, and None."""
        text = self.string(value, path)
        problem = problem_of(text) if text else None
        if problem:
            self.err(path, problem)
            return None
        return text

    def integer(self, value: Any, path: str, low: int, high: int, default: int) -> int:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            # 2.5 is "a number" too: say the value itself ("must be a whole number, not a number" read as nonsense)
            self.err(
                path,
                f"must be a whole number, not {value!r}"
                if isinstance(value, float)
                else f"must be a whole number, not {kind(value)}",
            )
            return default
        if not low <= value <= high:
            self.err(path, f"{value} is out of range ({low} to {high})")
            return default
        return value

    def boolean(self, value: Any, path: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            self.err(path, f"must be true or false, not {kind(value)}")
            return default
        return value

    def string_list(self, value: Any, path: str, pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.err(path, f"must be a list, not {kind(value)}")
            return ()
        out = []
        for i, item in enumerate(value):
            s = self.string(item, f"{path}[{i}]", pattern, what)
            if s:
                out.append(s)
        return tuple(out)


def unknown_key(key: str, allowed: Iterable[str]) -> str:
    """`unknown key 'aprovers' — did you mean 'approvers'?`, else the keys it could have been."""
    near = nearest(key, allowed)
    if near:
        return f"unknown key {key!r} — did you mean {near!r}?"
    return f"unknown key (expected one of: {', '.join(sorted(allowed))})"


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The choice `word` is most likely a typo of (difflib's ratio at least 0.6), if any."""
    found = difflib.get_close_matches(word, sorted(choices), n=1)
    return found[0] if found else None


def kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if value == "":
        return "an empty string"
    return {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(value), type(value).__name__)
