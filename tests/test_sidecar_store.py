"""The sidecar's SQLite store: durable feedback, acceptance counts, statistics."""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from quickphrase.service.sidecar.store import (
    SCHEMA_VERSION,
    FeedbackEvent,
    FeedbackStore,
    Served,
    StoreError,
    UnknownSuggestionError,
    new_request_id,
)

PRIOR = 0.3


@pytest.fixture
def store(tmp_path: Path) -> Iterator[FeedbackStore]:
    s = FeedbackStore(tmp_path / "feedback.sqlite3", flush_seconds=0.01)
    yield s
    s.close()


def serve(store: FeedbackStore, request_id: str, *phrases: str, intent: str = "bargaining") -> None:
    served = [Served(f"{request_id}-{n}", p, intent, n) for n, p in enumerate(phrases, 1)]
    store.record_suggestions(request_id, served, intent=intent, shop_type="taobao")


def feedback(store: FeedbackStore, **fields: str) -> object:
    return store.record_feedback(FeedbackEvent(**fields)).result(timeout=10)


def test_a_new_database_gets_the_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "feedback.sqlite3"
    FeedbackStore(path).close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    assert int(version[0]) == SCHEMA_VERSION


def test_a_database_from_a_newer_quickphrase_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    FeedbackStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99"):
        FeedbackStore(path)


def test_a_file_that_is_not_a_database_is_refused_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match=r"feedback\.sqlite3"):
        FeedbackStore(path)


def test_feedback_is_committed_before_its_future_resolves(store: FeedbackStore) -> None:
    serve(store, "r1", "p.a", "p.b")
    recorded = feedback(store, action="accepted", suggestion_id="r1-2")
    assert (recorded.phrase_id, recorded.intent, recorded.position) == ("p.b", "bargaining", 2)
    # A separate connection sees it: it is in the database, not in a buffer.
    with sqlite3.connect(store.path) as conn:
        rows = conn.execute("SELECT phrase_id, action, position FROM feedback").fetchall()
    assert rows == [("p.b", "accepted", 2)]


def test_feedback_on_a_suggestion_never_served_fails(store: FeedbackStore) -> None:
    with pytest.raises(UnknownSuggestionError):
        feedback(store, action="accepted", suggestion_id="nope-1")


def test_accepting_a_phrase_raises_its_acceptance_for_that_intent_only(
    store: FeedbackStore,
) -> None:
    assert store.acceptance("p.a", "bargaining") == pytest.approx(PRIOR)
    for n in range(5):
        serve(store, f"r{n}", "p.a", "p.b")
        feedback(store, action="accepted", suggestion_id=f"r{n}-1")
    # 5 shown, 5 taken: (5 + 0.3 * 10) / (5 + 10)
    assert store.acceptance("p.a", "bargaining") == pytest.approx(8 / 15)
    # p.b was shown five times and never taken.
    assert store.acceptance("p.b", "bargaining") == pytest.approx(3 / 15)
    assert store.acceptance("p.a", "stock") == pytest.approx(PRIOR)


def test_an_edit_counts_half_and_only_the_first_outcome_of_a_suggestion_counts(
    store: FeedbackStore,
) -> None:
    serve(store, "r1", "p.a")
    first = feedback(store, action="edited", suggestion_id="r1-1")
    second = feedback(store, action="accepted", suggestion_id="r1-1")
    assert first.counted
    assert not second.counted
    assert store.acceptance("p.a", "bargaining") == pytest.approx((0.5 + 3) / 11)


def test_a_retried_event_id_is_stored_once(store: FeedbackStore) -> None:
    serve(store, "r1", "p.a")
    first = feedback(store, action="accepted", suggestion_id="r1-1", event_id="e-1")
    again = feedback(store, action="accepted", suggestion_id="r1-1", event_id="e-1")
    assert not first.duplicate
    assert again.duplicate
    assert store.counts()["feedback"] == 1


