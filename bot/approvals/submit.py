"""The one `put_approval_result` of a claimed decision, made on a bake worker, and its outcome recorded.

Only the holder of the claim calls, and only while the approval is still `deciding` under that claim; after a
restart, only if CodePipeline still waits on the token. So a decision reaches CodePipeline at most once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from bot.approvals.record import ApprovalState, ApprovalStatus
from bot.bakes.progress import with_decision
from bot.bakes.record import Bake
from bot.bakes.service import BakeService
from bot.config import Config
from bot.config.model import Where
from bot.domain.errors import ApprovalAlreadyDecided, ApprovalTokenInvalid, BakeryError, ChatError, RoleRefused
from bot.domain.fencing import FenceLost
from bot.domain.models import Decision, NoticeKind, Verdict
from bot.domain.ports import Chat, PipelineApi
from bot.domain.replies import Decided, DecisionLost, DecisionRefused, Reply
from bot.runtime import failpoints

log = logging.getLogger(__name__)


class ApprovalSubmitter:
    def __init__(
        self,
        *,
        config: Config,
        chat: Chat,
        bakes: BakeService,
        pipeline_for: Callable[[Where], PipelineApi],
        reply_text: Callable[[Reply], str],
    ):
        self._config = config
        self._chat = chat
        self._bakes = bakes
        self._pipeline_for = pipeline_for
        self._reply_text = reply_text  # outcomes are told after the click was answered: bot.slack words them

    def submit(self, request_id: str, key: str, claim: str, resumed: bool = False) -> None:
        try:
            self._submit(request_id, key, claim, resumed)
        except FenceLost as exc:  # a recovery under a lease that lapsed: another replica leads (and resumes) now
            log.warning("approval.submit_fenced request_id=%s key=%s lease=%s", request_id, key, exc.fence.name)

    def _submit(self, request_id: str, key: str, claim: str, resumed: bool) -> None:
        bake = self._bakes.get(request_id)
        state = bake.approval(key) if bake else None
        if bake is None or state is None or state.status != ApprovalStatus.DECIDING or state.claim != claim:
            return
        image = self._config.images.get(bake.image)
        pipeline = self._pipeline_for(image)
        approve = state.verdict == Verdict.APPROVE
        asked = state.request
        if (
            resumed
            and pipeline.approval_token(pipeline=asked.pipeline, stage=asked.stage, action=asked.action) != asked.token
        ):
            # Claimed before a restart and no longer waiting: our call landed before the bot stopped, or
            # someone else decided. The action's end event tells which; calling again would be a second call.
            log.info("approval.not_waiting request_id=%s key=%s", request_id, key)
            return
        summary = _summary(state, self._user_name(state.decided_by), request_id)
        failpoints.failpoint("approval.claimed")  # claimed, checked, and not yet sent
        try:
            pipeline.put_approval_result(
                pipeline=asked.pipeline,
                stage=asked.stage,
                action=asked.action,
                token=asked.token,
                approved=approve,
                summary=summary,
            )
        except ApprovalAlreadyDecided as exc:
            if not resumed:
                self._refused(bake, key, claim, state, exc)
                return
            # Taken over from a replica that died: its call may have landed just before. CodePipeline holds the
            # approval as answered, so the decision is done; asking again would be a second call.
            log.info("approval.already_done request_id=%s key=%s", request_id, key)
        except ApprovalTokenInvalid as exc:
            self._refused(bake, key, claim, state, exc)
            return
        except BakeryError as exc:
            log.exception("approval.submit_failed request_id=%s key=%s", request_id, key)
            failure = str(exc)
            if isinstance(exc, RoleRefused):  # the thread says why, for everyone, not only the one who clicked
                self._bakes.mutate(
                    request_id, lambda b: b.with_notice("role-refused", NoticeKind.ROLE_REFUSED, reason=failure)
                )
            # Nothing was decided: open the approval again so someone can retry.
            self._bakes.mutate(
                request_id,
                lambda b: (
                    b.with_approval(
                        replace(a, status=ApprovalStatus.PENDING, claim="", note=f"last try failed: {failure}")
                    )
                    if (a := b.approval(key)) and a.claim == claim
                    else None
                ),
            )
            self._tell(bake.channel, state.decided_by, DecisionLost(reason=str(exc)))
            return
        final = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
        self._finish(request_id, key, claim, final, final.value)
        log.info("approval.decided request_id=%s key=%s user=%s outcome=%s", request_id, key, state.decided_by, final)
        self._tell(bake.channel, state.decided_by, Decided(request_id=request_id, approve=approve))

    def _refused(self, bake: Bake, key: str, claim: str, state: ApprovalState, exc: BakeryError) -> None:
        outcome = f"refused by CodePipeline: {exc}"
        self._finish(bake.request_id, key, claim, ApprovalStatus.REFUSED, outcome, note=str(exc))
        self._tell(bake.channel, state.decided_by, DecisionRefused(reason=str(exc)))

    def _finish(
        self, request_id: str, key: str, claim: str, status: ApprovalStatus, outcome: str, *, note: str = ""
    ) -> None:
        def change(b: Bake) -> Bake | None:
            a = b.approval(key)
            if a is None or a.claim != claim or a.verdict is None:
                return None
            out = b.with_approval(replace(a, status=status, note=note)) if a.status == ApprovalStatus.DECIDING else b
            decision = Decision(
                subject=f"{a.request.stage}/{a.request.action}",
                user=a.decided_by,
                verdict=a.verdict,
                at=a.decided_at,
                outcome=outcome,
                reason=a.reason,
            )
            return with_decision(out, decision)

        self._bakes.mutate(request_id, change)

    def _user_name(self, user: str) -> str:
        try:
            return self._chat.user_name(user) or user
        except ChatError:
            # The name only dresses up the summary: the decision still goes, naming the user by id.
            log.warning("approval.name_lookup_failed user=%s", user, exc_info=True)
            return user

    def _tell(self, channel: str, user: str, reply: Reply) -> None:
        try:
            self._chat.post_ephemeral(channel=channel, user=user, text=self._reply_text(reply))
        except ChatError:
            log.warning("approval.tell_failed user=%s", user, exc_info=True)


def _summary(state: ApprovalState, name: str, request_id: str) -> str:
    who = f"{name} ({state.decided_by})" if name != state.decided_by else state.decided_by
    if state.verdict == Verdict.APPROVE:
        return f"Approved in Slack by {who} for bake {request_id}."
    return f"Rejected in Slack by {who} for bake {request_id}: {state.reason}"
