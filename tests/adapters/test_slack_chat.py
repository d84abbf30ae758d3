"""SlackChat posts, edits and asks Slack the way the bot needs, and turns Slack's refusals into ChatError."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    builtin_handlers,
    handler,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from bot.adapters.slack_chat import SlackChat, make_web_client
from bot.domain.errors import ChatError
from bot.domain.fencing import Fence, FenceLost, guarded
from bot.sandbox.slack.api import SlackApiStandIn
from tests.fixtures.slack import CHANNEL, PLATFORM_GROUP, PLATFORM_MEMBERS

BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "*base* is baking"}}]


@pytest.fixture
def chat(slack_client: WebClient) -> SlackChat:
    return SlackChat(slack_client)


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """slack_sdk's retry pauses, recorded instead of slept, so retry tests take milliseconds."""
    pauses: list[float] = []
    fake_time = SimpleNamespace(sleep=pauses.append)
    monkeypatch.setattr(builtin_handlers, "time", fake_time)  # RateLimitErrorRetryHandler
    monkeypatch.setattr(handler, "time", fake_time)  # ConnectionErrorRetryHandler (backoff)
    return pauses


def test_the_client_defaults_to_slack_and_retries_rate_limits_dropped_connections_and_server_errors() -> None:
    client = make_web_client("xoxb-test", None)

    assert client.base_url == "https://slack.com/api/"
    assert {type(h._inner) for h in client.retry_handlers} == {
        RateLimitErrorRetryHandler,
        ConnectionErrorRetryHandler,
        ServerErrorRetryHandler,
    }


def test_post_returns_the_ts_of_the_message_in_the_channel(
    chat: SlackChat, slack_api: SlackApiStandIn
) -> None:
    ts = chat.post(channel=CHANNEL, text="base is baking", blocks=BLOCKS)

    assert [(m["ts"], m["text"], m["blocks"], m["thread_ts"]) for m in slack_api.messages()] == [
        (ts, "base is baking", BLOCKS, None)
    ]


def test_post_with_thread_ts_replies_in_that_thread(chat: SlackChat, slack_api: SlackApiStandIn) -> None:
    parent = chat.post(channel=CHANNEL, text="bake", blocks=BLOCKS)

    reply = chat.post(channel=CHANNEL, text="Bake stage failed", blocks=[], thread_ts=parent)

    assert {m["ts"]: m["thread_ts"] for m in slack_api.messages()} == {parent: None, reply: parent}


def test_update_edits_the_message_in_place(chat: SlackChat, slack_api: SlackApiStandIn) -> None:
    ts = chat.post(channel=CHANNEL, text="queued", blocks=BLOCKS)
    baked = [{"type": "section", "text": {"type": "mrkdwn", "text": "*base* baked"}}]

    chat.update(channel=CHANNEL, ts=ts, text="baked", blocks=baked)

    assert [(m["ts"], m["text"], m["blocks"]) for m in slack_api.messages()] == [(ts, "baked", baked)]


def test_update_with_no_blocks_clears_the_old_ones(chat: SlackChat, slack_api: SlackApiStandIn) -> None:
    ts = chat.post(channel=CHANNEL, text="queued", blocks=BLOCKS)

    chat.update(channel=CHANNEL, ts=ts, text="plain now", blocks=[])

    assert slack_api.messages()[0]["blocks"] == []


def test_updating_a_vanished_message_is_a_chat_error(chat: SlackChat) -> None:
    with pytest.raises(ChatError, match="message_not_found"):
        chat.update(channel=CHANNEL, ts="1790000000.000000", text="x", blocks=BLOCKS)


def test_post_ephemeral_is_seen_by_one_user_only(chat: SlackChat, slack_api: SlackApiStandIn) -> None:
    chat.post_ephemeral(channel=CHANNEL, user="U0ALICE", text="usage: /bake <image>")

    assert [(m["text"], m["ephemeral_to"]) for m in slack_api.messages()] == [
        ("usage: /bake <image>", "U0ALICE")
    ]


