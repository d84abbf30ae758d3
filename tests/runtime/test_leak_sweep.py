"""The leak sweep against moto: what killed builds left is removed; nothing a build did not make is touched.

moto has no call that makes a resource old, so the tests backdate an instance's launch time and a key pair's
creation time in moto's own backend (the server runs in this process). Everything else goes through EC2's API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config
from moto.backends import get_backend

from bot.adapters.aws.build_leftovers import Ec2BuildLeftovers
from bot.config import Environment, parse_config
from bot.domain.leftovers import TAG_BUILD
from bot.runtime.leak_sweep import LeakSweep
from bot.wiring import Options, build_bot
from tests.fixtures.aws import ACCOUNT, REGION
from tests.fixtures.waiting import wait_for

TIMEOUT = timedelta(minutes=90)
OLD = timedelta(hours=3)
EXECUTION = "3f2504e0-4f89-41d3-9a0c-0305e82c3301"
YOUNG_EXECUTION = "8c7e1a52-0b5d-4a56-9d0e-2f1a6c3b9e11"


def _tags(kind: str, **tags: str) -> list[dict]:
    return [{"ResourceType": kind, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]


class Account:
    """One region of moto's EC2, with a VPC and an AMI to launch from."""

    def __init__(self, session: boto3.Session):
        self.ec2 = session.client("ec2", region_name=REGION)
        self.vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.subnet = self.ec2.create_subnet(VpcId=self.vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
        self.ami = self.ec2.register_image(
            Name="bakery-web-20261201", RootDeviceName="/dev/xvda",
            BlockDeviceMappings=[{"DeviceName": "/dev/xvda", "Ebs": {"VolumeSize": 8}}],
            TagSpecifications=_tags("image", **{"bakery:image": "web", TAG_BUILD: EXECUTION}),
        )["ImageId"]
        self._backend = get_backend("ec2")[ACCOUNT][REGION]

    def build(self, execution: str, *, age: timedelta | None = None) -> tuple[str, str, str]:
        """What Packer makes for one build: a key pair, a security group, an instance; all tagged bakery:build."""
        tags = {"bakery:image": "web", TAG_BUILD: execution}
        key = self.ec2.create_key_pair(KeyName=f"packer_{execution}", TagSpecifications=_tags("key-pair", **tags))
        group = self.ec2.create_security_group(
            GroupName=f"packer_{execution}", Description="Temporary group for Packer", VpcId=self.vpc,
            TagSpecifications=_tags("security-group", **tags),
        )["GroupId"]
        instance = self.launch(key_name=key["KeyName"], groups=[group], tags=tags)
        if age:
            self.backdate(instance, key["KeyName"], age)
        return instance, key["KeyName"], group

    def launch(self, *, tags: dict[str, str], key_name: str | None = None, groups: list[str] | None = None) -> str:
        params = {"KeyName": key_name} if key_name else {}
        return self.ec2.run_instances(
            ImageId=self.ami, MinCount=1, MaxCount=1, SubnetId=self.subnet, SecurityGroupIds=groups or [],
            TagSpecifications=_tags("instance", **tags), **params,
        )["Instances"][0]["InstanceId"]

    def backdate(self, instance_id: str | None, key_name: str | None, age: timedelta) -> None:
        then = datetime.now(UTC).replace(tzinfo=None) - age  # moto keeps naive UTC times
        if instance_id:
            self._backend.get_instance(instance_id).launch_time = then
        if key_name:
            self._backend.key_pairs[key_name].create_time = then

    def state(self, instance_id: str) -> str:
        [reservation] = self.ec2.describe_instances(InstanceIds=[instance_id])["Reservations"]
        return reservation["Instances"][0]["State"]["Name"]

    def key_names(self) -> set[str]:
        return {k["KeyName"] for k in self.ec2.describe_key_pairs()["KeyPairs"]}

    def group_ids(self) -> set[str]:
        return {g["GroupId"] for g in self.ec2.describe_security_groups()["SecurityGroups"]}


@pytest.fixture
def account(aws_session) -> Account:
    return Account(aws_session)


@pytest.fixture
def sweep(aws_session) -> LeakSweep:
    return LeakSweep(lambda region: Ec2BuildLeftovers(aws_session.client("ec2", region_name=region)), [REGION],
                     max_age=TIMEOUT)


def test_an_old_builds_instance_key_pair_and_group_are_removed(account, sweep):
    instance, key, group = account.build(EXECUTION, age=OLD)
    report = sweep.sweep_once()
    assert report.terminated == [instance]
    assert report.key_pairs == [key]
    assert report.security_groups == [group]
    assert account.state(instance) in ("shutting-down", "terminated")
    assert key not in account.key_names()
    assert group not in account.group_ids()


def test_a_young_build_is_left_alone(account, sweep):
    instance, key, group = account.build(YOUNG_EXECUTION)
    assert not sweep.sweep_once()
    assert account.state(instance) == "running"
    assert key in account.key_names() and group in account.group_ids()


def test_a_fleet_instance_from_a_baked_ami_and_a_foreign_packer_key_survive(account, sweep):
    old_instance, _, _ = account.build(EXECUTION, age=OLD)
    # Launched from the bakery's AMI (which carries bakery:build), by the fleet: tagged bakery:image, never :build.
    fleet = account.launch(tags={"bakery:image": "web", "Name": "web-fleet"})
    foreign = account.ec2.create_key_pair(KeyName="packer_abc")["KeyName"]
    account.backdate(fleet, foreign, OLD)
    report = sweep.sweep_once()
    assert report.terminated == [old_instance]
    assert account.state(fleet) == "running"
    assert foreign in account.key_names()


def test_old_and_young_builds_side_by_side(account, sweep):
    old = account.build(EXECUTION, age=OLD)
    young = account.build(YOUNG_EXECUTION)
    report = sweep.sweep_once()
    assert (report.terminated, report.key_pairs, report.security_groups) == ([old[0]], [old[1]], [old[2]])
    assert account.state(young[0]) == "running"
    assert young[1] in account.key_names() and young[2] in account.group_ids()


def test_sweeping_twice_changes_nothing_the_second_time(account, sweep):
    account.build(EXECUTION, age=OLD)
    account.build(YOUNG_EXECUTION)
    assert sweep.sweep_once()
    before = (account.key_names(), account.group_ids())
    assert not sweep.sweep_once()
    assert (account.key_names(), account.group_ids()) == before


def test_a_key_pair_waits_while_its_builds_instance_lives(account, sweep):
    # The key is old but the instance of its build is young (say, a retried launch): the build may still use it.
    instance, key, group = account.build(EXECUTION)
    account.backdate(None, key, OLD)
    assert not sweep.sweep_once()
    assert key in account.key_names() and group in account.group_ids()
    account.ec2.terminate_instances(InstanceIds=[instance])
    report = sweep.sweep_once()
    assert (report.key_pairs, report.security_groups) == ([key], [group])


def test_a_lone_group_goes_only_once_the_sweep_has_known_it_longer_than_the_timeout(account, aws_session):
    now = [datetime.now(UTC)]
    sweep = LeakSweep(lambda region: Ec2BuildLeftovers(aws_session.client("ec2", region_name=region)), [REGION],
                      max_age=TIMEOUT, clock=lambda: now[0])
    group = account.ec2.create_security_group(
        GroupName="packer_lone", Description="Temporary group for Packer", VpcId=account.vpc,
        TagSpecifications=_tags("security-group", **{TAG_BUILD: EXECUTION}),
    )["GroupId"]
    assert not sweep.sweep_once()
    now[0] += TIMEOUT + timedelta(minutes=1)
    assert sweep.sweep_once().security_groups == [group]


def test_a_region_that_fails_is_reported_and_the_others_are_swept(account, aws_session):
    def resources_for(region: str) -> Ec2BuildLeftovers:
        # An endpoint nothing listens on: EC2 "unreachable" in that region only.
        endpoint = None if region == REGION else "http://127.0.0.1:9"
        config = Config(retries={"max_attempts": 1}, connect_timeout=1)
        return Ec2BuildLeftovers(aws_session.client("ec2", region_name=region, endpoint_url=endpoint, config=config))

    instance, _, _ = account.build(EXECUTION, age=OLD)
    sweep = LeakSweep(resources_for, [REGION, "eu-central-1"], max_age=TIMEOUT)
    assert sweep.sweep_once().terminated == [instance]


# --- as the bot runs it ------------------------------------------------------------------------------------------


BOT_CONFIG = """
slack: {{channel: C0BAKERY}}
access: {{bakers: ["*"]}}
state: {{path: {state}}}
images:
  web: {{repository: "codecommit://ami-bakery-web", pipeline: ami-bakery-web, region: {region}}}
"""


def test_the_running_bot_sweeps_as_a_housekeeping_chore(aws_session, slack_api, tmp_path):
    account = Account(aws_session)
    old = account.build(EXECUTION, age=OLD)
    young = account.build(YOUNG_EXECUTION)
    env = Environment(slack_bot_token=slack_api.token, slack_api_url=slack_api.base_url, aws_region=REGION,
                      workdir=str(tmp_path / "work"))
    config = parse_config(BOT_CONFIG.format(state=tmp_path / "state.db", region=REGION))
    # The production default waits two minutes before the first sweep; here it may start at once.
    bot = build_bot(config, env, session=aws_session,
                    options=Options(housekeeping_tick=0.05, leak_sweep_delay=0.0, sqs_wait_seconds=0))
    bot.start()
    try:
        wait_for(lambda: account.state(old[0]) in ("shutting-down", "terminated"), what="the old build's instance")
        wait_for(lambda: old[1] not in account.key_names(), what="the old build's key pair to go")
    finally:
        bot.stop()
    assert account.state(young[0]) == "running" and young[1] in account.key_names()


def test_the_first_sweep_waits_while_the_bot_starts():
    assert Options().leak_sweep_delay >= 60


def test_the_timeout_comes_from_the_environment_and_a_bad_one_is_refused():
    assert Environment.from_environ({}).build_timeout_seconds == 90 * 60
    assert Environment.from_environ({"BAKERY_BUILD_TIMEOUT_MINUTES": "120"}).build_timeout_seconds == 120 * 60
    for bad in ("abc", "0", "3", "99999", "٩٠"):
        env = Environment.from_environ({"BAKERY_BUILD_TIMEOUT_MINUTES": bad})
        assert any(p.startswith("BAKERY_BUILD_TIMEOUT_MINUTES:") for p in env.problems_for("socket")), bad
    assert not any("BAKERY_BUILD" in p for p in Environment.from_environ({}).problems_for("socket"))
