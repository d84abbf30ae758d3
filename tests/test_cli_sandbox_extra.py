"""`bakery sandbox` from a production install: the sandbox is an extra, and without it the CLI says what to install."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from tests.test_cli import BAKERY, user_env

ROOT = Path(__file__).resolve().parents[1]

# Loaded by `site` at start-up from PYTHONPATH: this interpreter then behaves as one where moto was never
# installed, as in `pip install ami-bakery` without the extra.
WITHOUT_MOTO = """
import sys


class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name == "moto" or name.startswith("moto."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, _NotInstalled())
"""


def test_sandbox_without_the_sandbox_extra_says_in_one_line_what_to_install(tmp_path):
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(WITHOUT_MOTO)
    result = subprocess.run(
        [str(BAKERY), "sandbox", "--port", "0"],
        cwd=tmp_path,
        env=user_env(PYTHONPATH=str(tmp_path / "site")),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        "error: bakery sandbox needs moto, from the sandbox extra: pip install 'ami-bakery[sandbox]'"
    ]
    assert result.stdout == ""


def test_the_sandbox_extra_carries_every_package_only_the_sandbox_imports():
    sandbox = _third_party_imports(ROOT / "bot" / "sandbox")
    elsewhere = _third_party_imports(ROOT / "bot", skip=ROOT / "bot" / "sandbox") | _third_party_imports(
        ROOT / "handlers"
    )
    assert "moto" in sandbox  # the walk sees the imports at all
    providers = packages_distributions()
    needed = {_canonical(dist) for module in sandbox - elsewhere for dist in providers.get(module, [module])}
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    declared = {_canonical(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]) for requirement in extras["sandbox"]}
    assert needed <= declared


def test_make_run_and_make_test_install_the_sandbox_extra():
    # From the lock (issue #15): `make test` syncs everything, `make run` the runtime and the sandbox extra.
    syncs = dict(re.findall(r"^(SYNC\w*)\s*:=\s*(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE))
    assert "--extra dev --extra sandbox" in syncs["SYNC"] and "--extra sandbox" in syncs["SYNC_RUN"]
    assert "--extra dev" not in syncs["SYNC_RUN"]


def _third_party_imports(root: Path, skip: Path | None = None) -> set[str]:
    """Top-level names of the modules imported under `root` that are neither ours nor the standard library."""
    names: set[str] = set()
    for source in root.rglob("*.py"):
        if skip and source.is_relative_to(skip):
            continue
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.partition(".")[0])
    return names - set(sys.stdlib_module_names) - {"bot", "handlers", "__future__"}


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
