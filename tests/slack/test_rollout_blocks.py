"""The rollout message: what it shows in each state and which buttons it offers."""

from __future__ import annotations

import json

from bot.rollouts.record import Rollout
from bot.slack.rollout_blocks import STATUS_LABEL, progress_bar, rollout_message


def rollout(**kw) -> Rollout:
    base = dict(
        rollout_id="r-abcdef",
        target="web-prod",
        image="web",
        ami_id="ami-0123456789abcdef0",
        region="eu-west-1",
        auto_scaling_group="web-prod",
        requested_by="U0ALICE",
        requested_at="2026-11-26T09:00:00Z",
        channel="C0BAKERY",
        approval_needed=True,
    )
    return Rollout(**{**base, **kw})


def action_ids(blocks) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_waiting_for_approval_offers_approve_and_cancel_and_says_who_may():
    _, blocks = rollout_message(rollout(status="awaiting_approval"), approvers="<!subteam^S0PLATFORM>")
    assert action_ids(blocks) == ["rollout_approve", "rollout_cancel"]
    assert "except <@U0ALICE>" in json.dumps(blocks)


def test_in_progress_shows_percentage_and_instances_left_with_cancel_and_rollback():
    r = rollout(
        status="in_progress",
        refresh_id="abcd1234-x",
        percentage=40,
        instances_to_update=3,
        version=4,
        previous_version=3,
        template_name="web-prod",
    )
    text, blocks = rollout_message(r)
    shown = json.dumps(blocks, ensure_ascii=False)
    assert "40%" in shown and "3 instances left" in shown and "version 4 (was 3)" in shown and "(40%)" in text
    assert action_ids(blocks) == ["rollout_cancel", "rollout_rollback"]
    assert all("confirm" in e for b in blocks if b["type"] == "actions" for e in b["elements"])


def test_an_ended_rollout_has_no_buttons():
    for status in ("succeeded", "failed", "cancelled", "rolled_back", "rollback_failed", "error"):
        assert action_ids(rollout_message(rollout(status=status))[1]) == []


def test_progress_bar_is_bounded():
    assert progress_bar(0) == "▱" * 20 and progress_bar(100) == "▰" * 20 and progress_bar(150) == "▰" * 20


def test_progress_bar_is_plain_text_not_inline_code_which_slack_paints_red():
    r = rollout(status="in_progress", refresh_id="abcd1234-x", percentage=100, instances_to_update=0)
    shown = json.dumps(rollout_message(r)[1], ensure_ascii=False)
    assert "▰" * 20 + " 100%" in shown and "`▰" not in shown and "▰`" not in shown


def test_every_rollout_state_reads_without_its_icon():
    for status, (icon, word) in STATUS_LABEL.items():
        header = rollout_message(rollout(status=status))[1][0]["text"]["text"]
        assert header.startswith(icon) and header.removeprefix(icon).strip().endswith(f": {word}")
