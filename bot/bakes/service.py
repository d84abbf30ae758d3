"""Starts bakes and moves them forward on pipeline messages; every change is a conditional state write."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol

from bot.access.service import Access
from bot.bakes.progress import advance, apply_result, close_approvals
from bot.bakes.record import ACTIVE, BAKE, COMMITTED, ERROR, REQUESTED, SUCCEEDED, Bake, bake_index
from bot.config import Config, ImageConfig
from bot.domain import commands
from bot.domain.errors import BadRequest, BakeryError, NotFound, PipelineError, StateConflict
from bot.domain.ids import random_id
from bot.domain.models import REQUEST_ID_RE, BakeResult, PipelineEvent
from bot.domain.ports import Images, PipelineApi, SourceRepo, StateStore
from bot.domain.records import rewrite_shown, upsert
from bot.domain.times import iso, utc_now
from bot.slack.text import escape

log = logging.getLogger(__name__)

COMMIT = "commit"
EXECUTION = "execution"
IMAGE = "image"


def new_request_id() -> str:
    return random_id("b")






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
        pipeline_for: Callable[[str | None], PipelineApi],
        images_for: Callable[[str | None], Images],
        run_async: Callable[[Callable[[], None]], None],
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = new_request_id,
        on_success: Callable[[Bake], None] | None = None,
    ):
        self._config = config
        self._store = store
        self._access = access
        self._board = board
        self._repo_for = repo_for
        self._pipeline_for = pipeline_for
        self._images_for = images_for
        self._run_async = run_async
        self._clock = clock
        self._new_id = new_id
        # What else happens when a bake succeeds (its rollout buttons are remembered): given at construction.
        self._on_success_hook = on_success

    # --- reading -----------------------------------------------------------------------------

    def get(self, request_id: str) -> Bake | None:
        rec = self._store.get(BAKE, request_id)
        return Bake.from_doc(rec.doc) if rec else None

    def in_flight(self) -> list[Bake]:
        bakes = [Bake.from_doc(r.doc) for r in self._store.find(BAKE, ACTIVE)]
        return sorted((b for b in bakes if not b.terminal), key=lambda b: b.requested_at)

    def image_summary(self, image: str) -> dict[str, Any]:
        rec = self._store.get(IMAGE, image)
        return dict(rec.doc) if rec else {}

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
        return sorted(found.values(), key=lambda b: b.requested_at, reverse=True)

    # --- starting a bake ---------------------------------------------------------------------

    def open_bake(self, *, user: str, request: commands.Bake) -> Bake:
        """Check and record a bake request, then commit it in the background. Fast: no git, no AWS here."""
        image = self._config.images.get(request.image)
        if image is None:
            known = ", ".join(f"`{n}`" for n in sorted(self._config.images))
            raise BadRequest(f"There is no image `{request.image}`. Known images: {known}.")
        self._access.require(user, "bakers")
        unknown = sorted(set(request.variables) - set(image.variables))
        if unknown:
            allowed = ", ".join(f"`{k}`" for k in sorted(image.variables)) or "none"
            raise BadRequest(
                f"Image `{image.name}` does not declare {', '.join(f'`{k}`' for k in unknown)}; "
                f"variables you may set: {allowed}."
            )
        now = self._clock()
        bake = Bake(
            request_id="",
            image=image.name,
            requested_by=user,
            requested_at=iso(now),
            reason=request.reason,
            channel=image.channel,
            pipeline=image.pipeline,
            variables={**image.variables, **request.variables},
            source_ami=request.source_ami or self._parent_ami(image),
            status=REQUESTED,
            updated_at=iso(now),
        )
        for _ in range(5):
            bake = replace(bake, request_id=self._new_id())
            doc = bake.to_doc()
            if self._store.create(BAKE, bake.request_id, doc, index=bake_index(doc)):
                break
        else:  # pragma: no cover - five collisions in a space of 10^9
            raise BakeryError("Could not allocate a request id; please try again.")
        log.info("bake.opened request_id=%s image=%s user=%s", bake.request_id, image.name, user)
        self._board.mark_dirty(bake.request_id)
        self._run_async(lambda: self._commit(bake.request_id))
        return bake

    def _parent_ami(self, image: ImageConfig) -> str | None:
        """The parent image's latest AMI in this image's region, when the bot has seen one."""
        if not image.parent:
            return None
        amis = self.image_summary(image.parent).get("amis") or []
        region = image.region or self._config.images[image.parent].region
        for ami in amis:
            if region is None or ami.get("region") == region:
                return ami.get("ami_id")
        return None  # the build then resolves the parent's latest from SSM

    def _note_recent(self, image: str, request_id: str) -> None:
        def add(doc: dict | None) -> dict:
            doc = dict(doc or {})
            doc["recent"] = ([request_id] + [r for r in doc.get("recent", []) if r != request_id])[:5]
            return doc

        try:
            upsert(self._store, IMAGE, image, add)
        except StateConflict:
            # Only `/bake status <image>` reads this list, and only once the bake has settled: the bake
            # itself must not stop for it.
            log.exception("bake.recent_not_noted image=%s request_id=%s", image, request_id)

    def _commit(self, request_id: str) -> None:
        """Make the request's commit (runs on the bake worker, never on a Slack listener thread)."""
        bake = self.get(request_id)
        if bake is None or bake.status != REQUESTED:
            return
        image = self._config.images[bake.image]
        # Off the ack path: every bake of an image rewrites this one record, a point of contention.
        self._note_recent(image.name, request_id)
        try:
            repo = self._repo_for(image)
            commit_id = repo.commit_request(bake.request())
            commit_url = repo.commit_url(commit_id)
        except BakeryError as exc:
            log.error("bake.commit_failed request_id=%s image=%s error=%s", request_id, bake.image, exc)
            reason = str(exc)
            self._mutate(
                request_id,
                lambda b: replace(b, status=ERROR, error=reason).with_notice(
                    "commit-failed", f":x: Could not commit the bake request: {escape(reason)}"
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
                status=COMMITTED if b.status == REQUESTED else b.status,
            ),
        )

    def recover(self) -> None:
        """After a restart: a bake still 'requested' lost its commit midway; say so instead of guessing."""
        for bake in self.in_flight():
            if bake.status == REQUESTED:
                self._mutate(
                    bake.request_id,
                    lambda b: (
                        replace(b, status=ERROR, error="the bot restarted before the commit was confirmed").with_notice(
                            "interrupted",
                            ":warning: The bot restarted before this bake's commit was confirmed. If a pipeline "
                            "run appears it will still be followed here; otherwise run `/bake` again.",
                        )
                        if b.status == REQUESTED
                        else None
                    ),
                )
            else:
                self._board.mark_dirty(bake.request_id)

    # --- pipeline messages -------------------------------------------------------------------

    def apply(self, note: PipelineEvent | BakeResult) -> None:
        """Apply one pipeline event or bake result. Idempotent: duplicates and stale messages change nothing."""
        if isinstance(note, PipelineEvent):
            self._apply_event(note)
        elif isinstance(note, BakeResult):
            self._apply_result(note)

    def _apply_event(self, ev: PipelineEvent) -> None:
        image = self._config.image_for_pipeline(ev.pipeline)
        if image is None:
            log.info("event.ignored reason=unknown-pipeline pipeline=%s", ev.pipeline)
            return
        request_id = self.request_for_execution(image, ev.pipeline, ev.execution_id, ev.time)
        before = self.get(request_id)

        def change(b: Bake) -> Bake | None:
            moved = advance(b, ev) or b
            closed = close_approvals(moved, ev)
            return None if closed == b else closed

        after = self._mutate(request_id, change)
        if after is None and before is not None and _is_success(ev) and before.status == SUCCEEDED and before.amis:
            # A repeat of the success (e.g. SQS again, after recording the AMIs raised): write them again.
            self._record_latest(before)
        log.info(
            "event.applied request_id=%s execution_id=%s level=%s stage=%s action=%s state=%s changed=%s",
            request_id,
            ev.execution_id,
            ev.level,
            ev.stage,
            ev.action,
            ev.state,
            after is not None,
        )
        if after and after.status == SUCCEEDED and (before is None or before.status != SUCCEEDED):
            self._on_success(after, image)

    def _on_success(self, bake: Bake, image: ImageConfig) -> None:
        if self._on_success_hook is not None:
            self._on_success_hook(bake)
        if bake.amis:
            self._record_latest(bake)
        else:
            # No bake result reached us: look for the AMIs the build tagged with the request id.
            self._run_async(lambda: self._find_amis(bake.request_id, image))

    def _find_amis(self, request_id: str, image: ImageConfig) -> None:
        try:
            amis = self._images_for(image.region).find_by_request(request_id)
        except BakeryError:
            log.exception("bake.ami_lookup_failed request_id=%s", request_id)
            return
        if not amis:
            self._mutate(
                request_id,
                lambda b: b.with_notice(
                    "no-amis",
                    ":warning: The pipeline succeeded but no AMI tagged with this "
                    "request was found and the build sent no bake result.",
                ),
            )
            return
        after = self._mutate(request_id, lambda b: replace(b, amis=tuple(amis)) if not b.amis else None)
        if after:
            self._record_latest(after)

    def _apply_result(self, result: BakeResult) -> None:
        image = self._config.images.get(result.image)
        if image is None or image.pipeline != result.pipeline:
            log.warning("result.ignored reason=unknown-image image=%s pipeline=%s", result.image, result.pipeline)
            return
        request_id = result.request_id
        rec = self._store.get(BAKE, request_id) if REQUEST_ID_RE.match(request_id or "") else None
        if rec is None and result.commit_id:
            alias = self._store.get(COMMIT, result.commit_id)
            request_id = alias.doc["request_id"] if alias else ""
            rec = self._store.get(BAKE, request_id) if request_id else None
        if rec is None:
            log.warning("result.ignored reason=unknown-request request_id=%s", result.request_id)
            return
        if rec.doc.get("image") != result.image:
            log.warning("result.ignored reason=image-mismatch request_id=%s", request_id)
            return
        after = self._mutate(request_id, lambda b: apply_result(b, result))
        bake = after or Bake.from_doc(rec.doc)  # a repeat changes nothing, but may find the AMIs unrecorded
        if bake.status == SUCCEEDED and bake.amis:
            self._record_latest(bake)

    def _record_latest(self, bake: Bake) -> None:
        """The image's latest AMIs (the parent pin of the images built on it). Raises StateConflict rather
        than lose them, so the message that brought them is handled again; repeats write nothing."""
        latest = {
            "latest_request": bake.request_id,
            "latest_at": bake.requested_at,
            "amis": [{"region": a.region, "ami_id": a.ami_id, "account_id": a.account_id} for a in bake.amis],
        }

        def put(doc: dict | None) -> dict | None:
            doc = dict(doc or {})
            if doc.get("latest_request") and doc.get("latest_at", "") > bake.requested_at:
                return None  # an older bake finishing late does not replace a newer AMI
            if all(doc.get(k) == v for k, v in latest.items()):
                return None
            return {**doc, **latest}

        upsert(self._store, IMAGE, bake.image, put)

    def request_for_execution(self, image: ImageConfig, pipeline_name: str, execution_id: str, seen_at: str) -> str:
        """Which bake an execution belongs to: known execution, else its source commit, else a new bake."""
        rec = self._store.get(EXECUTION, execution_id)
        if rec:
            return rec.doc["request_id"]
        pipeline = self._pipeline_for(image.region)
        revision = pipeline.execution_revision(pipeline_name, execution_id)
        if not revision:
            raise PipelineError(f"execution {execution_id} of {pipeline_name} has no source revision yet")
        request_id = self._request_for_commit(image, revision, seen_at)
        self._store.create(EXECUTION, execution_id, {"request_id": request_id, "commit_id": revision})
        return self._store.get(EXECUTION, execution_id).doc["request_id"]

    def _request_for_commit(self, image: ImageConfig, commit_id: str, seen_at: str) -> str:
        alias = self._store.get(COMMIT, commit_id)
        if alias:
            return alias.doc["request_id"]
        repo = self._repo_for(image)
        info = repo.commit_info(commit_id)
        # The pipeline may report a commit before the bot has recorded it: the trailer names the request.
        if info and info.request_id:
            rec = self._store.get(BAKE, info.request_id)
            if rec and rec.doc.get("image") == image.name and rec.doc.get("commit_id") in ("", commit_id):
                self._store.create(COMMIT, commit_id, {"request_id": info.request_id})
                return self._store.get(COMMIT, commit_id).doc["request_id"]
        # A commit pushed by hand: it is a bake too, reported like any other.
        request_id = "h-" + commit_id[:10].lower()
        now = iso(self._clock())
        bake = Bake(
            request_id=request_id,
            image=image.name,
            requested_by=(info.requested_by if info and info.requested_by else ""),
            requested_at=seen_at or now,
            reason=(info.subject if info else "") or "commit pushed to the repository",
            channel=image.channel,
            pipeline=image.pipeline,
            origin="push",
            status=COMMITTED,
            commit_id=commit_id,
            commit_url=repo.commit_url(commit_id),
            author=info.author if info else "",
            author_email=info.author_email if info else "",
            updated_at=now,
        )
        doc = bake.to_doc()
        if self._store.create(BAKE, request_id, doc, index=bake_index(doc)):
            self._note_recent(image.name, request_id)
            log.info("bake.discovered request_id=%s image=%s commit=%s", request_id, image.name, commit_id)
        self._store.create(COMMIT, commit_id, {"request_id": request_id})
        self._board.mark_dirty(request_id)
        return self._store.get(COMMIT, commit_id).doc["request_id"]

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


def _is_success(ev: PipelineEvent) -> bool:
    return ev.level == "pipeline" and ev.state == "SUCCEEDED"
