"""The one error handler: a service's refusal or failure becomes a reply fact for the person, logged once.

A refusal (bad input, not allowed, not found) is the bot working as meant: logged at info with its reason,
answered as `Refused`. Any other BakeryError is something that went wrong: logged with its traceback,
answered as `Failed`. bot/slack/replies.py words both. Errors that are not BakeryErrors are bugs; they go
on to Bolt's own error handler (bot/app.py), which logs them too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeVar

from bot.domain.errors import BadRequest, BakeryError, NotAllowed, NotFound
from bot.domain.replies import Failed, Refused

log = logging.getLogger(__name__)

T = TypeVar("T")
REFUSALS = (BadRequest, NotAllowed, NotFound)


def trouble_of(exc: BakeryError, *, event: str, **fields: str) -> Refused | Failed:
    """Log `exc` once (`<event>.refused` at info, `<event>.failed` with its traceback); the reply it makes."""
    # The caller's event and field names make the format (bot/observe/logfields.py reads it); values are arguments.
    names = "".join(f" {name}=%s" for name in fields)
    if isinstance(exc, REFUSALS):
        log.info("%s.refused" + names + " reason=%s", event, *fields.values(), exc)
        return Refused(exc)
    log.error("%s.failed" + names, event, *fields.values(), exc_info=exc)
    return Failed(exc)


def handled(call: Callable[[], T], *, event: str, **fields: str) -> T | Refused | Failed:
    """`call()`'s answer, or the refusal or failure it raised, as a reply."""
    try:
        return call()
    except BakeryError as exc:
        return trouble_of(exc, event=event, **fields)
