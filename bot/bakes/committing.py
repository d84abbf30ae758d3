"""A bake's commit, made once among replicas; and the commits a dead replica left half done, finished.

A bake is recorded 'requested' with a commit claim: the replica that recorded it (`committer`) and until
when the claim holds (`commit_claim_until`, wall clock). That replica's bake worker renews the claim while it
commits, so a slow push is never taken over. Recovery (on start, and again on the replica that leads
housekeeping) leaves a bake whose claim holds alone: a live replica is committing it. A lapsed claim it takes
over with a conditional write, then commits. The commit itself is keyed by the request id: the repository is
asked for a commit carrying the request's trailer first (SourceRepo.commit_request), so the replica finishing
a dead one's bake after its push, or one that wakes from a pause after its claim lapsed, commits nothing twice.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime

from bot.bakes.following import COMMIT
from bot.bakes.images import note_recent
from bot.bakes.record import BAKE, Bake, BakeStatus, bake_index
from bot.config import Config, ImageConfig
from bot.domain.errors import BakeryError
from bot.domain.fencing import FenceLost
from bot.domain.models import NoticeKind
from bot.domain.ports import SourceRepo, StateStore
from bot.domain.records import rewrite
from bot.observe.context import bound
from bot.runtime import failpoints

log = logging.getLogger(__name__)

CLAIM_SECONDS = 60.0  # how long a commit claim holds unless renewed; renewed every third of it


class Committer:
    def __init__(
        self,
        *,
        config: Config,
        store: StateStore,
        repo_for: Callable[[ImageConfig], SourceRepo],
        clock: Callable[[], datetime],
        mutate: Callable[[str, Callable[[Bake], Bake | None]], Bake | None],
        holder: str,
        claim_seconds: float = CLAIM_SECONDS,
    ):
        self._config = config
        self._store = store
        self._repo_for = repo_for
        self._clock = clock
        self._mutate = mutate
        self._holder = holder
        self._claim_seconds = claim_seconds

    def claimed(self, bake: Bake) -> Bake:
        """`bake` as it is first recorded: claimed by this replica, whose worker is about to commit it."""
        return replace(bake, committer=self._holder, commit_claim_until=self._now() + self._claim_seconds)

    def held_elsewhere(self, bake: Bake) -> bool:
        """Another replica's claim on the bake's commit still holds: it is (or may be) committing it now."""
        return bool(bake.committer) and bake.committer != self._holder and bake.commit_claim_until > self._now()

    def commit(self, request_id: str) -> None:
        """Make the request's commit (runs on the bake worker, never on a Slack listener thread)."""
        try:
            self._commit(request_id)
        except FenceLost as exc:  # recovery run under a lease that lapsed meanwhile: another replica leads now
            log.warning("bake.commit_fenced request_id=%s lease=%s", request_id, exc.fence.name)

    def _commit(self, request_id: str) -> None:
        bake = self._claim(request_id)
        if bake is None:
            return
        image = self._config.images[bake.image]
        # Off the ack path: every bake of an image rewrites this one record, a point of contention.
        note_recent(self._store, image.name, request_id)
        try:
            repo = self._repo_for(image)
            asked = bake.request()
            with self._renewing(request_id):
                commit_id = repo.commit_request(
                    replace(asked, variables={**image.variables, **asked.variables}), image.path
                )
            failpoints.failpoint("bake.commit.pushed")
            commit_url = repo.commit_url(commit_id)
        except BakeryError as exc:
            log.error("bake.commit_failed request_id=%s image=%s error=%s", request_id, bake.image, exc)
            reason = str(exc)
            self._mutate(
                request_id,
                lambda b: (
                    replace(b, status=BakeStatus.ERROR, error=reason, commit_claim_until=0.0).with_notice(
                        "commit-failed", NoticeKind.COMMIT_FAILED, reason=reason
                    )
                    if b.status == BakeStatus.REQUESTED
                    else None
                ),
            )
            return
        self._store.create(COMMIT, commit_id, {"request_id": request_id})
        log.info("bake.committed request_id=%s commit=%s", request_id, commit_id)
        self._mutate(
            request_id,
            lambda b: replace(
                b,
                commit_id=commit_id,
                commit_url=commit_url,
                commit_claim_until=0.0,
                status=BakeStatus.COMMITTED if b.status == BakeStatus.REQUESTED else b.status,
            ),
        )

    def recover(self, in_flight: list[Bake], run_async: Callable[[Callable[[], None]], None]) -> list[str]:
        """Commit the 'requested' bakes whose claim lapsed (their replica died or stopped); the ids taken on."""
        taken = []
        for bake in in_flight:
            if bake.status != BakeStatus.REQUESTED or self.held_elsewhere(bake):
                continue
            log.info("bake.commit_recovered request_id=%s from=%s", bake.request_id, bake.committer or "-")
            with bound(request_id=bake.request_id):  # the commit job's log lines carry it (bot.observe)
                run_async(lambda rid=bake.request_id: self.commit(rid))  # type: ignore[misc]
            taken.append(bake.request_id)
        return taken

    # --- the claim --------------------------------------------------------------------------------

    def _claim(self, request_id: str) -> Bake | None:
        """Take (or renew) the commit claim of a 'requested' bake; None when it is not ours to commit."""
        won: list[Bake] = []

        def take(b: Bake) -> Bake | None:
            won.clear()
            if b.status != BakeStatus.REQUESTED or self.held_elsewhere(b):
                return None
            won.append(mine := replace(b, committer=self._holder, commit_claim_until=self._now() + self._claim_seconds))
            return mine

        rewrite(self._store, BAKE, request_id, load=Bake.from_doc, change=take, index_fn=bake_index)
        return won[0] if won else None

    @contextmanager
    def _renewing(self, request_id: str) -> Iterator[None]:
        """Keep the claim while the commit is made: a slow fetch or push is not mistaken for a dead replica."""
        done = threading.Event()

        def renew() -> None:
            while not done.wait(self._claim_seconds / 3):
                try:
                    if self._claim(request_id) is None:
                        log.warning("bake.commit_claim_lost request_id=%s holder=%s", request_id, self._holder)
                        return
                except BakeryError as exc:  # the store is unreachable: the keyed commit still holds
                    log.warning("bake.commit_claim_renew_failed request_id=%s error=%s", request_id, exc)

        # In this context: renewals made for a recovery under a lease are fenced by it too.
        context = contextvars.copy_context()
        renewer = threading.Thread(target=context.run, args=(renew,), name=f"commit-claim-{request_id}", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            done.set()
            renewer.join()

    def _now(self) -> float:
        return self._clock().timestamp()
