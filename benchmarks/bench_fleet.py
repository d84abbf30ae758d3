"""The fleet and the AMI lifecycle in moto (issue 13 item 8): `/bake fleet` over 50 targets (and, beside it, the
lifecycle sweep's section over 2,000 AMIs).

fleet: 50 targets of one image in 5 regions (10 a region), each an Auto Scaling group of 2 instances on its own
launch template, and 3 released AMIs of the image per region (half the targets on the newest, half two bakes
behind), all in moto behind the local Auto Scaling. The bot (built in this process, as the tests build it) answers
`/bake fleet` --rounds times; printed: the wall time of the answer (the service call, and the whole signed slash
command through the HTTP server), and the AWS calls it made per target, counted with botocore `before-call` hooks
on the bot's session. The floor is the same reads made with plain boto3 clients in the same run, one after the
other (DescribeAutoScalingGroups, DescribeInstances and DescribeImages per region, DescribeLaunchTemplateVersions
per template): the ratio says what the bot adds to them (its regions are read concurrently, so it may be < 1).

Run: .venv/bin/python benchmarks/bench_fleet.py [--only fleet|sweep] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from _local import local_stack, make_target
from _sweep_section import bench_sweep  # the lifecycle sweep's section: its own module, its docstring says what

ACCOUNT = "123456789012"  # moto's default: the bakery's own

REGIONS = ("eu-west-1", "us-east-1", "us-west-2", "eu-central-1", "ap-southeast-2")
TARGETS = 50
RELEASES = 3  # per region
USER = "U0ALICE"


def fleet_config(text: str) -> str:
    """The test configuration's targets replaced by 50 targets of base in five regions."""
    head = text.split("targets:\n")[0]
    lines = [
        f"  t{n:02d}: {{image: base, auto_scaling_group: t{n:02d}, launch_template: t{n:02d},"
        f" region: {REGIONS[n % len(REGIONS)]}}}"
        for n in range(TARGETS)
    ]
    return head + "targets:\n" + "\n".join(lines) + "\n"


def seed_fleet(session: Any) -> dict[str, list[str]]:
    """Per region: RELEASES released AMIs of base (oldest first); and per target a template and a group."""
    from moto.ec2.models import ec2_backends  # moto runs in this process (local_stack's ThreadedMotoServer)

    releases: dict[str, list[str]] = {}
    for region in REGIONS:
        ec2 = session.client("ec2", region_name=region)
        amis = []
        for n in range(RELEASES):
            ami = ec2.register_image(
                Name=f"base-{n}",
                RootDeviceName="/dev/xvda",
                BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
            )["ImageId"]
            tags = {"bakery:image": "base", "bakery:request-id": f"b-bench{n:03d}", "bakery:released": "true"}
            ec2.create_tags(Resources=[ami], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
            # moto stamps every AMI "now", to the second; the fleet orders releases by CreationDate, as EC2 has it.
            ec2_backends[ACCOUNT][region].amis[ami].creation_date = datetime(2026, 11, 1 + n, 10, tzinfo=UTC)
            amis.append(ami)
        releases[region] = amis
    for n in range(TARGETS):
        region = REGIONS[n % len(REGIONS)]
        ami = releases[region][-1] if n % 2 else releases[region][0]
        make_target(session, region, f"t{n:02d}", ami)
    return releases


class Calls:
    """AWS calls a botocore session makes, counted by operation (`before-call`: one per request sent)."""

    def __init__(self, session: Any) -> None:
        self.by_operation: Counter[str] = Counter()
        session.events.register("before-call", self._count)

    def _count(self, model: Any, **_: Any) -> None:
        self.by_operation[f"{model.service_model.service_name}.{model.name}"] += 1

    def total(self) -> int:
        return sum(self.by_operation.values())


def floor_reads(session: Any, *, concurrent: bool = False) -> int:
    """The reads `/bake fleet` needs, made with plain boto3 (the regions one after the other, or side by side);
    returns the calls made."""
    clients = {r: (session.client("ec2", region_name=r), session.client("autoscaling", region_name=r)) for r in REGIONS}
    if concurrent:
        with ThreadPoolExecutor(max_workers=len(REGIONS)) as pool:
            return sum(pool.map(lambda r: _region_reads(r, *clients[r]), REGIONS))
    return sum(_region_reads(r, *clients[r]) for r in REGIONS)


def _region_reads(region: str, ec2: Any, autoscaling: Any) -> int:
    names = [f"t{n:02d}" for n in range(TARGETS) if REGIONS[n % len(REGIONS)] == region]
    groups = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=names)["AutoScalingGroups"]
    ids = [i["InstanceId"] for g in groups for i in g["Instances"]]
    ec2.describe_instances(InstanceIds=ids)
    ec2.describe_launch_template_versions(Versions=["$Default"])  # every template's default, in one call
    ec2.describe_images(Owners=["self"], Filters=[{"Name": "tag-key", "Values": ["bakery:image"]}])
    return 4


def timed(run: Callable[[], object], rounds: int) -> list[float]:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def bench_fleet(rounds: int) -> None:
    with local_stack() as stack:
        import boto3

        seed_fleet(stack.session)
        bakery = stack(text=fleet_config)
        calls = Calls(stack.session)
        # Warm-up (not counted): the bot's first answer makes its clients, one per service and region.
        report = bakery.services.slash.run(user=USER, channel="C0BAKERY", text="fleet")
        states = Counter(t.state.value for t in report.targets)
        calls.by_operation.clear()
        service = timed(lambda: bakery.services.slash.run(user=USER, channel="C0BAKERY", text="fleet"), rounds)
        per_answer = Counter({op: n // rounds for op, n in calls.by_operation.items()})
        command = timed(lambda: bakery.command(USER, "fleet"), rounds)
        plain = boto3.Session(region_name="eu-west-1")
        floor_calls = floor_reads(plain)  # warm-up: its clients
        floor = timed(lambda: floor_reads(plain), rounds)
        floor_side = timed(lambda: floor_reads(plain, concurrent=True), rounds)
        stack.stop(bakery)
    bot_calls = sum(per_answer.values())
    ms = {name: statistics.median(times) * 1000 for name, times in (("service", service), ("command", command))}
    sequential, side = statistics.median(floor) * 1000, statistics.median(floor_side) * 1000
    print(f"fleet: {TARGETS} targets in {len(REGIONS)} regions, {RELEASES} releases a region; states {dict(states)}")
    print(f"  /bake fleet, the service call      p50 {ms['service']:6.0f} ms  max {max(service) * 1000:.0f} ms")
    print(f"  /bake fleet, signed slash command  p50 {ms['command']:6.0f} ms  max {max(command) * 1000:.0f} ms")
    print(f"  floor: plain boto3, one region after the other  p50 {sequential:6.0f} ms ({floor_calls} calls)")
    print(f"  floor: plain boto3, the regions side by side     p50 {side:6.0f} ms")
    print(f"  ratio bot/floor: {ms['service'] / sequential:.2f} sequential, {ms['service'] / side:.2f} side by side")
    print(
        f"  AWS calls per answer: {bot_calls}, {bot_calls / TARGETS:.2f} per target (floor {floor_calls / TARGETS:.2f})"
    )
    for op, n in sorted(per_answer.items()):
        print(f"    {op}: {n}")


SECTIONS: dict[str, Callable[[int], None]] = {"fleet": bench_fleet, "sweep": bench_sweep}


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(SECTIONS), help="run one section")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    for name, section in SECTIONS.items():
        if args.only in (None, name):
            section(args.rounds)


if __name__ == "__main__":
    main(sys.argv[1:])
