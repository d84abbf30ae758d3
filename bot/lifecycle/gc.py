"""The lifecycle sweep's three ways in (§14): `/bake gc` (a dry run and a gc_confirm offer, approvers only), the
confirmed run, and the daily chore (one a day, claimed); and `bakery gc` for operators.

An offer is a stored record behind an opaque short key: the AMI ids the approver was shown. Confirming plans
afresh and removes only AMIs of that list that still qualify; an offer is used once, and goes stale after
OFFER_SECONDS, so a second click or an old message does nothing twice.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.access.service import Access
from bot.config import Config
from bot.domain.errors import NotFound
from bot.domain.ports import StateStore
from bot.domain.replies import GcSwept
from bot.domain.times import iso, parse_time, utc_now
from bot.lifecycle.claims import DailyClaims
from bot.lifecycle.report import GcPreview, SweepReport
from bot.lifecycle.sweep import LifecycleSweep

log = logging.getLogger(__name__)

OFFER = "gc-offer"  # state kind: gc_confirm button key -> the AMIs shown, who was shown them, when
OFFER_SECONDS = 3600.0
DAILY = "daily"


def offer_key() -> str:
    return "gc-" + secrets.token_hex(6)


class GcService:
    def __init__(
        self,
        *,
        config: Config,
        store: StateStore,
        access: Access,
        sweep: LifecycleSweep,
        post_report: Callable[[SweepReport], None],
        clock: Callable[[], datetime] = utc_now,
        replica: str = "bot",
    ):
        self._config = config
        self._store = store
        self._access = access
        self._sweep = sweep
        self._post = post_report
        self._clock = clock
        self._claims = DailyClaims(store, clock=clock)
        self._replica = replica

    def preview(self, *, user: str) -> GcPreview:
        """`/bake gc`: what a sweep would do now, and a button to do it (when there is anything to do)."""
        self._access.require(user, "approvers", doing="sweep AMIs")
        report = self._sweep.dry_run()
        shown = [p.ami_id for p in (*report.removed, *report.deprecated)]
        key = ""
        if shown:
            key = offer_key()
            self._store.create(OFFER, key, {"amis": shown, "by": user, "at": iso(self._clock()), "used_by": ""})
        return GcPreview(report=report, key=key, own_account=self._config.bakery_account)

    def confirm(self, *, user: str, key: str) -> GcSwept:
        """gc_confirm: run the sweep on what the offer showed (an approver; once per offer, while it is fresh)."""
        self._access.require(user, "approvers", doing="sweep AMIs")
        record = self._store.get(OFFER, key) if key.startswith("gc-") and len(key) < 40 else None
        if record is None:
            raise NotFound("I do not know this sweep offer (it may belong to another bot). Ask `/bake gc` again.")
        doc = record.doc
        if doc.get("used_by"):
            raise NotFound(f"This sweep was confirmed already, by <@{doc['used_by']}>: nothing done twice.")
        if self._clock() - parse_time(str(doc["at"])) > timedelta(seconds=OFFER_SECONDS):
            raise NotFound("This sweep offer is too old; `/bake gc` shows what a sweep would do now.")
        if not self._store.replace(OFFER, key, {**doc, "used_by": user}, expected_version=record.version):
            raise NotFound("This sweep was confirmed a moment ago by someone else: nothing done twice.")
        log.info("lifecycle.confirmed key=%s user=%s amis=%d", key, user, len(doc["amis"]))
        report = self._sweep.run(only=set(doc["amis"]))
        self._post(report)
        return GcSwept(
            removed=len(report.removed),
            freed_gb=report.freed_gb,
            in_use=len(report.in_use),
            failed=len(report.failed),
            channel=self._config.channel,
        )

    def daily(self) -> SweepReport | None:
        """The daily chore: once a UTC day (claimed), the images with `lifecycle.sweep: daily`; posts its report."""
        images = [name for name, image in self._config.images.items() if image.lifecycle.sweep == DAILY]
        if not images:
            return None
        day = self._claims.claim(self._replica)
        if day is None:
            return None
        log.info("lifecycle.daily day=%s images=%s", day, ",".join(images))
        report = self._sweep.run(images)
        if report.says_anything:
            self._post(report)
        return report
