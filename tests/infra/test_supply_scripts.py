"""scripts/bootstrap_uv.py (uv from its hashed pin, stdlib only) and scripts/supply_audit.py (`make audit`)."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import zipfile
from pathlib import Path

import pytest

from tests.infra.conftest import ROOT


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bootstrap_uv = _load("bootstrap_uv")
supply_audit = _load("supply_audit")
X86_GLIBC = bootstrap_uv.platform_tags("Linux", "x86_64", ("glibc", "2.36"))


def fake_wheel(version: str = "9.9.9") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr(f"uv-{version}.data/scripts/uv", "#!/bin/sh\necho uv\n")
        wheel.writestr(f"uv-{version}.data/scripts/uvx", "#!/bin/sh\necho uvx\n")
        wheel.writestr(f"uv-{version}.dist-info/METADATA", "Name: uv\n")
    return buffer.getvalue()


def entry(filename: str, url: str, sha256: str) -> dict:
    return {"filename": filename, "url": url, "hashes": {"sha256": sha256}}


class FakeIndex:
    """PyPI's simple index for uv 9.9.9: wheels for macOS and two Linux flavours; records what was fetched."""

    def __init__(self, wheel: bytes, *, served: bytes | None = None):
        self.wheel, self.served, self.fetched = wheel, served if served is not None else wheel, []
        digest = hashlib.sha256(wheel).hexdigest()
        self.files = [
            entry("uv-9.9.9-py3-none-macosx_11_0_arm64.whl", "https://files/mac", "a" * 64),
            entry("uv-9.9.9-py3-none-musllinux_1_1_x86_64.whl", "https://files/musl", "b" * 64),
            entry("uv-9.9.9-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", "https://files/linux", digest),
            entry("uv-9.9.9.tar.gz", "https://files/sdist", "c" * 64),
        ]

    def __call__(self, url: str, headers: dict[str, str]) -> bytes:
        self.fetched.append(url)
        if url == "https://pypi.org/simple/uv/":
            assert headers["Accept"] == "application/vnd.pypi.simple.v1+json"
            return json.dumps({"files": self.files}).encode()
        assert url == "https://files/linux", url
        return self.served


def lock_file(tmp_path: Path, wheel: bytes) -> Path:
    lock = tmp_path / "uv.txt"
    others = "".join(f"    --hash=sha256:{c * 64} \\\n" for c in "ab")
    digest = hashlib.sha256(wheel).hexdigest()
    lock.write_text(f"uv==9.9.9 \\\n{others}    --hash=sha256:{digest}\n    # via -r uv.in\n")
    return lock


def test_bootstrap_unpacks_the_locked_wheel_for_this_machine(tmp_path):
    wheel = fake_wheel()
    index = FakeIndex(wheel)
    uv = bootstrap_uv.install(lock_file(tmp_path, wheel), tmp_path / "tools", fetch=index, tags=X86_GLIBC)
    assert uv == tmp_path / "tools" / "bin" / "uv" and uv.read_text().endswith("echo uv\n")
    assert sorted(p.name for p in uv.parent.iterdir()) == ["uv", "uvx"] and uv.stat().st_mode & 0o111
    assert index.fetched == ["https://pypi.org/simple/uv/", "https://files/linux"]


def test_bootstrap_refuses_bytes_whose_hash_the_lock_does_not_list(tmp_path):
    wheel = fake_wheel()
    index = FakeIndex(wheel, served=fake_wheel() + b"tampered")
    with pytest.raises(bootstrap_uv.Refused, match="is not in the lock"):
        bootstrap_uv.install(lock_file(tmp_path, wheel), tmp_path / "tools", fetch=index, tags=X86_GLIBC)
    assert not (tmp_path / "tools" / "bin" / "uv").exists()


def test_bootstrap_takes_no_wheel_the_lock_does_not_list(tmp_path):
    wheel = fake_wheel()
    index = FakeIndex(wheel)
    index.files[2]["hashes"]["sha256"] = "d" * 64  # the index now names a wheel the lock never saw
    with pytest.raises(bootstrap_uv.Refused, match="no wheel of uv 9.9.9"):
        bootstrap_uv.install(lock_file(tmp_path, wheel), tmp_path / "tools", fetch=index, tags=X86_GLIBC)


def test_platform_tags_leave_other_platforms_to_pip():
    assert bootstrap_uv.platform_tags("Darwin", "arm64", ("", "")) == []
    assert bootstrap_uv.platform_tags("Linux", "x86_64", ("musl", "1.2")) == []
    old = bootstrap_uv.platform_tags("Linux", "x86_64", ("glibc", "2.12"))
    assert not any(t.search("manylinux_2_17_x86_64.manylinux2014_x86_64") for t in old)
    assert any(t.search("manylinux_2_17_x86_64.manylinux2014_x86_64") for t in X86_GLIBC)
    assert not any(t.search("manylinux_2_17_aarch64") for t in X86_GLIBC)


def test_the_real_lock_has_one_pin_with_hashes():
    name, version, hashes = bootstrap_uv.read_pin((ROOT / "locks" / "uv.txt").read_text())
    assert name == "uv" and version.count(".") == 2 and len(hashes) > 5


def test_audit_offline_says_so_in_one_line_with_its_own_exit_code(capsys, tmp_path):
    lock = tmp_path / "locked.txt"
    lock.write_text("# a lock\nboto3==1.40.0 ; python_full_version >= '3.11' \\\n    --hash=sha256:" + "0" * 64 + "\n")
    # Port 9 of this machine (discard) answers nothing: as offline as the advisory database can be.
    code = supply_audit.main(["pip-audit", str(lock)], template="http://127.0.0.1:9/pypi/{name}/{version}/json")
    out = capsys.readouterr().out
    assert code == supply_audit.UNREACHABLE == 3
    assert out.splitlines() == [
        "audit: the advisory database cannot be reached (http://127.0.0.1:9/pypi/boto3/1.40.0/json does not answer): "
        "nothing was checked"
    ]


def test_audit_checks_each_lock_alone_without_resolving_or_installing():
    command = supply_audit.audit_command("pip-audit", "locks/checkov.txt")
    assert command[:4] == ["pip-audit", "--strict", "--disable-pip", "--require-hashes"]
    assert command[-2:] == ["-r", "locks/checkov.txt"] and command.count("-r") == 1
