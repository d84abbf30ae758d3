"""How the AWS stand-ins read requests and write answers: the JSON 1.0/1.1 target protocol and the Query protocol."""

from __future__ import annotations

import json
import logging
import re
import uuid
from datetime import datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar, cast
from xml.sax.saxutils import escape

log = logging.getLogger(__name__)

JSON_1_0 = "application/x-amz-json-1.0"
JSON_1_1 = "application/x-amz-json-1.1"
_REGION_IN_AUTH = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/")
_ACCESS_KEY_IN_AUTH = re.compile(r"Credential=([^/,\s]+)/")
# moto's own way to name the account of one request (its multi-account docs); the stand-ins honour it too.
ACCOUNT_HEADER = "x-moto-account-id"


class AwsFault(Exception):
    """An AWS error, answered on the wire in the service's protocol so that botocore raises ClientError with `code`."""

    def __init__(self, code: str, message: str, status: int = 400):
        super().__init__(f"{code}: {message}")
        self.code, self.message, self.status = code, message, status


# --- JSON 1.0 / 1.1: POST / with X-Amz-Target -----------------------------------------------------------------


def _epoch_seconds(value: Any) -> Any:
    # The JSON protocols carry timestamps as epoch seconds.
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot serialise {type(value).__name__}")


_ENCODER = json.JSONEncoder(default=_epoch_seconds)  # made once: json.dumps(default=...) builds one per call


