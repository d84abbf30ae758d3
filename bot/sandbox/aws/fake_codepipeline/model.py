"""The local CodePipeline's state, as the sandbox pipeline driver and the tests set and read it from Python."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from bot.domain.models import STAGES
from bot.sandbox.aws.fake_codepipeline.records import (
    APPROVAL_LIFETIME,
    Action,
    Approval,
    ApprovalDecision,
    CodePipelineFault,
    Event,
    Execution,
    ExecutionStarted,
    Pipeline,
    Stage,
)

log = logging.getLogger(__name__)

# GetPipeline reports an action type per stage; the bakery's other stages are CodeBuild actions.
_ACTION_TYPES = {"Source": ("Source", "CodeCommit"), "Approve": ("Approval", "Manual")}

StageSpec = str | tuple[str, Sequence[str]]


def utc_now() -> datetime:
    return datetime.now(UTC)


class PipelineModel:
    """Pipelines, executions and approvals in memory; thread-safe.

    The Python API raises CodePipelineFault for unknown names, exactly as the wire would answer.
    Datetimes (the clock, `expires`) are timezone-aware.
    """

    def __init__(
        self,
        *,
        region: str = "eu-west-1",
        account: str = "123456789012",
        clock: Callable[[], datetime] = utc_now,
    ):
        self.region, self.account, self._clock = region, account, clock
        self._lock = threading.RLock()
        self.operations: list[str] = []  # every wire call, accepted or refused (tests count them)
        self._pipelines: dict[str, Pipeline] = {}
        self._approvals: dict[str, Approval] = {}
        self._decisions: list[ApprovalDecision] = []
        self._listeners: list[Callable[[Event], None]] = []

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
            built.append(Stage(stage, [Action(a, category, provider) for a in actions]))
        with self._lock:
            self._pipelines[name] = Pipeline(name, built, self._clock(), head)

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
            execution = self._pipeline(pipeline).execution(execution_id)
            execution.status, execution.summary, execution.updated = status, summary, self._clock()

    def set_stage_state(self, pipeline: str, stage: str, status: str, *, execution_id: str | None = None) -> None:
        with self._lock:
            p = self._pipeline(pipeline)
            p.stage(stage).latest = {"pipelineExecutionId": p.current(execution_id), "status": status}

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
            target = p.action(stage, action)
            target.latest = {
                "actionExecutionId": str(uuid.uuid4()),
                "pipelineExecutionId": p.current(execution_id),
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
            current = p.current(execution_id)
            self.set_action_state(pipeline, stage, action, "InProgress", execution_id=current)
            target = p.action(stage, action)
            assert target.latest is not None  # just set above
            target.latest["token"] = token
            target.approval_token = token
            self._approvals[token] = Approval(
                (pipeline, stage, action), current, expires or self._clock() + APPROVAL_LIFETIME
            )
        return token

    def execution_status(self, pipeline: str, execution_id: str) -> str:
        with self._lock:
            return self._pipeline(pipeline).execution(execution_id).status

    def action_status(self, pipeline: str, stage: str, action: str) -> str | None:
        with self._lock:
            latest = self._pipeline(pipeline).action(stage, action).latest
            return latest["status"] if latest else None

    def decisions(self) -> list[ApprovalDecision]:
        """Every approval result accepted so far, oldest first."""
        with self._lock:
            return list(self._decisions)

    def listen(self, listener: Callable[[Event], None]) -> None:
        """Call `listener` after each accepted approval, stop and start (outside the model's lock)."""
        with self._lock:
            self._listeners.append(listener)

    # --- helpers (callers hold the lock, except for _notify) ---------------------------------------

    def _start(self, p: Pipeline, revision_id: str, trigger: str, detail: str) -> ExecutionStarted:
        now = self._clock()
        execution = Execution(str(uuid.uuid4()), revision_id, trigger, detail, now, now)
        p.executions.append(execution)
        return ExecutionStarted(p.name, execution.execution_id, revision_id, trigger)

    def _pipeline(self, name: str) -> Pipeline:
        try:
            return self._pipelines[name]
        except KeyError:
            raise CodePipelineFault(
                "PipelineNotFoundException",
                f"Account '{self.account}' does not have a pipeline with name '{name}'",
            ) from None

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
