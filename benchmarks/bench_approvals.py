"""Approvals under a click storm: exactly one put_approval_result per approval, and how fast clicks are acked.

For each of --approvals bakes the pipeline reaches its Approve stage (local CodePipeline endpoint, events
through SQS); then --clicks signed block_actions requests, split between two approvers, hit the running
bot at the same moment. Printed: CodePipeline PutApprovalResult calls per approval (must be 1), click ack
latency (p50/p99/max over every click), and the Slack Web API calls the bot made per approval.
The bot runs in this process (as the end-to-end tests run it), so client threads share its CPUs.

Run: .venv/bin/python benchmarks/bench_approvals.py [--approvals 20] [--clicks 10]
"""

from __future__ import annotations

import argparse
import json
import threading
import time

from _local import local_stack, percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--approvals", type=int, default=20)
    parser.add_argument("--clicks", type=int, default=10)
    args = parser.parse_args()

    from tests.fixtures.bakery import APPROVER, REQUESTER, SECOND_APPROVER, block_actions

    with local_stack() as stack:
        bakery = stack(publish_interval=0.2)
        rids = []
        for i in range(args.approvals):
            answer = bakery.command(REQUESTER, f"base approval bench {i}")
            rids.append(answer["text"].split("`")[1])
        slack_calls = 0
        latencies: list[float] = []
        lock = threading.Lock()

        def click(user: str, message: dict) -> None:
            block = next(b for b in message["blocks"] if b["type"] == "actions" and "approval:" in b["block_id"])
            payload = block_actions(user, message, block, block["elements"][0])
            start = time.perf_counter()
            status, _ = bakery.post_slack({"payload": json.dumps(payload)})
            took = time.perf_counter() - start
            assert status == 200, status
            with lock:
                latencies.append(took)

        # One at a time, as CodePipeline runs them: a stage holds one execution, so one approval per action.
        for rid in rids:
            bakery.reach_approval("base", rid)
            bakery.wait(lambda: bakery.services.publisher.pending() == 0, what="the approval drawn")
            before = len(bakery.slack.calls())
            message = bakery.approval_card(rid)  # the buttons are on the card in the thread
            users = [APPROVER if n % 2 else SECOND_APPROVER for n in range(args.clicks)]
            threads = [threading.Thread(target=click, args=(u, message)) for u in users]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            bakery.wait(
                lambda rid=rid: bakery.services.bakes.get(rid).approvals[0].status == "approved",
                timeout=30,
                what=f"{rid} decided",
            )
            bakery.wait(lambda: bakery.services.workers.pending == 0, timeout=30, what="the workers to finish")
            bakery.wait(lambda: bakery.services.publisher.pending() == 0, what="the outcome drawn")
            slack_calls += len(bakery.slack.calls()) - before
        puts = bakery.codepipeline.operations.count("PutApprovalResult")
        decisions = bakery.codepipeline.decisions()
        per_approval = {d.token for d in decisions}
        ms = [x * 1000 for x in latencies]
        print(f"approvals: {len(rids)}, clicks: {len(ms)} ({args.clicks} at once per approval, two approvers)")
        per = puts / len(rids)
        print(f"PutApprovalResult calls: {puts} for {len(per_approval)} approvals ({per:.2f} per approval)")
        print(
            f"click ack latency: p50 {percentile(ms, 50):.1f} ms, p99 {percentile(ms, 99):.1f} ms, "
            f"max {max(ms):.1f} ms"
        )
        print(
            f"Slack Web API calls from the clicks to the drawn outcome: {slack_calls} "
            f"({slack_calls / len(rids):.1f} per approval, {args.clicks} private answers included)"
        )
        stack.stop(bakery)


if __name__ == "__main__":
    main()
