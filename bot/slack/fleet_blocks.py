"""`/bake fleet` and the stale digest in words (§14): one line per target (what it runs, with counts, the newest
good AMI, how far behind), a **Roll out** button beside each target not current. Many targets fit one message:
the targets that need someone come first, and past Slack's limits (50 blocks, about 13.2k characters of
blocks) the rest are counted, never cut mid-line."""

from __future__ import annotations

import json
from collections.abc import Sequence

from bot.fleet.facts import FleetReport, FleetState, RunningAmi, TargetFleet
from bot.slack import ids
from bot.slack.bake_blocks import Blocks
from bot.slack.rollout_blocks import STATUS_LABEL
from bot.slack.text import escape

MAX_BLOCKS = 50
MAX_CHARS = 12_000  # of the blocks' JSON: Slack refuses a message at about 13.2k (REFERENCE)
SECTION_CHARS = 2_900  # a section's text may hold 3,000
REST_CHARS = 1_500  # kept for the last block: the targets not shown in full, by state and name
_ORDER = [
    FleetState.REVOKED,
    FleetState.BEHIND,
    FleetState.UNREAD,
    FleetState.MISSING,
    FleetState.NO_RELEASE,
    FleetState.CURRENT,
]
_MARK = {
    FleetState.CURRENT: ":white_check_mark: current",
    FleetState.BEHIND: ":hourglass: behind",
    FleetState.REVOKED: ":no_entry: on a revoked AMI",
    FleetState.NO_RELEASE: ":grey_question: no release of its image there yet",
    FleetState.UNREAD: ":warning: could not be read",
    FleetState.MISSING: ":warning: not found",
}


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _place(t: TargetFleet, own_account: str) -> str:
    """Where the target runs: its region, and its account unless that is the bakery's (as AMIs are shown, §13)."""
    account = f", {t.account_id}" if t.account_id and t.account_id != own_account else ""
    return f"({t.region}{account})"


