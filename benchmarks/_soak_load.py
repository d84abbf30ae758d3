"""The soak's steady mixed load (benchmarks/soak.py), driven like people in the channel, one tick at a time.

- Bakes of base and web in turn, `--rate` a minute in all, as carol, each `/bake` sent to the next replica. An
  image bakes one at a time: the local pipeline polls its branch, so two commits between two polls would start
  one execution for both (a sandbox limit, not the bot's); a bake due while its image is busy waits (counted).
- Approvals: every approval card that shows is approved by alice, the click sent to one replica and a second
  press of the same button to the other (a person's double click, or Slack's retry, reaching the other replica).
- The upstream watch: every `--upstream-every` s, an upstream AMI change published as Amazon does (the sandbox's
  `POST /api/upstream`: the parameter moved, a notice on the upstream topic): one train, whose base bake is
  approved as above; once released, its **Rebake web** is pressed (twice, one press per replica), so the train
  goes on to a web bake.
- A rollout now and then: every `--rollout-every` s, **Roll out web-prod** on the newest released web bake, one
  press per replica.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Any

BAKE_ID = re.compile(r"`(b-[0-9a-z]+)`")
REQUESTER, APPROVER = "U0CAROL", "U0ALICE"
RELEASED = "*Publish* succeeded"
BUSY_LIMIT = 180.0  # s: an image busy longer than this is reported stuck, and the load goes on past it


def text_of(message: dict[str, Any]) -> str:
    return json.dumps(message.get("blocks")) + str(message.get("text", ""))


def bake_of(message: dict[str, Any]) -> str | None:
    """The bake a top-level bake message is about: the first bake id it names."""
    found = BAKE_ID.search(text_of(message))
    return found.group(1) if found else None


def has_button(message: dict[str, Any], action_id: str) -> bool:
    return f'"action_id": "{action_id}"' in json.dumps(message.get("blocks"))


@dataclass
class Asked:
    """What the soak asked for; the report compares the world's effects with it."""

    bakes: dict[str, str] = field(default_factory=dict)  # request id -> image (carol's /bake)
    deferred: int = 0  # bakes due while their image was busy
    approvals: dict[str, int] = field(default_factory=dict)  # approval card's thread -> first replica clicked
    upstream: list[str] = field(default_factory=list)  # the upstream AMIs published
    rebakes: list[str] = field(default_factory=list)  # train base bakes whose Rebake web was pressed
    rollouts: list[str] = field(default_factory=list)  # web bakes whose Roll out web-prod was pressed
    stuck: list[str] = field(default_factory=list)  # what stayed busy past BUSY_LIMIT
    errors: list[str] = field(default_factory=list)  # the soak's own failures to drive (a refused request…)


