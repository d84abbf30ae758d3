"""A release train in words: one line per hop (the cause, each bake, each rollout), its state, how long it
took, who approved it, and a link to the hop's own message. No buttons: each hop's stay on that hop (§12)."""

from __future__ import annotations

from typing import Any

from bot.bakes.record import Bake
from bot.domain.causes import BAKERY_USER, Cause, CauseKind
from bot.domain.links import CONSOLE, Links
from bot.rollouts.record import Rollout, RolloutStatus
from bot.slack.amis import amis_words
from bot.slack.bake_state import header_words
from bot.slack.dates import duration
from bot.slack.ids import BAKE_CHILDREN
from bot.slack.rollout_blocks import STATUS_LABEL as ROLLOUT_LABEL
from bot.slack.text import escape, link
from bot.trains.distribution_record import Distribution, DistributionState
from bot.trains.offers import RebakeOffer
from bot.trains.record import ASK_ROLLOUT, Hop, HopKind
from bot.trains.view import TrainView

Blocks = list[dict[str, Any]]


def message_link(channel: str, ts: str, links: Links = CONSOLE) -> str:
    """A link to a message: its Slack permalink, or its place on the sandbox's page."""
    return links.message(channel=channel, ts=ts)


def cause_words(cause: Cause) -> str:
    """Why an automatic bake (or a train) exists: "upstream al2023-… moved to ami-…", "base released ami-… (b-…)"."""
    if cause.kind == CauseKind.UPSTREAM:
        name = cause.parameter.rstrip("/").rsplit("/", 1)[-1] or cause.image
        return f"upstream {name} moved to `{cause.ami_id}`"
    return f"{cause.image} released `{cause.ami_id}` (`{cause.request_id}`)"


def _approvers(users: list[str]) -> str:
    return (", approved by " + ", ".join(f"<@{u}>" for u in users)) if users else ""


def _bake_line(hop: Hop, bake: Bake | None, now: str, links: Links, own_account: str = "") -> str:
    if bake is None:
        return f":heavy_minus_sign: bake of *{hop.subject}*: nothing opened (same inputs already baked, or in flight)"
    icon, words = header_words(bake)
    took = duration(bake.requested_at, bake.finished_at or now)
    approved = [d.user for d in bake.decisions if d.outcome == "approved" and d.user]
    words = "released" if bake.released else words
    line = f"{icon} bake *{bake.image}* `{bake.request_id}`: {words}"
    line += f" ({took})" if took else ""
    line += _approvers(approved)
    line += f" — {amis_words(bake.amis, own_account, shown=3)}" if bake.amis else ""
    url = message_link(bake.channel, bake.message_ts, links)
    return line + (f" · {link(url, 'message')}" if url else "")


def _waiting_line(hop: Hop, holder: Rollout | None) -> str:
    """A rollout hop not started: superseded by a newer release, waiting for its target, or nothing opened."""
    if hop.superseded_by:
        return (
            f":fast_forward: rollout of *{hop.subject}*: superseded by a newer release (`{hop.superseded_by}`), "
            "which rolls instead"
        )
    if not hop.waiting:
        return f":heavy_minus_sign: rollout of *{hop.subject}*: not started"
    state = "running"
    if holder is not None and holder.status == RolloutStatus.AWAITING_APPROVAL:
        state = "waiting for approval"
    return f":hourglass_flowing_sand: waiting for *{hop.subject}*: rollout `{hop.waiting}` is {state}"


def _rollout_line(hop: Hop, rollout: Rollout | None, now: str, links: Links, holder: Rollout | None = None) -> str:
    if rollout is None:
        return _waiting_line(hop, holder)
    icon, label = ROLLOUT_LABEL.get(rollout.status, (":grey_question:", rollout.status.value))
    took = duration(rollout.requested_at, rollout.finished_at or now)
    line = f"{icon} rollout *{rollout.target}* `{rollout.rollout_id}` onto `{rollout.ami_id}`: {label}"
    line += f" ({took})" if took else ""
    line += _approvers([rollout.approved_by] if rollout.approved_by else [])
    url = message_link(rollout.channel, rollout.message_ts or rollout.thread_ts, links)
    return line + (f" · {link(url, 'message')}" if url else "")


_DISTRIBUTION_ICON = {
    DistributionState.COPYING: ":hourglass_flowing_sand:",
    DistributionState.SHARING: ":hourglass_flowing_sand:",
    DistributionState.DONE: ":white_check_mark:",
    DistributionState.FAILED: ":x:",
}


