"""The fleet's and the AMI lifecycle's configuration keys (CONTRACT §4, §14): `fleet`, `lifecycle`, and an
image's own `lifecycle`, which overrides the top level's key by key."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot.config.fields import FieldChecks
from bot.config.model import FleetConfig, LifecycleConfig
from bot.config.train_keys import choice, duration

LIFECYCLE_KEYS = frozenset({"keep_released", "keep_unreleased_days", "deprecate_after_days", "sweep"})
SWEEP = ("daily", "off")
DEFAULT_STALE_AFTER = "7d"
_MAX_KEEP = 1000
_MAX_DAYS = 3650


def fleet(checks: FieldChecks, value: Any) -> FleetConfig:
    """`fleet`: when a target behind its image's newest release is named in the stale digest."""
    body = checks.mapping(value, "fleet", {"stale_after"})
    return FleetConfig(stale_after=duration(checks, body.get("stale_after"), "fleet.stale_after", DEFAULT_STALE_AFTER))


def lifecycle(checks: FieldChecks, value: Any, path: str, base: LifecycleConfig) -> LifecycleConfig:
    """`lifecycle` at `path`: each key given replaces `base`'s (the defaults, or the top level's for an image)."""
    body = checks.mapping(value, path, LIFECYCLE_KEYS)
    changes: dict[str, Any] = {}
    if "keep_released" in body:
        # At least one: the newest released AMI is what /bakery/images/<image>/latest names and children bake on.
        changes["keep_released"] = checks.integer(
            body["keep_released"], f"{path}.keep_released", 1, _MAX_KEEP, base.keep_released
        )
    for key in ("keep_unreleased_days", "deprecate_after_days"):
        if key in body:
            changes[key] = checks.integer(body[key], f"{path}.{key}", 0, _MAX_DAYS, getattr(base, key))
    if "sweep" in body:
        # YAML 1.1 reads an unquoted `off` as false: that is what the person wrote, so it means off.
        sweep = "off" if body["sweep"] is False else body["sweep"]
        changes["sweep"] = choice(checks, sweep, f"{path}.sweep", SWEEP)
    return replace(base, **changes)
