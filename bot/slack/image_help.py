"""`/bake help` and `/bake list` in words: each image with its variables and defaults, its parent and its
targets, packed into as many section blocks as Slack's limits need.

A section's text holds at most 3000 characters and a message at most 50 blocks, so an image's entry is kept
short (at most a few variables and targets by name, long defaults shortened) and entries are packed into
sections whole; what does not fit in the last block is named, not cut mid-line.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.commands.answers import ImageLine, ImageList, Usage
from bot.domain.counts import count
from bot.slack.amis import ami_place
from bot.slack.bake_blocks import Blocks

SECTION_TEXT = 3000
MAX_BLOCKS = 50
SHOWN_VARIABLES = 8
SHOWN_TARGETS = 6
SHOWN_AMIS = 3
DEFAULT_LIMIT = 40
FALLBACK_TEXT = 3000  # the message's `text`, the notification's words: the blocks carry the whole answer


def usage_message(answer: Usage) -> tuple[str, Blocks]:
    entries = [image_entry(image, amis=False) for image in answer.images]
    return _message(answer.text, "*Images you can bake*" if entries else "", entries)


def list_message(answer: ImageList) -> tuple[str, Blocks]:
    entries = [image_entry(image, amis=True, own_account=answer.own_account) for image in answer.images]
    return _message("", "*Images*", entries or ["No image is configured."])


def image_entry(image: ImageLine, *, amis: bool, own_account: str = "") -> str:
    """An image's lines: name, parent and targets; the variables with their defaults; its latest AMIs, each with
    its region (and its account when not the bakery's own)."""
    head = f"• *{image.name}*"
    if image.parent:
        head += f" on top of *{image.parent}*"
    if image.targets:
        head += " — rolls out to " + _some([f"`{t}`" for t in image.targets], SHOWN_TARGETS, "target")
    lines = [head]
    if image.variables:
        shown = [f"`{key}={_short(default)}`" for key, default in image.variables]
        lines.append("    variables (defaults): " + _some(shown, SHOWN_VARIABLES, "variable"))
    else:
        lines.append("    no variables to set")
    if amis:
        latest = [ami_place(ami, own_account) for ami in image.amis]
        lines.append("    latest AMI: " + (_some(latest, SHOWN_AMIS, "AMI") if latest else "none baked yet"))
    return "\n".join(lines)


def _some(items: Sequence[str], shown: int, noun: str) -> str:
    if len(items) <= shown:
        return ", ".join(items)
    return ", ".join(items[:shown]) + f" and {count(len(items) - shown, 'more ' + noun)}"


def _short(text: str) -> str:
    return text if len(text) <= DEFAULT_LIMIT else text[: DEFAULT_LIMIT - 3] + "…"


def _message(intro: str, heading: str, entries: list[str]) -> tuple[str, Blocks]:
    """The intro in its own section, then the entries under the heading, packed whole into sections."""
    texts = [intro] if intro else []
    current = heading
    for i, entry in enumerate(entries):
        if current and len(current) + 1 + len(entry) > SECTION_TEXT:
            if len(texts) == MAX_BLOCKS - 2:  # room for this section and the note of what is left out
                texts.append(current)
                current = f"_…and {count(len(entries) - i, 'more image')}, not shown here._"
                break
            texts.append(current)
            current = ""
        current = f"{current}\n{entry}" if current else entry
    if current:
        texts.append(current)
    text = "\n\n".join(texts)
    if len(text) > FALLBACK_TEXT:
        text = text[: FALLBACK_TEXT - 1] + "…"
    blocks: Blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": t[:SECTION_TEXT]}} for t in texts]
    return text, blocks
