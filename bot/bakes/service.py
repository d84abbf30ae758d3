"""Starts bakes: checks a /bake, records it, commits it off the ack path; reads bakes back for /bake status.

Following the pipeline afterwards is `bakes.following`; this service hands it the notifications, so the
rest of the bot sees one bake service. Every change is a conditional state write.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from bot.access.service import Access
from bot.bakes.automatic import AutomaticBakes
from bot.bakes.committing import Committer
from bot.bakes.following import PipelineFollower
from bot.bakes.images import image_summary
from bot.bakes.inputs import BakeInputs, already_baked_text
from bot.bakes.record import ACTIVE, BAKE, Bake, BakeStatus, bake_index
from bot.config import Config, ImageConfig
from bot.config.model import Where
from bot.domain import commands
from bot.domain.causes import Cause
from bot.domain.errors import BadRequest, BakeryError, NotFound
from bot.domain.ids import random_id
from bot.domain.models import REQUEST_ID_RE, BakeResult, PipelineEvent
from bot.domain.ports import Images, Parameters, PipelineApi, SourceRepo, StateStore
from bot.domain.records import rewrite_shown
from bot.domain.times import iso, parse_time, utc_now
from bot.fleet.refusal import RevocationOf, never_revoked
from bot.observe.context import bound
from bot.runtime.leases import replica_id

log = logging.getLogger(__name__)


def new_request_id() -> str:
    return random_id("b")


def _requested_at(bake: Bake) -> datetime:
    return parse_time(bake.requested_at)


class Board(Protocol):
    """Where services say a bake's Slack message needs redrawing (the publisher)."""

    def mark_dirty(self, request_id: str) -> None: ...


