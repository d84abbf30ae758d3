"""The sandbox's configuration: the example configuration with every endpoint swapped for a local one.

Images, targets, channels and access stay as the example has them, so the sandbox shows what a real
installation would; only the queue, the topic, the state file and non-CodeCommit repositories change, and
every image declares `sandbox_fail` (default `none`) so `/bake base sandbox_fail=test` makes the Test stage fail
(any stage's name works, in any case).

The sandbox has a second account (§9, §13): every image with a parent (the example's `web`, an application
team's image) lives in `MEMBER_ACCOUNT`, reached through `MEMBER_ROLE`, and so do its targets; every image
without one (`base`, the platform team's) stays in the bakery's own account and shares its released AMIs with
the member account. `share_with` names that account only, no extra region: a copy to another region would make
every train of the sandbox wait for it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot.config import Config, parse_config

FAIL_VARIABLE = "sandbox_fail"
# The bot refuses empty variable values (config and /bake alike), so "no failure" needs a word.
NO_FAILURE = "none"
# The one failure example the README, the terminal, the page and the welcome message all give.
FAIL_EXAMPLE = f"{FAIL_VARIABLE}=test"
DEFAULT_REGION = "eu-west-1"
CODECOMMIT = "codecommit://"
MEMBER_ACCOUNT = "210987654321"  # the sandbox's second account (§9)
MEMBER_ROLE_NAME = "ami-bakery-bot"  # the role the bot assumes there, as member-account.yaml names it
MEMBER_ROLE = f"arn:aws:iam::{MEMBER_ACCOUNT}:role/{MEMBER_ROLE_NAME}"
# The external id the member role's trust policy asks for, and the bot's BAKERY_EXTERNAL_ID in the sandbox.
EXTERNAL_ID = "ami-bakery-sandbox"
# The sandbox's lifecycle (§14): small, so that `/bake gc` has something to show after a few bakes; no daily
# sweep, so nothing vanishes under someone exploring the sandbox: `/bake gc` shows the list and runs it.
LIFECYCLE = {"keep_released": 2, "keep_unreleased_days": 0, "sweep": "off"}


@dataclass(frozen=True)
class SandboxConfig:
    """The derived configuration: its YAML text, the parsed Config, and where the file was written."""

    text: str
    config: Config
    path: Path


def example_path(explicit: str | None, project_root: Path) -> Path:
    """Which configuration the sandbox derives its own from: --config, else the project's example."""
    if explicit:
        return Path(explicit)
    local = Path.cwd() / "bakery.example.yaml"
    return local if local.exists() else project_root / "bakery.example.yaml"


def read_example(path: Path) -> dict[str, Any]:
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), dict):
        raise ValueError(f"{path}: not a bakery configuration (no images)")
    return doc


def repository_name(image: str, spec: str) -> str:
    """The CodeCommit repository an image uses in the sandbox (its own name when it already is CodeCommit)."""
    return spec.removeprefix(CODECOMMIT) if spec.startswith(CODECOMMIT) else f"ami-bakery-{image}"


def default_region(doc: dict[str, Any]) -> str:
    for body in doc["images"].values():
        if isinstance(body, dict) and body.get("region"):
            return str(body["region"])
    return DEFAULT_REGION


def derive(
    doc: dict[str, Any],
    *,
    queue_url: str,
    topic_arn: str,
    state_path: Path,
    upstream_topic_arn: str = "",
    upstream_parameter: str = "",
    state_table: str = "",
    trains: bool = True,
) -> dict[str, Any]:
    """The sandbox's configuration document, derived from the example's.

    With an upstream stand-in, the release train runs by itself (§9): each image without a parent follows the
    stand-in parameter, each child bakes when its parent is released, each target rolls when its image is
    released. The example keeps `ask` everywhere; only the sandbox turns the train on. Accounts: see the module.
    """
    out = copy.deepcopy(doc)
    out["state"] = {"backend": "sqlite", "path": str(state_path)}
    if state_table:  # the DynamoDB table that several bots (replicas) share
        out["state"] = {"backend": "dynamodb", "table": state_table}
    out["notifications"] = {"queue_url": queue_url, "sns_topic_arns": [topic_arn]}
    out["lifecycle"] = {**(out.get("lifecycle") or {}), **LIFECYCLE}
    if upstream_topic_arn:
        out["notifications"]["upstream_topic_arns"] = [upstream_topic_arn]
    for name, body in out["images"].items():
        body["repository"] = CODECOMMIT + repository_name(name, str(body.get("repository") or ""))
        variables = dict(body.get("variables") or {})
        variables[FAIL_VARIABLE] = NO_FAILURE
        body["variables"] = variables
        _place(name, body, out["images"])
        if upstream_parameter and not body.get("parent"):
            body["upstream"] = {**(body.get("upstream") or {}), "ssm_parameter": upstream_parameter}
        elif upstream_parameter and trains:
            body["on_parent_release"] = "bake"
    if upstream_parameter and trains:
        for target in (out.get("targets") or {}).values():
            target["on_release"] = "auto"
    return out


def _place(name: str, body: dict[str, Any], images: dict[str, Any]) -> None:
    """An image with a parent into the member account; one without stays, sharing with it if a child needs it."""
    body.pop("share_with", None)
    if body.get("parent"):
        body["account_role"] = MEMBER_ROLE
        return
    body.pop("account_role", None)
    if any(isinstance(other, dict) and other.get("parent") == name for other in images.values()):
        body["share_with"] = {"accounts": [MEMBER_ACCOUNT]}


def write(doc: dict[str, Any], path: Path) -> SandboxConfig:
    """Write the derived configuration and validate it exactly as the bot will."""
    text = "# Written by `bakery sandbox`; derived from the example configuration.\n" + yaml.safe_dump(
        doc, sort_keys=False
    )
    path.write_text(text, encoding="utf-8")
    return SandboxConfig(text=text, config=parse_config(text, source=str(path)), path=path)


def roles_of(user: str, config: Config, usergroups: Mapping[str, tuple[str, ...]]) -> list[str]:
    """The roles a user holds under `access`, as the page's user picker shows them."""
    roles = []
    for role, label in (("bakers", "baker"), ("approvers", "approver"), ("deployers", "deployer")):
        principals = config.access.principals(role)
        if "*" in principals or user in principals or any(user in usergroups.get(p, ()) for p in principals):
            roles.append(label)
    return roles
