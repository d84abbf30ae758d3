"""Drawing one record in Slack: its own message, its live replies and its notices, each posted once as users
see it (CONTRACT §15), then edited in place.

Before a new message is posted, the record is marked (`posting[<post>] = when`), fenced like every write of
the leading publisher; the ts is saved, and the mark cleared, right after the post. A record found with a
mark but no ts means a replica died (or lost its lease) between the two: its message may be in Slack
already, so the channel's history since the mark is read for a message whose metadata names the record, and
that one is adopted instead of posting again. Every Slack call is preceded by `guard()`: a publisher that no
longer leads stops before its next call, so two replicas never edit one message in turn.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol

from bot.domain.errors import ChatError
from bot.domain.fencing import Fence
from bot.domain.ports import Chat, Record, StateStore
from bot.publishing.surface import (
    MAIN,
    NoticeText,
    Render,
    Surface,
    begun,
    digest,
    mark_posted,
    metadata_of,
    not_begun,
    remember_reply,
    shown_at,
)
from bot.runtime.failpoints import failpoint

log = logging.getLogger(__name__)

# How far before a post's mark its message may carry a ts: Slack's clock and this host's differ a little.
CLOCK_MARGIN = 30.0


def posted() -> None:
    failpoint("publish.posted")  # a fault test's replica dies here: posted, its ts not yet saved


class Leader(Protocol):
    """The lease the publishers draw under (bot.runtime.leases.Leadership)."""

    name: str

    def fence(self) -> Fence | None: ...

    def lost(self) -> None: ...


class Drawing:
    def __init__(
        self,
        *,
        store: StateStore,
        chat: Chat,
        surface: Surface,
        render: Render,
        notice_text: NoticeText,
        guard: Callable[[], None],
        on_posted: Callable[[], None],
        on_settled: Callable[[Any], None] = lambda record: None,
        wall_clock: Callable[[], float] = time.time,
    ):
        self._store = store
        self._chat = chat
        self._surface = surface
        self._render = render
        self._notice_text = notice_text
        self._guard = guard  # raises FenceLost once this publisher no longer leads: before every Slack call
        self._on_posted = on_posted  # the `publish.posted` failpoint: after chat.postMessage, before the save
        self._on_settled = on_settled
        self._wall = wall_clock
        self.last_hash: dict[str, str] = {}  # message (key, or key#reply) -> digest of what Slack shows
        self.seen: dict[str, int] = {}  # record key -> the version this publisher last drew (or wrote itself)
        self.calls = 0  # Slack calls made, for benchmarks and health

    def forget(self) -> None:
        """Forget what Slack shows (another replica may have drawn since): every message is drawn afresh."""
        self.last_hash.clear()
        self.seen.clear()

    def draw(self, key: str, rec: Record) -> Any:
        self.seen[key] = rec.version
        record = self._surface.load(rec.doc)
        record = self._draw(key, record)
        record = self._draw_replies(key, record)
        return self._post_notices(key, record)

    def _draw(self, key: str, record: Any) -> Any:
        text, blocks = self._render(record)
        drawn = digest(text, blocks)
        if not record.message_ts:
            thread = getattr(record, "thread_ts", "") or None
            ts, adopted, record = self._post_once(key, record, MAIN, text=text, blocks=blocks, thread_ts=thread)
            if adopted:
                log.info("publish.adopted kind=%s key=%s ts=%s", self._surface.kind, key, ts)
            else:
                log.info("publish.posted kind=%s key=%s ts=%s", self._surface.kind, key, ts)
            record = self.save(key, shown_at(ts)) or replace(record, message_ts=ts)
            if not adopted:
                self.last_hash[key] = drawn
                return record
        if self.last_hash.get(key) != drawn:
            self._guard()
            self._chat.update(channel=record.channel, ts=record.message_ts, text=text, blocks=blocks)
            self.calls += 1
            self.last_hash[key] = drawn
        return record

    def _thread_of(self, record: Any) -> str:
        return getattr(record, "thread_ts", "") or record.message_ts

    def _draw_replies(self, key: str, record: Any) -> Any:
        """Live replies in the thread: posted once, then edited in place whenever they change."""
        for reply_key, text, blocks in self._surface.replies(record):
            drawn = digest(text, blocks)
            memo = f"{key}#{reply_key}"
            ts = record.reply_ts.get(reply_key)
            if ts is None:
                post = f"reply:{reply_key}"
                ts, adopted, record = self._post_once(
                    key, record, post, text=text, blocks=blocks, thread_ts=self._thread_of(record)
                )
                record = self.save(key, remember_reply(reply_key, ts)) or replace(
                    record, reply_ts={**record.reply_ts, reply_key: ts}
                )
                if not adopted:
                    self.last_hash[memo] = drawn
            if self.last_hash.get(memo) != drawn:
                self._guard()
                self._chat.update(channel=record.channel, ts=ts, text=text, blocks=blocks)
                self.calls += 1
                self.last_hash[memo] = drawn
        return record

    def _post_notices(self, key: str, record: Any) -> Any:
        for notice in record.notices:
            if notice.posted:
                continue
            text = self._notice_text(notice)
            thread = self._thread_of(record)
            _, _, record = self._post_once(key, record, f"notice:{notice.key}", text=text, blocks=[], thread_ts=thread)
            record = self.save(key, mark_posted(notice.key)) or record
        return record

    def _post_once(
        self, key: str, record: Any, post: str, *, text: str, blocks: list[dict[str, Any]], thread_ts: str | None
    ) -> tuple[str, bool, Any]:
        """Post one of the record's messages unless an earlier attempt already did: (ts, adopted, record)."""
        metadata = metadata_of(self._surface.kind, key, post)
        began = record.posting.get(post)
        if began:
            self._guard()
            found = self._chat.find_posted(
                channel=record.channel, since=float(began) - CLOCK_MARGIN, metadata=metadata, thread_ts=thread_ts
            )
            self.calls += 1
            if found:
                return found, True, record
        record = self.save(key, begun(post, f"{self._wall():.6f}")) or record
        self._guard()
        try:
            ts = self._chat.post(
                channel=record.channel, text=text, blocks=blocks, thread_ts=thread_ts, metadata=metadata
            )
        except ChatError as exc:
            if exc.code:  # Slack answered, refusing it: nothing was posted, so the retry need not look first
                self.save(key, not_begun(post))
            raise
        self.calls += 1
        self._on_posted()
        return ts, False, record

    def save(self, key: str, change: Callable[[Any], Any | None]) -> Any | None:
        """Apply `change` to the freshest copy; the new record, or None when nothing changed. A write that
        follows the version this publisher drew is its own: the next look at the index skips it."""
        surface = self._surface
        result: list[Any] = []

        def fn(doc: dict[str, Any]) -> dict[str, Any] | None:
            result.clear()  # fn may run again after a lost race
            current = surface.load(doc)
            new = change(current)
            if new is None or new == current:
                return None
            result.append(new)
            out: dict[str, Any] = new.to_doc()
            return out

        rec = self._store.mutate(surface.kind, key, fn, index_fn=surface.index_fn)
        if rec is not None and result and rec.version == self.seen.get(key, -2) + 1:
            self.seen[key] = rec.version
        return result[0] if result else None

    def settle(self, key: str) -> None:
        """Take a finished record out of the 'active' index once Slack shows all of it."""
        surface = self._surface
        written: list[Any] = []  # what the write that landed settled: fn may run more than once

        def fn(doc: dict[str, Any]) -> dict[str, Any] | None:
            written.clear()
            record = surface.load(doc)
            if record.settled or not record.terminal or not all(n.posted for n in record.notices):
                return None
            text, blocks = self._render(record)
            if digest(text, blocks) != self.last_hash.get(key):
                return None  # it changed since we drew it; the next publish settles it
            for reply_key, rtext, rblocks in surface.replies(record):
                if reply_key not in record.reply_ts or digest(rtext, rblocks) != self.last_hash.get(
                    f"{key}#{reply_key}"
                ):
                    return None
            written.append(record)
            settled: dict[str, Any] = replace(record, settled=True).to_doc()
            return settled

        self._store.mutate(surface.kind, key, fn, index_fn=surface.index_fn)
        for record in written:
            self._on_settled(record)
