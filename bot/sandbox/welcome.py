"""The sandbox's first message in the channel: who the users are and what to try first.

The sandbox posts it, under its own name: a real bot does not know who plays which part here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.config.model import Config
from bot.sandbox.config import FAIL_EXAMPLE

Blocks = list[dict[str, Any]]


def _names(users: Sequence[Mapping[str, Any]]) -> str:
    names = [f"*{u['name']}*" for u in users]
    return " or ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + f" or {names[-1]}"


def _accounts(config: Config) -> list[str]:
    """Where each image lives, when some live in another account (§13): the AMI lines say the account too."""
    members = [i for i in config.images.values() if i.account]
    if not members:
        return []
    lines = ["*Two AWS accounts* (both local):"]
    for account in sorted({i.account for i in members}):
        here = [i.name for i in members if i.account == account]
        targets = [t.name for t in config.targets.values() if t.image in here]
        things = " and ".join(f"*{n}*" for n in here + targets)
        lines.append(f"• {things} live in account `{account}`, which the bot reaches through an assumed role")
    own = [f"*{i.name}*" for i in config.images.values() if not i.account]
    if own:
        lines.append(f"• {' and '.join(own)} in the bakery's own account `{config.bakery_account or 'default'}`")
    for image in config.images.values():
        if image.share_with and image.share_with.accounts:
            to = ", ".join(f"`{a}`" for a in image.share_with.accounts)
            lines.append(f"• *{image.name}*'s released AMIs are shared with {to}, as its children there need")
    return lines


def welcome(users: Sequence[Mapping[str, Any]], *, config: Config) -> tuple[str, Blocks]:
    """(fallback text, blocks) from the page's users ({name, title, roles}) and the sandbox's configuration: the
    steps say what this configuration does (a child that bakes by itself, a target that rolls by itself)."""
    who = [f"• *{u['name']}*: {u['title']} ({', '.join(u['roles']) or 'no role'})" for u in users]
    approvers = [u for u in users if "approver" in u["roles"]]
    asker = next((u for u in users if "baker" in u["roles"] and "approver" not in u["roles"]), None)
    asker = asker or next((u for u in users if "baker" in u["roles"]), None)
    images = list(config.images.values())
    root = next((i for i in images if not i.parent), images[0] if images else None)
    first = root.name if root else "base"
    child = next((i for i in images if i.parent == first), None)
    others = _names([u for u in approvers if u is not asker]) or "an approver"
    steps = [
        f"1. As *{asker['name'] if asker else 'a baker'}*, type `/bake {first}` below and watch its stages.",
        f"2. When it waits for approval, switch to {others} in the sidebar and press *Approve* on the approval"
        " card in the bake's thread (whoever asked may not approve their own bake).",
    ]
    if child and child.on_parent_release != "never":
        if child.on_parent_release == "bake":
            step = f"3. Once *{first}* is released, the bakery bakes *{child.name}* on its new AMI by itself"
        else:
            step = f"3. Press *Rebake {child.name}* in {first}'s thread (or `/bake {child.name}`)"
            step += " to bake on its new AMI"
        target = next((t for t in config.targets.values() if t.image == child.name), None)
        if target is not None and target.on_release == "auto":
            step += f"; once that is released, *{target.name}* rolls out by itself:"
            step += f" approve the rollout as {_names(approvers)}"
        elif target is not None:
            deployer = next((u for u in users if "deployer" in u["roles"]), None)
            second = [u for u in approvers if u is not deployer][:1]
            step += (
                f"; when it is released, *Roll out to {target.name}* as {_names([deployer] if deployer else [])}"
                f" and approve the rollout as {_names(second) or 'another approver'}"
            )
        steps.append(step + ".")
    upstream = next((i for i in images if i.upstream is not None), None)
    if upstream is not None:
        steps.append(
            f"{len(steps) + 1}. *Upstream release: {upstream.name}* in the sidebar plays Amazon releasing a new OS AMI:"
            " everything built on it follows as one release train, one message in the channel"
            " (approvals still wait for an approver)."
        )
    lines = [
        ":wave: *Welcome to the ami-bakery sandbox.* Everything here runs on this machine; this note is the"
        " sandbox's, not the bot's.",
        "*Who is who* (pick who you are in the sidebar):",
        *who,
        *_accounts(config),
        "*Try first:*",
        *steps,
        f"`/bake {first} {FAIL_EXAMPLE}` makes the Test stage fail; `/bake help` lists the rest.",
    ]
    text = "\n".join(lines)
    return "Welcome to the ami-bakery sandbox", [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
