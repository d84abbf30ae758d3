"""Where one target stands (§14), pure: what it runs (GroupRuns) against its image's releases in its account and
region (OwnedAmi, as EC2 tags them) and the revocations: current, behind (by how many bakes, since when) or on a
revoked AMI. bot/fleet/view.py gathers the inputs; this decides."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from bot.domain.fleet_types import GroupRuns, OwnedAmi
from bot.domain.times import parse_time
from bot.fleet.facts import FleetState, RunningAmi
from bot.fleet.releases import newer_than


def running(runs: GroupRuns) -> list[tuple[str, int, bool]]:
    """(AMI, instances, in the default version) for each AMI the group runs: the default version's first, then
    the instances' by count (most first), so a refresh half done reads as "new: 2, old: 2"."""
    counts = dict(sorted(runs.instances.items(), key=lambda kv: (-kv[1], kv[0])))
    shown: list[tuple[str, int, bool]] = []
    if runs.default_ami:
        shown.append((runs.default_ami, counts.pop(runs.default_ami, 0), True))
    shown.extend((ami, n, False) for ami, n in counts.items())
    return shown


class Standing:
    """The verdict on one target: its state, the AMIs it runs (each with how far behind it is), and since when."""

    def __init__(
        self,
        runs: GroupRuns,
        releases: Sequence[OwnedAmi],
        revoked: Callable[[str], str | None],
        now: datetime,
        known: Sequence[OwnedAmi] = (),
    ):
        self._releases = list(releases)  # every release of the image there, newest first, revoked ones included
        self._good = [a for a in self._releases if revoked(a.ami_id) is None]
        self._good_ids = {a.ami_id for a in self._good}
        self._known = {a.ami_id: a for a in known}  # the bakery's AMIs there: an unreleased one has its date
        self.newest = self._good[0] if self._good else None
        self.amis = tuple(
            RunningAmi(ami, count, default, self._behind(ami), revoked(ami)) for ami, count, default in running(runs)
        )
        since = [s for s in (self._since(a.ami_id) for a in self.amis) if s is not None]
        self.behind_since = min(since, key=parse_time) if since else None
        self.days_behind = (now - parse_time(self.behind_since)).days if self.behind_since else 0
        behind = [len(newer) for newer in map(self._newer, (a.ami_id for a in self.amis)) if newer is not None]
        self.bakes_behind = max(behind, default=0)
        self.state = self._state()

    def _behind(self, ami_id: str) -> int | None:
        """Good releases newer than a release; None for an AMI that is no release of the image there."""
        newer = newer_than(self._releases, ami_id)
        return None if newer is None else len([a for a in newer if a.ami_id in self._good_ids])

    def _newer(self, ami_id: str) -> list[OwnedAmi] | None:
        """The good releases made after `ami_id` (newest first): after it in the releases, or, for one of the
        bakery's unreleased AMIs there, made later than it; None when nothing says (an AMI from elsewhere)."""
        newer = newer_than(self._releases, ami_id)
        if newer is None and ami_id in self._known:
            made = parse_time(self._known[ami_id].created)
            newer = [a for a in self._releases if parse_time(a.created) > made]
        return None if newer is None else [a for a in newer if a.ami_id in self._good_ids]

    def _since(self, ami_id: str) -> str | None:
        """When the first good release newer than `ami_id` was made; for an AMI nothing dates, when the newest
        was (it has been behind at least that long)."""
        if self.newest is None or ami_id == self.newest.ami_id:
            return None
        newer = self._newer(ami_id)
        good = newer if newer is not None else [self.newest]
        return good[-1].created if good else None

    def _state(self) -> FleetState:
        if any(a.revoked is not None for a in self.amis):
            return FleetState.REVOKED
        if self.newest is None:
            return FleetState.NO_RELEASE
        if self.amis and all(a.ami_id == self.newest.ami_id for a in self.amis):
            return FleetState.CURRENT
        return FleetState.BEHIND
