"""The soak's world (benchmarks/soak.py): the replica tests' world and harness, started without pytest.

It imports tests/replicas (world.py, harness.py) and tests/fixtures/aws.py rather than moving them: the soak must
run exactly the two `bakery serve` processes, fault proxy and sandbox that the replica tests run, so that what it
finds holds for them; bench_approvals.py and bench_intake.py import tests/fixtures the same way. The one change
it needed there is World's `config` argument (a two-image world: benchmarks/bakery.soak.yaml).
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import _local  # also puts the project root on sys.path

SOAK_CONFIG = Path(__file__).with_name("bakery.soak.yaml")


@contextlib.contextmanager
def soak_world(stage_seconds: float) -> Iterator[object]:
    """Yields a started `tests.replicas.harness.Replicas` of two replicas on the soak's world; stops it all."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto logs every request otherwise
    _local.offline_aws_environment()
    from moto.server import ThreadedMotoServer

    # moto's DynamoDB decides a conditional write in one step only with this (the suite applies it too): without
    # it two replicas' racing writes could both pass, and the soak would count moto's doubles as the bot's.
    from tests.fixtures.aws import _atomic_dynamodb_writes
    from tests.replicas.harness import Replicas
    from tests.replicas.world import World

    undo = _atomic_dynamodb_writes()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    try:
        world = World(endpoint, stage_seconds=stage_seconds, config=SOAK_CONFIG)
        try:
            with tempfile.TemporaryDirectory(prefix="bakery-soak-") as workdir:
                replicas = Replicas(world, Path(workdir)).start(2)
                try:
                    yield replicas
                finally:
                    replicas.close()
        finally:
            world.stop()
    finally:
        server.stop()
        undo()
