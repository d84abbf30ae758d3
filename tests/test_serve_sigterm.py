"""`bakery serve` on SIGTERM with an SQS queue: exits 0 within its budget, hands the lease and the message
it was receiving back (CONTRACT §15, issue 14 item 3)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from bot.state.sqlite import SqliteStore
from tests.fixtures.bakery import make_bare_repo
from tests.fixtures.waiting import wait_for
from tests.test_cli import BAKERY, listening_url, slack_env

CONFIG = """
slack: {{channel: C0BAKERY}}
access: {{bakers: ["*"]}}
state: {{path: {state}}}
notifications: {{queue_url: {queue_url}}}
images:
  base: {{repository: {repo}, pipeline: ami-bakery-base}}
"""
BUDGET = 20


def test_sigterm_hands_back_the_message_being_received_and_the_lease_and_exits_0_in_time(
    tmp_path: Path, slack_api, aws_session
):
    sqs = aws_session.client("sqs")
    # Five minutes of visibility: the message is seen again at once only if the bot hands it back.
    queue_url = sqs.create_queue(QueueName="ami-bakery-sigterm", Attributes={"VisibilityTimeout": "300"})["QueueUrl"]
    state = tmp_path / "state.db"
    config = tmp_path / "bakery.yaml"
    config.write_text(
        CONFIG.format(state=state, queue_url=queue_url, repo=make_bare_repo(tmp_path / "remotes", "base"))
    )
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [str(BAKERY), "serve", "--config", str(config), "--port", "0"],
            cwd=tmp_path,
            env=slack_env(slack_api, tmp_path, BAKERY_STOP_TIMEOUT=str(BUDGET)),
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        listening_url(proc, log)
        wait_for(
            lambda: "lease.acquired lease=housekeeping" in log.read_text(), what="the lease", explain=log.read_text
        )
        asked = time.monotonic()
        proc.terminate()
        # The consumer is in a 20 s long poll; it learns of the stop when the poll brings it a message.
        wait_for(lambda: "runtime.stopping" in log.read_text(), what="the stop to begin", explain=log.read_text)
        message_id = sqs.send_message(QueueUrl=queue_url, MessageBody="{}")["MessageId"]
        assert proc.wait(timeout=BUDGET + 5) == 0
        assert time.monotonic() - asked < BUDGET
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()

    said = log.read_text()
    assert f"sqs.released count=1 message_ids={message_id}" in said, said
    for step in ("requests", "intake", "bot"):
        assert f"bakery.stop step={step} took=" in said
    again = sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=0).get("Messages", [])
    assert [m["MessageId"] for m in again] == [message_id]
    store = SqliteStore(state)  # the process is gone, and with it its lock
    try:
        lease = store.lease_of("housekeeping")
        assert lease is not None and lease.expires_at == 0.0  # handed back, not left to lapse
    finally:
        store.close()
