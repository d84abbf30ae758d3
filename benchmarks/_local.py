"""Starts the same local stack the end-to-end tests use (moto, Slack stand-in, CodePipeline, git), without pytest."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


@contextlib.contextmanager
def local_bakery(**start_kwargs: Any) -> Iterator[Any]:
    """Yields a started `tests.fixtures.bakery.Bakery`; everything is torn down afterwards."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="eu-west-1",
        AWS_REGION="eu-west-1", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true", MOTO_EC2_LOAD_DEFAULT_AMIS="false",
    )
    from moto.server import ThreadedMotoServer

    from bot.sandbox.slack_api import SlackApiStandIn
    from tests.fixtures.bakery import bakery_stack

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
    slack = SlackApiStandIn(usergroups={"S0PLATFORM": ("U0ALICE", "U0BOB")}).start()
    try:
        with tempfile.TemporaryDirectory(prefix="bakery-bench-") as tmp:
            with bakery_stack(slack, Path(tmp), os.environ.__setitem__) as start:
                yield start(**start_kwargs)
    finally:
        slack.stop()
        moto.stop()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]
