"""The one door through which the release train opens bakes: used by the upstream watch and by parents' releases."""

from __future__ import annotations

from typing import Protocol

from bot.domain.causes import Cause


class AutoBakes(Protocol):
    def open_automatic(self, image: str, *, source_ami: str, cause: Cause) -> str | None:
        """Open one bake of `image` pinned on `source_ami`, requested by the bakery because of `cause`.

        Returns its request id; None when nothing was opened: a bake for this very cause exists already (a
        duplicate delivery, a race), a released unrevoked bake has the same inputs fingerprint, or a bake of
        the image is in flight. Exactly once per (image, cause.key): a conditional write keyed by them.
        """
        ...
