"""The sidecar's embedded store: SQLite in WAL mode, one writer thread.

What is kept: which phrases were suggested at which position (never the
buyer's message), agents' feedback on them (a final text only after the
compliance filter has redacted it), and compliance verdicts by category.

Writes are queued to one thread that commits them in groups, each table's
rows of a group in one statement (a JSON array read by ``json_each``).
Python's sqlite3 releases the GIL around every statement and the writer
then waits for it again while requests hold it, so statements per row would
let the writer fall behind a busy server. Feedback is
durable before it is acknowledged: its future resolves only after the commit
that holds it, and the connection runs ``synchronous=FULL`` so that commit is
on disk. Suggestions and check verdicts are statistics: they are committed
within ``flush_seconds`` and a crash may lose that last fraction of a second.

The store is also the ranker's ``AcceptanceModel``: per (phrase, intent) it
counts times shown and times taken (edited counts half), smoothed by a prior.
"""

from __future__ import annotations

import itertools
import logging
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from quickphrase.phrases.feedback import SmoothedAcceptance

log = logging.getLogger("quickphrase.store")

SCHEMA_VERSION = 1
Deltas = dict[tuple[str, str], tuple[float, int]]  # (phrase, intent) -> (accepted, shown)
ACTION_CREDIT = {"accepted": 1.0, "edited": 0.5, "rejected": 0.0}
MAX_BATCH = 5_000  # queued writes per commit: bounds a commit's size and the writer's lag

_PROCESS = os.urandom(3).hex()
_SEQUENCE = itertools.count()


def _reseed() -> None:
    global _PROCESS, _SEQUENCE
    _PROCESS, _SEQUENCE = os.urandom(3).hex(), itertools.count()


os.register_at_fork(after_in_child=_reseed)  # forked workers must not share ids


def new_request_id() -> str:
    """A unique id that sorts by creation time (microseconds, then this
    process, then a counter): the store's indexes grow at their right edge
    instead of at random pages, and no random bytes are drawn per request."""
    return f"{time.time_ns() // 1000:013x}{_PROCESS}{next(_SEQUENCE) % 4096:03x}"


def _rows_of_json(table: str, columns: int, *, verb: str = "INSERT OR IGNORE") -> str:
    """SQL inserting every row of a JSON array of arrays bound as its one parameter."""
    values = ", ".join(f"json_extract(value, '$[{i}]')" for i in range(columns))
    return f"{verb} INTO {table} SELECT {values} FROM json_each(?)"


