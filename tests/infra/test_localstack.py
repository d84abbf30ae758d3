"""notifications.yaml and member-account.yaml deployed for real, in LocalStack's open-source core (issue 12, item 9).

Three accounts in one LocalStack (it takes a 12-digit access key id as the account): the bakery's, with
notifications.yaml listing the member account; the member's, with member-account.yaml; and an account that is not
listed, with member-account.yaml too (its rule forwards to the bakery's bus like any member's). A CodePipeline
event, in the shape AWS sends (tests/data/events), is put on a member's default bus and read from the bakery queue
through everything the templates wire: the member's rule, its forwarding role, the bakery's bus and its policy,
the bakery's rule, the KMS-encrypted topic, its policy and subscription, the queue and its policy.

LocalStack needs Python >= 3.13 and an install of its own (tests/infra/localstack.py, which installs and starts it
in the background at session start); without either, or when it does not start, these tests skip with the reason.
moto stays the engine for every other test. DynamoDB is not used (LocalStack's needs a Java download).

What "nothing else arrived" means: a test waits for a later event of its own (a marker) to arrive through the
same path before it says another did not, instead of sleeping.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.fixtures.aws import new_session
from tests.fixtures.waiting import wait_for
from tests.infra.conftest import ROOT, TEMPLATE_DIR
from tests.infra.localstack import LocalStack, Unavailable, tail
from tests.infra.localstack_xdist import Attached, session_localstack

# A cold install alone may take minutes when the suite did not hide it. One worker runs the module under `pytest -n`
# (its xdist_group): the one that uses, and at the module's end stops, the session's LocalStack.
pytestmark = [pytest.mark.timeout(600), pytest.mark.xdist_group("localstack")]

REGION = "eu-west-1"
PREFIX = "ami-bakery"
BAKERY = "123456789012"
MEMBER = "210987654321"
UNLISTED = "333333333333"
SAMPLE = ROOT / "tests" / "data" / "events" / "codepipeline-pipeline-started.json"


@pytest.fixture(scope="module")
def localstack(request: pytest.FixtureRequest) -> Iterator[LocalStack | Attached]:
    """The LocalStack the session started in the background (tests/infra/localstack.py, or under xdist the
    controller: localstack_xdist.py), once healthy."""
    try:
        stack = session_localstack(request.config)
        wait_for(stack.ready, timeout=120, what="LocalStack's health", explain=lambda: tail(stack.log))
    except Unavailable as exc:
        pytest.skip(str(exc))
    except AssertionError as exc:
        stack.stop()
        pytest.skip(f"LocalStack did not start: {exc}")
    yield stack
    stack.stop()
    wait_for(lambda: not stack.group_alive(), timeout=15, what="LocalStack's processes to be gone")
    assert not stack.root.exists()


class Accounts:
    """boto3 clients of one LocalStack, by service and account (the access key id names the account)."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.session = new_session(REGION)

    def __call__(self, service: str, account: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint, region_name=REGION,
                                   aws_access_key_id=account, aws_secret_access_key="test", aws_session_token=None)


def create(clients: Accounts, account: str, name: str, template: str, **parameters: str) -> tuple[Any, str]:
    cloudformation = clients("cloudformation", account)
    cloudformation.create_stack(
        StackName=name, TemplateBody=(TEMPLATE_DIR / template).read_text(), Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
    )
    return cloudformation, name


def settled(cloudformation: Any, name: str) -> dict[str, Any]:
    """The stack once it is no longer in progress, its outputs and failed resources (with the reasons) added."""

    def done() -> dict[str, Any] | None:
        [stack] = cloudformation.describe_stacks(StackName=name)["Stacks"]
        return None if stack["StackStatus"].endswith("_IN_PROGRESS") else stack

    stack: dict[str, Any] = wait_for(done, timeout=180, what=f"stack {name}")
    events = cloudformation.describe_stack_events(StackName=name)["StackEvents"]
    stack["failures"] = [(e["LogicalResourceId"], e.get("ResourceStatusReason")) for e in events
                         if e["ResourceStatus"].endswith("_FAILED")]
    stack["outputs"] = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    return stack


def member_stack(clients: Accounts, account: str) -> tuple[Any, str]:
    return create(clients, account, f"{PREFIX}-member", "member-account.yaml", NamePrefix=PREFIX,
                  BakeryAccountId=BAKERY, BakeryBotRoleArn=f"arn:aws:iam::{BAKERY}:role/{PREFIX}-bot",
                  ExternalId="bakery-7f3e9c2a")


@pytest.fixture(scope="module")
def stacks(localstack: LocalStack) -> dict[str, dict[str, Any]]:
    """The three stacks, created at once (none needs another to exist) and each waited for."""
    clients = Accounts(localstack.endpoint)
    creating = {
        "bakery": create(clients, BAKERY, f"{PREFIX}-notifications", "notifications.yaml", NamePrefix=PREFIX,
                         MemberAccounts=MEMBER),
        "member": member_stack(clients, MEMBER),
        "unlisted": member_stack(clients, UNLISTED),
    }
    return {key: settled(*stack) for key, stack in creating.items()}


