"""EC2's own dialect of the Query protocol: `Name.N` lists in, `<item>` lists and `<Response><Errors>` out.

EC2 is not like the other Query services (no `member`, no `<XResult>` wrapper, no `<ErrorResponse>`): botocore's
ec2 serializer flattens a list as `ImageId.1=…&ImageId.2=…` (each member's `locationName`, capitalised), and its
parser reads `<XResponse><requestId>…</requestId>…members…</XResponse>` with lists as `<item>` elements, and errors
as `<Response><Errors><Error><Code>…` with `<RequestID>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from xml.sax.saxutils import escape

from bot.sandbox.aws.wire import AwsFault

XMLNS = "http://ec2.amazonaws.com/doc/2016-11-15/"


class Ec2Error(AwsFault):
    """An error answered as EC2 does: <Response><Errors><Error><Code>…</Code><Message>…</Message>…"""


@dataclass(frozen=True)
class Answer:
    """An HTTP answer as moto gave it (or as the stand-in makes it): relayed to the caller unchanged."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def ec2_params(form: dict[str, str]) -> dict[str, Any]:
    """The form as nested values: `ResourceType.1.ResourceTypeOption.1.OptionValue.1=10` ->
    {"ResourceType": [{"ResourceTypeOption": [{"OptionValue": ["10"]}]}]}; numbered keys become lists in order."""
    root: dict[str, Any] = {}
    for key, value in form.items():
        node = root
        *parents, leaf = key.split(".")
        for part in parents:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):  # `A=x&A.1=y`: not a well-formed request; the nested form wins
                child = node[part] = {}
            node = child
        node.setdefault(leaf, value)
    return cast("dict[str, Any]", _lists(root))


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and all(k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


def as_list(value: Any) -> list[Any]:
    """A parameter that should be a list: a lone value (`Name=x`, not `Name.1=x`) counts as one member."""
    if value is None or value == "":
        return []
    return value if isinstance(value, list) else [value]


def flag(params: dict[str, Any], name: str) -> bool:
    """A Boolean parameter as botocore sends it ("true"/"false")."""
    return str(params.get(name, "")).lower() == "true"


def to_xml(value: Any) -> str:
    """Members as EC2 XML: dicts as elements (None left out), lists as <item>s, booleans in lower case."""
    if isinstance(value, dict):
        return "".join(f"<{k}>{to_xml(v)}</{k}>" for k, v in value.items() if v is not None)
    if isinstance(value, list):
        return "".join(f"<item>{to_xml(v)}</item>" for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def result_xml(action: str, members: dict[str, Any], *, request_id: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<{action}Response xmlns="{XMLNS}">'
        f"<requestId>{request_id}</requestId>{to_xml(members)}</{action}Response>"
    )


def error_xml(fault: AwsFault, *, request_id: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>{escape(fault.code)}</Code>'
        f"<Message>{escape(fault.message)}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
    )


def iso(epoch: float) -> str:
    """A time as EC2 writes one: 2026-12-01T20:38:00.000Z."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def parse_time(text: str, name: str) -> float:
    """An ISO 8601 time as botocore sends a timestamp (`…Z`, with or without fractions), in epoch seconds."""
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Ec2Error("InvalidParameterValue", f"Value ({text}) for parameter {name} is invalid.") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()