class Load:
    def __init__(self, replicas: Any, *, rate: float, upstream_every: float, rollout_every: float):
        self.r = replicas
        self.asked = Asked()
        self._bake_every = 60.0 / rate
        self._upstream_every, self._rollout_every = upstream_every, rollout_every
        self._next_bake = self._next_upstream = self._next_rollout = time.monotonic()
        self._next_upstream += 20.0  # the first train after the first bakes have started
        self._next_rollout += 40.0
        self._turn = 0  # the replica the next request goes to
        self._images = ["base", "web"]
        self._busy: dict[str, tuple[float, Any]] = {}  # image -> (since, a predicate: free again?)
        self._requests: dict[str, str] = {}  # commit sha -> its bake-request.json's request id ("" if none)

    # --- helpers --------------------------------------------------------------------------------

    def _replica(self) -> int:
        self._turn += 1
        return self._turn % 2

    def tops(self) -> list[dict[str, Any]]:
        return [m for m in self.r.messages() if not m.get("thread_ts") and not m.get("ephemeral_to")]

    def thread(self, rid: str) -> list[dict[str, Any]]:
        """The replies in the bake's thread."""
        tops = {m["ts"] for m in self.r.bake_messages(rid)}
        return [m for m in self.r.messages() if m.get("thread_ts") in tops]

    def released(self, rid: str) -> bool:
        return any(RELEASED in text_of(m) for m in self.r.bake_messages(rid))

    def _account(self, image: str) -> str:
        config = self.r.world.sandbox.config
        return str(config.images[image].account or config.bakery_account)

    def commits(self, image: str) -> list[str]:
        """The request id of each commit on the image's branch (in its account's CodeCommit), oldest first."""
        sandbox = self.r.world.sandbox
        bare = sandbox.codecommit.in_account(self._account(image)).bare_path(f"ami-bakery-{image}")
        shas = _git(bare, "log", "--reverse", "--format=%H", "main").split()
        for sha in shas:
            if sha not in self._requests:
                shown = subprocess.run(
                    ["git", "-C", str(bare), "show", f"{sha}:bake-request.json"], capture_output=True, text=True
                )
                self._requests[sha] = json.loads(shown.stdout).get("request_id", "") if shown.returncode == 0 else ""
        return [self._requests[sha] for sha in shas if self._requests[sha]]

    def bake_commits(self, image: str, rid: str) -> int:
        return self.commits(image).count(rid)

    def decisions(self) -> list[Any]:
        """Every put_approval_result the local CodePipeline accepted, in every account a pipeline lives in."""
        codepipeline = self.r.world.sandbox.codepipeline
        accounts = {self._account(image) for image in self._images}
        return [d for account in sorted(accounts) for d in codepipeline.in_account(account).decisions()]

    def automatic(self, image: str) -> list[str]:
        """The bakes of `image` the soak did not ask for with /bake (the trains'), oldest first."""
        return [rid for rid in dict.fromkeys(self.commits(image)) if rid not in self.asked.bakes]

    def _free(self, image: str, now: float) -> bool:
        if image not in self._busy:
            return True
        since, free = self._busy[image]
        if free():
            del self._busy[image]
            return True
        if now - since > BUSY_LIMIT:
            self.asked.stuck.append(f"{image} busy for {now - since:.0f} s (since {time.strftime('%H:%M:%S')})")
            del self._busy[image]
            return True
        return False

    def busy(self) -> bool:
        now = time.monotonic()
        return any(not self._free(image, now) for image in list(self._busy))

    # --- one tick -------------------------------------------------------------------------------

    def tick(self, *, adding: bool) -> None:
        now = time.monotonic()
        self._approve()
        self._rebake()
        if not adding:
            return
        if now >= self._next_bake:
            self._next_bake += self._bake_every
            self._bake(now)
        if now >= self._next_upstream:
            self._next_upstream += self._upstream_every
            self._upstream(now)
        if now >= self._next_rollout:
            self._next_rollout += self._rollout_every
            self._rollout()

    def _bake(self, now: float) -> None:
        image = self._images[len(self.asked.bakes) % 2]
        if not self._free(image, now):
            self.asked.deferred += 1
            return
        n = len(self.asked.bakes)
        answer = self.r.post_command(self._replica(), REQUESTER, f"{image} --force soak {n}")
        found = BAKE_ID.search(json.dumps(answer))
        if not found:
            self.asked.errors.append(f"/bake {image}: {json.dumps(answer)[:300]}")
            return
        rid = found.group(1)
        self.asked.bakes[rid] = image
        self._busy[image] = (now, lambda: self.released(rid))

    def _approve(self) -> None:
        tops = {m["ts"]: m for m in self.tops()}
        for message in self.r.messages():
            thread = message.get("thread_ts")
            if not thread or thread in self.asked.approvals or thread not in tops:
                continue
            if has_button(message, "bake_approve"):
                first = self._replica()
                self.asked.approvals[thread] = first
                self.r.click(first, APPROVER, message, "bake_approve")
                self.r.click(1 - first, APPROVER, message, "bake_approve")  # the second press, to the other

    def _upstream(self, now: float) -> None:
        if not self._free("base", now):
            self._next_upstream = now + 5.0  # as soon as base is free
            return
        url = f"{self.r.world.sandbox.url}/api/upstream"
        request = urllib.request.Request(
            url, data=b'{"image": "base"}', headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 - the sandbox's page, loopback
            self.asked.upstream.append(json.loads(reply.read())["ami_id"])
        trains = len(self.asked.upstream)
        self._busy["base"] = (now, lambda: self._trains_released("base", trains))

    def _trains_released(self, image: str, count: int) -> bool:
        bakes = self.automatic(image)
        return len(bakes) >= count and all(self.released(rid) for rid in bakes)

    def _rebake(self) -> None:
        """Press Rebake web on each released train base bake, once (two presses, one per replica)."""
        now = time.monotonic()
        for rid in self.automatic("base"):
            if rid in self.asked.rebakes or not self.released(rid) or not self._free("web", now):
                continue
            message = next((m for m in self.thread(rid) if has_button(m, "bake_children")), None)
            if message is None:
                continue
            self.asked.rebakes.append(rid)
            first = self._replica()
            self.r.click(first, APPROVER, message, "bake_children")
            self.r.click(1 - first, APPROVER, message, "bake_children")
            rebakes = len(self.asked.rebakes)
            self._busy["web"] = (now, lambda n=rebakes: self._trains_released("web", n))

    def _rollout(self) -> None:
        webs = [rid for rid, image in self.asked.bakes.items() if image == "web" and rid not in self.asked.rollouts]
        for rid in reversed(webs):
            message = next((m for m in self.r.bake_messages(rid) if has_button(m, "rollout_start")), None)
            if message is not None and self.r.refreshes_started() == len(self.asked.rollouts):
                self.asked.rollouts.append(rid)
                first = self._replica()
                self.r.click(first, APPROVER, message, "rollout_start")
                self.r.click(1 - first, APPROVER, message, "rollout_start")
                return
        self._next_rollout = time.monotonic() + 10.0  # none to roll yet (or the last still starting): soon


def _git(bare: Any, *args: str) -> str:
    return subprocess.run(["git", "-C", str(bare), *args], check=True, capture_output=True, text=True).stdout
