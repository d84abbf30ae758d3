"""The bake message builders: pure functions from a bake to Block Kit, compared with reviewed golden files."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from bot.bakes.record import Bake, StepState
from bot.domain.models import STAGES, Ami
from bot.slack.bake_blocks import bake_message, duration, stage_line

GOLDEN = Path(__file__).resolve().parent.parent / "data" / "golden"

STAGES_DONE = {
    s: StepState("SUCCEEDED", f"2026-11-26T09:0{i}:30Z", f"2026-11-26T09:0{i}:00Z", f"2026-11-26T09:0{i}:30Z")
    for i, s in enumerate(STAGES)
}
SUCCEEDED = Bake(
    request_id="b-7f3k2q",
    image="web",
    requested_by="U012ABCDEF",
    requested_at="2026-11-26T09:00:00Z",
    reason="CVE-2026-1234",
    channel="C0BAKERY",
    pipeline="ami-bakery-web",
    status="succeeded",
    commit_id="a" * 40,
    commit_url="https://example.invalid/commit/" + "a" * 40,
    execution_id="0c6ab1a2-0000-4000-8000-000000000001",
    stages=STAGES_DONE,
    amis=(Ami("eu-west-1", "ami-0123456789abcdef0", "123456789012"),),
    variables={"instance_type": "t3.small"},
    source_ami="ami-0fedcba9876543210",
)


def test_a_succeeded_bake_matches_its_golden_message():
    text, blocks = bake_message(SUCCEEDED, region="eu-west-1", own_account="123456789012")
    golden = json.loads((GOLDEN / "bake_succeeded.json").read_text())
    assert {"text": text, "blocks": blocks} == golden


def test_a_just_requested_bake_shows_who_what_and_why_but_no_stages_yet():
    bake = replace(SUCCEEDED, status="requested", commit_id="", commit_url="", execution_id="", stages={}, amis=())
    text, blocks = bake_message(bake, region="eu-west-1")
    shown = json.dumps(blocks)
    assert "b-7f3k2q" in shown and "<@U012ABCDEF>" in shown and "CVE-2026-1234" in shown
    assert ":white_small_square:" not in shown and "succeeded in" not in shown and "*AMIs*" not in shown
    assert text == "Bake b-7f3k2q of web: requested"


def test_user_text_cannot_ping_the_channel():
    bake = replace(SUCCEEDED, reason="<!channel> please")
    assert "<!channel>" not in json.dumps(bake_message(bake, region="eu-west-1")[1])


def test_a_running_stage_shows_since_when_not_a_ticking_duration():
    # A ticking duration would change the message every second and cost an edit each time.
    line = stage_line("Bake", StepState("STARTED", "2026-11-26T09:00:00Z", "2026-11-26T09:00:00Z"))
    assert "running since" in line and "<!date^" in line


def test_durations_read_naturally():
    assert duration("2026-11-26T09:00:00Z", "2026-11-26T09:00:42Z") == "42s"
    assert duration("2026-11-26T09:00:00Z", "2026-11-26T09:08:07Z") == "8m 07s"
    assert duration("2026-11-26T09:00:00Z", "2026-11-26T11:05:00Z") == "2h 05m"
    assert duration("", "2026-11-26T09:00:00Z") == ""
