"""Two replicas' publishers on one store and one Slack (CONTRACT §15): one top-level message per record.

Only the replica holding lease `publisher` posts and edits; the other's mark_dirty reaches Slack through the
leader; a leader that dies between chat.postMessage and saving the ts leaves a mark, and the next leader
adopts the message it finds by metadata instead of posting again; a leader that lost its lease makes no
Slack call after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace

import pytest
from slack_sdk import WebClient

from bot.adapters.slack_chat import SlackChat
from bot.bakes.record import BAKE, Bake
from bot.domain.fencing import fenced
from bot.publishing.publisher import BAKES, MessagePublisher
from bot.runtime.leases import Leadership
from bot.sandbox.slack.api import SlackApiStandIn
from bot.slack.notices import notice_text
from bot.state.base import StoreBase
from bot.state.dynamodb import DynamoStore, ensure_table
from bot.state.sqlite import SqliteStore
from tests.fixtures.aws import REGION, new_session
from tests.fixtures.waiting import wait_for
from tests.test_publisher import BAKE_ONE, put, set_status

LEASE = "publisher"
EXTRA: dict[str, str] = {}  # words the render shows that live in no bake record (as a rollout's do)


def render(bake: Bake):
    text = f"{bake.request_id} {bake.status}{EXTRA.get(bake.request_id, '')}"
    return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]


class Died(Exception):
    """The replica is gone (the `publish.posted` failpoint kills it there)."""


class Clock:
    """A replica's monotonic clock; moving it on plays a process paused past its lease (SIGSTOP)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset


@pytest.fixture(params=["sqlite", "dynamodb"])
def stores(request: pytest.FixtureRequest, tmp_path) -> Iterator[tuple[StoreBase, StoreBase]]:
    """One state opened twice, as two bot processes open it: a SQLite file, or a DynamoDB table on moto."""
    if request.param == "sqlite":
        a: StoreBase = SqliteStore(tmp_path / "state.db")
        b: StoreBase = SqliteStore(tmp_path / "state.db")
    else:
        request.getfixturevalue("moto")  # a freshly reset server
        client = new_session(REGION).client("dynamodb")
        ensure_table(client, "ami-bakery-publish-test")
        a, b = DynamoStore(client, "ami-bakery-publish-test"), DynamoStore(client, "ami-bakery-publish-test")
    yield a, b
    a.close()
    b.close()


def publisher(store, client: WebClient, leader: Leadership, **kw) -> MessagePublisher:
    return MessagePublisher(
        store=store,
        chat=SlackChat(client),
        render=render,
        notice_text=notice_text,
        min_interval=0,
        retry_delay=0,
        leader=leader,
        poll_every=0.05,
        **kw,
    )


class Running:
    """Publisher loops in threads, stopped at the end of the test."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self, *pubs: MessagePublisher) -> None:
        for pub in pubs:
            thread = threading.Thread(target=pub.run, args=(self.stop,), daemon=True)
            thread.start()
            self.threads.append(thread)

    def close(self, *pubs: MessagePublisher) -> None:
        self.stop.set()
        for pub in pubs:
            pub.wake()
        for thread in self.threads:
            thread.join(5)


@pytest.fixture
def running() -> Iterator[Running]:
    loops = Running()
    yield loops
    loops.stop.set()
    for thread in loops.threads:
        thread.join(5)


def top_level(slack_api: SlackApiStandIn) -> list[dict]:
    return [m for m in slack_api.messages() if not m["thread_ts"] and not m["ephemeral_to"]]


def take_over(store: StoreBase, leadership: Leadership) -> None:
    """The old leader's lease lapsed (a dead or paused replica renews nothing): `leadership` takes it."""
    assert store.acquire_lease(LEASE, leadership.holder, 15, now=time.time() + 60) is not None
    assert leadership.step()