def test_a_phrase_picked_without_a_suggestion_counts_as_shown_and_taken(
    store: FeedbackStore,
) -> None:
    recorded = feedback(store, action="accepted", phrase_id="p.c", intent="invoice")
    assert recorded.position is None
    assert store.acceptance("p.c", "invoice") == pytest.approx((1 + 3) / 11)


def test_counts_written_by_another_worker_are_seen_after_refresh(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    one, two = FeedbackStore(path, flush_seconds=0.01), FeedbackStore(path, flush_seconds=0.01)
    try:
        serve(one, "r1", "p.a")
        feedback(one, action="accepted", suggestion_id="r1-1")
        assert two.acceptance("p.a", "bargaining") == pytest.approx(PRIOR)
        two.refresh()
        assert two.acceptance("p.a", "bargaining") == pytest.approx(
            one.acceptance("p.a", "bargaining")
        )
    finally:
        one.close()
        two.close()


def test_counts_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    first = FeedbackStore(path)
    serve(first, "r1", "p.a")
    feedback(first, action="accepted", suggestion_id="r1-1")
    taken = first.acceptance("p.a", "bargaining")
    first.close()
    again = FeedbackStore(path)
    try:
        assert again.acceptance("p.a", "bargaining") == pytest.approx(taken)
    finally:
        again.close()


def test_statistics_are_committed_within_the_flush_interval(store: FeedbackStore) -> None:
    serve(store, "r1", "p.a", "p.b", "p.c")
    deadline = time.monotonic() + 5
    while store.counts()["impressions"] < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.counts() == {"suggest_requests": 1, "impressions": 3, "feedback": 0, "checks": 0}


def test_stats_report_acceptance_by_position_and_phrase_and_blocks_by_category(
    store: FeedbackStore,
) -> None:
    for n in range(4):
        serve(store, f"r{n}", "p.a", "p.b", "p.c")
    serve(store, "r9", intent="other")  # abstained: a request without suggestions
    feedback(store, action="accepted", suggestion_id="r0-1")
    feedback(store, action="edited", suggestion_id="r1-1")
    feedback(store, action="rejected", suggestion_id="r2-2")
    store.record_check("taobao", "block", [("pii_leak", "pii_leak.mobile", "block")])
    store.record_check("taobao", "warn", [("extreme_claim", "extreme_claim.best", "warn")])
    store.record_check("taobao", "pass", [])
    feedback(store, action="accepted", phrase_id="p.z", intent="stock")  # flushes the queue

    stats = store.stats()
    assert stats["suggest_requests"] == 5
    assert stats["requests_with_suggestions"] == 4
    assert stats["suggestions_served"] == 12
    assert stats["requests_by_intent"] == {"bargaining": 4, "other": 1}
    first, second, third = stats["acceptance_by_position"]
    assert first == {
        "position": 1, "shown": 4, "accepted": 1, "edited": 1, "rejected": 0,
        "acceptance_rate": 0.5,
    }  # fmt: skip
    assert (second["rejected"], second["acceptance_rate"]) == (1, 0.0)
    assert third["shown"] == 4
    by_phrase = {row["phrase_id"]: row for row in stats["acceptance_by_phrase"]}
    assert by_phrase["p.a"]["acceptance_rate"] == 0.5
    assert stats["feedback"] == {"accepted": 2, "edited": 1, "rejected": 1}
    assert stats["checks"] == {"block": 1, "warn": 1, "pass": 1}
    assert stats["blocks_by_category"] == {"pii_leak": 1}
    assert store.stats(since=time.time() + 60)["suggest_requests"] == 0


def test_a_closed_store_refuses_writes_and_keeps_what_was_queued(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path, flush_seconds=5)  # would wait long: close must flush
    serve(store, "r1", "p.a")
    store.close()
    with pytest.raises(StoreError, match="closed"):
        serve(store, "r2", "p.a")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM impressions").fetchone()[0] == 1


def test_the_library_generation_counts_reloads(store: FeedbackStore) -> None:
    assert store.generation() == 0
    assert store.bump_generation().result(timeout=10) == 1
    assert store.bump_generation().result(timeout=10) == 2
    assert store.generation() == 2


def test_feedback_is_committed_at_once_even_when_statistics_wait(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3", flush_seconds=60)
    try:
        serve(store, "r1", "p.a")  # statistics: would wait for the 60 s timer
        started = time.monotonic()
        recorded = store.record_feedback(FeedbackEvent("accepted", suggestion_id="r1-1"))
        # The feedback finds the suggestion queued just before it, in the same commit.
        assert recorded.result(timeout=10).phrase_id == "p.a"
        assert time.monotonic() - started < 5
        assert store.counts()["impressions"] == 1
    finally:
        store.close()


def test_a_backlog_larger_than_one_commit_is_written_in_full(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("quickphrase.service.sidecar.store.MAX_BATCH", 3)
    store = FeedbackStore(tmp_path / "feedback.sqlite3", flush_seconds=60)
    for n in range(10):
        serve(store, f"r{n}", "p.a", "p.b")
    store.record_check("taobao", "pass", [])
    store.close()
    with sqlite3.connect(tmp_path / "feedback.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM impressions").fetchone()[0] == 20
        assert conn.execute("SELECT SUM(shown) FROM acceptance").fetchone()[0] == 20
        assert conn.execute("SELECT COUNT(*) FROM checks").fetchone()[0] == 1


def test_violations_stay_with_their_own_check_across_commits_and_restarts(
    tmp_path: Path,
) -> None:
    path = tmp_path / "feedback.sqlite3"
    pii = [("pii_leak", "pii_leak.mobile", "block")]
    promise = [("risky_promise", "risky_promise.arrival", "block")]
    for _ in range(2):  # the second store continues the first one's check ids
        store = FeedbackStore(path, flush_seconds=0.01)
        store.record_check("taobao", "block", pii, agent_id="a1")
        store.record_check("taobao", "pass", [])
        store.record_check("tmall", "block", pii + promise, agent_id="a2")
        store.close()
    with sqlite3.connect(path) as conn:
        rows = conn.execute(
            "SELECT c.agent_id, group_concat(v.category, ',') FROM checks c "
            "LEFT JOIN check_violations v ON v.check_id = c.id GROUP BY c.id ORDER BY c.id"
        ).fetchall()
    assert rows == [("a1", "pii_leak"), (None, None), ("a2", "pii_leak,risky_promise")] * 2


def test_request_ids_are_unique_and_sort_in_creation_order() -> None:
    made = [new_request_id() for _ in range(20_000)]
    assert len(set(made)) == len(made)
    time.sleep(0.002)
    later = new_request_id()
    assert all(later > earlier for earlier in made)
    assert re.fullmatch(r"[0-9a-f]{22}", later)


def test_a_batch_that_fails_outside_sqlite_is_rolled_back_and_the_next_one_commits(
    tmp_path: Path,
) -> None:
    store = FeedbackStore(tmp_path / "feedback.sqlite3", flush_seconds=0.01)
    try:
        # A lone surrogate cannot be encoded as JSON: the batch fails after BEGIN.
        store.record_suggestions("bad", [], intent="stock", shop_type="taobao", agent_id="\ud800")
        with pytest.raises(StoreError, match="write failed"):
            feedback(store, action="accepted", phrase_id="p.z", intent="stock")
        serve(store, "r1", "p.a")
        assert feedback(store, action="accepted", suggestion_id="r1-1").phrase_id == "p.a"
    finally:
        store.close()


def test_check_ids_follow_the_highest_id_even_when_the_sequence_lags(tmp_path: Path) -> None:
    path = tmp_path / "feedback.sqlite3"
    store = FeedbackStore(path, flush_seconds=0.01)
    store.record_check("taobao", "pass", [])
    store.close()
    with sqlite3.connect(path) as conn:  # as a repaired or hand-edited database may be
        conn.execute("UPDATE sqlite_sequence SET seq = 0 WHERE name = 'checks'")
    store = FeedbackStore(path, flush_seconds=0.01)
    store.record_check("taobao", "block", [("pii_leak", "pii_leak.mobile", "block")])
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT id, verdict FROM checks ORDER BY id").fetchall() == [
            (1, "pass"),
            (2, "block"),
        ]
