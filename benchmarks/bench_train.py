"""Patch latency: from one upstream release to every configured target rolled, N trains in a row (issue 11 item 10).

One `bakery sandbox` (its own processes, as a user runs it, `--log-level INFO`) with fixed stage and refresh
durations runs --warmup trains (default 1, not counted: the bot's first one creates its AWS clients), then
--trains measured ones, one after the other: `POST /api/upstream {"image": "base"}`, and the train runs by itself
(the sandbox's configuration: base -> web, on_parent_release: bake -> web-prod, on_release: auto). The bench
clicks each approval, as alice (bakes) or bob (the rollout), as soon as its button shows (polling every --poll
s). A click is what a person does, so each hop after a click is timed from the click, not from the poll.

Printed: the train's wall time (upstream notice published -> the last refresh Successful); the inherent stage
and refresh time: the chain's bakes x 6 stages x --stage-seconds (the local pipeline pauses that long in every
stage, Approve included) + one --refresh-seconds (targets roll side by side); the bot's own latency per hop,
p50 / p99 / max over the trains (p99 is the nearest rank: with 20 trains, the maximum), from the event that
enables the hop to the bot's action that starts it:
  upstream   topic message published -> root bake committed
  child      parent's Publish succeeded -> child bake committed
  approval   click -> PutApprovalResult accepted
  rollout    last image's Publish succeeded -> rollout opened; its approval click -> StartInstanceRefresh
Clocks (all the machine's wall clock; the sandbox runs with TZ=UTC, its log lines to the ms, truncated):
  published      the earlier of the sandbox's `sandbox.upstream_released` line (logged as its SNS publish call
                 returns) and the bot's `intake.upstream` line: at most that call's few ms after the message exists
  committed, rollout opened   the bot's `bake.committed` (after CreateCommit answered) and `rollout.opened` lines
  Publish succeeded, PutApprovalResult   the local CodePipeline's `lastStatusChange` of the MarkReleased and
                 Release actions (GetPipelineState, µs), read when the execution is over and checked against it
  click          the bench's clock just before it sends POST /api/click (the page signs and forwards it, as Slack)
  StartInstanceRefresh, Successful   the local Auto Scaling's StartTime and EndTime (ms)
Also printed, not hops: how long each button took to show (Approve stage opened -> card posted; rollout opened ->
its message posted: the Slack stand-in's ts), the sandbox's own commit -> execution start (it polls the branch),
and fleet rolled -> the bot saw it (its rollout poll). The bot's share of a train at the README's typical
durations (per bake Validate 1, Bake 15, Test 5, Publish 1 minutes; a refresh taken as one `instance_warmup`)
uses the sum of the per-hop p99s. At the sandbox's pace the share means nothing.

Run: .venv/bin/python benchmarks/bench_train.py [--trains 20] [--stage-seconds 0.2] [--refresh-seconds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

from _local import percentile
from _sandbox_log import Log, wait

from bot.config import load_config
from bot.domain.models import STAGES

README_BAKE_SECONDS = 60 * (1 + 15 + 5 + 1)  # README "Per bake": Validate 1, Bake 15, Test 5, Publish 1 (minutes)
BAKE_APPROVER, ROLLOUT_APPROVER = "U0ALICE", "U0BOB"
WARM_UP = " (not counted: the bot's first train creates its AWS clients, e.g. Auto Scaling's, and fills caches)"


def action_state(cp: Any, pipeline: str, stage: str) -> tuple[dict[str, Any], str]:
    """(the stage's action's latest execution, the stage's latest pipeline execution id)."""
    state = next(s for s in cp.get_pipeline_state(name=pipeline)["stageStates"] if s["stageName"] == stage)
    latest = state["actionStates"][0].get("latestExecution") or {}
    return latest, (state.get("latestExecution") or {}).get("pipelineExecutionId", "")


class Train:
    """One train, driven like a person: the hops' and the side figures' seconds end up in `out`."""

    def __init__(self, box: Any, log: Log, aws: dict[str, Any], opt: Any):
        self.box, self.log, self.aws, self.opt = box, log, aws, opt
        log.find("-")  # parse what is there: `mark` is where this train's lines begin
        self.mark = len(log.events)
        self.out: dict[str, float] = {}

    def until(self, event: str, what: str, **fields: str) -> tuple[float, dict[str, str]]:
        return wait(lambda: self.log.find(event, self.mark, **fields), what, self.opt.timeout, self.opt.poll, self.box)

    def button(self, action_id: str, match: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        def shown() -> dict[str, Any] | None:
            return next(
                (m for m in self.box.messages() if match(m) and f'"{action_id}"' in json.dumps(m["blocks"])), None
            )

        return wait(shown, what, self.opt.timeout, self.opt.poll, self.box)

    def click(self, user: str, message: dict[str, Any], action_id: str) -> float:
        clicked_at = time.time()
        status, body = self.box.click(user, message["ts"], action_id)
        if status != 200:
            raise RuntimeError(f"{action_id} on {message['ts']}: {status} {body}")
        return clicked_at

    def run(self, chain: list[Any], targets: list[Any]) -> dict[str, float]:
        status, answer = self.box.request("POST", "/api/upstream", {"image": chain[0].name})
        if status != 200:
            raise RuntimeError(f"POST /api/upstream answered {status}: {answer}")
        released = self.until("sandbox.upstream_released", "upstream release", ami_id=answer["ami_id"])[0]
        intake = self.log.find("intake.upstream", self.mark)
        published = enabled = min(released, intake[0]) if intake else released
        cause, hop = f"upstream:{chain[0].upstream.ssm_parameter}={answer['ami_id']}", "upstream: topic"
        for image in chain:
            rid, enabled = self.bake(image, cause, f"{hop} -> {image.name} commit", enabled)
            cause, hop = f"parent:{rid}", "child: parent released"
        ends = [self.roll(target, chain[-1].name, enabled) for target in targets]
        self.out["wall"] = max(rolled for rolled, _ in ends) - published
        self.out["wall to reported"] = max(reported for _, reported in ends) - published
        return self.out

    def bake(self, image: Any, cause: str, hop: str, enabled: float) -> tuple[str, float]:
        """The bake `cause` opens, from its commit to its release; (its request id, when Publish succeeded)."""
        rid = self.until("bake.opened", f"{image.name} bake", image=image.name, cause=cause)[1]["request_id"]
        committed, fields = self.until("bake.committed", f"{rid} commit", request_id=rid)
        self.out[hop] = committed - enabled
        started, run = self.until("sandbox.execution_started", f"{rid} execution", commit=fields["commit"])
        self.out[f"(sandbox) {image.name} commit -> execution start"] = started - committed
        ts = self.until("publish.posted", f"{rid} message", kind="bake", key=rid)[1]["ts"]
        card = self.button("bake_approve", lambda m: m.get("thread_ts") == ts, f"{rid} approval card")
        opened, _ = action_state(self.aws["cp"], image.pipeline, "Approve")  # the click overwrites it
        clicked_at = self.click(BAKE_APPROVER, card, "bake_approve")
        shown = float(card["ts"]) - opened["lastStatusChange"].timestamp()
        self.out[f"(shown) {image.name} approval card after the Approve stage opened"] = shown
        self.until("sandbox.execution_ended", f"{rid} execution's end", execution_id=run["execution_id"])
        return rid, self.released(image, run["execution_id"], clicked_at)

    def roll(self, target: Any, image: str, enabled: float) -> tuple[float, float]:
        """The target's rollout; (when its refresh was Successful, when the bot reported it)."""
        opened_at, fields = self.until("rollout.opened", f"{target.name} rollout", target=target.name)
        rollout_id = fields["rollout_id"]
        self.out[f"rollout: {image} released -> {target.name} rollout opened"] = opened_at - enabled
        clicked_at, label = opened_at, "rollout opened"
        if target.approval:
            ts = self.until("publish.posted", f"{rollout_id} message", kind="rollout", key=rollout_id)[1]["ts"]
            message = self.button("rollout_approve", lambda m: m["ts"] == ts, f"{rollout_id} button")
            clicked_at, label = self.click(ROLLOUT_APPROVER, message, "rollout_approve"), "click"
            self.out[f"(shown) {target.name} rollout message after the rollout opened"] = float(ts) - opened_at
        ended_at, fields = self.until("rollout.ended", f"{rollout_id} end", rollout_id=rollout_id)
        if fields.get("status") != "succeeded":
            raise RuntimeError(f"rollout {rollout_id} ended {fields.get('status')}")
        newest = self.aws["asg"].describe_instance_refreshes(AutoScalingGroupName=target.auto_scaling_group)
        start, end = (newest["InstanceRefreshes"][0][k].timestamp() for k in ("StartTime", "EndTime"))
        if start < clicked_at:
            raise RuntimeError(f"{target.name}: the newest refresh started before this train's {label}")
        self.out[f"rollout approval: {label} -> StartInstanceRefresh ({target.name})"] = start - clicked_at
        self.out[f"(bot) {target.name} fleet rolled -> rollout reported (rollout poll)"] = ended_at - end
        return end, ended_at

    def released(self, image: Any, execution_id: str, clicked_at: float) -> float:
        """The finished execution's Release and MarkReleased times: records the approval hop; returns the latter."""
        approve, _ = action_state(self.aws["cp"], image.pipeline, "Approve")
        publish, publish_execution = action_state(self.aws["cp"], image.pipeline, "Publish")
        if publish_execution != execution_id or publish.get("status") != "Succeeded":
            raise RuntimeError(f"{image.pipeline}: Publish of {execution_id} is not the latest, or did not succeed")
        put = approve["lastStatusChange"].timestamp()
        self.out[f"approval: click -> PutApprovalResult ({image.name})"] = put - clicked_at
        return float(publish["lastStatusChange"].timestamp())


def hops(figures: dict[str, float]) -> list[str]:
    return [n for n in figures if not n.startswith(("(", "wall"))]


def report(trains: list[dict[str, float]], inherent: float, how: str, typical: float, typical_how: str) -> None:
    def pct(name: str, p: float) -> float:
        return percentile([t[name] for t in trains], p)

    def ms(name: str) -> str:
        return (
            f"p50 {pct(name, 50) * 1000:5.0f} / p99 {pct(name, 99) * 1000:5.0f} / max {pct(name, 100) * 1000:5.0f} ms"
        )

    print(
        f"train wall time (upstream published -> last refresh Successful): p50 {pct('wall', 50):.2f} s, "
        f"max {pct('wall', 100):.2f} s (until the bot reports it: p50 {pct('wall to reported', 50):.2f} s)"
    )
    print(f"inherent stage and refresh time: {inherent:.2f} s = {how}")
    names = hops(trains[0])
    width = max(len(n) for n in trains[0])
    print("bot's added latency per hop (goal: each p99 <= 1000 ms):")
    for name in names:
        print(f"  {name:<{width}}  {ms(name)}")
    sums = {p: sum(pct(n, p) for n in names) for p in (50, 99)}
    over = [n for n in names if pct(n, 99) > 1.0]
    verdict = "met" if not over else "NOT met: " + ", ".join(over)
    print(f"  sum of the hops: of p50s {sums[50]:.2f} s, of p99s {sums[99]:.2f} s; goal {verdict}")
    print("not hops (the sandbox's own, a button showing, or a step that starts nothing):")
    for name in [n for n in trains[0] if n.startswith("(")]:
        print(f"  {name:<{width}}  {ms(name)}")
    rest = percentile([t["wall"] - inherent - sum(t[n] for n in names) for t in trains], 50)
    print(
        "rest of the wall time (the sandbox's events and branch polls, buttons showing, the bench's reaction): "
        f"p50 {rest:.2f} s"
    )
    share = sums[99] / (typical + sums[99])
    print(
        f"bot's share at the README's typical durations: {sums[99]:.2f} s (sum of p99s) / ({typical / 60:.0f} min + "
        f"{sums[99]:.2f} s) = {share:.3%} (goal <= 1 %); {typical_how}"
    )
    print(
        f"at the sandbox's pace the share is {sums[99] / (inherent + sums[99]):.0%}, which means nothing: "
        "its stages are stand-ins lasting a fraction of a second"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trains", type=int, default=20, help="trains measured (default 20)")
    parser.add_argument("--warmup", type=int, default=1, help="trains run first, not counted (default 1)")
    parser.add_argument("--stage-seconds", type=float, default=0.2, help="each pipeline stage (default 0.2)")
    parser.add_argument("--refresh-seconds", type=float, default=1.0, help="each instance refresh (default 1)")
    parser.add_argument("--poll", type=float, default=0.02, help="how often the bench looks for a button (s)")
    parser.add_argument("--gap", type=float, default=1.0, help="pause between trains: the last edits get drawn (s)")
    parser.add_argument("--timeout", type=float, default=60.0, help="longest wait for one step (s)")
    opt = parser.parse_args()
    if opt.trains < 1 or opt.warmup < 0:
        parser.error("--trains must be at least 1, --warmup at least 0")
    os.environ["TZ"] = "UTC"  # the sandbox inherits it: its log lines' times are UTC
    from tests.sandbox.sandbox_process import SandboxProcess

    # Ctrl-C while the sandbox starts would leave it running (its own session): held until it is up.
    interrupted: list[object] = []
    previous = signal.signal(signal.SIGINT, lambda *_: interrupted.append(True))
    try:
        box = SandboxProcess(
            stage_seconds=opt.stage_seconds, refresh_seconds=opt.refresh_seconds, args=("--log-level", "INFO")
        )
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        if interrupted:
            raise KeyboardInterrupt
        config = load_config(box.get("/api/info")["config"])
        chain = [next(i for i in config.images.values() if i.upstream)]
        while children := [i for i in config.images.values() if i.parent == chain[-1].name]:
            if len(children) > 1 or children[0].on_parent_release != "bake":
                raise SystemExit(f"error: {chain[-1].name}: the bench follows one child baked at once")
            chain.append(children[0])
        targets = [t for t in config.targets.values() if t.image == chain[-1].name and t.on_release == "auto"]
        aws = {"cp": box.aws("codepipeline"), "asg": box.aws("autoscaling")}
        log, trains = Log(box.stderr), []
        print(
            f"sandbox ready in {box.ready_after:.1f} s; trains: {opt.warmup} warm-up + {opt.trains} measured, "
            f"{' -> '.join(i.name for i in chain)} -> {', '.join(t.name for t in targets)}; "
            f"stage {opt.stage_seconds} s, refresh {opt.refresh_seconds} s"
        )
        for n in range(opt.warmup + opt.trains):
            figures = Train(box, log, aws, opt).run(chain, targets)
            slowest = max(hops(figures), key=figures.__getitem__)
            warm = n < opt.warmup
            print(
                f"  {'warm-up' if warm else f'train {n + 1 - opt.warmup}'}: {figures['wall']:.2f} s, slowest hop "
                f"{slowest} {figures[slowest] * 1000:.0f} ms{WARM_UP if warm else ''}",
                flush=True,
            )
            trains += [] if warm else [figures]
            time.sleep(opt.gap)
        how = (
            f"{len(chain)} bakes ({' -> '.join(i.name for i in chain)}) x {len(STAGES)} stages x "
            f"{opt.stage_seconds} s + 1 refresh x {opt.refresh_seconds} s"
        )
        warmup = max(t.instance_warmup for t in targets)
        typical = len(chain) * README_BAKE_SECONDS + warmup
        typical_how = (
            f"{len(chain)} bakes x 22 min + a refresh of one instance_warmup ({warmup} s); Source and "
            "Approve are not counted (seconds, and the person)"
        )
        report(trains, len(chain) * len(STAGES) * opt.stage_seconds + opt.refresh_seconds, how, typical, typical_how)
        return 0
    except KeyboardInterrupt:
        print("interrupted: stopping the sandbox", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        try:
            box.stop()
        except Exception:  # noqa: BLE001 - stop() kills the group when Ctrl-C does not end it
            box.kill()


if __name__ == "__main__":
    sys.exit(main())
