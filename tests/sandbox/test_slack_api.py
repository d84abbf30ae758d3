"""The Slack Web API stand-in answers the way Slack does, keeps the channel, and records every call."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.sandbox.slack.api import SlackApiStandIn
from bot.sandbox.slack.refusals import SlackRefusal
from tests.fixtures.slack import CHANNEL, PLATFORM_GROUP, PLATFORM_MEMBERS

SECTION = {"type": "section", "text": {"type": "mrkdwn", "text": "*base* is baking"}}


def raw_call(
    stand_in: SlackApiStandIn,
    method: str,
    body: bytes = b"",
    *,
    content_type: str = "",
    token: str | None = None,
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """One request on the wire, without slack_sdk: (status, headers, JSON body)."""
    headers = {"Content-Type": content_type} if content_type else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    url = stand_in.base_url + method
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310 - loopback stand-in
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


def form(**fields: Any) -> bytes:
    return urllib.parse.urlencode(fields).encode()


def slack_error(call: Any, **kwargs: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        call(**kwargs)
    return str(caught.value.response["error"])


# -- identity and tokens -------------------------------------------------------------------------


def test_base_url_is_a_slack_style_api_root_on_loopback(slack_api: SlackApiStandIn) -> None:
    assert slack_api.base_url.startswith("http://127.0.0.1:")
    assert slack_api.base_url.endswith("/api/")


def test_auth_test_answers_the_bot_identity(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    answer = slack_client.auth_test()

    assert (answer["user_id"], answer["bot_id"], answer["team_id"]) == (
        "U0BAKERYBOT",
        "B0BAKERYBOT",
        "T0BAKERY",
    )


def test_bolt_app_constructs_against_the_stand_in(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    App(signing_secret="sandbox-secret", client=slack_client)

    assert [c.method for c in slack_api.calls()] == ["auth.test"]
    assert slack_api.calls()[0].error is None


def test_a_call_without_a_token_is_not_authed(slack_api: SlackApiStandIn) -> None:
    _, _, body = raw_call(slack_api, "auth.test")

    assert body == {"ok": False, "error": "not_authed"}


def test_a_wrong_token_is_invalid_auth(slack_api: SlackApiStandIn) -> None:
    client = WebClient(token="xoxb-wrong", base_url=slack_api.base_url)

    assert slack_error(client.chat_postMessage, channel=CHANNEL, text="hi") == "invalid_auth"
    assert slack_api.messages() == []


def test_a_token_in_the_form_body_is_accepted(slack_api: SlackApiStandIn) -> None:
    body = form(token=slack_api.token, channel=CHANNEL, text="hi", blocks=json.dumps([SECTION]))

    _, _, answer = raw_call(slack_api, "chat.postMessage", body, content_type="application/x-www-form-urlencoded")

    assert answer["ok"] is True
    assert slack_api.messages()[0]["blocks"] == [SECTION]


def test_a_token_inside_a_json_body_is_not_read(slack_api: SlackApiStandIn) -> None:
    body = json.dumps({"token": slack_api.token, "channel": CHANNEL, "text": "hi"}).encode()

    _, _, answer = raw_call(slack_api, "chat.postMessage", body, content_type="application/json")

    assert answer["error"] == "not_authed"


def test_the_token_is_never_recorded(slack_api: SlackApiStandIn) -> None:
    raw_call(slack_api, "auth.test", form(token=slack_api.token), content_type="application/x-www-form-urlencoded")

    assert "token" not in slack_api.calls()[0].args


def test_apps_connections_open_needs_the_app_token(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    assert slack_error(slack_client.apps_connections_open, app_token=slack_api.token) == "not_allowed_token_type"

    answer = slack_client.apps_connections_open(app_token=slack_api.app_token)

    assert answer["url"].startswith("ws://127.0.0.1:")


def test_an_unknown_method_is_refused(slack_client: WebClient) -> None:
    assert slack_error(slack_client.api_call, api_method="chat.teleport") == "unknown_method"


# -- messages ------------------------------------------------------------------------------------


def test_message_ts_are_unique_and_increasing_even_within_one_microsecond() -> None:
    with SlackApiStandIn(clock=lambda: 1_790_000_000.0) as stand_in:
        client = WebClient(token=stand_in.token, base_url=stand_in.base_url)
        stamps = [client.chat_postMessage(channel=CHANNEL, text=f"m{i}")["ts"] for i in range(3)]

    assert stamps == ["1790000000.000000", "1790000000.000001", "1790000000.000002"]


def test_a_post_answers_its_channel_ts_and_message(slack_client: WebClient) -> None:
    answer = slack_client.chat_postMessage(channel=CHANNEL, text="baking", blocks=[SECTION])

    assert answer["channel"] == CHANNEL
    assert answer["message"]["ts"] == answer["ts"]
    assert answer["message"]["blocks"] == [SECTION]


def test_messages_have_the_shape_of_the_sandbox_api(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    ts = slack_client.chat_postMessage(channel=CHANNEL, text="baking", blocks=[SECTION])["ts"]

    assert slack_api.messages() == [
        {
            "ts": ts,
            "thread_ts": None,
            "channel": CHANNEL,
            "text": "baking",
            "blocks": [SECTION],
            "ephemeral_to": None,
            "user": "U0BAKERYBOT",
        }
    ]


def test_a_persons_message_is_kept_with_its_author_in_its_thread(slack_client: WebClient, slack_api: SlackApiStandIn):
    parent = slack_client.chat_postMessage(channel=CHANNEL, text="bake")["ts"]
    ts = slack_api.add_user_message(CHANNEL, "U0CAROL", "bake base", thread_ts=parent)
    [typed] = [m for m in slack_api.messages() if m["ts"] == ts]
    assert typed["user"] == "U0CAROL" and typed["text"] == "bake base" and typed["thread_ts"] == parent
    for channel, user, text in [("C0NOWHERE", "U0CAROL", "x"), (CHANNEL, "U0BAKERYBOT", "x"), (CHANNEL, "U0CAROL", "")]:
        with pytest.raises(SlackRefusal):
            slack_api.add_user_message(channel, user, text)


def test_a_reply_to_a_reply_is_filed_under_the_thread_parent(
    slack_client: WebClient, slack_api: SlackApiStandIn
) -> None:
    parent = slack_client.chat_postMessage(channel=CHANNEL, text="bake")["ts"]
    reply = slack_client.chat_postMessage(channel=CHANNEL, text="stage 1", thread_ts=parent)["ts"]

    slack_client.chat_postMessage(channel=CHANNEL, text="stage 2", thread_ts=reply)

    assert [m["thread_ts"] for m in slack_api.messages()] == [None, parent, parent]


def test_a_reply_to_no_message_is_refused(slack_client: WebClient) -> None:
    error = slack_error(slack_client.chat_postMessage, channel=CHANNEL, text="x", thread_ts="1790000000.000000")

    assert error == "thread_not_found"


def test_a_malformed_thread_ts_is_refused(slack_client: WebClient) -> None:
    assert slack_error(slack_client.chat_postMessage, channel=CHANNEL, text="x", thread_ts="0") == "invalid_thread_ts"


def test_an_unknown_channel_is_refused(slack_client: WebClient) -> None:
    assert slack_error(slack_client.chat_postMessage, channel="C0NOWHERE", text="hi") == "channel_not_found"


def test_a_post_without_text_or_blocks_is_refused(slack_api: SlackApiStandIn) -> None:
    body = json.dumps({"channel": CHANNEL}).encode()

    _, _, answer = raw_call(slack_api, "chat.postMessage", body, content_type="application/json", token=slack_api.token)

    assert answer["error"] == "no_text"


def test_an_update_edits_the_message_in_place(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    ts = slack_client.chat_postMessage(channel=CHANNEL, text="queued", blocks=[SECTION])["ts"]
    done = {"type": "section", "text": {"type": "mrkdwn", "text": "*base* baked"}}

    slack_client.chat_update(channel=CHANNEL, ts=ts, text="baked", blocks=[done])

    assert [(m["ts"], m["text"], m["blocks"]) for m in slack_api.messages()] == [(ts, "baked", [done])]


def test_an_update_that_leaves_out_blocks_keeps_them(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    ts = slack_client.chat_postMessage(channel=CHANNEL, text="queued", blocks=[SECTION])["ts"]

    slack_client.chat_update(channel=CHANNEL, ts=ts, text="baked")

    assert slack_api.messages()[0]["blocks"] == [SECTION]


def test_an_update_with_empty_blocks_clears_them(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    ts = slack_client.chat_postMessage(channel=CHANNEL, text="queued", blocks=[SECTION])["ts"]

    slack_client.chat_update(channel=CHANNEL, ts=ts, text="baked", blocks=[])

    assert slack_api.messages()[0]["blocks"] == []


def test_an_update_of_an_unknown_message_is_refused(slack_client: WebClient) -> None:
    error = slack_error(slack_client.chat_update, channel=CHANNEL, ts="1790000000.000000", text="x")

    assert error == "message_not_found"


def test_an_ephemeral_message_is_kept_with_its_recipient(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    answer = slack_client.chat_postEphemeral(channel=CHANNEL, user="U0ALICE", text="only you")

    assert slack_api.messages() == [
        {
            "ts": answer["message_ts"],
            "thread_ts": None,
            "channel": CHANNEL,
            "text": "only you",
            "blocks": [],
            "ephemeral_to": "U0ALICE",
            "user": "U0BAKERYBOT",
        }
    ]


def test_an_ephemeral_message_cannot_be_updated(slack_client: WebClient) -> None:
    ts = slack_client.chat_postEphemeral(channel=CHANNEL, user="U0ALICE", text="only you")["message_ts"]

    assert slack_error(slack_client.chat_update, channel=CHANNEL, ts=ts, text="x") == "message_not_found"


def test_an_ephemeral_message_to_an_unknown_user_is_refused() -> None:
    with SlackApiStandIn(users={"U0ALICE": "alice"}) as stand_in:
        client = WebClient(token=stand_in.token, base_url=stand_in.base_url)
        error = slack_error(client.chat_postEphemeral, channel=CHANNEL, user="U0MALLORY", text="hi")

    assert error == "user_not_found"


def test_a_permalink_names_the_channel_and_ts(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    ts = slack_client.chat_postMessage(channel=CHANNEL, text="bake")["ts"]

    link = slack_client.chat_getPermalink(channel=CHANNEL, message_ts=ts)["permalink"]

    assert link == f"{slack_api.root_url}archives/{CHANNEL}/p{ts.replace('.', '')}"


# -- people and channels -------------------------------------------------------------------------


def test_usergroup_members_come_from_the_mapping(slack_client: WebClient) -> None:
    assert slack_client.usergroups_users_list(usergroup=PLATFORM_GROUP)["users"] == list(PLATFORM_MEMBERS)


def test_an_unknown_usergroup_is_no_such_subteam(slack_client: WebClient) -> None:
    assert slack_error(slack_client.usergroups_users_list, usergroup="S0NOBODY") == "no_such_subteam"


def test_usergroup_membership_can_change_while_running(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    slack_api.set_usergroup(PLATFORM_GROUP, ["U0CAROL"])

    assert slack_client.usergroups_users_list(usergroup=PLATFORM_GROUP)["users"] == ["U0CAROL"]


def test_users_info_names_a_configured_user() -> None:
    with SlackApiStandIn(users={"U0ALICE": "alice"}) as stand_in:
        client = WebClient(token=stand_in.token, base_url=stand_in.base_url)
        user = client.users_info(user="U0ALICE")["user"]

    assert (user["id"], user["name"], user["is_bot"]) == ("U0ALICE", "alice", False)


def test_conversations_info_knows_the_configured_channel(slack_client: WebClient) -> None:
    assert slack_client.conversations_info(channel=CHANNEL)["channel"]["id"] == CHANNEL
    assert slack_error(slack_client.conversations_info, channel="C0NOWHERE") == "channel_not_found"


# -- views ---------------------------------------------------------------------------------------

MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "Bake"}, "blocks": [SECTION]}


def test_views_open_records_the_view_and_returns_its_id(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    view_id = slack_client.views_open(trigger_id="t-1", view=MODAL)["view"]["id"]

    assert slack_api.views() == [{"id": view_id, "trigger_id": "t-1", "view": MODAL}]


def test_views_update_replaces_the_recorded_view(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    view_id = slack_client.views_open(trigger_id="t-1", view=MODAL)["view"]["id"]
    changed = {**MODAL, "title": {"type": "plain_text", "text": "Baking"}}

    slack_client.views_update(view_id=view_id, view=changed)

    assert slack_api.views()[0]["view"] == changed


def test_views_push_stacks_on_the_open_view(slack_client: WebClient) -> None:
    first = slack_client.views_open(trigger_id="t-1", view=MODAL)["view"]["id"]

    pushed = slack_client.views_push(trigger_id="t-2", view=MODAL)["view"]

    assert (pushed["previous_view_id"], pushed["root_view_id"]) == (first, first)


def test_a_modal_title_over_24_characters_is_refused(slack_client: WebClient) -> None:
    view = {**MODAL, "title": {"type": "plain_text", "text": "x" * 25}}

    assert slack_error(slack_client.views_open, trigger_id="t-1", view=view) == "invalid_arguments"


# -- Block Kit limits ----------------------------------------------------------------------------


def button(**overrides: Any) -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": "Approve"},
        "action_id": "bake_approve",
        "value": "k1",
        **overrides,
    }


def actions(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "actions", "elements": list(elements)}


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


@pytest.mark.parametrize(
    "blocks",
    [
        [section("x" * 3000)],
        [SECTION] * 50,
        [actions(button(value="v" * 2000, action_id="a" * 255))],
        [{"type": "header", "text": {"type": "plain_text", "text": "h" * 150}}, {"type": "divider"}],
    ],
    ids=["section-text-3000", "50-blocks", "button-value-2000-action-id-255", "header-150"],
)
def test_blocks_at_slacks_limits_are_accepted(slack_client: WebClient, blocks: list[dict[str, Any]]) -> None:
    assert slack_client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks)["ok"] is True


@pytest.mark.parametrize(
    "blocks, pointer",
    [
        ([section("x" * 3001)], "/blocks/0/text/text"),
        ([SECTION] * 51, "/blocks"),
        ([{"text": {"type": "mrkdwn", "text": "no type"}}], "/blocks/0"),
        ([SECTION, actions(button(value="v" * 2001))], "/blocks/1/elements/0/value"),
        ([actions(button(action_id="a" * 256))], "/blocks/0/elements/0/action_id"),
        ([{"type": "sektion", "text": {"type": "mrkdwn", "text": "typo"}}], "/blocks/0/type"),
    ],
    ids=["section-text-3001", "51-blocks", "no-type", "button-value-2001", "action-id-256", "unknown-type"],
)
def test_blocks_slack_would_refuse_are_invalid_blocks(
    slack_client: WebClient, slack_api: SlackApiStandIn, blocks: list[dict[str, Any]], pointer: str
) -> None:
    with pytest.raises(SlackApiError) as caught:
        slack_client.chat_postMessage(channel=CHANNEL, text="t", blocks=blocks)

    assert caught.value.response["error"] == "invalid_blocks"
    assert any(f"[json-pointer:{pointer}]" in m for m in caught.value.response["response_metadata"]["messages"])
    assert slack_api.messages() == []


def test_blocks_that_are_not_a_json_array_are_invalid_blocks_format(slack_api: SlackApiStandIn) -> None:
    body = form(channel=CHANNEL, text="t", blocks="{not json")

    _, _, answer = raw_call(
        slack_api,
        "chat.postMessage",
        body,
        content_type="application/x-www-form-urlencoded",
        token=slack_api.token,
    )

    assert answer["error"] == "invalid_blocks_format"


# -- fault injection -----------------------------------------------------------------------------


def test_a_rate_limited_call_answers_429_with_retry_after(slack_api: SlackApiStandIn) -> None:
    slack_api.rate_limit("auth.test", retry_after=7)

    status, headers, body = raw_call(slack_api, "auth.test", token=slack_api.token)

    assert (status, headers["Retry-After"], body) == (429, "7", {"ok": False, "error": "ratelimited"})


def test_rate_limiting_ends_after_the_given_number_of_calls(slack_api: SlackApiStandIn) -> None:
    slack_api.rate_limit("auth.test", times=2)

    statuses = [raw_call(slack_api, "auth.test", token=slack_api.token)[0] for _ in range(3)]

    assert statuses == [429, 429, 200]


def test_an_injected_failure_answers_that_error_then_recovers(
    slack_client: WebClient, slack_api: SlackApiStandIn
) -> None:
    slack_api.fail("chat.postMessage", "channel_is_archived")

    assert slack_error(slack_client.chat_postMessage, channel=CHANNEL, text="x") == "channel_is_archived"
    assert slack_client.chat_postMessage(channel=CHANNEL, text="x")["ok"] is True


def test_a_delayed_method_answers_late_without_holding_up_other_calls(slack_api: SlackApiStandIn) -> None:
    slack_api.delay("users.info", 0.5)
    slow: list[float] = []

    def ask() -> None:
        started = time.monotonic()
        raw_call(slack_api, "users.info", form(user="U0ALICE"), token=slack_api.token)
        slow.append(time.monotonic() - started)

    asker = threading.Thread(target=ask)
    asker.start()
    started = time.monotonic()
    status, _, _ = raw_call(slack_api, "auth.test", token=slack_api.token)
    quick = time.monotonic() - started
    asker.join()

    assert status == 200 and quick < 0.4 and slow[0] >= 0.5


def test_a_delay_for_some_calls_ends_after_them(slack_api: SlackApiStandIn) -> None:
    slack_api.delay("auth.test", 0.3, times=1)
    took = []
    for _ in range(2):
        started = time.monotonic()
        raw_call(slack_api, "auth.test", token=slack_api.token)
        took.append(time.monotonic() - started)

    assert took[0] >= 0.3 and took[1] < 0.3


def post_json(url: str, body: Any) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - loopback stand-in
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:  # noqa: S310 - loopback stand-in
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_a_post_to_a_response_url_shows_its_message_to_the_one_who_asked(slack_api: SlackApiStandIn) -> None:
    url = slack_api.response_url(CHANNEL, "U0ALICE")

    status, answer = post_json(url, {"text": "the answer", "response_type": "ephemeral"})

    assert (status, answer) == (200, {"ok": True})
    [shown] = slack_api.messages()
    assert (shown["text"], shown["ephemeral_to"], shown["channel"]) == ("the answer", "U0ALICE", CHANNEL)
    [call] = slack_api.calls("response_url")
    assert call.args == {"response_url": url, "text": "the answer", "response_type": "ephemeral"}


def test_a_response_url_slack_never_issued_is_refused(slack_api: SlackApiStandIn) -> None:
    status, answer = post_json(slack_api.root_url + "responses/forged", {"text": "x"})

    assert (status, answer["error"]) == (404, "expired_url") and slack_api.messages() == []


# -- the record ----------------------------------------------------------------------------------


def test_calls_are_recorded_in_order_with_their_arguments(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    slack_client.chat_postMessage(channel=CHANNEL, text="one")
    slack_client.usergroups_users_list(usergroup=PLATFORM_GROUP)

    assert [(c.method, c.args.get("text") or c.args.get("usergroup")) for c in slack_api.calls()] == [
        ("chat.postMessage", "one"),
        ("usergroups.users.list", PLATFORM_GROUP),
    ]
    assert [c.method for c in slack_api.calls("usergroups.users.list")] == ["usergroups.users.list"]


def test_wait_for_returns_once_another_thread_has_called(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    poster = threading.Timer(0.05, lambda: slack_client.chat_postMessage(channel=CHANNEL, text="later"))
    poster.start()

    found = slack_api.wait_for(lambda: slack_api.messages(), timeout=5)

    poster.join()
    assert found[0]["text"] == "later"


def test_wait_for_times_out_naming_the_calls_seen(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    slack_client.auth_test()

    with pytest.raises(TimeoutError, match="auth.test:ok"):
        slack_api.wait_for(lambda: slack_api.messages(), timeout=0.05)


def test_reset_forgets_calls_messages_and_faults(slack_client: WebClient, slack_api: SlackApiStandIn) -> None:
    slack_client.chat_postMessage(channel=CHANNEL, text="old")
    slack_api.fail("chat.postMessage", "fatal_error")

    slack_api.reset()

    assert (slack_api.calls(), slack_api.messages()) == ([], [])
    assert slack_client.chat_postMessage(channel=CHANNEL, text="new")["ok"] is True
