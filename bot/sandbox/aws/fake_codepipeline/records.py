"""What the local CodePipeline holds: pipelines, their stages and executions, approvals, and the events it reports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.sandbox.aws.wire import AwsFault

# AWS fails a manual approval that nobody answers within seven days.
APPROVAL_LIFETIME = timedelta(days=7)


class CodePipelineFault(AwsFault):
    """An AWS error, answered on the wire as a JSON 1.1 error body so botocore raises ClientError."""


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
class Action:
    name: str
    category: str
    provider: str
    latest: dict[str, Any] | None = None  # wire-shaped ActionExecution
    approval_token: str = ""  # the one token PutApprovalResult accepts for this action


@dataclass
class Stage:
    name: str
    actions: list[Action]
    latest: dict[str, Any] | None = None  # wire-shaped StageExecution


@dataclass
class Execution:
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
class Approval:
    where: tuple[str, str, str]
    execution_id: str
    expires: datetime
    decision: ApprovalDecision | None = None


@dataclass
class Pipeline:
    """One pipeline; its lookups raise the CodePipelineFault AWS answers for a name it does not know."""

    name: str
    stages: list[Stage]
    created: datetime
    head: Callable[[], str] | None = None
    executions: list[Execution] = field(default_factory=list)  # oldest first
    request_tokens: dict[str, str] = field(default_factory=dict)  # clientRequestToken -> execution id

    def execution(self, execution_id: str) -> Execution:
        for e in self.executions:
            if e.execution_id == execution_id:
                return e
        raise CodePipelineFault(
            "PipelineExecutionNotFoundException",
            f"Pipeline execution '{execution_id}' not found in pipeline '{self.name}'",
        )

    def stage(self, stage: str) -> Stage:
        for s in self.stages:
            if s.name == stage:
                return s
        raise CodePipelineFault("StageNotFoundException", f"Stage '{stage}' not found in pipeline '{self.name}'")

    def action(self, stage: str, action: str) -> Action:
        for a in self.stage(stage).actions:
            if a.name == action:
                return a
        raise CodePipelineFault("ActionNotFoundException", f"Action '{action}' not found in stage '{stage}'")

    def current(self, execution_id: str | None) -> str:
        """The execution named, or else the newest one."""
        if execution_id:
            return self.execution(execution_id).execution_id
        if not self.executions:
            raise CodePipelineFault("PipelineExecutionNotFoundException", f"Pipeline '{self.name}' has no execution")
        return self.executions[-1].execution_id

    def abandon_in_flight(self, execution_id: str, now: datetime) -> None:
        """What a stop-and-abandon does to the execution's stages and actions still in progress."""
        for s in self.stages:
            if s.latest and s.latest["pipelineExecutionId"] == execution_id and s.latest["status"] == "InProgress":
                s.latest["status"] = "Stopped"
            for a in s.actions:
                if a.latest and a.latest["pipelineExecutionId"] == execution_id and a.latest["status"] == "InProgress":
                    a.latest.update(status="Abandoned", lastStatusChange=now)
