"""One LocalStack for a `pytest -n` run: the controller starts it, the worker that runs test_localstack.py uses it.

Every xdist worker collects the whole suite, so each started its own LocalStack in the background
(tests/infra/localstack.py) although one worker runs the LocalStack tests (their module is one xdist_group): the
other start, 10 to 20 s of CPU, and its idle services took that from the rest of the suite on a 2-core machine.
Under xdist the controller starts it instead, as soon as a worker reports the LocalStack tests collected (so it
still overlaps the suite), and writes where it runs to a file every worker was told of at its start. The module's
fixture reads that file and stops LocalStack at the module's end as before; the controller reaps the process, and
stops whatever is left at the session's end (localstack.py's pytest_unconfigure). Without xdist nothing changes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.infra.localstack import (
    BACKGROUND,
    INSTALL_TIMEOUT,
    NO_PROXY,
    SERVICES,
    TEST_FILE,
    LocalStack,
    Unavailable,
    tail,
)

KEY = "bakery_localstack_handover"  # the workerinput entry naming the file
_handover: list[Path] = []  # the controller's file, once made


def handover_file() -> Path:
    if not _handover:
        _handover.append(Path(tempfile.mkdtemp(prefix="bakery-localstack-handover-")) / "localstack.json")
    return _handover[0]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """The controller, before it starts a worker: where it will say how to reach LocalStack."""
    node.workerinput[KEY] = str(handover_file())


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: Sequence[str]) -> None:
    if any(Path(test_id.split("::", 1)[0]).name == TEST_FILE for test_id in ids):
        BACKGROUND.start(on_done=publish)


def publish(result: LocalStack | Unavailable) -> None:
    """On the controller's background thread, once LocalStack started (or could not): tell the workers."""
    if isinstance(result, LocalStack):
        threading.Thread(target=result.process.wait, name="localstack-reaper", daemon=True).start()
        said: dict[str, Any] = {"port": result.port, "pid": result.process.pid, "root": str(result.root),
                                "log": str(result.log)}
    else:
        said = {"unavailable": str(result)}
    path = handover_file()
    path.with_suffix(".part").write_text(json.dumps(said))
    path.with_suffix(".part").replace(path)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _handover:
        shutil.rmtree(_handover[0].parent, ignore_errors=True)


def session_localstack(config: pytest.Config) -> LocalStack | Attached:
    """This session's LocalStack, started (not yet healthy): the controller's under xdist, else this process's own."""
    named = getattr(config, "workerinput", {}).get(KEY)
    if named is None:
        return BACKGROUND.wait()
    path = Path(named)
    deadline = time.monotonic() + INSTALL_TIMEOUT
    while not path.exists():
        if time.monotonic() > deadline:
            raise Unavailable(f"the controller did not start LocalStack within {INSTALL_TIMEOUT:g}s")
        time.sleep(0.2)
    said = json.loads(path.read_text())
    if "unavailable" in said:
        raise Unavailable(said["unavailable"])
    return Attached(said["port"], said["pid"], Path(said["root"]), Path(said["log"]))


class Attached:
    """The controller's LocalStack, seen from a worker: LocalStack's interface over its process group's id."""

    def __init__(self, port: int, pid: int, root: Path, log: Path) -> None:
        self.port, self.pid, self.root, self.log = port, pid, root, log
        self.endpoint = f"http://127.0.0.1:{port}"

    def health(self) -> dict | None:
        if not self.group_alive():
            raise Unavailable(f"LocalStack exited before it was healthy:\n{tail(self.log)}")
        try:
            with NO_PROXY.open(f"{self.endpoint}/_localstack/health", timeout=2) as answer:
                services: dict = json.load(answer)["services"]
        except (OSError, ValueError, KeyError):
            return None
        return services

    def ready(self) -> bool:
        services = self.health() or {}
        return all(services.get(name) == "running" for name in SERVICES)

    def stop(self) -> None:
        """As LocalStack.stop: SIGKILL to the whole group (the controller reaps it), its directory removed."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)

    def group_alive(self) -> bool:
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        return True
