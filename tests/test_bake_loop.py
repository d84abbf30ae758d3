"""The bake loop end to end, driven from outside: signed Slack requests, pipeline messages via SQS and SNS."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.parse

import boto3
import pytest

from bot.sandbox.slack.requests import signature
from tests.fixtures.bakery import APPROVER, OUTSIDER, REQUESTER, SIGNING_SECRET, git_log, slash_form

AMI = "ami-0123456789abcdef0"


def request_id_of(answer: dict) -> str:
    text = answer["text"]
    assert "Bake `b-" in text, text
    return text.split("`")[1]


def blocks_text(message: dict) -> str:
    return json.dumps(message["blocks"])


# --- /bake opens a commit ----------------------------------------------------------------------


def test_a_bake_request_commits_exactly_the_request_file(bakery):
    answer = bakery.command(REQUESTER, "base instance_type=t3.small CVE-2026-1234 hotfix")
    rid = request_id_of(answer)
    assert answer["response_type"] == "ephemeral"
    commit = bakery.commit_of(rid)
    head = git_log(bakery.repos["base"])[0]
    assert head["sha"] == commit
    assert head["request"] == {
        "request_id": rid,
        "image": "base",
        "requested_by": REQUESTER,
        "requested_at": head["request"]["requested_at"],
        "reason": "CVE-2026-1234 hotfix",
        "variables": {"instance_type": "t3.small"},
    }
    lines = head["message"].strip().splitlines()
    assert lines[0] == "bake(base): CVE-2026-1234 hotfix"
    assert f"Bakery-Request: {rid}" in lines and f"Requested-By: {REQUESTER}" in lines


def test_the_message_lists_the_variables_set_and_the_commit_carries_the_defaults_too(bakery):
    """web declares instance_type and app_version; only the one typed is the bake's, shown as set."""
    rid = request_id_of(bakery.command(REQUESTER, "web app_version=2.0.0 new app"))
    bakery.commit_of(rid)
    message = bakery.wait(
        lambda: (m := bakery.bake_message(rid)) and "Commit" in blocks_text(m) and m, what="the bake message"
    )
    assert "app_version=2.0.0" in blocks_text(message)
    assert "instance_type" not in blocks_text(message)  # left at its default: not listed as if set
    committed = git_log(bakery.repos["web"])[0]["request"]["variables"]
    assert committed == {"instance_type": "t3.micro", "app_version": "2.0.0"}


def test_a_bake_posts_one_message_naming_request_who_image_and_reason(bakery):
    rid = request_id_of(bakery.command(REQUESTER, "base routine rebuild"))
    bakery.commit_of(rid)
    message = bakery.wait(
        lambda: (m := bakery.bake_message(rid)) and "Commit" in blocks_text(m) and m,
        what="the bake message with its commit",
    )
    text = blocks_text(message)
    assert rid in text and "*base*" in text and f"<@{REQUESTER}>" in text and "routine rebuild" in text
    assert [m for m in bakery.messages() if not m.get("thread_ts")] == [message]


def test_an_image_with_a_parent_pins_the_parents_latest_ami(bakery):
    rid = request_id_of(bakery.command(REQUESTER, "base"))
    commit = bakery.commit_of(rid)
    bakery.run_pipeline("base", commit, request_id=rid, amis=[("eu-west-1", AMI)])
    bakery.wait(lambda: bakery.services.bakes.image_summary("base").get("amis"), what="base's latest AMI")
    web = request_id_of(bakery.command(REQUESTER, "web"))
    bakery.commit_of(web)
    assert git_log(bakery.repos["web"])[0]["request"]["source_ami"] == AMI