def test_group_members_are_the_user_group_s_users(chat: SlackChat) -> None:
    assert chat.group_members(PLATFORM_GROUP) == frozenset(PLATFORM_MEMBERS)


def test_group_members_leaves_out_disabled_groups(chat: SlackChat, slack_api: SlackApiStandIn) -> None:
    chat.group_members(PLATFORM_GROUP)

    assert slack_api.calls("usergroups.users.list")[0].args["include_disabled"] == "0"


def test_an_unknown_group_is_a_chat_error_naming_slacks_code(chat: SlackChat) -> None:
    with pytest.raises(ChatError, match="usergroups.users.list failed: no_such_subteam"):
        chat.group_members("S0NOBODY")


def test_a_wrong_token_is_a_chat_error_invalid_auth(slack_api: SlackApiStandIn) -> None:
    chat = SlackChat(make_web_client("xoxb-revoked", slack_api.base_url))

    with pytest.raises(ChatError, match="invalid_auth"):
        chat.post(channel=CHANNEL, text="hi", blocks=BLOCKS)


def test_blocks_slack_would_refuse_are_a_chat_error(chat: SlackChat, slack_api: SlackApiStandIn) -> None:
    too_long = [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}]

    with pytest.raises(ChatError, match="invalid_blocks"):
        chat.post(channel=CHANNEL, text="log", blocks=too_long)
    assert slack_api.messages() == []


def test_a_rate_limited_post_waits_retry_after_and_succeeds(
    chat: SlackChat, slack_api: SlackApiStandIn, slept: list[float]
) -> None:
    slack_api.rate_limit("chat.postMessage", times=1, retry_after=1)

    ts = chat.post(channel=CHANNEL, text="baking", blocks=BLOCKS)

    assert [c.status for c in slack_api.calls("chat.postMessage")] == [429, 200]
    assert len(slept) == 1 and 1 <= slept[0] < 2
    assert [m["ts"] for m in slack_api.messages()] == [ts]


@pytest.mark.parametrize("fault", ["rate_limit", "server_error"])
def test_a_leader_that_lost_its_lease_while_waiting_to_resend_sends_nothing(
    chat: SlackChat, slack_api: SlackApiStandIn, slept: list[float], fault: str
) -> None:
    """A publisher paused during a 429's Retry-After wakes without its lease: the resend is not made."""
    ts = chat.post(channel=CHANNEL, text="running", blocks=BLOCKS)
    if fault == "rate_limit":
        slack_api.rate_limit("chat.update", times=1, retry_after=1)
    else:
        slack_api.server_error("chat.update", times=1)
    lost = Fence("publisher", "host-a:1:aa", 3)

    def guard() -> None:
        if slept:  # the wait happened: by now another replica leads
            raise FenceLost(lost)

    with guarded(guard), pytest.raises(FenceLost):
        chat.update(channel=CHANNEL, ts=ts, text="old render", blocks=BLOCKS)
    assert len(slack_api.calls("chat.update")) == 1  # the first try only, refused; no resend
    assert slack_api.messages()[0]["text"] == "running"
    chat.update(channel=CHANNEL, ts=ts, text="new", blocks=BLOCKS)  # unguarded (a lone bot): retried as before
    assert slack_api.messages()[0]["text"] == "new"


def test_a_rate_limit_outlasting_the_retries_is_a_chat_error(
    chat: SlackChat, slack_api: SlackApiStandIn, slept: list[float]
) -> None:
    slack_api.rate_limit("chat.postMessage", times=10)

    with pytest.raises(ChatError, match="ratelimited"):
        chat.post(channel=CHANNEL, text="baking", blocks=BLOCKS)
    assert len(slack_api.calls("chat.postMessage")) == 4  # the call and three retries


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_is_retried_and_the_post_made_once(
    chat: SlackChat, slack_api: SlackApiStandIn, slept: list[float], status: int
) -> None:
    slack_api.server_error("chat.postMessage", times=2, status=status)

    ts = chat.post(channel=CHANNEL, text="baking", blocks=BLOCKS)

    assert [c.status for c in slack_api.calls("chat.postMessage")] == [status, status, 200]
    assert len(slept) == 2
    assert [m["ts"] for m in slack_api.messages()] == [ts]


