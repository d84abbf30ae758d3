"""The lifecycle sweep (§14, issue 13 items 4 and 5): plan afresh, deprecate, and deregister what the plan
removes, each AMI under its image's lock and only after one more look at what uses it.

Between the survey and a deregistration a rollout may start onto the AMI: so just before each one, holding the
image's lock (which a rollout takes too, bot/lifecycle/locks.py), the sweep asks again, in every account it
reaches in that region, and looks at the rollouts not yet ended. What became in use is kept and reported. A
deregistration AWS refuses is reported and simply found again by the next sweep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import replace
from typing import Any

from bot.config import Config
from bot.domain.errors import BakeryError
from bot.lifecycle.locks import ImageBusy, ImageLocks
from bot.lifecycle.report import Failure, Planned, SweepReport, Use
from bot.lifecycle.survey import Surveyor

log = logging.getLogger(__name__)
LOCK_WAIT_SECONDS = 10.0  # how long the sweep waits for a rollout starting on the image; else it skips the AMI


class LifecycleSweep:
    def __init__(
        self,
        *,
        config: Config,
        surveyor: Surveyor,
        locks: ImageLocks,
        holder: str = "sweep",
        before_removal: Callable[[Planned], Any] = lambda planned: None,  # tests: a rollout starts in between
    ):
        self._config = config
        self._surveyor = surveyor
        self._locks = locks
        self._holder = holder
        self._before_removal = before_removal
        self.rechecks = 0  # references() calls made just before a deregistration (the bench counts them apart)

    def dry_run(self, images: Collection[str] | None = None) -> SweepReport:
        """What a sweep would do now; changes nothing."""
        return self._surveyor.survey(images)

    def run(self, images: Collection[str] | None = None, *, only: Collection[str] | None = None) -> SweepReport:
        """Sweep `images` (default: all): plan afresh and act on it; with `only` (the AMI ids a person was shown),
        act only on those of them that still qualify."""
        plan = self._surveyor.survey(images)
        chosen = (lambda p: p.ami_id in only) if only is not None else (lambda p: True)
        now = self._surveyor.clock()
        deprecated: list[Planned] = []
        removed: list[Planned] = []
        in_use = list(plan.in_use)
        failed: list[Failure] = []
        for planned in filter(chosen, plan.deprecated):
            try:
                self._surveyor.lifecycle_for(self._where(planned)).deprecate(planned.ami_id, now)
                deprecated.append(planned)
            except BakeryError as exc:
                failed.append(Failure(planned, "deprecate", str(exc)))
        for planned in filter(chosen, plan.removed):
            outcome = self._remove(planned)
            if isinstance(outcome, Failure):
                failed.append(outcome)
            elif outcome.uses:
                in_use.append(outcome)
            else:
                removed.append(outcome)
        log.info(
            "lifecycle.swept images=%s removed=%d deprecated=%d in_use=%d failed=%d gb=%d",
            ",".join(plan.images),
            len(removed),
            len(deprecated),
            len(in_use),
            len(failed),
            sum(p.ami.snapshot_gb for p in removed),
        )
        return replace(
            plan,
            dry_run=False,
            removed=tuple(removed),
            deprecated=tuple(deprecated),
            in_use=tuple(in_use),
            failed=tuple(failed),
        )

    def _where(self, planned: Planned) -> Any:
        return self._config.where(planned.image, planned.ami.region)

    def _remove(self, planned: Planned) -> Planned | Failure:
        """Deregister one AMI unless it became in use: the AMI as removed, as in use (with its uses), or failed."""
        self._before_removal(planned)
        try:
            with self._locks.held(planned.image, f"{self._holder}:{planned.ami_id}", wait=LOCK_WAIT_SECONDS):
                self.rechecks += len(self._surveyor.reached(planned.ami.region))
                uses = self._surveyor.recheck(planned)
                if uses:
                    log.info("lifecycle.kept_in_use ami=%s uses=%d found=just_before", planned.ami_id, len(uses))
                    return replace(planned, uses=tuple(uses))
                self._surveyor.lifecycle_for(self._where(planned)).deregister(planned.ami)
                self._locks.mark_deregistered(planned.ami_id)
        except ImageBusy as exc:
            return replace(planned, uses=(Use("rollout", "", f"a rollout of {planned.image} is starting: {exc}"),))
        except BakeryError as exc:
            log.warning("lifecycle.deregister_failed ami=%s error=%s", planned.ami_id, exc)
            return Failure(planned, "deregister", str(exc))
        log.info("lifecycle.removed ami=%s image=%s gb=%d", planned.ami_id, planned.image, planned.ami.snapshot_gb)
        return planned
