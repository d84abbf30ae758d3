"""`/bake revoke`'s words (bot/slack/revoke_blocks.py): the channel's message and the revoker's private line."""

from __future__ import annotations

import json

from bot.domain.models import Ami
from bot.fleet.revocations import Revocation
from bot.fleet.revoke_facts import LatestMoved, Revoked, StillOn
from bot.sandbox.slack.limits import block_problems
from bot.slack.answers import answer_message, in_channel

BAD, COPY, OLD = "ami-0bad0000000000001", "ami-0bad0000000000002", "ami-0000000000000000a"
REV = Revocation(
    ami_id=BAD, reason="CVE <!channel> & more", by="U0ALICE", at="2026-12-01T12:00:00Z", image="base",
    request_id="b-1111111", region="eu-west-1", account_id="123456789012",
)  # fmt: skip


def revoked(**kw) -> Revoked:
    facts = dict(
        revocation=REV,
        image="base",
        amis=(Ami("eu-west-1", BAD, "123456789012"), Ami("us-east-1", COPY, "123456789012")),
        channel="C0OPS",
        first=True,
        tagged=(BAD, COPY),
        deprecated=(BAD, COPY),
        latest=(
            LatestMoved("/bakery/images/base/latest", "eu-west-1", "", was=BAD, now=OLD),
            LatestMoved("/bakery/images/base/latest", "us-east-1", "", was=COPY, now=""),
        ),
        still_on=(
            StillOn("base-canary", "eu-west-1", "", BAD, ((BAD, 2),), OLD, "rs-abc"),
            StillOn("base-us", "us-east-1", "", "", ((COPY, 1),), "", ""),
        ),
        own_account="123456789012",
    )
    return Revoked(**{**facts, **kw})


def test_the_channel_message_names_the_revoker_the_reason_every_ami_and_where_latest_points():
    channel, text, blocks = in_channel(revoked())
    shown = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")

    assert channel == "C0OPS" and "<@U0ALICE> revoked `ami-0bad0000000000001` (eu-west-1) of *base*" in shown
    assert "&lt;!channel&gt; &amp; more" in shown and "<!channel>" not in shown + text
    assert f"the same bake `b-1111111`: `{COPY}` (us-east-1)" in shown
    assert f"`/bakery/images/base/latest` (eu-west-1) names `{OLD}` again (it named `{BAD}`)" in shown
    assert f"(us-east-1) still names `{COPY}`: no released, unrevoked AMI is left there" in shown


def test_each_target_still_on_it_has_a_roll_out_button_onto_the_good_ami():
    _, _, blocks = in_channel(revoked())
    targets = next(
        b["text"]["text"] for b in blocks if "*Still on it* (2 targets)" in b.get("text", {}).get("text", "")
    )
    [actions] = [b for b in blocks if b["type"] == "actions"]

    assert "*base-canary* (eu-west-1): its launch template's default version has `ami-0bad0000000000001`" in targets
    assert f"2 instances on `{BAD}`. Roll it onto `{OLD}`." in targets
    assert f"*base-us* (us-east-1): 1 instance on `{COPY}`. No released, unrevoked AMI" in targets
    assert [(e["action_id"], e["value"], e["text"]["text"]) for e in actions["elements"]] == [
        ("rollout_start", "rs-abc", "Roll out base-canary")
    ]


def test_a_good_ami_without_a_known_bake_is_offered_as_a_command():
    still = StillOn("base-canary", "eu-west-1", "", BAD, (), OLD, "")
    _, _, blocks = in_channel(revoked(still_on=(still,)))
    assert f"`/bake rollout base-canary {OLD}`" in json.dumps(blocks)


def test_the_revoker_is_told_privately_where_the_announcement_is():
    text, _ = answer_message(revoked())
    assert "Revoked `ami-0bad0000000000001`" in text and "<#C0OPS>" in text


def test_when_the_channel_refused_the_post_the_revoker_gets_it_all_privately():
    text, blocks = answer_message(revoked(channel=""))
    assert in_channel(revoked(channel="")) is None
    assert "*base-canary*" in json.dumps(blocks) and "rollout_start" in json.dumps(blocks)


def test_a_revoke_found_done_is_private_and_says_who_when_and_why():
    again = revoked(first=False, tagged=(), deprecated=(), latest=())
    text, _ = answer_message(again)

    assert in_channel(again) is None
    assert "was revoked already, by <@U0ALICE> on <!date^" in text and "&lt;!channel&gt;" in text
    assert "Nothing changed." in text


def test_what_aws_refused_is_shown_with_how_to_finish_it():
    _, _, blocks = in_channel(revoked(problems=("could not tag and deprecate `x` in us-east-1: <denied>",)))
    last = blocks[-1]["text"]["text"]
    assert ":warning: could not tag and deprecate" in last and "&lt;denied&gt;" in last
    assert f"`/bake revoke {BAD} …` again finishes what was refused" in last


def test_forty_targets_still_on_it_make_a_message_slack_takes():
    many = tuple(
        StillOn(f"target-{i:02d}", "eu-west-1", "", BAD, ((BAD, 12),), OLD, f"rs-{i:02d}") for i in range(40)
    )
    _, text, blocks = in_channel(revoked(still_on=many))
    assert block_problems(blocks) == [] and len(text) <= 3000
    [actions] = [b for b in blocks if b["type"] == "actions"]
    shown = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert len(actions["elements"]) == 25 and "*target-24*" in shown and "…and 15 more: `/bake fleet base`" in shown
