"""What the local pipeline did, for the sandbox's own views: each execution's stages, and each stage's log.

FakeCodePipeline answers as CodePipeline does (the latest state of each stage only); the page's execution
view wants every execution as it went, so the local pipeline writes it here too.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol


class _Run(Protocol):
    @property
    def execution_id(self) -> str: ...


@dataclass
class StageRecord:
    name: str
    status: str  # InProgress, Succeeded, Failed, Stopped
    started: datetime
    ended: datetime | None = None
    summary: str = ""


@dataclass
class ExecutionRecord:
    pipeline: str
    image: str
    execution_id: str
    commit: str
    started: datetime
    status: str = "InProgress"
    stages: list[StageRecord] = field(default_factory=list)


class Journal:
    """Executions by (pipeline, id) and log lines by (execution id, stage); thread-safe."""

    def __init__(self) -> None:
        self._executions: dict[tuple[str, str], ExecutionRecord] = {}
        self._logs: dict[tuple[str, str], list[str]] = {}
        self._lock = threading.Lock()

    # --- executions ------------------------------------------------------------------------------

    def started(self, *, pipeline: str, image: str, execution_id: str, commit: str) -> None:
        with self._lock:
            self._executions[(pipeline, execution_id)] = ExecutionRecord(
                pipeline, image, execution_id, commit, datetime.now(UTC)
            )

    def stage(self, pipeline: str, execution_id: str, stage: str, status: str, summary: str = "") -> None:
        with self._lock:
            record = self._executions.get((pipeline, execution_id))
            if record is None:
                return
            now = datetime.now(UTC)
            current = next((s for s in record.stages if s.name == stage), None)
            if current is None:
                record.stages.append(StageRecord(stage, status, now, summary=summary))
                return
            current.status, current.summary = status, summary or current.summary
            if status != "InProgress":
                current.ended = now

    def finished(self, pipeline: str, execution_id: str, status: str) -> None:
        with self._lock:
            record = self._executions.get((pipeline, execution_id))
            if record is None:
                return
            record.status = status
            for stage in record.stages:  # a stopped execution leaves its current stage as it was
                if stage.status == "InProgress":
                    stage.status, stage.ended = status, datetime.now(UTC)

    def execution(self, pipeline: str, execution_id: str) -> ExecutionRecord | None:
        with self._lock:
            record = self._executions.get((pipeline, execution_id))
            return copy.deepcopy(record)

    # --- logs ------------------------------------------------------------------------------------

    def write(self, run: _Run, stage: str, line: str) -> None:
        with self._lock:
            self._logs.setdefault((run.execution_id, stage), []).append(line.rstrip("\n"))

    def read(self, execution_id: str, stage: str) -> str | None:
        with self._lock:
            lines = self._logs.get((execution_id, stage))
            return None if lines is None else "\n".join(lines) + "\n"
