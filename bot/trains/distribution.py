"""A release's distribution hop (CONTRACT §12, §13): before anything follows a released bake of an image with
`share_with`, its AMI is copied into each listed region that has none (CopyImage, encrypted with that region's
bakery key, its tags carried over), and every listed account may launch each AMI and create volumes from its
snapshots. Only then are the copies the bake's AMIs, and children follow and targets roll.

The bot does it, not the Publish stage: a copy takes minutes to hours, which a build would idle through, billed,
until its timeout; the bot has a durable store and follows state across restarts, and the train shows the hop.
Started once per request id (a record created conditionally: a redelivered release finds it); CopyImage's client
token is derived from (request id, region), so a retry after a crash never makes a second copy. A periodic chore
advances it, never a worker for minutes. An AWS error is told in the bake's thread with EC2's words and retried
with back-off; a copy that fails, a missing AMI, or errors past the last try fail the hop: nothing follows.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from bot.bakes.images import record_latest
from bot.bakes.record import BAKE, Bake
from bot.config import Config, ImageConfig
from bot.config.model import Where
from bot.domain.errors import BakeryError, ImageGone
from bot.domain.models import NoticeKind
from bot.domain.ports import StateStore
from bot.domain.records import rewrite
from bot.domain.times import iso, parse_time, utc_now
from bot.trains.book import TrainBook
from bot.trains.distribution_record import (
    ACTIVE,
    DISTRIBUTION,
    Copy,
    Distribution,
    DistributionState,
    distribution_index,
)
from bot.trains.record import Hop, HopKind

log = logging.getLogger(__name__)

DEFAULT_KEY_ALIAS = "alias/ami-bakery-ami"  # ami-key.yaml's alias/${NamePrefix}-ami with the default prefix
FAILED_STATES = frozenset({"failed", "invalid", "error", "deregistered", "disabled"})  # EC2 image states

Change = Callable[[Bake], Bake | None]


class AmiCopier(Protocol):
    """EC2 in one region and account (bot/adapters/aws/ec2_sharing.py); errors are ImageError, ImageGone."""

    def copy(self, *, source_ami: str, source_region: str, name: str, kms_key_id: str, client_token: str) -> str: ...

    def image(self, ami_id: str) -> dict[str, Any]: ...

    def state(self, ami_id: str) -> tuple[str, str]: ...

    def tags(self, ami_id: str) -> dict[str, str]: ...

    def tag(self, ami_id: str, tags: dict[str, str], *, snapshots: bool = False) -> None: ...

    def share(self, ami_id: str, accounts: tuple[str, ...]) -> tuple[str, ...]: ...


def distribution_hop_key(request_id: str) -> str:
    return f"distribute:{request_id}"


def client_token(request_id: str, region: str) -> str:
    """CopyImage's idempotency token (at most 64 ASCII characters): one per (release, region)."""
    return "bakery-" + hashlib.sha256(f"{request_id}|{region}".encode()).hexdigest()[:40]


