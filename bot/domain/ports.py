"""The bakery's ports: what the services need from the outside world, as Protocols.

Services depend on these; adapters in `bot/adapters/` and `bot/state/` implement them.
Every method raises only the domain errors of `bot.errors`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from bot.domain.fencing import LeaseGrant
from bot.domain.fleet_types import GroupRuns
from bot.domain.lifecycle_port import AmiLifecycle as AmiLifecycle  # re-exported: one place to find ports
from bot.domain.models import Ami, BakeRequest, CommitInfo


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

    # The id of the group's active instance refresh onto that template version, if one runs.
    def refresh_of(self, *, group: str, template_id: str, version: int) -> str | None: ...

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


@dataclass(frozen=True)
class Record:
    """A stored document and its version (for conditional writes)."""

    kind: str
    key: str
    version: int
    doc: dict[str, Any]


class StateStore(Protocol):
    """A small document store with conditional writes; SQLite and DynamoDB implement it.

    `index` is an optional sparse secondary key: `find(kind, index)` returns every record of that
    kind whose index equals it (for example the bakes still in flight, index "active").
    """

    def get(self, kind: str, key: str) -> Record | None: ...

    def create(self, kind: str, key: str, doc: dict[str, Any], *, index: str | None = None) -> bool:
        """Insert at version 1; False (and nothing written) when the key exists."""
        ...

    def replace(
        self, kind: str, key: str, doc: dict[str, Any], *, expected_version: int, index: str | None = None
    ) -> bool:
        """Write version expected_version+1 only if the stored version is expected_version; else False."""
        ...

    def delete(self, kind: str, key: str, *, expected_version: int | None = None) -> bool: ...

    def find(self, kind: str, index: str) -> list[Record]:
        """Records by sparse index. On DynamoDB this reads a GSI, which is eventually consistent."""
        ...

    def mutate(
        self,
        kind: str,
        key: str,
        fn: Callable[[dict[str, Any]], dict[str, Any] | None],
        *,
        index_fn: Callable[[dict[str, Any]], str | None] | None = None,
        attempts: int = 10,
    ) -> Record | None:
        """Read-modify-write with optimistic concurrency; `fn` may run more than once, so no side effects.

        `fn` returns the new document or None for "no change". Returns the record as it stands, None when
        it does not exist; raises StateConflict when every attempt lost a race.
        """
        ...

    # Leases (bot.domain.fencing). Writes made inside `fenced(fence)` are conditional on the fence's lease.
    def lease_of(self, name: str) -> LeaseGrant | None: ...

    def acquire_lease(self, name: str, holder: str, ttl: float, *, now: float | None = None) -> LeaseGrant | None:
        """Take a free or lapsed lease (next token) or extend our own; None while another holds it."""
        ...

    def renew_lease(self, grant: LeaseGrant, ttl: float, *, now: float | None = None) -> LeaseGrant | None:
        """Extend a lease still held with the grant's token; None once it lapsed or changed hands."""
        ...

    def release_lease(self, grant: LeaseGrant) -> bool: ...

    def close(self) -> None: ...


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