class JsonTargetHandler(BaseHTTPRequestHandler):
    """POST / with `X-Amz-Target: <target_prefix><Operation>` and a JSON object; answers JSON, errors as AWS does.

    A subclass names its service (`target_prefix`, `log_name`) and answers one operation in `answer`. SigV4
    signatures are not checked.
    """

    protocol_version = "HTTP/1.1"  # keep-alive: botocore pools connections, and HTTP/1.0 would close each one
    disable_nagle_algorithm = True  # headers and body are two writes; Nagle would hold the body ~40 ms
    target_prefix: ClassVar[str]
    log_name: ClassVar[str]  # the stand-in's name in log events, e.g. "fake_sqs"
    content_type: ClassVar[str] = JSON_1_1
    # The codes a request that is not a well-formed call is refused with; SQS spells them its own way.
    unknown_target_code: ClassVar[str] = "UnknownOperationException"
    malformed_body_code: ClassVar[str] = "SerializationException"
    internal_error_code: ClassVar[str] = "InternalFailure"
    error_type_prefix: ClassVar[str] = ""  # prepended to `__type` (JSON 1.0 services qualify it)

    def answer(self, operation: str, params: dict[str, Any]) -> dict[str, Any]:
        """The result of one operation; raises AwsFault for the errors AWS would answer."""
        raise NotImplementedError

    def fault_headers(self, fault: AwsFault) -> dict[str, str]:
        """Extra headers on an error answer."""
        return {}

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        try:
            if self.path != "/" or not target.startswith(self.target_prefix):
                raise AwsFault(
                    self.unknown_target_code,
                    f"Unknown target {target!r} at {self.path}: expected POST / with X-Amz-Target: "
                    f"{self.target_prefix}<Operation>",
                )
            self._send(200, self.answer(target.removeprefix(self.target_prefix), self._params(raw)))
        except AwsFault as fault:
            self._send_fault(fault)
        except (BrokenPipeError, ConnectionResetError):
            # The caller hung up before the answer (a long poll cut short by a client that stopped): nobody
            # is left to answer, and it is no fault of ours.
            log.debug("%s.caller_gone", self.log_name, extra={"target": target})
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - answered as AWS would rather than dropping the connection
            log.exception("%s.internal_error", self.log_name, extra={"target": target})
            self._send_fault(AwsFault(self.internal_error_code, f"{type(exc).__name__}: {exc}", 500))

    def _params(self, raw: bytes) -> dict[str, Any]:
        try:
            params = json.loads(raw or b"{}")
        except ValueError as exc:
            raise AwsFault(self.malformed_body_code, f"The request body is not JSON: {exc}") from None
        if not isinstance(params, dict):
            raise AwsFault(self.malformed_body_code, "The request body is not a JSON object")
        return params

    def _send_fault(self, fault: AwsFault) -> None:
        doc = {"__type": f"{self.error_type_prefix}{fault.code}", "message": fault.message}
        self._send(fault.status, doc, self.fault_headers(fault))

    def _send(self, status: int, doc: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        payload = _ENCODER.encode(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
        # Not on stderr: a line per API call would drown the sandbox console and pytest's output.
        log.debug("%s.request line=%s", self.log_name, format % args)


# --- the Query protocol: form-encoded Action=...&Name.member.1=..., answered in XML -----------------------------


def query_params(form: dict[str, str]) -> dict[str, Any]:
    """Query parameters as nested values: "Preferences.CheckpointPercentages.member.1" -> {"Preferences": {...}}."""
    root: dict[str, Any] = {}
    for key, value in form.items():
        node = root
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    # A dict: only a form of nothing but member.N keys would come back as a list, and a Query request has Action.
    return cast("dict[str, Any]", _lists(root))


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if set(node) == {"member"} and isinstance(node["member"], dict):
        members = node["member"]
        return [_lists(members[k]) for k in sorted(members, key=int)]
    return {k: _lists(v) for k, v in node.items()}


def region_of(authorization: str, default: str) -> str:
    """The region a SigV4-signed request was signed for (its credential scope), else `default`."""
    match = _REGION_IN_AUTH.search(authorization)
    return match.group(1) if match else default


def account_of(headers: Any) -> str | None:
    """The account a request acts in, as moto decides it: its `x-moto-account-id` header, else the account moto
    gave its access key (an assumed role's keys act in the role's account); None for a request moto knows
    nothing about (unsigned, or moto not in this process), which the stand-in serves in its own account."""
    explicit = headers.get(ACCOUNT_HEADER)
    if explicit:
        return str(explicit)
    match = _ACCESS_KEY_IN_AUTH.search(headers.get("Authorization", "") or "")
    if not match:
        return None
    try:
        from moto.iam.models import get_account_id_from  # in this process: the sandbox's and the tests' moto
    except ImportError:  # pragma: no cover - the sandbox extra brings moto
        return None
    return get_account_id_from(match.group(1))


def in_account(client: Any, account: str) -> Any:
    """`client` (boto3) with every request acting in `account` in moto (its account header); returns it."""

    def name_account(request: Any, **_: Any) -> None:
        request.headers[ACCOUNT_HEADER] = account

    client.meta.events.register("before-sign", name_account)
    return client


class AccountSession:
    """The clients of a boto3 session, each request acting in `account` in moto: the sandbox's stand-ins of what
    runs in that account (its pipeline's stages, the seed). The bot itself gets there only by AssumeRole."""

    def __init__(self, session: Any, account: str):
        self._session, self.account = session, account

    def client(self, service: str, **kwargs: Any) -> Any:
        return in_account(self._session.client(service, **kwargs), self.account)


def to_xml(value: Any) -> str:
    """Members as Query-protocol XML: dicts as elements (None left out), lists as <member>s, booleans in lower case."""
    if isinstance(value, dict):
        return "".join(f"<{k}>{to_xml(v)}</{k}>" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return "".join(f"<member>{to_xml(v)}</member>" for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def result_xml(action: str, result: str, *, xmlns: str, request_id: str) -> str:
    """A successful answer around the inner XML of the action's Result element."""
    return (
        f'<{action}Response xmlns="{xmlns}"><{action}Result>{result}</{action}Result>'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></{action}Response>"
    )


def error_xml(fault: AwsFault, *, xmlns: str, request_id: str) -> str:
    """<ErrorResponse>, with Type Sender for the caller's errors and Receiver for the service's own."""
    kind = "Sender" if fault.status < 500 else "Receiver"
    return (
        f'<ErrorResponse xmlns="{xmlns}"><Error><Type>{kind}</Type><Code>{fault.code}</Code>'
        f"<Message>{escape(fault.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
    )
