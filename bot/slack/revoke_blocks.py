"""`/bake revoke` in words (§14): the channel's message (who, why, every AMI withdrawn, where `latest` points now,
each target still on it with its Roll out button) and the revoker's private line."""

from __future__ import annotations

from bot.domain.models import Ami
from bot.fleet.revoke_facts import LatestMoved, Revoked, StillOn
from bot.slack import ids
from bot.slack.amis import ami_place, amis_words
from bot.slack.bake_blocks import Blocks, ephemeral
from bot.slack.dates import slack_date
from bot.slack.text import escape

SHOWN_TARGETS = 25  # a line and a button each; Slack takes 25 elements in an actions block


def _section(text: str) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def _sections(lines: list[str]) -> Blocks:
    """The lines in as few sections as Slack's 3,000 characters each allow, none cut."""
    packed: list[str] = []
    for line in lines:
        if packed and len(packed[-1]) + 1 + len(line) <= 3000:
            packed[-1] += "\n" + line
        else:
            packed.append(line)
    return [_section(text) for text in packed]


def _place(region: str, account: str, own: str) -> str:
    return f"{region}, {account}" if account and account != own else region


def _latest_line(m: LatestMoved, own: str) -> str:
    where = _place(m.region, m.account_id, own)
    if m.now:
        return f":leftwards_arrow_with_hook: `{m.name}` ({where}) names `{m.now}` again (it named `{m.was}`)."
    return (
        f":warning: `{m.name}` ({where}) still names `{m.was}`: no released, unrevoked AMI is left there. It is "
        "left as it is (launches that resolve it would fail if it were gone); child bakes and rollouts on the "
        "revoked AMI are refused, and the next release moves it on."
    )


def _target_line(s: StillOn, own: str) -> str:
    uses = []
    if s.default_ami:
        uses.append(f"its launch template's default version has `{s.default_ami}`")
    uses += [f"{n} instance{'s' if n != 1 else ''} on `{ami}`" for ami, n in s.instances]
    onto = (
        f" Roll it onto `{s.good_ami}`."
        if s.good_ami
        else " No released, unrevoked AMI of its image is there to roll onto: bake one."
    )
    if s.good_ami and not s.button:
        onto = f" Roll it onto `{s.good_ami}`: `/bake rollout {s.target} {s.good_ami}`."
    return f"• *{s.target}* ({_place(s.region, s.account_id, own)}): {', '.join(uses)}.{onto}"


def _buttons(still_on: tuple[StillOn, ...]) -> Blocks:
    """One actions block: a Roll out button per target that has a good AMI to go to (Slack takes 25)."""
    buttons = [
        {
            "type": "button",
            "action_id": ids.ROLLOUT_START,
            "text": {"type": "plain_text", "text": f"Roll out {s.target}"[:75]},
            "value": s.button,
        }
        for s in still_on
        if s.button
    ]
    return [{"type": "actions", "block_id": "rollouts", "elements": buttons[:SHOWN_TARGETS]}] if buttons else []


def revoke_message(r: Revoked) -> tuple[str, Blocks]:
    """The channel's message: a revocation is everyone's news, not the revoker's alone."""
    rev, own = r.revocation, r.own_account
    asked = Ami(region=rev.region, ami_id=rev.ami_id, account_id=rev.account_id)
    head = (
        f":no_entry: <@{rev.by}> revoked {ami_place(asked, own)} of *{r.image}*: {escape(rev.reason)}\n"
        "Rollouts onto it and bakes on it are refused from now on."
    )
    others = [a for a in r.amis if a.ami_id != rev.ami_id]
    lines = [head]
    if others:
        copies = amis_words(others, own, shown=len(others))
        lines.append(f"Revoked with it, the same bake{_bake(rev.request_id)}: {copies}.")
    done = sorted({*r.tagged, *r.deprecated})
    if done:
        lines.append(f"Tagged `bakery:revoked` and deprecated now: {', '.join(f'`{a}`' for a in done)}.")
    lines += [_latest_line(m, own) for m in r.latest]
    blocks: Blocks = [_section("\n".join(lines))]
    if r.still_on:
        shown = r.still_on[:SHOWN_TARGETS]
        lines = [f"*Still on it* ({len(r.still_on)} target{'s' if len(r.still_on) != 1 else ''}):"]
        lines += [_target_line(s, own) for s in shown]
        if len(r.still_on) > SHOWN_TARGETS:
            lines.append(f"…and {len(r.still_on) - SHOWN_TARGETS} more: `/bake fleet {r.image}`.")
        blocks += _sections(lines)
        blocks += _buttons(shown)
    else:
        blocks.append(_section("No target of this image runs it."))
    if r.problems:
        said = "\n".join(f":warning: {escape(p)}" for p in r.problems)
        again = f"`/bake revoke {rev.ami_id} …` again finishes what was refused."
        blocks.append(_section(f"{said}\n{again}"))
    text = f"{rev.ami_id} of {r.image} revoked by <@{rev.by}>: {escape(rev.reason)}"
    return text[:3000], blocks


def _bake(request_id: str) -> str:
    return f" `{request_id}`" if request_id else ""


def revoke_private(r: Revoked) -> tuple[str, Blocks]:
    """What the revoker reads: where the announcement is, or that it was revoked already (and what was finished)."""
    rev = r.revocation
    if r.first and r.channel:
        text = f":no_entry: Revoked `{rev.ami_id}`; the announcement, with what still runs it, is in <#{r.channel}>."
        return text, ephemeral(text)
    if r.first:  # it could not be posted in the channel: the whole message, privately
        return revoke_message(r)
    text = f"`{rev.ami_id}` was revoked already, by <@{rev.by}> on {slack_date(rev.at)}: {escape(rev.reason)}."
    finished = sorted({*r.tagged, *r.deprecated})
    if finished or any(m.now for m in r.latest):
        text += (
            " What AWS had refused then is done now: "
            + (", ".join(f"`{a}`" for a in finished) or "the `latest` parameter")
            + "."
        )
    else:
        text += " Nothing changed."
    if r.problems:
        text += "\n" + "\n".join(f":warning: {escape(p)}" for p in r.problems)
    return text, ephemeral(text)
