"""The StateStore contract, run against both backends: SQLite on a file and DynamoDB on moto."""

from __future__ import annotations

import json
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from bot.domain.errors import StateConflict
from bot.state import open_store
from bot.state.base import DocumentTooLarge, StoreBase
from bot.state.dynamodb import DynamoStore, ensure_table
from bot.state.sqlite import SqliteStore

TABLE = "ami-bakery-state-test"


def _no_aws():
    raise AssertionError("the SQLite store must not open an AWS session")


def _bump(doc: dict) -> dict:
    return {**doc, "n": doc["n"] + 1}


# --- create and get ------------------------------------------------------------------------------


def test_a_created_document_reads_back_at_version_1(store: StoreBase):
    doc = {"image": "web", "variables": {"instance_type": "t3.small"}, "amis": [1, 2.5, None, True]}
    assert store.create("bake", "b-7f3k2q", doc) is True

    record = store.get("bake", "b-7f3k2q")

    assert (record.kind, record.key, record.version, record.doc) == ("bake", "b-7f3k2q", 1, doc)


def test_get_of_an_unknown_key_is_none(store: StoreBase):
    assert store.get("bake", "b-nothere") is None


def test_creating_an_existing_key_is_refused_and_keeps_the_first_document(store: StoreBase):
    store.create("bake", "b-1", {"who": "first"})

    assert store.create("bake", "b-1", {"who": "second"}, index="active") is False

    assert store.get("bake", "b-1").doc == {"who": "first"}
    assert store.find("bake", "active") == []


# --- replace -------------------------------------------------------------------------------------


def test_replace_with_the_current_version_writes_the_next_version(store: StoreBase):
    store.create("bake", "b-1", {"status": "requested"})

    assert store.replace("bake", "b-1", {"status": "running"}, expected_version=1) is True

    record = store.get("bake", "b-1")
    assert (record.version, record.doc) == (2, {"status": "running"})


def test_replace_with_a_stale_version_is_refused_and_changes_nothing(store: StoreBase):
    store.create("bake", "b-1", {"status": "requested"})
    store.replace("bake", "b-1", {"status": "running"}, expected_version=1)

    assert store.replace("bake", "b-1", {"status": "failed"}, expected_version=1) is False

    record = store.get("bake", "b-1")
    assert (record.version, record.doc) == (2, {"status": "running"})


def test_replace_of_a_missing_key_is_refused_and_creates_nothing(store: StoreBase):
    assert store.replace("bake", "b-ghost", {"status": "running"}, expected_version=1, index="active") is False

    assert store.get("bake", "b-ghost") is None
    assert store.find("bake", "active") == []


# --- delete --------------------------------------------------------------------------------------


def test_delete_with_the_current_version_removes_the_record(store: StoreBase):
    store.create("lock", "web-prod", {"owner": "U1"})

    assert store.delete("lock", "web-prod", expected_version=1) is True

    assert store.get("lock", "web-prod") is None


def test_delete_with_a_stale_version_keeps_the_record(store: StoreBase):
    store.create("lock", "web-prod", {"owner": "U1"})
    store.replace("lock", "web-prod", {"owner": "U2"}, expected_version=1)

    assert store.delete("lock", "web-prod", expected_version=1) is False

    assert store.get("lock", "web-prod").doc == {"owner": "U2"}


def test_delete_without_a_version_removes_whatever_is_there(store: StoreBase):
    store.create("lock", "web-prod", {"owner": "U1"})
    store.replace("lock", "web-prod", {"owner": "U2"}, expected_version=1)

    assert store.delete("lock", "web-prod") is True

    assert store.get("lock", "web-prod") is None


def test_delete_of_a_missing_key_reports_false(store: StoreBase):
    assert store.delete("lock", "nothing") is False
    assert store.delete("lock", "nothing", expected_version=1) is False


def test_a_deleted_key_can_be_created_again_at_version_1(store: StoreBase):
    store.create("lock", "web-prod", {"owner": "U1"})
    store.replace("lock", "web-prod", {"owner": "U2"}, expected_version=1)
    store.delete("lock", "web-prod")

    assert store.create("lock", "web-prod", {"owner": "U3"}) is True

    assert store.get("lock", "web-prod").version == 1


# --- find ----------------------------------------------------------------------------------------


def test_find_returns_exactly_the_records_of_that_kind_with_that_index(store: StoreBase):
    store.create("bake", "b-2", {"n": 2}, index="active")
    store.create("bake", "b-1", {"n": 1}, index="active")
    store.create("bake", "b-3", {"n": 3}, index="done")
    store.create("bake", "b-4", {"n": 4})
    store.create("rollout", "r-1", {"n": 5}, index="active")

    found = store.find("bake", "active")

    assert [(r.kind, r.key, r.version, r.doc) for r in found] == [
        ("bake", "b-1", 1, {"n": 1}),
        ("bake", "b-2", 1, {"n": 2}),
    ]


