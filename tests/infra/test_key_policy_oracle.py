"""`bakery check --aws`'s key policy evaluation (bot/adapters/aws/key_policy.py) decides as IAM does: for each
policy here, each action a launch from a shared AMI needs, and a principal of the member account, its answer is
the IAM simulator's (tests/infra/iam_simulator.py), whose member-side identity policy allows everything so that
the key policy alone decides."""

from __future__ import annotations

import pytest

from bot.adapters.aws.key_policy import CREATE_GRANT, FOR_AWS_RESOURCE, USE_ACTIONS, decide
from tests.infra.cfn import ACCOUNT, REGION, render

MEMBER = "210987654321"
KEY = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
FLEET = f"arn:aws:iam::{MEMBER}:role/fleet"
ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}


def statement(effect: str = "Allow", principal: object = None, **rest: object) -> dict:
    return {"Effect": effect, "Principal": principal or {"AWS": MEMBER}, "Resource": "*", **rest}


VARIANTS = {
    "kms:* to the account id": [statement(Action="kms:*")],
    "use actions by wildcard to its root": [
        statement(principal={"AWS": f"arn:aws:iam::{MEMBER}:root"}, Action=["kms:ReEncrypt*", "kms:GenerateDataKey*"])
    ],
    "everything but decrypt": [statement(NotAction=["kms:Decrypt", "kms:CreateGrant"])],
    "anyone of the account, by condition": [
        statement(principal="*", Action="kms:*", Condition={"StringEquals": {"kms:CallerAccount": MEMBER}})
    ],
    "another account only": [statement(principal={"AWS": "333333333333"}, Action="kms:*")],
    "a deny of the fleet role": [
        statement(Action="kms:*"),
        statement("Deny", {"AWS": FLEET}, Action=["kms:Decrypt", "kms:ReEncryptTo"]),
    ],
    "grants for AWS resources only": [
        statement(Action=CREATE_GRANT, Condition={"Bool": {FOR_AWS_RESOURCE: "true"}}),
        statement(Action="kms:DescribeKey", Condition={"StringEquals": {"aws:PrincipalAccount": "333333333333"}}),
    ],
    "grants except for AWS resources, denied": [
        statement(Action="kms:*"),
        statement("Deny", "*", Action=CREATE_GRANT, Condition={"Bool": {FOR_AWS_RESOURCE: "false"}}),
    ],
}


def requests() -> list[tuple[str, dict[str, str]]]:
    via = f"ec2.{REGION}.amazonaws.com"
    context = {"aws:PrincipalAccount": MEMBER, "kms:CallerAccount": MEMBER, "kms:ViaService": via}
    grants = [(CREATE_GRANT, {**context, FOR_AWS_RESOURCE: value}) for value in ("true", "false")]
    return [(action, context) for action in USE_ACTIONS] + grants


def simulated(iam, statements: list[dict], action: str, context: dict[str, str]) -> bool:
    policy = {"Version": "2012-10-17", "Statement": statements}
    sent = {**context, "aws:PrincipalArn": FLEET}
    if FOR_AWS_RESOURCE in sent:
        sent[FOR_AWS_RESOURCE] = sent[FOR_AWS_RESOURCE] == "true"  # a Bool key
    return iam.decide([ALL], action, KEY, principal=FLEET, context=sent, resource_policy=policy) == "Allowed"


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_each_decision_is_iam_s(iam, name):
    statements = VARIANTS[name]
    ours = {(a, c.get(FOR_AWS_RESOURCE, "")): decide(statements, MEMBER, a, KEY, c).allowed for a, c in requests()}
    theirs = {(a, c.get(FOR_AWS_RESOURCE, "")): simulated(iam, statements, a, c) for a, c in requests()}
    assert ours == theirs


def test_the_ami_key_template_s_policy_is_decided_as_iam_decides_it(iam):
    policy = render({"ami-key": _template()}, "ami-key", MemberAccounts=[MEMBER])["AmiKey"]["Properties"]["KeyPolicy"]
    statements = policy["Statement"]
    for action, context in requests():
        decision = decide(statements, MEMBER, action, KEY, context)
        if decision.unknown:  # the statement on kms:GranteePrincipal: the check says it cannot know
            continue
        assert decision.allowed == simulated(iam, statements, action, context), (action, context)


def _template() -> dict:
    from cfnlint.decode import decode

    from tests.infra.conftest import TEMPLATE_DIR

    template, problems = decode(str(TEMPLATE_DIR / "ami-key.yaml"))
    assert not problems
    return template
