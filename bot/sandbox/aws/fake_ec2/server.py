"""The local EC2: AMI deprecation, deregistration with its snapshots and image references; moto for the rest."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any

import boto3

from bot.sandbox.aws.fake_ec2 import images, references
from bot.sandbox.aws.fake_ec2.handler import handler_for
from bot.sandbox.aws.fake_ec2.protocol import Answer, Ec2Error, flag
from bot.sandbox.aws.wire import in_account
from bot.sandbox.local_server import LocalServer

log = logging.getLogger(__name__)

Where = tuple[str, str]  # (the caller's account, the region)
Forward = Callable[[], Answer]  # sends the caller's request to moto unchanged, returns moto's answer


class FakeEc2(LocalServer):
    """EC2 on `host`:`port` (0 picks one): the actions moto lacks answered here, every other one sent to
    `moto_endpoint` as it came.

    `references_supported = False`: DescribeImageReferences answers as in a region without it (InvalidAction).
    `delete_snapshots_supported = False`: DeregisterImage refuses DeleteAssociatedSnapshots (UnknownParameter),
    as where that option is unavailable. `ssm_data_types`: the data types of the SSM parameters
    DescribeImageReferences looks at (None: every String parameter).
    """

    _thread_name = "fake-ec2"
    _not_running = "the local EC2 is not running"
    served = frozenset(
        {
            "EnableImageDeprecation",
            "DisableImageDeprecation",
            "DescribeImages",
            "DeregisterImage",
            "DescribeImageReferences",
        }
    )

    def __init__(
        self,
        moto_endpoint: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "eu-west-1",
        clock: Callable[[], float] = time.time,
        session: Any = None,  # the boto3 session its moto clients come from; a new one if None
        account: str = "123456789012",  # moto's default account: a caller's whose keys moto does not know
        ssm_data_types: tuple[str, ...] | None = ("aws:ec2:image",),
    ):
        super().__init__()
        self.moto_endpoint = moto_endpoint.rstrip("/")
        self.host, self.region, self.clock, self.account = host, region, clock, account
        self._port = port
        self._session = session
        self._lock = threading.RLock()
        self._clients: dict[tuple[str, str, str], Any] = {}
        self.references_supported = True
        self.delete_snapshots_supported = True
        self.ssm_data_types = ssm_data_types
        # (owner account, region, image id) -> when it is (or was) deprecated, epoch seconds
        self.deprecations: dict[tuple[str, str, str], float] = {}

    def _bind(self) -> ThreadingHTTPServer:
        return ThreadingHTTPServer((self.host, self._port), handler_for(self))

    def _bound(self, server: ThreadingHTTPServer) -> None:
        self._port = server.server_address[1]  # kept, so a restart serves the same endpoint

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self._port}"

    # --- the served actions --------------------------------------------------------------------------

    def call(self, action: str, params: dict[str, Any], where: Where, forward: Forward) -> dict[str, Any] | Answer:
        """One served action for a caller acting in `where`: the members of its answer, or moto's own answer."""
        if flag(params, "DryRun") and action != "DescribeImages":
            if action == "DeregisterImage":
                return forward()  # moto answers DryRun itself
            raise Ec2Error("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", 412)
        if action == "DescribeImages":
            return images.describe(self, params, where, forward)
        if action == "DeregisterImage":
            return images.deregister(self, params, where, forward)
        if action == "DescribeImageReferences":
            if not self.references_supported:
                raise Ec2Error("InvalidAction", "The action DescribeImageReferences is not valid for this web service.")
            return references.describe(self, params, where)
        if action == "EnableImageDeprecation":
            return images.enable_deprecation(self, params, where)
        return images.disable_deprecation(self, params, where)

    def deprecation(self, owner: str, region: str, image_id: str) -> float | None:
        with self._lock:
            return self.deprecations.get((owner, region, image_id))

    def set_deprecation(self, where: Where, image_id: str, at: float | None) -> None:
        with self._lock:
            if at is None:
                self.deprecations.pop((*where, image_id), None)
            else:
                self.deprecations[(*where, image_id)] = at

    def deprecates_in(self, region: str) -> bool:
        """Whether any AMI in `region` has a deprecation time: if none, DescribeImages is relayed untouched."""
        with self._lock:
            return any(r == region for _, r, _ in self.deprecations)

    # --- moto ------------------------------------------------------------------------------------------

    def moto(self, service: str, where: Where) -> Any:
        """A client of moto itself acting in the caller's account (moto's account header), in its region."""
        account, region = where
        key = (service, region, account)
        with self._lock:
            if key not in self._clients:
                client = (self._session or boto3.Session()).client(
                    service,
                    region_name=region,
                    endpoint_url=self.moto_endpoint,
                    aws_access_key_id="testing",
                    aws_secret_access_key="testing",  # noqa: S106 - moto accepts any credentials
                )
                self._clients[key] = in_account(client, account)
            return self._clients[key]
