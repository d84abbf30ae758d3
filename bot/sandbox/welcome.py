"""The sandbox's first message in the channel: who the users are and what to try first.

The sandbox posts it, under its own name: a real bot does not know who plays which part here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.sandbox.config import FAIL_EXAMPLE

Blocks = list[dict[str, Any]]


def _names(users: Sequence[Mapping[str, Any]]) -> str:
    names = [f"*{u['name']}*" for u in users]
    return " or ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + f" or {names[-1]}"


def welcome(
    users: Sequence[Mapping[str, Any]], *, images: Sequence[tuple[str, str | None]], targets: Sequence[str] = ()
) -> tuple[str, Blocks]:
    """(fallback text, blocks) from the page's users ({name, title, roles}), the images (name, parent) and targets."""
    who = [f"• *{u['name']}*: {u['title']} ({', '.join(u['roles']) or 'no role'})" for u in users]
    approvers = [u for u in users if "approver" in u["roles"]]
    asker = next((u for u in users if "baker" in u["roles"] and "approver" not in u["roles"]), None)
    asker = asker or next((u for u in users if "baker" in u["roles"]), None)
    first = next((name for name, parent in images if not parent), images[0][0] if images else "base")
    child = next((name for name, parent in images if parent == first), None)
    steps = [
        f"1. As *{asker['name'] if asker else 'a baker'}*, type `/bake {first}` below and watch its stages.",
        "2. When it waits for approval, switch to "
        + (_names([u for u in approvers if u is not asker]) or "an approver")
        + " in the sidebar and press *Approve* on the approval card in the bake's thread"
        " (whoever asked may not approve their own bake).",
    ]
    if child:
        step = f"3. `/bake {child}` bakes on {first}'s new AMI"
        if targets:
            deployer = next((u for u in users if "deployer" in u["roles"]), None)
            second = [u for u in approvers if u is not deployer][:1]
            step += (
                f"; when it is released, *Roll out to {targets[0]}* as {_names([deployer] if deployer else [])}"
                f" and approve the rollout as {_names(second) or 'another approver'}"
            )
        steps.append(step + ".")
    lines = [
        ":wave: *Welcome to the ami-bakery sandbox.* Everything here runs on this machine; this note is the"
        " sandbox's, not the bot's.",
        "*Who is who* (pick who you are in the sidebar):",
        *who,
        "*Try first:*",
        *steps,
        f"`/bake {first} {FAIL_EXAMPLE}` makes the Test stage fail; `/bake help` lists the rest.",
    ]
    text = "\n".join(lines)
    return "Welcome to the ami-bakery sandbox", [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
