"""What a bake's message says in each state: true words (golden text per state), once, and readable without emoji."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from bot.slack.bake_blocks import bake_message, bake_replies
from bot.slack.bake_state import BAKE_STATES, state_of
from bot.slack.rollout_blocks import STATUS_LABEL as ROLLOUT_LABEL
from tests.slack.bake_examples import RUNS, TARGETS, examples, flat

ROOT = Path(__file__).resolve().parents[2]
GOLDEN = ROOT / "tests" / "data" / "golden" / "states"
EXAMPLES = examples()
SHORTCODE = re.compile(r":[a-z0-9_+-]+:")


def rendered(name: str) -> tuple[str, list, str]:
    """(fallback text, blocks, the message and its live thread replies as text) of one example state."""
    bake, rollouts = EXAMPLES[name]
    runs = RUNS.get(name, {})
    # As the bakery in account 123456789012 shows it: its own AMIs by region alone (§13).
    text, blocks = bake_message(
        bake, region="eu-west-1", targets=TARGETS, rollouts=rollouts, runs=runs, own_account="123456789012"
    )
    thread = "".join(f"--- thread: {key}\n{flat(b)}" for key, _, b in bake_replies(bake, approvers="@platform"))
    return text, blocks, f"{text}\n--- message\n{flat(blocks)}{thread}"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_state_reads_as_its_reviewed_text(name):
    # Text, not pixels: Block Kit is text, and the page draws it with whatever fonts the machine has, so a
    # screenshot comparison would fail on a font update while this one fails only when the words change.
    # BAKERY_UPDATE_GOLDEN=1 rewrites the files; review their diff like code.
    _, _, shown = rendered(name)
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("BAKERY_UPDATE_GOLDEN"):
        path.write_text(shown)
    assert shown == path.read_text()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_each_header_says_its_state_in_words_without_emoji(name):
    bake, _ = EXAMPLES[name]
    _, blocks, _ = rendered(name)
    header = SHORTCODE.sub("", blocks[0]["text"]["text"])
    _, word = BAKE_STATES[state_of(bake)]
    assert word in header and not header.startswith(":"), header


def test_a_bake_waiting_at_its_approval_says_so_in_its_header_and_stage_line():
    text, blocks, _ = rendered("waiting_for_approval")
    assert blocks[0]["text"]["text"].endswith(": waiting for approval")
    assert "*Approve* waiting for approval — see the thread" in json.dumps(blocks, ensure_ascii=False)
    assert "running" not in json.dumps(blocks) and "running" not in text


def test_an_approval_notified_before_its_stage_event_is_still_said():
    bake, _ = EXAMPLES["waiting_for_approval"]
    stages = {k: v for k, v in bake.stages.items() if k != "Approve"}
    _, blocks = bake_message(replace(bake, stages=stages), region="eu-west-1")
    assert "*Approve* waiting for approval — see the thread" in flat(blocks)


def test_a_rejected_bake_says_who_rejected_it_and_why_not_failed():
    _, blocks, shown = rendered("rejected")
    assert blocks[0]["text"]["text"].endswith(": rejected by <@U0ALICE>: CIS score dropped")
    assert "*Approve* rejected in 30s" in shown
    assert "failed" not in shown


def test_a_rejection_in_the_console_names_no_one():
    _, blocks, shown = rendered("rejected_in_the_console")
    assert blocks[0]["text"]["text"].endswith(": rejected outside Slack: CIS score dropped")
    assert "<@" not in blocks[0]["text"]["text"] and "failed" not in shown


def test_a_stage_that_really_failed_is_failed():
    _, blocks, shown = rendered("failed")
    assert blocks[0]["text"]["text"].endswith(": failed at Test") and "*Test* failed" in shown


@pytest.mark.parametrize("name", ["failed", "rejected", "rejected_in_the_console", "approval_expired", "superseded"])
def test_the_ami_of_a_bake_that_did_not_reach_publish_is_not_released_and_offers_no_rollout(name):
    text, blocks, shown = rendered(name)
    assert "*AMIs* not released" in shown and "(not released)" in text
    assert "rollout_start" not in json.dumps(blocks) and "Roll out" not in shown


def test_a_waiting_bake_says_its_ami_is_not_released_yet():
    assert "*AMIs* not released yet" in rendered("waiting_for_approval")[2]


def test_a_released_bake_offers_its_targets():
    _, blocks, shown = rendered("succeeded")
    assert "*AMIs* released" in shown and "[Roll out to web-prod]" in shown and "[Roll out to web-staging]" in shown


def test_a_finished_rollout_says_the_target_runs_the_ami_instead_of_offering_it_again():
    _, _, shown = rendered("rolled_out")
    assert "*web-prod* runs this AMI since <!date^" in shown
    assert "[Roll out to web-prod]" not in shown and "[Roll out to web-staging]" in shown


def test_once_another_ami_replaced_it_the_target_no_longer_runs_this_one_and_is_offered_again():
    _, _, shown = rendered("rolled_out_then_replaced")
    assert "runs this AMI" not in shown
    assert "*web-prod* ran this AMI from <!date^" in shown and "it runs `ami-0aaaaaaaaaaaaaaa1` now" in shown
    assert "[Roll out to web-prod]" in shown


def test_a_rollout_under_way_is_pointed_to_not_offered_again():
    _, _, shown = rendered("rolling_out")
    assert "Rollout `r-abcdef` to *web-prod* in progress (40%) — see the thread" in shown
    assert "[Roll out to web-prod]" not in shown


def test_a_rollout_posted_outside_the_bakes_thread_is_not_said_to_be_in_it():
    # A bake without a message when its rollout began (the sandbox's seeded release): the rollout's message is in
    # the channel, and the bake's message posted afterwards must not send readers to an empty thread.
    bake, (under_way,) = EXAMPLES["rolling_out"]
    _, blocks = bake_message(bake, region="eu-west-1", targets=TARGETS, rollouts=(replace(under_way, thread_ts=""),))

    assert "Rollout `r-abcdef` to *web-prod* in progress (40%)" in flat(blocks)
    assert "see the thread" not in flat(blocks)


def test_a_rolled_back_rollout_says_so_and_offers_the_target_again():
    _, _, shown = rendered("rollout_failed")
    assert "Rollout `r-abcdef` to *web-prod* rolled back" in shown and "[Roll out to web-prod]" in shown


def test_a_decision_is_told_once_in_the_thread_and_once_in_the_message():
    for name, said in (
        ("rejected", "rejected by <@U0ALICE>"),
        ("rejected_in_the_console", "rejected outside Slack"),
        ("succeeded", "approved by <@U0ALICE>"),
    ):
        bake, _ = EXAMPLES[name]
        _, blocks, _ = rendered(name)
        [(_, _, card)] = bake_replies(bake, approvers="@platform")
        assert said in flat(card) and "bake_approve" not in json.dumps(card)
        assert flat(blocks).count(said) == 1, flat(blocks)  # the header for a rejection, else the stage line


def readme_states() -> dict[tuple[str, str], tuple[str, str]]:
    text = (ROOT / "README.md").read_text()
    table = text.split("<!-- states:begin -->", 1)[1].split("<!-- states:end -->", 1)[0]
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in table.splitlines()]
    icon = re.compile(r"`(:[a-z0-9_+-]+:)`")
    return {
        (r[0], r[1].strip("`")): (m.group(1) if (m := icon.search(r[3])) else r[3], r[2])
        for r in rows
        if len(r) == 5 and r[0] in ("bake", "rollout")
    }


def test_the_readme_table_of_states_is_the_code_s():
    expected = {("bake", state): said for state, said in BAKE_STATES.items()}
    expected |= {("rollout", str(status)): said for status, said in ROLLOUT_LABEL.items()}
    assert readme_states() == expected
