"""The lifecycle the local stand-in servers share: serve one ThreadingHTTPServer from a daemon thread until stop()."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from typing import ClassVar, Self


class LocalServer:
    """Base for an HTTP stand-in: `start()` binds and serves in the background, `stop()` ends it; a context manager.

    Subclasses say how to bind (`_bind`) and may react once bound (`_bound`) or when closing (`_close`).
    """

    _thread_name: ClassVar[str]
    _not_running: ClassVar[str]  # the RuntimeError message when a URL is asked for before start()
    # serve_forever notices shutdown() only between polls; the default 0.5 s would make every stop() that slow.
    _poll_interval: ClassVar[float] = 0.05
    _join_timeout: ClassVar[float | None] = 5.0

    def __init__(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def _bind(self) -> ThreadingHTTPServer:
        raise NotImplementedError

    def _bound(self, server: ThreadingHTTPServer) -> None:
        """Runs after binding, before the first request can be served."""

    def _close(self, server: ThreadingHTTPServer) -> None:
        server.server_close()

    def start(self) -> Self:
        server = self._bind()
        # Request threads must not keep the interpreter alive: a test that forgets stop() still exits.
        server.daemon_threads = True
        self._server = server
        self._bound(server)
        self._thread = threading.Thread(
            target=server.serve_forever, args=(self._poll_interval,), name=self._thread_name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            self._close(server)
        if thread is not None:
            thread.join(self._join_timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _url(self) -> str:
        """http://host:port of the bound socket (the real port when 0 was asked for)."""
        if self._server is None:
            raise RuntimeError(self._not_running)
        host, port = self._server.server_address[:2]
        # typeshed allows bytes here; getsockname() of an AF_INET/AF_INET6 socket gives the host as str.
        assert isinstance(host, str), f"unexpected server host {host!r}"
        return f"http://{host}:{port}"
