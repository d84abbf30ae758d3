"""Whether a bake result's AMIs are believed (CONTRACT §13): checked in the image's own account, through its role.

A bake result comes through the bakery's topic, which every member account may publish to: the message itself
proves nothing about who sent it. Its AMIs are believed only as EC2 shows them in the image's account: owned by
that account (Owners=['self']) in the region the result names, tagged with this bake's request id and image.
With no member account configured only the bakery's own account can publish, and the result is believed as is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bot.config import Config, ImageConfig
from bot.config.model import Where
from bot.domain.models import TAG_IMAGE, TAG_REQUEST_ID, Ami, BakeResult
from bot.domain.ports import Images

log = logging.getLogger(__name__)


def believed_amis(
    config: Config, images_for: Callable[[Where], Images], image: ImageConfig, request_id: str, result: BakeResult
) -> tuple[Ami, ...]:
    """The result's AMIs that its image's account shows as this bake's; each one dropped is logged with why.

    May call EC2 (through the image's role): a notification worker's job, never a Slack listener's. EC2 and STS
    errors are raised, so the message is retried, rather than taken for "no such AMI".
    """
    if not config.has_member_accounts:
        return tuple(result.amis)
    account = config.account_of(image)  # "" when the bakery's own account is unknown: that comparison is skipped
    kept: list[Ami] = []
    for ami in result.amis:
        reason = _refusal(images_for, config, image, account, request_id, ami)
        if reason:
            log.warning(
                "result.ignored reason=%s request_id=%s image=%s ami_id=%s region=%s account_id=%s",
                reason,
                request_id,
                image.name,
                ami.ami_id,
                ami.region,
                ami.account_id,
            )
        else:
            kept.append(ami)
    return tuple(kept)


def _refusal(
    images_for: Callable[[Where], Images],
    config: Config,
    image: ImageConfig,
    account: str,
    request_id: str,
    ami: Ami,
) -> str:
    """Why this AMI is not believed as this bake's; "" when it is."""
    if ami.account_id and account and ami.account_id != account:
        return "other-account"
    found = images_for(config.where(image.name, ami.region or image.region)).describe_own(ami.ami_id)
    if found is None:
        return "not-in-account"
    if found.tags.get(TAG_REQUEST_ID) != request_id:
        return "other-request"
    if found.tags.get(TAG_IMAGE) != image.name:
        return "other-image"
    return ""