class Distributions:
    def __init__(
        self,
        *,
        config: Config,
        store: StateStore,
        trains: TrainBook,
        copier_for: Callable[[Where], AmiCopier],
        mutate_bake: Callable[[str, Change], Bake | None],
        key_alias: str = DEFAULT_KEY_ALIAS,
        clock: Callable[[], datetime] = utc_now,
        retry_first: float = 60.0,
        retry_max: float = 3600.0,
        max_attempts: int = 6,
    ):
        self._config = config
        self._store = store
        self._trains = trains
        self._copier_for = copier_for
        self._mutate_bake = mutate_bake
        self._key_alias = key_alias
        self._clock = clock
        self._retry_first, self._retry_max, self._max_attempts = retry_first, retry_max, max_attempts
        self._lock = threading.Lock()  # the intake's first step and the chore never advance one at once
        self.on_done: Callable[[Bake], None] = lambda bake: None  # the release follows (wired to ReleaseFlow)

    # --- what a release asks for -------------------------------------------------------------------------

    def needed(self, bake: Bake, image: ImageConfig) -> bool:
        """The released bake has AMIs to copy, or accounts to share them with."""
        return bool(image.share_with and bake.amis and (self._missing(bake, image) or self._accounts(bake, image)))

    def get(self, request_id: str) -> Distribution | None:
        rec = self._store.get(DISTRIBUTION, request_id)
        return Distribution.from_doc(rec.doc) if rec else None

    def gate(self, bake: Bake, image: ImageConfig, train_id: str) -> DistributionState | None:
        """Where the release's distribution stands, started here (once) with its copies asked for: None when
        there is nothing to distribute. The release follows once it is DONE (or ends, once it FAILED)."""
        if self.get(bake.request_id) is None:
            if not self.needed(bake, image):
                return None
            self._start(bake, image, train_id)
            self.advance(bake.request_id, follow=False)  # CopyImage answers at once; the chore waits for the copies
        dist = self.get(bake.request_id)
        return dist.state if dist else None

    def _missing(self, bake: Bake, image: ImageConfig) -> tuple[str, ...]:
        assert image.share_with is not None
        have = {a.region for a in bake.amis}
        return tuple(r for r in image.share_with.regions if r not in have)

    def _accounts(self, bake: Bake, image: ImageConfig) -> tuple[str, ...]:
        assert image.share_with is not None
        owner = self._owner(image)  # the image's account owns its AMIs (§13), whatever a bake result says
        return tuple(a for a in image.share_with.accounts if a != owner)  # an owner needs no permission

    def _owner(self, image: ImageConfig) -> str:
        return image.account or self._config.bakery_account

    def _start(self, bake: Bake, image: ImageConfig, train_id: str) -> None:
        source = next((a for a in bake.amis if a.region == image.region), bake.amis[0])
        source = replace(source, account_id=self._owner(image) or source.account_id)  # the copies' account too
        dist = Distribution(
            request_id=bake.request_id,
            image=bake.image,
            source=source,
            amis=bake.amis,
            accounts=self._accounts(bake, image),
            copies=tuple(Copy(region) for region in self._missing(bake, image)),
            train_id=train_id,
            started_at=iso(self._clock()),
        )
        if self._store.create(DISTRIBUTION, bake.request_id, dist.to_doc(), index=ACTIVE):
            log.info("distribution.started request_id=%s regions=%s", bake.request_id, [c.region for c in dist.copies])
        if train_id:  # after the record: a crash in between adds the hop on the next delivery
            hop = Hop(key=distribution_hop_key(bake.request_id), kind=HopKind.DISTRIBUTION, subject=bake.image,
                      ref=bake.request_id, parent_ref=bake.request_id)  # fmt: skip
            self._trains.add_hop(train_id, hop)

    # --- the chore ---------------------------------------------------------------------------------------

    def poll_once(self) -> None:
        """Advance every distribution not done yet whose back-off has passed (the housekeeping chore)."""
        for rec in self._store.find(DISTRIBUTION, ACTIVE):
            try:
                self.advance(rec.key)
            except BakeryError:
                log.exception("distribution.advance_failed request_id=%s", rec.key)

    def advance(self, request_id: str, *, follow: bool = True) -> None:
        """One step: ask for missing copies, read their states, share once all are available, then finish."""
        with self._lock:
            dist = self.get(request_id)
            image = self._config.images.get(dist.image) if dist else None
            if dist is None or image is None or dist.terminal or not self._due(dist):
                return
            try:
                if dist.state == DistributionState.COPYING:
                    dist = self._copy(dist, image)
                if dist.state == DistributionState.SHARING:
                    dist = self._share(dist, image)
            except ImageGone as gone:
                dist = self._fail(dist, str(gone))
            except BakeryError as exc:
                dist = self._retry(dist, str(exc))
        if follow and dist.terminal and (rec := self._store.get(BAKE, request_id)):
            self.on_done(Bake.from_doc(rec.doc))

    def _key_of(self, image: ImageConfig, region: str) -> str:
        """The bakery key a copy in `region` is encrypted with: its alias for the bakery's own images; for a member
        account's, the alias's ARN in the bakery account (an alias alone names a key of the caller's account)."""
        bakery = self._config.bakery_account
        if not image.account_role or not bakery:
            return self._key_alias
        partition = image.account_role.split(":")[1]
        return f"arn:{partition}:kms:{region}:{bakery}:{self._key_alias}"

    def _due(self, dist: Distribution) -> bool:
        try:
            return not dist.next_try or parse_time(dist.next_try) <= self._clock()
        except ValueError:
            return True

    def _copy(self, dist: Distribution, image: ImageConfig) -> Distribution:
        source: dict[str, Any] | None = None
        for copy in dist.copies:
            copier = self._copier_for(self._config.where(image.name, copy.region))
            ami_id = copy.ami_id
            if not ami_id:
                source = source or self._copier_for(self._config.where(image.name, dist.source.region)).image(
                    dist.source.ami_id
                )
                ami_id = copier.copy(
                    source_ami=dist.source.ami_id,
                    source_region=dist.source.region,
                    name=str(source.get("Name") or f"{image.name}-{dist.request_id}"),
                    kms_key_id=self._key_of(image, copy.region),
                    client_token=client_token(dist.request_id, copy.region),
                )
                copier.tag(ami_id, {t["Key"]: t.get("Value", "") for t in source.get("Tags") or []})
                log.info("distribution.copying request_id=%s region=%s ami=%s", dist.request_id, copy.region, ami_id)
            state, reason = copier.state(ami_id)
            seen = Copy(copy.region, ami_id, state)
            dist = self._save(dist, partial(Distribution.with_copy, copy=seen))
            if state in FAILED_STATES:
                return self._fail(
                    dist, f"The copy {ami_id} in {copy.region} is {state}: {reason or 'EC2 gave no reason'}"
                )
        if all(c.state == "available" for c in dist.copies):
            dist = self._save(dist, lambda d: replace(d, state=DistributionState.SHARING))
        return dist

    def _share(self, dist: Distribution, image: ImageConfig) -> Distribution:
        if dist.copies:  # the copies' snapshots exist now: they carry the source's tags too
            tags = self._copier_for(self._config.where(image.name, dist.source.region)).tags(dist.source.ami_id)
            for copy in dist.copied:
                self._copier_for(self._config.where(image.name, copy.region)).tag(copy.ami_id, tags, snapshots=True)
        for ami in (*dist.amis, *dist.copied):
            self._copier_for(self._config.where(image.name, ami.region)).share(ami.ami_id, dist.accounts)
        copies = dist.copied

        def add_copies(b: Bake) -> Bake | None:
            known = {a.ami_id for a in b.amis}
            new = tuple(a for a in copies if a.ami_id not in known)
            return replace(b, amis=(*b.amis, *new)) if new else None

        # The copies join the bake's AMIs before the record says done: a crash between adds them once more.
        after = self._mutate_bake(dist.request_id, add_copies)
        if after is not None:
            record_latest(self._store, after)  # the image's latest AMIs per region: the children's parent pin
        at = iso(self._clock())
        done = self._save(dist, lambda d: replace(d, state=DistributionState.DONE, finished_at=at, error=""))
        log.info("distribution.done request_id=%s copies=%s", dist.request_id, [a.ami_id for a in copies])
        return done

    def _retry(self, dist: Distribution, error: str) -> Distribution:
        attempts = dist.attempts + 1
        if attempts >= self._max_attempts:
            return self._fail(dist, f"{error} (gave up after {attempts} tries)")
        wait = min(self._retry_first * 2 ** (attempts - 1), self._retry_max)
        at = iso(self._clock() + timedelta(seconds=wait))
        log.warning("distribution.retry request_id=%s attempts=%s error=%s", dist.request_id, attempts, error)
        self._notice(dist, error, final=False, retry_seconds=int(wait))
        return self._save(dist, lambda d: replace(d, attempts=attempts, next_try=at, error=error))

    def _fail(self, dist: Distribution, error: str) -> Distribution:
        log.warning("distribution.failed request_id=%s error=%s", dist.request_id, error)
        self._notice(dist, error, final=True, retry_seconds=0)
        at = iso(self._clock())
        return self._save(dist, lambda d: replace(d, state=DistributionState.FAILED, finished_at=at, error=error))

    def _notice(self, dist: Distribution, error: str, *, final: bool, retry_seconds: int) -> None:
        """The AWS error in the bake's thread: each distinct one once, and the failure once."""
        key = "distribution:failed" if final else "distribution:" + hashlib.sha256(error.encode()).hexdigest()[:12]
        regions = ", ".join(c.region for c in dist.copies)
        self._mutate_bake(
            dist.request_id,
            lambda b: b.with_notice(key, NoticeKind.DISTRIBUTION_FAILED, error=error, final=final,
                                    retry_seconds=retry_seconds, regions=regions, accounts=", ".join(dist.accounts)),
        )  # fmt: skip

    def _save(self, dist: Distribution, change: Callable[[Distribution], Distribution]) -> Distribution:
        after = rewrite(
            self._store,
            DISTRIBUTION,
            dist.request_id,
            load=Distribution.from_doc,
            change=lambda d: None if d.terminal else change(d),
            index_fn=distribution_index,
        )
        if after is not None and dist.train_id:
            self._trains.touch(dist.train_id)  # the train's line shows the hop as it stands
        return after or self.get(dist.request_id) or dist
