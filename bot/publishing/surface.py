"""What the publisher draws (a Surface: a kind of record with one Slack message, its replies and notices), and
the small pure pieces its drawing is made of: digests of a render, the record changes it saves, and the
message metadata that names which record a message belongs to (CONTRACT §15)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.bakes.record import BAKE, Bake, bake_index
from bot.domain.models import Notice

# Slack errors that retrying soon will not fix (the channel, the token or the app's scopes must change).
PERMANENT_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "account_inactive", "missing_scope"}
)
# The metadata event type of every message the publisher posts; its payload names the record (and the reply).
EVENT_TYPE = "bakery_record"
MAIN = ""  # the post key of a record's own message; "reply:<key>" and "notice:<key>" name the others

Render = Callable[[Any], tuple[str, list[dict[str, Any]]]]
Replies = Callable[[Any], list[tuple[str, str, list[dict[str, Any]]]]]
NoticeText = Callable[[Notice], str]


def _no_replies(subject: Any) -> list[tuple[str, str, list[dict[str, Any]]]]:
    return []


@dataclass(frozen=True)
class Surface:
    """What the publisher draws: a kind of record with one Slack message, static notices and live replies.

    The record type must have `channel`, `message_ts`, `notices`, `reply_ts`, `posting`, `terminal` and
    `settled`; a `thread_ts` attribute, when set, makes the message itself a reply in that thread.
    """

    kind: str
    load: Callable[[dict[str, Any]], Any]
    index_fn: Callable[[dict[str, Any]], str | None]
    replies: Replies = _no_replies


BAKES = Surface(kind=BAKE, load=Bake.from_doc, index_fn=bake_index)


def metadata_of(kind: str, key: str, post: str) -> dict[str, Any]:
    """The message metadata a post carries: the record's kind and key, and which of its messages it is."""
    payload = {"kind": kind, "key": key}
    if post != MAIN:
        what, _, name = post.partition(":")
        payload[what] = name
    return {"event_type": EVENT_TYPE, "event_payload": payload}


def digest(text: str, blocks: list[dict[str, Any]]) -> str:
    return hashlib.sha256(json.dumps([text, blocks], sort_keys=True).encode()).hexdigest()


def begun(post: str, at: str) -> Callable[[Any], Any | None]:
    """A change that writes the marker "post `post` began at `at`" (epoch seconds) before it is posted."""

    def change(record: Any) -> Any:
        return replace(record, posting={**record.posting, post: at})

    return change


def _done(posting: dict[str, str], post: str) -> dict[str, str]:
    return {k: v for k, v in posting.items() if k != post}


def not_begun(post: str) -> Callable[[Any], Any | None]:
    """A change that clears the marker of a post Slack refused (so nothing of it can be in the channel)."""

    def change(record: Any) -> Any | None:
        return replace(record, posting=_done(record.posting, post)) if post in record.posting else None

    return change


def shown_at(ts: str) -> Callable[[Any], Any | None]:
    """A change that records the record's own message, unless a concurrent publish recorded one first."""

    def change(record: Any) -> Any | None:
        if record.message_ts:
            return None
        return replace(record, message_ts=ts, posting=_done(record.posting, MAIN))

    return change


def remember_reply(reply_key: str, ts: str) -> Callable[[Any], Any | None]:
    """A change that records a live reply's ts, unless a concurrent publish recorded one first."""

    def change(record: Any) -> Any | None:
        if reply_key in record.reply_ts:
            return None
        posting = _done(record.posting, f"reply:{reply_key}")
        return replace(record, reply_ts={**record.reply_ts, reply_key: ts}, posting=posting)

    return change


def mark_posted(notice_key: str) -> Callable[[Any], Any | None]:
    """A change that marks one notice as posted in the thread."""

    def change(record: Any) -> Any:
        return replace(
            record,
            notices=tuple(replace(n, posted=True) if n.key == notice_key else n for n in record.notices),
            posting=_done(record.posting, f"notice:{notice_key}"),
        )

    return change
