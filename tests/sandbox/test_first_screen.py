"""What a newcomer meets in the sandbox: the welcome, links that open the sandbox's own views, a quiet terminal."""

from __future__ import annotations

import json
import re
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.sandbox.config import FAIL_EXAMPLE
from tests.sandbox.sandbox_process import APPROVER, OUTSIDER, REQUESTER, SandboxProcess, request_id_of

# One sandbox for the module (its fixture starts `bakery sandbox`, ~8 s): under `make test`'s workers the whole
# module runs on one of them (--dist loadgroup), so it starts once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sandbox-first-screen")]

ROOT = Path(__file__).resolve().parents[2]
LINK = re.compile(r"<(https?://[^|>]+)\|")


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxProcess]:
    box = SandboxProcess(stage_seconds=0.1)
    try:
        yield box
    finally:
        assert box.stop() == 0, "".join(box.stderr[-30:])


def open_text(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as resp:  # noqa: S310 - the sandbox on loopback
        assert resp.status == 200
        return str(resp.read().decode())


def channel_json(sandbox: SandboxProcess) -> str:
    return json.dumps([m for m in sandbox.messages() if not m.get("ephemeral_to")])


def waiting_approval(sandbox: SandboxProcess, rid: str) -> dict:
    """The message (bake message or thread reply) that carries the Approve button of bake `rid`."""
    return sandbox.wait(
        lambda: next(
            (m for m in sandbox.messages() if rid in json.dumps(m) and "bake_approve" in json.dumps(m["blocks"])),
            None,
        ),
        what=f"bake {rid}'s approval",
    )


def test_the_first_message_is_the_sandboxs_welcome_naming_each_user_and_what_to_try(sandbox):
    first = sandbox.messages()[0]
    assert first["username"] == "sandbox" and not first["ephemeral_to"] and not first["thread_ts"]
    text = json.dumps(first["blocks"])
    for user in sandbox.get("/api/users"):
        assert f"*{user['name']}*: {user['title']} ({', '.join(user['roles'])})" in text, (user, text)
    assert "As *carol*, type `/bake base`" in text
    assert "switch to *alice* or *bob*" in text and "Approve" in text
    assert f"`/bake base {FAIL_EXAMPLE}` makes the Test stage fail" in text


def test_mallory_is_described_as_what_she_is(sandbox):
    mallory = next(u for u in sandbox.get("/api/users") if u["id"] == OUTSIDER)
    # The example lets everyone bake: she is a baker, outside the platform team, and nothing more.
    assert mallory["roles"] == ["baker"]
    assert "outsider" not in mallory["title"] and "not on the platform team" in mallory["title"]
    readme = " ".join((ROOT / "README.md").read_text().split())
    assert "mallory is an outsider" not in readme
    assert "mallory is not on the platform team: like everyone here she may bake" in readme


def test_commit_execution_and_console_links_open_the_sandboxs_own_views(sandbox):
    rid = request_id_of(sandbox.command(REQUESTER, "base links of the sandbox"))
    waiting_approval(sandbox, rid)
    shown = channel_json(sandbox)
    assert "console.aws.amazon.com" not in shown
    links = set(LINK.findall(shown))
    commit = next(u for u in links if "/commits/base/" in u)
    execution = next(u for u in links if "/executions/ami-bakery-base/" in u)
    assert commit.startswith(sandbox.url) and execution.startswith(sandbox.url)

    commit_page = open_text(commit)
    assert f"Bakery-Request: {rid}" in commit_page and "bake-request.json" in commit_page
    assert "sandbox_fail" in commit_page  # the commit carries the defaults the message does not list
    execution_page = open_text(execution)
    for stage in ("Source", "Validate", "Bake", "Test"):
        assert re.search(rf"<b>{stage}</b></td><td>Succeeded", execution_page), execution_page
    assert re.search(r"<b>Approve</b></td><td>InProgress", execution_page)

    bake_log = open_text(re.search(r"href='(/logs/[^']+/Bake)'", execution_page).group(1).join([sandbox.url, ""]))
    assert "$ packer build" in bake_log and re.search(r"AMI ami-[0-9a-f]+ created from ami-", bake_log), bake_log
    assert len(bake_log.splitlines()) >= 4  # a few real lines of what the local stage did

    approval = waiting_approval(sandbox, rid)
    sandbox.click(APPROVER, approval["ts"], "bake_approve")
    sandbox.wait(lambda: re.search(r"Publish\*? succeeded", channel_json(sandbox)), what="the bake to be released")


def test_the_bake_message_does_not_list_sandbox_fail_unless_it_was_set(sandbox):
    plain = request_id_of(sandbox.command(REQUESTER, "base --force nothing to fail"))
    failing = request_id_of(sandbox.command(REQUESTER, f"base --force {FAIL_EXAMPLE} on purpose"))
    sandbox.wait(lambda: sandbox.bake_message(plain) and sandbox.bake_message(failing), what="both messages")
    assert "sandbox_fail" not in json.dumps(sandbox.bake_message(plain)["blocks"])
    assert FAIL_EXAMPLE in json.dumps(sandbox.bake_message(failing)["blocks"])
    approval = waiting_approval(sandbox, plain)  # one execution at a time: the failing one waits for it
    sandbox.click(APPROVER, approval["ts"], "bake_approve")
    # The approval is decided before the failing bake runs: the last test counts this decision.
    sandbox.wait(
        lambda: re.search(r"Publish\*? succeeded", json.dumps(sandbox.bake_message(plain))), what="plain's release"
    )
    sandbox.wait(lambda: "failed" in sandbox.bake_message(failing)["text"], what="the Test stage to fail")


def test_the_terminal_shows_the_address_then_one_line_per_event(sandbox):
    """The terminal keeps to the address, the hint, and one line per event. This test makes its own events (a
    bake approved and released), so it holds whatever ran before it on this sandbox, or nothing did."""
    rid = request_id_of(sandbox.command(REQUESTER, "base --force for the terminal"))
    sandbox.click(APPROVER, waiting_approval(sandbox, rid)["ts"], "bake_approve")
    sandbox.wait(lambda: re.search(r"Publish\*? succeeded", json.dumps(sandbox.bake_message(rid))), what="its release")
    sandbox.wait(lambda: any(f"approval.decided request_id={rid} " in line for line in sandbox.stderr), what="its line")
    out = "".join(sandbox.stdout)
    assert out.startswith("ami-bakery sandbox ready in ") and f"/bake base {FAIL_EXAMPLE}" in out
    assert len(sandbox.stdout) == 3, sandbox.stdout
    lines = list(sandbox.stderr)
    event = re.compile(r"^\d\d:\d\d:\d\d (bake|approval|rollout|sandbox)\.[a-z_]+ ")
    assert all(event.match(line) for line in lines), "".join(lines)
    # Per bake: opened, execution started and ended, and its approval opened and decided (or a stage failed).
    # The sandbox's train bakes web after each released base, so count the bakes that were opened.
    bakes = sum(" bake.opened " in line for line in lines)
    assert bakes >= 1 and len(lines) <= bakes * 5, "".join(lines)


def test_a_log_level_given_shows_the_full_log():
    box = SandboxProcess(stage_seconds=0.1, args=("--log-level", "INFO"))
    try:
        rid = request_id_of(box.command(REQUESTER, "base the full log"))
        waiting_approval(box, rid)
    finally:
        assert box.stop() == 0
    assert sum(" INFO bot.bakes.following event.applied " in line for line in box.stderr) >= 10