class BakeService:
    def __init__(
        self,
        *,
        config: Config,
        store: StateStore,
        access: Access,
        board: Board,
        repo_for: Callable[[ImageConfig], SourceRepo],
        pipeline_for: Callable[[Where], PipelineApi],
        images_for: Callable[[Where], Images],
        run_async: Callable[[Callable[[], None]], None],
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = new_request_id,
        on_success: Callable[[Bake], None] | None = None,
        parameters_for: Callable[[Where], Parameters] | None = None,
        on_release: Callable[[Bake], None] | None = None,
        reach: Callable[[ImageConfig], None] = lambda image: None,
        revoked: RevocationOf = never_revoked,  # §14: bakes on a revoked source AMI are refused
        holder: str | None = None,  # who claims the commits this service makes (another bot: another holder)
    ):
        self._config = config
        self._store = store
        self._access = access
        self._board = board
        self._repo_for = repo_for
        self._run_async = run_async
        self._clock = clock
        self._new_id = new_id
        self._reach = reach  # raises RoleRefused when the image's account cannot be reached (§13)
        self._committer = Committer(
            config=config,
            store=store,
            repo_for=repo_for,
            clock=clock,
            mutate=self._mutate,
            holder=holder or f"{replica_id()}:{random_id('c')}",
        )
        self._inputs = BakeInputs(
            config=config, store=store, repo_for=repo_for, parameters_for=parameters_for, revoked=revoked
        )
        self._automatic = AutomaticBakes(
            config=config, store=store, inputs=self._inputs, in_flight=self.in_flight, record=self._record, clock=clock
        )
        then = on_success or (lambda bake: None)

        def succeeded(bake: Bake) -> None:
            self._inputs.note_released(bake)  # what rebake avoidance compares the next bakes with
            then(bake)

        self._follower = PipelineFollower(
            config=config,
            store=store,
            mutate=self._mutate,
            mark_dirty=board.mark_dirty,
            repo_for=repo_for,
            pipeline_for=pipeline_for,
            images_for=images_for,
            run_async=run_async,
            clock=clock,
            # What else happens when a bake succeeds (its rollout buttons are remembered).
            on_success=succeeded,
            # What a release sets moving (the release train, bot.trains.flow): children, targets, the train.
            on_release=on_release or (lambda bake: None),
        )

    # --- reading -----------------------------------------------------------------------------

    def get(self, request_id: str) -> Bake | None:
        rec = self._store.get(BAKE, request_id)
        return Bake.from_doc(rec.doc) if rec else None

    def in_flight(self) -> list[Bake]:
        bakes = [Bake.from_doc(r.doc) for r in self._store.find(BAKE, ACTIVE)]
        return sorted((b for b in bakes if not b.terminal), key=_requested_at)

    def image_summary(self, image: str) -> dict[str, Any]:
        return image_summary(self._store, image)

    def status(self, subject: str | None) -> list[Bake]:
        """`/bake status`: one bake by request id, the last bakes of an image, or all in flight."""
        if subject is None:
            return self.in_flight()
        if REQUEST_ID_RE.match(subject):
            bake = self.get(subject)
            if bake is None:
                raise NotFound(f"There is no bake `{subject}`.")
            return [bake]
        if subject not in self._config.images:
            raise NotFound(f"There is no request `{subject}` and no image of that name. Try `/bake list`.")
        # In-flight bakes are indexed from the moment they are recorded; 'recent' is kept by the worker.
        found = {b.request_id: b for b in self.in_flight() if b.image == subject}
        for rid in self.image_summary(subject).get("recent", []):
            if rid not in found and (bake := self.get(rid)) is not None:
                found[rid] = bake
        return sorted(found.values(), key=_requested_at, reverse=True)

    # --- starting a bake ---------------------------------------------------------------------

    def open_bake(self, *, user: str, request: commands.Bake) -> Bake:
        """Check and record a bake request, then commit it in the background.

        Runs on the answers pool, not on a Slack listener: pinning the source AMI and the inputs fingerprint
        may read SSM and the repository's tree. A bake whose inputs a released bake already has opens nothing.
        """
        image = self._config.images.get(request.image)
        if image is None:
            known = ", ".join(f"`{n}`" for n in sorted(self._config.images))
            raise BadRequest(f"There is no image `{request.image}`. Known images: {known}.")
        self._access.require(user, "bakers")  # --force too: only bakers bake, with or without it
        unknown = sorted(set(request.variables) - set(image.variables))
        if unknown:
            allowed = ", ".join(f"`{k}`" for k in sorted(image.variables)) or "none"
            raise BadRequest(
                f"Image `{image.name}` does not declare {', '.join(f'`{k}`' for k in unknown)}; "
                f"variables you may set: {allowed}."
            )
        # A refused role is told now, as the answer to /bake, rather than in the thread after the answer.
        self._reach(image)
        source_ami = self._inputs.source_ami(image, request.source_ami)
        inputs = self._inputs.fingerprint(image, request.variables, source_ami)
        baked = self._inputs.already_baked(image.name, inputs)
        if baked is not None and not request.force:
            log.info("bake.not_opened reason=same-inputs image=%s same_as=%s", image.name, baked.request_id)
            raise BadRequest(already_baked_text(baked, force_hint=True))
        now = self._clock()
        bake = Bake(
            request_id="",
            image=image.name,
            requested_by=user,
            requested_at=iso(now),
            reason=request.reason,
            channel=image.channel,
            pipeline=image.pipeline,
            # What the requester set: the bake's message lists these. The commit adds the image's defaults
            # (`_commit`), so a knob left at its default (the sandbox's sandbox_fail=none) is not listed.
            variables=dict(request.variables),
            source_ami=source_ami,
            inputs=inputs,
            forced=request.force and baked is not None,
            status=BakeStatus.REQUESTED,
            updated_at=iso(now),
        )
        for _ in range(5):
            bake = replace(bake, request_id=self._new_id())
            if self._record(bake):
                break
        else:  # pragma: no cover - five collisions in a space of 10^9
            raise BakeryError("Could not allocate a request id; please try again.")
        log.info("bake.opened request_id=%s image=%s user=%s", bake.request_id, image.name, user)
        return bake

    def open_automatic(self, image: str, *, source_ami: str, cause: Cause) -> str | None:
        """AutoBakes (bot/trains/auto.py): one bake of `image` on `source_ami`, requested by the bakery."""
        return self._automatic.open(image, source_ami=source_ami, cause=cause)

    def released_with_inputs_on(self, image: str, source_ami: str) -> Bake | None:
        """The released bake that already has the inputs a bake of `image` on `source_ami` would have now (the
        image's defaults, its branch tip): why a Rebake would open nothing. Reads the repository's tree."""
        config = self._config.images[image]
        return self._inputs.already_baked(image, self._inputs.fingerprint(config, {}, source_ami))

    def _record(self, bake: Bake) -> bool:
        """Create the bake's record if its id is free (claimed for this replica's commit); then its message is
        drawn and its commit made."""
        doc = self._committer.claimed(bake).to_doc()
        if not self._store.create(BAKE, bake.request_id, doc, index=bake_index(doc)):
            return False
        self._board.mark_dirty(bake.request_id)
        with bound(request_id=bake.request_id):  # the commit job's log lines carry it (bot.observe)
            self._run_async(lambda: self._committer.commit(bake.request_id))
        return True

    def recover(self) -> list[str]:
        """Redraw the bakes in flight, and finish the commits a replica that died or stopped left half done.

        A bake still 'requested' whose commit claim lapsed is committed now, once (bot/bakes/committing.py);
        one another replica's claim still holds is left to it. Returns the bakes whose commit it took on.
        """
        in_flight = self.in_flight()
        taken = self._committer.recover(in_flight, self._run_async)
        for bake in in_flight:
            self._board.mark_dirty(bake.request_id)
        return taken

    # --- pipeline messages (bakes.following) ---------------------------------------------------

    def apply(self, note: PipelineEvent | BakeResult) -> None:
        """Apply one pipeline event or bake result. Idempotent: duplicates and stale messages change nothing."""
        self._follower.apply(note)

    def request_for_execution(self, image: ImageConfig, pipeline_name: str, execution_id: str, seen_at: str) -> str:
        """Which bake an execution belongs to: known execution, else its source commit, else a new bake."""
        return self._follower.request_for_execution(image, pipeline_name, execution_id, seen_at)

    # --- state helpers -----------------------------------------------------------------------

    def mutate(self, request_id: str, change: Callable[[Bake], Bake | None]) -> Bake | None:
        """Conditionally rewrite one bake (see `_mutate`); for the services built on bakes."""
        return self._mutate(request_id, change)

    def _mutate(self, request_id: str, change: Callable[[Bake], Bake | None]) -> Bake | None:
        """Conditionally rewrite one bake; the change sees the freshest copy and may return None for 'none'."""
        return rewrite_shown(
            self._store,
            BAKE,
            request_id,
            load=Bake.from_doc,
            change=change,
            index_fn=bake_index,
            now=lambda: iso(self._clock()),
            mark_dirty=self._board.mark_dirty,
        )