def test_only_the_leader_posts_and_a_mark_on_the_other_reaches_slack_through_it(
    stores, slack_client, slack_api, running
):
    a_store, b_store = stores
    a, b = Leadership(a_store, LEASE, holder="a"), Leadership(b_store, LEASE, holder="b")
    assert a.step() and not b.step()
    pub_a, pub_b = publisher(a_store, slack_client, a), publisher(b_store, slack_client, b)
    running.start(pub_a, pub_b)
    put(b_store, BAKE_ONE)
    pub_b.mark_dirty(BAKE_ONE.request_id)  # the bake was opened on the replica that does not lead
    wait_for(lambda: top_level(slack_api), timeout=2, what="the leader to post the other's bake")
    set_status(b_store, BAKE_ONE.request_id, "running")
    pub_b.mark_dirty(BAKE_ONE.request_id)
    wait_for(lambda: "running" in top_level(slack_api)[0]["text"], timeout=2, what="the leader's edit")
    # A change the bake's record does not hold (another record's, shown in its message): the nudge carries it.
    EXTRA[BAKE_ONE.request_id] = " (rolled out)"
    try:
        pub_b.mark_dirty(BAKE_ONE.request_id)
        wait_for(lambda: "rolled out" in top_level(slack_api)[0]["text"], timeout=2, what="the redraw")
    finally:
        EXTRA.clear()
    # Every Slack call was the leader's (its count follows the stand-in's answer: wait for it to arrive).
    wait_for(lambda: pub_a.calls == len(slack_api.calls()) == 3, timeout=2, what="the leader's three calls")
    assert pub_b.calls == 0
    assert len(top_level(slack_api)) == 1 and len(slack_api.calls("chat.postMessage")) == 1
    assert top_level(slack_api)[0]["metadata"]["event_payload"] == {"kind": BAKE, "key": BAKE_ONE.request_id}


def test_a_leader_dead_after_posting_leaves_one_message_the_next_leader_adopts(
    stores, slack_client, slack_api, running
):
    a_store, b_store = stores
    a, b = Leadership(a_store, LEASE, holder="a"), Leadership(b_store, LEASE, holder="b")
    assert a.step()

    def die() -> None:
        raise Died

    pub_a = publisher(a_store, slack_client, a, on_posted=die)
    put(a_store, BAKE_ONE)
    with pytest.raises(Died), fenced(a.fence()):
        pub_a.publish(BAKE_ONE.request_id)  # posted, then gone before the ts was saved
    assert len(top_level(slack_api)) == 1
    assert b_store.get(BAKE, BAKE_ONE.request_id).doc["message_ts"] == ""
    take_over(b_store, b)
    set_status(b_store, BAKE_ONE.request_id, "running")
    pub_b = publisher(b_store, slack_client, b)
    running.start(pub_b)
    wait_for(lambda: b_store.get(BAKE, BAKE_ONE.request_id).doc["message_ts"], timeout=5, what="the adoption")
    wait_for(lambda: "running" in top_level(slack_api)[0]["text"], timeout=5, what="the adopted message's edit")
    (message,) = top_level(slack_api)
    stored = b_store.get(BAKE, BAKE_ONE.request_id).doc
    assert stored["message_ts"] == message["ts"] and stored["posting"] == {}
    assert len(slack_api.calls("chat.postMessage")) == 1 and slack_api.calls("conversations.history")


def test_a_leader_that_lost_its_lease_mid_burst_edits_nothing_after_it(stores, slack_client, slack_api, running):
    a_store, b_store = stores
    clock = Clock()
    a = Leadership(a_store, LEASE, holder="a", ttl=15, clock=clock)
    b = Leadership(b_store, LEASE, holder="b")
    assert a.step() and not b.step()
    keys = ["b-abc234", "b-def567", "b-ghj789"]
    paused_at: list[int] = []

    def before_publish() -> None:
        if len(paused_at) == 0 and pub_a.calls == len(keys) + 1:  # posted all, then edited the first
            clock.offset += 60  # paused past its lease, between two edits of one round
            paused_at.append(pub_a.calls)

    pub_a = publisher(a_store, slack_client, a, before_publish=before_publish)
    for key in keys:
        put(a_store, replace(BAKE_ONE, request_id=key))
        with fenced(a.fence()):
            pub_a.publish(key)
    for key in keys:  # a burst: every message due in the same round
        set_status(a_store, key, "running")
        pub_a.mark_dirty(key)
    running.start(pub_a)
    wait_for(lambda: paused_at and pub_a.pending() == 0, timeout=5, what="the old leader to stop")
    assert pub_a.calls == paused_at[0]  # the edits left in its round were not made
    take_over(b_store, b)
    pub_b = publisher(b_store, slack_client, b)
    running.start(pub_b)
    wait_for(
        lambda: all("running" in m["text"] for m in top_level(slack_api)), timeout=5, what="the new leader's edits"
    )
    assert pub_a.calls == paused_at[0] and len(top_level(slack_api)) == len(keys)
    # Every edit after the pause is the new leader's: the old one's single edit, then only b's.
    assert len(slack_api.calls("chat.update")) == 1 + pub_b.calls


