"""The lifecycle sweep's section of bench_fleet.py (issue 13 item 8): a sweep over 2,000 AMIs and 50 targets in
moto, its wall time and AWS calls per AMI: the listing and the references (read once per account and region for
every candidate), and, counted apart, the one re-check just before each deregistration and the deregistration.

2,000 AMIs of base in 5 regions (400 a region: 40 released, 360 unreleased, all older than the lifecycle keeps),
50 targets (10 a region) each on its own launch template naming the region's newest release, an Auto Scaling group
of 2 instances each. Lifecycle: keep_released 5, keep_unreleased_days 7, deprecate_after_days 3650 (no
deprecation: moto has no EnableImageDeprecation). The dry run runs --rounds times; then one real sweep removes
what it lists. Calls are counted with botocore `before-call` hooks on the sweep's session.

Run: .venv/bin/python benchmarks/bench_fleet.py --only sweep --rounds 2 (or this file alone, [--rounds 3])
"""

from __future__ import annotations

import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from _local import local_stack, make_target

ACCOUNT = "123456789012"
REGIONS = ("eu-west-1", "us-east-1", "us-west-2", "eu-central-1", "ap-southeast-2")
AMIS_PER_REGION = 400
RELEASED_PER_REGION = 40
TARGETS = 50
LIFECYCLE = "lifecycle: {keep_released: 5, keep_unreleased_days: 7, deprecate_after_days: 3650}\n"
SAMPLE_EVERY = 10  # the real sweep removes every 10th AMI the dry run lists
REFERENCE_CALLS = {"DescribeImageReferences", "DescribeInstances", "DescribeLaunchTemplateVersions"}


def sweep_config(text: str) -> str:
    """The test configuration with base's AMIs in 5 regions (share_with) and 50 targets of base in them."""
    others = ", ".join(REGIONS[1:])
    head = text.split("targets:\n")[0].replace(
        "    region: eu-west-1\n", f"    region: eu-west-1\n    share_with: {{regions: [{others}]}}\n", 1
    )
    lines = [
        f"  t{n:02d}: {{image: base, auto_scaling_group: t{n:02d}, launch_template: t{n:02d},"
        f" region: {REGIONS[n % len(REGIONS)]}}}"
        for n in range(TARGETS)
    ]
    return head + LIFECYCLE + "targets:\n" + "\n".join(lines) + "\n"


