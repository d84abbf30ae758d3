"""Parses the text of `/bake` into one command record (CONTRACT §6); pure, no I/O."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection

from bot.config import IMAGE_NAME_RE, VARIABLE_KEY_RE, VARIABLE_VALUE_RE
from bot.domain.commands import Bake, Command, FleetCommand, Gc, Help, ListImages, Revoke, Rollout, Status
from bot.domain.errors import BadRequest

MAX_TEXT = 4000
MAX_REASON = 300
AMI_RE = re.compile(r"^ami-[0-9a-f]{8,17}$")
REQUEST_OR_IMAGE_RE = re.compile(r"^([bhr]-[a-z0-9]{6,12}|[a-z0-9][a-z0-9-]{0,62})$")
# `source_ami=ami-…` pins the base image of any bake; it is not an image variable.
SOURCE_AMI_KEY = "source_ami"
# A value typed in quotes runs to its closing quote, spaces and all, so a refusal can quote all of it.
QUOTES = {'"': '"', "'": "'", "\u201c": "\u201d", "\u2018": "\u2019"}  # straight, and as macOS retypes them
QUOTE_LIMIT = 60
WORD_RE = re.compile(r"\S+")
FORCE_FLAG = "--force"  # `/bake <image> --force …`: bake although these inputs were baked already (§12)
SLASHLESS_SUBCOMMANDS = frozenset({"help", "list", "status", "rollout"})

USAGE = (
    "*Usage*\n"
    "• `/bake help` — this message\n"
    "• `/bake list` — the images: variables, parent, targets and latest AMIs\n"
    "• `/bake <image> [key=value ...] [reason words]` — bake an image,\n"
    "    e.g. `/bake web instance_type=t3.small CVE-2026-1234`\n"
    "• `/bake <image> --force [key=value ...] [reason]` — bake even what was already baked with the same inputs\n"
    "• `/bake status [<request-id> | <rollout-id> | <train-id> | <image>]` — where a bake, rollout or train stands\n"
    "• `/bake rollout <target> [<ami-id>]` — roll a target onto an AMI (default: the image's latest)\n"
    "• `/bake fleet [<image> | <target>]` — what every target runs and how far behind it is\n"
    "• `/bake revoke <ami-id> <reason>` — withdraw a released AMI (approvers)\n"
    "• `/bake gc` — what the AMI lifecycle sweep would remove now, with a button to run it (approvers)"
)


def parse_command(text: str) -> Command:
    """Turn `/bake` text into a Command; BadRequest says what is wrong in one sentence."""
    if len(text) > MAX_TEXT:
        raise BadRequest(f"That command is {len(text)} characters long; the most `/bake` takes is {MAX_TEXT}.")
    words = text.split()
    if not words or words[0].lower() == "help":
        return Help()
    head, rest = words[0].lower(), words[1:]
    if head == "list":
        if rest:
            raise BadRequest("`/bake list` takes nothing after it.")
        return ListImages()
    if head == "status":
        if len(rest) > 1:
            raise BadRequest("`/bake status` takes at most one request id or image name.")
        if rest and not REQUEST_OR_IMAGE_RE.match(rest[0]):
            raise BadRequest(f"`{quote(rest[0])}` is neither a request id (like `b-7f3k2q`) nor an image name.")
        return Status(rest[0] if rest else None)
    if head == "rollout":
        if not rest or len(rest) > 2:
            raise BadRequest("Usage: `/bake rollout <target> [<ami-id>]`.")
        if not IMAGE_NAME_RE.match(rest[0]):
            raise BadRequest(f"`{quote(rest[0])}` is not a target name.")
        if len(rest) == 2 and not AMI_RE.match(rest[1]):
            raise BadRequest(f"`{quote(rest[1])}` is not an AMI id (ami- followed by 8 to 17 hex digits).")
        return Rollout(rest[0], rest[1] if len(rest) == 2 else None)
    if head == "fleet":
        if len(rest) > 1:
            raise BadRequest("Usage: `/bake fleet [<image> | <target>]`.")
        if rest and not IMAGE_NAME_RE.match(rest[0]):
            raise BadRequest(f"`{quote(rest[0])}` is neither an image nor a target name. Try `/bake list`.")
        return FleetCommand(rest[0] if rest else None)
    if head == "revoke":
        if not rest:
            raise BadRequest("Usage: `/bake revoke <ami-id> <reason>`: the AMI to withdraw, and why.")
        if not AMI_RE.match(rest[0]):
            raise BadRequest(f"`{quote(rest[0])}` is not an AMI id (ami- followed by 8 to 17 hex digits).")
        reason = clean_reason(" ".join(rest[1:]))
        if not reason:
            raise BadRequest(f"Say why `{rest[0]}` is revoked: `/bake revoke {rest[0]} <reason>`.")
        return Revoke(rest[0], reason)
    if head == "gc":
        if rest:
            raise BadRequest("`/bake gc` takes nothing after it.")
        return Gc()
    return _parse_bake(_words(text))


def slashless(text: str, images: Collection[str]) -> str | None:
    """The `/bake` text that a channel message means when it is one typed without its slash, else None.

    Only `bake <image or subcommand> …`: a message that merely starts with the word (`bake a cake`) is talk.
    """
    words = text.split(maxsplit=2)
    if len(words) < 2 or words[0].lower() != "bake":
        return None
    if words[1].lower() not in SLASHLESS_SUBCOMMANDS and words[1] not in images:
        return None
    return " ".join(" ".join(words[1:]).split())


def _words(text: str) -> list[str]:
    """The words of `text`; a `key=value` whose value opens a quote takes the words up to its closing quote."""
    words: list[str] = []
    at = 0
    while match := WORD_RE.search(text, at):
        word, at = match.group(), match.end()
        _, equals, value = word.partition("=")
        close = QUOTES.get(value[:1]) if equals else None
        if close and not value[1:].endswith(close):
            end = text.find(close, at)
            at = len(text) if end < 0 else end + 1
            word = text[match.start() : at]
        words.append(word)
    return words


def _parse_bake(words: list[str]) -> Bake:
    image = words[0]
    if not IMAGE_NAME_RE.match(image):
        raise BadRequest(f"`{quote(image)}` is not an image name. Try `/bake list`.")
    variables: dict[str, str] = {}
    source_ami: str | None = None
    force = len(words) > 1 and words[1] == FORCE_FLAG
    i = 2 if force else 1
    # Leading key=value words are variables; everything after the first other word is the reason.
    while i < len(words) and "=" in words[i]:
        key, _, value = words[i].partition("=")
        if not VARIABLE_KEY_RE.match(key):
            raise BadRequest(f"`{quote(key)}` is not a variable name (lower-case letters, digits and `_`).")
        if key in variables or (key == SOURCE_AMI_KEY and source_ami):
            raise BadRequest(f"Variable `{key}` is given twice.")
        check_value(key, value)
        if key == SOURCE_AMI_KEY:
            if not AMI_RE.match(value):
                raise BadRequest(f"`source_ami` must be an AMI id, not `{quote(value)}`.")
            source_ami = value
        else:
            variables[key] = value
        i += 1
    reason = clean_reason(" ".join(words[i:]))
    return Bake(image=image, variables=variables, reason=reason, source_ami=source_ami, force=force)


def check_value(key: str, value: str) -> None:
    """A variable value must be plain: the safe characters, no path climbing, no option look-alikes."""
    if not value:
        raise BadRequest(f"Variable `{key}` has no value.")
    if len(value) > 256:
        raise BadRequest(f"Variable `{key}` is {len(value)} characters long; the most is 256.")
    if not VARIABLE_VALUE_RE.match(value):
        raise BadRequest(
            f"Variable `{key}` may only use letters, digits and `. _ - : / +` (no spaces or quotes); "
            f"`{quote(value)}` does not."
        )
    if ".." in value:
        raise BadRequest(f"Variable `{key}` may not contain `..`.")
    if value.startswith("-"):
        raise BadRequest(f"Variable `{key}` may not start with `-`.")


def clean_reason(reason: str) -> str:
    """One line of printable text: the reason becomes a commit subject, so no newlines or control characters."""
    printable = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in reason)
    text = " ".join(printable.split())
    if len(text) > MAX_REASON:
        raise BadRequest(f"The reason is {len(text)} characters long; the most is {MAX_REASON}.")
    return text


def quote(text: str, limit: int = QUOTE_LIMIT) -> str:
    """Echo user input back whole, safely: one line, without backticks that would break the code span, and
    when longer than `limit`, its first `limit - 3` characters and an ellipsis."""
    shown = "".join(" " if unicodedata.category(ch)[0] == "C" else ch for ch in text).replace("`", "'")
    return shown if len(shown) <= limit else shown[: limit - 3] + "…"