def test_replacing_with_another_index_moves_the_record(store: StoreBase):
    store.create("bake", "b-1", {"status": "running"}, index="active")

    store.replace("bake", "b-1", {"status": "succeeded"}, expected_version=1, index="done")

    assert store.find("bake", "active") == []
    assert [(r.key, r.version, r.doc) for r in store.find("bake", "done")] == [("b-1", 2, {"status": "succeeded"})]


def test_replacing_without_an_index_takes_the_record_out_of_find(store: StoreBase):
    store.create("bake", "b-1", {"status": "running"}, index="active")

    store.replace("bake", "b-1", {"status": "succeeded"}, expected_version=1)

    assert store.find("bake", "active") == []
    assert store.get("bake", "b-1").doc == {"status": "succeeded"}


def test_find_lists_more_records_than_fit_in_one_page(store: StoreBase):
    # ~40 KB each: DynamoDB pages queries at 1 MB, so 40 records need at least two pages.
    blob = "x" * 40_000
    for i in range(40):
        store.create("bake", f"b-{i:02d}", {"blob": blob}, index="active")

    assert [r.key for r in store.find("bake", "active")] == [f"b-{i:02d}" for i in range(40)]


# --- odd characters --------------------------------------------------------------------------------


def test_kinds_and_keys_containing_the_separator_do_not_collide(store: StoreBase):
    store.create("a#b", "c", {"who": "kind a#b"})
    store.create("a", "b#c", {"who": "kind a"})
    store.create("a%23b", "c", {"who": "kind a%23b"})

    assert store.get("a#b", "c").doc == {"who": "kind a#b"}
    assert store.get("a", "b#c").doc == {"who": "kind a"}
    assert store.get("a%23b", "c").doc == {"who": "kind a%23b"}


def test_indexes_containing_the_separator_do_not_collide(store: StoreBase):
    store.create("a#b", "k1", {}, index="c")
    store.create("a", "k2", {}, index="b#c")

    assert [(r.kind, r.key) for r in store.find("a", "b#c")] == [("a", "k2")]
    assert [(r.kind, r.key) for r in store.find("a#b", "c")] == [("a#b", "k1")]


def test_slashes_and_unicode_round_trip_in_kinds_keys_indexes_and_documents(store: StoreBase):
    doc = {"reason": "CVE-2026-1234 — ünïcödé 🍞", "path": "a/b\\c", "quote": "\"'"}
    store.create("img/ünï", "wéb/prod#1 🍞", doc, index="ïdx/🍞#1")

    record = store.get("img/ünï", "wéb/prod#1 🍞")
    found = store.find("img/ünï", "ïdx/🍞#1")

    assert record.doc == doc
    assert [(r.kind, r.key) for r in found] == [("img/ünï", "wéb/prod#1 🍞")]


# --- limits --------------------------------------------------------------------------------------


def test_a_document_over_350_kb_is_refused_with_a_clear_error(store: StoreBase):
    with pytest.raises(DocumentTooLarge, match=r"bake/b-big is 351 KB; the limit is 350 KB"):
        store.create("bake", "b-big", {"log": "x" * (351 * 1024)})

    assert store.get("bake", "b-big") is None


# --- mutate --------------------------------------------------------------------------------------


def test_mutate_writes_the_next_version_and_returns_it(store: StoreBase):
    store.create("counter", "c", {"n": 0})

    result = store.mutate("counter", "c", _bump)

    assert (result.version, result.doc) == (2, {"n": 1})
    assert store.get("counter", "c") == result


def _increment_concurrently(stores: list[StoreBase], threads: int, times: int) -> None:
    start = threading.Barrier(threads)

    def worker(store: StoreBase) -> None:
        start.wait()
        for _ in range(times):
            store.mutate("counter", "c", _bump)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        futures = [pool.submit(worker, stores[i % len(stores)]) for i in range(threads)]
        for future in futures:
            future.result()  # re-raises a worker's StateConflict or any other failure


def test_mutate_loses_no_update_when_8_threads_each_increment_25_times(store: StoreBase):
    store.create("counter", "c", {"n": 0})

    _increment_concurrently([store], threads=8, times=25)

    record = store.get("counter", "c")
    assert (record.doc, record.version) == ({"n": 200}, 201)


def test_mutate_loses_no_update_across_store_objects_racing_on_one_record(open_same_store):
    # Separate objects share no lock, like two bot processes: only the conditional write protects them.
    stores = [open_same_store() for _ in range(2)]
    stores[0].create("counter", "c", {"n": 0})

    _increment_concurrently(stores, threads=8, times=25)

    record = stores[1].get("counter", "c")
    assert (record.doc, record.version) == ({"n": 200}, 201)


def test_mutate_returning_none_writes_nothing(store: StoreBase):
    store.create("counter", "c", {"n": 0}, index="active")

    result = store.mutate("counter", "c", lambda doc: None, index_fn=lambda doc: "other")

    assert (result.version, result.doc) == (1, {"n": 0})
    assert store.get("counter", "c").version == 1
    assert [r.key for r in store.find("counter", "active")] == ["c"]


def test_mutate_of_a_missing_record_returns_none_and_creates_nothing(store: StoreBase):
    assert store.mutate("counter", "ghost", _bump) is None
    assert store.get("counter", "ghost") is None


