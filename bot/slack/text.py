"""Slack text primitives: escaping outside input for mrkdwn, links whose URL comes from outside, and the stock
phrases answers share."""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

# What ends or splits a mrkdwn link (`>`, `|`), opens another (`<`), or cannot sit in a URL at all.
_LINK_BREAKERS = re.compile(r"[<>|\s\x00-\x1f\x7f]")
_WEB_SCHEME = re.compile(r"https?://", re.IGNORECASE)


def escape(text: str) -> str:
    """Slack mrkdwn escaping: user text must not become mentions (<!channel>) or links."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    """A mrkdwn link to a web URL from outside input, or the label alone when the URL is not a web link.

    The characters that would end or split the link are percent-encoded rather than refused: that names the
    same resource, and genuine AWS links carry them (its sample CodeBuild link ends in `:<ID>/view/new`).
    `&` is written `&amp;`, which Slack reads back as `&`. The label is escaped, so it cannot open a link.
    """
    if not _WEB_SCHEME.match(url):  # matched on the text itself: urlsplit forgives leading junk
        return escape(label)
    try:
        if not urlsplit(url).netloc:
            return escape(label)
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return escape(label)
    safe = _LINK_BREAKERS.sub(lambda m: quote(m.group(), safe=""), url)
    return f"<{safe.replace('&', '&amp;')}|{escape(label)}>"


# A command's first answer when its real one takes longer than Slack should wait; the real one follows.
STILL_CHECKING = ":hourglass_flowing_sand: Checking… I will answer here in a moment."
