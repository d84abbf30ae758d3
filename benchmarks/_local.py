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


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = max(0, min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


def offline_aws_environment() -> None:
    """What the suite's moto fixture sets (tests/fixtures/aws.py): no AWS_ variable of the caller's is left, so
    nothing can reach a real AWS account."""
    for name in [n for n in os.environ if n.startswith("AWS_")]:
        del os.environ[name]
    os.environ.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_SESSION_TOKEN="testing",
        AWS_DEFAULT_REGION="eu-west-1",
        AWS_REGION="eu-west-1",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        MOTO_EC2_LOAD_DEFAULT_AMIS="false",
    )


@contextlib.contextmanager
def local_stack(extra_env: dict[str, str] | None = None) -> Iterator[Any]:
    """Yields a `tests.fixtures.bakery.BakeryStack` (moto, Slack stand-in, CodePipeline, bare repos), no bot.

    `extra_env` (e.g. AWS_ENDPOINT_URL_SQS) is set after the AWS variables are cleared.
    """
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto logs every request otherwise
    offline_aws_environment()
    from moto.server import ThreadedMotoServer

    from bot.sandbox.slack.api import SlackApiStandIn
    from tests.fixtures.bakery import BakeryStack

    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    os.environ["AWS_ENDPOINT_URL"] = f"http://{host}:{port}"
    os.environ.update(extra_env or {})
    slack = SlackApiStandIn(usergroups={"S0PLATFORM": ("U0ALICE", "U0BOB")}).start()
    try:
        with tempfile.TemporaryDirectory(prefix="bakery-bench-") as tmp:
            stack = BakeryStack(slack, Path(tmp), os.environ.__setitem__)
            try:
                yield stack
            finally:
                stack.close()
    finally:
        slack.stop()
        moto.stop()


@contextlib.contextmanager
def serve_process(stack: Any, *, backend: str = "sqlite", extra_env: dict[str, str] | None = None) -> Iterator[str]:
    """Runs `bakery serve` as its own process against the stack, as in production; yields its URL."""
    import socket
    import subprocess
    import time
    import urllib.request

    config = stack.root / "bakery.yaml"
    config.write_text(stack.config_text(backend))
    env = stack.environment()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc_env = {
        **os.environ,
        "SLACK_BOT_TOKEN": env.slack_bot_token,
        "SLACK_SIGNING_SECRET": env.slack_signing_secret,
        "SLACK_API_URL": env.slack_api_url,
        "BAKERY_WORKDIR": env.workdir,
        **(extra_env or {}),
    }
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/bakery"),
            "serve",
            "--config",
            str(config),
            "--port",
            str(port),
            "--log-level",
            "WARNING",
        ],
        env=proc_env,
        cwd=str(stack.root),
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{url}/healthz", timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("bakery serve did not come up") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def make_target(session: Any, region: str, name: str, ami: str) -> None:
    """A launch template on `ami` and an Auto Scaling group of 2 instances launched from it (the benchmarks' target)."""
    template = session.client("ec2", region_name=region).create_launch_template(
        LaunchTemplateName=name, LaunchTemplateData={"ImageId": ami, "InstanceType": "t3.micro"}
    )["LaunchTemplate"]["LaunchTemplateId"]
    session.client("autoscaling", region_name=region).create_auto_scaling_group(
        AutoScalingGroupName=name,
        LaunchTemplate={"LaunchTemplateId": template, "Version": "1"},
        MinSize=0,
        MaxSize=4,
        DesiredCapacity=2,
        AvailabilityZones=[f"{region}a"],
    )
