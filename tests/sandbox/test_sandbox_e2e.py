"""`bakery sandbox` end to end through its JSON API (CONTRACT §9), as a script would drive it, no browser."""

from __future__ import annotations

import json
import re
import socket
import time
from collections.abc import Iterator

import pytest

from bot.sandbox.aws.upstream import UPSTREAM_PARAMETER
from bot.sandbox.config import MEMBER_ROLE
from bot.sandbox.pipeline.runner import ACTIONS
from tests.sandbox.sandbox_process import (
    APPROVER,
    OUTSIDER,
    REQUESTER,
    SandboxProcess,
    blocks_text,
    request_id_of,
)

# One sandbox for the module (its fixture starts `bakery sandbox`, ~8 s): under `make test`'s workers the whole
# module runs on one of them (--dist loadgroup), so it starts once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sandbox-e2e")]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxProcess]:
    box = SandboxProcess()
    try:
        yield box
    finally:
        code = box.stop()
        assert code == 0, "".join(box.stderr[-30:])


def waiting_at_approve(sandbox: SandboxProcess, rid: str) -> tuple[dict, dict]:
    """(the bake's message, its approval card in the thread) once the approval notification opened it."""
    message = sandbox.wait(
        lambda: (m := sandbox.bake_message(rid)) and "*Approve* waiting for approval" in blocks_text(m) and m,
        what=f"bake {rid} waiting at Approve",
    )
    assert "bake_approve" not in blocks_text(message)  # the card, with its buttons, is in the thread only
    card = sandbox.wait(lambda: sandbox.approval_card(rid), what=f"bake {rid}'s approval card")
    return sandbox.bake_message(rid) or message, card


def decide(sandbox: SandboxProcess, pipeline: str, status: str, summary: str) -> None:
    """Answer the pending approval through CodePipeline itself, as the AWS console would."""
    codepipeline = sandbox.aws("codepipeline")
    state = codepipeline.get_pipeline_state(name=pipeline)
    approve = next(s for s in state["stageStates"] if s["stageName"] == "Approve")
    token = approve["actionStates"][0]["latestExecution"]["token"]
    codepipeline.put_approval_result(
        pipelineName=pipeline,
        stageName="Approve",
        actionName=ACTIONS["Approve"],
        result={"summary": summary, "status": status},
        token=token,
    )


@pytest.mark.alone  # a wall-clock bound: other tests' CPU beside it would eat into the ten seconds
def test_the_sandbox_prints_its_address_within_ten_seconds_and_serves_the_page(sandbox):
    assert sandbox.ready_after < 10, sandbox.ready_after
    page = sandbox.get("/")
    assert "<title>ami-bakery sandbox</title>" in page and "/api/messages" in page


def test_users_show_their_roles_from_the_configuration(sandbox):
    users = {u["id"]: u for u in sandbox.get("/api/users")}
    assert set(users) >= {REQUESTER, APPROVER, OUTSIDER}
    assert "approver" in users[APPROVER]["roles"] and "deployer" in users[APPROVER]["roles"]
    assert "approver" not in users[REQUESTER]["roles"] and "baker" in users[REQUESTER]["roles"]
    assert users[OUTSIDER]["roles"] == ["baker"]  # the example lets everyone bake, nothing more


def test_a_command_answers_privately_to_its_user(sandbox):
    answer = sandbox.command(REQUESTER, "list")
    assert answer["response_type"] == "ephemeral" and "*base*" in answer["text"]
    private = [m for m in sandbox.messages() if m["text"] == answer["text"]]
    assert private and all(m["ephemeral_to"] == REQUESTER for m in private)


def test_text_typed_without_the_slash_is_posted_and_answered_with_a_hint(sandbox):
    status, body = sandbox.request("POST", "/api/message", {"user": REQUESTER, "text": "bake base"})
    assert status == 200, body
    hint = sandbox.wait(
        lambda: next((m for m in sandbox.ephemerals(REQUESTER) if "Did you mean" in m["text"]), None),
        what="the hint",
    )
    assert hint["text"] == "Did you mean `/bake base`? Slash commands start with /"
    [typed] = [m for m in sandbox.messages() if m["ts"] == body["ts"]]
    assert typed["user"] == REQUESTER and typed["text"] == "bake base" and typed["ephemeral_to"] is None
    status, body = sandbox.request("POST", "/api/message", {"user": "U0NOBODY", "text": "bake base"})
    assert status == 400 and "unknown user" in body["error"]


