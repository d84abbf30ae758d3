"""The release train's configuration keys (CONTRACT §4, §12): upstream, on_parent_release, on_release, durations."""

from __future__ import annotations

import re
from typing import Any

from bot.config.fields import FieldChecks
from bot.config.model import UpstreamConfig

DURATION_RE = re.compile(r"^([1-9][0-9]{0,5})([mhd])$", re.ASCII)
_SECONDS = {"m": 60, "h": 3600, "d": 86400}
# An SSM parameter name as SSM allows it: a path of letters, digits and _ . - (public ones are /aws/service/…).
SSM_PARAMETER_RE = re.compile(r"^/?[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*$", re.ASCII)
ON_PARENT_RELEASE = ("ask", "bake", "never")
ON_RELEASE = ("ask", "auto")
DEFAULT_CHECK_EVERY = "1h"


def parse_duration(text: str) -> float | None:
    """`<n>m`, `<n>h` or `<n>d` in seconds; None when `text` is none of those."""
    match = DURATION_RE.fullmatch(text)
    return float(int(match.group(1)) * _SECONDS[match.group(2)]) if match else None


def duration(checks: FieldChecks, value: Any, path: str, default: str) -> float:
    """A duration key: its seconds, or the default's (and a problem) when it is not `<n>m`, `<n>h` or `<n>d`."""
    fallback = parse_duration(default) or 0.0
    if value is None:
        return fallback
    seconds = parse_duration(value) if isinstance(value, str) else None
    if seconds is None:
        shown = repr(value) if isinstance(value, str) else str(value)
        checks.err(path, f"{shown} is not a duration (<n>m, <n>h or <n>d, e.g. {default})")
        return fallback
    return seconds


def choice(checks: FieldChecks, value: Any, path: str, allowed: tuple[str, ...]) -> str:
    """One of `allowed` (the first is the default)."""
    if value is None:
        return allowed[0]
    if not isinstance(value, str) or value not in allowed:
        shown = repr(value) if isinstance(value, str) else str(value)
        checks.err(path, f"{shown} is not one of {', '.join(allowed)}")
        return allowed[0]
    return value


def upstream(checks: FieldChecks, value: Any, path: str) -> UpstreamConfig | None:
    """`images.<name>.upstream`: the public SSM parameter to follow, and how often to check it."""
    if value is None:
        return None
    body = checks.mapping(value, path, {"ssm_parameter", "check_every"}, {"ssm_parameter"})
    if not isinstance(value, dict):
        return None
    parameter = checks.string(
        body.get("ssm_parameter"), f"{path}.ssm_parameter", SSM_PARAMETER_RE, "an SSM parameter name"
    )
    every = duration(checks, body.get("check_every"), f"{path}.check_every", DEFAULT_CHECK_EVERY)
    return UpstreamConfig(ssm_parameter=parameter, check_every=every) if parameter else None


def lineage_problems(checks: FieldChecks, path: str, *, body: dict[str, Any]) -> None:
    """What a parent rules out: `upstream` (the parent's AMI is the source), and `on_parent_release` needs one."""
    has_parent = body.get("parent") is not None
    if has_parent and body.get("upstream") is not None:
        checks.err(
            f"{path}.upstream",
            "an image with a parent is baked on its parent's released AMI; only an image without one follows upstream",
        )
    if not has_parent and body.get("on_parent_release") is not None:
        checks.err(f"{path}.on_parent_release", "this image has no parent whose release it could follow")
