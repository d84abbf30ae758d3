"""The local CodePipeline, driven the way the bot (boto3 over HTTP) and the sandbox (Python) drive it."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.exceptions import ClientError

from bot.domain.models import STAGES
from bot.sandbox.aws.fake_codepipeline import ApprovalDecision, ExecutionStarted, FakeCodePipeline, StopRequest

PIPELINE = "ami-bakery-base"
COMMIT = "9fceb02d0ae598e95dc970b74767f19372d61af8"
OTHER_COMMIT = "1d2c3b4a5f6e7d8c9b0a1f2e3d4c5b6a7f8e9d0c"


class Clock:
    """A clock the test moves by hand, so expiry needs no waiting."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeCodePipeline]:
    with FakeCodePipeline(clock=clock) as server:
        server.add_pipeline(PIPELINE, head=lambda: COMMIT)
        yield server


@pytest.fixture
def client(fake: FakeCodePipeline):
    return boto3.client("codepipeline", region_name="eu-west-1", endpoint_url=fake.endpoint)


def error_code(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return excinfo.value.response["Error"]["Code"]


def approve(client, token: str, status: str = "Approved", action: str = "Approve") -> dict:
    return client.put_approval_result(
        pipelineName=PIPELINE,
        stageName="Approve",
        actionName=action,
        result={"status": status, "summary": "checked by hand"},
        token=token,
    )


# --- the wire protocol ------------------------------------------------------------------------------


def post(fake: FakeCodePipeline, target: str, body: bytes) -> tuple[int, str, dict]:
    request = urllib.request.Request(  # noqa: S310 - a loopback http:// URL
        f"{fake.endpoint}/",
        data=body,
        method="POST",
        headers={"X-Amz-Target": target, "Content-Type": "application/x-amz-json-1.1"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 - loopback fake
            return response.status, response.headers["Content-Type"], json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], json.loads(error.read())


def test_an_aws_error_is_a_json_1_1_error_body_with_status_400(fake):
    status, content_type, body = post(fake, "CodePipeline_20150709.GetPipelineState", b'{"name": "nope"}')

    assert (status, content_type, body["__type"]) == (
        400,
        "application/x-amz-json-1.1",
        "PipelineNotFoundException",
    )


def test_an_operation_it_does_not_serve_is_refused_as_unknown(fake):
    status, _, body = post(fake, "CodePipeline_20150709.DeletePipeline", b'{"name": "ami-bakery-base"}')

    assert (status, body["__type"]) == (400, "UnknownOperationException")


def test_a_body_that_is_not_json_is_a_serialization_error(fake):
    status, _, body = post(fake, "CodePipeline_20150709.GetPipelineState", b"name=ami-bakery-base")

    assert (status, body["__type"]) == (400, "SerializationException")


def test_a_missing_required_member_is_a_validation_error(fake):
    status, _, body = post(fake, "CodePipeline_20150709.GetPipelineState", b"{}")

    assert (status, body["__type"]) == (400, "ValidationException")


def test_botocore_raises_the_aws_error_code(client):
    with pytest.raises(ClientError) as excinfo:
        client.get_pipeline(name="no-such-pipeline")

    assert error_code(excinfo) == "PipelineNotFoundException"


def test_after_stop_nothing_answers_on_the_endpoint(clock):
    server = FakeCodePipeline(clock=clock).start()
    endpoint = server.endpoint
    server.stop()

    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{endpoint}/", data=b"{}", timeout=2)  # noqa: S310 - loopback fake


# --- pipelines and executions -----------------------------------------------------------------------


def test_get_pipeline_lists_the_bakery_stages_in_order_with_a_manual_approval(client):
    stages = client.get_pipeline(name=PIPELINE)["pipeline"]["stages"]

    assert [s["name"] for s in stages] == list(STAGES)
    assert stages[STAGES.index("Approve")]["actions"][0]["actionTypeId"]["provider"] == "Manual"


def test_a_stage_can_hold_several_named_actions(fake, client):
    fake.add_pipeline("custom", [("Source", ["Code"]), ("Build", ["Packer", "Lint"])])

    stages = client.get_pipeline(name="custom")["pipeline"]["stages"]

    assert [[a["name"] for a in s["actions"]] for s in stages] == [["Code"], ["Packer", "Lint"]]


def test_an_execution_started_on_a_commit_reports_it_as_its_artifact_revision(fake, client):
    execution = fake.start_execution(PIPELINE, OTHER_COMMIT, trigger="CloudWatchEvent")

    answer = client.get_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution)

    assert [r["revisionId"] for r in answer["pipelineExecution"]["artifactRevisions"]] == [OTHER_COMMIT]


def test_an_execution_records_what_triggered_it(fake, client):
    execution = fake.start_execution(PIPELINE, COMMIT, trigger="CloudWatchEvent")

    answer = client.get_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution)

    assert answer["pipelineExecution"]["trigger"]["triggerType"] == "CloudWatchEvent"