_INSERT_REQUESTS = _rows_of_json("suggest_requests", 7)
_INSERT_IMPRESSIONS = _rows_of_json("impressions", 6)
_INSERT_CHECKS = _rows_of_json("checks", 5, verb="INSERT")  # id given: see _insert_checks
_INSERT_VIOLATIONS = _rows_of_json("check_violations", 4, verb="INSERT")
# "WHERE true" is how SQLite's grammar tells an upsert's SELECT from its ON clause.
_ADD_ACCEPTANCE = (
    _rows_of_json("acceptance", 4, verb="INSERT")
    + " WHERE true ON CONFLICT DO UPDATE SET "
    "shown = shown + excluded.shown, accepted = accepted + excluded.accepted"
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS suggest_requests (
    request_id TEXT PRIMARY KEY, created_at REAL NOT NULL, shop_type TEXT NOT NULL,
    intent TEXT NOT NULL, suggestions INTEGER NOT NULL, agent_id TEXT, conversation_id TEXT);
CREATE TABLE IF NOT EXISTS impressions (
    suggestion_id TEXT PRIMARY KEY, request_id TEXT NOT NULL, created_at REAL NOT NULL,
    phrase_id TEXT NOT NULL, intent TEXT NOT NULL, position INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT, event_id TEXT UNIQUE, created_at REAL NOT NULL,
    suggestion_id TEXT, phrase_id TEXT NOT NULL, intent TEXT NOT NULL, position INTEGER,
    action TEXT NOT NULL, final_text TEXT, agent_id TEXT, counted INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS acceptance (
    phrase_id TEXT NOT NULL, intent TEXT NOT NULL, shown INTEGER NOT NULL DEFAULT 0,
    accepted REAL NOT NULL DEFAULT 0, PRIMARY KEY (phrase_id, intent));
CREATE TABLE IF NOT EXISTS checks (
    id INTEGER PRIMARY KEY AUTOINCREMENT, created_at REAL NOT NULL, shop_type TEXT NOT NULL,
    verdict TEXT NOT NULL, agent_id TEXT);
CREATE TABLE IF NOT EXISTS check_violations (
    check_id INTEGER NOT NULL, category TEXT NOT NULL, rule TEXT NOT NULL,
    severity TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS impressions_created ON impressions (created_at);
CREATE INDEX IF NOT EXISTS requests_created ON suggest_requests (created_at);
CREATE INDEX IF NOT EXISTS feedback_created ON feedback (created_at);
CREATE INDEX IF NOT EXISTS feedback_suggestion ON feedback (suggestion_id);
CREATE INDEX IF NOT EXISTS checks_created ON checks (created_at);
CREATE INDEX IF NOT EXISTS violations_check ON check_violations (check_id);
"""


class StoreError(RuntimeError):
    """The database cannot be opened or used; the message names the file."""


class UnknownSuggestionError(LookupError):
    """Feedback named a suggestion id this store never served."""


@dataclass(frozen=True)
class Served:
    """One suggestion as shown to an agent."""

    suggestion_id: str
    phrase_id: str
    intent: str
    position: int


@dataclass(frozen=True)
class FeedbackEvent:
    action: str
    suggestion_id: str | None = None
    phrase_id: str | None = None
    intent: str | None = None
    final_text: str | None = None
    agent_id: str | None = None
    event_id: str | None = None


@dataclass(frozen=True)
class Recorded:
    """What the store made of a feedback event."""

    phrase_id: str
    intent: str
    position: int | None
    duplicate: bool  # this event_id was stored before: nothing new stored
    counted: bool  # it changed acceptance counts (one outcome per suggestion)


def connect(path: Path) -> sqlite3.Connection:
    """A connection with the store's pragmas; the schema is created if missing."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA busy_timeout=30000")
        _create_schema(conn)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"{path}: cannot open the feedback database ({exc})") from None
    return conn


def _create_schema(conn: sqlite3.Connection) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in filter(str.strip, _SCHEMA.split(";")):
            conn.execute(statement)
        row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None:
            conn.execute(
                "INSERT INTO meta VALUES ('schema_version', ?), ('created_at', ?)",
                (str(SCHEMA_VERSION), str(time.time())),
            )
        elif int(row[0]) > SCHEMA_VERSION:
            raise StoreError(
                f"the database has schema version {row[0]}; this quickphrase reads "
                f"up to {SCHEMA_VERSION}: upgrade quickphrase or use another --db"
            )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


class FeedbackStore:
    """Durable feedback and serving statistics in one SQLite file.

    Parameters
    ----------
    path:
        The database file, created with its schema on first use.
    flush_seconds:
        Longest time a statistics write waits to be grouped with others.
    prior, strength:
        The smoothing of acceptance rates (see ``SmoothedAcceptance``).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        flush_seconds: float = 0.2,
        prior: float = 0.3,
        strength: float = 10.0,
    ) -> None:
        self.path = Path(path)
        self.flush_seconds = flush_seconds
        self._prior, self._strength = prior, strength
        self._conn = connect(self.path)  # the writer thread's
        self._durable = True  # connect() sets synchronous=FULL
        self._reader = connect(self.path)  # WAL: reads never wait for the writer
        self._read_lock = threading.Lock()
        self._rates = SmoothedAcceptance(self._read_counts(), prior=prior, strength=strength)
        self._queue: queue.SimpleQueue[tuple[str, Any, Future[Any] | None] | None] = (
            queue.SimpleQueue()
        )
        self._wake = threading.Event()
        self._writer = threading.Thread(target=self._write_loop, name="store-writer", daemon=True)
        self._closed = False
        self._writer.start()

    # --- the ranker's view -------------------------------------------------

    def acceptance(self, phrase_id: str, intent: str) -> float:
        return self._rates.acceptance(phrase_id, intent)

    def refresh(self) -> None:
        """Re-read acceptance counts: other worker processes write them too.

        Counts this process commits are applied at once; a refresh racing a
        commit may hide that commit's counts until the next refresh.
        """
        self._rates = SmoothedAcceptance(
            self._read_counts(), prior=self._prior, strength=self._strength
        )

    def _read_counts(self) -> dict[tuple[str, str], tuple[float, int]]:
        rows = self._read("SELECT phrase_id, intent, accepted, shown FROM acceptance")
        return {(p, i): (a, s) for p, i, a, s in rows}

    # --- writes --------------------------------------------------------------

    def record_suggestions(
        self,
        request_id: str,
        served: Sequence[Served],
        *,
        intent: str,
        shop_type: str,
        agent_id: str | None = None,
        conversation_id: str | None = None,
    ) -> None:
        """Note what was suggested (committed within ``flush_seconds``)."""
        row = (request_id, time.time(), shop_type, intent, len(served), agent_id, conversation_id)
        self._put("suggest", (row, tuple(served)), None)

    def record_check(
        self,
        shop_type: str,
        verdict: str,
        violations: Iterable[tuple[str, str, str]],
        agent_id: str | None = None,
    ) -> None:
        """Note a compliance verdict: (category, rule, severity) per violation."""
        self._put("check", (time.time(), shop_type, verdict, agent_id, tuple(violations)), None)

    def record_feedback(self, event: FeedbackEvent) -> Future[Recorded]:
        """Queue feedback; the future resolves once it is committed to disk.

        It fails with ``UnknownSuggestionError`` for a suggestion id never served
        (or a phrase id with no intent to credit).
        """
        done: Future[Recorded] = Future()
        self._put("feedback", event, done)
        return done

    def generation(self) -> int:
        """How many times a worker has reloaded the library (all workers follow)."""
        rows = self._read("SELECT value FROM meta WHERE key = 'library_generation'")
        return int(rows[0][0]) if rows else 0

    def bump_generation(self) -> Future[int]:
        """Tell the other workers the library changed; resolves to the new generation."""
        done: Future[int] = Future()
        self._put("generation", None, done)
        return done

    def _put(self, kind: str, payload: Any, done: Future[Any] | None) -> None:
        if self._closed:
            raise StoreError(f"{self.path}: the store is closed")
        self._queue.put((kind, payload, done))
        if done is not None:  # someone waits for this write: commit it now
            self._wake.set()

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is queued and stop the writer."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._wake.set()
        self._writer.join(timeout)
        self._conn.close()
        self._reader.close()

    # --- the writer thread ---------------------------------------------------

    def _write_loop(self) -> None:
        stopping = full = False
        while not stopping:
            if not full:
                # Statistics wait for the timer; feedback and close() set the
                # event. Waking on every put would make each request hand the
                # GIL to this thread and back (tens of µs, measured).
                self._wake.wait(self.flush_seconds)
            self._wake.clear()
            batch: list[tuple[str, Any, Future[Any] | None]] = []
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            full = len(batch) >= MAX_BATCH
            if batch:
                try:
                    self._commit(batch)
                except Exception as exc:  # the writer must outlive any one batch
                    log.error("store write failed", extra={"error": type(exc).__name__})
                    failure = StoreError(f"{self.path}: write failed ({exc})")
                    for _, _, done in batch:
                        if done is not None and not done.done():
                            done.set_exception(failure)

    def _commit(self, batch: list[tuple[str, Any, Future[Any] | None]]) -> None:
        results: list[tuple[Future[Any], Any]] = []
        deltas: Deltas = {}
        rows = _PendingRows()
        conn = self._conn
        durable = any(done is not None for _, _, done in batch)
        try:
            if durable != self._durable:
                # FULL syncs the log on commit: acknowledged feedback survives a
                # power cut too. Statistics alone only need to survive a crash
                # of the process, which WAL gives without a sync.
                conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
                self._durable = durable
            conn.execute("BEGIN IMMEDIATE")
            for kind, payload, done in batch:
                if kind == "suggest":
                    rows.add_suggest(payload, deltas)
                elif kind == "check":
                    rows.checks.append(payload)
                else:
                    # Feedback may name a suggestion served in this very batch.
                    rows.insert(conn)
                    assert done is not None
                    if kind == "generation":
                        results.append((done, self._write_generation()))
                        continue
                    try:
                        results.append((done, self._write_feedback(payload, deltas)))
                    except UnknownSuggestionError as exc:
                        results.append((done, exc))
            rows.insert(conn)
            if deltas:
                conn.execute(
                    _ADD_ACCEPTANCE,
                    (orjson.dumps([(p, i, n, a) for (p, i), (a, n) in deltas.items()]),),
                )
            conn.execute("COMMIT")
        except Exception:  # any failure, not only sqlite3's: the lock must not stay held
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        for (phrase_id, intent), (accepted, shown) in deltas.items():
            self._rates.add(phrase_id, intent, accepted, shown)
        for done, outcome in results:
            if isinstance(outcome, BaseException):
                done.set_exception(outcome)
            else:
                done.set_result(outcome)

    def _write_generation(self) -> int:
        self._conn.execute(
            "INSERT INTO meta VALUES ('library_generation', '1') ON CONFLICT DO UPDATE "
            "SET value = CAST(value AS INTEGER) + 1"
        )
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'library_generation'")
        return int(row.fetchone()[0])

    def _write_feedback(self, event: FeedbackEvent, deltas: Deltas) -> Recorded:
        conn = self._conn
        position = None
        if event.suggestion_id is not None:
            row = conn.execute(
                "SELECT phrase_id, intent, position FROM impressions WHERE suggestion_id = ?",
                (event.suggestion_id,),
            ).fetchone()
            if row is None:
                raise UnknownSuggestionError(f"no suggestion {event.suggestion_id!r} was served")
            phrase_id, intent, position = row
            # Only the first outcome of a suggestion counts; later ones are kept.
            counted = (
                conn.execute(
                    "SELECT 1 FROM feedback WHERE suggestion_id = ? LIMIT 1", (event.suggestion_id,)
                ).fetchone()
                is None
            )
        else:
            counted = True
            phrase_id, intent = event.phrase_id, event.intent
            if phrase_id is None or intent is None:
                raise UnknownSuggestionError("give a suggestion_id, or a phrase_id and intent")
        cursor = conn.execute(
            "INSERT OR IGNORE INTO feedback (event_id, created_at, suggestion_id, phrase_id, "
            "intent, position, action, final_text, agent_id, counted) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                event.event_id,
                time.time(),
                event.suggestion_id,
                phrase_id,
                intent,
                position,
                event.action,
                event.final_text,
                event.agent_id,
                counted,
            ),
        )
        duplicate = cursor.rowcount == 0
        if duplicate:  # answer with what was stored under this event id
            phrase_id, intent, position = conn.execute(
                "SELECT phrase_id, intent, position FROM feedback WHERE event_id = ?",
                (event.event_id,),
            ).fetchone()
            return Recorded(phrase_id, intent, position, duplicate=True, counted=False)
        if counted:
            accepted, shown = deltas.get((phrase_id, intent), (0.0, 0))
            # A phrase picked without being suggested was "shown" by the agent's own choice.
            deltas[(phrase_id, intent)] = (
                accepted + ACTION_CREDIT[event.action],
                shown + (event.suggestion_id is None),
            )
        return Recorded(phrase_id, intent, position, duplicate=False, counted=counted)

    # --- reads -----------------------------------------------------------------

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._read_lock:
            try:
                return self._reader.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"{self.path}: read failed ({exc})") from None

    def counts(self) -> dict[str, int]:
        """Rows per table (for tests and ``/v1/stats``)."""
        tables = ("suggest_requests", "impressions", "feedback", "checks")
        return {t: self._read(f"SELECT COUNT(*) FROM {t}")[0][0] for t in tables}

    def stats(self, since: float | None = None, top: int = 20) -> dict[str, Any]:
        """Suggestions served, acceptance by position and phrase, blocks by category."""
        t = since or 0.0
        requests, with_suggestions, suggestions = self._read(
            "SELECT COUNT(*), COALESCE(SUM(suggestions > 0), 0), COALESCE(SUM(suggestions), 0) "
            "FROM suggest_requests WHERE created_at >= ?",
            (t,),
        )[0]
        by_intent = dict(
            self._read(
                "SELECT intent, COUNT(*) FROM suggest_requests WHERE created_at >= ? "
                "GROUP BY intent ORDER BY 2 DESC",
                (t,),
            )
        )
        shown_by_position = dict(
            self._read(
                "SELECT position, COUNT(*) FROM impressions WHERE created_at >= ? GROUP BY 1",
                (t,),
            )
        )
        taken = self._read(
            "SELECT position, action, COUNT(*) FROM feedback WHERE created_at >= ? "
            "AND position IS NOT NULL AND counted GROUP BY 1, 2",
            (t,),
        )
        by_position = []
        for position, shown in sorted(shown_by_position.items()):
            actions = {a: n for p, a, n in taken if p == position}
            by_position.append(_rate_row({"position": position}, shown, actions))
        phrase_shown = self._read(
            "SELECT phrase_id, COUNT(*) FROM impressions WHERE created_at >= ? "
            "GROUP BY 1 ORDER BY 2 DESC LIMIT ?",
            (t, top),
        )
        phrase_taken = self._read(
            "SELECT phrase_id, action, COUNT(*) FROM feedback WHERE created_at >= ? "
            "AND suggestion_id IS NOT NULL AND counted GROUP BY 1, 2",
            (t,),
        )
        by_phrase = []
        for phrase_id, shown in phrase_shown:
            actions = {a: n for p, a, n in phrase_taken if p == phrase_id}
            by_phrase.append(_rate_row({"phrase_id": phrase_id}, shown, actions))
        feedback = dict(
            self._read(
                "SELECT action, COUNT(*) FROM feedback WHERE created_at >= ? GROUP BY 1", (t,)
            )
        )
        checks = dict(
            self._read(
                "SELECT verdict, COUNT(*) FROM checks WHERE created_at >= ? GROUP BY 1", (t,)
            )
        )
        blocks = dict(
            self._read(
                "SELECT v.category, COUNT(DISTINCT v.check_id) FROM check_violations v "
                "JOIN checks c ON c.id = v.check_id WHERE c.created_at >= ? "
                "AND v.severity = 'block' GROUP BY 1 ORDER BY 2 DESC",
                (t,),
            )
        )
        return {
            "suggest_requests": requests,
            "requests_with_suggestions": with_suggestions,
            "suggestions_served": suggestions,
            "requests_by_intent": by_intent,
            "feedback": feedback,
            "acceptance_by_position": by_position,
            "acceptance_by_phrase": by_phrase,
            "checks": checks,
            "blocks_by_category": blocks,
        }


class _PendingRows:
    """Statistics rows of one commit, inserted a table at a time."""

    def __init__(self) -> None:
        self.requests: list[tuple[Any, ...]] = []
        self.impressions: list[tuple[Any, ...]] = []
        self.checks: list[tuple[Any, ...]] = []

    def add_suggest(self, payload: Any, deltas: Deltas) -> None:
        row, served = payload
        self.requests.append(row)
        for s in served:
            self.impressions.append(
                (s.suggestion_id, row[0], row[1], s.phrase_id, s.intent, s.position)
            )
            accepted, shown = deltas.get((s.phrase_id, s.intent), (0.0, 0))
            deltas[(s.phrase_id, s.intent)] = (accepted, shown + 1)

    def insert(self, conn: sqlite3.Connection) -> None:
        if self.requests:
            conn.execute(_INSERT_REQUESTS, (orjson.dumps(self.requests),))
        if self.impressions:
            conn.execute(_INSERT_IMPRESSIONS, (orjson.dumps(self.impressions),))
        if self.checks:
            self._insert_checks(conn)
        self.requests, self.impressions, self.checks = [], [], []

    def _insert_checks(self, conn: sqlite3.Connection) -> None:
        # Ids are given, not drawn one insert at a time, so that violations
        # can name their check in the same single statement.
        (last,) = conn.execute(
            "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'checks'), 0), "
            "COALESCE((SELECT MAX(id) FROM checks), 0))"  # AUTOINCREMENT's own rule
        ).fetchone()
        checks, violations = [], []
        for check_id, (created, shop_type, verdict, agent_id, found) in enumerate(
            self.checks, last + 1
        ):
            checks.append((check_id, created, shop_type, verdict, agent_id))
            violations.extend((check_id, *v) for v in found)
        conn.execute(_INSERT_CHECKS, (orjson.dumps(checks),))
        if violations:
            conn.execute(_INSERT_VIOLATIONS, (orjson.dumps(violations),))


def _rate_row(key: dict[str, Any], shown: int, actions: dict[str, int]) -> dict[str, Any]:
    accepted, edited = actions.get("accepted", 0), actions.get("edited", 0)
    return {
        **key,
        "shown": shown,
        "accepted": accepted,
        "edited": edited,
        "rejected": actions.get("rejected", 0),
        "acceptance_rate": round((accepted + edited) / shown, 4) if shown else 0.0,
    }
