"""The configuration as the bot sees it once loaded: frozen dataclasses, and the name rules shared with `/bake`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

# Names and variables are also what a `/bake` may type, so the command parser checks them with these.
IMAGE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
TARGET_NAME_RE = IMAGE_NAME_RE
VARIABLE_KEY_RE = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
# A variable value (default or /bake override): letters, digits and . _ - : / +, at most 256 characters.
VARIABLE_VALUE_RE = re.compile(r"^[A-Za-z0-9._\-:/+]{1,256}$")

# `/bake` reads these words as subcommands and `b-…`, `r-…`, `t-…`, `h-…` as record ids (CONTRACT §4, §6):
# an image or a target by such a name could never be baked, rolled out or asked about.
SUBCOMMANDS = frozenset({"help", "list", "status", "rollout", "fleet", "revoke", "gc"})
RECORD_ID_PREFIX_RE = re.compile(r"^[bhrt]-")

ROLES = ("bakers", "approvers", "deployers")


@dataclass(frozen=True)
class UpstreamConfig:
    """CONTRACT §4/§12: rebake when this public SSM parameter names a new AMI."""

    ssm_parameter: str
    check_every: float = 3600.0  # seconds; `1h` in the file


@dataclass(frozen=True)
class ShareWith:
    """CONTRACT §4/§13: the accounts and regions an image's released AMIs must be usable in."""

    accounts: tuple[str, ...] = ()
    regions: tuple[str, ...] = ()


@dataclass(frozen=True)
class LifecycleConfig:
    """CONTRACT §4/§14: which of an image's AMIs the lifecycle sweep keeps, deprecates and deregisters."""

    keep_released: int = 5  # the newest released AMIs kept per image and region
    keep_unreleased_days: int = 7  # unreleased (failed, rejected, superseded) AMIs kept this long
    deprecate_after_days: int = 90  # released AMIs superseded this long get a deprecation time
    sweep: str = "daily"  # daily | off


@dataclass(frozen=True)
class FleetConfig:
    """CONTRACT §4/§14: when a target behind its image's newest release is named in the stale digest."""

    stale_after: float = 7 * 86400.0  # seconds; `7d` in the file


@dataclass(frozen=True)
class ImageConfig:
    name: str
    repository: str
    branch: str
    pipeline: str
    channel: str
    region: str | None = None
    parent: str | None = None
    variables: dict[str, str] = field(default_factory=dict)
    upstream: UpstreamConfig | None = None  # §12; never together with parent
    on_parent_release: str = "ask"  # §12: ask | bake | never (only with a parent)
    path: str = ""  # §4, §7: the image's directory in its repository ("" is the root), normalised
    account_role: str | None = None  # §13: the role ARN the bot assumes to reach this image's account
    share_with: ShareWith | None = None  # §13
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)  # §14: the top level's, with this image's keys

    @property
    def account(self) -> str:
        """The member account the image lives in (its account_role's, §13); "" for the bakery's own account."""
        return self.account_role.split(":")[4] if self.account_role else ""


# What an adapter factory (`pipeline_for`, `images_for`, `parameters_for`) is asked for: an image (its region,
# and its account when it has `account_role`, §13), or a region of the bot's own account (None: the default).
Where = ImageConfig | str | None


@dataclass(frozen=True)
class TargetConfig:
    name: str
    image: str
    auto_scaling_group: str
    launch_template: str
    approval: bool = False
    min_healthy_percentage: int = 90
    instance_warmup: int = 300
    region: str | None = None
    on_release: str = "ask"  # §12: ask | auto


@dataclass(frozen=True)
class AccessConfig:
    bakers: tuple[str, ...] = ()
    approvers: tuple[str, ...] = ()
    deployers: tuple[str, ...] = ()

    def principals(self, role: str) -> tuple[str, ...]:
        principals: tuple[str, ...] = getattr(self, role)
        return principals


@dataclass(frozen=True)
class StateConfig:
    backend: str = "sqlite"
    path: str = ".bakery/state.db"
    table: str = "ami-bakery-state"


@dataclass(frozen=True)
class NotificationsConfig:
    queue_url: str | None = None
    sns_topic_arns: tuple[str, ...] = ()
    upstream_topic_arns: tuple[str, ...] = ()  # §12: a message from one of these only triggers upstream checks


@dataclass(frozen=True)
class Config:
    channel: str
    access: AccessConfig
    state: StateConfig
    notifications: NotificationsConfig
    images: dict[str, ImageConfig]
    targets: dict[str, TargetConfig]
    source: str = ""
    fleet: FleetConfig = field(default_factory=FleetConfig)  # §14
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)  # §14: the defaults of every image

    def where(self, image: str, region: str | None) -> Where:
        """What an adapter is asked for to reach `image`'s resources in `region` (a target's may differ from the
        image's): the image there, so that its account_role applies (§13), or the region when it names none."""
        found = self.images.get(image)
        return replace(found, region=region) if found else region

    @property
    def bakery_account(self) -> str:
        """The bakery's own account, as its queue URL (https://sqs.<region>.amazonaws.com/<account>/<name>) or its
        first topic ARN names it; "" when the configuration names neither."""
        url = (self.notifications.queue_url or "").split("/")
        if len(url) > 3 and url[3].isdigit():
            return url[3]
        arns = [a.split(":") for a in self.notifications.sns_topic_arns]
        return arns[0][4] if arns and len(arns[0]) > 4 else ""

    @property
    def has_member_accounts(self) -> bool:
        """Whether any image lives in another account (§13): then a member account can publish to the bakery's
        topic, and a message that names no account is believed only once checked in its image's account."""
        return any(i.account_role for i in self.images.values())

    def account_of(self, image: ImageConfig) -> str:
        """The account an image lives in: its role's, else the bakery's own ("" when that is unknown)."""
        return image.account or self.bakery_account

    def images_with_pipeline(self, pipeline: str) -> list[ImageConfig]:
        """Every image whose pipeline has this name: one per account (the validator refuses two in one)."""
        return [i for i in self.images.values() if i.pipeline == pipeline]

    def image_for_pipeline(self, pipeline: str, account: str = "") -> ImageConfig | None:
        """The image whose pipeline this is, believed only from its own account (§13): a member image's events come
        from its account, the bakery's own images' from the bakery's (or, when that is unknown, from no member
        account). `account` "" (a message that names none, checked in that account otherwise): by name alone."""
        members = {i.account for i in self.images.values() if i.account}
        for image in self.images.values():
            if image.pipeline != pipeline:
                continue
            if not account or account == image.account:
                return image
            if not image.account and account == (self.bakery_account or account) and account not in members:
                return image
        return None
