"""Who may do what: `access.*` roles of user ids, user-group ids or "*", refusing by default."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from bot.config import AccessConfig
from bot.domain.errors import ChatError, NotAllowed
from bot.domain.ports import Chat

log = logging.getLogger(__name__)

ROLE_VERBS = {"bakers": "bake images", "approvers": "approve", "deployers": "roll out"}


class Access:
    """Answers `allows(user, role)`; user-group membership is read from Slack and cached for `ttl` seconds."""

    def __init__(
        self, config: AccessConfig, chat: Chat, *, ttl: float = 300.0, clock: Callable[[], float] = time.monotonic
    ):
        self._config = config
        self._chat = chat
        self._ttl = ttl
        self._clock = clock
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def allows(self, user: str, role: str) -> bool:
        principals = self._config.principals(role)
        if "*" in principals or user in principals:
            return True
        return any(user in self._members(p) for p in principals if p.startswith("S"))

    def require(self, user: str, role: str, doing: str = "") -> None:
        """Refuses a user outside `role`; `doing` names what was refused where the role's own verb would not
        (an approver's revoke is not an approval)."""
        if not self.allows(user, role):
            raise NotAllowed(
                f"You are not allowed to {doing or ROLE_VERBS.get(role, role)}: you are not in `access.{role}`. "
                "Ask the platform team to add you or one of your user groups."
            )

    def describe(self, role: str) -> str:
        """The role's members as Slack mentions, for messages like 'who may approve'."""
        out = []
        for p in self._config.principals(role):
            out.append("anyone" if p == "*" else f"<!subteam^{p}>" if p.startswith("S") else f"<@{p}>")
        return ", ".join(out) or "nobody"

    def _members(self, group: str) -> frozenset[str]:
        now = self._clock()
        with self._lock:
            cached = self._groups.get(group)
        if cached and now - cached[0] < self._ttl:
            return cached[1]
        try:
            members = self._chat.group_members(group)
        except ChatError:
            # Refuse by default, but keep using a recent answer rather than locking everyone out on a blip.
            log.warning("access.group_lookup_failed group=%s", group, exc_info=True)
            return cached[1] if cached else frozenset()
        with self._lock:
            self._groups[group] = (now, members)
        return members