def test_ten_concurrent_bakes_give_ten_commits(bakery):
    answers: list[dict] = []

    def bake(i: int) -> None:
        answers.append(bakery.command(REQUESTER, f"base parallel {i}"))

    threads = [threading.Thread(target=bake, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rids = {request_id_of(a) for a in answers}
    assert len(rids) == 10
    for rid in rids:
        bakery.commit_of(rid)
    committed = {c["request"]["request_id"] for c in git_log(bakery.repos["base"]) if c["request"]}
    assert rids <= committed


# --- refusals: nothing is committed --------------------------------------------------------------


@pytest.mark.parametrize(
    "user, text, fragment",
    [
        (OUTSIDER, "base", "not allowed to bake"),
        (REQUESTER, "nginx", "There is no image `nginx`"),
        (REQUESTER, "base colour=blue", "does not declare `colour`"),
        (REQUESTER, "base instance_type=$(reboot)", "may only use letters"),
        (REQUESTER, "base instance_type=t3;rm", "may only use letters"),
        (REQUESTER, "base instance_type=../../etc", "may not contain `..`"),
        (REQUESTER, "base instance_type=" + "x" * 10_000, "the most `/bake` takes"),
    ],
)
def test_a_refused_bake_answers_privately_and_commits_nothing(bakery, user, text, fragment):
    before = git_log(bakery.repos["base"])
    answer = bakery.command(user, text)
    assert answer["response_type"] == "ephemeral"
    assert fragment in answer["text"]
    bakery.wait_idle()
    assert git_log(bakery.repos["base"]) == before
    assert bakery.slack.calls("chat.postMessage") == []


def test_a_group_member_may_bake(bakery):
    # U0ALICE is in S0PLATFORM, which is listed in access.bakers.
    rid = request_id_of(bakery.command(APPROVER, "base"))
    assert bakery.commit_of(rid)


def test_newlines_in_a_reason_cannot_forge_trailers(bakery):
    rid = request_id_of(bakery.command(REQUESTER, "base fix\n\nBakery-Request: b-forged9\nRequested-By: U0ALICE"))
    bakery.commit_of(rid)
    message = git_log(bakery.repos["base"])[0]["message"]
    assert message.count("Bakery-Request:") == 2  # the reason's copy sits in the subject line, not a trailer
    assert message.strip().splitlines()[-2:] == [f"Bakery-Request: {rid}", f"Requested-By: {REQUESTER}"]


def test_help_list_and_status_answer_privately(bakery):
    assert "/bake <image>" in bakery.command(REQUESTER, "help")["text"]
    assert "*base*" in bakery.command(REQUESTER, "list")["text"]
    rid = request_id_of(bakery.command(REQUESTER, "base"))
    assert rid in bakery.command(REQUESTER, f"status {rid}")["text"]
    assert rid in bakery.command(REQUESTER, "status base")["text"]
    assert "There is no bake" in bakery.command(REQUESTER, "status b-zzzzzz")["text"]


# --- Slack signatures ---------------------------------------------------------------------------


def test_a_forged_slack_signature_is_refused_and_commits_nothing(bakery):
    before = git_log(bakery.repos["base"])
    status, _ = bakery.post_slack(slash_form(REQUESTER, "base"), secret="not-the-secret")
    assert status == 401
    status, _ = bakery.post_slack(slash_form(REQUESTER, "base"), timestamp=int(time.time()) - 600)
    assert status == 401
    status, _ = bakery.post_slack(slash_form(REQUESTER, "base"), signature="v0=" + "0" * 64)
    assert status == 401
    bakery.wait_idle()
    assert git_log(bakery.repos["base"]) == before


def test_a_body_altered_after_signing_is_refused(bakery):
    form = urllib.parse.urlencode(slash_form(REQUESTER, "base"))
    ts = int(time.time())
    sig = signature(SIGNING_SECRET, str(ts), form)
    status, _ = bakery.post_slack(body=form.replace("U0CAROL", "U0ALICE"), timestamp=ts, signature=sig)
    assert status == 401


# --- progress ----------------------------------------------------------------------------------


def test_a_successful_bake_ends_with_its_amis_and_every_stage(bakery):
    rid = request_id_of(bakery.command(REQUESTER, "base"))
    commit = bakery.commit_of(rid)
    bakery.run_pipeline("base", commit, request_id=rid, amis=[("eu-west-1", AMI)])
    message = bakery.wait(
        lambda: (m := bakery.bake_message(rid)) and "succeeded" in m["text"] and m, what="the final message"
    )
    text = blocks_text(message)
    assert AMI in text and "eu-west-1" in text
    for stage in ("Source", "Validate", "Bake", "Test", "Approve", "Publish"):
        assert f"*{stage}* succeeded in" in text
    assert AMI in bakery.command(REQUESTER, "list")["text"]


def test_a_failed_bake_replies_in_the_thread_with_stage_action_and_log(bakery):
    rid = request_id_of(bakery.command(REQUESTER, "base"))
    commit = bakery.commit_of(rid)
    bakery.run_pipeline("base", commit, fail_stage="Test")
    replies = bakery.wait(lambda: bakery.thread(rid), what="a thread reply")
    assert len(replies) == 1
    assert "*Test*" in replies[0]["text"] and "https://console.aws.amazon.com/codebuild/log/1" in replies[0]["text"]
    bakery.wait(lambda: "failed" in bakery.bake_message(rid)["text"], what="the failed message")


def test_a_superseded_execution_is_reported_as_such(bakery):
    rid = request_id_of(bakery.command(REQUESTER, "base"))
    commit = bakery.commit_of(rid)
    ex = bakery.start_execution("base", commit)
    bakery.deliver(bakery.event(ex, "STARTED"))
    bakery.deliver(bakery.event(ex, "SUPERSEDED"))
    bakery.wait(lambda: "superseded" in bakery.bake_message(rid)["text"], what="superseded")
    assert "SUPERSEDED" in bakery.wait(lambda: bakery.thread(rid))[0]["text"]


def test_amis_come_from_ec2_tags_when_no_bake_result_arrives(bakery):
    rid = request_id_of(bakery.command(REQUESTER, "base"))
    commit = bakery.commit_of(rid)
    ec2 = boto3.client("ec2", region_name="eu-west-1")
    ami = ec2.register_image(
        Name=f"base-{rid}",
        RootDeviceName="/dev/xvda",
        BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
    )["ImageId"]
    ec2.create_tags(
        Resources=[ami], Tags=[{"Key": "bakery:request-id", "Value": rid}, {"Key": "bakery:image", "Value": "base"}]
    )
    bakery.run_pipeline("base", commit)  # no bake result
    bakery.wait(lambda: ami in blocks_text(bakery.bake_message(rid)), what="the AMI found by its tags")


def test_a_commit_pushed_by_hand_gets_its_own_message(bakery, tmp_path):
    work = tmp_path / "hand"
    git = ["git", "-c", "user.name=Dana Dev", "-c", "user.email=dana@example.invalid", "-c", "commit.gpgsign=false"]
    subprocess.run(["git", "clone", "-q", str(bakery.repos["base"]), str(work)], check=True)
    (work / "provision.sh").write_text("echo hardened\n")
    subprocess.run([*git, "-C", str(work), "add", "."], check=True)
    subprocess.run([*git, "-C", str(work), "commit", "-q", "-m", "Harden sshd config"], check=True)
    subprocess.run(["git", "-C", str(work), "push", "-q", "origin", "main"], check=True)
    sha = subprocess.run(
        ["git", "-C", str(work), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    bakery.run_pipeline("base", sha, request_id=f"h-{sha[:10]}", amis=[("eu-west-1", AMI)])
    rid = f"h-{sha[:10]}"
    message = bakery.wait(
        lambda: (m := bakery.bake_message(rid)) and "succeeded" in m["text"] and m,
        what="the hand-pushed bake's message",
    )
    text = blocks_text(message)
    assert "Dana Dev" in text and "Harden sshd config" in text and AMI in text


# --- duplicates, order, malformed ----------------------------------------------------------------


def test_duplicate_and_out_of_order_messages_change_nothing_they_should_not(bakery):
    rid = request_id_of(bakery.command(REQUESTER, "base"))
    commit = bakery.commit_of(rid)
    ex = bakery.start_execution("base", commit)
    succeeded = bakery.event(ex, "SUCCEEDED", "Source", time="2026-11-26T09:00:09Z")
    started = bakery.event(ex, "STARTED", "Source", time="2026-11-26T09:00:01Z")
    bakery.deliver(succeeded)
    bakery.deliver(succeeded)
    bakery.deliver(started)  # late
    bakery.wait(
        lambda: (b := bakery.services.bakes.get(rid)) and b.stages.get("Source") and b.stages["Source"].started,
        what="Source with its start",
    )
    bake = bakery.services.bakes.get(rid)
    assert bake.stages["Source"].state == "SUCCEEDED"
    assert bake.stages["Source"].started == "2026-11-26T09:00:01Z"


def test_the_same_sns_message_delivered_twice_is_applied_once(bakery_factory, monkeypatch):
    from bot.bakes.service import BakeService
    from bot.sandbox.aws.events import sns_envelope

    applied: list[object] = []
    real_apply = BakeService.apply

    def counting_apply(self, note):
        applied.append(note)
        return real_apply(self, note)

    monkeypatch.setattr(BakeService, "apply", counting_apply)
    bakery = bakery_factory()
    rid = request_id_of(bakery.command(REQUESTER, "base"))
    commit = bakery.commit_of(rid)
    ex = bakery.start_execution("base", commit)
    bakery.wait_idle()  # the commit and the first message are done: what follows is the delivery's doing
    version = bakery.services.store.get("bake", rid).version
    envelope = json.dumps(sns_envelope(bakery.event(ex, "STARTED", "Source"), topic_arn=bakery.topic_arn))
    bakery.sqs.send_message(QueueUrl=bakery.queue_url, MessageBody=envelope)
    bakery.sqs.send_message(QueueUrl=bakery.queue_url, MessageBody=envelope)
    bakery.wait_idle()

    assert [(n.stage, n.state) for n in applied] == [("Source", "STARTED")]
    assert bakery.services.store.get("bake", rid).version == version + 1  # one state change
    assert [m for m in bakery.messages() if not m.get("thread_ts")] == [bakery.bake_message(rid)]
    assert bakery.thread(rid) == []
    assert "*Source* running" in blocks_text(bakery.bake_message(rid))


def test_a_malformed_queue_message_is_never_deleted_and_ends_in_the_dead_letter_queue(bakery):
    bakery.sqs.send_message(QueueUrl=bakery.queue_url, MessageBody="{not json")

    def in_dlq():
        got = bakery.sqs.receive_message(QueueUrl=bakery.dlq_url, WaitTimeSeconds=1).get("Messages", [])
        return got and got[0]["Body"] == "{not json"

    bakery.wait(in_dlq, timeout=20, what="the malformed message in the DLQ")


def test_events_of_a_pipeline_we_do_not_know_are_skipped(bakery):
    from bot.sandbox.aws.events import pipeline_event

    bakery.deliver(
        pipeline_event(pipeline="someone-elses", execution_id="5f0d2a4e-1c3b-4d6e-8f9a-0b1c2d3e4f50", state="STARTED")
    )
    bakery.wait(
        lambda: (
            int(
                bakery.sqs.get_queue_attributes(
                    QueueUrl=bakery.queue_url,
                    AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
                )["Attributes"]["ApproximateNumberOfMessagesNotVisible"]
            )
            == 0
        ),
        what="the skipped message deleted",
    )
    assert bakery.slack.calls("chat.postMessage") == []


# --- SNS over HTTPS ------------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1", "2"])
def test_signed_sns_deliveries_move_a_bake(bakery, version):
    from bot.sandbox.aws.events import sns_envelope

    rid = request_id_of(bakery.command(REQUESTER, "base"))
    commit = bakery.commit_of(rid)
    ex = bakery.start_execution("base", commit)
    envelope = bakery.signer.sign(
        sns_envelope(bakery.event(ex, "STARTED", "Bake"), topic_arn=bakery.topic_arn), version
    )
    status, _ = bakery.post_sns(envelope)
    assert status == 200
    assert bakery.services.bakes.get(rid).stages["Bake"].state == "STARTED"


def test_forged_sns_messages_are_refused_and_change_nothing(bakery):
    from bot.sandbox.aws.events import sns_envelope

    rid = request_id_of(bakery.command(REQUESTER, "base"))
    commit = bakery.commit_of(rid)
    ex = bakery.start_execution("base", commit)
    good = bakery.signer.sign(sns_envelope(bakery.event(ex, "FAILED"), topic_arn=bakery.topic_arn))
    tampered = dict(good, Message=good["Message"].replace("FAILED", "SUCCEEDED"))
    http_cert = dict(good, SigningCertURL=good["SigningCertURL"].replace("https://", "http://"))
    evil_host = dict(good, SigningCertURL="https://sns.eu-west-1.amazonaws.com.evil.example/cert.pem")
    other_topic = bakery.signer.sign(
        sns_envelope(bakery.event(ex, "FAILED"), topic_arn="arn:aws:sns:eu-west-1:999999999999:other")
    )
    for forged in (tampered, http_cert, evil_host, other_topic):
        status, _ = bakery.post_sns(forged)
        assert status == 403, forged
    status, _ = bakery.post_sns("{not json")
    assert status == 400
    bakery.wait_idle()
    assert bakery.services.bakes.get(rid).execution_state is None
    assert all(url.startswith("https://sns.eu-west-1.amazonaws.com/") for url in bakery.signer.fetched)


def test_a_subscription_confirmation_is_confirmed_only_when_genuine(bakery, bakery_factory):
    envelope = {
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37",
        "TopicArn": bakery.topic_arn,
        "Message": "You have chosen to subscribe",
        "SubscribeURL": f"https://sns.eu-west-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn={bakery.topic_arn}&Token=2336412f37",
        "Timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
    }
    status, _ = bakery.post_sns(dict(bakery.signer.sign(envelope), Token="tampered"))
    assert status == 403 and bakery_factory.confirmed == []
    status, _ = bakery.post_sns(bakery.signer.sign(envelope))
    assert status == 200 and bakery_factory.confirmed == [envelope["SubscribeURL"]]


# --- Slack's limits ----------------------------------------------------------------------------


def test_a_burst_of_events_gives_a_handful_of_edits_ending_on_the_final_state(bakery_factory):
    bakery = bakery_factory(publish_interval=1.0)
    rid = request_id_of(bakery.command(REQUESTER, "base"))
    commit = bakery.commit_of(rid)
    ex = bakery.start_execution("base", commit)
    events = [bakery.event(ex, "STARTED", time="2026-11-26T09:00:00Z")]
    for i, stage in enumerate(("Source", "Validate", "Bake", "Test", "Approve", "Publish")):
        for j in range(3):
            events.append(bakery.event(ex, "STARTED", stage, stage, time=f"2026-11-26T09:{i:02d}:{j:02d}Z"))
        events.append(bakery.event(ex, "STARTED", stage, time=f"2026-11-26T09:{i:02d}:00Z"))
        events.append(bakery.event(ex, "SUCCEEDED", stage, stage, time=f"2026-11-26T09:{i:02d}:30Z"))
        events.append(bakery.event(ex, "SUCCEEDED", stage, time=f"2026-11-26T09:{i:02d}:40Z"))
    events += [events[5]] * (49 - len(events))
    events.append(bakery.event(ex, "SUCCEEDED", time="2026-11-26T09:10:00Z"))
    assert len(events) == 50
    for batch in range(0, 50, 10):
        bakery.sqs.send_message_batch(
            QueueUrl=bakery.queue_url,
            Entries=[{"Id": str(i), "MessageBody": json.dumps(e)} for i, e in enumerate(events[batch : batch + 10])],
        )
    bakery.wait(lambda: "succeeded" in bakery.bake_message(rid)["text"], timeout=20, what="the final state")
    bakery.wait_idle()  # every edit the burst will cause has been made
    updates = [c for c in bakery.slack.calls("chat.update") if c.args.get("ts") == bakery.bake_message(rid)["ts"]]
    assert 1 <= len(updates) <= 8, len(updates)
    assert "succeeded" in updates[-1].args["text"]


def test_a_rate_limited_update_is_retried_after_retry_after(bakery):
    rid = request_id_of(bakery.command(REQUESTER, "base"))
    commit = bakery.commit_of(rid)
    bakery.wait(lambda: bakery.bake_message(rid), what="the first message")
    bakery.slack.rate_limit("chat.update", times=1, retry_after=1)
    bakery.run_pipeline("base", commit, request_id=rid, amis=[("eu-west-1", AMI)])
    bakery.wait(lambda: "succeeded" in bakery.bake_message(rid)["text"], timeout=20, what="the final state")
    statuses = [c.status for c in bakery.slack.calls("chat.update")]
    assert 429 in statuses


# --- state survives a restart --------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite", "dynamodb"])
def test_a_bake_requested_before_a_restart_is_followed_after_it(bakery_factory, backend):
    first = bakery_factory(backend=backend)
    rid = request_id_of(first.command(REQUESTER, "base"))
    commit = first.commit_of(rid)
    ts = first.wait(lambda: (m := first.bake_message(rid)) and m["ts"], what="the first message")
    bakery_factory.stop(first)

    second = bakery_factory(backend=backend)
    second.run_pipeline("base", commit, request_id=rid, amis=[("eu-west-1", AMI)])
    message = second.wait(
        lambda: (m := second.bake_message(rid)) and "succeeded" in m["text"] and m,
        what="the final message after the restart",
    )
    assert message["ts"] == ts  # the same message, edited in place
    assert AMI in blocks_text(message)


def test_healthz_reports_the_loops(bakery):
    import urllib.request

    with urllib.request.urlopen(f"{bakery.url}/healthz", timeout=5) as resp:  # noqa: S310 - loopback
        health = json.loads(resp.read())
    assert resp.status == 200 and health["status"] == "ok" and health["sqs"] == "on"
    loops = ("publisher", "rollout-publisher", "train-publisher", "housekeeping", "sqs-intake")
    assert health["loops"] == dict.fromkeys(loops, True)


@pytest.mark.parametrize(
    "body, content_type",
    [
        ("payload=%7Bnot+json", "application/x-www-form-urlencoded"),
        ("payload=%5B1%2C2%5D", "application/x-www-form-urlencoded"),
        ("[1, 2]", "application/json"),
    ],
)
def test_a_malformed_slack_body_is_a_clear_400_when_signed_and_401_when_not(bakery, body, content_type):
    status, answer = bakery.post_slack(body=body, content_type=content_type)
    assert status == 400 and "error" in json.loads(answer)
    status, _ = bakery.post_slack(body=body, content_type=content_type, secret="wrong")
    assert status == 401
    assert bakery.slack.calls("chat.postMessage") == []


def test_the_http_server_does_not_spin_between_requests(bakery):
    """waitress rounds its loop timeout down to whole seconds; a sub-second one must not become a busy loop."""
    import resource

    before = resource.getrusage(resource.RUSAGE_SELF)
    time.sleep(1.0)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    assert cpu < 0.5, f"{cpu:.2f} s of CPU in 1 s of idling"
