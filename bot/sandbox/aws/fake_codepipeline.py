"""A local CodePipeline: an in-memory pipeline model served over CodePipeline's AWS JSON 1.1 protocol."""

from __future__ import annotations

import json
import logging
import socket
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bot.domain.models import STAGES
from bot.sandbox.local_server import LocalServer

log = logging.getLogger(__name__)

TARGET_PREFIX = "CodePipeline_20150709."
CONTENT_TYPE = "application/x-amz-json-1.1"
# AWS fails a manual approval that nobody answers within seven days.
APPROVAL_LIFETIME = timedelta(days=7)
# GetPipeline reports an action type per stage; the bakery's other stages are CodeBuild actions.
_ACTION_TYPES = {"Source": ("Source", "CodeCommit"), "Approve": ("Approval", "Manual")}

StageSpec = str | tuple[str, Sequence[str]]


class CodePipelineFault(Exception):
    """An AWS error, answered on the wire as a JSON 1.1 error body so botocore raises ClientError."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


@dataclass(frozen=True)
class ApprovalDecision:
    """A PutApprovalResult that CodePipeline accepted."""

    pipeline: str
    stage: str
    action: str
    execution_id: str
    token: str
    status: str  # "Approved" | "Rejected"
    summary: str
    decided_at: datetime


@dataclass(frozen=True)
class StopRequest:
    """A StopPipelineExecution that CodePipeline accepted."""

    pipeline: str
    execution_id: str
    abandon: bool
    reason: str


@dataclass(frozen=True)
class ExecutionStarted:
    """An execution the fake started, through the Python API or StartPipelineExecution."""

    pipeline: str
    execution_id: str
    revision_id: str
    trigger: str


Event = ApprovalDecision | StopRequest | ExecutionStarted


@dataclass
class _Action:
    name: str
    category: str
    provider: str
    latest: dict[str, Any] | None = None  # wire-shaped ActionExecution
    approval_token: str = ""  # the one token PutApprovalResult accepts for this action


@dataclass
class _Stage:
    name: str
    actions: list[_Action]
    latest: dict[str, Any] | None = None  # wire-shaped StageExecution


@dataclass
class _Execution:
    execution_id: str
    revision_id: str
    trigger: str
    trigger_detail: str
    started: datetime
    updated: datetime
    status: str = "InProgress"
    summary: str = ""
    stop_reason: str = ""
    abandoned: bool = False


@dataclass
class _Approval:
    where: tuple[str, str, str]
    execution_id: str
    expires: datetime
    decision: ApprovalDecision | None = None


@dataclass
class _Pipeline:
    name: str
    stages: list[_Stage]
    created: datetime
    head: Callable[[], str] | None = None
    executions: list[_Execution] = field(default_factory=list)  # oldest first
    request_tokens: dict[str, str] = field(default_factory=dict)  # clientRequestToken -> execution id


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _wire(value: Any) -> Any:
    # JSON 1.1 carries timestamps as epoch seconds.
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot serialise {type(value).__name__}")


class FakeCodePipeline(LocalServer):
    """Pipelines, executions and approvals in memory; thread-safe; served on 127.0.0.1 once started.

    The Python API raises CodePipelineFault for unknown names, exactly as the wire would answer.
    Datetimes (the clock, `expires`) are timezone-aware.
    """

    _thread_name = "fake-codepipeline"
    _not_running = "FakeCodePipeline is not started"

    def __init__(
        self,
        *,
        region: str = "eu-west-1",
        account: str = "123456789012",
        clock: Callable[[], datetime] = _utcnow,
        host: str = "127.0.0.1",
        port: int = 0,
    ):
        super().__init__()
        self.region, self.account, self._clock = region, account, clock
        self._address = (host, port)
        self._lock = threading.RLock()
        self.operations: list[str] = []
        self._pipelines: dict[str, _Pipeline] = {}
        self._approvals: dict[str, _Approval] = {}
        self._decisions: list[ApprovalDecision] = []
        self._listeners: list[Callable[[Event], None]] = []

    # --- serving ------------------------------------------------------------------------------------

    def _bind(self) -> _Server:
        server = _Server(self._address, _Handler)
        server.fake = self
        return server

    def _close(self, server: ThreadingHTTPServer) -> None:
        super()._close(server)
        assert isinstance(server, _Server)
        server.close_connections()

    @property
    def endpoint(self) -> str:
        return self._url()

    # --- the model, as the sandbox pipeline and tests drive it -------------------------------------

    def add_pipeline(
        self, name: str, stages: Iterable[StageSpec] = STAGES, *, head: Callable[[], str] | None = None
    ) -> None:
        """A pipeline; each stage is a name (one action of that name) or (name, [action names]).

        `head` returns the branch tip, for StartPipelineExecution calls that name no revision.
        """
        built = []
        for spec in stages:
            stage, actions = (spec, [spec]) if isinstance(spec, str) else (spec[0], list(spec[1]))
            category, provider = _ACTION_TYPES.get(stage, ("Build", "CodeBuild"))
            built.append(_Stage(stage, [_Action(a, category, provider) for a in actions]))
        with self._lock:
            self._pipelines[name] = _Pipeline(name, built, self._clock(), head)

    def start_execution(
        self,
        pipeline: str,
        revision_id: str,
        *,
        trigger: str = "StartPipelineExecution",
        trigger_detail: str = "",
    ) -> str:
        with self._lock:
            started = self._start(self._pipeline(pipeline), revision_id, trigger, trigger_detail)
        self._notify(started)
        return started.execution_id

    def set_execution_status(self, pipeline: str, execution_id: str, status: str, summary: str = "") -> None:
        with self._lock:
            execution = self._execution(self._pipeline(pipeline), execution_id)
            execution.status, execution.summary, execution.updated = status, summary, self._clock()

    def set_stage_state(self, pipeline: str, stage: str, status: str, *, execution_id: str | None = None) -> None:
        with self._lock:
            p = self._pipeline(pipeline)
            self._stage(p, stage).latest = {
                "pipelineExecutionId": self._current(p, execution_id),
                "status": status,
            }

    def set_action_state(
        self,
        pipeline: str,
        stage: str,
        action: str,
        status: str,
        *,
        summary: str = "",
        external_url: str = "",
        execution_id: str | None = None,
    ) -> None:
        with self._lock:
            p = self._pipeline(pipeline)
            target = self._action(p, stage, action)
            target.latest = {
                "actionExecutionId": str(uuid.uuid4()),
                "pipelineExecutionId": self._current(p, execution_id),
                "status": status,
                "lastStatusChange": self._clock(),
                **({"summary": summary} if summary else {}),
                **({"externalExecutionUrl": external_url} if external_url else {}),
            }

    def open_approval(
        self,
        pipeline: str,
        stage: str,
        action: str,
        *,
        token: str | None = None,
        expires: datetime | None = None,
        execution_id: str | None = None,
    ) -> str:
        """Put a manual approval in progress, as CodePipeline does on reaching it; returns its token."""
        token = token or str(uuid.uuid4())
        with self._lock:
            p = self._pipeline(pipeline)
            current = self._current(p, execution_id)
            self.set_action_state(pipeline, stage, action, "InProgress", execution_id=current)
            target = self._action(p, stage, action)
            target.latest["token"] = token
            target.approval_token = token
            self._approvals[token] = _Approval(
                (pipeline, stage, action), current, expires or self._clock() + APPROVAL_LIFETIME
            )
        return token

    def execution_status(self, pipeline: str, execution_id: str) -> str:
        with self._lock:
            return self._execution(self._pipeline(pipeline), execution_id).status

    def action_status(self, pipeline: str, stage: str, action: str) -> str | None:
        with self._lock:
            latest = self._action(self._pipeline(pipeline), stage, action).latest
            return latest["status"] if latest else None

    def decisions(self) -> list[ApprovalDecision]:
        """Every approval result accepted so far, oldest first."""
        with self._lock:
            return list(self._decisions)

    def listen(self, listener: Callable[[Event], None]) -> None:
        """Call `listener` after each accepted approval, stop and start (outside the model's lock)."""
        with self._lock:
            self._listeners.append(listener)

    # --- the wire operations ------------------------------------------------------------------------

    def handle(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        """Answer one CodePipeline API call; raises CodePipelineFault for AWS errors."""
        # The `_op_` methods carry AWS's operation names, so X-Amz-Target maps onto them directly.
        method = getattr(self, f"_op_{operation}", None)
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
            e = self._execution(p, _required(body, "pipelineExecutionId"))
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
            target = self._action(self._pipeline(pipeline), stage, action)
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
            if now >= approval.expires or (target.latest or {}).get("status") != "InProgress":
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
            e = self._execution(p, _required(body, "pipelineExecutionId"))
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
                self._abandon_in_flight(p, e.execution_id)
            else:
                e.status = "Stopping"  # the driver finishes in-flight actions, then sets Stopped
            request = StopRequest(p.name, e.execution_id, abandon, reason)
        self._notify(request)
        return {"pipelineExecutionId": request.execution_id}

    # --- helpers (callers hold the lock) ------------------------------------------------------------

    def _start(self, p: _Pipeline, revision_id: str, trigger: str, detail: str) -> ExecutionStarted:
        now = self._clock()
        execution = _Execution(str(uuid.uuid4()), revision_id, trigger, detail, now, now)
        p.executions.append(execution)
        return ExecutionStarted(p.name, execution.execution_id, revision_id, trigger)

    def _abandon_in_flight(self, p: _Pipeline, execution_id: str) -> None:
        for s in p.stages:
            if s.latest and s.latest["pipelineExecutionId"] == execution_id and s.latest["status"] == "InProgress":
                s.latest["status"] = "Stopped"
            for a in s.actions:
                if a.latest and a.latest["pipelineExecutionId"] == execution_id and a.latest["status"] == "InProgress":
                    a.latest.update(status="Abandoned", lastStatusChange=self._clock())

    def _pipeline(self, name: str) -> _Pipeline:
        try:
            return self._pipelines[name]
        except KeyError:
            raise CodePipelineFault(
                "PipelineNotFoundException",
                f"Account '{self.account}' does not have a pipeline with name '{name}'",
            ) from None

    def _execution(self, p: _Pipeline, execution_id: str) -> _Execution:
        for e in p.executions:
            if e.execution_id == execution_id:
                return e
        raise CodePipelineFault(
            "PipelineExecutionNotFoundException",
            f"Pipeline execution '{execution_id}' not found in pipeline '{p.name}'",
        )

    def _stage(self, p: _Pipeline, stage: str) -> _Stage:
        for s in p.stages:
            if s.name == stage:
                return s
        raise CodePipelineFault("StageNotFoundException", f"Stage '{stage}' not found in pipeline '{p.name}'")

    def _action(self, p: _Pipeline, stage: str, action: str) -> _Action:
        for a in self._stage(p, stage).actions:
            if a.name == action:
                return a
        raise CodePipelineFault("ActionNotFoundException", f"Action '{action}' not found in stage '{stage}'")

    def _current(self, p: _Pipeline, execution_id: str | None) -> str:
        if execution_id:
            return self._execution(p, execution_id).execution_id
        if not p.executions:
            raise CodePipelineFault("PipelineExecutionNotFoundException", f"Pipeline '{p.name}' has no execution")
        return p.executions[-1].execution_id

    def _notify(self, event: Event) -> None:
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            # As on AWS, the API call has already succeeded; a listener's bug must not turn it into an
            # error the bot would see, so it is logged loudly instead.
            try:
                listener(event)
            except Exception:
                log.exception("fake_codepipeline.listener_failed", extra={"event": repr(event)})


def _required(body: dict[str, Any], key: str) -> Any:
    if body.get(key) in (None, ""):
        raise CodePipelineFault(
            "ValidationException",
            f"1 validation error detected: Value null at '{key}' failed to satisfy constraint: Member must not be null",
        )
    return body[key]


def _trigger(e: _Execution) -> dict[str, str]:
    return {"triggerType": e.trigger, **({"triggerDetail": e.trigger_detail} if e.trigger_detail else {})}


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    fake: FakeCodePipeline

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()

    # Clients keep connections alive; tracking them lets stop() end them, so a stopped fake
    # answers nothing rather than serving stale state on an old connection.
    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # the client closed it first


class _Handler(BaseHTTPRequestHandler):
    # Keep-alive, like AWS: botocore pools connections, and HTTP/1.0 would close each one.
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        try:
            if self.path != "/" or not target.startswith(TARGET_PREFIX):
                raise CodePipelineFault("UnknownOperationException", f"Unknown target {target!r} at {self.path}")
            try:
                body = json.loads(raw or b"{}")
            except ValueError:
                raise CodePipelineFault("SerializationException", "The request body is not JSON") from None
            if not isinstance(body, dict):
                raise CodePipelineFault("SerializationException", "The request body is not a JSON object")
            self._answer(200, self.server.fake.handle(target.removeprefix(TARGET_PREFIX), body))
        except CodePipelineFault as fault:
            self._answer(fault.status, {"__type": fault.code, "message": fault.message})
        except Exception as exc:
            log.exception("fake_codepipeline.internal_error", extra={"target": target})
            self._answer(500, {"__type": "InternalFailure", "message": str(exc)})

    def _answer(self, status: int, doc: dict[str, Any]) -> None:
        payload = json.dumps(doc, default=_wire).encode()
        self.send_response(status)
        self.send_header("Content-Type", CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        # Silence per-request lines on stderr: the sandbox console and pytest output stay readable.
        pass
