"""The bakery's ports: what the services need from the outside world, as Protocols.

Services depend on these; adapters in `bot/adapters/` and `bot/state/` implement them.
Every method raises only the domain errors of `bot.errors`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.domain.fleet_types import GroupRuns
from bot.domain.lifecycle_port import AmiLifecycle as AmiLifecycle  # re-exported: one place to find ports
from bot.domain.models import Ami, BakeRequest, CommitInfo
from bot.domain.state_port import Record as Record  # re-exported, as above
from bot.domain.state_port import StateStore as StateStore


class SourceRepo(Protocol):
    """An image repository: where `/bake` commits `bake-request.json` (CONTRACT §7)."""

    def commit_request(self, request: BakeRequest, path: str = "") -> str:
        """Commit the request file at `path` (the image's directory; the root when "") on the branch tip and
        publish it; return the commit id.

        Retries by itself when the branch moved meanwhile; raises RepoError when it cannot.
        """
        ...

    def commit_info(self, commit_id: str) -> CommitInfo | None:
        """The commit's author and message, or None when the repository has no such commit."""
        ...

    def commit_url(self, commit_id: str) -> str:
        """A link a person can open to see the commit ("" when there is none)."""
        ...

    def inputs_tree(self, path: str = "") -> str:
        """The git tree id of `path` (the root when "") at the branch tip with `bake-request.json` left out:
        what the inputs fingerprint hashes (CONTRACT §12). The empty tree's id when there is nothing there."""
        ...


class PipelineApi(Protocol):
    """The CodePipeline calls the bot makes (one region)."""

    def execution_revision(self, *, pipeline: str, execution_id: str) -> str | None:
        """The source commit id of an execution (artifactRevisions[].revisionId), None if unknown."""
        ...

    def execution_url(self, *, pipeline: str, execution_id: str) -> str:
        """The console link of an execution."""
        ...

    def approval_execution(self, *, pipeline: str, stage: str, action: str, token: str) -> str | None:
        """The execution whose approval at stage/action holds `token` and still waits, else None."""
        ...

    def approval_token(self, *, pipeline: str, stage: str, action: str) -> str | None:
        """The token of the approval waiting at stage/action, None when none waits."""
        ...

    def put_approval_result(
        self, *, pipeline: str, stage: str, action: str, token: str, approved: bool, summary: str
    ) -> datetime | None:
        """Approve or reject; raises ApprovalTokenInvalid / ApprovalAlreadyDecided when no longer open."""
        ...


class Images(Protocol):
    """EC2 image look-ups (one region)."""

    def find_by_request(self, request_id: str) -> list[Ami]:
        """Available AMIs tagged `bakery:request-id` = request_id."""
        ...

    def describe(self, ami_id: str) -> ImageInfo | None:
        """What EC2 knows of one AMI (state, tags), or None when there is no such AMI."""
        ...

    def describe_own(self, ami_id: str) -> ImageInfo | None:
        """The AMI if the account this client acts in owns it, else None (whoever else shares it)."""
        ...


class Parameters(Protocol):
    """SSM parameters (one region), the public upstream ones (`/aws/service/…`) and `/bakery/images/…`."""

    def get(self, name: str) -> str | None:
        """The parameter's value, or None when there is no such parameter."""
        ...

    def put(self, name: str, value: str) -> None:
        """Overwrite an AMI parameter (data type aws:ec2:image): `/bakery/images/<image>/latest` moved back by a
        revocation (§14)."""
        ...

    def under(self, path: str) -> dict[str, str]:
        """Every parameter below `path` (recursively), name -> value: the `/bakery/images/*/latest` in use."""
        ...


class Fleet(Protocol):
    """Auto Scaling groups and their launch templates (one region); errors are FleetError and subclasses."""

    def launch_template_of(self, group: str) -> LaunchTemplateRef:
        """The group's launch template: id, name, default_version, latest_version."""
        ...

    def new_version_with_image(
        self, *, template_id: str, ami_id: str, source_version: int, description: str
    ) -> int: ...

    # The newest recent version of the template with exactly this description (one made before a crash).
    def version_described(self, *, template_id: str, latest: int, description: str) -> int | None: ...

    def set_default_version(self, *, template_id: str, version: int) -> None: ...

    def start_refresh(
        self, *, group: str, template_id: str, version: int, min_healthy_percentage: int, instance_warmup: int
    ) -> str:
        """Start an instance refresh pinned to `version`; RefreshInProgress when one already runs."""
        ...

    def describe_refresh(self, *, group: str, refresh_id: str) -> RefreshStatus:
        """status, percentage, instances_to_update, status_reason."""
        ...

    def refresh_of(self, *, group: str, template_id: str, version: int) -> str | None:
        """The newest refresh onto that version (a rollout's own), running or ended; None when there is none."""
        ...

    def cancel_refresh(self, group: str) -> str: ...

    def rollback_refresh(self, group: str) -> str: ...

    def runs_of(self, groups: Sequence[str]) -> dict[str, GroupRuns]:
        """What each group runs (§14), in few calls: the groups in batches (DescribeAutoScalingGroups), their
        instances' AMIs (DescribeInstances in batches), each launch template's default version once. A group
        that does not exist is missing from the answer."""
        ...


class Chat(Protocol):
    """The Slack Web API calls the bot makes."""

    def post(
        self,
        *,
        channel: str,
        text: str,
        blocks: list[dict[str, Any]],
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> str:
        """Post a message; return its ts. `metadata` is Slack message metadata ({"event_type", "event_payload"})."""
        ...

    def find_posted(
        self, *, channel: str, since: float, metadata: dict[str, Any], thread_ts: str | None = None
    ) -> str | None:
        """The ts of a message in `channel` (in `thread_ts`'s thread, when given) posted at or after `since`
        (epoch seconds) whose metadata is exactly `metadata`; None when a bounded read of the history finds none.
        Only for finding the bot's own post after a crash (CONTRACT §15)."""
        ...

    def update(self, *, channel: str, ts: str, text: str, blocks: list[dict[str, Any]]) -> None: ...

    def post_ephemeral(
        self,
        *,
        channel: str,
        user: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
    ) -> None: ...

    def group_members(self, group_id: str) -> frozenset[str]:
        """The user ids in a Slack user group (usergroups.users.list)."""
        ...

    def user_email(self, user: str) -> str | None:
        """The user's e-mail address, None when Slack shows none."""
        ...

    def user_name(self, user: str) -> str:
        """A name to write in audit summaries."""
        ...

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> str:
        """Open a modal for the user who clicked; returns its view id."""
        ...

    def update_view(self, view_id: str, view: dict[str, Any]) -> None:
        """Replace the content of a modal the bot opened."""
        ...

    def respond(self, response_url: str, *, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """Answer a command or click privately through the response_url Slack gave with it."""
        ...


# Statuses in which Auto Scaling still counts the refresh as the group's active one.
ACTIVE_STATUSES = frozenset({"Pending", "InProgress", "Baking", "Cancelling", "RollbackInProgress"})


# --- the ports' value types --------------------------------------------------------------------


@dataclass(frozen=True)
class LaunchTemplateRef:
    """The launch template a group launches from, with its default and newest version numbers."""

    id: str
    name: str
    default_version: int
    latest_version: int


@dataclass(frozen=True)
class RefreshStatus:
    """One instance refresh as describe_instance_refreshes reports it."""

    status: str  # Pending InProgress Successful Failed Cancelling Cancelled RollbackInProgress RollbackFailed ...
    percentage: int
    instances_to_update: int
    status_reason: str
    start_time: datetime | None
    end_time: datetime | None

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES


@dataclass(frozen=True)
class ImageInfo:
    """One AMI as the rollouts need it: whether it is usable and what the bake tagged it with."""

    ami_id: str
    state: str  # pending | available | invalid | deregistered | transient | failed | error | disabled
    name: str
    created: str  # ISO 8601, as EC2 reports CreationDate
    region: str
    account_id: str
    tags: dict[str, str] = field(default_factory=dict)
