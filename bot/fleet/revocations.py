"""Revoked AMIs (CONTRACT §14), kept in the state store: the one place every refusal asks.

A revocation is stored once per AMI id, with its reason, who revoked it and when; rollouts onto it and child
bakes from it are refused from then on (bot/rollouts/start.py, bot/trains/flow.py, bot/bakes/inputs.py ask
`reason`), the fleet view shows targets on it, and the lifecycle sweep never counts it as a good release.
The tag `bakery:revoked` on the AMI is written too, for people and tools outside the bot; the store is what the
bot believes, so a tag someone removes by hand does not un-revoke an AMI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from bot.domain.ports import StateStore

KIND = "revocation"
INDEX = "revoked"  # every revocation, for listing


@dataclass(frozen=True)
class Revocation:
    ami_id: str
    reason: str
    by: str  # the Slack user who revoked it
    at: str  # ISO 8601
    image: str = ""
    request_id: str = ""  # the bake that made the AMI, when known
    region: str = ""
    account_id: str = ""


class Revocations:
    def __init__(self, store: StateStore):
        self._store = store

    def get(self, ami_id: str) -> Revocation | None:
        record = self._store.get(KIND, ami_id)
        return Revocation(**record.doc) if record else None

    def reason(self, ami_id: str) -> str | None:
        """Why `ami_id` was revoked, or None when it was not."""
        found = self.get(ami_id)
        return found.reason if found else None

    def is_revoked(self, ami_id: str) -> bool:
        return self._store.get(KIND, ami_id) is not None

    def add(self, revocation: Revocation) -> bool:
        """Record a revocation once: False (and nothing changed) when this AMI was revoked already."""
        return self._store.create(KIND, revocation.ami_id, asdict(revocation), index=INDEX)

    def all(self) -> list[Revocation]:
        return [Revocation(**r.doc) for r in self._store.find(KIND, INDEX)]
