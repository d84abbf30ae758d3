"""Revocations (§14): stored once per AMI, read back by every refusal."""

from __future__ import annotations

from bot.fleet.revocations import Revocation, Revocations
from bot.state.sqlite import SqliteStore

AMI = "ami-0123456789abcdef0"


def test_a_revocation_is_kept_once_with_its_reason(tmp_path):
    revocations = Revocations(SqliteStore(str(tmp_path / "state.db")))
    first = Revocation(ami_id=AMI, reason="CVE-2026-1234", by="U0ALICE", at="2026-12-01T10:00:00Z", image="web")

    assert revocations.add(first) is True
    assert revocations.add(Revocation(ami_id=AMI, reason="again", by="U0BOB", at="2026-12-01T11:00:00Z")) is False
    assert revocations.reason(AMI) == "CVE-2026-1234" and revocations.is_revoked(AMI)
    assert revocations.all() == [first]


def test_an_ami_never_revoked_has_no_reason(tmp_path):
    revocations = Revocations(SqliteStore(str(tmp_path / "state.db")))

    assert revocations.reason(AMI) is None and not revocations.is_revoked(AMI) and revocations.all() == []
