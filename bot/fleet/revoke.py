"""`/bake revoke <ami-id> <reason>` (CONTRACT §14): withdraw a released AMI, and every copy of its bake.

Approvers only. The AMI is looked for in every account and region the configuration reaches (in parallel); it
must carry `bakery:image` naming a configured image. Its bake's other AMIs (the copies in share_with regions,
§13, found by `bakery:request-id`) hold the same content, so they are revoked with it, and the answer names
each. The revocation is recorded first (the store is what every refusal asks, so rollouts and child bakes are
refused from that moment), then each AMI is tagged `bakery:revoked=<reason>` and deprecated now, and
`/bakery/images/<image>/latest` is pointed back at the newest released unrevoked AMI where it named a revoked one.

When no good AMI is left there, the parameter is left as it is, and the answer says so: launch templates and
scripts outside the bot may resolve it at launch (`resolve:ssm:`), and a parameter that is gone stops every
scale-out and instance replacement, an outage on top of a bad AMI; the bot itself refuses anything baked on or
rolled onto the revoked AMI anyway, and the next release moves the parameter on.

A second revoke of the same AMI changes nothing that is done: it answers who revoked it, when and why, and only
finishes what AWS refused the first time (a tag, a deprecation, the parameter). Runs off the Slack listener (the
answers pool), so the AWS calls never hold the acknowledgement.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from bot.access.service import Access
from bot.bakes.record import Bake
from bot.config import Config, ImageConfig
from bot.config.model import Where
from bot.domain import commands
from bot.domain.errors import BadRequest, BakeryError, NotFound
from bot.domain.fleet_types import OwnedAmi
from bot.domain.models import TAG_IMAGE, TAG_REQUEST_ID, Ami
from bot.domain.ports import AmiLifecycle, Fleet, Parameters
from bot.domain.times import iso, parse_time, utc_now
from bot.fleet.releases import REVOKED_TAG, newest_good
from bot.fleet.revocations import Revocation, Revocations
from bot.fleet.revoke_facts import LatestMoved, Revoked, StillOn
from bot.fleet.revoke_places import Place, at_once, every_place, image_places
from bot.fleet.revoke_writes import latest_parameter, store_latest_after, tag_value
from bot.rollouts.buttons import RolloutButtons, rollout_start_key

log = logging.getLogger(__name__)

# EC2 takes no DeprecateAt in the past and rounds it to the minute, so "now" is stored as the next minute or so:
# a deprecation time this close counts as done (a second revoke does not deprecate again).
DEPRECATED_SOON = timedelta(minutes=3)


class RevokeService:
    def __init__(
        self,
        *,
        config: Config,
        access: Access,
        revocations: Revocations,
        lifecycle_for: Callable[[Where], AmiLifecycle],
        parameters_for: Callable[[Where], Parameters],
        fleet_for: Callable[[Where], Fleet],
        buttons: RolloutButtons,
        bake_of: Callable[[str], Bake | None],
        default_region: str = "",
        clock: Callable[[], datetime] = utc_now,
        restore_latest: Callable[[str, str, str], bool] = lambda image, revoked, good: False,
    ):
        self._config = config
        self._access = access
        self._revocations = revocations
        self._lifecycle_for = lifecycle_for
        self._parameters_for = parameters_for
        self._fleet_for = fleet_for
        self._buttons = buttons
        self._bake_of = bake_of
        self._default_region = default_region
        self._clock = clock
        self._restore_latest = restore_latest  # (image, revoked request, good request): the store's latest

    def revoke(self, *, user: str, channel: str, command: commands.Revoke) -> Revoked:
        self._access.require(user, "approvers", doing="revoke AMIs")
        place, found = self._find(command.ami_id)
        image = self._image_of(found)
        places = image_places(self._config, image, self._default_region)
        if place.key not in {p.key for p in places}:
            places.append(place)
        listed = at_once(places, lambda p: self._lifecycle_for(p.where).bakery_amis())
        problems = [f"could not list the AMIs in {_where(p)}: {e}" for p, e in listed if isinstance(e, BakeryError)]
        inventory = {p.key: r for p, r in listed if not isinstance(r, BakeryError)}
        bake = _bake_amis(found, place, image.name, places, inventory)
        now = self._clock()
        revocation, first = self._record(found, place, image.name, bake, user=user, reason=command.reason, now=now)
        tagged, deprecated = self._withdraw(bake, tag_value(revocation.reason), now, problems)
        latest = self._move_latest(image.name, {p.key: p for p, _ in bake}.values(), inventory, problems)
        # The store's latest bake (children's pin, a rollout's default AMI, `/bake list`) moves back with it.
        if after := store_latest_after(found, places, inventory, image.name, self._revocations.is_revoked):
            self._restore_latest(image.name, *after)
        still_on = self._still_on(image, inventory, problems)
        log.info(
            "revoke.done ami=%s image=%s user=%s first=%s amis=%d still_on=%d problems=%d",
            found.ami_id, image.name, user, first, len(bake), len(still_on), len(problems),
        )  # fmt: skip
        return Revoked(
            revocation=revocation,
            image=image.name,
            amis=tuple(Ami(region=p.region, ami_id=a.ami_id, account_id=a.account_id) for p, a in bake),
            channel=channel,
            first=first,
            tagged=tuple(tagged),
            deprecated=tuple(deprecated),
            latest=tuple(latest),
            still_on=tuple(still_on),
            problems=tuple(problems),
            own_account=self._config.bakery_account,
        )

    # --- which AMI ---------------------------------------------------------------------------

    def _find(self, ami_id: str) -> tuple[Place, OwnedAmi]:
        """The AMI and where it is: asked of every account and region at once."""
        places = every_place(self._config, self._default_region)
        answers = at_once(places, lambda p: self._lifecycle_for(p.where).owned(ami_id))
        for place, answer in answers:
            if isinstance(answer, OwnedAmi):
                return place, answer
        unreached = [f"{_where(p)} ({e})" for p, e in answers if isinstance(e, BakeryError)]
        also = f" I could not look in {', '.join(unreached)}." if unreached else ""
        raise NotFound(f"There is no AMI `{ami_id}` in any account or region the bakery reaches.{also}")

    def _image_of(self, ami: OwnedAmi) -> ImageConfig:
        image = self._config.images.get(ami.tags.get(TAG_IMAGE, ""))
        if image is None:
            raise BadRequest(
                f"AMI `{ami.ami_id}` was not made by the bakery: it has no `{TAG_IMAGE}` tag naming a configured "
                "image. Only the bakery's own AMIs can be revoked."
            )
        return image

    # --- what is done, once ------------------------------------------------------------------

    def _record(
        self,
        found: OwnedAmi,
        place: Place,
        image: str,
        bake: list[tuple[Place, OwnedAmi]],
        *,
        user: str,
        reason: str,
        now: datetime,
    ) -> tuple[Revocation, bool]:
        """The revocation of the AMI asked for (created now, or the one found), and of each AMI of its bake."""
        request_id = found.tags.get(TAG_REQUEST_ID, "")
        asked = Revocation(
            ami_id=found.ami_id, reason=reason, by=user, at=iso(now), image=image, request_id=request_id,
            region=place.region, account_id=found.account_id,
        )  # fmt: skip
        first = self._revocations.add(asked)
        kept = asked if first else (self._revocations.get(found.ami_id) or asked)
        for where, ami in bake:  # the copies: the same revocation (once each; a retry finds them done)
            self._revocations.add(
                Revocation(
                    ami_id=ami.ami_id, reason=kept.reason, by=kept.by, at=kept.at, image=image, request_id=request_id,
                    region=where.region, account_id=ami.account_id,
                )
            )  # fmt: skip
        return kept, first

    def _withdraw(
        self, bake: list[tuple[Place, OwnedAmi]], tag: str, now: datetime, problems: list[str]
    ) -> tuple[list[str], list[str]]:
        """Tag and deprecate each AMI that is not yet; the AMIs tagged and deprecated now."""

        def withdraw(item: tuple[Place, OwnedAmi]) -> tuple[bool, bool]:
            place, ami = item
            lifecycle = self._lifecycle_for(place.where)
            tagging = ami.tags.get(REVOKED_TAG) != tag
            if tagging:
                lifecycle.tag(ami.ami_id, {REVOKED_TAG: tag})
            deprecating = ami.deprecation_time is None or parse_time(ami.deprecation_time) > now + DEPRECATED_SOON
            if deprecating:
                lifecycle.deprecate(ami.ami_id, now)
            return tagging, deprecating

        tagged, deprecated = [], []
        for (place, ami), done in at_once(bake, withdraw):
            if isinstance(done, BakeryError):
                problems.append(f"could not tag and deprecate `{ami.ami_id}` in {_where(place)}: {done}")
                continue
            if done[0]:
                tagged.append(ami.ami_id)
            if done[1]:
                deprecated.append(ami.ami_id)
        return tagged, deprecated

    def _move_latest(
        self, image: str, places: Iterable[Place], inventory: dict[tuple[str, str], list[OwnedAmi]], problems: list[str]
    ) -> list[LatestMoved]:
        """`latest` back at the newest good release, in each place it named a revoked AMI (left when none is)."""
        name = latest_parameter(image)

        def move(place: Place) -> LatestMoved | None:
            parameters = self._parameters_for(place.where)
            value = (parameters.get(name) or "").strip()
            if not value or not self._revocations.is_revoked(value):
                return None
            good = newest_good(inventory.get(place.key, []), image, self._revocations.is_revoked)
            if good is not None:
                parameters.put(name, good.ami_id)
            return LatestMoved(name, place.region, place.account, was=value, now=good.ami_id if good else "")

        moved = []
        for place, answer in at_once(list(places), move):
            if isinstance(answer, BakeryError):
                problems.append(f"could not move `{name}` in {_where(place)}: {answer}")
            elif answer is not None:
                moved.append(answer)
        return moved

    # --- who still runs it -------------------------------------------------------------------

    def _still_on(
        self, image: ImageConfig, inventory: dict[tuple[str, str], list[OwnedAmi]], problems: list[str]
    ) -> list[StillOn]:
        """Every target of the image whose launch template or instances still use a revoked AMI."""
        targets = [t for t in self._config.targets.values() if t.image == image.name]
        places = {p.key: p for p in image_places(self._config, image, self._default_region)}
        by_place: dict[tuple[str, str], list[str]] = {}
        for t in sorted(targets, key=lambda t: t.name):
            by_place.setdefault((image.account, t.region or image.region or self._default_region), []).append(t.name)
        asked = [places[key] for key in by_place]
        runs = at_once(
            asked,
            lambda p: self._fleet_for(p.where).runs_of(
                [self._config.targets[n].auto_scaling_group for n in by_place[p.key]]
            ),
        )
        revoked = self._revocations.is_revoked
        still: list[StillOn] = []
        for place, answer in runs:
            if isinstance(answer, BakeryError):
                problems.append(f"could not see what the targets in {_where(place)} run: {answer}")
                continue
            good = newest_good(inventory.get(place.key, []), image.name, revoked)
            for name in by_place[place.key]:
                group = answer.get(self._config.targets[name].auto_scaling_group)
                if group is None:
                    continue
                default = group.default_ami if group.default_ami and revoked(group.default_ami) else ""
                on = tuple(sorted((a, n) for a, n in group.instances.items() if revoked(a)))
                if default or on:
                    still.append(
                        StillOn(
                            target=name, region=place.region, account_id=place.account, default_ami=default,
                            instances=on, good_ami=good.ami_id if good else "", button=self._button(good, name),
                        )
                    )  # fmt: skip
        return still

    def _button(self, good: OwnedAmi | None, target: str) -> str:
        """The Roll out key onto `good`'s bake (its `bakery:request-id`), offered now if its bake is known."""
        bake = self._bake_of(good.tags.get(TAG_REQUEST_ID, "")) if good else None
        if bake is None:
            return ""
        self._buttons.offer(bake)  # idempotent: the key's record is what a click is traced back by
        return rollout_start_key(bake.request_id, target)


def _bake_amis(
    found: OwnedAmi, place: Place, image: str, places: list[Place], inventory: dict[tuple[str, str], list[OwnedAmi]]
) -> list[tuple[Place, OwnedAmi]]:
    """The AMI asked for and every other AMI of its bake (same `bakery:request-id` and image), where each is."""
    request_id = found.tags.get(TAG_REQUEST_ID, "")
    same: list[tuple[Place, OwnedAmi]] = [(place, found)]
    for p in places:
        for ami in inventory.get(p.key, []) if request_id else []:
            if ami.ami_id != found.ami_id and ami.tags.get(TAG_REQUEST_ID) == request_id:
                if ami.tags.get(TAG_IMAGE) == image:
                    same.append((p, ami))
    return same


def _where(place: Place) -> str:
    return f"{place.region} (account {place.account})" if place.account else place.region or "the default region"
