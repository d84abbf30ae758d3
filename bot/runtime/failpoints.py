"""Failpoints: named places where a fault test may kill this process, to prove another replica finishes the work.

`failpoint("bake.commit.pushed")` does nothing unless `BAKERY_FAILPOINTS` (comma-separated names, read once at
import) lists that name; then the process sends itself SIGKILL on the spot: no cleanup, no flush, exactly like
a lost host. The points are named in the places that matter for exactly-once effects (CONTRACT §15):

- `bake.commit.pushed`: after the bake's commit was pushed, before its record knows the commit;
- `approval.claimed`: after an approval click was claimed, before `put_approval_result`;
- `rollout.refresh.started`: after `StartInstanceRefresh`, before the rollout's record knows the refresh;
- `publish.posted`: after `chat.postMessage`, before the message's ts is saved.
"""

from __future__ import annotations

import logging
import os
import signal

log = logging.getLogger(__name__)

POINTS = frozenset({"bake.commit.pushed", "approval.claimed", "rollout.refresh.started", "publish.posted"})
_ARMED = frozenset(name.strip() for name in os.environ.get("BAKERY_FAILPOINTS", "").split(",") if name.strip())


def armed() -> frozenset[str]:
    return _ARMED


def failpoint(name: str) -> None:
    if name not in POINTS:
        raise ValueError(f"unknown failpoint {name!r}")
    if name in _ARMED:
        log.warning("failpoint.kill point=%s pid=%d", name, os.getpid())
        for handler in logging.getLogger().handlers:
            handler.flush()
        os.kill(os.getpid(), signal.SIGKILL)
