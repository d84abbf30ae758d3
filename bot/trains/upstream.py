"""The upstream watch (CONTRACT §12): rebake an image when its public SSM parameter names a new AMI.

The parameter is the truth: a message on an upstream topic, or the `check_every` chore, only makes the bot
look. A check opens a bake only when the value is a usable AMI that differs from the `source_ami` of the
image's newest released bake and no bake of the image is in flight; the bake is opened through `AutoBakes`,
which opens it once per cause however many checks race to it. An image with no released bake is never
baked automatically: its first bake is asked for by a person.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from bot.bakes.record import Bake
from bot.config import Config, ImageConfig
from bot.config.model import Where
from bot.domain.causes import Cause, CauseKind
from bot.domain.errors import BakeryError
from bot.domain.ports import Images, Parameters
from bot.trains.auto import AutoBakes

log = logging.getLogger(__name__)

AMI_ID_RE = re.compile(r"ami-[0-9a-f]{8,17}")  # EC2's image id format (8 or 17 hex digits)
AVAILABLE = "available"


class Outcome(StrEnum):
    """What one check found; only OPENED changed anything."""

    OPENED = "opened"  # a bake of the image was opened on the new AMI
    NOT_OPENED = "not-opened"  # AutoBakes opened nothing (this cause's bake exists, same inputs, in flight)
    UNCHANGED = "unchanged"  # the parameter names the AMI the newest released bake was made from
    IN_FLIGHT = "in-flight"  # a bake of the image is in flight: it is left to finish first
    NO_RELEASED_BAKE = "no-released-bake"  # the first bake is a person's to ask for
    REFUSED = "refused"  # the parameter names no usable AMI
    NO_UPSTREAM = "no-upstream"  # the image has no `upstream`
    FAILED = "failed"  # SSM or EC2 could not be read; the next check tries again


@dataclass(frozen=True)
class UpstreamCheck:
    image: str
    outcome: Outcome
    ami_id: str = ""  # the parameter's value, when it was read
    request_id: str = ""  # OPENED: the bake
    reason: str = ""  # REFUSED, FAILED: why, in a sentence


class BakeBook(Protocol):
    """What the watch reads of the bakes (the bake service)."""

    def get(self, request_id: str) -> Bake | None: ...

    def in_flight(self) -> list[Bake]: ...

    def image_summary(self, image: str) -> dict[str, Any]: ...


def newest_released(bakes: BakeBook, image: str) -> Bake | None:
    """The image's newest released bake: its recorded latest, else the newest released of its recent bakes."""
    summary = bakes.image_summary(image)
    candidates = [summary.get("latest_request"), *(summary.get("recent") or [])]
    found = [b for rid in dict.fromkeys(c for c in candidates if c) if (b := bakes.get(str(rid))) and b.released]
    return max(found, key=lambda b: b.requested_at, default=None)


class UpstreamWatch:
    def __init__(
        self,
        *,
        config: Config,
        bakes: BakeBook,
        auto: AutoBakes,
        parameters_for: Callable[[Where], Parameters],
        images_for: Callable[[Where], Images],
    ):
        self._config = config
        self._bakes = bakes
        self._auto = auto
        self._parameters_for = parameters_for
        self._images_for = images_for
        self._refused: dict[str, str] = {}  # image -> the refusal last logged (a bad value is logged once)
        self._lock = threading.Lock()

    @property
    def watched(self) -> list[ImageConfig]:
        return [image for image in self._config.images.values() if image.upstream]

    def check_all(self, topic_arn: str = "") -> list[UpstreamCheck]:
        """Check every image with `upstream` (a topic message names no image: the parameters say which moved)."""
        checks = [self.check(image.name) for image in self.watched]
        log.info(
            "upstream.checked topic=%s outcomes=%s",
            topic_arn or "-",
            ",".join(f"{c.image}:{c.outcome.value}" for c in checks) or "none",
        )
        return checks

    def check(self, name: str) -> UpstreamCheck:
        """Look at one image's upstream parameter and open a bake on a new AMI; never raises for AWS trouble."""
        image = self._config.images.get(name)
        if image is None or image.upstream is None:
            return UpstreamCheck(name, Outcome.NO_UPSTREAM)
        released = newest_released(self._bakes, name)
        if released is None:
            return UpstreamCheck(name, Outcome.NO_RELEASED_BAKE)
        if any(b.image == name for b in self._bakes.in_flight()):
            return UpstreamCheck(name, Outcome.IN_FLIGHT)
        parameter = image.upstream.ssm_parameter
        try:
            value = self._parameters_for(image).get(parameter)
            if value is None:
                return self._refuse(name, "", f"the parameter {parameter} does not exist in {_region(image)}")
            if not AMI_ID_RE.fullmatch(value):
                return self._refuse(name, value, f"the parameter {parameter} holds {value[:64]!r}, not an AMI id")
            if value == released.source_ami:
                self._forget_refusal(name)
                return UpstreamCheck(name, Outcome.UNCHANGED, value)
            info = self._images_for(image).describe(value)
        except BakeryError as exc:
            log.error("upstream.check_failed image=%s parameter=%s error=%s", name, parameter, exc)
            return UpstreamCheck(name, Outcome.FAILED, reason=str(exc))
        if info is None or info.state != AVAILABLE:
            state = "does not exist" if info is None else f"is {info.state}, not {AVAILABLE}"
            return self._refuse(name, value, f"the parameter {parameter} names {value}, which {state}")
        self._forget_refusal(name)
        cause = Cause(kind=CauseKind.UPSTREAM, image=name, ami_id=value, parameter=parameter)
        request_id = self._auto.open_automatic(name, source_ami=value, cause=cause)
        log.info(
            "upstream.moved image=%s parameter=%s ami_id=%s was=%s request_id=%s",
            name,
            parameter,
            value,
            released.source_ami or "-",
            request_id or "-",
        )
        if request_id is None:
            return UpstreamCheck(name, Outcome.NOT_OPENED, value)
        return UpstreamCheck(name, Outcome.OPENED, value, request_id=request_id)

    def _refuse(self, name: str, value: str, reason: str) -> UpstreamCheck:
        """Nothing is opened; the refusal is logged when it is new, not on every check that finds it again."""
        with self._lock:
            new = self._refused.get(name) != reason
            self._refused[name] = reason
        if new:
            log.warning("upstream.refused image=%s reason=%s", name, reason)
        return UpstreamCheck(name, Outcome.REFUSED, value, reason=reason)

    def _forget_refusal(self, name: str) -> None:
        with self._lock:
            self._refused.pop(name, None)


def _region(image: ImageConfig) -> str:
    return image.region or "the default region"
