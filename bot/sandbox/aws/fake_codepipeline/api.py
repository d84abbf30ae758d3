"""What each CodePipeline API call answers, as wire-shaped JSON 1.1 documents over the in-memory model."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.sandbox.aws.fake_codepipeline.model import PipelineModel
from bot.sandbox.aws.fake_codepipeline.records import ApprovalDecision, CodePipelineFault, Execution, StopRequest


class CodePipelineApi(PipelineModel):
    """The CodePipeline operations the bakery calls; `handle` answers one of them by its AWS name."""

    def handle(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """Answer one CodePipeline API call; raises CodePipelineFault for AWS errors."""
        # The `_op_` methods carry AWS's operation names, so X-Amz-Target maps onto them directly.
        method: Callable[[dict[str, Any]], dict[str, Any]] | None = getattr(self, f"_op_{operation}", None)
        with self._lock:
            self.operations.append(operation)  # every call, accepted or refused (tests count them)
        if method is None:
            raise CodePipelineFault("UnknownOperationException", f"Operation {operation} is not supported")
        return method(body)

    def _op_GetPipeline(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            p = self._pipeline(_required(body, "name"))
            stages = [
                {
                    "name": s.name,
                    "actions": [
                        {
                            "name": a.name,
                            "actionTypeId": {
                                "category": a.category,
                                "owner": "AWS",
                                "provider": a.provider,
                                "version": "1",
                            },
                            "runOrder": 1,
                        }
                        for a in s.actions
                    ],
                }
                for s in p.stages
            ]
            return {
                "pipeline": {
                    "name": p.name,
                    "roleArn": f"arn:aws:iam::{self.account}:role/{p.name}-pipeline",
                    "artifactStore": {"type": "S3", "location": f"{p.name}-artifacts"},
                    "stages": stages,
                    "version": 1,
                    "executionMode": "SUPERSEDED",
                    "pipelineType": "V2",
                },
                "metadata": {
                    "pipelineArn": f"arn:aws:codepipeline:{self.region}:{self.account}:{p.name}",
                    "created": p.created,
                    "updated": p.created,
                },
            }

    def _op_GetPipelineState(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            p = self._pipeline(_required(body, "name"))
            states = []
            for s in p.stages:
                actions = []
                for a in s.actions:
                    state: dict[str, Any] = {"actionName": a.name}
                    if a.latest:
                        state["latestExecution"] = {k: v for k, v in a.latest.items() if k != "pipelineExecutionId"}
                    actions.append(state)
                stage = {
                    "stageName": s.name,
                    "inboundTransitionState": {"enabled": True},
                    "actionStates": actions,
                }
                if s.latest:
                    stage["latestExecution"] = dict(s.latest)
                states.append(stage)
            return {
                "pipelineName": p.name,
                "pipelineVersion": 1,
                "stageStates": states,
                "created": p.created,
                "updated": p.created,
            }

    def _op_GetPipelineExecution(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            p = self._pipeline(_required(body, "pipelineName"))
            e = p.execution(_required(body, "pipelineExecutionId"))
            revisions = [{"name": "SourceArtifact", "revisionId": e.revision_id, "created": e.started}]
            doc = {
                "pipelineName": p.name,
                "pipelineVersion": 1,
                "pipelineExecutionId": e.execution_id,
                "status": e.status,
                "artifactRevisions": revisions if e.revision_id else [],
                "trigger": _trigger(e),
                "executionMode": "SUPERSEDED",
                "executionType": "STANDARD",
            }
            if e.summary:
                doc["statusSummary"] = e.summary
            return {"pipelineExecution": doc}

    def _op_ListPipelineExecutions(self, body: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            p = self._pipeline(_required(body, "pipelineName"))
            newest_first = list(reversed(p.executions))
        limit = int(body.get("maxResults") or 100)
        token = body.get("nextToken") or "0"
        if not token.isdigit():
            raise CodePipelineFault("InvalidNextTokenException", "The next token is not valid")
        start = int(token)
        page = newest_first[start : start + limit]
        summaries = []
        for e in page:
            summary: dict[str, Any] = {
                "pipelineExecutionId": e.execution_id,
                "status": e.status,
                "startTime": e.started,
                "lastUpdateTime": e.updated,
                "sourceRevisions": [{"actionName": "Source", "revisionId": e.revision_id}] if e.revision_id else [],
                "trigger": _trigger(e),
                "executionMode": "SUPERSEDED",
            }
            if e.stop_reason:
                summary["stopTrigger"] = {"reason": e.stop_reason}
            summaries.append(summary)
        answer: dict[str, Any] = {"pipelineExecutionSummaries": summaries}
        if start + limit < len(newest_first):
            answer["nextToken"] = str(start + limit)
        return answer

    def _op_StartPipelineExecution(self, body: dict[str, Any]) -> dict[str, Any]:
        request_token = body.get("clientRequestToken")
        with self._lock:
            p = self._pipeline(_required(body, "name"))
            if request_token in p.request_tokens:  # the API is idempotent per clientRequestToken
                return {"pipelineExecutionId": p.request_tokens[request_token]}
            revision = next(
                (
                    r.get("revisionValue", "")
                    for r in body.get("sourceRevisions") or ()
                    if r.get("revisionType") == "COMMIT_ID"
                ),
                "",
            )
            if not revision and p.head is not None:
                revision = p.head()
            elif not revision and p.executions:
                revision = p.executions[-1].revision_id
            started = self._start(p, revision, "StartPipelineExecution", "")
            if request_token:
                p.request_tokens[request_token] = started.execution_id
        self._notify(started)
        return {"pipelineExecutionId": started.execution_id}

    def _op_PutApprovalResult(self, body: dict[str, Any]) -> dict[str, Any]:
        pipeline, stage, action = (_required(body, k) for k in ("pipelineName", "stageName", "actionName"))
        token, result = _required(body, "token"), _required(body, "result")
        status, summary = result.get("status"), result.get("summary", "")
        if status not in ("Approved", "Rejected"):
            raise CodePipelineFault("ValidationException", f"Invalid approval status: {status!r}")
        with self._lock:
            target = self._pipeline(pipeline).action(stage, action)
            approval = self._approvals.get(token)
            # A token from another action, or one a newer approval replaced, is not valid here.
            if approval is None or approval.where != (pipeline, stage, action) or target.approval_token != token:
                raise CodePipelineFault("InvalidApprovalTokenException", f"The token {token} is not valid")
            if approval.decision is not None:
                raise CodePipelineFault(
                    "ApprovalAlreadyCompletedException",
                    f"The approval was already {approval.decision.status.lower()}",
                )
            now = self._clock()
            if now >= approval.expires or target.latest is None or target.latest.get("status") != "InProgress":
                raise CodePipelineFault(
                    "InvalidApprovalTokenException", "The approval request has expired or was abandoned"
                )
            decision = ApprovalDecision(pipeline, stage, action, approval.execution_id, token, status, summary, now)
            approval.decision = decision
            self._decisions.append(decision)
            target.latest.update(
                status="Succeeded" if status == "Approved" else "Failed",
                summary=summary,
                lastStatusChange=now,
            )
        self._notify(decision)
        return {"approvedAt": now}

    def _op_StopPipelineExecution(self, body: dict[str, Any]) -> dict[str, Any]:
        abandon, reason = bool(body.get("abandon")), body.get("reason", "")
        with self._lock:
            p = self._pipeline(_required(body, "pipelineName"))
            e = p.execution(_required(body, "pipelineExecutionId"))
            # AWS lets a stop-and-wait be upgraded to a stop-and-abandon, but never repeated.
            if e.status == "Stopping" and (e.abandoned or not abandon):
                raise CodePipelineFault(
                    "DuplicatedStopRequestException", f"Execution {e.execution_id} is already stopping"
                )
            if e.status not in ("InProgress", "Stopping"):
                raise CodePipelineFault(
                    "PipelineExecutionNotStoppableException",
                    f"Execution {e.execution_id} is {e.status} and cannot be stopped",
                )
            e.stop_reason, e.abandoned, e.updated = reason, abandon, self._clock()
            if abandon:
                e.status = "Stopped"
                p.abandon_in_flight(e.execution_id, self._clock())
            else:
                e.status = "Stopping"  # the driver finishes in-flight actions, then sets Stopped
            request = StopRequest(p.name, e.execution_id, abandon, reason)
        self._notify(request)
        return {"pipelineExecutionId": request.execution_id}


def _required(body: dict[str, Any], key: str) -> Any:
    if body.get(key) in (None, ""):
        raise CodePipelineFault(
            "ValidationException",
            f"1 validation error detected: Value null at '{key}' failed to satisfy constraint: Member must not be null",
        )
    return body[key]


def _trigger(e: Execution) -> dict[str, str]:
    return {"triggerType": e.trigger, **({"triggerDetail": e.trigger_detail} if e.trigger_detail else {})}
