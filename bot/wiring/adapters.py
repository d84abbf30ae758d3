"""The clients and adapters factory: one boto3 client per (service, region), and each adapter the services
reach AWS and git through, made from those clients per region (or, for a repository, per image)."""

from __future__ import annotations

import threading
from functools import partial
from pathlib import Path
from typing import Any

import boto3

from bot.adapters.aws.autoscaling import Fleet
from bot.adapters.aws.build_leftovers import Ec2BuildLeftovers
from bot.adapters.aws.codepipeline import CodePipelineApi
from bot.adapters.aws.ec2_images import Ec2Images
from bot.adapters.aws.sqs import region_of_queue
from bot.adapters.aws.ssm_parameters import SsmParameters
from bot.adapters.repos import open_repo
from bot.config import ImageConfig
from bot.domain.links import Links
from bot.domain.models import BakeRequest, CommitInfo
from bot.domain.ports import SourceRepo


class Clients:
    """One boto3 client per (service, region), made on first use and shared by every thread."""

    def __init__(self, session: boto3.Session, default_region: str | None):
        self._session = session
        self._default_region = default_region
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._lock = threading.Lock()

    def __call__(self, service: str, region: str | None) -> Any:
        with self._lock:
            key = (service, region)
            if key not in self._clients:
                self._clients[key] = self._session.client(service, region_name=region or self._default_region)
            return self._clients[key]


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
                    session_factory=partial(self._client, "codecommit", image.region),
                )
                self._repos[image.name] = LinkedRepo(repo, image.name, self._links) if self._links.local else repo
            return self._repos[image.name]

    def pipeline_for(self, region: str | None) -> CodePipelineApi:
        return CodePipelineApi(self._client("codepipeline", region))

    def images_for(self, region: str | None) -> Ec2Images:
        return Ec2Images(self._client("ec2", region))

    def parameters_for(self, region: str | None) -> SsmParameters:
        # The upstream parameters (§12), read in each image's region: by the watch, and when a bake is pinned.
        return SsmParameters(self._client("ssm", region))

    def fleet_for(self, region: str | None) -> Fleet:
        return Fleet(self._client("ec2", region), self._client("autoscaling", region))

    def leftovers_for(self, region: str | None) -> Ec2BuildLeftovers:
        return Ec2BuildLeftovers(self._client("ec2", region))

    def queue_client(self, queue_url: str) -> Any:
        """The SQS client of the queue's own region (read from its URL)."""
        return self._client("sqs", region_of_queue(queue_url))
