"""Automatic bakes (CONTRACT §12): the bakery asks for a bake itself, because an upstream AMI moved or a
parent was released. The door the release train opens bakes through (bot/trains/auto.py's AutoBakes)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.bakes.inputs import BakeInputs
from bot.bakes.record import BAKE, Bake, BakeStatus
from bot.config import Config
from bot.domain.causes import BAKERY_USER, Cause, CauseKind
from bot.domain.ids import derived_key
from bot.domain.ports import StateStore
from bot.domain.times import iso

log = logging.getLogger(__name__)


def cause_reason(cause: Cause) -> str:
    """An automatic bake's reason, its commit subject: "upstream al2023-… moved to ami-…" or
    "base released ami-… (b-…)"."""
    if cause.kind == CauseKind.UPSTREAM:
        return f"upstream {cause.parameter.rsplit('/', 1)[-1]} moved to {cause.ami_id}"
    return f"{cause.image} released {cause.ami_id} ({cause.request_id})"


def automatic_request_id(image: str, cause: Cause) -> str:
    """The one request id a cause's bake of `image` can have: what makes opening it a create-if-absent."""
    return derived_key("b", f"{image}\n{cause.key}")


class AutomaticBakes:
    def __init__(
        self,
        *,
        config: Config,
        store: StateStore,
        inputs: BakeInputs,
        in_flight: Callable[[], list[Bake]],
        record: Callable[[Bake], bool],
        clock: Callable[[], datetime],
    ):
        self._config = config
        self._store = store
        self._inputs = inputs
        self._in_flight = in_flight
        self._record = record
        self._clock = clock

    def open(self, image: str, *, source_ami: str, cause: Cause) -> str | None:
        """One bake of `image` on `source_ami`, requested by the bakery because of `cause`; its id, or None.

        Exactly once per (image, cause.key): the request id is derived from them and the record is created
        only if absent, so a duplicate delivery, a race or a restart opens nothing more. Opens nothing either
        when a released bake has the same inputs, or (for an upstream cause) while a bake of the image is in
        flight: the upstream watch checks again once it has settled.
        """
        config = self._config.images.get(image)
        if config is None:
            log.warning("bake.auto_ignored reason=unknown-image image=%s cause=%s", image, cause.key)
            return None
        request_id = automatic_request_id(image, cause)
        if self._store.get(BAKE, request_id) is not None:
            return None
        if cause.kind == CauseKind.UPSTREAM and any(b.image == image for b in self._in_flight()):
            log.info("bake.auto_not_opened reason=in-flight image=%s cause=%s", image, cause.key)
            return None
        self._inputs.refuse_revoked(source_ami)  # a Rebake click on a parent revoked since (§14)
        inputs = self._inputs.fingerprint(config, {}, source_ami)
        baked = self._inputs.already_baked(image, inputs)
        if baked is not None:
            log.info("bake.auto_not_opened reason=same-inputs image=%s same_as=%s", image, baked.request_id)
            return None
        now = self._clock()
        bake = Bake(
            request_id=request_id,
            image=image,
            requested_by=BAKERY_USER,
            requested_at=iso(now),
            reason=cause_reason(cause),
            channel=config.channel,
            pipeline=config.pipeline,
            source_ami=source_ami,
            inputs=inputs,
            cause=cause,
            train_id=cause.train_id,
            status=BakeStatus.REQUESTED,
            updated_at=iso(now),
        )
        if not self._record(bake):
            return None  # the same cause, opened meanwhile by another thread or replica
        log.info("bake.opened request_id=%s image=%s user=%s cause=%s", request_id, image, BAKERY_USER, cause.key)
        return request_id
