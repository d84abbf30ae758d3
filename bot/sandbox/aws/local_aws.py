"""The sandbox's moto: a server of its own on loopback, or one already running (a test session's), reset; and the
AWS environment pointed at it, and only at it."""

from __future__ import annotations

import logging
import os
import urllib.request
from collections.abc import MutableMapping
from typing import Any

from moto.server import ThreadedMotoServer


def point_at_moto(environ: MutableMapping[str, str], region: str, endpoint: str | None = None) -> tuple[str, Any]:
    """(moto's endpoint, the server this started or None), `environ`'s AWS variables naming that moto only."""
    for name in [n for n in environ if n.startswith("AWS_")]:
        del environ[name]
    environ.update(
        AWS_ACCESS_KEY_ID="sandbox",
        AWS_SECRET_ACCESS_KEY="sandbox",  # noqa: S106 - moto accepts anything
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        MOTO_EC2_LOAD_DEFAULT_AMIS="false",
    )
    server = None
    if endpoint is None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto would log every request
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
    # Moto keeps its state per process: a second sandbox in one process (tests) starts clean.
    reset = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")  # noqa: S310 - loopback moto
    urllib.request.urlopen(reset, timeout=10).close()  # noqa: S310
    environ["AWS_ENDPOINT_URL"] = endpoint
    return endpoint, server