def seed(session: Any) -> dict[str, str]:
    """The AMIs (creation dates a day apart, oldest first) and the targets; returns each region's newest release."""
    from moto.ec2.models import ec2_backends  # moto runs in this process (local_stack's ThreadedMotoServer)

    newest: dict[str, str] = {}
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for region in REGIONS:
        ec2 = session.client("ec2", region_name=region)
        backend = ec2_backends[ACCOUNT][region]
        for n in range(AMIS_PER_REGION):
            ami = ec2.register_image(
                Name=f"base-{n:04d}",
                RootDeviceName="/dev/xvda",
                BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
            )["ImageId"]
            released = n >= AMIS_PER_REGION - RELEASED_PER_REGION
            tags = {"bakery:image": "base", "bakery:request-id": f"b-s{n:05d}"}
            if released:
                tags["bakery:released"] = "true"
            ec2.create_tags(Resources=[ami], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
            backend.amis[ami].creation_date = start + timedelta(hours=12 * n)
            newest[region] = ami
    for n in range(TARGETS):
        region = REGIONS[n % len(REGIONS)]
        make_target(session, region, f"t{n:02d}", newest[region])
    return newest


def floor_listing(session: Any) -> float:
    """The survey's floor: each region's DescribeImages of the bakery's AMIs with plain boto3, one after the other."""
    clients = [session.client("ec2", region_name=r) for r in REGIONS]
    start = time.perf_counter()
    for ec2 in clients:
        pages = ec2.get_paginator("describe_images").paginate(
            Owners=["self"], Filters=[{"Name": "tag-key", "Values": ["bakery:image"]}], IncludeDeprecated=True
        )
        sum(len(p["Images"]) for p in pages)
    return time.perf_counter() - start


class Calls:
    def __init__(self, session: Any) -> None:
        self.by_operation: Counter[str] = Counter()
        session.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.by_operation[model.name] += 1


def bench_sweep(rounds: int) -> None:
    with local_stack() as stack:
        from bot.config import parse_config
        from bot.domain.links import CONSOLE
        from bot.state.sqlite import SqliteStore
        from bot.wiring.adapters import Adapters, Clients
        from bot.wiring.lifecycle import build_sweep
        from tests.fixtures.aws import new_session

        started = time.perf_counter()
        seed(stack.session)
        seeded = time.perf_counter() - started
        config = parse_config(sweep_config(stack.config_text()))
        store = SqliteStore(stack.root / "sweep.db")
        # The sweep's own session, so that only its calls are counted: the local EC2 in front of moto reads moto
        # through the stack's session to answer DescribeImageReferences.
        own = new_session("eu-west-1")
        aws = Adapters(Clients(own, "eu-west-1"), workdir=str(stack.root / "work"), links=CONSOLE)
        sweep = build_sweep(config=config, store=store, aws=aws, default_region="eu-west-1")
        calls = Calls(own)
        sweep.dry_run()  # warm-up (not counted): the sweep's first survey makes its clients
        calls.by_operation.clear()
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            report = sweep.dry_run()
            times.append(time.perf_counter() - start)
        survey_calls = Counter({op: n // rounds for op, n in calls.by_operation.items()})
        floor = floor_listing(stack.session)
        calls.by_operation.clear()
        # The real sweep acts on a sample of what the dry run listed (as gc_confirm acts on what it showed): a
        # removal's cost does not depend on how many there are, and moto takes some 0.3 s for each.
        sample = {p.ami_id for p in report.removed[::SAMPLE_EVERY]}
        start = time.perf_counter()
        done = sweep.run(only=sample)
        run_wall = time.perf_counter() - start
        run_calls = calls.by_operation.copy()
        store.close()
    amis = len(REGIONS) * AMIS_PER_REGION
    removal_calls = run_calls - survey_calls  # what the run made beyond its own survey
    rechecks = sum(n for op, n in removal_calls.items() if op in REFERENCE_CALLS)
    listing = sum(n for op, n in survey_calls.items() if op not in REFERENCE_CALLS)
    references = sum(n for op, n in survey_calls.items() if op in REFERENCE_CALLS)
    removed = len(done.removed)
    total = sum(survey_calls.values())
    print(f"sweep: {amis} AMIs of base in {len(REGIONS)} regions, {TARGETS} targets (seeded in {seeded:.0f} s)")
    print(
        f"  dry run: would remove {len(report.removed)}, keep {report.kept} by the lifecycle, "
        f"{len(report.in_use)} in use; p50 {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
    )
    print(
        f"  survey calls: {total} for {amis} AMIs ({total / amis:.3f} per AMI):"
        f" listing {listing} ({listing / amis:.3f}/AMI), references {references} ({references / amis:.3f}/AMI)"
    )
    for op, n in sorted(survey_calls.items()):
        print(f"    {op}: {n}")
    print(f"  floor: plain DescribeImages of the 5 regions, one after the other: {floor * 1000:.0f} ms")
    print(
        f"  real sweep of every {SAMPLE_EVERY}th listed AMI: removed {removed} ({done.freed_gb} GB), "
        f"{len(done.failed)} failed, "
        f"wall {run_wall:.1f} s ({run_wall / max(removed, 1) * 1000:.0f} ms per removal)"
    )
    print(
        f"  per removal, counted apart: re-check {rechecks / max(removed, 1):.2f} calls "
        f"({sweep.rechecks} references() calls), all {sum(removal_calls.values()) / max(removed, 1):.2f} calls"
    )
    for op, n in sorted(removal_calls.items()):
        print(f"    {op}: {n}")


if __name__ == "__main__":
    bench_sweep(int(sys.argv[sys.argv.index("--rounds") + 1]) if "--rounds" in sys.argv else 3)
