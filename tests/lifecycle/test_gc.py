"""`/bake gc` and `gc_confirm` as a service (§14): approvers only, a dry run with an offer, the confirmed run
acting on what was shown, once; and the words each says."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.access.service import Access
from bot.domain.errors import NotAllowed, NotFound
from bot.lifecycle.gc import GcService
from bot.slack.gc_blocks import gc_preview_message, report_text, sweep_message
from bot.state.sqlite import SqliteStore
from tests.lifecycle.fakes import MEMBER, World
from tests.lifecycle.helpers import NOW, Setup, days

APPROVER, OUTSIDER = "U0ALICE", "U0MALLORY"


class Gc:
    def __init__(self, world: World):
        self.now = NOW
        self.posted: list = []
        s = Setup(world, store=SqliteStore(":memory:"))
        self.service = GcService(
            config=s.config,
            store=s.store,
            access=Access(s.config.access, chat=None),  # type: ignore[arg-type]
            sweep=s.sweep,
            post_report=self.posted.append,
            clock=lambda: self.now,
        )


def world_with_old_releases() -> tuple[World, list]:
    w = World()
    return w, [w.ami("base", days(10 * (4 - i)), released=True) for i in range(4)]


def test_bake_gc_is_refused_to_a_non_approver_and_reads_nothing():
    w, _ = world_with_old_releases()

    with pytest.raises(NotAllowed):
        Gc(w).service.preview(user=OUTSIDER)
    assert w.calls["bakery_amis"] == 0


def test_the_preview_lists_what_would_go_and_offers_a_button_changing_nothing():
    w, amis = world_with_old_releases()
    before = w.everything()

    preview = Gc(w).service.preview(user=APPROVER)
    text, blocks = gc_preview_message(preview)

    assert w.everything() == before
    assert preview.key.startswith("gc-")
    assert "would remove 2 AMIs, would free 16 GB of snapshots ($0.80/month" in text
    shown = "\n".join(b["text"]["text"] for b in blocks if b["type"] == "section")
    assert f"`{amis[0].ami_id}` (eu-west-1), 8 GB: an older release" in shown
    [button] = blocks[-1]["elements"]
    assert (button["action_id"], button["value"]) == ("gc_confirm", preview.key)


def test_nothing_to_do_offers_no_button():
    w = World()
    w.ami("base", days(1), released=True)

    preview = Gc(w).service.preview(user=APPROVER)

    assert preview.key == ""
    assert "actions" not in [b["type"] for b in gc_preview_message(preview)[1]]


def test_confirm_is_refused_to_a_non_approver_and_leaves_the_offer_usable():
    w, amis = world_with_old_releases()
    gc = Gc(w)
    key = gc.service.preview(user=APPROVER).key

    with pytest.raises(NotAllowed):
        gc.service.confirm(user=OUTSIDER, key=key)
    assert len(w.at().amis) == 4
    assert gc.service.confirm(user=APPROVER, key=key).removed == 2


def test_confirm_runs_once_posts_the_report_and_a_second_click_does_nothing():
    w, amis = world_with_old_releases()
    gc = Gc(w)
    key = gc.service.preview(user=APPROVER).key

    swept = gc.service.confirm(user=APPROVER, key=key)
    with pytest.raises(NotFound, match="confirmed already, by <@U0ALICE>"):
        gc.service.confirm(user=APPROVER, key=key)

    assert (swept.removed, swept.freed_gb, swept.channel) == (2, 16, "C0BAKERY")
    assert w.calls["deregister"] == 2 and len(gc.posted) == 1
    text, _ = sweep_message(gc.posted[0])
    assert "Removed 2 AMIs, freed 16 GB of snapshots ($0.80/month" in text.replace("removed", "Removed")


def test_an_old_offer_or_an_unknown_key_does_nothing():
    w, _ = world_with_old_releases()
    gc = Gc(w)
    key = gc.service.preview(user=APPROVER).key
    gc.now = NOW + timedelta(hours=2)

    with pytest.raises(NotFound, match="too old"):
        gc.service.confirm(user=APPROVER, key=key)
    with pytest.raises(NotFound, match="do not know"):
        gc.service.confirm(user=APPROVER, key="gc-000000000000")
    assert len(w.at().amis) == 4


def test_the_report_says_why_each_kept_ami_is_in_use_and_where():
    w, amis = world_with_old_releases()
    w.at(MEMBER).instances["i-0member"] = (amis[0].ami_id, "stopped")

    report = Gc(w).service.preview(user=APPROVER).report

    text = report_text(report, own="123456789012")
    assert (
        f"Kept because in use (1)\n• base `{amis[0].ami_id}` (eu-west-1): instance `i-0member` in {MEMBER}, stopped"
        in text
    )


def test_a_sweep_of_thousands_fits_one_slack_message():
    from bot.lifecycle.report import Failure, Planned, SweepReport, Use
    from bot.sandbox.slack.limits import block_problems

    w = World()
    many = [Planned("base", w.ami("base", days(400)), "unreleased, 400 days old") for _ in range(2000)]
    uses = tuple(Use("instance", f"i-{n:017x}", "running", MEMBER) for n in range(5))
    report = SweepReport(
        dry_run=False,
        removed=tuple(many[:1500]),
        in_use=tuple(Planned(p.image, p.ami, p.why, uses) for p in many[1500:1900]),
        failed=tuple(Failure(p, "deregister", "x" * 300) for p in many[1900:]),
        images=("base",),
    )

    text, blocks = sweep_message(report)

    assert block_problems(blocks) == []
    assert sum(len(b["text"]["text"]) for b in blocks) < 12000
    assert "• … and 1475 more" in blocks[1]["text"]["text"] and "Removed 1500 AMIs" in text.replace(
        "removed", "Removed"
    )