def test_a_bake_runs_the_pipeline_and_shows_the_ami_then_waits_for_approval(sandbox):
    rid = request_id_of(sandbox.command(REQUESTER, "base sandbox e2e"))
    message, _ = waiting_at_approve(sandbox, rid)
    text = blocks_text(message)
    for stage in ("Source", "Validate", "Bake", "Test"):
        assert f"*{stage}* succeeded" in text, text
    assert "*AMIs* not released yet" in text
    ami_id = text.split("*AMIs* not released yet\\n`")[1].split("`")[0]
    ec2 = sandbox.aws("ec2")
    tags = {t["Key"]: t["Value"] for t in ec2.describe_images(ImageIds=[ami_id])["Images"][0]["Tags"]}
    assert tags["bakery:request-id"] == rid and tags["bakery:image"] == "base"
    assert tags["bakery:requested-by"] == REQUESTER and tags["bakery:pipeline-execution"]
    assert len(tags["bakery:commit"]) == 40 and tags["bakery:parent-ami"].startswith("ami-")
    assert "bakery:released" not in tags  # not before the approval
    decide(sandbox, "ami-bakery-base", "Approved", "looks good")
    done = sandbox.wait(
        # The Publish stage's end and the execution's end are two events: wait for the bake to show both.
        lambda: (m := sandbox.bake_message(rid))
        and "*Publish* succeeded" in blocks_text(m)
        and "succeeded" in m["text"]
        and m,
        what="Publish and the bake to succeed",
    )
    assert "succeeded" in done["text"] and ami_id in done["text"]
    tags = {t["Key"]: t["Value"] for t in ec2.describe_images(ImageIds=[ami_id])["Images"][0]["Tags"]}
    assert tags["bakery:released"] == "true"
    latest = sandbox.aws("ssm").get_parameter(Name="/bakery/images/base/latest")["Parameter"]["Value"]
    assert latest == ami_id


def test_a_rejected_approval_fails_the_bake_with_the_reason_in_its_thread(sandbox):
    rid = request_id_of(sandbox.command(REQUESTER, "base --force to be rejected"))
    message, _ = waiting_at_approve(sandbox, rid)
    decide(sandbox, "ami-bakery-base", "Rejected", "not this week")
    done = sandbox.wait(
        lambda: (m := sandbox.bake_message(rid)) and "rejected outside Slack" in m["text"] and m,
        what="the bake to say it was rejected",
    )
    assert "rejected outside Slack: not this week" in blocks_text(done) and "failed" not in blocks_text(done)
    assert "*AMIs* not released" in blocks_text(done) and "rollout_start" not in blocks_text(done)
    replies = sandbox.wait(
        lambda: [m for m in sandbox.thread(message["ts"]) if "not this week" in blocks_text(m) + m["text"]],
        what="the rejection in the thread",
    )
    assert len(replies) == 1 and "rejected outside Slack" in blocks_text(replies[0])


@pytest.mark.parametrize("stage", ["validate", "bake"])
def test_sandbox_fail_makes_that_stage_fail(sandbox, stage):
    rid = request_id_of(sandbox.command(REQUESTER, f"base --force sandbox_fail={stage} on purpose"))
    message = sandbox.wait(
        lambda: (m := sandbox.bake_message(rid)) and "failed" in m["text"] and m, what=f"{stage} to fail"
    )
    assert f"*{stage.title()}* failed" in blocks_text(message)
    sandbox.wait(
        lambda: any(
            f"Stage *{stage.title()}* failed" in m["text"] + blocks_text(m) for m in sandbox.thread(message["ts"])
        ),
        what="the failure in the thread",
    )


def test_approved_in_the_channel_by_another_user_then_rolled_out(sandbox):
    # Base released earlier in this module, so the sandbox's train (web.on_parent_release: bake) already opened
    # a web bake as the bakery, in a train carol started; else she asks for one herself.
    automatic = [m.group(1) for line in sandbox.stderr
                 if (m := re.search(r"bake\.opened request_id=(\S+) image=web user=bakery", line))]
    rid = automatic[-1] if automatic else request_id_of(sandbox.command(REQUESTER, "web through the JSON API"))
    _, card = waiting_at_approve(sandbox, rid)
    status, _ = sandbox.click(REQUESTER, card["ts"], "bake_approve")
    assert status == 200
    assert sandbox.wait(
        lambda: [
            m
            for m in sandbox.messages()
            if m["ephemeral_to"] == REQUESTER and ("four-eyes" in m["text"] or "not allowed to approve" in m["text"])
        ],
        what="the requester told they cannot approve their own bake",
    )
    status, _ = sandbox.click(APPROVER, card["ts"], "bake_approve")
    assert status == 200
    # The sandbox's web-prod rolls on release (on_release: auto, §9): no Roll out button, the rollout opens
    # by itself in the bake's thread and waits for its approver (approval: true).
    done = sandbox.wait(
        lambda: (m := sandbox.bake_message(rid)) and "*Publish* succeeded" in blocks_text(m) and m, what="the release"
    )
    assert "rollout_start" not in blocks_text(done)
    rollout = sandbox.wait(
        lambda: next((m for m in sandbox.thread(done["ts"]) if "rollout_approve" in blocks_text(m)), None),
        what="the automatic rollout waiting for approval (web-prod is gated)",
    )
    status, _ = sandbox.click(REQUESTER, rollout["ts"], "rollout_approve")  # started the train: refused
    assert status == 200 and "rollout_approve" in blocks_text(
        next(m for m in sandbox.thread(done["ts"]) if m["ts"] == rollout["ts"])
    )
    status, _ = sandbox.click("U0BOB", rollout["ts"], "rollout_approve")
    assert status == 200
    sandbox.wait(
        lambda: any(m["ts"] == rollout["ts"] and "succeeded" in m["text"] for m in sandbox.thread(done["ts"])),
        timeout=90,
        what="the rollout to succeed",
    )
    final = sandbox.wait(
        lambda: (m := sandbox.bake_message(rid)) and "*web-prod* runs this AMI since" in blocks_text(m) and m,
        what="the bake's message to say web-prod runs its AMI",
    )
    assert "Roll out to web-prod" not in blocks_text(final)


