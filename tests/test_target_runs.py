"""What a target runs, as the bot knows it: the last rollout onto it that succeeded, recorded once."""

from __future__ import annotations

from dataclasses import replace

from bot.rollouts.book import now_runs, rollouts_of_bake, target_runs
from bot.rollouts.record import Rollout
from bot.state.sqlite import SqliteStore
from tests.slack.bake_examples import rollout


def succeeded(rollout_id: str, request_id: str, at: str) -> Rollout:
    return rollout("succeeded", rollout_id=rollout_id, request_id=request_id, finished_at=at)


def test_a_later_success_replaces_the_earlier_and_names_the_bake_it_replaced(tmp_path):
    store = SqliteStore(str(tmp_path / "state.db"))
    first = now_runs(store, succeeded("r-first1", "b-first1", "2026-11-26T10:00:00Z"))
    assert first is not None and first.rollout_id == "r-first1" and first.replaced_request_id == ""
    second = now_runs(store, succeeded("r-second", "b-second", "2026-11-27T10:00:00Z"))
    assert second is not None and second.replaced_request_id == "b-first1"
    assert second.replaced(succeeded("r-first1", "b-first1", "2026-11-26T10:00:00Z"))
    # Told again (a redraw, a restart) or told late about the older one: nothing changes.
    assert now_runs(store, succeeded("r-second", "b-second", "2026-11-27T10:00:00Z")) == second
    assert now_runs(store, succeeded("r-first1", "b-first1", "2026-11-26T10:00:00Z")) == second
    assert target_runs(store, "web-prod") == second


def test_a_rollout_that_did_not_succeed_changes_nothing(tmp_path):
    store = SqliteStore(str(tmp_path / "state.db"))
    assert now_runs(store, rollout("rolled_back", finished_at="2026-11-26T10:00:00Z")) is None
    assert target_runs(store, "web-prod") is None


def test_a_bake_s_rollouts_are_found_by_its_request_id(tmp_path):
    from bot.rollouts.book import RolloutBook

    store = SqliteStore(str(tmp_path / "state.db"))
    marked: list[str] = []
    book = RolloutBook(store=store, board=type("Board", (), {"mark_dirty": lambda self, key: marked.append(key)})())
    for n, request_id in enumerate(("b-7f3k2q", "b-other1", "b-7f3k2q")):
        book.create(replace(rollout("starting"), rollout_id=f"r-abcde{n}", request_id=request_id))
    assert [r.rollout_id for r in rollouts_of_bake(store, "b-7f3k2q")] == ["r-abcde0", "r-abcde2"]
    assert rollouts_of_bake(store, "") == [] and marked == ["r-abcde0", "r-abcde1", "r-abcde2"]
