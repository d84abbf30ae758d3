"""The "Roll out to <target>" buttons a released bake offers: their opaque keys and what each one means."""

from __future__ import annotations

from collections.abc import Collection

from bot.bakes.record import Bake
from bot.config import Config
from bot.domain.ids import derived_key
from bot.domain.ports import StateStore

BUTTON = "button"  # state kind: rollout_start button key -> the bake and target it offers
ACTION = "rollout_start"


def rollout_start_key(request_id: str, target: str) -> str:
    """The opaque key of a bake's "Roll out to <target>" button."""
    return derived_key("rs", f"{request_id}|{target}")


class RolloutButtons:
    """Pure over the configuration, plus one record per offered button, so a click can be traced back."""

    def __init__(self, *, config: Config, store: StateStore):
        self._config = config
        self._store = store

    def targets_of(self, bake: Bake, rolled: Collection[str] = ()) -> tuple[tuple[str, str], ...]:
        """(target, button key) pairs a successful bake's message offers. A target with `on_release: auto` is
        rolled by the release train once the bake is released (§12): from then on it has no button of its own
        until a rollout of it by this bake exists (`rolled`: its targets), whose end may bring the button back."""
        return tuple(
            (n, key)
            for n, key in self._all(bake)
            if not (self._config.targets[n].on_release == "auto" and bake.released and n not in rolled)
        )

    def _all(self, bake: Bake) -> tuple[tuple[str, str], ...]:
        names = sorted(n for n, t in self._config.targets.items() if t.image == bake.image)
        return tuple((n, rollout_start_key(bake.request_id, n)) for n in names)

    def offer(self, bake: Bake) -> None:
        """A bake succeeded: remember what its buttons mean (idempotent: create-if-absent)."""
        for name, key in self._all(bake):
            self._store.create(BUTTON, key, {"action": ACTION, "request_id": bake.request_id, "target": name})

    def lookup(self, key: str) -> tuple[str, str] | None:
        """(request id, target) a button key stands for, or None for a key this bot never issued."""
        rec = self._store.get(BUTTON, key) if key.startswith("rs-") and len(key) < 40 else None
        if rec is None or rec.doc.get("action") != ACTION:
            return None
        return rec.doc["request_id"], rec.doc["target"]