def test_a_click_on_a_missing_button_or_by_an_unknown_user_is_refused(sandbox):
    ts = sandbox.messages()[0]["ts"]
    status, body = sandbox.click(REQUESTER, ts, "no_such_button")
    assert status == 404 and "no_such_button" in body["error"]
    status, body = sandbox.click("U0NOBODY", ts, "bake_approve")
    assert status == 400


def test_each_image_starts_released_and_an_upstream_release_reaches_the_bot(sandbox):
    """§9: seeded released bakes; POST /api/upstream moves the stand-in parameter and the bot hears the topic.

    Last in this module: the train it sets moving must not run into the tests above.
    """
    seeded = sandbox.aws("ssm").get_parameter(Name=UPSTREAM_PARAMETER)["Parameter"]["Value"]
    # web lives in the member account (§13): it starts released on an AMI of its own there, baked on base's.
    [web] = sandbox.aws("ec2", role=MEMBER_ROLE).describe_images(
        Filters=[{"Name": "name", "Values": ["web-sandbox-seed"]}]
    )["Images"]
    assert {"Key": "bakery:parent-ami", "Value": seeded} in web["Tags"]
    status = sandbox.command(REQUESTER, "status web")["text"]
    assert f"*web* succeeded — `{web['ImageId']}`" in status, status
    code, answer = sandbox.request("POST", "/api/upstream", {"image": "base"})
    assert code == 200 and answer["ami_id"] != seeded, answer
    assert sandbox.aws("ssm").get_parameter(Name=UPSTREAM_PARAMETER)["Parameter"]["Value"] == answer["ami_id"]
    # The bot read the notice off the queue as a trigger (never a malformed pipeline message) and opened a
    # bake of base on exactly that AMI.
    sandbox.wait(
        lambda: any(
            answer["ami_id"] in json.dumps(m) and "base" in m["text"] and not m["thread_ts"] for m in sandbox.messages()
        ),
        what="a bake of base on the new AMI",
    )
    assert not any("intake" in line and ("ERROR" in line or "Traceback" in line) for line in sandbox.stderr)
    code, answer = sandbox.request("POST", "/api/upstream", {"image": "web"})
    assert code == 400 and "has no upstream" in answer["error"]


def test_ctrl_c_in_the_middle_of_a_train_stops_cleanly():
    """The bot's last flush, after the page stopped, draws links to the page: no traceback, nothing left behind."""
    box = SandboxProcess(stage_seconds=0.2)
    assert box.request("POST", "/api/upstream", {"image": "base"})[0] == 200
    box.wait(lambda: any("sandbox.execution_started" in line for line in box.stderr), what="the train's base bake")
    started = time.monotonic()
    assert box.stop() == 0, "".join(box.stderr[-30:])
    assert time.monotonic() - started < 10
    assert not box.group_alive(), "a process of the sandbox outlived Ctrl-C"
    assert not any("Traceback" in line or "Error" in line for line in box.stderr), json.dumps(box.stderr[-20:])


def test_ctrl_c_stops_everything_and_frees_the_port():
    box = SandboxProcess()
    port = int(box.url.rsplit(":", 1)[1])
    assert box.command(REQUESTER, "help")["response_type"] == "ephemeral"
    started = time.monotonic()
    assert box.stop() == 0, "".join(box.stderr[-30:])
    assert time.monotonic() - started < 10
    assert not box.group_alive(), "a process of the sandbox outlived Ctrl-C"
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # connections may linger in TIME_WAIT
        s.bind(("127.0.0.1", port))  # nothing listens there any more
    assert not any("Traceback" in line for line in box.stderr), json.dumps(box.stderr[-20:])


def test_the_sandbox_s_ec2_answers_what_moto_lacks_in_the_caller_s_account(sandbox):
    """EC2 goes through the local EC2 (fake_ec2): DescribeImageReferences works, in the assumed role's account."""
    member = sandbox.aws("ec2", role=MEMBER_ROLE)
    [version] = member.describe_launch_template_versions(LaunchTemplateName="web-prod", Versions=["$Default"])[
        "LaunchTemplateVersions"
    ]
    image_id = version["LaunchTemplateData"]["ImageId"]
    found = member.describe_image_references(
        ImageIds=[image_id], ResourceTypes=[{"ResourceType": "ec2:LaunchTemplate"}]
    )["ImageReferences"]
    assert [r["Arn"].split(":")[4:] for r in found] == [
        [MEMBER_ROLE.split(":")[4], f"launch-template/{version['LaunchTemplateId']}"]
    ]