def test_server_errors_outlasting_the_retries_are_a_chat_error(
    chat: SlackChat, slack_api: SlackApiStandIn, slept: list[float]
) -> None:
    slack_api.server_error("chat.update", times=10)
    ts = chat.post(channel=CHANNEL, text="queued", blocks=BLOCKS)

    with pytest.raises(ChatError, match="chat.update"):
        chat.update(channel=CHANNEL, ts=ts, text="baked", blocks=BLOCKS)
    assert len(slack_api.calls("chat.update")) == 3  # the call and two retries


def test_an_unreachable_slack_is_a_chat_error(slack_api: SlackApiStandIn, slept: list[float]) -> None:
    chat = SlackChat(make_web_client(slack_api.token, slack_api.base_url))
    slack_api.stop()

    with pytest.raises(ChatError, match="chat.postMessage failed"):
        chat.post(channel=CHANNEL, text="hi", blocks=BLOCKS)


def test_the_token_appears_in_no_log_and_no_error(
    chat: SlackChat, slack_api: SlackApiStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    chat.post(channel=CHANNEL, text="hi", blocks=BLOCKS)
    with pytest.raises(ChatError) as caught:
        chat.group_members("S0NOBODY")

    assert slack_api.token not in caplog.text
    assert slack_api.token not in str(caught.value)


def test_open_view_returns_the_id_of_the_opened_modal(chat: SlackChat, slack_api: SlackApiStandIn) -> None:
    view: dict[str, Any] = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Bake"},
        "blocks": BLOCKS,
    }

    view_id = chat.open_view("trigger-1", view)

    assert slack_api.views() == [{"id": view_id, "trigger_id": "trigger-1", "view": view}]


def test_update_view_replaces_the_open_modal(chat: SlackChat, slack_api: SlackApiStandIn) -> None:
    view: dict[str, Any] = {"type": "modal", "title": {"type": "plain_text", "text": "Bake"}, "blocks": BLOCKS}
    view_id = chat.open_view("trigger-1", view)
    changed = {**view, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "no"}}]}

    chat.update_view(view_id, changed)

    assert slack_api.views()[0]["view"] == changed


def test_respond_answers_privately_through_the_response_url(chat: SlackChat, slack_api: SlackApiStandIn) -> None:
    url = slack_api.response_url(CHANNEL, "U0ALICE")

    chat.respond(url, text="Rollout started", blocks=BLOCKS)

    [call] = slack_api.calls("response_url")
    assert call.args == {"response_url": url, "text": "Rollout started", "blocks": BLOCKS, "response_type": "ephemeral"}
    assert slack_api.messages()[0]["ephemeral_to"] == "U0ALICE"


def test_a_refused_response_url_is_a_chat_error_without_the_url(chat: SlackChat, slack_api: SlackApiStandIn) -> None:
    url = slack_api.root_url + "responses/expired-key"

    with pytest.raises(ChatError) as caught:
        chat.respond(url, text="late")

    assert "HTTP 404" in str(caught.value) and "expired-key" not in str(caught.value)


def test_the_workspace_url_is_auth_tests_asked_once(chat: SlackChat, slack_api: SlackApiStandIn) -> None:
    assert chat.workspace_url() == slack_api.root_url
    assert chat.workspace_url() == slack_api.root_url
    assert len(slack_api.calls("auth.test")) == 1  # one call for every message link after it


def test_an_unknown_workspace_url_is_empty_and_asked_again(slack_api: SlackApiStandIn, slept: list[float]) -> None:
    chat = SlackChat(make_web_client("xoxb-revoked", slack_api.base_url))

    assert chat.workspace_url() == "" and chat.workspace_url() == ""
    assert len(slack_api.calls("auth.test")) == 2
