"""Auto Scaling for the sandbox: instance refreshes served here, every other action proxied unchanged to moto.

moto has groups and launch templates but no instance refreshes, so one AWS_ENDPOINT_URL_AUTOSCALING pointing here
serves both. Refreshes are a timeline computed from an injectable clock on each read, not a background thread:
Pending (first 10 % of `duration`) -> InProgress (PercentageComplete rising, InstancesToUpdate falling) ->
Successful, when the group is also moved onto the desired launch template version as AWS does. Cancel and
rollback take 10 % of `duration` and a share of it respectively. `fail_next_refresh(reason)` makes the next
refresh fail halfway: Failed, or with AutoRollback a rollback to RollbackSuccessful. Not modelled: checkpoints,
bake time, alarms, warm pools, real instance replacement (moto's instances stay as they are).
"""

from __future__ import annotations

import http.client
import logging
import math
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from xml.sax.saxutils import escape

import boto3

from bot.sandbox.local_server import LocalServer

log = logging.getLogger(__name__)

XMLNS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"
SERVED = frozenset(
    {"StartInstanceRefresh", "DescribeInstanceRefreshes", "CancelInstanceRefresh", "RollbackInstanceRefresh"}
)
_ACTIVE = ("Pending", "InProgress", "Baking", "Cancelling", "RollbackInProgress")
_REGION_IN_AUTH = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
_HOP_BY_HOP = {"host", "connection", "keep-alive", "transfer-encoding", "content-length"}
_PENDING_SHARE = 0.1  # of `duration`, before the first instance is replaced; also how long a cancel takes


class AutoScalingError(Exception):
    """An error answered as Auto Scaling does: <ErrorResponse><Error><Type>Sender</Type><Code>…"""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class _Refresh:
    id: str
    group: str
    region: str
    started: float
    instances: int
    strategy: str
    desired: dict[str, Any]
    preferences: dict[str, Any]
    fail_reason: str | None = None
    status: str = "Pending"
    phase_started: float = 0.0
    percentage: int = 0
    status_reason: str = ""
    ended: float | None = None
    rollback: dict[str, Any] = field(default_factory=dict)  # RollbackDetails once rolling back

    @property
    def to_update(self) -> int:
        if self.rollback:  # what is left to undo: the instances replaced before the rollback began
            replaced = self.instances - self.rollback["InstancesToUpdateOnRollback"]
            return math.ceil(replaced * (1 - self.percentage / 100))
        return math.ceil(self.instances * (1 - self.percentage / 100))


