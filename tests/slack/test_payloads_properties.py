"""Slack payloads at scale (hypothesis): any body parses or is one BadRequest; what parses is well-formed."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from bot.domain.errors import BadRequest
from bot.slack.payloads import ButtonClick, SlashInvocation, ViewSubmission
from tests.fixtures.bakery import block_actions, slash_form

# What the bot's records promise past the edge: whole-string ids, no trailing newline smuggled past `$`.
USER = re.compile(r"\A[UW][A-Z0-9]{2,}\Z")
CHANNEL = re.compile(r"\A[CGD][A-Z0-9]{2,}\Z")
KEY = re.compile(r"\A[a-z0-9-]{3,40}\Z")

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)
user_ids = st.from_regex(USER, fullmatch=True)
channel_ids = st.from_regex(CHANNEL, fullmatch=True)
keys = st.from_regex(KEY, fullmatch=True)


def nearly(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Mostly the right thing, sometimes anything at all, or the right thing with a newline after it."""
    return valid | json_values | valid.map(lambda v: f"{v}\n" if isinstance(v, str) else v)


def objects(**fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts where each field may be missing, well-formed, or anything."""
    return st.fixed_dictionaries({}, optional={name: nearly(s) for name, s in fields.items()})


slash_bodies = objects(user_id=user_ids, channel_id=channel_ids, text=st.text(max_size=40), trigger_id=st.text())
click_bodies = objects(
    user=objects(id=user_ids),
    actions=st.lists(objects(action_id=st.text(max_size=20), value=keys), max_size=2),
    channel=objects(id=channel_ids),
    container=objects(channel_id=channel_ids, message_ts=st.text(max_size=20)),
    message=objects(ts=st.text(max_size=20)),
    trigger_id=st.text(max_size=20),
)
view_bodies = objects(
    user=objects(id=user_ids),
    view=objects(
        private_metadata=keys,
        callback_id=st.text(max_size=20),
        state=objects(values=st.dictionaries(st.text(max_size=8), st.dictionaries(st.text(max_size=8), json_values))),
    ),
)


@given(slash_bodies | json_values.filter(lambda v: isinstance(v, dict)))
@example({"user_id": "U0CAROL\n", "channel_id": "C0BAKERY", "text": "base"})
def test_any_slash_command_body_is_read_or_refused_and_what_is_read_is_well_formed(body):
    try:
        invocation = SlashInvocation.from_payload(body)
    except BadRequest:
        return
    assert USER.match(invocation.user) and CHANNEL.match(invocation.channel)
    assert isinstance(invocation.text, str) and isinstance(invocation.trigger_id, str)


@given(click_bodies)
@example({"user": {"id": "U0CAROL"}, "actions": [{"value": "ap-1"}], "channel": {"id": "C0BAKERY"}, "message": "x"})
def test_any_click_body_is_read_or_refused_and_what_is_read_is_well_formed(body):
    try:
        click = ButtonClick.from_payload(body)
    except BadRequest:
        return
    assert USER.match(click.user) and CHANNEL.match(click.channel) and KEY.match(click.value)
    assert all(isinstance(v, str) for v in (click.action_id, click.message_ts, click.trigger_id))


@given(click_bodies)
def test_who_clicked_and_where_is_known_only_when_both_are_well_formed(body):
    found = ButtonClick.who_and_where(body)
    assert found is None or (USER.match(found[0]) and CHANNEL.match(found[1]))


@given(view_bodies)
@example({"user": {"id": "U0CAROL"}, "view": {"private_metadata": "ap-1", "state": ["x"]}})
@example({"user": {"id": "U0CAROL"}, "view": {"private_metadata": "ap-1\n"}})
def test_any_form_submission_is_read_or_refused_and_what_is_read_is_well_formed(body):
    try:
        submission = ViewSubmission.from_payload(body)
    except BadRequest:
        return
    assert USER.match(submission.user) and KEY.match(submission.key) and isinstance(submission.callback_id, str)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in submission.values.items())


@given(user_ids, channel_ids, st.text(max_size=200))
def test_a_slash_command_as_slack_sends_it_is_read_as_sent(user, channel, text):
    invocation = SlashInvocation.from_payload(slash_form(user, text, channel=channel))
    assert (invocation.user, invocation.channel, invocation.text) == (user, channel, text)
    assert invocation.trigger_id


@given(user_ids, channel_ids, keys, st.sampled_from(["bake_approve", "bake_reject", "rollout_start"]), st.text())
def test_a_click_as_slack_sends_it_is_read_as_sent(user, channel, key, action_id, ts):
    message = {"ts": ts, "channel": channel, "blocks": []}
    body = block_actions(user, message, {"block_id": "b"}, {"action_id": action_id, "value": key})
    click = ButtonClick.from_payload(body)
    assert (click.user, click.channel, click.value, click.action_id) == (user, channel, key, action_id)
    assert click.message_ts == ts and click.trigger_id == body["trigger_id"]


@given(user_ids, keys, st.dictionaries(st.from_regex(r"\A[a-z_]{1,10}\Z"), st.text(max_size=50), max_size=3))
def test_a_form_as_slack_sends_it_is_read_as_sent(user, key, inputs):
    state = {block: {"input": {"type": "plain_text_input", "value": value}} for block, value in inputs.items()}
    body = {
        "type": "view_submission",
        "user": {"id": user},
        "view": {"callback_id": "reject_reason", "private_metadata": key, "state": {"values": state}},
    }
    submission = ViewSubmission.from_payload(body)
    assert (submission.user, submission.key, submission.callback_id) == (user, key, "reject_reason")
    assert submission.values == {f"{block}.input": value for block, value in inputs.items()}
