"""What a bake is baked from (CONTRACT §7, §12): its pinned source AMI, its inputs fingerprint, and whether a
released bake already has those inputs (rebake avoidance).

Every bake pins its source AMI: the request's `source_ami=`, else the parent's released AMI in the image's
region, else, for an image without a parent that follows `upstream`, the upstream parameter read now, so the
build never resolves "latest" by itself. The fingerprint needs the repository's tree (a remote call): it is
computed where remote calls are allowed (the answers pool for `/bake`, the train's own thread for automatic
bakes), never on a Slack listener.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

from bot.bakes.images import image_summary
from bot.bakes.record import BAKE, Bake
from bot.config import Config, ImageConfig
from bot.config.model import Where
from bot.domain.errors import BadRequest, BakeryError
from bot.domain.fingerprint import fingerprint
from bot.domain.ports import Parameters, SourceRepo, StateStore
from bot.fleet.refusal import RevocationOf, never_revoked, refuse_revoked

log = logging.getLogger(__name__)

INPUTS = "inputs"  # state kind: "<image>:<fingerprint>" -> {"request_id"} of the first released bake with them
AMI_ID_RE = re.compile(r"^ami-[0-9a-f]{8,17}$")


class BakeInputs:
    def __init__(
        self,
        *,
        config: Config,
        store: StateStore,
        repo_for: Callable[[ImageConfig], SourceRepo],
        parameters_for: Callable[[Where], Parameters] | None = None,
        revoked: RevocationOf = never_revoked,
    ):
        self._revoked = revoked  # §14: nothing is baked on a revoked AMI
        self._config = config
        self._store = store
        self._repo_for = repo_for
        self._parameters_for = parameters_for

    # --- the source AMI ----------------------------------------------------------------------

    def source_ami(self, image: ImageConfig, requested: str | None) -> str | None:
        """The AMI this bake is pinned on; None only where nothing can pin it (see the module's docstring)."""
        if requested:
            self.refuse_revoked(requested)
            return requested
        if image.parent:
            parent = self.parent_ami(image)
            self.refuse_revoked(parent)  # the parent's latest is revoked: no child is baked on it until a new one
            return parent
        if image.upstream is not None and self._parameters_for is not None:
            return self.upstream_ami(image)
        return None

    def parent_ami(self, image: ImageConfig) -> str | None:
        """The parent image's latest released AMI in this image's region, when the bot has seen one."""
        if not image.parent:
            return None
        amis = image_summary(self._store, image.parent).get("amis") or []
        region = image.region or self._config.images[image.parent].region
        for ami in amis:
            if (region is None or ami.get("region") == region) and ami.get("ami_id"):
                return str(ami["ami_id"])  # refused by source_ami when it is revoked (§14)
        return None  # the build then resolves the parent's latest from SSM

    def upstream_ami(self, image: ImageConfig) -> str:
        """The image's upstream parameter, read now in its region; refused when it names no AMI."""
        assert image.upstream is not None and self._parameters_for is not None
        parameter = image.upstream.ssm_parameter
        where = image.region or "the default region"
        try:
            value = self._parameters_for(image).get(parameter)
        except BakeryError as exc:
            raise BakeryError(f"Could not read `{parameter}` in {where} to pin the source AMI: {exc}") from exc
        if value is None or not AMI_ID_RE.fullmatch(value.strip()):
            shown = "no value" if value is None else f"`{value.strip()[:60]}`, not an AMI id"
            raise BadRequest(
                f"Image `{image.name}` follows `{parameter}`, which has {shown} in {where}: nothing to pin the "
                "bake on. Give one with `source_ami=ami-…`."
            )
        return value.strip()

    def refuse_revoked(self, ami_id: str | None) -> None:
        """AmiRevoked, with its reason, when `ami_id` is revoked (§14): every bake's source passes here."""
        refuse_revoked(self._revoked, ami_id, "baked on")

    # --- the fingerprint ---------------------------------------------------------------------

    def fingerprint(self, image: ImageConfig, variables: dict[str, str], source_ami: str | None) -> str:
        """The inputs fingerprint at the branch tip; "" for a bake whose source AMI the build resolves itself."""
        if not source_ami:
            return ""  # unpinned, the same inputs may still bake a new AMI: nothing to compare
        tree = self._repo_for(image).inputs_tree(image.path)  # its directory only: images may share a repository
        return fingerprint(tree=tree, variables={**image.variables, **variables}, source_ami=source_ami)

    def already_baked(self, image: str, inputs: str) -> Bake | None:
        """A released bake of `image` with these inputs, if there is one."""
        if not inputs:
            return None
        rec = self._store.get(INPUTS, f"{image}:{inputs}")
        found = self._store.get(BAKE, str(rec.doc.get("request_id"))) if rec else None
        bake = Bake.from_doc(found.doc) if found else None
        # §14: a revoked bake does not count (its AMIs are withdrawn), so the same inputs may bake again.
        if bake is None or any(self._revoked(a.ami_id) for a in bake.amis):
            return None
        return bake if bake.released and bake.inputs == inputs else None

    def note_released(self, bake: Bake) -> None:
        """Remember a released bake's inputs (the first released with them stays the one that has them)."""
        if bake.inputs and bake.released:
            self._store.create(INPUTS, f"{bake.image}:{bake.inputs}", {"request_id": bake.request_id})


def already_baked_text(bake: Bake, *, force_hint: bool) -> str:
    """`already baked with these inputs: ami-… on <date> (b-…)`, and how to bake anyway."""
    amis = ", ".join(f"`{a.ami_id}`" for a in bake.amis) or "its AMI"
    when = (bake.finished_at or bake.requested_at)[:10]
    text = f"`{bake.image}` was already baked with these inputs: {amis} on {when} (`{bake.request_id}`)."
    return text + (f" `/bake {bake.image} --force …` bakes it anyway." if force_hint else "")
