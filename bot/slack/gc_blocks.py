"""The lifecycle sweep in words (§14): `/bake gc`'s private dry run with its gc_confirm button, the report each
sweep posts to the default channel, and the same report as plain lines for `bakery gc`. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.domain.models import Ami
from bot.lifecycle.report import GcPreview, Planned, SweepReport, Use
from bot.slack import ids
from bot.slack.amis import ami_place
from bot.slack.text import escape

Blocks = list[dict[str, Any]]
SHOWN = 25  # AMIs named per list; the rest are counted (Slack's ~13k characters of blocks per message)
SECTION = 2900  # a section's text stays under Slack's 3,000 characters
LINE = 200  # the most of a reason (AWS's words) shown on one line


def _ami(p: Planned, own: str) -> str:
    a = p.ami
    return ami_place(Ami(region=a.region, ami_id=a.ami_id, account_id=a.account_id), own)


def _use(u: Use, own: str) -> str:
    where = f" in {u.account}" if u.account and u.account != own else ""
    what = {
        "instance": f"instance `{u.resource}`",
        # `lt-…:<n>`, whose detail says "version <n> of <name>": the id alone, so the version is said once.
        "launch-template": f"launch template `{u.resource.split(':')[0] if u.detail else u.resource}`",
        "ssm-parameter": f"parameter `{u.resource}`",
        "bake": f"bake `{u.resource}`",
        "rollout": f"rollout `{u.resource}`" if u.resource else "a rollout",
    }.get(u.kind, f"`{u.resource}`" if u.resource else "")
    detail = escape(u.detail) if u.detail else ""
    return ", ".join(x for x in (what + where, detail) if x)


def _lines(title: str, planned: Sequence[Planned], own: str, *, uses: bool = False, sizes: bool = False) -> list[str]:
    items = []
    for p in planned:
        why = "; ".join(_use(u, own) for u in p.uses[:3]) if uses else escape(p.why)
        more = f" (+{len(p.uses) - 3} more)" if uses and len(p.uses) > 3 else ""
        size = f", {p.ami.snapshot_gb} GB" if sizes and p.ami.snapshot_gb else ""
        items.append(f"• *{p.image}* {_ami(p, own)}{size}: {why[:LINE]}{more}")
    return _listed(f"*{title}* ({len(planned)})", items)


def _listed(title: str, items: Sequence[str]) -> list[str]:
    """A title and as many items as fit one section (at most SHOWN); the rest counted."""
    if not items:
        return []
    lines = [title]
    used = len(title)
    for item in items[:SHOWN]:
        if used + len(item) + 1 > SECTION - 40:
            break
        lines.append(item)
        used += len(item) + 1
    shown = len(lines) - 1
    if shown < len(items):
        lines.append(f"• … and {len(items) - shown} more")
    return lines


def _freed(report: SweepReport) -> str:
    verb = "would free" if report.dry_run else "freed"
    return f"{verb} {report.freed_gb} GB of snapshots (${report.freed_per_month:.2f}/month at $0.05/GB-month)"


def report_lines(report: SweepReport, own: str = "") -> list[str]:
    """The report as mrkdwn paragraphs: a summary, then each list."""
    removed = "Would remove" if report.dry_run else "Removed"
    deprecated = "Would deprecate" if report.dry_run else "Deprecated"
    head = "Lifecycle sweep (dry run)" if report.dry_run else "Lifecycle sweep"
    n = len(report.removed)
    summary = (
        f":broom: *{head}* of {', '.join(f'*{i}*' for i in report.images) or 'no image'}: "
        f"{removed.lower()} {n} AMI{'s' if n != 1 else ''}, {_freed(report)}; "
        f"{len(report.in_use)} kept in use, {report.kept} kept by the lifecycle."
    )
    paragraphs = [summary]
    for lines in (
        _lines(removed, report.removed, own, sizes=True),
        _lines(deprecated, report.deprecated, own),
        _lines("Kept because in use", report.in_use, own, uses=True),
    ):
        if lines:
            paragraphs.append("\n".join(lines))
    if report.failed:
        title = f"*AWS refused* ({len(report.failed)}; the next sweep tries again)"
        items = [
            f"• {f.action} *{f.planned.image}* {_ami(f.planned, own)}: {escape(f.reason)[:LINE]}" for f in report.failed
        ]
        paragraphs.append("\n".join(_listed(title, items)))
    if report.unreachable:
        unread = [f"• {escape(u)}" for u in report.unreachable]
        paragraphs.append("*Not read* (nothing removed there)\n" + "\n".join(unread))
    if report.unconfigured:
        names = ", ".join(f"`{escape(n)}`" for n in report.unconfigured)
        paragraphs.append(f"Left alone: AMIs tagged `bakery:image` with an image not configured here ({names}).")
    return paragraphs


def _sections(paragraphs: Sequence[str]) -> Blocks:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": p[:SECTION]}} for p in paragraphs]


def gc_preview_message(preview: GcPreview) -> tuple[str, Blocks]:
    """`/bake gc`'s private answer: the dry run, and a Run button when there is anything to do."""
    paragraphs = report_lines(preview.report, preview.own_account)
    blocks = _sections(paragraphs)
    if preview.key:
        button = {
            "type": "button",
            "action_id": ids.GC_CONFIRM,
            "text": {"type": "plain_text", "text": "Run this sweep"},
            "value": preview.key,
            "style": "danger",
            "confirm": {
                "title": {"type": "plain_text", "text": "Deregister these AMIs?"},
                "text": {"type": "mrkdwn", "text": "Their snapshots are deleted with them. This cannot be undone."},
                "confirm": {"type": "plain_text", "text": "Run the sweep"},
                "deny": {"type": "plain_text", "text": "Cancel"},
            },
        }
        blocks.append({"type": "actions", "block_id": "gc", "elements": [button]})
    else:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "Nothing to remove or deprecate."}]})
    return paragraphs[0], blocks


def sweep_message(report: SweepReport, own: str = "") -> tuple[str, Blocks]:
    """What each sweep (daily or confirmed) posts to the default channel."""
    paragraphs = report_lines(report, own)
    return paragraphs[0], _sections(paragraphs)


def report_text(report: SweepReport, own: str = "") -> str:
    """`bakery gc`'s output: the same report, for a terminal."""
    return "\n\n".join(report_lines(report, own)).replace("*", "").removeprefix(":broom: ")
