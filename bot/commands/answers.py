"""What `/bake` answers, as facts; `bot.slack.answers` turns each into the private reply's text and blocks."""

from __future__ import annotations

from dataclasses import dataclass

from bot.bakes.record import Bake
from bot.domain.causes import Cause
from bot.domain.links import CONSOLE, Links
from bot.domain.models import Ami
from bot.domain.replies import Reply
from bot.fleet.facts import FleetReport
from bot.fleet.revoke_facts import Revoked
from bot.lifecycle.report import GcPreview
from bot.rollouts.record import Rollout
from bot.trains.view import TrainView


@dataclass(frozen=True)
class ImageLine:
    """One configured image as `/bake help` and `/bake list` describe it."""

    name: str
    parent: str | None
    amis: tuple[Ami, ...]  # its latest bake's AMIs: one per region and account
    variables: tuple[tuple[str, str], ...] = ()  # (name, default): what `/bake <image> key=value` may set
    targets: tuple[str, ...] = ()  # the rollout targets that run this image


@dataclass(frozen=True)
class Usage:
    text: str  # the grammar's own summary, kept next to the parser it describes
    images: tuple[ImageLine, ...] = ()  # what there is to bake, with its variables, parent and targets


@dataclass(frozen=True)
class ImageList:
    images: tuple[ImageLine, ...]
    own_account: str = ""  # the bakery's account: its AMIs are shown by region alone (§13)


@dataclass(frozen=True)
class BakeOpened:
    request_id: str
    image: str
    channel: str  # where the bake's message is followed


@dataclass(frozen=True)
class StatusList:
    """`/bake status [<image>]`: the bakes (newest first for an image) and, for everything, rollouts in flight."""

    subject: str | None  # an image name, or None for everything in flight
    bakes: tuple[Bake, ...]
    rollouts: tuple[Rollout, ...] = ()
    last: tuple[Bake, ...] = ()  # with nothing in flight: the most recent bakes, newest first
    images: tuple[str, ...] = ()  # with nothing in flight: the images one may start a bake of
    own_account: str = ""  # the bakery's account: its AMIs are shown by region alone (§13)


@dataclass(frozen=True)
class BakeReport:
    """`/bake status <request-id>`: one bake with its stages, open approvals and decisions."""

    bake: Bake
    causes: tuple[Cause, ...] = ()  # an automatic bake's cause, its parent's cause, … back to the root
    own_account: str = ""  # the bakery's account: its AMIs are shown by region alone (§13)


@dataclass(frozen=True)
class RolloutReport:
    """`/bake status <rollout-id>`: one rollout with its launch template version, refresh and decisions."""

    rollout: Rollout


@dataclass(frozen=True)
class TrainReport:
    """`/bake status <train-id>`: the release train, as its message shows it."""

    view: TrainView
    now: str
    links: Links = CONSOLE  # where its hops' message links lead
    own_account: str = ""  # the bakery's account: its AMIs are shown by region alone (§13)


# `/bake fleet`'s FleetReport is bot/fleet/facts.py's: the fleet room's own fact. Revoked (`/bake revoke`, §14)
# is posted in the channel too: bot.slack.answers.in_channel says what. `/bake gc`'s GcPreview is
# bot/lifecycle/report.py's.
Answer = (
    Usage
    | ImageList
    | BakeOpened
    | StatusList
    | BakeReport
    | RolloutReport
    | TrainReport
    | FleetReport
    | Revoked
    | GcPreview
    | Reply
)
