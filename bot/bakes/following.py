"""Follows the pipeline: ties each execution to its bake and applies events and build results to it.

Which bake an execution belongs to is found once (its source commit, the commit's trailer, or else a new
bake for a commit pushed by hand) and remembered; after that every message is one conditional rewrite of
that bake through the pure reducer in `progress`, so duplicates and stale messages change nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot.bakes.images import note_recent, record_latest
from bot.bakes.progress import advance, apply_result, close_approvals
from bot.bakes.record import ACTIVE, BAKE, Bake, BakeStatus, bake_index
from bot.bakes.result_check import believed_amis
from bot.config import Config, ImageConfig
from bot.config.model import Where
from bot.domain.errors import BakeryError, PipelineError, RoleRefused, StateConflict
from bot.domain.models import REQUEST_ID_RE, BakeResult, NoticeKind, PipelineEvent, PipelineState
from bot.domain.ports import Images, PipelineApi, SourceRepo, StateStore
from bot.domain.times import iso
from bot.observe.context import bound

log = logging.getLogger(__name__)

COMMIT = "commit"  # state kind: commit id -> the bake it belongs to
EXECUTION = "execution"  # state kind: pipeline execution id -> the bake it belongs to

Change = Callable[[Bake], Bake | None]


class PipelineFollower:
    """Applies parsed pipeline notifications to bakes; `mutate` is the bake service's stamped rewrite."""

    def __init__(
        self,
        *,
        config: Config,
        store: StateStore,
        mutate: Callable[[str, Change], Bake | None],
        mark_dirty: Callable[[str], None],
        repo_for: Callable[[ImageConfig], SourceRepo],
        pipeline_for: Callable[[Where], PipelineApi],
        images_for: Callable[[Where], Images],
        run_async: Callable[[Callable[[], None]], None],
        clock: Callable[[], datetime],
        on_success: Callable[[Bake], None],
        on_release: Callable[[Bake], None] = lambda bake: None,
    ):
        self._config = config
        self._store = store
        self._mutate = mutate
        self._mark_dirty = mark_dirty
        self._repo_for = repo_for
        self._pipeline_for = pipeline_for
        self._images_for = images_for
        self._run_async = run_async
        self._clock = clock
        self._notify_success = on_success
        self._on_release = on_release

    def _get(self, request_id: str) -> Bake | None:
        rec = self._store.get(BAKE, request_id)
        return Bake.from_doc(rec.doc) if rec else None

    def apply(self, note: PipelineEvent | BakeResult) -> None:
        """Apply one pipeline event or bake result. Idempotent: duplicates and stale messages change nothing."""
        with bound(execution_id=note.execution_id):  # on every line it logs (bot.observe), jobs it submits too
            if isinstance(note, PipelineEvent):
                self._apply_event(note)
            elif isinstance(note, BakeResult):
                self._apply_result(note)

    def _apply_event(self, ev: PipelineEvent) -> None:
        image = self._config.image_for_pipeline(ev.pipeline, ev.account)
        if image is None:
            # No image of ours runs this pipeline in that account (§13: a member account never advances another's).
            log.info("event.ignored reason=unknown-pipeline pipeline=%s account=%s", ev.pipeline, ev.account)
            return
        try:
            request_id = self.request_for_execution(image, ev.pipeline, ev.execution_id, ev.time)
        except RoleRefused as exc:
            # Which bake this is cannot be known without its account: the message stays for a retry (the
            # assumed sessions back off meanwhile), and the image's bakes in flight say why they stand still.
            self._tell_refused(exc, [b.request_id for b in self._in_flight(image.name)])
            raise
        with bound(request_id=request_id):  # correlated: the bake it belongs to
            self._advance(image, ev, request_id)

    def _advance(self, image: ImageConfig, ev: PipelineEvent, request_id: str) -> None:
        before = self._get(request_id)

        def change(b: Bake) -> Bake | None:
            moved = advance(b, ev) or b
            closed = close_approvals(moved, ev)
            return None if closed == b else closed

        after = self._mutate(request_id, change)
        if (
            after is None
            and before is not None
            and _is_success(ev)
            and before.status == BakeStatus.SUCCEEDED
            and before.amis
        ):
            # A repeat of the success (e.g. SQS again, after recording the AMIs raised): write them again.
            record_latest(self._store, before)
        log.info(
            "event.applied request_id=%s execution_id=%s event_level=%s stage=%s action=%s state=%s changed=%s",
            request_id,
            ev.execution_id,
            ev.level,
            ev.stage,
            ev.action,
            ev.state,
            after is not None,
        )
        succeeded = BakeStatus.SUCCEEDED
        if after and after.status == succeeded and (before is None or before.status != succeeded):
            self._on_success(after, image)
        self._released(after or before)

    def _in_flight(self, image: str) -> list[Bake]:
        bakes = (Bake.from_doc(r.doc) for r in self._store.find(BAKE, ACTIVE))
        return [b for b in bakes if b.image == image and not b.terminal]

    def _tell_refused(self, exc: RoleRefused, request_ids: list[str]) -> None:
        """Each bake's thread says, once, that the bakery cannot reach its image's account, and why."""
        reason = str(exc)
        for request_id in request_ids:
            log.warning("bake.role_refused request_id=%s account=%s image=%s", request_id, exc.account, exc.image)
            self._mutate(request_id, lambda b: b.with_notice("role-refused", NoticeKind.ROLE_REFUSED, reason=reason))

    def _released(self, bake: Bake | None) -> None:
        """A released bake (Publish succeeded, AMIs known) sets the train moving: on every message about it,
        not only the first, so a redelivery after a crash resumes; what follows it is idempotent."""
        if bake is not None and bake.released and bake.amis:
            self._on_release(bake)

    def _on_success(self, bake: Bake, image: ImageConfig) -> None:
        self._notify_success(bake)
        if bake.amis:
            record_latest(self._store, bake)
        else:
            # No bake result reached us: look for the AMIs the build tagged with the request id.
            self._run_async(lambda: self._find_amis(bake.request_id, image))

    def _find_amis(self, request_id: str, image: ImageConfig) -> None:
        try:
            amis = self._images_for(image).find_by_request(request_id)
        except RoleRefused as exc:
            self._tell_refused(exc, [request_id])
            return
        except BakeryError:
            log.exception("bake.ami_lookup_failed request_id=%s", request_id)
            return
        if not amis:
            self._mutate(
                request_id,
                lambda b: b.with_notice("no-amis", NoticeKind.NO_AMIS),
            )
            return
        after = self._mutate(request_id, lambda b: replace(b, amis=tuple(amis)) if not b.amis else None)
        if after:
            record_latest(self._store, after)
            self._released(after)

    def _apply_result(self, result: BakeResult) -> None:
        """A bake result, believed for the bake it names only as far as its image's account shows it (§13,
        result_check). Runs where notifications are handled (the SQS consumer, the /sns route), never on a
        Slack listener: the check calls EC2 in that account."""
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
        try:
            believed = believed_amis(self._config, self._images_for, image, request_id, result)
        except RoleRefused as exc:
            self._tell_refused(exc, [request_id])
            raise  # the result is kept for a retry: it may be the genuine one
        if result.amis and not believed:
            log.warning("result.ignored reason=no-ami-believed request_id=%s image=%s", request_id, result.image)
            return
        if not result.amis and self._config.has_member_accounts:
            # Nothing to check it by in the image's account: any member account could have sent it (§13).
            log.warning("result.ignored reason=nothing-to-check request_id=%s image=%s", request_id, result.image)
            return
        result = replace(result, amis=believed)
        after = self._mutate(request_id, lambda b: apply_result(b, result))
        bake = after or Bake.from_doc(rec.doc)  # a repeat changes nothing, but may find the AMIs unrecorded
        if bake.status == BakeStatus.SUCCEEDED and bake.amis:
            record_latest(self._store, bake)
        self._released(bake)

    def request_for_execution(self, image: ImageConfig, pipeline_name: str, execution_id: str, seen_at: str) -> str:
        """Which bake an execution belongs to: known execution, else its source commit, else a new bake."""
        rec = self._store.get(EXECUTION, execution_id)
        if rec:
            return str(rec.doc["request_id"])
        pipeline = self._pipeline_for(image)
        revision = pipeline.execution_revision(pipeline=pipeline_name, execution_id=execution_id)
        if not revision:
            raise PipelineError(f"execution {execution_id} of {pipeline_name} has no source revision yet")
        request_id = self._request_for_commit(image, revision, seen_at)
        self._store.create(EXECUTION, execution_id, {"request_id": request_id, "commit_id": revision})
        return self._alias(EXECUTION, execution_id)

    def _request_for_commit(self, image: ImageConfig, commit_id: str, seen_at: str) -> str:
        alias = self._store.get(COMMIT, commit_id)
        if alias:
            return str(alias.doc["request_id"])
        repo = self._repo_for(image)
        info = repo.commit_info(commit_id)
        # The pipeline may report a commit before the bot has recorded it: the trailer names the request.
        if info and info.request_id:
            rec = self._store.get(BAKE, info.request_id)
            if rec and rec.doc.get("image") == image.name and rec.doc.get("commit_id") in ("", commit_id):
                self._store.create(COMMIT, commit_id, {"request_id": info.request_id})
                return self._alias(COMMIT, commit_id)
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
            status=BakeStatus.COMMITTED,
            commit_id=commit_id,
            commit_url=repo.commit_url(commit_id),
            author=info.author if info else "",
            author_email=info.author_email if info else "",
            updated_at=now,
        )
        doc = bake.to_doc()
        if self._store.create(BAKE, request_id, doc, index=bake_index(doc)):
            note_recent(self._store, image.name, request_id)
            log.info("bake.discovered request_id=%s image=%s commit=%s", request_id, image.name, commit_id)
        self._store.create(COMMIT, commit_id, {"request_id": request_id})
        self._mark_dirty(request_id)
        return self._alias(COMMIT, commit_id)

    def _alias(self, kind: str, key: str) -> str:
        """The request an alias record (execution or commit) names, as stored: the first writer's wins."""
        rec = self._store.get(kind, key)
        if rec is None:  # created a moment ago and never deleted: the store lost a write
            raise StateConflict(f"state record {kind}/{key} was written but cannot be read back")
        return str(rec.doc["request_id"])


def _is_success(ev: PipelineEvent) -> bool:
    return ev.level == "pipeline" and ev.state == PipelineState.SUCCEEDED