class FakeAutoScaling(LocalServer):
    """Instance refreshes on `host`:`port` (0 picks one); every other Auto Scaling action goes to `moto_endpoint`."""

    _thread_name = "fake-autoscaling"
    _join_timeout = None

    def __init__(
        self,
        moto_endpoint: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = "eu-west-1",
        duration: float = 30.0,
        clock: Callable[[], float] = time.time,
    ):
        super().__init__()
        self.moto_endpoint = moto_endpoint.rstrip("/")
        self.host, self.region, self.duration, self.clock = host, region, duration, clock
        self._port = port
        self._lock = threading.RLock()
        self._refreshes: dict[tuple[str, str], list[_Refresh]] = {}  # (region, group) -> oldest first
        self._fail_next: str | None = None
        self._moto_clients: dict[str, Any] = {}

    def _bind(self) -> ThreadingHTTPServer:
        return ThreadingHTTPServer((self.host, self._port), _handler_for(self))

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

    def call(self, action: str, params: dict[str, Any], region: str) -> str:
        """Runs one served action on its nested query parameters; returns the inner XML of its Result element."""
        with self._lock:
            return getattr(self, f"_op_{action}")(params, region)

    def _op_StartInstanceRefresh(self, p: dict[str, Any], region: str) -> str:
        group = _required(p, "AutoScalingGroupName")
        strategy = p.get("Strategy", "Rolling")
        if strategy not in ("Rolling", "ReplaceRootVolume"):
            raise AutoScalingError("ValidationError", f"Strategy {strategy!r} is not Rolling or ReplaceRootVolume.")
        if self._active(region, group):
            raise AutoScalingError(
                "InstanceRefreshInProgress", f"An Instance Refresh is already in progress for {group}."
            )
        instances = len(self._moto_group(region, group).get("Instances", []))
        now = self.clock()
        refresh = _Refresh(
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
        )
        self._fail_next = None
        self._refreshes.setdefault((region, group), []).append(refresh)
        return f"<InstanceRefreshId>{refresh.id}</InstanceRefreshId>"

    def _op_DescribeInstanceRefreshes(self, p: dict[str, Any], region: str) -> str:
        group = _required(p, "AutoScalingGroupName")
        wanted = set(p.get("InstanceRefreshIds") or [])
        refreshes = [r for r in reversed(self._refreshes.get((region, group), [])) if not wanted or r.id in wanted]
        start = int(p.get("NextToken") or 0)
        limit = int(p.get("MaxRecords") or 50)
        page = refreshes[start : start + limit]
        for refresh in page:
            self._settle(refresh)
        members = "".join(f"<member>{self._refresh_xml(r)}</member>" for r in page)
        more = f"<NextToken>{start + limit}</NextToken>" if start + limit < len(refreshes) else ""
        return f"<InstanceRefreshes>{members}</InstanceRefreshes>{more}"

    def _op_CancelInstanceRefresh(self, p: dict[str, Any], region: str) -> str:
        group = _required(p, "AutoScalingGroupName")
        refresh = self._active(region, group)
        if refresh is None or refresh.status in ("Cancelling", "RollbackInProgress"):
            raise AutoScalingError(
                "ActiveInstanceRefreshNotFound", f"No in progress or pending Instance Refresh found for {group}."
            )
        self._enter(refresh, "Cancelling", self.clock())
        return f"<InstanceRefreshId>{refresh.id}</InstanceRefreshId>"

    def _op_RollbackInstanceRefresh(self, p: dict[str, Any], region: str) -> str:
        group = _required(p, "AutoScalingGroupName")
        refresh = self._active(region, group)
        if refresh is None or refresh.status in ("Cancelling", "RollbackInProgress"):
            raise AutoScalingError(
                "ActiveInstanceRefreshNotFound", f"No in progress or pending Instance Refresh found for {group}."
            )
        version = (refresh.desired.get("LaunchTemplate") or {}).get("Version", "$Default")
        if not refresh.desired or version in ("$Latest", "$Default"):
            raise AutoScalingError(
                "IrreversibleInstanceRefresh",
                "Rollback is not supported for an instance refresh without a desired configuration "
                "or with the $Latest or $Default launch template version.",
            )
        self._start_rollback(refresh, self.clock(), "Rollback requested by the user.")
        return f"<InstanceRefreshId>{refresh.id}</InstanceRefreshId>"

    # --- the timeline ----------------------------------------------------------------------------

    def _active(self, region: str, group: str) -> _Refresh | None:
        for refresh in self._refreshes.get((region, group), []):
            self._settle(refresh)
            if refresh.status in _ACTIVE:
                return refresh
        return None

    def _settle(self, r: _Refresh) -> None:
        """Moves r along its timeline up to now; each phase starts when the previous one ended."""
        now = self.clock()
        while True:
            elapsed = now - r.phase_started
            if r.status == "Pending":
                if elapsed < self.duration * _PENDING_SHARE:
                    return
                self._enter(r, "InProgress", r.phase_started + self.duration * _PENDING_SHARE)
            elif r.status == "InProgress":
                span = self.duration * (1 - _PENDING_SHARE)
                done = elapsed / span if span > 0 else 1.0
                if r.fail_reason is not None and done >= 0.5:
                    r.percentage = 50
                    self._fail(r, r.phase_started + span * 0.5)
                elif done >= 1:
                    r.percentage = 100
                    self._finish(r, "Successful", r.phase_started + span)
                    self._adopt_desired_configuration(r)
                    return
                else:
                    r.percentage = min(99, int(done * 100))
                    return
            elif r.status == "Cancelling":
                if elapsed < self.duration * _PENDING_SHARE:
                    return
                self._finish(r, "Cancelled", r.phase_started + self.duration * _PENDING_SHARE)
                return
            elif r.status == "RollbackInProgress":
                # Undoing takes as long as the replacements it undoes, and at least the pending share.
                span = self.duration * max(_PENDING_SHARE, r.rollback["PercentageCompleteOnRollback"] / 100)
                if elapsed < span:
                    r.percentage = int(elapsed / span * 100)
                    return
                r.percentage = 100
                self._finish(r, "RollbackSuccessful", r.phase_started + span)
                return
            else:
                return

    def _enter(self, r: _Refresh, status: str, at: float) -> None:
        r.status, r.phase_started = status, at

    def _finish(self, r: _Refresh, status: str, at: float) -> None:
        r.status, r.ended = status, at

    def _fail(self, r: _Refresh, at: float) -> None:
        reason = r.fail_reason or "The instance refresh failed."
        if str(r.preferences.get("AutoRollback", "false")).lower() == "true":
            self._start_rollback(r, at, reason)
            r.status_reason = reason
        else:
            r.status_reason = reason
            self._finish(r, "Failed", at)

    def _start_rollback(self, r: _Refresh, at: float, reason: str) -> None:
        r.rollback = {
            "RollbackReason": reason,
            "RollbackStartTime": _iso(at),
            "PercentageCompleteOnRollback": r.percentage,
            "InstancesToUpdateOnRollback": r.to_update,
        }
        r.percentage = 0
        self._enter(r, "RollbackInProgress", at)

    def _adopt_desired_configuration(self, r: _Refresh) -> None:
        """As AWS does after a successful refresh: the group now launches from the desired template version."""
        template = r.desired.get("LaunchTemplate")
        if not template:
            return
        spec = {k: template[k] for k in ("LaunchTemplateId", "LaunchTemplateName", "Version") if k in template}
        try:
            self._moto(r.region).update_auto_scaling_group(AutoScalingGroupName=r.group, LaunchTemplate=spec)
        except Exception:  # the refresh itself succeeded; the sandbox logs and carries on
            log.exception("fake_autoscaling.adopt_failed", extra={"group": r.group, "refresh": r.id})

    # --- moto and XML ----------------------------------------------------------------------------

    def _moto(self, region: str) -> Any:
        """A client of moto itself (called under the lock), for the group's instances and its launch template."""
        if region not in self._moto_clients:
            self._moto_clients[region] = boto3.Session().client(
                "autoscaling",
                region_name=region,
                endpoint_url=self.moto_endpoint,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",  # noqa: S106 - moto accepts any credentials
            )
        return self._moto_clients[region]

    def _moto_group(self, region: str, group: str) -> dict[str, Any]:
        groups = self._moto(region).describe_auto_scaling_groups(AutoScalingGroupNames=[group])["AutoScalingGroups"]
        if not groups:
            raise AutoScalingError("ValidationError", f"AutoScalingGroup name not found - {group}")
        return groups[0]

    def _refresh_xml(self, r: _Refresh) -> str:
        fields: dict[str, Any] = {
            "InstanceRefreshId": r.id,
            "AutoScalingGroupName": r.group,
            "Status": r.status,
            "StatusReason": r.status_reason or None,
            "StartTime": _iso(r.started),
            "EndTime": _iso(r.ended) if r.ended is not None else None,
            "PercentageComplete": r.percentage,
            "InstancesToUpdate": r.to_update,
            "Preferences": r.preferences or None,
            "DesiredConfiguration": r.desired or None,
            "RollbackDetails": r.rollback or None,
            "Strategy": r.strategy,
        }
        return _xml(fields)


