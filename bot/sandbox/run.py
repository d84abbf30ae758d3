"""`bakery sandbox`: the whole bakery on one offline machine (CONTRACT §9)."""

from __future__ import annotations

import sys


def run_sandbox(*, port: int, config: str | None) -> int:
    # The sandbox (local AWS, local pipeline, Slack stand-in page) is issue #5; until it lands, say
    # plainly what runs today instead of pretending.
    print(
        "bakery sandbox: the offline sandbox is not built yet (tracked as issue #5).\n"
        "Today you can run the bot against real Slack and AWS:\n"
        "  cp bakery.example.yaml bakery.yaml   # then edit images, access and notifications\n"
        "  export SLACK_BOT_TOKEN=xoxb-… SLACK_SIGNING_SECRET=…\n"
        "  .venv/bin/bakery check --aws && .venv/bin/bakery serve --port 3000\n"
        "and `make test` runs the whole bake loop end to end against local stand-ins.",
        file=sys.stderr,
    )
    return 3