def slack_api_history_calls(slack_api: SlackApiStandIn) -> int:
    return len(slack_api.calls("conversations.history")) + len(slack_api.calls("conversations.replies"))


def test_a_lone_leader_posts_at_once_on_mark_dirty_not_on_its_next_look(tmp_path, slack_client, slack_api, running):
    store = SqliteStore(tmp_path / "state.db")
    try:
        leader = Leadership(store, LEASE, holder="a")
        assert leader.step()
        pub = publisher(store, slack_client, leader)
        pub._poll_every = 3600.0  # noqa: SLF001 - only the first look, at start
        running.start(pub)
        wait_for(lambda: pub._polled > 0, timeout=2, what="the first look")  # noqa: SLF001
        put(store, BAKE_ONE)
        started = time.monotonic()
        pub.mark_dirty(BAKE_ONE.request_id)
        wait_for(lambda: top_level(slack_api), timeout=2, what="the post")
        assert time.monotonic() - started < 0.5
    finally:
        running.stop.set()
        for thread in running.threads:
            thread.join(5)
        store.close()


def test_the_same_message_is_edited_as_before_after_a_single_replica_restarts(tmp_path, slack_client, slack_api):
    path = tmp_path / "state.db"
    first = SqliteStore(path)
    leader = Leadership(first, LEASE, holder="one")
    assert leader.step()
    pub = publisher(first, slack_client, leader)
    put(first, BAKE_ONE)
    pub.mark_dirty(BAKE_ONE.request_id)
    pub.flush()
    leader.release()
    first.close()
    again = SqliteStore(path)
    try:
        set_status(again, BAKE_ONE.request_id, "succeeded")
        leader = Leadership(again, LEASE, holder="two")
        assert leader.step()
        pub = publisher(again, slack_client, leader)
        stop = threading.Event()
        loop = threading.Thread(target=pub.run, args=(stop,), daemon=True)
        loop.start()
        try:
            wait_for(lambda: "succeeded" in top_level(slack_api)[0]["text"], timeout=5, what="the edit")
        finally:
            stop.set()
            loop.join(5)
        assert len(top_level(slack_api)) == 1 and not slack_api_history_calls(slack_api)
    finally:
        again.close()


def test_a_live_reply_posted_by_a_leader_that_died_is_adopted_from_the_thread(stores, slack_client, slack_api, running):
    a_store, b_store = stores
    a, b = Leadership(a_store, LEASE, holder="a"), Leadership(b_store, LEASE, holder="b")
    assert a.step()
    surface = replace(BAKES, replies=lambda bake: [("approval", f"approve {bake.status}?", [])])
    posts: list[int] = []

    def die_after_the_reply() -> None:
        posts.append(1)
        if len(posts) == 2:  # the message, then its live reply
            raise Died

    pub_a = publisher(a_store, slack_client, a, surface=surface, on_posted=die_after_the_reply)
    put(a_store, BAKE_ONE)
    with pytest.raises(Died), fenced(a.fence()):
        pub_a.publish(BAKE_ONE.request_id)
    take_over(b_store, b)
    set_status(b_store, BAKE_ONE.request_id, "running")
    pub_b = publisher(b_store, slack_client, b, surface=surface)
    running.start(pub_b)
    replies = lambda: [m for m in slack_api.messages() if m["thread_ts"]]  # noqa: E731
    wait_for(lambda: "running" in replies()[0]["text"], timeout=5, what="the adopted reply's edit")
    assert len(replies()) == 1 and len(slack_api.calls("chat.postMessage")) == 2
    assert b_store.get(BAKE, BAKE_ONE.request_id).doc["reply_ts"] == {"approval": replies()[0]["ts"]}
    assert replies()[0]["metadata"]["event_payload"] == {"kind": BAKE, "key": BAKE_ONE.request_id, "reply": "approval"}
    assert slack_api.calls("conversations.replies")
