"""Message metadata and reading a channel back: the stand-in answers like Slack, and SlackChat finds its own post.

CONTRACT §15: the bot's messages carry their record id in Slack message metadata, and after a crash it looks
for its own message (conversations.history / conversations.replies, include_all_metadata) before posting again.
"""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.adapters import slack_chat
from bot.adapters.slack_chat import SlackChat
from bot.sandbox.slack.api import SlackApiStandIn
from tests.fixtures.slack import CHANNEL

META = {"event_type": "bakery_record", "event_payload": {"kind": "bake", "key": "b-abc234"}}


def test_metadata_is_kept_and_returned_only_when_asked_for(slack_client: WebClient, slack_api: SlackApiStandIn):
    posted = slack_client.chat_postMessage(channel=CHANNEL, text="baking", metadata=META)
    assert posted["message"]["metadata"] == META
    plain = slack_client.conversations_history(channel=CHANNEL)
    assert [m.get("metadata") for m in plain["messages"]] == [None]
    full = slack_client.conversations_history(channel=CHANNEL, include_all_metadata=True)
    assert [m["metadata"] for m in full["messages"]] == [META]
    assert slack_api.messages()[0]["metadata"] == META
    # An edit that leaves metadata out keeps it, as Slack does.
    slack_client.chat_update(channel=CHANNEL, ts=posted["ts"], text="baked")
    again = slack_client.conversations_history(channel=CHANNEL, include_all_metadata=True)
    assert again["messages"][0]["metadata"] == META and again["messages"][0]["text"] == "baked"


def test_malformed_metadata_is_refused(slack_client: WebClient):
    with pytest.raises(SlackApiError) as caught:
        slack_client.chat_postMessage(channel=CHANNEL, text="x", metadata={"event_type": "t", "event_payload": "no"})
    assert caught.value.response["error"] == "invalid_metadata_schema"


def test_history_is_newest_first_top_level_only_and_paged_by_cursor(slack_client: WebClient):
    tss = [slack_client.chat_postMessage(channel=CHANNEL, text=f"m{i}")["ts"] for i in range(5)]
    slack_client.chat_postMessage(channel=CHANNEL, text="a reply", thread_ts=tss[0])
    first = slack_client.conversations_history(channel=CHANNEL, limit=2)
    assert [m["ts"] for m in first["messages"]] == [tss[4], tss[3]] and first["has_more"] is True
    cursor = first["response_metadata"]["next_cursor"]
    second = slack_client.conversations_history(channel=CHANNEL, limit=2, cursor=cursor)
    assert [m["ts"] for m in second["messages"]] == [tss[2], tss[1]]
    since = slack_client.conversations_history(channel=CHANNEL, oldest=tss[2])
    assert [m["ts"] for m in since["messages"]] == [tss[4], tss[3]]  # oldest is exclusive ...
    inclusive = slack_client.conversations_history(channel=CHANNEL, oldest=tss[2], inclusive=True)
    assert [m["ts"] for m in inclusive["messages"]] == [tss[4], tss[3], tss[2]]  # ... unless inclusive
    assert inclusive["has_more"] is False and inclusive["response_metadata"]["next_cursor"] == ""
    with pytest.raises(SlackApiError) as caught:
        slack_client.conversations_history(channel=CHANNEL, cursor="bm90LWEtY3Vyc29y")
    assert caught.value.response["error"] == "invalid_cursor"


def test_replies_list_the_thread_oldest_first(slack_client: WebClient):
    parent = slack_client.chat_postMessage(channel=CHANNEL, text="parent")["ts"]
    replies = [slack_client.chat_postMessage(channel=CHANNEL, text=f"r{i}", thread_ts=parent)["ts"] for i in range(2)]
    answer = slack_client.conversations_replies(channel=CHANNEL, ts=parent)
    assert [m["ts"] for m in answer["messages"]] == [parent, *replies]
    with pytest.raises(SlackApiError) as caught:
        slack_client.conversations_replies(channel=CHANNEL, ts="1700000000.000001")
    assert caught.value.response["error"] == "thread_not_found"


def test_find_posted_finds_the_message_its_metadata_names_and_only_since_the_mark(
    slack_client: WebClient, slack_api: SlackApiStandIn, monkeypatch: pytest.MonkeyPatch
):
    chat = SlackChat(slack_client)
    other = {"event_type": "bakery_record", "event_payload": {"kind": "bake", "key": "b-other2"}}
    mine = chat.post(channel=CHANNEL, text="mine", blocks=[], metadata=META)
    for i in range(7):  # later traffic, so the search must page
        chat.post(channel=CHANNEL, text=f"noise {i}", blocks=[], metadata=other)
    monkeypatch.setattr(slack_chat, "HISTORY_PAGE_SIZE", 3)
    assert chat.find_posted(channel=CHANNEL, since=float(mine) - 1, metadata=META) == mine
    assert chat.find_posted(channel=CHANNEL, since=float(mine) + 0.5, metadata=META) is None
    assert [c.args.get("include_all_metadata") for c in slack_api.calls("conversations.history")][:1] == ["1"]
    # In a thread: conversations.replies; the parent itself is not the reply looked for.
    reply_meta = {"event_type": "bakery_record", "event_payload": {"kind": "bake", "key": "b-abc234", "reply": "r"}}
    reply = chat.post(channel=CHANNEL, text="reply", blocks=[], thread_ts=mine, metadata=reply_meta)
    assert chat.find_posted(channel=CHANNEL, since=float(mine), metadata=reply_meta, thread_ts=mine) == reply
    assert chat.find_posted(channel=CHANNEL, since=float(mine), metadata=META, thread_ts=mine) is None


def test_find_posted_reads_a_bounded_number_of_pages(
    slack_client: WebClient, slack_api: SlackApiStandIn, monkeypatch: pytest.MonkeyPatch
):
    chat = SlackChat(slack_client)
    first = chat.post(channel=CHANNEL, text="mine", blocks=[], metadata=META)
    for i in range(6):
        chat.post(channel=CHANNEL, text=f"noise {i}", blocks=[])
    monkeypatch.setattr(slack_chat, "HISTORY_PAGE_SIZE", 2)
    monkeypatch.setattr(slack_chat, "HISTORY_PAGES", 2)
    assert chat.find_posted(channel=CHANNEL, since=float(first), metadata=META) is None
    assert len(slack_api.calls("conversations.history")) == 2
