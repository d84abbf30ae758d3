"""The publisher: one message per bake, edits coalesced, thread replies posted once, failures retried."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from bot.bakes.record import BAKE, Bake, bake_index
from bot.domain.errors import ChatError
from bot.domain.models import NoticeKind
from bot.publishing.publisher import MessagePublisher
from bot.slack.notices import notice_text
from bot.state.sqlite import SqliteStore
from tests.fixtures.waiting import wait_for


class RecordingChat:
    """A Chat that records calls; `fail_next` makes the next call raise as Slack would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict]] = []
        self.fail_next = 0

    def _record(self, name: str, **kw) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise ChatError(f"Slack {name} failed: ratelimited", code="ratelimited")
        self.calls.append((name, kw))

    def post(self, *, channel, text, blocks, thread_ts=None, metadata=None):
        self._record("post", channel=channel, text=text, thread_ts=thread_ts, metadata=metadata)
        return f"1700000000.{len(self.calls):06d}"

    def find_posted(self, *, channel, since, metadata, thread_ts=None):
        self._record("find_posted", channel=channel, since=since, metadata=metadata, thread_ts=thread_ts)
        return None

    def update(self, *, channel, ts, text, blocks):
        self._record("update", channel=channel, ts=ts, text=text)

    def post_ephemeral(self, **kw):  # pragma: no cover - not used by the publisher
        raise AssertionError

    def group_members(self, group_id):  # pragma: no cover
        return frozenset()


def render(bake: Bake):
    return f"{bake.request_id} {bake.status}", [{"type": "section", "text": {"type": "mrkdwn", "text": bake.status}}]


@pytest.fixture
def store(tmp_path):
    s = SqliteStore(str(tmp_path / "state.db"))
    yield s
    s.close()


def put(store, bake: Bake) -> None:
    doc = bake.to_doc()
    store.create(BAKE, bake.request_id, doc, index=bake_index(doc))


def set_status(store, rid: str, status: str, notice: str | None = None) -> None:
    def fn(doc):
        b = replace(Bake.from_doc(doc), status=status, settled=False)
        if notice:
            b = b.with_notice(notice, NoticeKind.TEXT, text=f"reply {notice}")
        return b.to_doc()

    store.mutate(BAKE, rid, fn, index_fn=bake_index)


BAKE_ONE = Bake(
    request_id="b-abc234",
    image="base",
    requested_by="U0CAROL",
    requested_at="2026-11-26T09:00:00Z",
    reason="r",
    channel="C0BAKERY",
    pipeline="ami-bakery-base",
)


def test_the_first_publish_posts_and_later_ones_edit_the_same_message(store):
    chat = RecordingChat()
    pub = MessagePublisher(store=store, chat=chat, render=render, notice_text=notice_text, min_interval=0)
    put(store, BAKE_ONE)
    pub.publish("b-abc234")
    set_status(store, "b-abc234", "running")
    pub.publish("b-abc234")
    assert [c[0] for c in chat.calls] == ["post", "update"]
    assert chat.calls[1][1]["ts"] == store.get(BAKE, "b-abc234").doc["message_ts"]


def test_an_unchanged_render_costs_no_slack_call(store):
    chat = RecordingChat()
    pub = MessagePublisher(store=store, chat=chat, render=render, notice_text=notice_text, min_interval=0)
    put(store, BAKE_ONE)
    pub.publish("b-abc234")
    pub.publish("b-abc234")
    assert len(chat.calls) == 1


def test_many_marks_within_the_interval_coalesce_into_one_edit(store):
    chat = RecordingChat()
    pub = MessagePublisher(store=store, chat=chat, render=render, notice_text=notice_text, min_interval=0.5)
    put(store, BAKE_ONE)
    stop = threading.Event()
    loop = threading.Thread(target=pub.run, args=(stop,))
    loop.start()
    try:
        pub.mark_dirty("b-abc234")
        pub.flush()
        for status in ("running", "running", "failed", "running", "succeeded"):
            set_status(store, "b-abc234", status)
            pub.mark_dirty("b-abc234")
        pub.flush()
    finally:
        stop.set()
        loop.join()
    kinds = [c[0] for c in chat.calls]
    assert kinds == ["post", "update"]
    assert chat.calls[-1][1]["text"] == "b-abc234 succeeded"


def test_thread_replies_are_posted_once_under_the_message(store):
    chat = RecordingChat()
    pub = MessagePublisher(store=store, chat=chat, render=render, notice_text=notice_text, min_interval=0)
    put(store, BAKE_ONE)
    set_status(store, "b-abc234", "failed", notice="failed:x")
    pub.publish("b-abc234")
    pub.publish("b-abc234")
    replies = [c for c in chat.calls if c[0] == "post" and c[1]["thread_ts"]]
    assert len(replies) == 1
    assert replies[0][1]["thread_ts"] == store.get(BAKE, "b-abc234").doc["message_ts"]


def test_a_finished_bake_leaves_the_active_index_once_slack_shows_it(store):
    chat = RecordingChat()
    pub = MessagePublisher(store=store, chat=chat, render=render, notice_text=notice_text, min_interval=0)
    put(store, BAKE_ONE)
    set_status(store, "b-abc234", "succeeded")
    assert [r.key for r in store.find(BAKE, "active")] == ["b-abc234"]
    pub.publish("b-abc234")
    assert store.find(BAKE, "active") == []


