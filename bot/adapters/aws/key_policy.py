"""What a KMS key policy lets another account do with the key, evaluated as AWS evaluates it (§13).

A member account launches from a shared, encrypted AMI only if the key policy of the AMI's key lets that account
use the key (EC2 decrypts the snapshots and re-encrypts the volumes for it) and create grants for AWS resources
(EC2 and Auto Scaling's service-linked role hold the key through grants). The policy is read statement by
statement: Allow and Deny, Action or NotAction, Resource or NotResource, Principal or NotPrincipal in every form
AWS accepts, and the conditions on what such a request carries. An explicit Deny wins over any Allow. A condition
on a key the check cannot know (aws:PrincipalOrgID, a tag) is not taken as met: an Allow under it proves nothing,
and a Deny under it may apply; both are said, with the key's name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

# What EBS asks of the key for a member account (EC2 Auto Scaling user guide, "Required AWS KMS key policy for use
# with encrypted volumes"): kms:ReEncrypt* and kms:GenerateDataKey* as the actions EC2 sends.
USE_ACTIONS = (
    "kms:Decrypt",
    "kms:ReEncryptFrom",
    "kms:ReEncryptTo",
    "kms:GenerateDataKey",
    "kms:GenerateDataKeyWithoutPlaintext",
    "kms:DescribeKey",
)
CREATE_GRANT = "kms:CreateGrant"
FOR_AWS_RESOURCE = "kms:GrantIsForAWSResource"
_NEGATED = ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "ArnNotEquals", "ArnNotLike")
_OPERATORS = ("StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool", "Null", *_NEGATED)


@dataclass
class Decision:
    """How the policy answers one request: allowed, denied by which statement, or neither."""

    allowed: bool = False
    denied_by: str = ""
    unknown: set[str] = field(default_factory=set)  # condition keys that kept an Allow or a Deny undecided

    def why_not(self, action: str) -> str:
        if self.denied_by:
            return f"{action} (denied by {self.denied_by})"
        if self.unknown:
            return f"{action} (only under a condition on {', '.join(sorted(self.unknown))} the check cannot evaluate)"
        return action


def shortfalls(policy: Mapping[str, Any], account: str, key_arn: str) -> list[str]:
    """What the key policy does not let `account` do that a launch from a shared AMI needs; [] when it grants all."""
    statements = _as_list(policy.get("Statement", []))
    region = key_arn.split(":")[3] if key_arn.count(":") >= 5 else ""
    # What a request of EC2 on behalf of a principal of that account carries (kms:ViaService: EC2 in the key's region).
    context = {
        "aws:PrincipalAccount": account,
        "kms:CallerAccount": account,
        "kms:ViaService": f"ec2.{region}.amazonaws.com",
    }
    missing = []
    for action in USE_ACTIONS:
        decision = decide(statements, account, action, key_arn, context)
        if not decision.allowed:
            missing.append(decision.why_not(action))
    for_resource = decide(statements, account, CREATE_GRANT, key_arn, {**context, FOR_AWS_RESOURCE: "true"})
    if not for_resource.allowed:
        missing.append(for_resource.why_not(f"{CREATE_GRANT} with {FOR_AWS_RESOURCE} true"))
    elif decide(statements, account, CREATE_GRANT, key_arn, {**context, FOR_AWS_RESOURCE: "false"}).allowed:
        # Granted, but not only for AWS resources: any principal of that account could hand the key on.
        missing.append(f"{CREATE_GRANT} limited by the condition {FOR_AWS_RESOURCE} true (it is allowed without)")
    return missing


def decide(
    statements: Iterable[Any], account: str, action: str, key_arn: str, context: Mapping[str, str]
) -> Decision:
    decision = Decision()
    allowed_unknown: set[str] = set()
    for i, statement in enumerate(statements):
        if not isinstance(statement, Mapping):
            continue
        deny = statement.get("Effect") == "Deny"
        if not (_principal_applies(statement, account, deny) and _action_applies(statement, action)):
            continue
        if not _resource_applies(statement, key_arn):
            continue
        met, unknown = _conditions(statement.get("Condition", {}), context)
        name = f"statement {statement.get('Sid') or i}"
        if deny and met is not False:
            # Deny wins; one that may apply (an unknown condition) is told as such.
            if met:
                return Decision(denied_by=name)
            decision.denied_by = decision.denied_by or f"{name}, under a condition on {', '.join(sorted(unknown))}"
        elif not deny and statement.get("Effect") == "Allow":
            if met:
                decision.allowed = True
            elif met is None:
                allowed_unknown |= unknown
    if decision.denied_by:
        decision.allowed = False
    elif not decision.allowed:
        decision.unknown = allowed_unknown
    return decision


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _principal_matches(principal: Any, account: str, *, inside: bool) -> bool:
    """Whether a Principal names the account: "*", the account id, its root; with inside, any principal in it."""
    if principal == "*":
        return True
    if not isinstance(principal, Mapping):
        return False
    for entry in _as_list(principal.get("AWS", [])):
        if not isinstance(entry, str):
            continue
        if entry in ("*", account) or re.fullmatch(rf"arn:aws[a-z-]*:iam::{account}:root", entry):
            return True
        if inside and re.match(rf"arn:aws[a-z-]*:(iam|sts)::{account}:", entry):
            return True
    return False


def _principal_applies(statement: Mapping[str, Any], account: str, deny: bool) -> bool:
    # An Allow to one role of the account is not the account's; a Deny of one of its principals may stop a launch.
    if "NotPrincipal" in statement:
        return not _principal_matches(statement["NotPrincipal"], account, inside=False)
    return _principal_matches(statement.get("Principal"), account, inside=deny)


def _glob(pattern: Any, value: str, *, fold: bool = True) -> bool:
    if not isinstance(pattern, str):
        pattern = str(pattern).lower() if isinstance(pattern, bool) else str(pattern)
    if fold:
        return fnmatchcase(value.lower(), pattern.lower().replace("[", "[[]"))
    return fnmatchcase(value, pattern.replace("[", "[[]"))


def _action_applies(statement: Mapping[str, Any], action: str) -> bool:
    if "NotAction" in statement:
        return not any(_glob(p, action) for p in _as_list(statement["NotAction"]))
    return any(_glob(p, action) for p in _as_list(statement.get("Action", [])))


def _resource_applies(statement: Mapping[str, Any], key_arn: str) -> bool:
    if "NotResource" in statement:
        return not any(_glob(p, key_arn, fold=False) for p in _as_list(statement["NotResource"]))
    return any(_glob(p, key_arn, fold=False) for p in _as_list(statement.get("Resource", "*")))


def _conditions(block: Any, context: Mapping[str, str]) -> tuple[bool | None, set[str]]:
    """(True, _) when every condition holds, (False, _) when one fails, (None, keys) when unknown keys decide."""
    if not isinstance(block, Mapping):
        return None, {"(a malformed Condition)"}
    unknown: set[str] = set()
    for operator, tests in block.items():
        if not isinstance(tests, Mapping):
            return None, {str(operator)}
        for key, expected in tests.items():
            held = _condition(str(operator), str(key), _as_list(expected), context)
            if held is False:
                return False, set()
            if held is None:
                unknown.add(str(key))
    return (None, unknown) if unknown else (True, set())


def _condition(operator: str, key: str, expected: list[Any], context: Mapping[str, str]) -> bool | None:
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists") and base != "IfExists"
    base = base.removesuffix("IfExists") if if_exists else base
    if base not in _OPERATORS or qualifier not in ("", "ForAnyValue", "ForAllValues"):
        return None
    lookup = {k.lower(): v for k, v in context.items()}
    # kms:GrantIsForAWSResource is known on every request: present on a grant, absent on any other.
    if key.lower() not in lookup and key.lower() != FOR_AWS_RESOURCE.lower():
        return None
    value = lookup.get(key.lower())
    if base == "Null":
        return (value is None) == (str(expected[0]).lower() == "true")
    if value is None:
        return True if if_exists or base in _NEGATED or qualifier == "ForAllValues" else False
    negated = base in _NEGATED
    positive = base.replace("Not", "", 1) if negated else base
    hit = any(_matches(positive, str(e).lower() if isinstance(e, bool) else str(e), value) for e in expected)
    return not hit if negated else hit


def _matches(operator: str, expected: str, value: str) -> bool:
    if operator == "StringEquals":
        return expected == value
    if operator in ("StringEqualsIgnoreCase", "Bool"):
        return expected.lower() == value.lower()
    # StringLike, and ArnEquals and ArnLike (which AWS both match with wildcards, component by component).
    return _glob(expected, value, fold=False)
