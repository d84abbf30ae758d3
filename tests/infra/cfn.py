"""CloudFormation templates rendered for one account, region and image: the intrinsic functions the templates use.

Each template is resolved for one set of parameters (!Sub, !Ref, !GetAtt, Fn::ImportValue, Fn::Join, Fn::Split,
Fn::If on the template's Conditions, resources under a false Condition left out); anything else fails instead of
passing through unresolved.
"""

from __future__ import annotations

import re
from typing import Any

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PREFIX = "ami-bakery"
IMAGE = "web"
AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64"
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
OTHER_KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/ffffffff-12ab-34cd-56ef-1234567890ab"
NO_VALUE = object()
MODES = ("private", "public")
# The templates that take NetworkMode, all from deploy.sh's one NETWORK_MODE.
MODE_TEMPLATES = ("network", "build-projects", "bot")

# What !GetAtt returns for the resources the policies name.
GET_ATT = {
    ("BuildInstanceProfile", "Arn"): f"arn:aws:iam::{ACCOUNT}:instance-profile/{PREFIX}-build-instance",
    ("BuildInstanceRole", "Arn"): f"arn:aws:iam::{ACCOUNT}:role/{PREFIX}-build-instance",
    ("Repository", "Arn"): f"arn:aws:codecommit:{REGION}:{ACCOUNT}:{PREFIX}-{IMAGE}",
    ("Repository", "Name"): f"{PREFIX}-{IMAGE}",
}


# What Fn::ImportValue returns for the exports the policies name (the stacks that export them, resolved).
IMPORTS = {
    f"{PREFIX}:topic-arn": f"arn:aws:sns:{REGION}:{ACCOUNT}:{PREFIX}-events",
    f"{PREFIX}:topic-key-arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/0b0b0b0b-12ab-34cd-56ef-1234567890ab",
    f"{PREFIX}:queue-arn": f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}-events",
    f"{PREFIX}:state-table-arn": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{PREFIX}-state",
    f"{PREFIX}:artifact-bucket": f"{PREFIX}-artifacts-{ACCOUNT}-{REGION}",
}


def ec2(resource: str) -> str:
    return f"arn:aws:ec2:{REGION}:{ACCOUNT}:{resource}"


class Resolver:
    """One template's intrinsic functions, for one set of parameters."""

    def __init__(self, template: dict, parameters: dict[str, str]):
        defaults: dict[str, Any] = {k: str(v.get("Default", "")) for k, v in template.get("Parameters", {}).items()}
        for name, parameter in template.get("Parameters", {}).items():
            if parameter["Type"] == "CommaDelimitedList":  # !Ref gives a list, [""] for an empty default
                defaults[name] = defaults[name].split(",")
        # A resource's !Ref (a name or an id CloudFormation makes): a placeholder naming it, unless given.
        resources = {name: f"ref:{name}" for name in template.get("Resources", {})}
        self.refs = {
            **defaults, **resources, "NamePrefix": PREFIX, "ImageName": IMAGE,
            "AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT,
            **parameters,  # a member account's template is rendered with its own AWS::AccountId
        }
        self.conditions = {name: self.condition(body) for name, body in template.get("Conditions", {}).items()}

    def condition(self, node: Any) -> bool:
        [(function, args)] = node.items()
        if function == "Fn::Not":
            return not self.condition(args[0])
        if function == "Fn::Equals":
            return self(args[0]) == self(args[1])
        if function == "Condition":
            return self.conditions[args]
        raise AssertionError(f"condition function {function} is not understood here")

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [v for v in map(self, node) if v is not NO_VALUE]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            [(key, value)] = node.items()
            if key == "Ref":
                return NO_VALUE if value == "AWS::NoValue" else self.refs.get(value, f"ref:{value}")
            if key == "Fn::Sub":
                text, names = (value, {}) if isinstance(value, str) else (value[0], self(value[1]))
                text = re.sub(r"\$\{([\w:.]+)\}", lambda m: str({**self.refs, **names}[m[1]]), text)
                return text.replace("${!", "${")  # ${!name}: a literal ${name}, e.g. an IAM policy variable
            if key == "Fn::GetAtt":
                # An attribute no policy here names: a placeholder that matches no ARN pattern.
                return GET_ATT.get(tuple(value), f"getatt:{'.'.join(value)}")
            if key == "Fn::ImportValue":
                name = self(value)
                return IMPORTS.get(name, f"arn:aws:import:{REGION}:{ACCOUNT}:{name}")
            if key == "Fn::Join":
                return value[0].join(self(value[1]))
            if key == "Fn::Split":
                return self(value[1]).split(value[0])
            if key == "Fn::If":
                return self(value[1] if self.conditions[value[0]] else value[2])
        return {k: v for k, v in ((k, self(v)) for k, v in node.items()) if v is not NO_VALUE}


def role_statements(templates: dict, stem: str, role: str, **parameters: str) -> list[dict]:
    """Every statement of the role's inline policies and of the template's managed policies attached to it."""
    template = templates[stem]
    resolve = Resolver(template, parameters)
    props = template["Resources"][role]["Properties"]
    documents = [p["PolicyDocument"] for p in props.get("Policies", [])]
    for arn in props.get("ManagedPolicyArns", []):
        assert set(arn) == {"Ref"}, f"{role}: only the template's own managed policies are evaluated here"
        documents.append(template["Resources"][arn["Ref"]]["Properties"]["PolicyDocument"])
    return [s for d in documents for s in resolve(d)["Statement"]]


def render(templates: dict, stem: str, **parameters: str) -> dict[str, Any]:
    """The template's resources as CloudFormation would create them for these parameters."""
    template = templates[stem]
    resolve = Resolver(template, parameters)
    # A resource under a Condition that is false is not created.
    made = {k: v for k, v in template["Resources"].items() if resolve.conditions.get(v.get("Condition"), True)}
    resolved: dict[str, Any] = resolve(made)
    return resolved

def concrete(template: dict, mode: str) -> dict:
    """The template as CloudFormation would create it in this mode: each Fn::If decided, resources and outputs under a
    false Condition left out (checkov decides no condition itself, so a mode's resources are checked this way)."""
    resolve = Resolver(template, {"NetworkMode": mode})

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [w for w in map(walk, node) if w is not NO_VALUE]
        if isinstance(node, dict):
            if set(node) == {"Fn::If"}:
                condition, if_true, if_false = node["Fn::If"]
                return walk(if_true if resolve.conditions[condition] else if_false)
            if node == {"Ref": "AWS::NoValue"}:
                return NO_VALUE
            return {k: w for k, w in ((k, walk(v)) for k, v in node.items()) if w is not NO_VALUE}
        return node

    def kept(section: str) -> dict:
        return {name: walk(body) for name, body in template.get(section, {}).items()
                if resolve.conditions.get(body.get("Condition"), True)}

    return {**template, "Resources": kept("Resources"), "Outputs": kept("Outputs")}
