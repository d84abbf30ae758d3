"""Hypothesis strategies for the messages the intake reads, valid by construction, with the records they are.

Shared by the round-trip and the fuzz properties; PROPERTY bounds every property's examples.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from bot.domain.models import REQUEST_ID_RE, Ami, ApprovalRequest, BakeResult, PipelineEvent
from bot.intake import parse

# Examples per test come from the profile in tests/conftest.py (HYPOTHESIS_PROFILE=deep for more).
PROPERTY = settings(suppress_health_check=[HealthCheck.too_slow])
LEVELS = {level: detail_type for detail_type, level in parse.EVENT_LEVELS.items()}


def regex(pattern) -> st.SearchStrategy[str]:
    return st.from_regex(pattern, fullmatch=True)


# Free text as people and AWS write it: any character but lone surrogates (which no JSON sender emits).
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=200)
# Built directly where a regex strategy would be slow (it draws character by character); each is checked
# against the parser's own pattern in test_parse_round_trips.py, so the two cannot drift apart.
names = regex(parse.NAME_RE)
uuids = st.uuids().map(str)
regions = st.sampled_from(["eu-west-1", "us-east-1", "ap-southeast-2", "us-gov-west-1", "eu-central-2"])
accounts = st.integers(0, 10**12 - 1).map(lambda n: f"{n:012d}")


def hex_digits(size: int) -> st.SearchStrategy[str]:
    return st.integers(0, 16**size - 1).map(lambda n: f"{n:0{size}x}")


commits = st.sampled_from([40, 64]).flatmap(hex_digits)
topics = st.builds(
    "arn:aws:sns:{}:{}:{}{}".format, regions, accounts, regex(r"[A-Za-z0-9_-]{1,40}"), st.sampled_from(["", ".fifo"])
)
ami_ids = st.sampled_from([8, 17]).flatmap(hex_digits).map("ami-".__add__)
url_tails = st.text(st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp")), max_size=60).filter(
    lambda s: not any(c.isspace() for c in s)
)
urls = st.builds(
    lambda scheme, host, tail: f"{scheme}://{host}/{tail}",
    st.sampled_from(["https", "http"]),
    regex(r"[a-z0-9][a-z0-9.-]{0,30}"),
    url_tails,
)
instants = st.datetimes(datetime(2000, 1, 1), datetime(2099, 12, 31), timezones=st.just(UTC))
seconds = instants.map(lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ"))
minutes = instants.map(lambda t: t.strftime("%Y-%m-%dT%H:%MZ"))


@st.composite
def pipeline_events(draw) -> PipelineEvent:
    level = draw(st.sampled_from(sorted(LEVELS)))
    action = level == "action"
    return PipelineEvent(
        level=level,
        pipeline=draw(names),
        execution_id=draw(uuids),
        state=draw(regex(parse.STATE_RE)),
        time=draw(seconds),
        region=draw(regions),
        account=draw(accounts),
        stage=draw(names) if level != "pipeline" else "",
        action=draw(names) if action else "",
        category=draw(regex(parse.CATEGORY_RE)) if action else "",
        external_url=draw(st.just("") | urls) if action else "",
        summary=draw(texts) if action else "",
        event_id=draw(regex(parse.EVENT_ID_RE)),
    )


def eventbridge(ev: PipelineEvent) -> dict[str, Any]:
    """The event as EventBridge sends it."""
    detail: dict[str, Any] = {"pipeline": ev.pipeline, "execution-id": ev.execution_id, "state": ev.state}
    if ev.stage:
        detail["stage"] = ev.stage
    if ev.action:
        detail.update(action=ev.action, region=ev.region, type={"owner": "AWS", "category": ev.category})
        result = {"external-execution-url": ev.external_url, "external-execution-summary": ev.summary}
        detail["execution-result"] = {k: v for k, v in result.items() if v}
    return {
        "version": "0",
        "id": ev.event_id,
        "detail-type": LEVELS[ev.level],
        "source": "aws.codepipeline",
        "account": ev.account,
        "time": ev.time,
        "region": ev.region,
        "resources": [f"arn:aws:codepipeline:{ev.region}:{ev.account}:{ev.pipeline}"],
        "detail": detail,
    }


def notification_rule(ev: PipelineEvent) -> dict[str, Any]:
    """The same event as a notification rule sends it: camel-cased detailType, a rule ARN, no id."""
    doc = eventbridge(ev)
    del doc["id"], doc["version"]
    doc["detailType"] = doc.pop("detail-type")
    doc["notificationRuleArn"] = f"arn:aws:codestar-notifications:{ev.region}:{ev.account}:notificationrule/{'a' * 40}"
    doc["additionalAttributes"] = {"additionalInformation": ev.summary} if ev.summary else {}
    return doc


@st.composite
def approvals(draw) -> ApprovalRequest:
    return ApprovalRequest(
        region=draw(regions),
        console_link=draw(urls),
        pipeline=draw(names),
        stage=draw(names),
        action=draw(names),
        token=draw(regex(parse.TOKEN_RE)),
        expires=draw(minutes),
        external_link=draw(st.just("") | urls),
        review_link=draw(st.just("") | urls),
        custom_data=draw(texts),
    )


def approval_notification(a: ApprovalRequest) -> dict[str, Any]:
    approval = {
        "pipelineName": a.pipeline,
        "stageName": a.stage,
        "actionName": a.action,
        "token": a.token,
        "expires": a.expires,
        "externalEntityLink": a.external_link,
        "approvalReviewLink": a.review_link,
        "customData": a.custom_data,
    }
    # AWS leaves out what the action does not set; an empty value reads the same.
    return {"region": a.region, "consoleLink": a.console_link, "approval": {k: v for k, v in approval.items() if v}}


@st.composite
def bake_results(draw) -> BakeResult:
    status = draw(st.sampled_from(sorted(parse.BAKE_RESULT_STATUSES)))
    ami = st.builds(Ami, regions, ami_ids, st.just("") | accounts)
    return BakeResult(
        image=draw(regex(parse.IMAGE_RE)),
        request_id=draw(regex(REQUEST_ID_RE.pattern.strip("^$"))),
        commit_id=draw(commits),
        pipeline=draw(names),
        execution_id=draw(uuids),
        status=status,
        amis=tuple(draw(st.lists(ami, min_size=1 if status == "succeeded" else 0, max_size=5))),
        log_url=draw(st.just("") | urls),
    )


def bake_result(r: BakeResult) -> dict[str, Any]:
    amis = [{"region": a.region, "ami_id": a.ami_id, "account_id": a.account_id or None} for a in r.amis]
    return {
        "type": parse.BAKE_RESULT_TYPE,
        "version": 1,
        "image": r.image,
        "request_id": r.request_id,
        "commit_id": r.commit_id,
        "pipeline": r.pipeline,
        "execution_id": r.execution_id,
        "status": r.status,
        "amis": amis,
        "log_url": r.log_url,
    }


def sns(message: Any, *, message_id: str, topic: str, timestamp: str = "2026-11-26T09:14:22.123Z") -> dict:
    """The SNS envelope SQS receives (non-raw delivery) around a message."""
    return {
        "Type": "Notification",
        "MessageId": message_id,
        "TopicArn": topic,
        "Timestamp": timestamp,
        "Message": message if isinstance(message, str) else json.dumps(message),
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": "https://sns.eu-west-1.amazonaws.com/x.pem",
    }


records_and_docs = st.one_of(
    pipeline_events().map(lambda ev: (ev, eventbridge(ev))),
    pipeline_events().map(lambda ev: (replace(ev, event_id=""), notification_rule(ev))),
    approvals().map(lambda a: (a, approval_notification(a))),
    bake_results().map(lambda r: (r, bake_result(r))),
)