# --- the wire ------------------------------------------------------------------------------------


def _handler_for(fake: FakeAutoScaling) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("fake_autoscaling.request " + format, *args)

        def do_GET(self) -> None:
            self._proxy(b"")

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            action = form.get("Action", "")
            if action not in SERVED:
                self._proxy(body)
                return
            match = _REGION_IN_AUTH.search(self.headers.get("Authorization", ""))
            region = match.group(1) if match else fake.region
            request_id = str(uuid.uuid4())
            try:
                result = fake.call(action, _nested(form), region)
            except AutoScalingError as exc:
                self._send(exc.status, _error_xml(exc, request_id))
                return
            except Exception as exc:  # answered as AWS would, and logged with the traceback
                log.exception("fake_autoscaling.failed", extra={"action": action})
                self._send(500, _error_xml(AutoScalingError("InternalFailure", str(exc), 500), request_id))
                return
            self._send(
                200,
                f'<{action}Response xmlns="{XMLNS}"><{action}Result>{result}</{action}Result>'
                f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>",
            )

        def _send(self, status: int, xml: str) -> None:
            data = xml.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _proxy(self, body: bytes) -> None:
            target = urlsplit(fake.moto_endpoint)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                data = answer.read()
            finally:
                connection.close()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


def _nested(form: dict[str, str]) -> dict[str, Any]:
    """Query parameters as nested values: "Preferences.CheckpointPercentages.member.1" -> {"Preferences": {...}}."""
    root: dict[str, Any] = {}
    for key, value in form.items():
        node = root
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if set(node) == {"member"} and isinstance(node["member"], dict):
        members = node["member"]
        return [_lists(members[k]) for k in sorted(members, key=int)]
    return {k: _lists(v) for k, v in node.items()}


def _xml(value: Any) -> str:
    if isinstance(value, dict):
        return "".join(f"<{k}>{_xml(v)}</{k}>" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return "".join(f"<member>{_xml(v)}</member>" for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _error_xml(exc: AutoScalingError, request_id: str) -> str:
    kind = "Sender" if exc.status < 500 else "Receiver"
    return (
        f'<ErrorResponse xmlns="{XMLNS}"><Error><Type>{kind}</Type><Code>{exc.code}</Code>'
        f"<Message>{escape(exc.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )


def _required(params: dict[str, Any], name: str) -> Any:
    if not params.get(name):
        raise AutoScalingError("ValidationError", f"1 validation error detected: Value null at '{name}'.")
    return params[name]


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
