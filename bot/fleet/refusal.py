"""The one refusal every use of a revoked AMI meets (§14): a rollout onto it, a child bake from it, an explicit
`source_ami=` naming it. It says why, who revoked it and when, so the person refused knows whom to ask."""

from __future__ import annotations

from collections.abc import Callable

from bot.domain.errors import BadRequest
from bot.fleet.revocations import Revocation

# What a service asks (Revocations.get): the revocation of an AMI id, None when it was never revoked.
RevocationOf = Callable[[str], Revocation | None]


def never_revoked(ami_id: str) -> Revocation | None:
    return None


class AmiRevoked(BadRequest):
    """`what` is refused because its AMI is revoked: e.g. "rolled out", "baked on". The message is plain (for
    logs); bot.slack.replies words it for Slack, the reason (outside input) escaped."""

    def __init__(self, revocation: Revocation, what: str):
        self.revocation = revocation
        self.what = what
        r = revocation
        super().__init__(f"AMI `{r.ami_id}` was revoked by {r.by} at {r.at} ({r.reason}): it cannot be {what}.")


def refuse_revoked(revoked: RevocationOf, ami_id: str | None, what: str) -> None:
    """Raise AmiRevoked when `ami_id` is revoked; nothing otherwise (and for no AMI)."""
    found = revoked(ami_id) if ami_id else None
    if found is not None:
        raise AmiRevoked(found, what)
