"""The upstream watch in the running bot: Amazon's notice on the queue rebakes base, once, on the parameter's AMI."""

from __future__ import annotations

import json
from dataclasses import replace

from bot.config import Config
from bot.config.model import UpstreamConfig
from bot.domain.causes import BAKERY_USER
from bot.sandbox.aws.events import sns_envelope
from bot.sandbox.aws.seed import register_ami
from tests.fixtures.bakery import REGION, REQUESTER, Bakery, git_log

PARAMETER = "/stand-in/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"  # moto refuses /aws/ names
AMAZON = "arn:aws:sns:us-east-1:123456789012:amazon-linux-2023-ami-updates"
NOTICE = "A new Amazon Linux 2023 AMI is available (the bot reads none of this)"

def following_upstream(config: Config, topic: str = AMAZON) -> Config:
    base = replace(config.images["base"], upstream=UpstreamConfig(ssm_parameter=PARAMETER))
    notifications = replace(config.notifications, upstream_topic_arns=(topic,))
    return replace(config, images={**config.images, "base": base}, notifications=notifications)


def automatic_bakes(bakery) -> list:
    return [b for b in bakery.services.bakes.status("base") if b.requested_by == BAKERY_USER]


def released_then_moved(bakery_factory, topic: str = AMAZON) -> tuple[Bakery, str]:
    """A bot whose base was released on the parameter's old AMI, the parameter moved since: (bot, new AMI)."""
    bakery = bakery_factory(edit=lambda config: following_upstream(config, topic))
    ec2, ssm = bakery_factory.session.client("ec2"), bakery_factory.session.client("ssm")
    old, new = register_ami(ec2, "al2023-old", {}), register_ami(ec2, "al2023-new", {})
    ssm.put_parameter(Name=PARAMETER, Value=old, Type="String")
    # base's first bake is a person's; once it is released, the parameter is what it was made on.
    rid = bakery.command(REQUESTER, "base first")["text"].split("`")[1]
    bakery.run_pipeline("base", bakery.commit_of(rid), request_id=rid, amis=[(REGION, "ami-0123456789abcdef0")])
    bakery.wait(lambda: (b := bakery.services.bakes.get(rid)) and b.released, what="base's first bake released")
    bakery.wait_idle()
    ssm.put_parameter(Name=PARAMETER, Value=new, Type="String", Overwrite=True)
    return bakery, new


def test_an_upstream_notice_rebakes_base_once_on_the_parameters_new_ami(bakery_factory):
    bakery, new = released_then_moved(bakery_factory)

    for _ in range(2):  # Amazon may say it twice; each is only a trigger
        bakery.sqs.send_message(
            QueueUrl=bakery.queue_url, MessageBody=json.dumps(sns_envelope(NOTICE, topic_arn=AMAZON))
        )
    [bake] = bakery.wait(lambda: automatic_bakes(bakery), what="an automatic bake of base")
    bakery.wait(lambda: bakery.services.bakes.get(bake.request_id).commit_id, what="its commit")
    bakery.wait_idle()

    assert bake.source_ami == new and bake.cause is not None and bake.cause.ami_id == new
    assert len(automatic_bakes(bakery)) == 1
    [commit] = [c for c in git_log(bakery.repos["base"]) if (c["request"] or {}).get("request_id") == bake.request_id]
    assert commit["request"]["source_ami"] == new and commit["request"]["requested_by"] == BAKERY_USER
    assert "Requested-By: bakery" in commit["message"]
    assert f"Bakery-Cause: upstream:{PARAMETER}={new}" in commit["message"]
    # A hop of a train says which (its AMIs' bakery:train tag, §10); a person's bake outside one says nothing.
    assert bake.train_id.startswith("t-") and commit["request"]["train"] == bake.train_id
    [rid] = [b.request_id for b in bakery.services.bakes.status("base") if b.requested_by == REQUESTER]
    [first] = [c for c in git_log(bakery.repos["base"]) if (c["request"] or {}).get("request_id") == rid]
    assert "train" not in first["request"]
    assert bakery.sqs.receive_message(QueueUrl=bakery.dlq_url).get("Messages") is None  # never malformed


def test_without_any_notice_the_check_every_chore_finds_the_move(bakery_factory):
    def every_tenth_of_a_second(config: Config) -> Config:
        config = following_upstream(config)
        base = replace(config.images["base"], upstream=UpstreamConfig(ssm_parameter=PARAMETER, check_every=0.1))
        return replace(config, images={**config.images, "base": base})

    bakery = bakery_factory(edit=every_tenth_of_a_second)
    ec2, ssm = bakery_factory.session.client("ec2"), bakery_factory.session.client("ssm")
    old, new = register_ami(ec2, "al2023-old", {}), register_ami(ec2, "al2023-new", {})
    ssm.put_parameter(Name=PARAMETER, Value=old, Type="String")
    rid = bakery.command(REQUESTER, "base first")["text"].split("`")[1]
    bakery.run_pipeline("base", bakery.commit_of(rid), request_id=rid, amis=[(REGION, "ami-0123456789abcdef0")])
    bakery.wait(lambda: (b := bakery.services.bakes.get(rid)) and b.released, what="base's first bake released")
    bakery.wait_idle()
    assert automatic_bakes(bakery) == []  # the chore ran meanwhile: the parameter had not moved

    ssm.put_parameter(Name=PARAMETER, Value=new, Type="String", Overwrite=True)

    [bake] = bakery.wait(lambda: automatic_bakes(bakery), what="the chore's automatic bake of base")
    assert bake.source_ami == new