def test_start_pipeline_execution_builds_the_commit_it_names(client):
    execution = client.start_pipeline_execution(
        name=PIPELINE,
        sourceRevisions=[{"actionName": "Source", "revisionType": "COMMIT_ID", "revisionValue": OTHER_COMMIT}],
    )["pipelineExecutionId"]

    answer = client.get_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution)
    assert answer["pipelineExecution"]["artifactRevisions"][0]["revisionId"] == OTHER_COMMIT


def test_start_pipeline_execution_without_a_revision_builds_the_branch_head(client):
    execution = client.start_pipeline_execution(name=PIPELINE)["pipelineExecutionId"]

    answer = client.get_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution)
    assert answer["pipelineExecution"]["artifactRevisions"][0]["revisionId"] == COMMIT


def test_start_pipeline_execution_is_idempotent_per_client_request_token(client):
    first = client.start_pipeline_execution(name=PIPELINE, clientRequestToken="retry-1")
    second = client.start_pipeline_execution(name=PIPELINE, clientRequestToken="retry-1")

    assert first["pipelineExecutionId"] == second["pipelineExecutionId"]


def test_an_unknown_execution_is_not_found(client):
    with pytest.raises(ClientError) as excinfo:
        client.get_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId="3f2a9c1e-0b7d-4c55-9d1e-8a6b2f4c7e01")

    assert error_code(excinfo) == "PipelineExecutionNotFoundException"


def test_executions_are_listed_newest_first_a_page_at_a_time(fake, client):
    started = [fake.start_execution(PIPELINE, COMMIT) for _ in range(3)]

    first = client.list_pipeline_executions(pipelineName=PIPELINE, maxResults=2)
    second = client.list_pipeline_executions(pipelineName=PIPELINE, maxResults=2, nextToken=first["nextToken"])

    listed = [s["pipelineExecutionId"] for s in first["pipelineExecutionSummaries"]]
    listed += [s["pipelineExecutionId"] for s in second["pipelineExecutionSummaries"]]
    assert (listed, "nextToken" in second) == (started[::-1], False)


def test_the_pipeline_state_shows_the_stage_and_action_states_the_sandbox_set(fake, client):
    execution = fake.start_execution(PIPELINE, COMMIT)
    fake.set_stage_state(PIPELINE, "Bake", "InProgress")
    fake.set_action_state(PIPELINE, "Bake", "Bake", "InProgress", external_url="http://127.0.0.1/logs/1")

    [bake] = [s for s in client.get_pipeline_state(name=PIPELINE)["stageStates"] if s["stageName"] == "Bake"]

    assert bake["latestExecution"] == {"pipelineExecutionId": execution, "status": "InProgress"}
    assert bake["actionStates"][0]["latestExecution"]["externalExecutionUrl"] == "http://127.0.0.1/logs/1"


# --- approvals --------------------------------------------------------------------------------------


def test_an_open_approval_shows_its_token_in_the_pipeline_state(fake, client):
    fake.start_execution(PIPELINE, COMMIT)
    token = fake.open_approval(PIPELINE, "Approve", "Approve")

    [stage] = [s for s in client.get_pipeline_state(name=PIPELINE)["stageStates"] if s["stageName"] == "Approve"]

    latest = stage["actionStates"][0]["latestExecution"]
    assert (latest["status"], latest["token"]) == ("InProgress", token)


def test_approving_succeeds_the_action_and_records_the_decision(fake, client, clock):
    execution = fake.start_execution(PIPELINE, COMMIT)
    token = fake.open_approval(PIPELINE, "Approve", "Approve")

    approve(client, token)

    assert fake.action_status(PIPELINE, "Approve", "Approve") == "Succeeded"
    assert fake.decisions() == [
        ApprovalDecision(PIPELINE, "Approve", "Approve", execution, token, "Approved", "checked by hand", clock.now)
    ]


def test_rejecting_fails_the_action(fake, client):
    fake.start_execution(PIPELINE, COMMIT)
    token = fake.open_approval(PIPELINE, "Approve", "Approve")

    approve(client, token, status="Rejected")

    assert fake.action_status(PIPELINE, "Approve", "Approve") == "Failed"


def test_a_token_nobody_issued_is_invalid(fake, client):
    fake.start_execution(PIPELINE, COMMIT)
    fake.open_approval(PIPELINE, "Approve", "Approve")

    with pytest.raises(ClientError) as excinfo:
        approve(client, "1a2b3c4d-5e6f-4a8b-9c0d-1e2f3a4b5c6d")

    assert error_code(excinfo) == "InvalidApprovalTokenException"


def test_a_token_issued_for_another_action_is_invalid(fake, client):
    fake.add_pipeline(PIPELINE, [("Approve", ["Security", "Product"])])
    fake.start_execution(PIPELINE, COMMIT)
    token = fake.open_approval(PIPELINE, "Approve", "Security")
    fake.open_approval(PIPELINE, "Approve", "Product")

    with pytest.raises(ClientError) as excinfo:
        approve(client, token, action="Product")

    assert error_code(excinfo) == "InvalidApprovalTokenException"


