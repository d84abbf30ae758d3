"""The one place that writes bake messages to Slack: coalesces edits to about one per second per message.

Services only change state and call `mark_dirty`; this loop renders the freshest state and posts or edits
the bake's single top-level message, then posts the thread replies it owes. A burst of events for one bake
therefore costs a handful of `chat.update` calls, and the last one always shows the final state. It makes
no words itself: the renderers it is given (`bot.slack`, passed in by the wiring) turn records and notices
into Slack text.

With several replicas (CONTRACT §15) only the one holding the `leader`'s lease draws, with every store write
fenced by it (bot.domain.fencing) and the lease checked again before every Slack call. The leader also finds
work itself: every `poll_every` seconds it reads the "active" index of its kind and draws each record whose
version moved since it last drew it. A replica that does not lead turns its own `mark_dirty` calls into a
nudge on the record (a write that moves its version and keeps it active), which the leader's next look finds.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from bot.domain.errors import ChatError
from bot.domain.fencing import Fence, FenceLost, current_fence, fenced, guarded
from bot.domain.ports import Chat, StateStore
from bot.publishing.drawing import Drawing, Leader, posted
from bot.publishing.surface import BAKES, PERMANENT_ERRORS, NoticeText, Render, Surface

__all__ = ["BAKES", "MessagePublisher", "Surface"]

log = logging.getLogger(__name__)


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
        leader: Leader | None = None,
        poll_every: float = 1.0,
        on_posted: Callable[[], None] = posted,
    ):
        self._store = store
        self._surface = surface
        self._min_interval = min_interval
        self._retry_delay = retry_delay
        self._clock = clock
        self._before_publish = before_publish  # e.g. wait while Slack requests are being acknowledged
        # Given each record once Slack shows it: e.g. a rollout's bake redraws, since its message tells of it.
        self._after_publish = after_publish
        self._leader = leader  # None: this process is the only one (tests, tools)
        self._poll_every = poll_every
        self._polled = float("-inf")
        self._token: int | None = None  # the lease token this publisher last drew under
        self._due: dict[str, float] = {}  # request id -> earliest time it may be sent
        self._drawing = 0  # taken off `_due` and being drawn: still pending work for `pending()`
        self._last_sent: dict[str, float] = {}
        self._cond = threading.Condition()
        # One publish per record at a time: the loop and a flush (shutdown) must never both post a new message.
        # Striped, so the locks stay bounded however many records pass through.
        self._stripes = [threading.Lock() for _ in range(64)]
        self._draw = Drawing(
            store=store,
            chat=chat,
            surface=surface,
            render=render,
            notice_text=notice_text,
            guard=self._guard,
            on_posted=on_posted,
            on_settled=on_settled,
        )

    def lead_with(self, leader: Leader) -> None:
        """Draw only while `leader`'s lease is held (the runtime gives the three publishers one lease)."""
        self._leader = leader

    @property
    def calls(self) -> int:
        """Slack calls made, for benchmarks and health."""
        return self._draw.calls

    def mark_dirty(self, request_id: str) -> None:
        with self._cond:
            earliest = self._last_sent.get(request_id, float("-inf")) + self._min_interval
            self._due[request_id] = max(earliest, self._due.get(request_id, float("-inf")))
            self._cond.notify()

    def recover(self) -> None:
        """After a restart, redraw every bake whose message may lag its record. Led, the first look at the
        index after taking the lease does this, on the leader only."""
        if self._leader is not None:
            return
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

    def leads(self) -> bool:
        return self._leader is None or self._leader.fence() is not None

    def run(self, stop: threading.Event) -> None:
        while not stop.is_set():
            fence = self._leader.fence() if self._leader is not None else None
            if self._leader is not None and fence is None:
                self._nudge_round(stop)
                continue
            try:
                with fenced(fence), guarded(self._guard):
                    self._round(stop, fence)
            except FenceLost:
                assert self._leader is not None  # noqa: S101 - only fenced writes raise it
                log.warning("publish.lease_lost kind=%s lease=%s", self._surface.kind, self._leader.name)
                self._leader.lost()

    def _round(self, stop: threading.Event, fence: Fence | None) -> None:
        if fence is not None and fence.token != self._token:
            self._token = fence.token  # newly leading: whatever this replica knew of Slack may be stale
            self._draw.forget()
            self._polled = float("-inf")
        if self._leader is not None and self._clock() >= self._polled + self._poll_every:
            self._poll()
        ready = self._take_ready(wait_at_most=0.5)
        for n, rid in enumerate(ready):
            if stop.is_set():
                self._drawn(len(ready) - n)
                break
            try:
                self._before_publish()
                self.publish(rid)
            except FenceLost:
                self._drawn(len(ready) - n - 1)
                for left in ready[n:]:
                    self.mark_dirty(left)  # this replica nudges them for whoever leads next
                raise
            finally:
                self._drawn(1)

    def _take_ready(self, *, wait_at_most: float) -> list[str]:
        with self._cond:
            now = self._clock()
            ready = [rid for rid, at in self._due.items() if at <= now]
            if not ready:
                wake_at = min(self._due.values(), default=now + wait_at_most)
                if self._leader is not None:
                    wake_at = min(wake_at, self._polled + self._poll_every)
                self._cond.wait(timeout=max(0.01, min(wake_at - now, wait_at_most)))
                return []
            for rid in ready:
                del self._due[rid]
            self._drawing += len(ready)
            return ready

    def _poll(self) -> None:
        """Look at the active index: a record whose version moved since this publisher drew it is due."""
        self._polled = self._clock()
        active = self._store.find(self._surface.kind, "active")
        seen = self._draw.seen
        for rec in active:
            if seen.get(rec.key) != rec.version:
                self.mark_dirty(rec.key)
        keep = {rec.key for rec in active}
        for key in [k for k in seen if k not in keep]:
            del seen[key]

    def _nudge_round(self, stop: threading.Event) -> None:
        """Not leading: move each record marked here, so the leader's next look at the index draws it."""
        ready = self._take_ready(wait_at_most=0.2)
        try:
            for rid in ready:
                if not stop.is_set():
                    self._nudge(rid)
        finally:
            self._drawn(len(ready))

    def _nudge(self, key: str) -> None:
        def fn(doc: dict[str, Any]) -> dict[str, Any]:
            return {**doc, "settled": False}  # written even when unchanged: its version moves

        try:
            self._store.mutate(self._surface.kind, key, fn, index_fn=self._surface.index_fn)
        except Exception:  # noqa: BLE001 - a nudge lost is a redraw late, never a reason to stop the loop
            log.exception("publish.nudge_failed kind=%s key=%s", self._surface.kind, key)
        with self._cond:
            self._last_sent[key] = self._clock()

    def flush(self, timeout: float = 10.0) -> None:
        """Publish everything due now or soon (tests and shutdown); not leading, hand it to the leader."""
        fence = self._leader.fence() if self._leader is not None else None
        deadline = self._clock() + timeout
        while self._clock() < deadline:
            with self._cond:
                if not self._due:
                    return
                rid, at = min(self._due.items(), key=lambda kv: kv[1])
                if at > self._clock() and (fence is not None or self._leader is None):
                    self._cond.wait(timeout=at - self._clock())
                    continue
                del self._due[rid]
                self._drawing += 1
            try:
                if self._leader is not None and fence is None:
                    self._nudge(rid)
                    continue
                with fenced(fence), guarded(self._guard):
                    self.publish(rid)
            except FenceLost:
                fence = None  # this one and the rest go to whoever leads now
                self._nudge(rid)
            finally:
                self._drawn(1)

    def _drawn(self, count: int) -> None:
        with self._cond:
            self._drawing -= count

    def _guard(self) -> None:
        """Before every Slack call: only the leader, still holding the lease it began this round with."""
        if self._leader is None:
            return
        began = current_fence()
        now = self._leader.fence()
        if began is None or now != began:
            raise FenceLost(began or Fence(self._leader.name, "", 0))

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
            bake = self._draw.draw(request_id, rec)
        except ChatError as exc:
            self._failed(request_id, bake, exc)
            return
        finally:
            self._last_sent[request_id] = self._clock()
        if bake.terminal and all(n.posted for n in bake.notices):
            self._draw.settle(request_id)
        self._after_publish(bake)

    def _failed(self, request_id: str, bake: Any, exc: ChatError) -> None:
        save, memo = self._draw.save, self._draw.last_hash
        if exc.code == "message_not_found" and bake.message_ts:
            # Someone deleted the bake's message: post a new one rather than edit nothing forever.
            log.warning("publish.message_gone request_id=%s ts=%s", request_id, bake.message_ts)
            save(request_id, lambda b: replace(b, message_ts="") if b.message_ts == bake.message_ts else None)
            memo.pop(request_id, None)
            delay = 0.0
        elif exc.code == "message_not_found":
            # A live reply was deleted: forget it so the next round posts it again.
            save(request_id, lambda b: replace(b, reply_ts={}) if b.reply_ts else None)
            for k in [k for k in memo if k.startswith(f"{request_id}#")]:
                del memo[k]
            delay = 0.0
        else:
            log.exception("publish.failed request_id=%s code=%s", request_id, exc.code)
            # A channel the bot cannot post to will not heal in seconds: wait longer before trying again.
            delay = self._retry_delay * (12 if exc.code in PERMANENT_ERRORS else 1)
        with self._cond:
            self._due[request_id] = self._clock() + delay
            self._cond.notify()
