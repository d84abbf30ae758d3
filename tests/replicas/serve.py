"""`bakery serve` for the process-level replica tests, with the bot's clocks of §15 shortened.

A real replica waits out a lease (15 s), a recovery period (60 s) and a claim (60 to 120 s) before it finishes
a dead one's work: right for production, too long for a test. This runs `bot.cli.main` unchanged, but first
gives `build_bot` shorter lengths, read from the environment (each optional; unset keeps the bot's own):

- BAKERY_TEST_LEASE_TTL, BAKERY_TEST_LEASE_RENEW, BAKERY_TEST_RECOVER_EVERY: `Options.leases` (LeaseTimes);
- BAKERY_TEST_CLAIM_SECONDS: how long a bake's commit claim, an approval's claim, a rollout start's claim and
  an image's lock (bot/lifecycle/locks.py, which a rollout start holds) last before another replica's recovery
  may take the work over (module constants and keyword defaults: no option carries them);
- BAKERY_TEST_SQS_WAIT: the SQS long poll's wait (`Options.sqs_wait_seconds`; 0 polls short).

`python -m tests.replicas.serve serve --port 0 …` takes `bakery`'s own arguments.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from typing import Any

PREFIX = "BAKERY_TEST_"


def _number(name: str) -> float | None:
    text = os.environ.get(PREFIX + name, "").strip()
    return float(text) if text else None


def _shorten_claims(seconds: float) -> None:
    from bot.approvals import service as approvals
    from bot.bakes import committing
    from bot.lifecycle import locks
    from bot.rollouts import launch

    approvals.CLAIM_SECONDS = seconds  # read at each claim
    launch.CLAIM_SECONDS = seconds
    committing.Committer.__init__.__kwdefaults__["claim_seconds"] = seconds  # the keyword's default, bound at def
    locks.ImageLocks.__init__.__kwdefaults__["hold_seconds"] = seconds


def _options() -> Any:
    from bot.runtime.leases import LeaseTimes
    from bot.wiring.build import Options

    lease: dict[str, float] = {}
    for key, name in (("ttl", "LEASE_TTL"), ("renew_every", "LEASE_RENEW"), ("recover_every", "RECOVER_EVERY")):
        if (value := _number(name)) is not None:
            lease[key] = value
    changes: dict[str, Any] = {"leases": dataclasses.replace(LeaseTimes(), **lease)}
    if (wait := _number("SQS_WAIT")) is not None:
        changes["sqs_wait_seconds"] = int(wait)
    return Options(**changes)


def main() -> int:
    import bot.wiring
    from bot import cli

    if (claims := _number("CLAIM_SECONDS")) is not None:
        _shorten_claims(claims)
    options = _options()
    build = bot.wiring.build_bot

    def build_bot(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("options", options)
        return build(*args, **kwargs)

    bot.wiring.build_bot = build_bot  # bot.cli imports it from here at serve time
    return cli.main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
