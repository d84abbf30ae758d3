"""The replica tests' world, once per module, on the suite's moto; each test gets its own replicas.

Every module here marks itself `xdist_group("replicas")`: the world resets the suite's moto when it starts, so
these modules run one after another on one worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.replicas.harness import Replicas
from tests.replicas.world import World


@pytest.fixture(scope="module")
def world(moto_endpoint: str, request: pytest.FixtureRequest) -> Iterator[World]:
    """A module's WORLD dict (e.g. {"visibility_timeout": 3}) shapes its world."""
    made = World(moto_endpoint, **getattr(request.module, "WORLD", {}))
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture
def replicas(world: World, tmp_path: Path) -> Iterator[Replicas]:
    """The test's replicas, not started yet: `replicas.start(2, failpoints=..., env=...)`; all killed at its end."""
    started = Replicas(world, tmp_path)
    try:
        yield started
    finally:
        started.close()
        world.faults.clear()