def _duration(seconds: float) -> str:
    if seconds >= 86400 and seconds % 86400 == 0:
        return _plural(int(seconds // 86400), "day")
    if seconds >= 3600:
        return _plural(round(seconds / 3600), "hour")
    return _plural(max(1, round(seconds / 60)), "minute")


def _running(a: RunningAmi, image: str) -> str:
    what = [w for w in ("default version" if a.default else "", _plural(a.instances, "instance")) if w]
    if a.revoked is not None:
        what.append(f"revoked: {escape(a.revoked)}")
    elif a.bakes_behind is None:
        what.append(f"not a release of {image} there")
    elif a.bakes_behind:
        what.append(f"{_plural(a.bakes_behind, 'bake')} behind")
    return f"`{a.ami_id}` ({', '.join(what)})"


def target_line(t: TargetFleet, own_account: str = "") -> str:
    """One target in words: `*web-prod* (eu-west-1) — behind by 2 bakes for 9 days`, then what it runs."""
    head = f"*{t.target}* {_place(t, own_account)} — {_MARK[t.state]}"
    if t.not_current and t.bakes_behind:
        head += f" by {_plural(t.bakes_behind, 'bake')}"
    if t.not_current and t.behind_since:
        head += f" for {_plural(t.days_behind, 'day')}" if t.days_behind else " for less than a day"
    lines = [head]
    if t.runs:
        lines.append("    runs " + ", ".join(_running(a, t.image) for a in t.runs))
    elif t.state not in (FleetState.UNREAD, FleetState.MISSING):
        lines.append("    runs no AMI it names (no launch template default, no instances)")
    if t.newest and t.state != FleetState.CURRENT:
        lines.append(f"    newest good {t.image}: `{t.newest}`")
    if t.rollout:
        rollout_id, _, status = t.rollout.partition(" ")
        status = status.strip("()")  # the record's status, in the words its own message and /bake status use
        lines.append(f"    rollout in flight: `{rollout_id}` {escape(STATUS_LABEL.get(status, ('', status))[1])}")
    if t.problem:
        lines.append(f"    {escape(t.problem)}")
    return "\n".join(lines)


def _button(key: str) -> dict[str, object]:
    return {
        "type": "button",
        "action_id": ids.ROLLOUT_START,
        "text": {"type": "plain_text", "text": "Roll out"},
        "value": key,
    }


def _section(text: str, button: str | None = None) -> dict[str, object]:
    block: dict[str, object] = {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}
    if button:
        block["accessory"] = _button(button)
    return block


def ordered(targets: Sequence[TargetFleet]) -> list[TargetFleet]:
    """Those that need someone first (revoked, behind, unreadable), then the rest, each group by name."""
    return sorted(targets, key=lambda t: (_ORDER.index(t.state), t.target))


def target_blocks(targets: Sequence[TargetFleet], own_account: str, header: str, *, more_hint: str) -> Blocks:
    """A header, one section per target with a button, targets without one packed several to a section, and
    a last line counting what did not fit."""
    blocks: Blocks = [_section(header)]
    size = len(json.dumps(blocks))
    pending: list[str] = []  # lines of button-less targets, packed into one section
    reserve = REST_CHARS + len(more_hint) + 100

    def fits(block: dict[str, object], extra_blocks: int) -> bool:
        return len(blocks) + extra_blocks < MAX_BLOCKS and size + len(json.dumps(block)) + 2 + reserve <= MAX_CHARS

    def flush() -> bool:
        nonlocal size
        if pending:
            block = _section("\n".join(pending))
            if not fits(block, 1):
                return False
            blocks.append(block)
            size += len(json.dumps(block)) + 2
            pending.clear()
        return True

    done: list[TargetFleet] = []
    for t in targets:
        line = target_line(t, own_account)
        if t.button:
            block = _section(line, t.button)
            if not flush() or not fits(block, 1):
                break
            blocks.append(block)
            size += len(json.dumps(block)) + 2
        else:
            joined = "\n".join([*pending, line])
            if len(joined) > SECTION_CHARS and not flush():
                break
            probe = _section("\n".join([*pending, line]))
            if not fits(probe, 1):
                break
            pending.append(line)
        done.append(t)
    if not flush():
        done = done[: len(done) - len(pending)]
    shown = len(done)
    if shown < len(targets):
        blocks.append(_section(rest_line(targets[shown:], more_hint)))
    return blocks


def rest_line(rest: Sequence[TargetFleet], more_hint: str) -> str:
    """The targets past the limits, counted by state, each state naming as many as fit."""
    parts = []
    for state in _ORDER:
        names = [t.target for t in rest if t.state == state]
        if names:
            parts.append((state, names))
    room = max(40, REST_CHARS // max(1, len(parts)))
    said = []
    for state, names in parts:
        listed: list[str] = []
        for name in names:
            if sum(len(n) + 2 for n in listed) + len(name) > room:
                break
            listed.append(name)
        left = f" and {len(names) - len(listed)} more" if len(listed) < len(names) else ""
        said.append(f"{len(names)} {state.value}: {', '.join(listed)}{left}")
    return f"… and {_plural(len(rest), 'more target')} ({'; '.join(said)}). {more_hint}".rstrip()


def fleet_message(report: FleetReport) -> tuple[str, Blocks]:
    """The private answer to `/bake fleet [<image> | <target>]`."""
    targets = ordered(report.targets)
    of = f" of {report.subject}" if report.subject else ""
    if not targets:
        text = f"No targets of *{report.subject}* are configured." if report.subject else "No targets are configured."
        return text, [_section(text)]
    counts = {s: sum(1 for t in targets if t.state == s) for s in _ORDER}
    said = ", ".join(f"{n} {s}" for s, n in counts.items() if n)
    header = f"*Fleet{of}*: {_plural(len(targets), 'target')} ({said})"
    hint = "`/bake fleet <image>` or `/bake fleet <target>` shows fewer." if not report.subject else ""
    blocks = target_blocks(targets, report.own_account, header, more_hint=hint)
    return header, blocks


def digest_message(targets: Sequence[TargetFleet], *, stale_after: float, own_account: str = "") -> tuple[str, Blocks]:
    """The stale digest for one channel: each target behind for longer than `fleet.stale_after`."""
    header = (
        f":hourglass: *Stale targets*: {_plural(len(targets), 'target')} behind their image's newest good AMI for"
        f" more than {_duration(stale_after)}"
    )
    blocks = target_blocks(ordered(targets), own_account, header, more_hint="`/bake fleet` shows them all.")
    return header, blocks
