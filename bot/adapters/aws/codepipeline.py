"""The CodePipeline calls the bakery makes, with AWS errors turned into the bakery's PipelineError tree."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from bot.adapters.aws.aws_call import aws_call
from bot.domain.errors import (
    ApprovalAlreadyDecided,
    ApprovalTokenInvalid,
    ExecutionNotFound,
    ExecutionNotStoppable,
    PipelineError,
    StopAlreadyRequested,
)

# CodePipeline's own limits: longer values are rejected with a ValidationException.
MAX_APPROVAL_SUMMARY = 512
MAX_STOP_REASON = 200


# Error codes with a domain meaning of their own; every other ClientError is a plain PipelineError.
_SPECIFIC_ERRORS: dict[str, type[PipelineError]] = {
    "InvalidApprovalTokenException": ApprovalTokenInvalid,
    "ApprovalAlreadyCompletedException": ApprovalAlreadyDecided,
    "PipelineExecutionNotFoundException": ExecutionNotFound,
    "PipelineExecutionNotStoppableException": ExecutionNotStoppable,
    "DuplicatedStopRequestException": StopAlreadyRequested,
}


class CodePipelineApi:
    """CodePipeline in one region, through a boto3 `codepipeline` client."""

    def __init__(self, client: Any):
        self._client = client
        self.region: str = client.meta.region_name

    def execution_revision(self, *, pipeline: str, execution_id: str) -> str | None:
        """The source commit id of an execution, or None when CodePipeline does not know it."""
        try:
            answer = _call(
                f"read execution {execution_id} of pipeline {pipeline}",
                self._client.get_pipeline_execution,
                pipelineName=pipeline,
                pipelineExecutionId=execution_id,
            )
        except ExecutionNotFound:
            return None
        # Each image pipeline has one source action, so the first revision with an id is the commit.
        for revision in answer["pipelineExecution"].get("artifactRevisions", []):
            if revision.get("revisionId"):
                return str(revision["revisionId"])
        return None

    def execution_url(self, *, pipeline: str, execution_id: str) -> str:
        execution = f"{quote(pipeline, safe='')}/executions/{quote(execution_id, safe='')}"
        return (
            f"https://{self.region}.{_console_host(self.region)}/codesuite/codepipeline/pipelines/"
            f"{execution}/timeline?region={self.region}"
        )

    def approval_token(self, *, pipeline: str, stage: str, action: str) -> str | None:
        """The token of the approval waiting at stage/action, or None when none is waiting."""
        doing = f"read the state of pipeline {pipeline}"
        state = _call(doing, self._client.get_pipeline_state, name=pipeline)
        for stage_state in state.get("stageStates", []):
            if stage_state.get("stageName") != stage:
                continue
            for action_state in stage_state.get("actionStates", []):
                latest = action_state.get("latestExecution") or {}
                # A decided approval keeps its token in the state; only an InProgress one can be answered.
                if action_state.get("actionName") == action and latest.get("status") == "InProgress":
                    return latest.get("token") or None
        return None

    def approval_execution(self, *, pipeline: str, stage: str, action: str, token: str) -> str | None:
        """The execution whose approval at stage/action holds `token` and still waits; None otherwise.

        An approval notification names no execution: the pipeline's state ties the token to one.
        """
        state = _call(f"read the state of pipeline {pipeline}", self._client.get_pipeline_state, name=pipeline)
        for stage_state in state.get("stageStates", []):
            if stage_state.get("stageName") != stage:
                continue
            for action_state in stage_state.get("actionStates", []):
                latest = action_state.get("latestExecution") or {}
                if (
                    action_state.get("actionName") == action
                    and latest.get("status") == "InProgress"
                    and latest.get("token") == token
                ):
                    return (stage_state.get("latestExecution") or {}).get("pipelineExecutionId") or None
        return None

    def put_approval_result(
        self, *, pipeline: str, stage: str, action: str, token: str, approved: bool, summary: str
    ) -> datetime | None:
        """Approve or reject the approval waiting at stage/action; returns when CodePipeline recorded it.

        Raises ApprovalTokenInvalid or ApprovalAlreadyDecided when that approval is no longer open.
        """
        status = "Approved" if approved else "Rejected"
        answer = _call(
            f"{'approve' if approved else 'reject'} {stage}/{action} of pipeline {pipeline}",
            self._client.put_approval_result,
            pipelineName=pipeline,
            stageName=stage,
            actionName=action,
            result={"status": status, "summary": summary[:MAX_APPROVAL_SUMMARY]},
            token=token,
        )
        return answer.get("approvedAt")

    def stop_execution(self, *, pipeline: str, execution_id: str, abandon: bool, reason: str) -> bool:
        """Ask CodePipeline to stop an execution; False when that same stop was already asked for.

        With `abandon`, in-progress actions are abandoned; otherwise they finish first.
        Raises ExecutionNotStoppable when the execution is no longer running.
        """
        try:
            _call(
                f"stop execution {execution_id} of pipeline {pipeline}",
                self._client.stop_pipeline_execution,
                pipelineName=pipeline,
                pipelineExecutionId=execution_id,
                abandon=abandon,
                reason=reason[:MAX_STOP_REASON],
            )
        except StopAlreadyRequested:
            # What a double click does: the execution is stopping either way, so the intent is met.
            return False
        return True


def _call(doing: str, operation: Callable[..., dict[str, Any]], **params: Any) -> dict[str, Any]:
    return aws_call(doing, operation, errors=_SPECIFIC_ERRORS, default=PipelineError, service="CodePipeline", **params)


def _console_host(region: str) -> str:
    # The console lives in other domains in the China and GovCloud partitions.
    if region.startswith("cn-"):
        return "console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "console.amazonaws-us-gov.com"
    return "console.aws.amazon.com"
