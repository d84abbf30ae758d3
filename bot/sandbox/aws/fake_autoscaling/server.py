"""The local Auto Scaling: the four instance-refresh actions on the refresh timeline, moto for everything else."""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from http.server import ThreadingHTTPServer
from typing import Any, cast

import boto3

from bot.sandbox.aws.fake_autoscaling.handler import handler_for
from bot.sandbox.aws.fake_autoscaling.refreshes import ACTIVE, Refresh, settle
from bot.sandbox.aws.wire import AwsFault, in_account, to_xml
from bot.sandbox.local_server import LocalServer

log = logging.getLogger(__name__)

Where = tuple[str, str]  # (the caller's account, the region)


class AutoScalingError(AwsFault):
    """An error answered as Auto Scaling does: <ErrorResponse><Error><Type>Sender</Type><Code>…"""


class FakeAutoScaling(LocalServer):
    """Instance refreshes on `host`:`port` (0 picks one); every other Auto Scaling action goes to `moto_endpoint`."""

    _thread_name = "fake-autoscaling"
    _join_timeout = None
    # The actions answered here (each an `_op_` method); the handler sends every other one to moto.
    served = frozenset(
        {"StartInstanceRefresh", "DescribeInstanceRefreshes", "CancelInstanceRefresh", "RollbackInstanceRefresh"}
    )

    def __init__(
        self,
        moto_endpoint: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "eu-west-1",
        duration: float = 30.0,
        clock: Callable[[], float] = time.time,
        session: Any = None,  # the boto3 session its moto clients come from; a new one if None
        account: str = "123456789012",  # moto's default account: a caller's whose keys moto does not know
    ):
        super().__init__()
        self.moto_endpoint = moto_endpoint.rstrip("/")
        self.host, self.region, self.duration, self.clock = host, region, duration, clock
        self._port = port
        self._lock = threading.RLock()
        self._refreshes: dict[tuple[str, str, str], list[Refresh]] = {}  # (account, region, group) -> oldest first
        self._fail_next: str | None = None
        self._moto_clients: dict[tuple[str, str], Any] = {}
        self._session = session
        self.account = account

    def _bind(self) -> ThreadingHTTPServer:
        return ThreadingHTTPServer((self.host, self._port), handler_for(self))

    def _bound(self, server: ThreadingHTTPServer) -> None:
        self._port = server.server_address[1]  # kept, so a restart serves the same endpoint

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self._port}"

    def fail_next_refresh(self, reason: str = "Instances failed to pass their health checks.") -> None:
        """The next refresh started fails halfway with `reason` as its StatusReason."""
        with self._lock:
            self._fail_next = reason

    # --- the four actions ------------------------------------------------------------------------

    def call(self, action: str, params: dict[str, Any], region: str, account: str | None = None) -> str:
        """Runs one served action on its nested query parameters, for a caller acting in `account` (its groups are
        that account's, §13; None: the fake's own); returns the inner XML of its Result element."""
        with self._lock:
            operation: Callable[[dict[str, Any], Where], str] = getattr(self, f"_op_{action}")
            return operation(params, (account or self.account, region))

    def _op_StartInstanceRefresh(self, p: dict[str, Any], where: Where) -> str:
        account, region = where
        group = _required(p, "AutoScalingGroupName")
        strategy = p.get("Strategy", "Rolling")
        if strategy not in ("Rolling", "ReplaceRootVolume"):
            raise AutoScalingError("ValidationError", f"Strategy {strategy!r} is not Rolling or ReplaceRootVolume.")
        if self._active(where, group):
            raise AutoScalingError(
                "InstanceRefreshInProgress", f"An Instance Refresh is already in progress for {group}."
            )
        instances = len(self._moto_group(where, group).get("Instances", []))
        now = self.clock()
        refresh = Refresh(
            id=str(uuid.uuid4()),
            group=group,
            region=region,
            started=now,
            phase_started=now,
            instances=instances,
            strategy=strategy,
            desired=p.get("DesiredConfiguration") or {},
            preferences=p.get("Preferences") or {},
            fail_reason=self._fail_next,
            account=account,
        )
        self._fail_next = None
        self._refreshes.setdefault((account, region, group), []).append(refresh)
        return f"<InstanceRefreshId>{refresh.id}</InstanceRefreshId>"

    def _op_DescribeInstanceRefreshes(self, p: dict[str, Any], where: Where) -> str:
        group = _required(p, "AutoScalingGroupName")
        wanted = set(p.get("InstanceRefreshIds") or [])
        refreshes = [r for r in reversed(self._refreshes.get((*where, group), [])) if not wanted or r.id in wanted]
        start = int(p.get("NextToken") or 0)
        limit = int(p.get("MaxRecords") or 50)
        page = refreshes[start : start + limit]
        for refresh in page:
            self._settle(refresh)
        members = "".join(f"<member>{to_xml(r.as_wire())}</member>" for r in page)
        more = f"<NextToken>{start + limit}</NextToken>" if start + limit < len(refreshes) else ""
        return f"<InstanceRefreshes>{members}</InstanceRefreshes>{more}"

    def _op_CancelInstanceRefresh(self, p: dict[str, Any], where: Where) -> str:
        refresh = self._cancellable(where, _required(p, "AutoScalingGroupName"))
        refresh.cancel(self.clock())
        return f"<InstanceRefreshId>{refresh.id}</InstanceRefreshId>"

    def _op_RollbackInstanceRefresh(self, p: dict[str, Any], where: Where) -> str:
        refresh = self._cancellable(where, _required(p, "AutoScalingGroupName"))
        version = (refresh.desired.get("LaunchTemplate") or {}).get("Version", "$Default")
        if not refresh.desired or version in ("$Latest", "$Default"):
            raise AutoScalingError(
                "IrreversibleInstanceRefresh",
                "Rollback is not supported for an instance refresh without a desired configuration "
                "or with the $Latest or $Default launch template version.",
            )
        refresh.start_rollback(self.clock(), "Rollback requested by the user.")
        return f"<InstanceRefreshId>{refresh.id}</InstanceRefreshId>"

    # --- the group's refreshes (callers hold the lock) ---------------------------------------------

    def _active(self, where: Where, group: str) -> Refresh | None:
        for refresh in self._refreshes.get((*where, group), []):
            self._settle(refresh)
            if refresh.status in ACTIVE:
                return refresh
        return None

    def _cancellable(self, where: Where, group: str) -> Refresh:
        """The refresh a cancel or a rollback acts on: the active one, unless it is already being undone."""
        refresh = self._active(where, group)
        if refresh is None or refresh.status in ("Cancelling", "RollbackInProgress"):
            raise AutoScalingError(
                "ActiveInstanceRefreshNotFound", f"No in progress or pending Instance Refresh found for {group}."
            )
        return refresh

    def _settle(self, r: Refresh) -> None:
        if settle(r, self.clock(), self.duration):
            self._adopt_desired_configuration(r)
            self._replace_instances(r)

    def _adopt_desired_configuration(self, r: Refresh) -> None:
        """As AWS does after a successful refresh: the group now launches from the desired template version."""
        template = r.desired.get("LaunchTemplate")
        if not template:
            return
        spec = {k: template[k] for k in ("LaunchTemplateId", "LaunchTemplateName", "Version") if k in template}
        try:
            self._moto((r.account or self.account, r.region)).update_auto_scaling_group(
                AutoScalingGroupName=r.group, LaunchTemplate=spec
            )
        except Exception:  # the refresh itself succeeded; the sandbox logs and carries on
            log.exception("fake_autoscaling.adopt_failed", extra={"group": r.group, "refresh": r.id})

    def _replace_instances(self, r: Refresh) -> None:
        """As the refresh did on AWS: each instance of the group is replaced by one launched from the group's
        (now desired) configuration, so what the instances run (/bake fleet, §14) shows the rollout done."""
        where = (r.account or self.account, r.region)
        try:
            for instance in self._moto_group(where, r.group).get("Instances", []):
                self._moto(where).terminate_instance_in_auto_scaling_group(
                    InstanceId=instance["InstanceId"], ShouldDecrementDesiredCapacity=False
                )
        except Exception:  # as above: the refresh succeeded all the same
            log.exception("fake_autoscaling.replace_failed", extra={"group": r.group, "refresh": r.id})

    # --- moto ------------------------------------------------------------------------------------

    def _moto(self, where: Where) -> Any:
        """A client of moto itself (called under the lock), for the group's instances and its launch template, acting
        in the caller's account (moto's account header) so that it sees that account's groups."""
        account, region = where
        if (region, account) not in self._moto_clients:
            client = (self._session or boto3.Session()).client(
                "autoscaling",
                region_name=region,
                endpoint_url=self.moto_endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - moto accepts any credentials
            )
            self._moto_clients[(region, account)] = in_account(client, account or self.account)
        return self._moto_clients[(region, account)]

    def _moto_group(self, where: Where, group: str) -> dict[str, Any]:
        groups = self._moto(where).describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
        if not groups:
            raise AutoScalingError("ValidationError", f"AutoScalingGroup name not found - {group}")
        return cast("dict[str, Any]", groups[0])  # boto3 answers are untyped


def _required(params: dict[str, Any], name: str) -> Any:
    if not params.get(name):
        raise AutoScalingError("ValidationError", f"1 validation error detected: Value null at '{name}'.")
    return params[name]
