"""The sandbox's CodePipeline: runs each new commit on an image's branch through the stages of CONTRACT §11.

Like a V2 pipeline in QUEUED mode triggered by CodeCommit, every commit gets its own execution, one at a time
per pipeline, in commit order. State goes into FakeCodePipeline (so the bot's GetPipelineExecution and
PutApprovalResult calls work), and every state change is published to the bakery's SNS topic exactly as
EventBridge would send it, so it reaches the bot through the SQS queue subscribed to the topic.
`sandbox_fail=<stage>` in a bake request makes that stage fail. An image in another account (§13) has its
pipeline in that account's FakeCodePipeline, its stages act in that account, and its events say so.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.domain.models import STAGES
from bot.sandbox.aws.events import TopicPublisher, approval_notification, pipeline_event
from bot.sandbox.aws.fake_codepipeline import APPROVAL_LIFETIME, FakeCodePipeline
from bot.sandbox.aws.fake_codepipeline.api import CodePipelineApi
from bot.sandbox.pipeline.journal import Journal
from bot.sandbox.pipeline.stages import Run, StageFailed, Stages, git

log = logging.getLogger(__name__)

BUILD_STAGES = frozenset({"Validate", "Bake", "Test"})  # CodeBuild actions: they have a log
# The action of each stage, named as in infra/cloudformation/image.yaml (a test holds the two together), so
# the bot sees the same events and approval notifications here as from a real pipeline.
ACTIONS = {
    "Source": "Source",
    "Validate": "PackerValidate",
    "Bake": "PackerBuild",
    "Test": "BootAndCheck",
    "Approve": "Release",
    "Publish": "MarkReleased",
}
WAIT_STEP = 0.05


@dataclass(frozen=True)
class PipelineSpec:
    image: str
    pipeline: str
    repository: Path  # the bare git repository behind the image's CodeCommit repository
    branch: str
    region: str
    parent: str | None = None
    path: str = ""  # the image's directory in the repository (§4): where its bake-request.json is
    account: str = ""  # the account the image lives in (§13); "" for the bakery's own


class _Stopped(Exception):
    """The execution was stopped (StopPipelineExecution) or the sandbox is shutting down."""


class LocalPipeline:
    """One watcher thread per image pipeline; `start()` takes the current tips as already built."""

    def __init__(
        self,
        specs: list[PipelineSpec],
        *,
        codepipeline: FakeCodePipeline,
        topic: TopicPublisher,
        stages: Stages,
        logs: Journal,
        log_url: Callable[[str, str], str],
        console_url: Callable[[str, str], str] | None = None,  # (pipeline, execution id): "the console"
        stage_seconds: float = 2.0,
        poll_seconds: float = 0.2,
    ):
        self._specs, self._topic = specs, topic
        self._stages, self._logs, self._log_url, self._console_url = stages, logs, log_url, console_url
        self._stage_seconds, self._poll = stage_seconds, poll_seconds
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._account = topic.account
        # Each image's pipeline, in its own account's CodePipeline.
        self._pipelines: dict[str, CodePipelineApi] = {
            spec.image: codepipeline.in_account(spec.account or self._account) for spec in specs
        }

    def _cp(self, run: Run) -> CodePipelineApi:
        return self._pipelines[run.image]

    def start(self) -> LocalPipeline:
        for spec in self._specs:
            seen = self._tip(spec)
            self._pipelines[spec.image].add_pipeline(
                spec.pipeline,
                [(stage, [ACTIONS[stage]]) for stage in STAGES],
                head=functools.partial(self._head, spec),
            )
            thread = threading.Thread(target=self._watch, args=(spec, seen), name=f"pipeline-{spec.image}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)

    # --- triggering ----------------------------------------------------------------------------

    def _head(self, spec: PipelineSpec) -> str:
        """The branch tip as FakeCodePipeline's `head` wants it: "" while the branch has none."""
        return self._tip(spec) or ""

    def _tip(self, spec: PipelineSpec) -> str | None:
        """The branch tip, read from the ref files: polled often, so no git process per look."""
        ref = f"refs/heads/{spec.branch}"
        try:
            return (spec.repository / ref).read_text().strip() or None
        except FileNotFoundError:
            pass
        packed = spec.repository / "packed-refs"
        lines = packed.read_text().splitlines() if packed.exists() else []
        return next((line.split()[0] for line in lines if line.endswith(" " + ref)), None)

    def _watch(self, spec: PipelineSpec, seen: str | None) -> None:
        while not self._stop.wait(self._poll):
            try:
                tip = self._tip(spec)
                if not tip or tip == seen:
                    continue
                span = f"{seen}..{tip}" if seen else tip
                # Each commit is a push of its own to CodeCommit: one execution each, oldest first.
                for commit in git(spec.repository, "rev-list", "--reverse", span).split():
                    if self._stop.is_set():
                        return
                    self._execute(spec, commit)
                seen = tip
            except Exception:  # noqa: BLE001 - the watcher must outlive one broken execution
                if self._stop.is_set():
                    return  # shutting down: git children may have been interrupted with us
                log.exception("sandbox.pipeline_failed image=%s", spec.image)
                self._stop.wait(1)

    # --- one execution ---------------------------------------------------------------------------

    def _execute(self, spec: PipelineSpec, commit: str) -> None:
        account = spec.account or self._account
        repo_arn = f"arn:aws:codecommit:{spec.region}:{account}:{spec.repository.name.removesuffix('.git')}"
        execution_id = self._pipelines[spec.image].start_execution(
            spec.pipeline, commit, trigger="CloudWatchEvent", trigger_detail=repo_arn
        )
        run = Run(
            image=spec.image,
            pipeline=spec.pipeline,
            parent=spec.parent,
            region=spec.region,
            repository=spec.repository,
            execution_id=execution_id,
            commit=commit,
            request={},
            path=spec.path,
            account=account,
        )
        self._logs.started(pipeline=spec.pipeline, image=spec.image, execution_id=execution_id, commit=commit)
        log.info("sandbox.execution_started pipeline=%s execution_id=%s commit=%s", spec.pipeline, execution_id, commit)
        self._event(run, "STARTED")
        try:
            for stage in STAGES:
                if not self._stage(run, stage):
                    self._finish(run, "Failed", "FAILED")
                    return
        except _Stopped:
            if not self._stop.is_set():
                self._finish(run, "Stopped", "STOPPED")
            return
        self._finish(run, "Succeeded", "SUCCEEDED")

    def _finish(self, run: Run, status: str, state: str) -> None:
        self._cp(run).set_execution_status(run.pipeline, run.execution_id, status)
        self._logs.finished(run.pipeline, run.execution_id, status)
        self._event(run, state)
        log.info("sandbox.execution_ended execution_id=%s state=%s", run.execution_id, state)

    def _stage(self, run: Run, stage: str) -> bool:
        cp, ex, action = self._cp(run), run.execution_id, ACTIONS[stage]
        url = self._log_url(ex, stage) if stage in BUILD_STAGES else ""
        cp.set_stage_state(run.pipeline, stage, "InProgress", execution_id=ex)
        self._logs.stage(run.pipeline, ex, stage, "InProgress")
        self._event(run, "STARTED", stage)
        cp.set_action_state(run.pipeline, stage, action, "InProgress", external_url=url, execution_id=ex)
        self._event(run, "STARTED", stage, action, external_url=url)
        try:
            self._pause(run)
            summary = self._work(run, stage)
        except StageFailed as failure:
            log.info("sandbox.stage_failed execution_id=%s stage=%s summary=%s", ex, stage, failure.summary)
            self._logs.write(run, stage, f"FAILED: {failure.summary}")
            if cp.action_status(run.pipeline, stage, action) == "InProgress":
                cp.set_action_state(
                    run.pipeline, stage, action, "Failed", summary=failure.summary, external_url=url, execution_id=ex
                )
            extra = {"category": failure.category} if failure.category else {}
            self._event(run, "FAILED", stage, action, external_url=url, summary=failure.summary, **extra)
            cp.set_stage_state(run.pipeline, stage, "Failed", execution_id=ex)
            self._logs.stage(run.pipeline, ex, stage, "Failed", failure.summary)
            self._event(run, "FAILED", stage)
            return False
        if stage != "Approve":  # PutApprovalResult already recorded the approval's outcome
            cp.set_action_state(
                run.pipeline, stage, action, "Succeeded", summary=summary, external_url=url, execution_id=ex
            )
        self._event(run, "SUCCEEDED", stage, action, external_url=url, summary=summary)
        cp.set_stage_state(run.pipeline, stage, "Succeeded", execution_id=ex)
        self._logs.stage(run.pipeline, ex, stage, "Succeeded", summary)
        self._event(run, "SUCCEEDED", stage)
        return True

    def _work(self, run: Run, stage: str) -> str:
        fail = run.fail_stage == stage.lower()
        if stage == "Source":
            summary = self._stages.source(run)  # reads the request, and so whether to fail on purpose
            fail = run.fail_stage == "source"
        elif stage == "Bake":
            return self._stages.bake(run, fail=fail)
        if fail:
            raise StageFailed(f"sandbox_fail={stage.lower()}: {stage} failed on purpose")
        if stage == "Source":
            return summary
        if stage == "Approve":
            return self._approve(run)
        return {"Validate": self._stages.validate, "Test": self._stages.test, "Publish": self._stages.publish}[stage](
            run
        )

    def _pause(self, run: Run, seconds: float | None = None) -> None:
        """Let a stage take its time, noticing a stop request or shutdown meanwhile."""
        deadline = time.monotonic() + (self._stage_seconds if seconds is None else seconds)
        while True:
            self._check_stopped(run)
            left = deadline - time.monotonic()
            if left <= 0:
                return
            self._stop.wait(min(left, WAIT_STEP * 2))

    def _check_stopped(self, run: Run) -> None:
        if self._stop.is_set() or self._cp(run).execution_status(run.pipeline, run.execution_id) in (
            "Stopping",
            "Stopped",
        ):
            raise _Stopped()

    # --- the manual approval ---------------------------------------------------------------------

    def _approve(self, run: Run) -> str:
        cp, action = self._cp(run), ACTIONS["Approve"]
        token = cp.open_approval(run.pipeline, "Approve", action, execution_id=run.execution_id)
        expires = datetime.now(UTC) + APPROVAL_LIFETIME
        self._topic.publish(
            approval_notification(
                pipeline=run.pipeline,
                stage="Approve",
                action=action,
                token=token,
                expires=expires.strftime("%Y-%m-%dT%H:%MZ"),
                region=run.region,
                custom_data=f"Release {run.ami_id} as the latest {run.image} AMI (bake {run.request_id})",
                console_link=self._console_url(run.pipeline, run.execution_id) if self._console_url else "",
            ),
            subject=f"APPROVAL NEEDED: AWS CodePipeline {run.pipeline} for action {action}",
        )
        self._logs.write(run, "Approve", f"waiting for approval (token {token[:8]}…)")
        while cp.action_status(run.pipeline, "Approve", action) == "InProgress":
            if datetime.now(UTC) >= expires:
                raise StageFailed("The approval expired after 7 days", category="Approval")
            self._check_stopped(run)
            self._stop.wait(WAIT_STEP)
        decision = next((d for d in cp.decisions() if d.token == token), None)
        summary = (decision.summary if decision else "") or ""
        if decision is None or decision.status != "Approved":
            raise StageFailed(summary or "Rejected", category="Approval")
        return summary or "Approved"

    # --- what goes to the topic ------------------------------------------------------------------

    def _event(self, run: Run, state: str, stage: str = "", action: str = "", **kw: Any) -> None:
        self._topic.publish(
            pipeline_event(
                pipeline=run.pipeline,
                execution_id=run.execution_id,
                state=state,
                stage=stage,
                action=action,
                region=run.region,
                account=run.account or self._account,  # EventBridge's: the pipeline's own account
                **kw,
            )
        )
