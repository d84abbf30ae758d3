"""Refusals of rollouts that carry their facts, so `bot.slack.replies` can word them with Slack's vocabulary.

Each is a BadRequest whose message is a plain sentence fit for logs; the Slack reply uses the fields.
"""

from __future__ import annotations

from bot.domain.errors import BadRequest
from bot.rollouts.record import RolloutStatus


class RolloutMovedOn(BadRequest):
    """A button whose moment passed: the rollout is no longer in the state the button acts on."""

    def __init__(self, *, rollout_id: str, wanted: str, status: RolloutStatus, approved_by: str = ""):
        self.rollout_id = rollout_id
        self.wanted = wanted  # e.g. "waiting for approval", "running"
        self.status = status
        self.approved_by = approved_by
        super().__init__(f"Rollout `{rollout_id}` is no longer {wanted}: it is {status.replace('_', ' ')}.")


class AmiOfAnotherImage(BadRequest):
    """The AMI's `bakery:image` tag names another image than the target runs (or it has none)."""

    def __init__(self, *, ami_id: str, tagged: str | None, target: str, image: str, tag: str):
        self.ami_id = ami_id
        self.tagged = tagged  # outside input (an AMI tag): left out of the message, made safe by bot.slack
        self.target = target
        self.image = image
        self.tag = tag
        what = "an image of another image" if tagged else f"not tagged `{tag}`"
        super().__init__(
            f"AMI `{ami_id}` is {what}; `{target}` runs *{image}*, so it only takes AMIs tagged `{tag}={image}`."
        )


class TargetBusy(BadRequest):
    """Another rollout holds the target (one rollout per target at a time): a train's hop waits for it."""

    def __init__(self, *, target: str, rollout_id: str, user: str, ami_id: str, since: str):
        self.target = target
        self.rollout_id = rollout_id  # the rollout holding the target
        super().__init__(
            f"`{target}` is taken: <@{user}> is rolling it onto `{ami_id}` since "
            f"{since} (rollout `{rollout_id}`). One rollout per target at a time."
        )