def test_mutate_without_index_fn_keeps_the_stored_index(store: StoreBase):
    store.create("bake", "b-1", {"n": 0}, index="active")

    store.mutate("bake", "b-1", _bump)

    assert [(r.key, r.doc) for r in store.find("bake", "active")] == [("b-1", {"n": 1})]


def test_mutate_with_index_fn_moves_the_record_to_the_new_index(store: StoreBase):
    store.create("bake", "b-1", {"status": "running"}, index="active")

    store.mutate("bake", "b-1", lambda doc: {"status": "succeeded"}, index_fn=lambda doc: None)

    assert store.find("bake", "active") == []
    assert store.get("bake", "b-1").doc == {"status": "succeeded"}


def test_mutate_gives_up_with_state_conflict_when_every_attempt_loses_the_race(store: StoreBase):
    store.create("counter", "c", {"n": 0})

    def bump_behind_its_back(doc: dict) -> dict:
        # Another writer gets in between every read and its conditional write.
        current = store.get("counter", "c")
        store.replace("counter", "c", _bump(current.doc), expected_version=current.version)
        return {"n": -1}

    with pytest.raises(StateConflict, match="counter/c"):
        store.mutate("counter", "c", bump_behind_its_back, attempts=3)

    assert store.get("counter", "c").doc == {"n": 3}


# --- SQLite only ---------------------------------------------------------------------------------


def test_a_reopened_sqlite_store_sees_everything_written_before(tmp_path: Path):
    path = tmp_path / "state.db"
    first = SqliteStore(path)
    first.create("bake", "b-1", {"status": "running"}, index="active")
    first.mutate("bake", "b-1", lambda doc: {"status": "succeeded"})
    first.close()

    second = SqliteStore(path)
    try:
        record = second.get("bake", "b-1")
        assert (record.version, record.doc) == (2, {"status": "succeeded"})
        assert [r.key for r in second.find("bake", "active")] == ["b-1"]
    finally:
        second.close()


def test_the_sqlite_file_is_in_wal_mode(tmp_path: Path):
    store = SqliteStore(tmp_path / "state.db")
    store.close()

    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_an_in_memory_sqlite_store_is_shared_by_threads():
    store = SqliteStore(":memory:")
    store.create("counter", "c", {"n": 0})

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda _: store.mutate("counter", "c", _bump), range(20)))

    assert store.get("counter", "c").doc == {"n": 20}
    store.close()


# --- open_store ----------------------------------------------------------------------------------


def test_open_store_opens_sqlite_at_the_configured_path_without_touching_aws(tmp_path: Path):
    path = str(tmp_path / "state.db")
    store = open_store(backend="sqlite", path=path, table=TABLE, session_factory=_no_aws)
    store.create("bake", "b-1", {"n": 1})
    store.close()

    reopened = SqliteStore(path)
    assert reopened.get("bake", "b-1").doc == {"n": 1}
    reopened.close()


def test_open_store_opens_dynamodb_on_the_configured_table(aws_session):
    ensure_table(aws_session.client("dynamodb"), TABLE)
    store = open_store(backend="dynamodb", path="", table=TABLE, session_factory=lambda: aws_session)
    store.create("bake", "b-1", {"n": 1})

    assert DynamoStore(aws_session.client("dynamodb"), TABLE).get("bake", "b-1").doc == {"n": 1}


def test_open_store_refuses_an_unknown_backend():
    with pytest.raises(ValueError, match="unknown state backend 'redis'"):
        open_store(backend="redis", path="x.db", table=TABLE, session_factory=_no_aws)


def test_remembered_sns_message_ids_are_forgotten_after_a_few_days(store):
    import datetime as dt

    from bot.intake.service import Intake
    from bot.sandbox.aws.events import pipeline_event, sns_envelope

    applied: list = []
    TOPIC = "arn:aws:sns:eu-west-1:123456789012:ami-bakery-events"  # noqa: N806 - a constant of this test
    today = [dt.date(2026, 11, 1)]
    intake = Intake(store=store, apply=applied.append, today=lambda: today[0])
    old = sns_envelope(
        pipeline_event(
            pipeline="ami-bakery-base", execution_id="11111111-1111-1111-1111-111111111111", state="STARTED"
        ),
        topic_arn=TOPIC,
    )
    intake.handle(json.dumps(old))
    today[0] = dt.date(2026, 11, 4)
    recent = sns_envelope(
        pipeline_event(
            pipeline="ami-bakery-base", execution_id="22222222-2222-2222-2222-222222222222", state="STARTED"
        ),
        topic_arn=TOPIC,
    )
    intake.handle(json.dumps(recent))
    assert intake.handle(json.dumps(old)) == 0  # still remembered: a duplicate changes nothing
    today[0] = dt.date(2026, 11, 5)
    assert intake.forget_old_messages() == 1
    assert store.get("sns-message", old["MessageId"]) is None
    assert store.get("sns-message", recent["MessageId"]) is not None
    assert intake.forget_old_messages() == 0
