"""The leak sweep: a housekeeping chore removing what killed builds left behind (bot/domain/leftovers.py).

A build's resources are removed once they are older than the longest build timeout, when no build can still be
using them: instances are terminated; key pairs and security groups are deleted once no instance of their build
is left but those being terminated (EC2 refuses to delete a group an instance still uses: it waits a round).
Only resources tagged bakery:build are listed, so nothing else is ever touched. Security groups carry no creation
time, so a group counts as old when its build has an old instance or key pair, or when this sweep first saw it
longer ago than the timeout.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.domain.errors import BakeryError
from bot.domain.leftovers import LIVE_STATES, TERMINABLE_STATES, BuildResources

log = logging.getLogger(__name__)


@dataclass
class SweepReport:
    """What one round removed, by region."""

    terminated: list[str] = field(default_factory=list)
    key_pairs: list[str] = field(default_factory=list)
    security_groups: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.terminated or self.key_pairs or self.security_groups)


class LeakSweep:
    def __init__(
        self,
        resources_for: Callable[[str], BuildResources],
        regions: Iterable[str],
        *,
        max_age: timedelta,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ):
        self._resources_for = resources_for
        self._regions = sorted(set(regions))
        self._max_age = max_age
        self._clock = clock
        self._first_seen: dict[tuple[str, str], datetime] = {}

    def sweep_once(self) -> SweepReport:
        """One round over every region; a region that fails is logged and left for the next round."""
        report = SweepReport()
        for region in self._regions:
            try:
                self._sweep_region(self._resources_for(region), report)
            except BakeryError as exc:
                log.warning("leak_sweep.failed region=%s error=%s", region, exc)
        if report:
            log.info(
                "leak_sweep.removed terminated=%s key_pairs=%s security_groups=%s",
                report.terminated, report.key_pairs, report.security_groups,
            )
        return report

    def _sweep_region(self, ec2: BuildResources, report: SweepReport) -> None:
        now = self._clock()
        cutoff = now - self._max_age
        instances = ec2.instances()
        expired = [i for i in instances if i.state in TERMINABLE_STATES and _aware(i.launched) < cutoff]
        if expired:
            ec2.terminate([i.instance_id for i in expired])
            report.terminated += [i.instance_id for i in expired]
        # A build with an instance left (not the ones ended just now) may still need its key and group. A group
        # whose instance is still shutting down is refused by EC2 (DependencyViolation) and tried next round.
        live = {i.build for i in instances if i.state in LIVE_STATES and i not in expired}
        old_builds = {i.build for i in instances if _aware(i.launched) < cutoff}
        for key in ec2.key_pairs():
            if _aware(key.created) < cutoff:
                old_builds.add(key.build)
                if key.build not in live:
                    ec2.delete_key_pair(key.name)
                    report.key_pairs.append(key.name)
        groups = ec2.security_groups()
        seen_now = {(ec2.region, g.group_id) for g in groups}
        self._first_seen = {k: v for k, v in self._first_seen.items() if k[0] != ec2.region or k in seen_now}
        for group in groups:
            first_seen = self._first_seen.setdefault((ec2.region, group.group_id), now)
            old = group.build in old_builds or first_seen < cutoff
            if old and group.build not in live and ec2.delete_security_group(group.group_id):
                report.security_groups.append(group.group_id)
                del self._first_seen[(ec2.region, group.group_id)]


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
