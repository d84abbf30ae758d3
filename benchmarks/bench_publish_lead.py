"""(§15) The led publishers: what leading costs the store, and how fast a mark on either replica shows in Slack.

Two replicas' publishers (bakes, rollouts, trains: three per replica) on one SQLite state file, one lease
`publisher`, and a Chat that answers at once (so the figures are the bot's, not Slack's):
- store calls per second of an idle leader with 0, 20 and 200 active bakes (the look at each kind's
  "active" index every `poll_every` = 1 s, plus the lease's renewal), and of the replica that does not lead;
- latency from `mark_dirty` to the edit leaving for Slack, on the leader (woken at once) and on the other
  replica (its nudge, then the leader's next look), 40 marks each.
Run: .venv/bin/python benchmarks/bench_publish_lead.py
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.bakes.record import BAKE, Bake, bake_index
from bot.publishing.publisher import MessagePublisher
from bot.publishing.surface import BAKES, Surface
from bot.rollouts.record import Rollout, rollout_index
from bot.rollouts.service import ROLLOUT
from bot.runtime.leases import Leadership
from bot.slack.notices import notice_text
from bot.state.sqlite import SqliteStore
from bot.trains.record import TRAIN, Train, train_index

BAKE_ONE = Bake(
    request_id="b-aaaaaa", image="base", requested_by="U0CAROL", requested_at="2026-11-26T09:00:00Z",
    reason="r", channel="C0BAKERY", pipeline="ami-bakery-base",
)  # fmt: skip
SURFACES = (
    BAKES,
    Surface(kind=ROLLOUT, load=Rollout.from_doc, index_fn=rollout_index),
    Surface(kind=TRAIN, load=Train.from_doc, index_fn=train_index),
)


class Counting:
    """The store, counting every call by name."""

    def __init__(self, store: SqliteStore) -> None:
        self._store = store
        self.counts: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._store, name)
        if not callable(attr):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            self.counts[name] += 1
            return attr(*args, **kwargs)

        return call


class Chat:
    def __init__(self) -> None:
        self.sent: dict[str, float] = {}  # text -> when it left
        self.n = 0

    def post(self, *, channel, text, blocks, thread_ts=None, metadata=None) -> str:  # noqa: ANN001
        self.n += 1
        self.sent[text] = time.monotonic()
        return f"1700000000.{self.n:06d}"

    def update(self, *, channel, ts, text, blocks) -> None:  # noqa: ANN001
        self.sent[text] = time.monotonic()

    def find_posted(self, **kw: Any) -> None:
        return None


def render(record: Any) -> tuple[str, list[dict[str, Any]]]:
    text = f"{record.request_id} {record.status} {record.error}"
    return text, []


def replica(store: Counting, chat: Chat, leader: Leadership) -> list[MessagePublisher]:
    return [
        MessagePublisher(
            store=store,
            chat=chat,
            render=render if s is BAKES else (lambda r: ("x", [])),  # type: ignore[arg-type]
            notice_text=notice_text,
            surface=s,
            leader=leader,
            poll_every=1.0,
        )  # fmt: skip
        for s in SURFACES
    ]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state.db"
        a_store, b_store = Counting(SqliteStore(path)), Counting(SqliteStore(path))
        a, b = Leadership(a_store, "publisher", holder="a"), Leadership(b_store, "publisher", holder="b")  # type: ignore[arg-type]
        assert a.step() and not b.step()
        chat = Chat()
        pubs_a, pubs_b = replica(a_store, chat, a), replica(b_store, chat, b)
        stop, lease_stop = threading.Event(), threading.Event()
        threads = [threading.Thread(target=p.run, args=(stop,), daemon=True) for p in (*pubs_a, *pubs_b)]
        threads += [threading.Thread(target=x.run, args=(lease_stop,), daemon=True) for x in (a, b)]
        for t in threads:
            t.start()
        keys = [f"b-{i:06d}" for i in range(200)]
        print("store calls per second, idle (10 s each):")
        for active in (0, 20, 200):
            for key in keys[:active]:
                doc = replace(BAKE_ONE, request_id=key).to_doc()
                if a_store._store.get(BAKE, key) is None:  # noqa: SLF001
                    a_store._store.create(BAKE, key, doc, index=bake_index(doc))  # noqa: SLF001
                    pubs_a[0].mark_dirty(key)
            while sum(p.pending() for p in pubs_a):
                time.sleep(0.05)
            time.sleep(1.5)  # past the next look: every record drawn once
            a_store.counts.clear()
            b_store.counts.clear()
            time.sleep(10)
            per_s = {k: v / 10 for k, v in sorted(a_store.counts.items())}
            print(f"  {active:3d} active bakes: leader {per_s}, other {dict(b_store.counts)} ({chat.n} posts so far)")
        for who, pub in (("leader", pubs_a[0]), ("other replica", pubs_b[0])):
            lat = []
            for n in range(40):
                key = keys[n % 20]
                text = f"{key} requested mark-{who}-{n}"

                def change(doc: dict[str, Any], n: int = n, who: str = who) -> dict[str, Any]:
                    return {**doc, "error": f"mark-{who}-{n}", "settled": False}

                (a_store if pub is pubs_a[0] else b_store)._store.mutate(BAKE, key, change, index_fn=bake_index)  # noqa: SLF001
                started = time.monotonic()
                pub.mark_dirty(key)
                while text not in chat.sent:
                    time.sleep(0.002)
                lat.append(chat.sent[text] - started)
                time.sleep(0.05)
            lat.sort()
            p50, p99 = statistics.median(lat), lat[int(len(lat) * 0.99) - 1]
            print(f"mark_dirty on the {who} -> edit sent: p50 {p50 * 1000:.0f} ms, max/p99 {p99 * 1000:.0f} ms")
        stop.set()
        lease_stop.set()
        for p in (*pubs_a, *pubs_b):
            p.wake()
        for t in threads:
            t.join(5)


if __name__ == "__main__":
    main()
