"""CodePipelineApi: the exact requests it sends (Stubber) and real round trips against FakeCodePipeline."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from bot.adapters.aws.codepipeline import CodePipelineApi
from bot.domain.errors import ApprovalAlreadyDecided, ApprovalTokenInvalid, ExecutionNotStoppable, PipelineError
from bot.sandbox.aws.fake_codepipeline import FakeCodePipeline

PIPELINE = "ami-bakery-web"
EXECUTION = "3f2a9c1e-0b7d-4c55-9d1e-8a6b2f4c7e01"
COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"
TOKEN = "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d"


# --- the requests, checked against the service model by Stubber ---------------------------------------


@pytest.fixture
def stubbed() -> Iterator[tuple[CodePipelineApi, Stubber]]:
    client = boto3.client("codepipeline", region_name="eu-west-1")
    with Stubber(client) as stubber:
        yield CodePipelineApi(client), stubber
        stubber.assert_no_pending_responses()


def test_the_revision_is_read_from_that_execution_of_that_pipeline(stubbed):
    api, stubber = stubbed
    stubber.add_response(
        "get_pipeline_execution",
        {"pipelineExecution": {"artifactRevisions": [{"name": "SourceArtifact", "revisionId": COMMIT}]}},
        {"pipelineName": PIPELINE, "pipelineExecutionId": EXECUTION},
    )

    assert api.execution_revision(pipeline=PIPELINE, execution_id=EXECUTION) == COMMIT


def test_an_execution_without_artifact_revisions_has_no_known_revision(stubbed):
    api, stubber = stubbed
    stubber.add_response("get_pipeline_execution", {"pipelineExecution": {"artifactRevisions": []}})

    assert api.execution_revision(pipeline=PIPELINE, execution_id=EXECUTION) is None


def test_approving_sends_approved_and_cuts_the_summary_to_codepipelines_512_characters(stubbed):
    api, stubber = stubbed
    stubber.add_response(
        "put_approval_result",
        {},
        {
            "pipelineName": PIPELINE,
            "stageName": "Approve",
            "actionName": "Approve",
            "result": {"status": "Approved", "summary": "x" * 512},
            "token": TOKEN,
        },
    )

    api.put_approval_result(
        pipeline=PIPELINE, stage="Approve", action="Approve", token=TOKEN, approved=True, summary="x" * 600
    )


def test_rejecting_sends_rejected(stubbed):
    api, stubber = stubbed
    stubber.add_response(
        "put_approval_result",
        {},
        {
            "pipelineName": PIPELINE,
            "stageName": "Approve",
            "actionName": "Approve",
            "result": {"status": "Rejected", "summary": "smoke test failed"},
            "token": TOKEN,
        },
    )

    api.put_approval_result(
        pipeline=PIPELINE, stage="Approve", action="Approve", token=TOKEN, approved=False, summary="smoke test failed"
    )


def test_stopping_sends_abandon_and_cuts_the_reason_to_200_characters(stubbed):
    api, stubber = stubbed
    stubber.add_response(
        "stop_pipeline_execution",
        {"pipelineExecutionId": EXECUTION},
        {"pipelineName": PIPELINE, "pipelineExecutionId": EXECUTION, "abandon": True, "reason": "r" * 200},
    )

    assert api.stop_execution(pipeline=PIPELINE, execution_id=EXECUTION, abandon=True, reason="r" * 300) is True


def test_the_token_of_an_approval_already_decided_is_not_offered(stubbed):
    api, stubber = stubbed
    stubber.add_response(
        "get_pipeline_state",
        {
            "stageStates": [
                {
                    "stageName": "Approve",
                    "actionStates": [
                        {"actionName": "Approve", "latestExecution": {"status": "Succeeded", "token": TOKEN}}
                    ],
                }
            ]
        },
        {"name": PIPELINE},
    )

    assert api.approval_token(pipeline=PIPELINE, stage="Approve", action="Approve") is None


def test_any_other_aws_error_is_a_pipeline_error_that_says_what_failed(stubbed):
    api, stubber = stubbed
    stubber.add_client_error("get_pipeline_state", "AccessDeniedException", "not authorized", 400)

    with pytest.raises(PipelineError, match=r"read the state of pipeline ami-bakery-web: not authorized"):
        api.approval_token(pipeline=PIPELINE, stage="Approve", action="Approve")


def test_an_unreachable_endpoint_is_a_pipeline_error():
    client = boto3.client(
        "codepipeline",
        region_name="eu-west-1",
        endpoint_url="http://127.0.0.1:1",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=1),
    )

    with pytest.raises(PipelineError, match="unreachable"):
        CodePipelineApi(client).execution_revision(pipeline=PIPELINE, execution_id=EXECUTION)


def test_the_execution_link_opens_the_console_of_the_clients_region():
    client = boto3.client("codepipeline", region_name="eu-central-1")

    assert CodePipelineApi(client).execution_url(pipeline=PIPELINE, execution_id=EXECUTION) == (
        "https://eu-central-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/"
        f"{PIPELINE}/executions/{EXECUTION}/timeline?region=eu-central-1"
    )


# --- round trips over the wire, against the local CodePipeline -----------------------------------------


@pytest.fixture
def fake() -> Iterator[FakeCodePipeline]:
    with FakeCodePipeline() as server:
        server.add_pipeline(PIPELINE)
        yield server


@pytest.fixture
def api(fake: FakeCodePipeline) -> CodePipelineApi:
    # The suite's AWS_ENDPOINT_URL points at moto, which lacks these operations: name the fake explicitly.
    return CodePipelineApi(boto3.client("codepipeline", region_name="eu-west-1", endpoint_url=fake.endpoint))


def test_an_execution_reports_the_commit_it_was_started_on(fake, api):
    execution = fake.start_execution(PIPELINE, COMMIT, trigger="CloudWatchEvent")

    assert api.execution_revision(pipeline=PIPELINE, execution_id=execution) == COMMIT


def test_an_execution_codepipeline_does_not_know_has_no_revision(fake, api):
    assert api.execution_revision(pipeline=PIPELINE, execution_id=EXECUTION) is None


def test_an_unknown_pipeline_is_an_error_not_an_unknown_revision(api):
    with pytest.raises(PipelineError, match="PipelineNotFoundException"):
        api.execution_revision(pipeline="no-such-pipeline", execution_id=EXECUTION)


def test_the_waiting_approvals_token_is_read_from_the_pipeline_state(fake, api):
    fake.start_execution(PIPELINE, COMMIT)
    token = fake.open_approval(PIPELINE, "Approve", "Approve")

    assert api.approval_token(pipeline=PIPELINE, stage="Approve", action="Approve") == token


def test_no_token_is_offered_while_no_approval_waits(fake, api):
    fake.start_execution(PIPELINE, COMMIT)

    assert api.approval_token(pipeline=PIPELINE, stage="Approve", action="Approve") is None


def test_an_approval_reaches_codepipeline_with_its_summary(fake, api):
    execution = fake.start_execution(PIPELINE, COMMIT)
    token = fake.open_approval(PIPELINE, "Approve", "Approve")

    api.put_approval_result(
        pipeline=PIPELINE,
        stage="Approve",
        action="Approve",
        token=token,
        approved=True,
        summary="approved by U012ABCDEF",
    )

    [decision] = fake.decisions()
    assert (decision.execution_id, decision.status, decision.summary) == (
        execution,
        "Approved",
        "approved by U012ABCDEF",
    )


def test_a_token_that_is_not_the_open_approvals_is_invalid(fake, api):
    fake.start_execution(PIPELINE, COMMIT)
    fake.open_approval(PIPELINE, "Approve", "Approve")

    with pytest.raises(ApprovalTokenInvalid):
        api.put_approval_result(
            pipeline=PIPELINE, stage="Approve", action="Approve", token=TOKEN, approved=True, summary=""
        )


def test_deciding_an_approval_twice_says_it_was_already_decided(fake, api):
    fake.start_execution(PIPELINE, COMMIT)
    token = fake.open_approval(PIPELINE, "Approve", "Approve")
    api.put_approval_result(
        pipeline=PIPELINE, stage="Approve", action="Approve", token=token, approved=True, summary="first"
    )

    with pytest.raises(ApprovalAlreadyDecided, match="already approved"):
        api.put_approval_result(
            pipeline=PIPELINE, stage="Approve", action="Approve", token=token, approved=False, summary="second"
        )


def test_stopping_a_running_execution_leaves_it_stopping(fake, api):
    execution = fake.start_execution(PIPELINE, COMMIT)

    assert (
        api.stop_execution(pipeline=PIPELINE, execution_id=execution, abandon=False, reason="canceled in Slack") is True
    )
    assert fake.execution_status(PIPELINE, execution) == "Stopping"


def test_asking_for_the_same_stop_twice_is_not_an_error(fake, api):
    execution = fake.start_execution(PIPELINE, COMMIT)
    api.stop_execution(pipeline=PIPELINE, execution_id=execution, abandon=False, reason="canceled in Slack")

    assert (
        api.stop_execution(pipeline=PIPELINE, execution_id=execution, abandon=False, reason="canceled in Slack")
        is False
    )


def test_a_finished_execution_cannot_be_stopped(fake, api):
    execution = fake.start_execution(PIPELINE, COMMIT)
    fake.set_execution_status(PIPELINE, execution, "Succeeded")

    with pytest.raises(ExecutionNotStoppable, match="Succeeded"):
        api.stop_execution(pipeline=PIPELINE, execution_id=execution, abandon=True, reason="too late")