def test_a_slack_failure_keeps_the_bake_due_and_it_is_retried(store):
    chat = RecordingChat()
    pub = MessagePublisher(
        store=store, chat=chat, render=render, notice_text=notice_text, min_interval=0, retry_delay=0
    )
    put(store, BAKE_ONE)
    chat.fail_next = 1
    pub.publish("b-abc234")
    assert chat.calls == [] and pub.pending() == 1
    pub.flush()
    assert [c[0] for c in chat.calls] == ["post"]


def test_recover_redraws_every_bake_still_active(store):
    chat = RecordingChat()
    put(store, BAKE_ONE)
    put(store, replace(BAKE_ONE, request_id="b-def567"))
    pub = MessagePublisher(store=store, chat=chat, render=render, notice_text=notice_text, min_interval=0)
    pub.recover()
    pub.flush()
    assert len([c for c in chat.calls if c[0] == "post"]) == 2


def test_a_deleted_bake_message_is_posted_again(store):
    chat = RecordingChat()
    pub = MessagePublisher(
        store=store, chat=chat, render=render, notice_text=notice_text, min_interval=0, retry_delay=0
    )
    put(store, BAKE_ONE)
    pub.publish("b-abc234")
    first_ts = store.get(BAKE, "b-abc234").doc["message_ts"]

    def gone(**kw):
        raise ChatError("Slack chat.update failed: message_not_found", code="message_not_found")

    chat.update = gone
    set_status(store, "b-abc234", "running")
    pub.publish("b-abc234")
    pub.flush()
    new_ts = store.get(BAKE, "b-abc234").doc["message_ts"]
    assert new_ts and new_ts != first_ts
    assert [c[0] for c in chat.calls] == ["post", "post"]


def test_a_channel_the_bot_cannot_post_to_is_retried_later_not_at_once(store):
    chat = RecordingChat()
    # retry_delay 0.05 s: an ordinary failure comes back after 0.05 s, a permanent one after 0.6 s.
    pub = MessagePublisher(
        store=store, chat=chat, render=render, notice_text=notice_text, min_interval=0, retry_delay=0.05
    )
    put(store, BAKE_ONE)
    working_post = chat.post

    def refuse(**kw):
        raise ChatError("Slack chat.postMessage failed: not_in_channel", code="not_in_channel")

    chat.post = refuse
    pub.publish("b-abc234")
    chat.post = working_post
    pub.flush(timeout=0.25)
    assert chat.calls == []  # not retried at once
    pub.flush(timeout=2.0)
    assert [c[0] for c in chat.calls] == ["post"]


class SlowPostChat(RecordingChat):
    """A chat.postMessage that takes a while, so two publishers of one new record would overlap."""

    def __init__(self, started: threading.Event) -> None:
        super().__init__()
        self.started = started

    def post(self, *, channel, text, blocks, thread_ts=None, metadata=None):
        self.started.set()
        threading.Event().wait(0.3)
        return super().post(channel=channel, text=text, blocks=blocks, thread_ts=thread_ts, metadata=metadata)


def test_a_flush_while_the_loop_publishes_the_same_new_bake_posts_one_message(store):
    # Shutdown flushes while the loop may still be publishing: a new bake must still get one message.
    started = threading.Event()
    chat = SlowPostChat(started)
    pub = MessagePublisher(store=store, chat=chat, render=render, notice_text=notice_text, min_interval=0)
    put(store, BAKE_ONE)
    first = threading.Thread(target=pub.publish, args=("b-abc234",))
    first.start()
    assert started.wait(5)
    pub.publish("b-abc234")
    first.join(5)
    assert [name for name, _ in chat.calls] == ["post"]


def test_a_message_being_drawn_still_counts_as_pending(store):
    """The health counter tests wait on: zero must mean Slack has been written, not only 'taken off the list'."""
    chat = RecordingChat()
    drawing, release = threading.Event(), threading.Event()
    working_post = chat.post

    def slow_post(**kw):
        drawing.set()
        assert release.wait(5)
        return working_post(**kw)

    chat.post = slow_post
    pub = MessagePublisher(store=store, chat=chat, render=render, notice_text=notice_text, min_interval=0)
    put(store, BAKE_ONE)
    stop = threading.Event()
    loop = threading.Thread(target=pub.run, args=(stop,))
    loop.start()
    try:
        pub.mark_dirty("b-abc234")
        assert drawing.wait(5)
        assert pub.pending() == 1
        release.set()
        wait_for(lambda: pub.pending() == 0, timeout=5, what="the drawing to finish")
    finally:
        release.set()
        stop.set()
        loop.join()
    assert [c[0] for c in chat.calls] == ["post"]


def test_a_notice_is_posted_in_the_words_the_publisher_is_given(store):
    def words(notice):
        return f"in words: {notice.kind} {notice.fields['text']}"

    chat = RecordingChat()
    pub = MessagePublisher(store=store, chat=chat, render=render, notice_text=words, min_interval=0)
    put(store, BAKE_ONE)
    set_status(store, "b-abc234", "failed", notice="failed:x")
    pub.publish("b-abc234")
    replies = [c[1]["text"] for c in chat.calls if c[0] == "post" and c[1]["thread_ts"]]
    assert replies == ["in words: text reply failed:x"]
