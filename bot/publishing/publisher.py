"""The one place that writes bake messages to Slack: coalesces edits to about one per second per message.

Services only change state and call `mark_dirty`; this loop renders the freshest state and posts or edits
the bake's single top-level message, then posts the thread replies it owes. A burst of events for one bake
therefore costs a handful of `chat.update` calls, and the last one always shows the final state. It makes
no words itself: the renderers it is given (`bot.slack`, passed in by the wiring) turn records and notices
into Slack text.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.bakes.record import BAKE, Bake, bake_index
from bot.domain.errors import ChatError
from bot.domain.models import Notice
from bot.domain.ports import Chat, StateStore
from bot.domain.records import rewrite

log = logging.getLogger(__name__)

# Slack errors that retrying soon will not fix (the channel, the token or the app's scopes must change).
PERMANENT_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive", "missing_scope"}
)

Render = Callable[[Any], tuple[str, list[dict[str, Any]]]]
Replies = Callable[[Any], list[tuple[str, str, list[dict[str, Any]]]]]
NoticeText = Callable[[Notice], str]


def _no_replies(subject: Any) -> list[tuple[str, str, list[dict[str, Any]]]]:
    return []


@dataclass(frozen=True)
class Surface:
    """What the publisher draws: a kind of record with one Slack message, static notices and live replies.

    The record type must have `channel`, `message_ts`, `notices`, `reply_ts`, `terminal` and `settled`;
    a `thread_ts` attribute, when set, makes the message itself a reply in that thread.
    """

    kind: str
    load: Callable[[dict[str, Any]], Any]
    index_fn: Callable[[dict[str, Any]], str | None]
    replies: Replies = _no_replies


BAKES = Surface(kind=BAKE, load=Bake.from_doc, index_fn=bake_index)


class MessagePublisher:
    def __init__(
        self,
        *,
        store: StateStore,
        chat: Chat,
        render: Render,
        notice_text: NoticeText,
        surface: Surface = BAKES,
        min_interval: float = 1.0,
        retry_delay: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        before_publish: Callable[[], None] = lambda: None,
        after_publish: Callable[[Any], None] = lambda record: None,
        on_settled: Callable[[Any], None] = lambda record: None,  # each record it settled, once (metrics)
    ):
        self._store = store
        self._chat = chat
        self._render = render
        self._notice_text = notice_text
        self._surface = surface
        self._min_interval = min_interval
        self._retry_delay = retry_delay
        self._clock = clock
        self._before_publish = before_publish  # e.g. wait while Slack requests are being acknowledged
        # Given each record once Slack shows it: e.g. a rollout's bake redraws, since its message tells of it.
        self._after_publish = after_publish
        self._on_settled = on_settled
        self._due: dict[str, float] = {}  # request id -> earliest time it may be sent
        self._drawing = 0  # taken off `_due` and being drawn: still pending work for `pending()`
        self._last_sent: dict[str, float] = {}
        self._last_hash: dict[str, str] = {}
        self._cond = threading.Condition()
        # One publish per record at a time: the loop and a flush (shutdown) must never both post a new message.
        # Striped, so the locks stay bounded however many records pass through.
        self._stripes = [threading.Lock() for _ in range(64)]
        self.calls = 0  # Slack calls made, for benchmarks and health

    def mark_dirty(self, request_id: str) -> None:
        with self._cond:
            earliest = self._last_sent.get(request_id, float("-inf")) + self._min_interval
            self._due[request_id] = max(earliest, self._due.get(request_id, float("-inf")))
            self._cond.notify()

    def recover(self) -> None:
        """After a restart, redraw every bake whose message may lag its record."""
        for rec in self._store.find(self._surface.kind, "active"):
            self.mark_dirty(rec.key)

    def wake(self) -> None:
        """Let a waiting `run` loop notice its stop event at once."""
        with self._cond:
            self._cond.notify_all()

    def pending(self) -> int:
        """Messages due, or being drawn right now: zero only when Slack shows every record it was told of."""
        with self._cond:
            return len(self._due) + self._drawing

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            with self._cond:
                now = self._clock()
                ready = [rid for rid, at in self._due.items() if at <= now]
                if not ready:
                    wait = min(self._due.values(), default=now + 0.5) - now
                    self._cond.wait(timeout=max(0.01, min(wait, 0.5)))
                    continue
                for rid in ready:
                    del self._due[rid]
                self._drawing += len(ready)
            for n, rid in enumerate(ready):
                if stop.is_set():
                    self._drawn(len(ready) - n)
                    break
                try:
                    self._before_publish()
                    self.publish(rid)
                finally:
                    self._drawn(1)

    def flush(self, timeout: float = 10.0) -> None:
        """Publish everything due now or soon (tests and shutdown)."""
        deadline = self._clock() + timeout
        while self._clock() < deadline:
            with self._cond:
                if not self._due:
                    return
                rid, at = min(self._due.items(), key=lambda kv: kv[1])
                if at > self._clock():
                    self._cond.wait(timeout=at - self._clock())
                    continue
                del self._due[rid]
                self._drawing += 1
            try:
                self.publish(rid)
            finally:
                self._drawn(1)

    def _drawn(self, count: int) -> None:
        with self._cond:
            self._drawing -= count

    def publish(self, request_id: str) -> None:
        """Bring one record's Slack message and thread up to date with it; one publish per record at a time."""
        with self._stripes[hash(request_id) % len(self._stripes)]:
            self._publish(request_id)

    def _publish(self, request_id: str) -> None:
        rec = self._store.get(self._surface.kind, request_id)
        if rec is None:
            return
        bake = self._surface.load(rec.doc)
        try:
            bake = self._draw(request_id, bake)
            bake = self._draw_replies(request_id, bake)
            bake = self._post_notices(request_id, bake)
        except ChatError as exc:
            if exc.code == "message_not_found" and bake.message_ts:
                # Someone deleted the bake's message: post a new one rather than edit nothing forever.
                log.warning("publish.message_gone request_id=%s ts=%s", request_id, bake.message_ts)
                self._save(request_id, lambda b: replace(b, message_ts="") if b.message_ts == bake.message_ts else None)
                self._last_hash.pop(request_id, None)
                delay = 0.0
            elif exc.code == "message_not_found":
                # A live reply was deleted: forget it so the next round posts it again.
                self._save(request_id, lambda b: replace(b, reply_ts={}) if b.reply_ts else None)
                self._last_hash = {k: v for k, v in self._last_hash.items() if not k.startswith(f"{request_id}#")}
                delay = 0.0
            else:
                log.exception("publish.failed request_id=%s code=%s", request_id, exc.code)
                # A channel the bot cannot post to will not heal in seconds: wait longer before trying again.
                delay = self._retry_delay * (12 if exc.code in PERMANENT_ERRORS else 1)
            with self._cond:
                self._due[request_id] = self._clock() + delay
                self._cond.notify()
            return
        finally:
            self._last_sent[request_id] = self._clock()
        if bake.terminal and all(n.posted for n in bake.notices):
            self._settle(request_id)
        self._after_publish(bake)

    def _draw(self, key: str, bake: Any) -> Any:
        text, blocks = self._render(bake)
        digest = _digest(text, blocks)
        if not bake.message_ts:
            thread = getattr(bake, "thread_ts", "") or None
            ts = self._chat.post(channel=bake.channel, text=text, blocks=blocks, thread_ts=thread)
            self.calls += 1
            self._last_hash[key] = digest
            log.info("publish.posted kind=%s key=%s ts=%s", self._surface.kind, key, ts)
            return self._save(key, lambda b: replace(b, message_ts=ts) if not b.message_ts else None) or replace(
                bake, message_ts=ts
            )
        if self._last_hash.get(key) != digest:
            self._chat.update(channel=bake.channel, ts=bake.message_ts, text=text, blocks=blocks)
            self.calls += 1
            self._last_hash[key] = digest
        return bake

    def _thread_of(self, bake: Any) -> str:
        return getattr(bake, "thread_ts", "") or bake.message_ts

    def _draw_replies(self, key: str, bake: Any) -> Any:
        """Live replies in the thread: posted once, then edited in place whenever they change."""
        for reply_key, text, blocks in self._surface.replies(bake):
            digest = _digest(text, blocks)
            memo = f"{key}#{reply_key}"
            ts = bake.reply_ts.get(reply_key)
            if ts is None:
                ts = self._chat.post(channel=bake.channel, text=text, blocks=blocks, thread_ts=self._thread_of(bake))
                self.calls += 1
                self._last_hash[memo] = digest
                bake = self._save(key, _remember_reply(reply_key, ts)) or replace(
                    bake, reply_ts={**bake.reply_ts, reply_key: ts}
                )
            elif self._last_hash.get(memo) != digest:
                self._chat.update(channel=bake.channel, ts=ts, text=text, blocks=blocks)
                self.calls += 1
                self._last_hash[memo] = digest
        return bake

    def _post_notices(self, key: str, bake: Any) -> Any:
        for notice in bake.notices:
            if notice.posted:
                continue
            text = self._notice_text(notice)
            self._chat.post(channel=bake.channel, text=text, blocks=[], thread_ts=self._thread_of(bake))
            self.calls += 1
            bake = self._save(key, _mark_posted(notice.key)) or bake
        return bake

    def _save(self, key: str, change: Callable[[Any], Any | None]) -> Any | None:
        surface = self._surface
        return rewrite(self._store, surface.kind, key, load=surface.load, change=change, index_fn=surface.index_fn)

    def _settle(self, key: str) -> None:
        """Take a finished record out of the 'active' index once Slack shows all of it."""
        written: list[Any] = []  # what the write that landed settled: fn may run more than once

        def fn(doc: dict[str, Any]) -> dict[str, Any] | None:
            written.clear()
            bake = self._surface.load(doc)
            if bake.settled or not bake.terminal or not all(n.posted for n in bake.notices):
                return None
            text, blocks = self._render(bake)
            if _digest(text, blocks) != self._last_hash.get(key):
                return None  # it changed since we drew it; the next publish settles it
            for reply_key, rtext, rblocks in self._surface.replies(bake):
                if reply_key not in bake.reply_ts or _digest(rtext, rblocks) != self._last_hash.get(
                    f"{key}#{reply_key}"
                ):
                    return None
            written.append(bake)
            settled: dict[str, Any] = replace(bake, settled=True).to_doc()
            return settled

        self._store.mutate(self._surface.kind, key, fn, index_fn=self._surface.index_fn)
        for record in written:
            self._on_settled(record)


def _remember_reply(reply_key: str, ts: str) -> Callable[[Any], Any | None]:
    """A change that records a live reply's ts, unless a concurrent publish recorded one first."""

    def change(record: Any) -> Any | None:
        return None if reply_key in record.reply_ts else replace(record, reply_ts={**record.reply_ts, reply_key: ts})

    return change


def _mark_posted(notice_key: str) -> Callable[[Any], Any | None]:
    """A change that marks one notice as posted in the thread."""

    def change(record: Any) -> Any:
        return replace(
            record, notices=tuple(replace(n, posted=True) if n.key == notice_key else n for n in record.notices)
        )

    return change


def _digest(text: str, blocks: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps([text, blocks], sort_keys=True).encode()).hexdigest()
