"""The local EC2's HTTP face: the actions it serves answered in EC2's XML, every other request relayed to moto."""

from __future__ import annotations

import http.client
import logging
import uuid
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from bot.sandbox.aws.fake_ec2.protocol import Answer, ec2_params, error_xml, result_xml
from bot.sandbox.aws.wire import AwsFault, account_of, region_of

if TYPE_CHECKING:
    from bot.sandbox.aws.fake_ec2.server import FakeEc2

log = logging.getLogger(__name__)

# Per connection, not per message: never relayed. moto (werkzeug) answers `Connection: close`; the caller's
# connection to the stand-in stays open (HTTP/1.1 keep-alive, every answer with its Content-Length).
_HOP_BY_HOP = {"host", "connection", "keep-alive", "transfer-encoding", "content-length", "te", "trailer", "upgrade"}
_MOTO_TIMEOUT = 60.0  # a DescribeImages of thousands of AMIs takes moto a while on a loaded machine


def handler_for(fake: FakeEc2) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: botocore pools connections
        disable_nagle_algorithm = True  # headers and body are two writes; Nagle would hold the body ~40 ms

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            log.debug("fake_ec2.request line=%s", format % args)

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._relay(self._forward(self._body()))

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self._body()
            form = dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))
            action = form.get("Action", "")
            if action not in fake.served:
                self._relay(self._forward(body))
                return
            region = region_of(self.headers.get("Authorization", ""), fake.region)
            where = (account_of(self.headers) or fake.account, region)
            request_id = str(uuid.uuid4())
            try:
                answer = fake.call(action, ec2_params(form), where, lambda: self._forward(body))
            except AwsFault as fault:
                self._send(fault.status, error_xml(fault, request_id=request_id))
                return
            except Exception as exc:  # answered as AWS would, and logged with the traceback
                log.exception("fake_ec2.failed", extra={"action": action})
                self._send(500, error_xml(AwsFault("InternalError", str(exc), 500), request_id=request_id))
                return
            if isinstance(answer, Answer):
                self._relay(answer)
            else:
                self._send(200, result_xml(action, answer, request_id=request_id))

        def _body(self) -> bytes:
            if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
                return self._chunked()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _chunked(self) -> bytes:
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers, then the blank line
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()  # the CRLF after each chunk

        def _forward(self, body: bytes) -> Answer:
            """The request, as it came (its account header too), to moto; moto's answer."""
            target = urlsplit(fake.moto_endpoint)
            if target.hostname is None:
                raise ValueError(f"moto_endpoint {fake.moto_endpoint!r} names no host")
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            headers["Content-Length"] = str(len(body))
            connection = http.client.HTTPConnection(target.hostname, target.port, timeout=_MOTO_TIMEOUT)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                return Answer(answer.status, answer.getheaders(), answer.read())
            finally:
                connection.close()

        def _relay(self, answer: Answer) -> None:
            self.send_response(answer.status)
            for name, value in answer.headers:
                if name.lower() not in _HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

        def _send(self, status: int, xml: str) -> None:
            data = xml.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/xml;charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
