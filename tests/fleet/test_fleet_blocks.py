"""`/bake fleet` in words: each target's line, its Roll out button, and many targets within Slack's limits."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.fleet.facts import FleetReport, FleetState, RunningAmi, TargetFleet
from bot.sandbox.slack.limits import block_problems
from bot.slack.answers import answer_message
from bot.slack.fleet_blocks import MAX_BLOCKS, digest_message, fleet_message, target_line

SLACK_REFUSES_AT = 13_200  # characters of blocks (REFERENCE: msg_blocks_too_long)


def behind(name: str, n: int = 0, *, button: bool = True) -> TargetFleet:
    return TargetFleet(
        target=name,
        image="web",
        region="eu-west-1",
        account_id="210987654321",
        state=FleetState.BEHIND,
        runs=(
            RunningAmi(f"ami-0new{n:012d}", 2, True, 0),
            RunningAmi(f"ami-0old{n:012d}", 2, False, 2),
        ),
        newest=f"ami-0new{n:012d}",
        bakes_behind=2,
        behind_since="2026-11-20T10:00:00.000Z",
        days_behind=11,
        button=f"rs-key{n:08d}" if button else None,
    )


def current(name: str) -> TargetFleet:
    return TargetFleet(
        target=name,
        image="base",
        region="us-east-1",
        account_id="",
        state=FleetState.CURRENT,
        runs=(RunningAmi("ami-0base", 3, True, 0),),
        newest="ami-0base",
    )


def buttons(blocks) -> list[str]:
    return [b["accessory"]["value"] for b in blocks if b.get("accessory", {}).get("action_id") == "rollout_start"]


def test_a_behind_target_reads_as_what_it_runs_with_counts_and_how_far_behind():
    line = target_line(behind("web-prod"), own_account="123456789012")

    assert line.splitlines()[0] == "*web-prod* (eu-west-1, 210987654321) — :hourglass: behind by 2 bakes for 11 days"
    assert "`ami-0new000000000000` (default version, 2 instances)" in line
    assert "`ami-0old000000000000` (2 instances, 2 bakes behind)" in line
    assert "newest good web: `ami-0new000000000000`" in line


def test_revoked_and_not_released_amis_say_so():
    t = TargetFleet(
        "web-prod",
        "web",
        "eu-west-1",
        "",
        FleetState.REVOKED,
        runs=(RunningAmi("ami-0bad", 1, True, 1, revoked="CVE <x>"), RunningAmi("ami-0hand", 1, False, None)),
        newest="ami-0good",
        bakes_behind=1,
        behind_since="2026-11-30T10:00:00.000Z",
        days_behind=1,
        button="rs-x",
    )

    line = target_line(t)

    assert ":no_entry: on a revoked AMI by 1 bake for 1 day" in line
    assert "revoked: CVE &lt;x&gt;" in line and "not a release of web there" in line


def test_a_rollout_in_flight_is_said_in_the_words_its_own_message_and_status_use():
    line = target_line(replace(behind("web-prod"), rollout="r-abc123 (awaiting_approval)"))

    assert "rollout in flight: `r-abc123` waiting for approval" in line
    assert "awaiting_approval" not in line


def test_a_target_behind_since_today_is_behind_for_less_than_a_day_not_for_0_days():
    line = target_line(replace(behind("web-prod"), days_behind=0))

    assert line.splitlines()[0].endswith(":hourglass: behind by 2 bakes for less than a day")


def test_the_answer_has_a_roll_out_button_beside_each_target_not_current_and_none_beside_a_current_one():
    report = FleetReport(None, (current("base-canary"), behind("web-prod", 1)))

    text, blocks = answer_message(report)

    assert text.startswith("*Fleet*: 2 targets (1 behind, 1 current)")
    assert buttons(blocks) == ["rs-key00000001"]
    assert "base-canary" in json.dumps(blocks) and "current" in json.dumps(blocks)


def test_two_hundred_targets_fit_one_message_and_the_rest_are_counted():
    targets = [behind(f"web-{n:03d}", n) for n in range(150)] + [current(f"base-{n:03d}") for n in range(50)]

    _, blocks = fleet_message(FleetReport(None, tuple(targets)))

    assert len(blocks) <= MAX_BLOCKS and block_problems(blocks) == []  # as the Slack stand-in checks them
    assert len(json.dumps(blocks)) < SLACK_REFUSES_AT
    shown = buttons(blocks)
    assert shown == [f"rs-key{n:08d}" for n in range(len(shown))]  # those behind first, in order, none skipped
    assert blocks[-1]["text"]["text"].startswith(f"… and {200 - len(shown)} more targets (")
    assert all(len(b["text"]["text"]) <= 3000 for b in blocks)
    assert f"{150 - len(shown)} behind: web-{len(shown):03d}, " in blocks[-1]["text"]["text"]
    assert "50 current: base-000, base-001" in blocks[-1]["text"]["text"]


def test_many_current_targets_are_packed_several_to_a_block():
    targets = tuple(current(f"base-{n:03d}") for n in range(200))

    _, blocks = fleet_message(FleetReport("base", targets))

    assert len(blocks) <= MAX_BLOCKS and len(json.dumps(blocks)) < SLACK_REFUSES_AT
    shown = sum(b["text"]["text"].count(":white_check_mark:") for b in blocks)
    assert shown > 50  # more than one a block
    assert blocks[-1]["text"]["text"].startswith(f"… and {200 - shown} more targets (")


def test_no_targets_says_so():
    text, _ = fleet_message(FleetReport("web", ()))

    assert text == "No targets of *web* are configured."


def test_the_digest_names_the_stale_targets_with_their_buttons():
    text, blocks = digest_message([behind("web-prod", 7)], stale_after=7 * 86400)

    assert "1 target behind their image's newest good AMI for more than 7 days" in text
    assert buttons(blocks) == ["rs-key00000007"]
