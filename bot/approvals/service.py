"""Manual approvals from Slack: tie a notification to its bake, decide once, with four-eyes and expiry.

A decision is claimed with a conditional write on the bake (one winner, however many clicks, approvers,
Slack retries or bot replicas race), then sent with one `put_approval_result` on a bake worker (submit.py).
A restart between the claim and the call resumes the call once, only if CodePipeline still waits on that token.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial

from bot.access.service import Access
from bot.approvals.record import ApprovalState, ApprovalStatus
from bot.approvals.submit import ApprovalSubmitter
from bot.bakes.record import Bake
from bot.bakes.service import BakeService
from bot.config import Config, ImageConfig
from bot.config.model import Where
from bot.domain.errors import BadRequest, BakeryError, ChatError, NotAllowed, NotFound
from bot.domain.ids import derived_key
from bot.domain.models import ApprovalRequest, Verdict
from bot.domain.ports import Chat, PipelineApi, StateStore
from bot.domain.replies import Deciding, Reply
from bot.domain.times import iso, parse_time, utc_now
from bot.observe.context import bound
from bot.trains.book import TrainBook

log = logging.getLogger(__name__)

APPROVAL = "approval"  # state kind: approval key -> the bake it belongs to
MAX_REASON = 400  # leaves room in CodePipeline's 512-character summary for who decided
CLAIM_SECONDS = 60.0  # a claimed decision is its replica's to send this long; then recovery may take it over


def approval_key(token: str) -> str:
    """The short opaque key a button carries: derived from the token (so a repeated notification maps onto
    the same approval) without revealing it."""
    return derived_key("ap", token)


class ApprovalService:
    def __init__(
        self,
        *,
        config: Config,
        store: StateStore,
        access: Access,
        chat: Chat,
        bakes: BakeService,
        pipeline_for: Callable[[Where], PipelineApi],
        run_async: Callable[[Callable[[], None]], None],
        reply_text: Callable[[Reply], str],
        clock: Callable[[], datetime] = utc_now,
    ):
        self._config = config
        self._store = store
        self._access = access
        self._chat = chat
        self._bakes = bakes
        self._pipeline_for = pipeline_for
        self._run_async = run_async
        self._clock = clock
        self._train_starter = TrainBook(store=store).starter  # four-eyes across a release train
        self._submitter = ApprovalSubmitter(
            config=config, chat=chat, bakes=bakes, pipeline_for=pipeline_for, reply_text=reply_text
        )

    # --- a notification arrives --------------------------------------------------------------

    def receive(self, note: ApprovalRequest) -> None:
        """Attach an approval notification to its bake (idempotent: repeats change nothing).

        A notification names no account, and two accounts may both have this pipeline name (§13): it belongs to
        the image whose pipeline, asked in its own account, waits on its token; to none when none does.
        """
        log.info("approval.received pipeline=%s stage=%s action=%s", note.pipeline, note.stage, note.action)
        candidates = self._config.images_with_pipeline(note.pipeline)
        if not candidates:
            log.info("approval.ignored reason=unknown-pipeline pipeline=%s", note.pipeline)
            return
        key = approval_key(note.token)
        if self._store.get(APPROVAL, key):
            log.info("approval.duplicate key=%s", key)
            return
        found = self._waiting_on(note, candidates)
        if found is None:
            # Decided, expired or replaced before we saw it, or no account of ours shows this token.
            log.info("approval.ignored reason=not-waiting pipeline=%s stage=%s", note.pipeline, note.stage)
            return
        image, execution_id = found
        request_id = self._bakes.request_for_execution(image, note.pipeline, execution_id, iso(self._clock()))
        self._store.create(APPROVAL, key, {"request_id": request_id})
        state = ApprovalState(key=key, request=note, execution_id=execution_id, received_at=iso(self._clock()))
        self._bakes.mutate(request_id, lambda b: None if b.approval(key) else b.with_approval(state))
        log.info("approval.opened request_id=%s key=%s execution_id=%s", request_id, key, execution_id)

    def _waiting_on(self, note: ApprovalRequest, candidates: list[ImageConfig]) -> tuple[ImageConfig, str] | None:
        """The image (and execution) whose pipeline, in its own account, waits on the note's token. An account
        that cannot be asked (a refused role, CodePipeline down) is retried with the message unless another
        account's pipeline shows the token: a token is one approval's, in one account."""
        failed: BakeryError | None = None
        for image in candidates:
            try:
                execution_id = self._pipeline_for(image).approval_execution(
                    pipeline=note.pipeline, stage=note.stage, action=note.action, token=note.token
                )
            except BakeryError as exc:
                log.warning("approval.check_failed image=%s pipeline=%s error=%s", image.name, note.pipeline, exc)
                failed = failed or exc
                continue
            if execution_id is not None:
                return image, execution_id
        if failed is not None:
            raise failed
        return None

    # --- someone clicks ----------------------------------------------------------------------

    def check_open(self, *, key: str) -> tuple[Bake, ApprovalState]:
        """Whether this approval can still be decided at all, from the bot's own records (no Slack call), so the
        reject modal can open within Slack's trigger window; raises NotFound/BadRequest with the reason."""
        bake, state = self._find(key)
        if not state.open:
            raise BadRequest(closed_text(state))
        if self._clock() >= parse_time(state.request.expires):
            self._bakes.mutate(bake.request_id, lambda b: _expire(b, key))
            raise BadRequest(f"This approval expired {state.request.expires}; the pipeline will fail the action.")
        if state.status == ApprovalStatus.DECIDING:
            raise BadRequest(closed_text(state))
        return bake, state

    def check(self, *, user: str, key: str) -> tuple[Bake, ApprovalState]:
        """Who may decide this approval now; raises NotAllowed/NotFound/BadRequest with the reason.

        May ask Slack (user-group members, the clicker's e-mail address), so never on a listener's thread.
        """
        bake, state = self.check_open(key=key)
        self._access.require(user, "approvers")
        if user == bake.requested_by:
            raise NotAllowed("You requested this bake, so someone else must approve it (four-eyes).")
        if bake.train_id and user == self._train_starter(bake.train_id):
            raise NotAllowed(
                f"You started release train `{bake.train_id}`, so someone else must approve its bakes (four-eyes)."
            )
        if bake.origin == "push" and bake.author_email:
            email = self._user_email(user)
            if email is None:
                raise NotAllowed(
                    "This bake is a commit pushed by hand and I cannot read your Slack e-mail address to "
                    "check that you are not its author, so I refuse."
                )
            if email.lower() == bake.author_email.lower():
                raise NotAllowed("You wrote this bake's commit, so someone else must approve it (four-eyes).")
        return bake, state

    def decide(self, *, user: str, key: str, approve: bool, reason: str = "") -> Deciding:
        """Claim the decision and send it in the background; exactly one click wins."""
        reason = " ".join(reason.split())
        if not approve and not reason:
            raise BadRequest("A rejection needs a reason.")
        if len(reason) > MAX_REASON:
            raise BadRequest(f"The reason is {len(reason)} characters; at most {MAX_REASON}, please.")
        bake, _ = self.check(user=user, key=key)
        claim = secrets.token_hex(8)
        verdict = Verdict.APPROVE if approve else Verdict.REJECT
        now = iso(self._clock())
        until = self._clock().timestamp() + CLAIM_SECONDS

        def take(b: Bake) -> Bake | None:
            a = b.approval(key)
            if a is None or a.status != ApprovalStatus.PENDING:
                return None
            return b.with_approval(
                replace(
                    a,
                    status=ApprovalStatus.DECIDING,
                    decided_by=user,
                    decided_at=now,
                    verdict=verdict,
                    reason=reason,
                    claim=claim,
                    claim_until=until,
                )
            )

        after = self._bakes.mutate(bake.request_id, take)
        won = after is not None and (a := after.approval(key)) is not None and a.claim == claim
        if not won:
            current = self._bakes.get(bake.request_id)
            state = current.approval(key) if current else None
            raise BadRequest(closed_text(state) if state else "This approval is no longer open.")
        log.info("approval.claimed request_id=%s key=%s user=%s verdict=%s", bake.request_id, key, user, verdict)
        with bound(request_id=bake.request_id):  # the click's bake, on what the submitting job logs (bot.observe)
            self._run_async(lambda: self._submitter.submit(bake.request_id, key, claim))
        return Deciding(request_id=bake.request_id, approve=approve)

    def resume(self) -> list[str]:
        """Finish, once, the claimed decisions whose claim went stale: their replica died or stopped between the
        claim and recording the call's outcome. A claim still fresh is a live replica's: left to it.

        A stale claim is taken over with a new one (a conditional write, so one recovery wins), then sent if
        CodePipeline still waits on the token (submit.py). Returns the approval keys taken over.
        """
        now = self._clock().timestamp()
        taken = []
        for bake in self._bakes.in_flight():
            for a in bake.approvals:
                if a.status == ApprovalStatus.DECIDING and a.claim_until <= now:
                    claim = self._take_over(bake.request_id, a.key, a.claim)
                    if claim:
                        log.info("approval.claim_recovered request_id=%s key=%s", bake.request_id, a.key)
                        self._run_async(partial(self._submitter.submit, bake.request_id, a.key, claim, True))
                        taken.append(a.key)
        return taken

    def _take_over(self, request_id: str, key: str, stale: str) -> str | None:
        """Replace the stale claim `stale` with a new one of ours; None when another recovery (or the end of the
        decision) came first."""
        claim, now = secrets.token_hex(8), self._clock().timestamp()

        def take(b: Bake) -> Bake | None:
            a = b.approval(key)
            if a is None or a.status != ApprovalStatus.DECIDING or a.claim != stale or a.claim_until > now:
                return None
            return b.with_approval(replace(a, claim=claim, claim_until=now + CLAIM_SECONDS))

        after = self._bakes.mutate(request_id, take)
        won = after is not None and (a := after.approval(key)) is not None and a.claim == claim
        return claim if won else None

    def expire_overdue(self) -> None:
        """Close approvals whose deadline passed (the pipeline fails them; the buttons must go now)."""
        now = self._clock()
        for bake in self._bakes.in_flight():
            for a in bake.approvals:
                if a.status == ApprovalStatus.PENDING and now >= parse_time(a.request.expires):
                    self._bakes.mutate(bake.request_id, partial(_expire, key=a.key))

    def bake_of(self, key: str) -> Bake | None:
        try:
            return self._find(key)[0]
        except NotFound:
            return None

    # --- helpers -----------------------------------------------------------------------------

    def _find(self, key: str) -> tuple[Bake, ApprovalState]:
        alias = self._store.get(APPROVAL, key) if key.startswith("ap-") and len(key) < 40 else None
        bake = self._bakes.get(alias.doc["request_id"]) if alias else None
        state = bake.approval(key) if bake else None
        if bake is None or state is None:
            raise NotFound("I do not know this approval (it may belong to another bot or be very old).")
        return bake, state

    def _user_email(self, user: str) -> str | None:
        try:
            return self._chat.user_email(user)
        except ChatError:
            log.warning("approval.email_lookup_failed user=%s", user, exc_info=True)
            return None


def _expire(bake: Bake, key: str) -> Bake | None:
    a = bake.approval(key)
    if a is None or a.status != ApprovalStatus.PENDING:
        return None
    return bake.with_approval(replace(a, status=ApprovalStatus.EXPIRED, note="no decision before it expired"))


def closed_text(state: ApprovalState) -> str:
    """Why an approval can no longer be decided here, in one sentence."""
    who = f"<@{state.decided_by}>" if state.decided_by else "someone"
    if state.status == ApprovalStatus.DECIDING:
        return f"This approval is already being decided by {who}."
    if state.status in (ApprovalStatus.APPROVED, ApprovalStatus.REJECTED):
        return f"This approval was already {state.status} by {who} at {state.decided_at}."
    if state.status == ApprovalStatus.EXPIRED:
        return f"This approval expired at {state.request.expires}."
    return f"This approval is closed: {state.note or state.status}."