def _distribution_line(hop: Hop, dist: Distribution | None, now: str) -> str:
    """The release's copies and shares (§13) as they stand: "copied to us-east-1, shared with 210987654321"."""
    if dist is None:
        return f":heavy_minus_sign: distribution of *{hop.subject}*: not started"
    regions = ", ".join(c.region for c in dist.copies)
    accounts = ", ".join(dist.accounts)
    words = []
    if regions:
        copied = all(c.state == "available" for c in dist.copies)
        words.append(f"copied to {regions}" if copied else f"copying to {regions}")
    if accounts:
        sharing = {
            DistributionState.COPYING: "then sharing with",
            DistributionState.SHARING: "sharing with",
            DistributionState.DONE: "shared with",
            DistributionState.FAILED: "not shared with",
        }[dist.state]
        words.append(f"{sharing} {accounts}")
    what = ", ".join(words) or "nothing to copy or share"
    if dist.state == DistributionState.FAILED:
        what = f"failed ({what}): {escape(dist.error)}"
    elif dist.error:
        what += f"; trying again after: {escape(dist.error)}"
    took = duration(dist.started_at, dist.finished_at or now)
    line = f"{_DISTRIBUTION_ICON[dist.state]} distribution of *{dist.image}* `{dist.request_id}`: {what}"
    return line + (f" ({took})" if took else "")


def _ask_line(hop: Hop, parent: Bake | None, links: Links) -> str:
    what = "Roll out" if hop.key.startswith(ASK_ROLLOUT) else f"Rebake {hop.subject}"
    where = message_link(parent.channel, parent.message_ts, links) if parent else ""
    on = link(where, "the released bake") if where else "the released bake"
    return f":raised_hand: *{hop.subject}* waits for a person: the *{what}* button on {on}"


def train_lines(view: TrainView, *, now: str, links: Links = CONSOLE, own_account: str = "") -> list[str]:
    train = view.train
    lines = [f":zap: cause: {cause_words(train.cause)}"]
    for hop in train.hops:
        if hop.kind == HopKind.BAKE:
            lines.append(_bake_line(hop, view.bakes.get(hop.ref), now, links, own_account))
        elif hop.kind == HopKind.DISTRIBUTION:
            lines.append(_distribution_line(hop, view.distributions.get(hop.ref), now))
        elif hop.kind == HopKind.ROLLOUT:
            holder = view.rollouts.get(hop.waiting) if hop.waiting else None
            lines.append(_rollout_line(hop, view.rollouts.get(hop.ref), now, links, holder))
        else:
            lines.append(_ask_line(hop, view.bakes.get(hop.parent_ref), links))
    return lines


def train_message(
    view: TrainView, *, now: str, links: Links = CONSOLE, own_account: str = ""
) -> tuple[str, Blocks]:
    train = view.train
    state = "finished" if train.finished_at else "moving"
    who = "" if train.started_by in ("", BAKERY_USER) else f", started by <@{train.started_by}>"
    title = f":steam_locomotive: Release train `{train.train_id}` ({state}{who})"
    body = "\n".join(train_lines(view, now=now, links=links, own_account=own_account))
    text = f"Release train {train.train_id}: {cause_words(train.cause)}"
    return text, [
        {"type": "section", "text": {"type": "mrkdwn", "text": title}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body[:2900]}},
    ]


def rebake_replies(parent_request_id: str, offers: list[RebakeOffer]) -> list[tuple[str, str, Blocks]]:
    """The live thread replies of a released bake whose children ask: one **Rebake <child>** button each,
    which says who pressed it (and what it opened) once someone has."""
    out = []
    for o in offers:
        text = f"Rebake {o.child} on {o.ami_id}"
        intro = f":repeat: *{o.child}* is built on this image. Rebake it on `{o.ami_id}`?"
        blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": intro}}]
        if o.clicked_by:
            done = f" (bake `{o.opened}`)" if o.opened else ""
            said = f"<@{o.clicked_by}> asked to rebake *{o.child}*{done}."
            blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": said}]})
        else:
            button = {
                "type": "button",
                "action_id": BAKE_CHILDREN,
                "text": {"type": "plain_text", "text": f"Rebake {o.child}"[:75]},
                "value": o.key,
                "style": "primary",
            }
            blocks.append({"type": "actions", "elements": [button]})
        out.append((f"rebake:{o.child}", text, blocks))
    return out


def train_report(view: TrainView, *, now: str, links: Links = CONSOLE, own_account: str = "") -> str:
    """`/bake status t-…`: the train's message, as text."""
    title = train_message(view, now=now, links=links)[1][0]["text"]["text"]
    lines = train_lines(view, now=now, links=links, own_account=own_account)
    return "\n".join([title, *(f"    {line}" for line in lines)])


def cause_chain(causes: tuple[Cause, ...]) -> str:
    """`/bake status <bake>` of an automatic bake: why, back to the root ("… ← upstream … moved to ami-…")."""
    return " ← ".join(cause_words(c) for c in causes)
