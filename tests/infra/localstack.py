"""LocalStack's open-source core for tests/infra/test_localstack.py: found, installed in the background, started.

A pytest plugin (tests/conftest.py lists it): once a LocalStack test is collected, `pytest_collection_modifyitems`
starts the install and then LocalStack itself on a thread, and moves the LocalStack tests to the end of the run, so
the install (about 10 s with uv's cache warm, 35 s cold, 5 min with pip) and the start (10 to 20 s until every
service is loaded) overlap the rest of the suite instead of adding to it.

- Python: LocalStack 2026.3.0 needs 3.13 or newer (its IAM service imports `warnings.deprecated`, new in 3.13;
  on 3.12 the runtime finds no components and does not start). PATH and pyenv's versions are searched.
- Install: locks/localstack.txt (hashed) into .venv/tools/localstack, with the Makefile's uv where it is (`uv pip
  sync --require-hashes`), else that Python's pip (`--require-hashes`). A stamp holding the lock's sha256 and the
  interpreter keeps the venv across runs; a changed lock or interpreter installs afresh.
- Start: host mode, no Docker, on a free loopback port, with a filesystem root in a temporary directory of its
  own; stopped by killing its process group (the test's teardown, or the session's end), the directory removed.

Whatever cannot be had (no Python, a failed install, a start that never gets healthy) is `Unavailable`, which the
fixtures turn into a skip with its reason: the tests never pass without LocalStack having run.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "locks" / "localstack.txt"
TOOLS = ROOT / ".venv" / "tools"
VENV = TOOLS / "localstack"
UV = TOOLS / "uv" / "bin" / "uv"
INSTALL_LOG = TOOLS / "localstack-install.log"
TEST_FILE = "test_localstack.py"
MINIMUM = (3, 13)
# What the templates deploy; SERVICES keeps LocalStack from loading the rest.
SERVICES = ("cloudformation", "sns", "sqs", "events", "kms", "sts", "iam")
INSTALL_TIMEOUT = 600.0
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Unavailable(Exception):
    """LocalStack cannot run here; the message says why (a skip reason)."""


def tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- a Python that runs it ---------------------------------------------------------------------------------------


def pyenv_root() -> Path:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    pyenv = shutil.which("pyenv")
    if pyenv:
        found = subprocess.run([pyenv, "root"], capture_output=True, text=True, timeout=10)
        if found.returncode == 0 and found.stdout.strip():
            return Path(found.stdout.strip())
    return Path.home() / ".pyenv"


def candidates() -> list[Path]:
    on_path = [shutil.which(f"python3.{minor}") for minor in range(MINIMUM[1], MINIMUM[1] + 4)]
    pyenv = sorted((pyenv_root() / "versions").glob("3.*/bin/python3"))
    return list(dict.fromkeys(Path(p) for p in [*on_path, *pyenv] if p))


def version_of(python: Path) -> tuple[int, int] | None:
    try:
        ran = subprocess.run([str(python), "-c", "import sys; print(*sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if ran.returncode != 0:
        return None
    major, minor = ran.stdout.split()
    return int(major), int(minor)


def find_python() -> Path:
    """The interpreter for LocalStack: 3.13 (the lock's) first, else the oldest newer one."""
    seen = {python: version_of(python) for python in candidates()}
    usable = sorted((version, str(python)) for python, version in seen.items() if version and version >= MINIMUM)
    if not usable:
        found = ", ".join(f"{p} ({'.'.join(map(str, v)) if v else 'does not run'})" for p, v in seen.items())
        raise Unavailable(f"no Python >= {'.'.join(map(str, MINIMUM))} for LocalStack 2026.3.0 (it imports "
                          f"warnings.deprecated); found: {found or 'none'}, on PATH and in {pyenv_root() / 'versions'}")
    return Path(usable[0][1])


# --- its venv ----------------------------------------------------------------------------------------------------


def stamp_for(python: Path) -> str:
    return json.dumps({"lock": hashlib.sha256(LOCK.read_bytes()).hexdigest(), "python": str(python.resolve())})


class Background:
    """The install (once per lock and interpreter, one at a time across processes: a file lock), then LocalStack's
    start, on a thread of their own: the test only waits for what is not done yet."""

    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.guard = threading.Lock()  # the thread's child processes against stop()
        self.process: subprocess.Popen[bytes] | None = None
        self.stopped = False
        self.result: LocalStack | Unavailable = Unavailable("the LocalStack install did not finish")
        self.on_done: Callable[[LocalStack | Unavailable], None] | None = None

    def start(self, on_done: Callable[[LocalStack | Unavailable], None] | None = None) -> None:
        """`on_done` is called on the thread with the result (localstack_xdist.py hands it to the workers)."""
        if self.thread is None:
            self.on_done = on_done
            self.thread = threading.Thread(target=self.run, name="localstack", daemon=True)
            self.thread.start()

    def wait(self, timeout: float = INSTALL_TIMEOUT) -> LocalStack:
        """LocalStack installed and started (not yet healthy); Unavailable (why) if it cannot be."""
        self.start()
        assert self.thread is not None
        self.thread.join(timeout)
        if self.thread.is_alive():
            took = f"the LocalStack install took longer than {timeout:g}s"
            raise Unavailable(f"{took}: {INSTALL_LOG}\n{tail(INSTALL_LOG)}")
        if isinstance(self.result, Unavailable):
            raise self.result
        return self.result

    def run(self) -> None:
        try:
            python = self.install()
            with self.guard:
                if self.stopped:
                    raise Unavailable("the session ended before LocalStack started")
                self.result = LocalStack(python, Path(tempfile.mkdtemp(prefix="bakery-localstack-")))
        except Unavailable as exc:
            self.result = exc
        except Exception as exc:  # noqa: BLE001 - whatever went wrong becomes the skip's reason
            self.result = Unavailable(f"the LocalStack install failed: {exc!r}")
        if self.on_done is not None:
            self.on_done(self.result)

    def install(self) -> Path:
        python = find_python()
        TOOLS.mkdir(parents=True, exist_ok=True)
        stamp, wanted = VENV / ".installed", stamp_for(python)
        with open(TOOLS / "localstack.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if stamp.exists() and stamp.read_text() == wanted:
                return VENV / "bin" / "python"
            shutil.rmtree(VENV, ignore_errors=True)
            env = {**os.environ, "UV_NO_CONFIG": "1", "UV_PYTHON_DOWNLOADS": "never", "PIP_CONFIG_FILE": os.devnull,
                   "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
            venv_python = str(VENV / "bin" / "python")
            if UV.exists():
                steps = [[str(UV), "venv", "--quiet", "--python", str(python), str(VENV)],
                         [str(UV), "pip", "sync", "--quiet", "--require-hashes", "--python", venv_python, str(LOCK)]]
            else:  # no `make` yet: the interpreter's own venv and pip, the same lock and hashes
                steps = [[str(python), "-m", "venv", str(VENV)],
                         [venv_python, "-m", "pip", "install", "--quiet", "--no-deps", "--require-hashes",
                          "-r", str(LOCK)]]
            with open(INSTALL_LOG, "wb") as log:
                for step in steps:
                    log.write(f"$ {' '.join(step)}\n".encode())
                    log.flush()
                    with self.guard:
                        if self.stopped:
                            raise Unavailable("the session ended during the LocalStack install")
                        self.process = subprocess.Popen(step, stdout=log, stderr=subprocess.STDOUT, env=env,
                                                        start_new_session=True)
                    if self.process.wait(timeout=INSTALL_TIMEOUT) != 0:
                        raise Unavailable(f"installing LocalStack failed ({' '.join(step[:3])} exited "
                                          f"{self.process.returncode}): {INSTALL_LOG}\n{tail(INSTALL_LOG)}")
            stamp.write_text(wanted)
            return VENV / "bin" / "python"

    def stop(self) -> None:
        """At the session's end: an install still running is ended (its venv, without a stamp, is redone next time),
        and a LocalStack no test stopped is."""
        with self.guard:
            self.stopped = True
            if self.process is not None and self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        if isinstance(self.result, LocalStack):
            self.result.stop()


BACKGROUND = Background()


@pytest.hookimpl(trylast=True)  # after -k and -m have deselected what they do
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the install and LocalStack as soon as a LocalStack test is collected, and run those tests last.

    An xdist worker starts none: the controller starts one for the session (localstack_xdist.py)."""
    ours = [item for item in items if item.path.name == TEST_FILE]
    if ours:
        if not hasattr(config, "workerinput"):
            BACKGROUND.start()
        items[:] = [item for item in items if item.path.name != TEST_FILE] + ours


def pytest_unconfigure() -> None:
    BACKGROUND.stop()


# --- a running LocalStack ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalStack:
    """One LocalStack process (and whatever it starts, in its own process group) on 127.0.0.1."""

    def __init__(self, python: Path, root: Path) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.root = root
        self.log = root / "localstack.log"
        address = f"127.0.0.1:{self.port}"
        env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
        env.update(GATEWAY_LISTEN=address, LOCALSTACK_HOST=address, SERVICES=",".join(SERVICES), DNS_ADDRESS="0",
                   DISABLE_EVENTS="1", SKIP_SSL_CERT_DOWNLOAD="1", PERSISTENCE="0", EAGER_SERVICE_LOADING="1",
                   FILESYSTEM_ROOT=str(root / "filesystem"), TMPDIR=str(root / "tmp"))
        (root / "tmp").mkdir(parents=True, exist_ok=True)
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen([str(python), "-m", "localstack.runtime.main"], stdout=log,
                                            stderr=subprocess.STDOUT, env=env, cwd=root, start_new_session=True)

    def health(self) -> dict | None:
        """The services' states once the gateway answers and the process is alive; Unavailable if it died."""
        if self.process.poll() is not None:
            raise Unavailable(f"LocalStack exited {self.process.returncode} before it was healthy:\n{tail(self.log)}")
        try:
            with NO_PROXY.open(f"{self.endpoint}/_localstack/health", timeout=2) as answer:
                services: dict = json.load(answer)["services"]
        except (OSError, ValueError, KeyError):
            return None
        return services

    def ready(self) -> bool:
        """Every service loaded ("running"): EAGER_SERVICE_LOADING loads them at the start, in the background, instead
        of on the first request (some 10 s of the test's own time on a busy machine)."""
        services = self.health() or {}
        return all(services.get(name) == "running" for name in SERVICES)

    def stop(self) -> None:
        """SIGKILL to the whole group: it keeps nothing (PERSISTENCE=0), and its own SIGTERM shutdown takes seconds
        or does not end at all. Nothing it started outlives the test."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=15)
        shutil.rmtree(self.root, ignore_errors=True)

    def group_alive(self) -> bool:
        try:
            os.killpg(self.process.pid, 0)
        except ProcessLookupError:
            return False
        return True
