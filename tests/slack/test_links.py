"""Links built from outside input: Slack reads each as one link to the URL it came with, and nothing more."""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote

import pytest

from bot.approvals.record import ApprovalState
from bot.bakes.progress import advance, apply_result
from bot.bakes.record import Bake
from bot.domain.models import ApprovalRequest, BakeResult
from bot.intake.parse import parse_notification
from bot.slack.approval_blocks import approval_card
from bot.slack.notices import notice_text
from bot.slack.text import link

EVENTS = Path(__file__).parent.parent / "data" / "events"
# The link in AWS's sample failed-action event (CodePipeline user guide, "Monitoring CodePipeline events"),
# with a `|` added: the one character that would split a mrkdwn link without ending it.
AWS_SAMPLE_URL = (
    "https://us-west-2.console.aws.amazon.com/codebuild/home?region=us-west-2"
    "#/builds/my-build-project:<ID>|<https://evil.example|x>/view/new"
)


def slack_links(mrkdwn: str) -> list[tuple[str, str]]:
    """The links Slack reads in mrkdwn: `<target|label>`, the target up to the first `|`, entities decoded."""
    found = []
    for inner in re.findall(r"<([^<>]*)>", mrkdwn):
        target, _, label = inner.partition("|")
        found.append((_unescape(target), _unescape(label)))
    return found


def outside_links(mrkdwn: str) -> str:
    return re.sub(r"<[^<>]*>", "", mrkdwn)


def _unescape(text: str) -> str:
    # Slack decodes exactly these three entities (its docs: "Escaping text").
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


BAKE = Bake(
    request_id="b-abc234", image="web", requested_by="U0CAROL", requested_at="2026-11-26T09:00:00Z",
    reason="r", channel="C0BAKERY", pipeline="ami-bakery-web", status="running", commit_id="f" * 40,
)  # fmt: skip


def test_a_failed_action_whose_aws_link_has_angle_brackets_and_a_pipe_shows_one_link_to_that_url():
    doc = json.loads((EVENTS / "codepipeline-action-failed.json").read_text())
    doc["detail"]["execution-result"]["external-execution-url"] = AWS_SAMPLE_URL
    [event] = parse_notification(json.dumps(doc))

    after = advance(BAKE, event)
    assert after is not None
    text = notice_text(after.notices[-1])

    [(target, label)] = slack_links(text)
    assert label == "Build log"
    assert unquote(target) == AWS_SAMPLE_URL
    # Nothing of the URL is left over outside the link (the `>` quoting the summary is mrkdwn's own).
    assert "<" not in outside_links(text) and "|" not in outside_links(text)




def test_a_failed_bake_result_with_such_a_log_link_shows_one_link_to_it():
    result = BakeResult(
        image="web", request_id="b-abc234", commit_id="f" * 40, pipeline="ami-bakery-web",
        execution_id="0c6ab1a2-0000-4000-8000-000000000001", status="failed", amis=(), log_url=AWS_SAMPLE_URL,
    )  # fmt: skip

    after = apply_result(BAKE, result)

    assert after is not None
    [(target, label)] = slack_links(notice_text(after.notices[-1]))
    assert (unquote(target), label) == (AWS_SAMPLE_URL, "Build log")


def test_an_approval_whose_details_link_has_such_characters_still_links_to_it():
    asked = ApprovalRequest(
        region="eu-west-1", pipeline="ami-bakery-web", stage="Approve", action="Approve", token="t",
        expires="2026-12-03T09:00Z", external_link=AWS_SAMPLE_URL,
        console_link="https://console.aws.amazon.com/codesuite/codepipeline/pipelines/ami-bakery-web/view",
    )  # fmt: skip
    state = ApprovalState(key="ap-abc", request=asked, execution_id="0c6ab1a2-0000-4000-8000-000000000001")

    blocks = approval_card(BAKE, state, approvers="the approvers")

    [context] = [b for b in blocks if b["type"] == "context"]
    links = slack_links(context["elements"][0]["text"])
    assert [(unquote(t), label) for t, label in links] == [
        (AWS_SAMPLE_URL, "Details"),
        (asked.console_link, "Pipeline in the console"),
    ]


def test_a_label_cannot_open_a_link_of_its_own():
    text = link("https://console.aws.amazon.com/codebuild/", "log> <https://evil.example|click here")

    assert slack_links(text) == [("https://console.aws.amazon.com/codebuild/", "log> <https://evil.example|click here")]


def test_an_ampersand_in_a_query_reaches_slack_as_an_ampersand():
    url = "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1&x=<1>#ImageDetails:imageId=ami-1"

    [(target, _)] = slack_links(link(url, "Details"))

    assert unquote(target) == url and "&x=" in target


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)//https://x", " https://evil.example", "https://", "ftp://example.com/x", "http://[::1"]
)
def test_a_link_that_is_not_a_web_link_shows_its_label_alone(url):
    assert link(url, "Build <log>") == "Build &lt;log&gt;"