class BakeryQueue:
    """The bakery queue, read as the bot reads it: each SNS envelope's message, an EventBridge event."""

    def __init__(self, clients: Accounts, url: str) -> None:
        self.sqs, self.url = clients("sqs", BAKERY), url
        self.received: list[dict[str, Any]] = []

    def receive(self) -> None:
        answer = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
        for message in answer.get("Messages", []):
            envelope = json.loads(message["Body"])
            self.received.append({**json.loads(envelope["Message"]), "envelope": envelope})
            self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message["ReceiptHandle"])

    def of(self, execution_id: str) -> list[dict[str, Any]]:
        return [e for e in self.received if e.get("detail", {}).get("execution-id") == execution_id]

    def wait_for(self, execution_id: str) -> None:
        def arrived() -> bool:
            self.receive()
            return bool(self.of(execution_id))

        wait_for(arrived, timeout=30, what=f"execution {execution_id} in the bakery queue",
                 explain=lambda: f"received: {[e.get('detail') for e in self.received]}")


@pytest.fixture(scope="module")
def clients(localstack: LocalStack) -> Accounts:
    return Accounts(localstack.endpoint)


@pytest.fixture(scope="module")
def queue(clients: Accounts, stacks: dict[str, dict[str, Any]]) -> BakeryQueue:
    return BakeryQueue(clients, stacks["bakery"]["outputs"]["QueueUrl"])


def put_pipeline_event(clients: Accounts, account: str, execution_id: str, pipeline: str = f"{PREFIX}-web") -> None:
    """What CodePipeline puts on its account's default bus (LocalStack lets a test send an aws.* source)."""
    sample = json.loads(SAMPLE.read_text())
    detail = {**sample["detail"], "pipeline": pipeline, "execution-id": execution_id}
    entry = {"Source": sample["source"], "DetailType": sample["detail-type"], "Detail": json.dumps(detail),
             "Resources": [f"arn:aws:codepipeline:{REGION}:{account}:{pipeline}"]}
    answer = clients("events", account).put_events(Entries=[entry])
    assert answer["FailedEntryCount"] == 0, answer


def marker_through(clients: Accounts, queue: BakeryQueue) -> None:
    """A member event put now and seen arriving: whatever was put before it has had its chance to arrive."""
    marker = f"marker-{uuid.uuid4()}"
    put_pipeline_event(clients, MEMBER, marker)
    queue.wait_for(marker)


def test_both_templates_deploy_to_create_complete_with_what_moto_skips(clients, stacks):
    assert {k: (s["StackStatus"], s["failures"]) for k, s in stacks.items()} == {
        k: ("CREATE_COMPLETE", []) for k in stacks
    }
    bakery = stacks["bakery"]["outputs"]
    [subscription] = clients("sns", BAKERY).list_subscriptions_by_topic(TopicArn=bakery["TopicArn"])["Subscriptions"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("sqs", bakery["QueueArn"])
    policy = json.loads(clients("events", BAKERY).describe_event_bus(Name="default")["Policy"])
    [statement] = policy["Statement"]  # stored as written, not enforced
    assert (statement["Action"], statement["Principal"]) == ("events:PutEvents", {"AWS": [MEMBER]})
    role = clients("iam", MEMBER).get_role(RoleName=f"{PREFIX}-bot")["Role"]
    assert stacks["member"]["outputs"]["BotRoleArn"] == role["Arn"] == f"arn:aws:iam::{MEMBER}:role/{PREFIX}-bot"


def test_a_member_accounts_pipeline_event_arrives_once_in_the_bakery_queue(clients, queue):
    execution = str(uuid.uuid4())
    put_pipeline_event(clients, MEMBER, execution)
    queue.wait_for(execution)
    marker_through(clients, queue)  # a duplicate of it would have been published long before this
    [event] = queue.of(execution)
    assert (event["account"], event["source"], event["detail-type"], event["detail"]["pipeline"]) == (
        MEMBER, "aws.codepipeline", "CodePipeline Pipeline Execution State Change", f"{PREFIX}-web")
    assert event["envelope"]["TopicArn"] == f"arn:aws:sns:{REGION}:{BAKERY}:{PREFIX}-events"


def test_another_pipeline_of_the_member_account_is_not_forwarded(clients, queue):
    execution = str(uuid.uuid4())
    put_pipeline_event(clients, MEMBER, execution, pipeline="payroll-deploy")
    marker_through(clients, queue)
    assert queue.of(execution) == []


def test_an_event_from_an_account_that_is_not_listed_does_not_arrive(clients, queue):
    """The unlisted account forwards to the bakery's bus as a member would. On AWS the bus policy
    (MemberAccountsEventBusPolicy, checked by tests/infra/test_member_account.py with AWS's evaluation logic) refuses
    its PutEvents. LocalStack stores resource policies but does not enforce them, so here the event does reach the
    bakery's bus (a witness rule without an account filter shows it), and what keeps it out of the queue is the
    bakery rule's pattern: its `account` lists the bakery's own account and the MemberAccounts only."""
    witness = Witness(clients)
    execution = str(uuid.uuid4())
    put_pipeline_event(clients, UNLISTED, execution)
    witness.wait_for(execution)
    marker_through(clients, queue)
    assert queue.of(execution) == []


class Witness:
    """A queue of the test's own behind a rule on the bakery's bus that has no account filter."""

    def __init__(self, clients: Accounts) -> None:
        self.sqs, events = clients("sqs", BAKERY), clients("events", BAKERY)
        self.url = self.sqs.create_queue(QueueName="witness")["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name="witness", EventPattern=json.dumps({"source": ["aws.codepipeline"]}))
        events.put_targets(Rule="witness", Targets=[{"Id": "witness", "Arn": arn}])

    def wait_for(self, execution_id: str) -> None:
        def seen() -> bool:
            answer = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            events = [json.loads(m["Body"]) for m in answer.get("Messages", [])]
            return any(e["account"] == UNLISTED and e["detail"]["execution-id"] == execution_id for e in events)

        wait_for(seen, timeout=30, what=f"the unlisted account's event {execution_id} on the bakery's bus")

