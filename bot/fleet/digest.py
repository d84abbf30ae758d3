"""The stale digest (§14): every target behind its image's newest good AMI for longer than `fleet.stale_after`
is named in a message to its image's channel, at most once a UTC day per channel, with its Roll out button.

Never twice for the same state, even across a restart or on several replicas: before anything is posted, two
claims are taken in the state store (create = conditional insert): one per (channel, UTC day), and one per
target state (the target, the AMIs it runs, the newest good AMI). A target whose state was named once is not
named again until that state changes; a channel that had its digest today waits for tomorrow. A post that fails
after its claims is not retried: the digest is a reminder, and a second post is worse than none.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from bot.config import Config
from bot.domain.ids import derived_key
from bot.domain.ports import Chat, StateStore
from bot.domain.times import iso, parse_time, utc_now
from bot.fleet.facts import TargetFleet
from bot.fleet.view import FleetView

log = logging.getLogger(__name__)

STATE_CLAIM = "fleet-digest-state"  # a target's state, named once
DAY_CLAIM = "fleet-digest-day"  # "<channel>|<YYYY-MM-DD>": the channel's digest of that UTC day

Render = Callable[[Sequence[TargetFleet]], tuple[str, list[dict[str, Any]]]]


def stale_targets(targets: Sequence[TargetFleet], *, stale_after: float, now: datetime) -> list[TargetFleet]:
    """The targets not current (behind, or on a revoked AMI) since longer than `stale_after` seconds."""
    limit = now.timestamp() - stale_after
    return [
        t
        for t in targets
        if t.not_current and t.behind_since is not None and parse_time(t.behind_since).timestamp() <= limit
    ]


def state_of(target: TargetFleet) -> str:
    """What "the same state" means: the target, every AMI it runs, and the AMI it should run."""
    return f"{target.target}|{','.join(sorted({a.ami_id for a in target.runs}))}|{target.newest or ''}"


class StaleDigest:
    def __init__(
        self,
        *,
        config: Config,
        view: FleetView,
        store: StateStore,
        chat: Chat,
        render: Render,
        clock: Callable[[], datetime] = utc_now,
    ):
        self._config = config
        self._view = view
        self._store = store
        self._chat = chat
        self._render = render
        self._clock = clock

    def run_once(self) -> list[str]:
        """Post each channel's digest if it is due; returns the channels posted to."""
        now = self._clock()
        every = self._view.standings(self._view.targets_of(None))
        by_channel: dict[str, list[TargetFleet]] = {}
        for target in stale_targets(every, stale_after=self._config.fleet.stale_after, now=now):
            by_channel.setdefault(self._config.images[target.image].channel, []).append(target)
        posted = [channel for channel, targets in by_channel.items() if self._post(channel, targets, now)]
        log.info("fleet.digest_checked stale=%d posted=%s", sum(map(len, by_channel.values())), ",".join(posted))
        return posted

    def _post(self, channel: str, targets: list[TargetFleet], now: datetime) -> bool:
        fresh = [t for t in targets if self._store.get(STATE_CLAIM, derived_key("fd", state_of(t))) is None]
        if not fresh:
            return False
        day = now.strftime("%Y-%m-%d")
        if not self._store.create(DAY_CLAIM, f"{channel}|{day}", {"channel": channel, "day": day, "at": iso(now)}):
            return False  # this channel had its digest today (here or on another replica)
        named = [
            t
            for t in fresh
            if self._store.create(STATE_CLAIM, derived_key("fd", state_of(t)), {"state": state_of(t), "at": iso(now)})
        ]
        if not named:
            return False
        text, blocks = self._render(named)
        self._chat.post(channel=channel, text=text, blocks=blocks)
        log.info("fleet.digest_posted channel=%s targets=%s", channel, ",".join(t.target for t in named))
        return True
