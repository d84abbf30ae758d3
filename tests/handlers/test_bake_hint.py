"""`bake base` typed in the channel without its slash is answered privately with the command it meant."""

from __future__ import annotations

import json
import time

import pytest

from bot.commands.parser import slashless
from bot.sandbox.slack.events import message_event
from bot.slack.answers import slashless_hint
from tests.fixtures.bakery import APPROVER, REQUESTER

HINT = "Did you mean `/bake base`? Slash commands start with /"


def typed(bakery, text: str, *, user: str = REQUESTER, thread_ts: str = "", **event: object) -> int:
    """A person's message reaching the bot as Slack's Events API delivers it; the HTTP status it answered."""
    body = message_event(user=user, channel="C0BAKERY", text=text, ts=f"{time.time():.6f}", thread_ts=thread_ts)
    body["event"].update(event)
    status, _ = bakery.post_slack(body=json.dumps(body), content_type="application/json")
    return status


@pytest.mark.parametrize(
    "text, meant",
    [
        ("bake base", "base"),
        ("Bake  base   CVE-1\nnow", "base CVE-1 now"),
        ("bake status", "status"),
        ("bake HELP", "HELP"),
        ("bake web instance_type=t3.small", "web instance_type=t3.small"),
        ("bake a cake for friday", None),  # talk, not a command: no image or subcommand follows
        ("bake", None),
        ("let's bake base", None),
        ("/bake base", None),
    ],
)
def test_a_slashless_bake_is_known_by_its_image_or_subcommand(text, meant):
    assert slashless(text, {"base", "web"}) == meant


def test_the_hint_quotes_what_was_typed_safely_and_shortened():
    assert slashless_hint("base `rm -rf` now") == "Did you mean `/bake base 'rm -rf' now`? Slash commands start with /"
    long = "base " + "word " * 20
    assert slashless_hint(long.strip()) == f"Did you mean `/bake {long[:57]}…`? Slash commands start with /"


def test_a_message_bake_base_is_answered_privately_with_a_hint(bakery):
    assert typed(bakery, "bake base") == 200
    assert bakery.wait_ephemeral(REQUESTER, "Did you mean") == HINT
    [call] = bakery.slack.calls("chat.postEphemeral")
    assert call.args["channel"] == "C0BAKERY" and call.args["user"] == REQUESTER and "thread_ts" not in call.args
    assert bakery.messages()[-1]["ephemeral_to"] == REQUESTER  # only the one who typed it sees it


def test_a_reply_in_a_thread_is_answered_in_that_thread(bakery):
    top = bakery.slack.add_message("C0BAKERY", "a bake's message")
    assert typed(bakery, "bake base", thread_ts=top) == 200
    bakery.wait_ephemeral(REQUESTER, "Did you mean")
    [call] = bakery.slack.calls("chat.postEphemeral")
    assert call.args["thread_ts"] == top


@pytest.mark.parametrize(
    "text, event",
    [
        ("bake a cake", {}),  # talk
        ("bake base", {"subtype": "message_changed"}),  # an edit
        ("bake base", {"subtype": "channel_join"}),
        ("bake base", {"bot_id": "B0OTHERBOT"}),  # another app's post
        ("bake base", {"user": "U0BAKERYBOT"}),  # the bot's own (Bolt drops it)
    ],
)
def test_talk_edits_and_bot_posts_are_acknowledged_and_not_answered(bakery, text, event):
    assert typed(bakery, text, **event) == 200  # acknowledged: Slack must not send it again
    typed(bakery, "bake base", user=APPROVER)  # a message that is answered, after the one that must not be
    bakery.wait_ephemeral(APPROVER, "Did you mean")
    bakery.wait_idle()
    assert bakery.ephemerals(REQUESTER) == []


def test_the_acknowledgement_does_not_wait_for_slack(bakery):
    bakery.slack.delay("chat.postEphemeral", 3.0, times=1)
    started = time.monotonic()
    assert typed(bakery, "bake base") == 200
    assert time.monotonic() - started < 2.0  # acknowledged while the answer is still on its way
    assert bakery.ephemerals(REQUESTER) == []
    assert bakery.wait_ephemeral(REQUESTER, "Did you mean") == HINT
