"""The local Auto Scaling's HTTP face: the actions it serves answered in the Query protocol, the rest sent to moto."""

from __future__ import annotations

import http.client
import logging
import uuid
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox.aws.wire import AwsFault, account_of, error_xml, query_params, region_of, result_xml

if TYPE_CHECKING:
    from bot.sandbox.aws.fake_autoscaling.server import FakeAutoScaling

log = logging.getLogger(__name__)

XMLNS = "http://autoscaling.amazonaws.com/doc/2011-01-01/"
_HOP_BY_HOP = {"host", "connection", "keep-alive", "transfer-encoding", "content-length"}


def handler_for(fake: FakeAutoScaling) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            log.debug("fake_autoscaling.request line=%s", format % args)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._proxy(b"")

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            form = dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
            action = form.get("Action", "")
            if action not in fake.served:
                self._proxy(body)
                return
            region = region_of(self.headers.get("Authorization", ""), fake.region)
            request_id = str(uuid.uuid4())
            try:
                result = fake.call(action, query_params(form), region, account_of(self.headers))
            except AwsFault as fault:
                self._send(fault.status, error_xml(fault, xmlns=XMLNS, request_id=request_id))
                return
            except Exception as exc:  # answered as AWS would, and logged with the traceback
                log.exception("fake_autoscaling.failed", extra={"action": action})
                internal = AwsFault("InternalFailure", str(exc), 500)
                self._send(500, error_xml(internal, xmlns=XMLNS, request_id=request_id))
                return
            self._send(200, result_xml(action, result, xmlns=XMLNS, request_id=request_id))

        def _send(self, status: int, xml: str) -> None:
            data = xml.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/xml")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _proxy(self, body: bytes) -> None:
            target = urlsplit(fake.moto_endpoint)
            if target.hostname is None:
                raise ValueError(f"moto_endpoint {fake.moto_endpoint!r} names no host")
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
