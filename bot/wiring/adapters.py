"""The clients and adapters factory: one boto3 client per (service, region, account), and each adapter the
services reach AWS and git through, made from those clients per region, or per image: an image with
`account_role` (CONTRACT §13) is reached through its assumed-role session, in its own account."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config as BotocoreConfig
from botocore.credentials import _local_now  # botocore's own clock for credentials, unless a test moves it

from bot.adapters.aws.assumed import AssumedSessions
from bot.adapters.aws.autoscaling import Fleet
from bot.adapters.aws.build_leftovers import Ec2BuildLeftovers
from bot.adapters.aws.codepipeline import CodePipelineApi
from bot.adapters.aws.ec2_images import Ec2Images
from bot.adapters.aws.ec2_lifecycle import Ec2Lifecycle
from bot.adapters.aws.ec2_sharing import Ec2Sharing
from bot.adapters.aws.sqs import region_of_queue
from bot.adapters.aws.ssm_parameters import SsmParameters
from bot.adapters.repos import open_repo
from bot.config import ImageConfig
from bot.config.model import Where
from bot.domain.links import Links
from bot.domain.models import BakeRequest, CommitInfo
from bot.domain.ports import SourceRepo

AwsErrors = Callable[[str, str, str | None], None]  # (service, operation, code)


def count_aws_errors(events: Any, on_error: AwsErrors) -> None:
    """Tell `on_error` of every failed call of the clients made on this event emitter (a session's, or one
    client's): AWS's error code after the SDK's retries (throttles included), or the exception's name when no
    answer came (a connection error)."""

    def answered(http_response: Any, parsed: Any, model: Any, **_: Any) -> None:
        if http_response.status_code >= 300:
            code = (parsed.get("Error") or {}).get("Code") if isinstance(parsed, dict) else None
            on_error(model.service_model.service_name, model.name, code or str(http_response.status_code))

    def failed(exception: BaseException, event_name: str = "", **_: Any) -> None:
        _after, service, operation = [*event_name.split(".", 2), "", ""][:3]
        on_error(service, operation, type(exception).__name__)

    events.register("after-call", answered)
    events.register("after-call-error", failed)


# Every AWS call retries throttling, 5xx and dropped connections in the SDK's standard mode (exponential back-off
# with jitter, a retry quota), at most this many attempts in all; then the caller sees the error and says so.
RETRY_MODE = "standard"
TOTAL_MAX_ATTEMPTS = 4
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 30.0  # above the SQS long poll's 20 s, which holds a read open by design


def client_config(session: boto3.Session) -> BotocoreConfig:
    """The one botocore Config of every client: bounded standard-mode retries and connect/read timeouts.

    A client's Config outranks the environment in botocore (args.py: a `retries` key given here wins over
    AWS_RETRY_MODE / AWS_MAX_ATTEMPTS and the config file), so each key is set only when the operator set
    neither: their `AWS_RETRY_MODE=adaptive` or `AWS_MAX_ATTEMPTS=10` still decides.
    """
    core = session._session  # botocore's session: its config store reads the environment and the profile
    retries: dict[str, Any] = {}
    if core.get_config_variable("retry_mode") is None:
        retries["mode"] = RETRY_MODE
    if core.get_config_variable("max_attempts") is None:
        retries["total_max_attempts"] = TOTAL_MAX_ATTEMPTS
    return BotocoreConfig(retries=retries, connect_timeout=CONNECT_TIMEOUT, read_timeout=READ_TIMEOUT)


def with_client_config(session: boto3.Session) -> boto3.Session:
    """`session`, every client it makes from now on (the state store's too) made with `client_config`."""
    session._session.set_default_client_config(client_config(session))
    return session


class Clients:
    """One boto3 client per (service, region, account), made on first use and shared by every thread.

    `on_aws_error` hears of every failed call (`bakery_aws_errors_total`): of the session's clients (the state
    store's too) through the session's events, and of each assumed-role client through its own.
    """

    def __init__(
        self,
        session: boto3.Session,
        default_region: str | None,
        *,
        external_id: str = "",
        time_fetcher: Callable[[], datetime] | None = None,
        on_aws_error: AwsErrors | None = None,
    ):
        self._session = session
        self._on_aws_error = on_aws_error
        if on_aws_error is not None:
            count_aws_errors(session.events, on_aws_error)
        self._default_region = default_region
        self.config = client_config(session)
        self._clients: dict[tuple[str, str | None, str, str], Any] = {}
        self._lock = threading.Lock()
        # The bot's own STS client assumes the images' roles; their sessions are shared like the clients.
        self.assumed = AssumedSessions(
            partial(self, "sts"), external_id=external_id, time_fetcher=time_fetcher or _local_now
        )

    def __call__(self, service: str, region: str | None, image: ImageConfig | None = None) -> Any:
        region = region or self._default_region
        role = image.account_role if image else None
        key = (service, region, role or "", image.name if image and role else "")
        with self._lock:
            if key in self._clients:
                return self._clients[key]
        # Made outside the lock: the assumed sessions take their own, and the STS client is this same call.
        session = self.assumed.session(role, image.name, region) if image and role else self._session
        # An assumed-role session is a botocore session of its own: the Config is passed to every client.
        client = session.client(service, region_name=region, config=self.config)
        if session is not self._session and self._on_aws_error is not None:
            count_aws_errors(client.meta.events, self._on_aws_error)
        with self._lock:
            return self._clients.setdefault(key, client)

    def reach(self, image: ImageConfig) -> None:
        """Fetch (or find cached) the credentials of an image's role now; AssumeRoleRefused when STS refuses."""
        if image.account_role:
            region = image.region or self._default_region
            self.assumed.session(image.account_role, image.name, region).get_credentials().get_frozen_credentials()

    def of(self, service: str, where: Where) -> Any:
        """The client for an image (in its account and region) or for a region of the bot's own account."""
        if isinstance(where, ImageConfig):
            return self(service, where.region, where)
        return self(service, where)


class LinkedRepo:
    """A SourceRepo whose commit links are `links`' (the sandbox's commit view), the rest its repository's."""

    def __init__(self, repo: SourceRepo, image: str, links: Links):
        self._repo, self._image, self._links = repo, image, links

    def commit_request(self, request: BakeRequest, path: str = "") -> str:
        return self._repo.commit_request(request, path)

    def commit_info(self, commit_id: str) -> CommitInfo | None:
        return self._repo.commit_info(commit_id)

    def inputs_tree(self, path: str = "") -> str:
        return self._repo.inputs_tree(path)

    def commit_url(self, commit_id: str) -> str:
        return self._links.commit(image=self._image, commit_id=commit_id, default=self._repo.commit_url(commit_id))


class Adapters:
    """The adapters by region (and repositories by image), each made from the shared clients when asked for."""

    def __init__(self, client: Clients, *, workdir: str, links: Links):
        self._client = client
        self._cache_dir = Path(workdir) / "repos"
        self._links = links
        self._repos: dict[str, SourceRepo] = {}
        self._repos_lock = threading.Lock()

    def repo_for(self, image: ImageConfig) -> SourceRepo:
        """The image's repository, opened once (a git clone is reused), its links the sandbox's when local."""
        with self._repos_lock:
            if image.name not in self._repos:
                repo = open_repo(
                    image.repository,
                    branch=image.branch,
                    cache_dir=self._cache_dir,
                    session_factory=partial(self._client.of, "codecommit", image),
                )
                self._repos[image.name] = LinkedRepo(repo, image.name, self._links) if self._links.local else repo
            return self._repos[image.name]

    def reach(self, image: ImageConfig) -> None:
        """Whether the bot can act in the image's account now (§13): raises AssumeRoleRefused when not."""
        self._client.reach(image)

    def pipeline_for(self, where: Where) -> CodePipelineApi:
        return CodePipelineApi(self._client.of("codepipeline", where))

    def images_for(self, where: Where) -> Ec2Images:
        return Ec2Images(self._client.of("ec2", where))

    def lifecycle_for(self, where: Where) -> Ec2Lifecycle:
        # The fleet view, revocation and the sweep (§14): an image's AMIs in its own account (§13), per region.
        return Ec2Lifecycle(self._client.of("ec2", where))

    def sharing_for(self, where: Where) -> Ec2Sharing:
        # A release's copies and shares (§13): in the image's account, in each region of its share_with.
        return Ec2Sharing(self._client.of("ec2", where))

    def parameters_for(self, where: Where) -> SsmParameters:
        # The upstream parameters (§12), read in each image's region: by the watch, and when a bake is pinned.
        return SsmParameters(self._client.of("ssm", where))

    def fleet_for(self, where: Where) -> Fleet:
        # A target's groups and launch templates are in its image's account (§13), in the target's region.
        return Fleet(self._client.of("ec2", where), self._client.of("autoscaling", where))

    def leftovers_for(self, region: str | None) -> Ec2BuildLeftovers:
        return Ec2BuildLeftovers(self._client("ec2", region))

    def queue_client(self, queue_url: str) -> Any:
        """The SQS client of the queue's own region (read from its URL)."""
        return self._client("sqs", region_of_queue(queue_url))
