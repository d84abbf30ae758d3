"""How a bake moves on pipeline events: duplicates and reordering change nothing they should not."""

from __future__ import annotations

import itertools
from dataclasses import replace

from bot.bakes.progress import advance, apply_result
from bot.bakes.record import Bake
from bot.domain.models import Ami, BakeResult, NoticeKind, PipelineEvent
from bot.slack.notices import notice_text

EXEC = "0c6ab1a2-0000-4000-8000-000000000001"


def bake(**kw) -> Bake:
    base = dict(
        request_id="b-abc234",
        image="web",
        requested_by="U0CAROL",
        requested_at="2026-11-26T09:00:00Z",
        reason="r",
        channel="C0BAKERY",
        pipeline="ami-bakery-web",
        status="committed",
        commit_id="f" * 40,
    )
    return Bake(**{**base, **kw})


def ev(level, state, t, stage="", action="", **kw) -> PipelineEvent:
    return PipelineEvent(
        level=level,
        pipeline="ami-bakery-web",
        execution_id=kw.pop("execution_id", EXEC),
        state=state,
        time=f"2026-11-26T09:{t}Z",
        stage=stage,
        action=action,
        **kw,
    )


def run(b: Bake, events) -> Bake:
    for e in events:
        b = advance(b, e) or b
    return b


HAPPY = [
    ev("pipeline", "STARTED", "00:01"),
    ev("stage", "STARTED", "00:01", "Source"),
    ev("stage", "SUCCEEDED", "00:05", "Source"),
    ev("stage", "STARTED", "00:05", "Bake"),
    ev("action", "STARTED", "00:06", "Bake", "Packer"),
    ev("action", "SUCCEEDED", "08:06", "Bake", "Packer"),
    ev("stage", "SUCCEEDED", "08:07", "Bake"),
    ev("pipeline", "SUCCEEDED", "09:00"),
]


def test_the_happy_path_ends_succeeded_with_stage_durations():
    b = run(bake(), HAPPY)
    assert b.status == "succeeded"
    assert b.execution_id == EXEC
    assert b.stages["Bake"].started == "2026-11-26T09:00:05Z"
    assert b.stages["Bake"].ended == "2026-11-26T09:08:07Z"


def test_a_duplicate_event_changes_nothing():
    b = run(bake(), HAPPY[:3])
    assert advance(b, HAPPY[2]) is None


def test_every_order_of_delivery_gives_the_same_bake():
    events = [HAPPY[0], HAPPY[1], HAPPY[2], HAPPY[7]]
    results = {repr(run(bake(), order)) for order in itertools.permutations(events)}
    assert len(results) == 1


def test_a_late_started_event_does_not_undo_success_but_fills_in_the_start():
    b = run(bake(), [ev("stage", "SUCCEEDED", "00:05", "Source")])
    assert b.stages["Source"].started == ""
    b = run(b, [ev("stage", "STARTED", "00:01", "Source")])
    assert b.stages["Source"].state == "SUCCEEDED"
    assert b.stages["Source"].started == "2026-11-26T09:00:01Z"


def test_a_terminal_state_wins_over_a_start_in_the_same_second():
    b = run(bake(), [ev("stage", "SUCCEEDED", "00:05", "Source"), ev("stage", "STARTED", "00:05", "Source")])
    assert b.stages["Source"].state == "SUCCEEDED"


def test_a_failed_action_owes_one_thread_reply_naming_stage_action_and_log():
    failed = ev(
        "action",
        "FAILED",
        "03:00",
        "Test",
        "BootAndCheck",
        external_url="https://console.aws.amazon.com/codebuild/log",
        summary="port 22 open",
    )
    b = run(bake(), [HAPPY[0], failed, failed, ev("pipeline", "FAILED", "03:01")])
    assert b.status == "failed"
    assert len(b.notices) == 1
    text = notice_text(b.notices[0])
    assert "*Test*" in text and "*BootAndCheck*" in text and "https://console.aws.amazon.com/codebuild/log" in text


def test_a_rejected_approval_says_rejected():
    b = run(bake(), [ev("action", "FAILED", "05:00", "Approve", "Manual", category="Approval")])
    assert "Rejected" in notice_text(b.notices[0])


def test_superseded_canceled_and_stopped_are_reported_as_such():
    for state in ("SUPERSEDED", "CANCELED", "STOPPED"):
        b = run(bake(), [HAPPY[0], ev("pipeline", state, "01:00")])
        assert b.status == state.lower()
        assert state in notice_text(b.notices[0])


def test_events_of_another_execution_are_ignored_while_following_one():
    b = run(bake(), [HAPPY[0]])
    assert advance(b, ev("stage", "FAILED", "02:00", "Bake", execution_id="other")) is None


def test_a_re_release_of_the_same_commit_is_followed_from_scratch():
    b = run(bake(), HAPPY)
    b = run(b, [ev("pipeline", "STARTED", "30:00", execution_id="second")])
    assert b.execution_id == "second" and b.status == "running" and b.stages == {}


def test_user_text_in_summaries_cannot_mention_the_channel():
    b = run(bake(), [ev("action", "FAILED", "03:00", "Test", "T", summary="<!channel> look")])
    assert "<!channel>" not in notice_text(b.notices[0])


def test_a_bake_result_records_amis_once():
    result = BakeResult(
        image="web",
        request_id="b-abc234",
        commit_id="f" * 40,
        pipeline="ami-bakery-web",
        execution_id=EXEC,
        status="succeeded",
        amis=(Ami("eu-west-1", "ami-0123456789abcdef0"),),
    )
    b = apply_result(bake(), result)
    assert b.amis == (Ami("eu-west-1", "ami-0123456789abcdef0"),)
    assert apply_result(b, result) is None


def test_a_retry_a_fraction_of_a_second_after_the_failure_is_followed():
    # As text "…09:03:00.250Z" sorts before "…09:03:00Z"; as times it is a quarter second later.
    failed = PipelineEvent(
        level="stage", pipeline="ami-bakery-web", execution_id=EXEC, state="FAILED",
        time="2026-11-26T09:03:00Z", stage="Bake",
    )  # fmt: skip
    resumed = replace(failed, state="RESUMED", time="2026-11-26T09:03:00.250Z")
    b = run(bake(), [HAPPY[0], failed, resumed])
    assert b.stages["Bake"].state == "RESUMED" and b.stages["Bake"].started == "2026-11-26T09:03:00.250Z"


def test_a_failed_action_is_recorded_as_a_fact_not_as_slack_text():
    failed = ev("action", "FAILED", "03:00", "Test", "T", summary="<!channel> look", external_url="https://x.invalid/l")
    (notice,) = run(bake(), [HAPPY[0], failed]).notices
    assert notice.kind == NoticeKind.ACTION_FAILED
    assert notice.fields == {"stage": "Test", "action": "T", "summary": "<!channel> look", "log_url": "https://x.invalid/l"}
