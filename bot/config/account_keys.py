"""The account keys of an image (CONTRACT §4, §13): `account_role`, the role the bot assumes to reach an image in
another account, and `share_with`, the accounts and regions its released AMIs must be usable in."""

from __future__ import annotations

import re
from typing import Any

from bot.config.fields import FieldChecks, kind
from bot.config.model import ShareWith

# An IAM role ARN in one of the partitions the bakery knows; a role path (`role/team/x`) is allowed.
ROLE_ARN_RE = re.compile(r"^arn:(aws|aws-cn|aws-us-gov):iam::(\d{12}):role/([\w+=,.@/-]{1,512})$", re.ASCII)
ACCOUNT_RE = re.compile(r"^\d{12}$", re.ASCII)
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$", re.ASCII)
ROLE_WHAT = "an IAM role ARN (arn:aws:iam::<12-digit account>:role/<name>; partition aws, aws-cn or aws-us-gov)"


def account_role(checks: FieldChecks, value: Any, path: str) -> str | None:
    """`images.<name>.account_role`: the ARN of the role in the image's account, or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        checks.err(path, f"must be {ROLE_WHAT}, not {kind(value)}")
        return None
    if not ROLE_ARN_RE.fullmatch(value):
        checks.err(path, f"{value!r} is not {ROLE_WHAT}")
        return None
    return value


def share_with(checks: FieldChecks, value: Any, path: str) -> ShareWith | None:
    """`images.<name>.share_with`: {accounts: ["<12 digits>"], regions: [<region>]}, both optional, no duplicates."""
    if value is None:
        return None
    body = checks.mapping(value, path, {"accounts", "regions"})
    if not isinstance(value, dict):
        return None
    accounts = _unique_list(checks, body.get("accounts"), f"{path}.accounts", _account_problem)
    regions = _unique_list(checks, body.get("regions"), f"{path}.regions", _region_problem)
    return ShareWith(accounts=accounts, regions=regions)


def _account_problem(item: Any) -> str | None:
    if isinstance(item, int) and not isinstance(item, bool):
        # YAML reads unquoted digits as a number, and 012345670123 as an octal one: an account id must be quoted.
        hint = f' ("{item}")' if len(str(item)) == 12 else ""
        return f"{item} is a number; quote the account id{hint}: YAML reads unquoted digits as a number"
    if not isinstance(item, str) or not ACCOUNT_RE.fullmatch(item):
        shown = repr(item) if isinstance(item, str) else kind(item)
        return f"{shown} is not a 12-digit AWS account id (quoted)"
    return None


def _region_problem(item: Any) -> str | None:
    if not isinstance(item, str) or not REGION_RE.fullmatch(item):
        shown = repr(item) if isinstance(item, str) else kind(item)
        return f"{shown} is not an AWS region"
    return None


def _unique_list(checks: FieldChecks, value: Any, path: str, problem_of: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        checks.err(path, f"must be a list, not {kind(value)}")
        return ()
    out: list[str] = []
    for i, item in enumerate(value):
        problem = problem_of(item)
        if problem:
            checks.err(f"{path}[{i}]", problem)
        elif item in out:
            checks.err(f"{path}[{i}]", f"{item!r} is listed twice")
        else:
            out.append(item)
    return tuple(out)