def test_an_answered_token_replaced_by_a_newer_approval_is_invalid(fake, client):
    fake.start_execution(PIPELINE, COMMIT)
    old = fake.open_approval(PIPELINE, "Approve", "Approve")
    approve(client, old)
    fake.start_execution(PIPELINE, OTHER_COMMIT)
    fake.open_approval(PIPELINE, "Approve", "Approve")

    with pytest.raises(ClientError) as excinfo:
        approve(client, old)

    assert error_code(excinfo) == "InvalidApprovalTokenException"


def test_deciding_the_current_approval_again_is_already_completed(fake, client):
    fake.start_execution(PIPELINE, COMMIT)
    token = fake.open_approval(PIPELINE, "Approve", "Approve")
    approve(client, token)

    with pytest.raises(ClientError) as excinfo:
        approve(client, token, status="Rejected")

    assert error_code(excinfo) == "ApprovalAlreadyCompletedException"


def test_an_expired_approval_can_no_longer_be_answered(fake, client, clock):
    fake.start_execution(PIPELINE, COMMIT)
    token = fake.open_approval(PIPELINE, "Approve", "Approve")
    clock.now += timedelta(days=7)

    with pytest.raises(ClientError) as excinfo:
        approve(client, token)

    assert error_code(excinfo) == "InvalidApprovalTokenException"


def test_two_approvers_racing_on_one_token_produce_exactly_one_decision(fake, client):
    fake.start_execution(PIPELINE, COMMIT)
    token = fake.open_approval(PIPELINE, "Approve", "Approve")
    outcomes: list[str] = []
    barrier = threading.Barrier(8)
    # One client per approver, made here: boto3's default session is not safe to share across threads.
    racers = [boto3.client("codepipeline", region_name="eu-west-1", endpoint_url=fake.endpoint) for _ in range(8)]

    def click(racer) -> None:
        barrier.wait()
        try:
            approve(racer, token)
            outcomes.append("ok")
        except ClientError as error:
            outcomes.append(error.response["Error"]["Code"])

    threads = [threading.Thread(target=click, args=(racer,)) for racer in racers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(outcomes) == ["ApprovalAlreadyCompletedException"] * 7 + ["ok"]
    assert len(fake.decisions()) == 1


def test_listeners_hear_of_each_accepted_decision(fake, client):
    heard: list[object] = []
    fake.listen(heard.append)
    fake.start_execution(PIPELINE, COMMIT)
    token = fake.open_approval(PIPELINE, "Approve", "Approve")

    approve(client, token)

    assert [type(event) for event in heard] == [ExecutionStarted, ApprovalDecision]


def test_a_failing_listener_does_not_turn_an_accepted_decision_into_an_error(fake, client):
    def broken(event: object) -> None:
        raise RuntimeError("listener bug")

    fake.start_execution(PIPELINE, COMMIT)
    token = fake.open_approval(PIPELINE, "Approve", "Approve")
    fake.listen(broken)

    approve(client, token)

    assert len(fake.decisions()) == 1


# --- stopping -----------------------------------------------------------------------------------------


def test_stopping_and_abandoning_stops_at_once_and_abandons_the_open_approval(fake, client):
    execution = fake.start_execution(PIPELINE, COMMIT)
    token = fake.open_approval(PIPELINE, "Approve", "Approve")

    client.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution, abandon=True, reason="x")

    assert fake.execution_status(PIPELINE, execution) == "Stopped"
    assert fake.action_status(PIPELINE, "Approve", "Approve") == "Abandoned"
    with pytest.raises(ClientError) as excinfo:
        approve(client, token)
    assert error_code(excinfo) == "InvalidApprovalTokenException"


def test_a_stop_and_wait_can_be_upgraded_to_abandon(fake, client):
    execution = fake.start_execution(PIPELINE, COMMIT)
    client.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution, abandon=False)

    client.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution, abandon=True)

    assert fake.execution_status(PIPELINE, execution) == "Stopped"


def test_a_repeated_stop_is_a_duplicated_stop_request(fake, client):
    execution = fake.start_execution(PIPELINE, COMMIT)
    client.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution, abandon=False)

    with pytest.raises(ClientError) as excinfo:
        client.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution, abandon=False)

    assert error_code(excinfo) == "DuplicatedStopRequestException"


def test_a_stop_is_reported_with_its_reason(fake, client):
    heard: list[object] = []
    fake.listen(heard.append)
    execution = fake.start_execution(PIPELINE, COMMIT)

    client.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution, reason="canceled")

    summary = client.list_pipeline_executions(pipelineName=PIPELINE)["pipelineExecutionSummaries"][0]
    assert summary["stopTrigger"] == {"reason": "canceled"}
    assert heard[-1] == StopRequest(PIPELINE, execution, False, "canceled")


def test_a_finished_execution_is_not_stoppable(fake, client):
    execution = fake.start_execution(PIPELINE, COMMIT)
    fake.set_execution_status(PIPELINE, execution, "Failed")

    with pytest.raises(ClientError) as excinfo:
        client.stop_pipeline_execution(pipelineName=PIPELINE, pipelineExecutionId=execution)

    assert error_code(excinfo) == "PipelineExecutionNotStoppableException"
